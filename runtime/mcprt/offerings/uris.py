"""The reversible URI prefix that keeps resources of several sources apart.

A source's `prefix` becomes a URI scheme prefix joined with `+` (RFC 3986 §3.1 allows `+` in a
scheme): prefix `fs_` turns `file:///a.txt` into `fs+file:///a.txt` and back. Characters a scheme
cannot hold (`_`) become `-`; trailing separators are dropped. URI templates get the same prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from .. import path_segments
from .uri_template import QUERY_OPERATORS, MalformedTemplate, Value, parse


SCHEME_RULE = ("a scheme keeps letters, digits, `+`, `.` and `-`: every other character becomes `-`, `-`, `.` and `+` "
               "are stripped from both ends, and one not starting with a letter gets an `x` in front")


def scheme_prefix(prefix: str | None) -> str:
    """`fs_` → `fs` (empty when the source has no prefix): the rule is SCHEME_RULE (RFC 3986 §3.1's scheme
    characters, starting with a letter)."""
    if not prefix:
        return ""
    cleaned = re.sub(r"[^A-Za-z0-9+.-]", "-", prefix).strip("-.+")
    if cleaned and not cleaned[0].isalpha():
        cleaned = "x" + cleaned
    return cleaned


def add_prefix(uri: str, scheme: str) -> str:
    return f"{scheme}+{uri}" if scheme else uri


def strip_prefix(uri: str, scheme: str) -> str | None:
    """The upstream URI, or None when `uri` does not carry this prefix."""
    if not scheme:
        return uri
    head = f"{scheme}+"
    return uri[len(head):] if uri.startswith(head) else None


def template_matcher(uri_template: str, *, lenient: bool = False) -> Callable[[str], bool]:
    """Whether a URI is one an RFC 6570 template (levels 1–4, `uri_template.py`) expands to (a value longer
    than its `:N` prefix is not); never, for a malformed template. Parsed once (cached there): a turned-off
    template is matched on every read of an unlisted URI. `lenient`: or one a looser server may read as an
    expansion (`Template.match`: `files://a/b` of `files://{name}`)."""
    try:
        template = parse(uri_template)
    except MalformedTemplate:
        return _never
    if lenient:
        strict = template_matcher(uri_template)
        return lambda uri: strict(uri) or template.match(uri, lenient=True) is not None
    if any(variable.prefix is not None for expression in template.expressions for variable in expression.variables):
        return lambda uri: template.match(uri) is not None  # a prefix counts decoded characters: read the values
    regex = template.regex()  # otherwise the expansion's shape decides (bench/structured_uris.py: 11 → ~1 µs)
    return lambda uri: regex.match(uri) is not None


def _never(uri: str) -> bool:
    return False


class UnsafeTemplateValue(ValueError):
    """A URI matches a template, but a variable's value would step out of its place
    (`mcprt.path_segments`); the message names the variable and the rule, never the value."""


def template_values(uri_template: str, uri: str, *, lenient: bool = False,
                    for_function: bool = True) -> dict[str, str] | None:
    """The variable values of `uri` under `uri_template`, percent-decoded once, or None if it does not match
    (or the template is malformed). Every RFC 6570 expression form (`uri_template.py`: `{x,y}`, `{+x}`,
    `{#x}`, `{.x}`, `{/x*}`, `{;x}`, `{?x,y}`, `{&x}`, prefixes `:3`); a variable the URI leaves undefined
    is not in the result.

    Raises UnsafeTemplateValue when a value breaks the rule its operator allows (`mcprt.path_segments`):
    a value of a reserved expansion (`{+x}`, `{#x}`, §3.2.3/§3.2.4: may hold `/`) is a relative path with no
    `.`/`..` segment; every other value (§3.2.2, §3.2.5–§3.2.9: reserved characters percent-encoded) is one
    segment — no `/` or `\\`, not `.`/`..` — each item of a list (`{/path*}`'s segments, `{x,y}`'s commas,
    a query parameter given twice) on its own; neither holds NUL. In any form a reader may decode it to
    (`%2F`, `%252F`, `%2E%2E`, `／`), since the value is decoded before it is handed on (found by a pentest
    trial: `docs://..%2F..%2Fetc%2Fpasswd` read /etc/passwd through a `docs://{path}` function joining the
    value to its folder). A `/` or `.` list holds no empty item (`//`, `..`), and the value as handed on — its
    items joined — is checked too: `{/p*}` of `//etc/passwd` is refused, not `/etc/passwd`.

    `for_function`: the values are handed to a function (a Python resource) as arguments, so query values
    (`{?q}`, `{&q}`) are one segment each, as a path's are. False — a proxied server gets the URI, not the
    values, and a query is no path (a search for `2024/01`) — a query value is only refused for NUL.

    `lenient`: as a server with its own (looser) matcher may read `uri` (review of hostfix: a proxied
    `notes://{name}` passed `notes://..%2F..%2Fetc%2Fpasswd?x` and `notes://a/../../etc/passwd` on, since
    they did not fully match mcprt's pattern, while FastMCP 1.x reads `{name}` as `[^/]+`): the URI's and
    the template's query and fragment are left out, each variable matches up to them (a raw `/` included),
    and a one-segment value holding raw `/` is checked one piece at a time as `{/var*}` is."""
    try:
        template = parse(uri_template)
    except MalformedTemplate:
        return None
    found = template.match(uri, lenient=lenient)
    if found is None:
        return None
    values: dict[str, str] = {}
    for value in found:
        problem = _value_problem(value, lenient, for_function)
        if problem is not None:
            raise UnsafeTemplateValue(f"the value of `{value.variable.name}` in the URI template {uri_template} "
                                      f"{problem}")
        values[value.variable.name] = value.decoded
    return values


def _value_problem(value: Value, lenient: bool, for_function: bool) -> str | None:
    """What makes `value` step out of its place, by its operator (`template_values`), or None: each item as
    sent (a `%2F` inside one is no separator of the list), then the value as handed on, its items joined —
    review of proxyleft: empty items of `{/p*}` joined to `/etc/passwd`, of `{.x}` to `..`."""
    operator = value.operator
    if operator.char in QUERY_OPERATORS and not for_function:  # the server gets the URI, not a path
        return "must not contain a NUL character" if path_segments.has_nul(value.raw) else None
    if operator.sep in ("/", ".") and "" in value.items:
        return f"must not hold an empty item (an empty segment or label: '{operator.sep * 2}')"
    if operator.reserved:
        check, whole, pieces = path_segments.path_problem, path_segments.path_problem, list(value.items)
    else:
        check = path_segments.segment_problem
        pieces = [piece for item in value.items for piece in (item.split("/") if lenient else (item,))]
        # a raw `/` read leniently, or an exploded `{/p*}`'s segments, make a path; all else one segment
        whole = path_segments.path_problem if lenient or operator.char == "/" else path_segments.segment_problem
    return next(filter(None, (check(unquote(piece)) for piece in pieces)), None) or whole(value.decoded)


def unlisted_uri_problem(uri: str) -> str | None:
    """Why a URI that matches no listed template must not be passed on (None: it may): its authority or a
    segment of its path breaks the segment rule (`path_segments.segment_problem`: `..`, `%2F`, `%5C`, NUL, in
    any form a reader may decode it to). Empty segments (`file:///a`, `a//b`) are no step anywhere."""
    parts = urlsplit(uri)
    for segment in [parts.netloc, *parts.path.split("/")]:
        problem = path_segments.segment_problem(segment) if segment else None
        if problem is not None:
            return f"a segment of its path {problem}"
    return None
