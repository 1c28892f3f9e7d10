"""RFC 6570 URI templates (levels 1–4), parsed once and matched in reverse: which URIs a template expands
to, and the value of each of its variables in one of them.

A template is literal text and expressions `{op var1,var2:3,list*}` (§2.2): an optional operator, then one
or more variables, each with an optional prefix (`:N`, §2.4.1) or explode (`*`, §2.4.2) modifier. How an
operator expands (§3.2.1, Appendix A's table) decides how a URI is read back:

  op   first  sep  named  allows            read back as
  ""   —      ,    no     unreserved        items of one segment each
  +    —      ,    no     + reserved (`/`)  items of a relative path
  #    #      ,    no     + reserved        items of a relative path (the fragment)
  .    .      .    no     unreserved        labels
  /    /      /    no     unreserved        path segments
  ;    ;      ;    yes    unreserved        `name=value` path parameters
  ?    ?      &    yes    unreserved        `name=value` query parameters
  &    &      &    yes    unreserved        `name=value` query parameters (continued)

Reading back is the inverse of expansion where it is one: an unnamed expression's items go to its variables
in order (an undefined variable is left out of an expansion, §3.2.1, so fewer items fill the first
variables). Where the separator is `,` (`{x,y}`, `{+x,y}`, `{#x,y}`), all remaining items go to an exploded
or the last variable, joined by `,` (a list value, §2.4.2). Where it is `/` or `.`, a variable that is not
exploded takes exactly one item — a non-exploded list expands with `,` there (`{/x}` of ["a","b"] is `/a,b`,
§3.2.6), so `/a/b` is no expansion of `{/x}` — and an exploded one takes the rest, joined by the separator
(`{/path*}` of `/a/b` is `a/b`). A named expression's items go to the variable they name, wherever they
stand (a query's parameters in any order; parameters the template does not name are not its variables). A
value longer than its prefix modifier allows (`{id:3}`) is no expansion of the template. A query or fragment
expression may be absent, as may any expression with a leading character; `{var}` and `{+var}` need one
character at least. A reserved expansion (`{+x}`) may hold `?` and `#` (§3.2.3: reserved characters stand
as they are): `secret://{+path}` matches `secret://x?y=1`, its value `x?y=1` — unless a query expression
follows, which then reads the query. A query expression that ends the template allows a fragment after it
(a client's `#f` on `s://x?q=1`).

Malformed templates (an unclosed brace, an empty expression, a variable name outside §2.3) match nothing.
Imports nothing from mcprt: `uris.py` checks the values (`path_segments`) and answers for the offer set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote


@dataclass(frozen=True)
class Operator:
    """One row of RFC 6570 Appendix A's table."""

    char: str
    first: str
    sep: str
    named: bool
    reserved: bool  # may hold reserved characters (`/`): `+` and `#`


OPERATORS = {op.char: op for op in (
    Operator("", "", ",", False, False), Operator("+", "", ",", False, True), Operator("#", "#", ",", False, True),
    Operator(".", ".", ".", False, False), Operator("/", "/", "/", False, False), Operator(";", ";", ";", True, False),
    Operator("?", "?", "&", True, False), Operator("&", "&", "&", True, False),
)}
QUERY_OPERATORS = frozenset("?&")

# §2.3: varname = varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded
_VARNAME = re.compile(r"(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*")
_VARSPEC = re.compile(rf"({_VARNAME.pattern})(?::([1-9][0-9]{{0,3}})|(\*))?")


class MalformedTemplate(ValueError):
    """The text is not an RFC 6570 template (the message says where)."""


@dataclass(frozen=True)
class Variable:
    name: str
    explode: bool = False
    prefix: int | None = None  # `:N`: at most N characters of the value (§2.4.1)


@dataclass(frozen=True)
class Expression:
    operator: Operator
    variables: tuple[Variable, ...]


@dataclass(frozen=True)
class Value:
    """One variable's value as read from a URI: `raw` as it stands in the URI, `items` its raw pieces (a
    list's items, an exploded path's segments), `decoded` the value percent-decoded once (items joined by
    the expression's separator)."""

    variable: Variable
    operator: Operator
    raw: str
    items: tuple[str, ...]

    @property
    def decoded(self) -> str:
        return unquote(self.raw)


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[str | Expression, ...]

    @property
    def expressions(self) -> list[Expression]:
        return [part for part in self.parts if isinstance(part, Expression)]

    def regex(self, *, lenient: bool = False) -> re.Pattern[str]:
        """What the template expands to, one group per expression (`lenient`: see `match`)."""
        return _regex(self, lenient)

    def match(self, uri: str, *, lenient: bool = False) -> list[Value] | None:
        """The values of the template's variables in `uri` (those it defines), or None if `uri` is no expansion.

        `lenient`: as a server with a looser matcher may read `uri` — the query and fragment of both are left
        out, and every expression's items run up to them (a raw `/` included: each piece is still an item of
        its own to the checks, `Value.items`)."""
        parts = self.parts
        if lenient:
            uri = re.split(r"[?#]", uri, maxsplit=1)[0]
            parts = _before_query(parts)
            if parts is not self.parts:
                return Template(self.text, parts).match(uri, lenient=True)
        found = self.regex(lenient=lenient).fullmatch(uri)
        if found is None:
            return None
        # a query expression reads the URI's whole query: `{?a}{&b}` of `?b=2&a=1` is a=1, b=2
        query = uri.partition("?")[2].partition("#")[0]
        values: list[Value] = []
        for expression, text in zip(self.expressions, found.groups(), strict=True):
            if expression.operator.char in QUERY_OPERATORS:
                text = query
            read = _read(expression, text, lenient)
            if read is None:
                return None
            values.extend(read)
        return values


@lru_cache(maxsize=1024)  # a listed template is matched on every read of a URI no resource names
def parse(text: str) -> Template:
    """The template `text` (RFC 6570 §2); MalformedTemplate when it is none."""
    parts: list[str | Expression] = []
    position = 0
    while position < len(text):
        opening = text.find("{", position)
        closing = text.find("}", position)
        if opening < 0:
            if closing >= 0:
                raise MalformedTemplate(f"'}}' without '{{' at character {closing + 1}")
            parts.append(text[position:])
            break
        if 0 <= closing < opening:
            raise MalformedTemplate(f"'}}' without '{{' at character {closing + 1}")
        if opening > position:
            parts.append(text[position:opening])
        end = text.find("}", opening)
        if end < 0:
            raise MalformedTemplate(f"'{{' at character {opening + 1} is never closed")
        parts.append(_expression(text[opening + 1:end], opening))
        position = end + 1
    return Template(text, tuple(parts))


def _expression(body: str, at: int) -> Expression:
    operator = OPERATORS.get(body[:1]) if body[:1] in "+#./;?&" and body else None
    specs = body[1:] if operator is not None else body
    operator = operator or OPERATORS[""]
    variables = []
    for spec in specs.split(","):
        found = _VARSPEC.fullmatch(spec)
        if found is None:
            raise MalformedTemplate(f"the expression at character {at + 1} has no valid variable '{spec}'")
        name, prefix, explode = found.groups()
        variables.append(Variable(name, explode is not None, int(prefix) if prefix else None))
    return Expression(operator, tuple(variables))


def _before_query(parts: tuple[str | Expression, ...]) -> tuple[str | Expression, ...]:
    """`parts` up to the first query or fragment expression, or literal `?`/`#`."""
    kept: list[str | Expression] = []
    for part in parts:
        if isinstance(part, Expression):
            if part.operator.char in QUERY_OPERATORS or part.operator.char == "#":
                return tuple(kept)
        else:
            cut = re.search(r"[?#]", part)
            if cut is not None:
                kept.append(part[:cut.start()])
                return tuple(kept)
        kept.append(part)
    return parts


@lru_cache(maxsize=2048)
def _regex(template: Template, lenient: bool) -> re.Pattern[str]:
    pieces = []
    for part in template.parts:
        pieces.append(re.escape(part) if isinstance(part, str) else _expression_regex(part, lenient))
    last = template.parts[-1] if template.parts else None
    if isinstance(last, Expression) and last.operator.char in QUERY_OPERATORS:
        pieces.append(r"(?:#.*)?")  # a fragment after the query is no part of the query (RFC 3986 §3.5)
    return re.compile("".join(pieces) + r"\Z")


def _expression_regex(expression: Expression, lenient: bool) -> str:
    """One group holding the expansion of `expression` (its leading character outside)."""
    operator = expression.operator
    if operator.char in QUERY_OPERATORS:  # the query, whatever order its parameters come in
        return r"(?:[?&]([^#]*))?"
    if operator.char == "#":
        return r"(?:#(.*))?"
    if lenient:
        body = r"[^?#]"
    elif operator.reserved:  # `+`: reserved characters stand as they are, `/`, `?` and `#` included (§3.2.3);
        return r"(.+?)"  # the shortest, so a query expression after it reads the query
    elif operator.sep in ("/", "."):  # items, each after its separator: one per variable unless one explodes
        items = "+" if any(variable.explode for variable in expression.variables) else \
            f"{{1,{len(expression.variables)}}}"
        return rf"((?:{re.escape(operator.sep)}[^/?#{re.escape(operator.sep)}]*){items})?"
    else:
        body = r"[^/?#]"
    if operator.first:
        return f"(?:{re.escape(operator.first)}({body}*))?"
    return f"({body}+)"


def _read(expression: Expression, text: str | None, lenient: bool) -> list[Value] | None:
    """The values of `expression`'s variables in its expansion `text` (None: the expression is absent), or
    None when `text` is no expansion of it."""
    operator = expression.operator
    if text is None or (not text and operator.char in QUERY_OPERATORS):
        return []  # an absent expression: its variables are undefined
    if operator.sep in ("/", ".") and not lenient:
        text = text[1:]  # the group holds the leading separator of the first item: `/` alone is one empty item
    elif not text and operator.char:
        return []
    if operator.named:
        return _read_named(expression, text)
    items = text.split(operator.sep) if not (lenient and operator.char == "/") else text.split("/")
    variables = expression.variables
    # `,` joins a list value's items, `/` and `.` only an exploded one's (§2.4.2): a non-exploded `{/x}`
    # or `{.x}` is one item. Leniently, as a looser server may read it, the last variable takes the rest.
    list_sep = operator.sep == "," or lenient
    values: list[Value] = []
    index = 0
    for position, variable in enumerate(variables):
        if index >= len(items):
            break
        rest = variable.explode or (position == len(variables) - 1 and list_sep)
        taken = items[index:] if rest else [items[index]]
        index += len(taken)
        value = Value(variable, operator, (operator.sep if not (lenient and operator.char == "/") else "/")
                      .join(taken), tuple(taken))
        if variable.prefix is not None and len(value.decoded) > variable.prefix:
            return None
        values.append(value)
        if rest:
            break
    if index < len(items):
        return None  # more items than the variables take: `/a/b` of `{/x}`
    return values


def _read_named(expression: Expression, text: str) -> list[Value] | None:
    """`name=value` items (`;`: a bare `name` is an empty value) attributed to the variables they name."""
    operator = expression.operator
    sep = "&" if operator.char in QUERY_OPERATORS else operator.sep
    by_name: dict[str, list[str]] = {}
    for item in text.split(sep):
        name, _, value = item.partition("=")
        by_name.setdefault(unquote(name), []).append(value)
    values = []
    for variable in expression.variables:
        found = by_name.get(variable.name)
        if found is None:
            continue
        value = Value(variable, operator, ",".join(found), tuple(found))
        if variable.prefix is not None and len(value.decoded) > variable.prefix:
            return None
        values.append(value)
    return values
