"""Static check of an `output` template's `result.…` look-ups against the result's shape.

The template is parsed (never run) with the sandboxed environment; attribute and item look-ups
rooted at `result` — directly, through `{% set %}` or through `{% for x in result… %}` loop
variables — are followed through the shape (see `schema_paths`). A look-up of a field the shape
cannot have is reported at its line and column in the template, with "did you mean …?", and so is a
field looked up on a value the shape types as a string, number, boolean or null (`result.name.first`; on a
string every name is a key, `.upper` too), with what the shape says it is — certain only on an exact shape, as
the prune's check decides (a description may get a type wrong); one
guarded by `is defined` or `| default(…)` is marked `guarded` (a template shared by tools
whose results differ does that on purpose). A documented field that one record may lack (`absence`:
not required, nullable under `drop_nulls`, a list or object under `drop_empty`, a `drop_keys` match)
is reported, as `absent`, where it is read without a guard: `is defined`, `| default(…)`, or an
`{% if %}` that tests it around the read.

Filters followed (`FOLLOWED_FILTERS`; Jinja's built-ins of the same names):
  - an item of a list: `first`, `last`, `min`, `max`, `random` (`(result.items | first).name`);
  - the list itself, fewer or reordered: `list`, `reverse`, `sort`, `unique`, `select`, `reject`,
    `selectattr`, `rejectattr`;
  - `map(attribute='a.b')`: the list of that field of each item;
  - the field an `attribute` names (`map`, `sort`, `unique`, `sum`, `min`, `max`, `groupby` by keyword,
    `selectattr`/`rejectattr`/`groupby` by the first argument; dotted: `meta.created`; `sort`'s split on commas,
    as Jinja's `make_multi_attrgetter` does) is looked up on the items, as `item.a.b` would be
    (`map(attribute=…, default=…)` guards it, and so do `selectattr`/`rejectattr` with no test or one of
    `_SAFE_ON_ABSENT`: an absent field is Jinja's undefined there, which those tests take without failing);
  - `{% for k, v in x | dictsort %}` (or `| items`): `v` is a map's value (an object with fields
    has values of different shapes: not followed);
  - a fallback, `default`/`d` with no argument or an empty or scalar literal (`[]`, `{}`, `''`, `0`, `none`):
    the value itself, its own look-up guarded (`{% for t in result.tickets | default([]) %}`, the guard
    `drop_empty` asks for, keeps `t.…` checked: the fallback has no items and no fields, so every field read
    through it is one of the value's). A fallback with content (`default(result.other)`, `default([{…}])`)
    may have other fields: not followed.
Anything else (other filters, function calls, other variables) is not followed: no finding, never a
false one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

from .absence import Absence
from .schema_paths import ANY, built, field_of, is_list, is_typo, items_of, map_values, scalar_types, suggestion
from ..expressions.templates import parsed_template


_ONE_ITEM = frozenset({"first", "last", "min", "max", "random"})
_SAME_LIST = frozenset({"list", "reverse", "sort", "unique", "select", "reject", "selectattr", "rejectattr"})
_ATTRIBUTE_KEYWORD = frozenset({"map", "sort", "unique", "sum", "min", "max", "groupby"})
_ATTRIBUTE_FIRST = frozenset({"selectattr", "rejectattr", "groupby"})
_PAIRS = frozenset({"dictsort", "items"})
_FALLBACK = frozenset({"default", "d"})  # Jinja's `d` is `default` by another name
# `attribute` of these is several fields, comma-separated (Jinja's `make_multi_attrgetter`: only `sort` in 3.1)
_MULTI_ATTRIBUTE = frozenset({"sort"})
# `selectattr`/`rejectattr` with these tests (or none: truthiness) read an absent field safely: Jinja's
# undefined is falsy, not defined, not none, equal to nothing; an ordering test (`gt`) on it fails the render
_SAFE_ON_ABSENT = frozenset({"defined", "undefined", "none", "true", "false", "boolean",
                             "eq", "equalto", "==", "ne", "!=", "sameas"})
FOLLOWED_FILTERS = _ONE_ITEM | _SAME_LIST | _ATTRIBUTE_KEYWORD | _ATTRIBUTE_FIRST | _FALLBACK
"""The filters whose result (or `attribute` argument) the check follows through the shape; see above."""


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    line: int  # 1-based, in the template
    col: int  # 1-based, best effort (where the name appears on that line)
    message: str
    guarded: bool = False  # inside `is defined` / `| default(…)`: the template handles absence
    certain: bool = True  # a typo of a documented field or a look-up on a list (see schema_paths)
    absent: bool = False  # a documented field some records lack, read unguarded (`absence`)


def check_template(
    source: str, shape: dict[str, Any], *, exact: bool = False, absence: Absence | None = None
) -> list[TemplateProblem]:
    """Problems of `result` look-ups in `source` (a template that compiles) against `shape`; `exact` as
    in `schema_paths.analyze` (every impossible look-up is certain); `absence`: the rules that say
    which documented fields a record may lack (none checked without)."""
    try:
        tree = parsed_template(source)
    except Exception:  # noqa: BLE001 - a template that does not parse is reported by the compile check
        return []
    walker = _Walker(source, exact, absence)
    walker.block(tree.body, {"result": shape})
    return walker.problems


class _Walker:
    def __init__(self, source: str, exact: bool = False, absence: Absence | None = None) -> None:
        self.lines = source.splitlines()
        self.exact = exact
        self.absence = absence
        self.problems: list[TemplateProblem] = []
        self.guarded = 0
        self.tested: list[str] = []  # field names an enclosing `{% if %}` tests: read safely inside it
        self.taken: dict[tuple[int, str], int] = {}  # (line, name): how many of its places found nodes took
        self.columns: dict[tuple[int, str], int] = {}  # (id of a look-up's node, name): its column

    def block(self, body: list[nodes.Node], scope: dict[str, Any]) -> None:
        for node in body:
            self.statement(node, scope)

    def statement(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            iterated = self.expr(node.iter, scope)
            inner = dict(scope)
            if isinstance(node.target, nodes.Name):
                items = items_of(iterated) if iterated is not None else None
                inner[node.target.name] = items
            else:
                for name in node.target.find_all(nodes.Name):
                    inner[name.name] = None
                values = self.pair_values(node.iter, scope)
                if isinstance(node.target, nodes.Tuple) and len(node.target.items) == 2 and values is not None:
                    value = node.target.items[1]
                    if isinstance(value, nodes.Name):
                        inner[value.name] = values
            if node.test is not None:
                self.expr(node.test, inner)
            self.block(node.body, inner)
            self.block(node.else_, scope)
            return
        if isinstance(node, nodes.If):
            self.conditional(node.test, lambda: self.block(node.body, scope), scope)
            for branch in node.elif_:
                self.statement(branch, scope)
            self.block(node.else_, scope)
            return
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            scope[node.target.name] = self.expr(node.node, scope)
            return
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child, scope)
            else:
                self.statement(child, scope)

    def conditional(self, test: nodes.Node, then: Any, scope: dict[str, Any]) -> None:
        """Walk `test`, then `then()` with the fields `test` reads counted as guarded: an absent
        documented field renders empty, so `{% if result.x %}` is false, not an error, for it."""
        names = [n.attr for n in (test, *test.find_all(nodes.Getattr)) if isinstance(n, nodes.Getattr)] + [
            n.arg.value for n in (test, *test.find_all(nodes.Getitem))
            if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str)]
        self.guarded += 1
        try:
            self.expr(test, scope)
        finally:
            self.guarded -= 1
        self.tested.extend(names)
        try:
            then()
        finally:
            del self.tested[len(self.tested) - len(names):]

    def expr(self, node: nodes.Node, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The shape of an expression's value when it is followed from `result`, else None."""
        if isinstance(node, nodes.CondExpr):  # `a if test else b`: `a` is read only when `test` holds
            self.conditional(node.test, lambda: self.expr(node.expr1, scope), scope)
            if node.expr2 is not None:
                self.expr(node.expr2, scope)
            return None
        if isinstance(node, nodes.Name):
            return scope.get(node.name) if node.ctx == "load" else None
        if isinstance(node, nodes.Getattr):
            return self.lookup(node, self.expr(node.node, scope), node.attr)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node, scope)
            self.expr(node.arg, scope)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.lookup(node, base, node.arg.value)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, int) and base is not None:
                if "string" in (scalar_types(base) or ()):  # a character of a string: a string
                    return {"type": "string"}
                return items_of(base)
            return None
        if (isinstance(node, nodes.Filter) and node.name == "attr" and node.node is not None and len(node.args) == 1
                and not node.kwargs and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)):
            # `x | attr('name')` reads the field as `x.name` does on data (`templates._attr`; review of shapeleft)
            return self.lookup(node, self.expr(node.node, scope), node.args[0].value)
        if isinstance(node, nodes.Filter) and node.node is not None and node.name in _FALLBACK and _empty_fallback(node):
            return self.fallback(node, scope)
        if isinstance(node, nodes.Filter) and node.node is not None and node.name in FOLLOWED_FILTERS - _FALLBACK:
            return self.filtered(node, scope)
        guard = (isinstance(node, nodes.Test) and node.name in ("defined", "undefined")) or (
            isinstance(node, nodes.Filter) and node.name in _FALLBACK
        )
        self.guarded += guard
        try:
            for child in node.iter_child_nodes():
                self.expr(child, scope)
        finally:
            self.guarded -= guard
        return None

    def fallback(self, node: nodes.Filter, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The shape of `x | default(<empty or scalar literal>)`: `x`'s, its own look-up guarded (absence
        is what the filter is for); the fallback adds no field and no item, so what is read through it is
        checked against `x`."""
        self.guarded += 1
        try:
            return self.expr(node.node, scope)  # type: ignore[arg-type]  # `node.node` is set (checked by the caller)
        finally:
            self.guarded -= 1

    def filtered(self, node: nodes.Filter, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The shape of `node.node | name(…)` for a filter of `FOLLOWED_FILTERS`, checking the field its
        `attribute` names on each item; None where the result is not a followed shape."""
        base = self.expr(node.node, scope)  # type: ignore[arg-type]  # `node.node` is set (checked by the caller)
        arguments = [*node.args, *(keyword.value for keyword in node.kwargs), node.dyn_args, node.dyn_kwargs]
        for argument in arguments:
            if argument is not None:
                self.expr(argument, scope)
        items = items_of(base) if base is not None else None
        if items is None:
            return None
        keywords = {keyword.key: keyword.value for keyword in node.kwargs}
        attribute = keywords.get("attribute") if node.name in _ATTRIBUTE_KEYWORD else None
        if attribute is None and node.name in _ATTRIBUTE_FIRST and node.args:
            attribute = node.args[0]
        field: dict[str, Any] | None = None
        if isinstance(attribute, nodes.Const) and isinstance(attribute.value, str):
            guard = (node.name == "map" and "default" in keywords) or _selects_safely(node)
            paths = attribute.value.split(",") if node.name in _MULTI_ATTRIBUTE else [attribute.value]
            self.guarded += guard
            try:
                for path in paths:
                    field = self.attribute(attribute, items, path)
            finally:
                self.guarded -= guard
        if node.name in _ONE_ITEM:
            return items
        if node.name in _SAME_LIST and is_list(base):  # type: ignore[arg-type]  # not None: it has items
            return base
        if node.name == "map" and attribute is not None:
            return {"type": "array", "items": field} if field is not None else None
        return None

    def attribute(self, node: nodes.Node, item: dict[str, Any], path: str) -> dict[str, Any] | None:
        """The shape of `item`'s field `path` as a filter's `attribute=` reads it (Jinja's `make_attrgetter`:
        dotted, a step of digits indexes a list), each step checked as a look-up."""
        shape: dict[str, Any] | None = item
        steps = path.split(".")
        for index, step in enumerate(steps):
            if shape is None:
                return None
            reading = "each item" + "".join(f"[{s}]" if s.isdigit() else f".{s}" for s in steps[:index])
            shape = items_of(shape) if step.isdigit() else self.lookup(node, shape, step, reading)
        return shape

    def pair_values(self, iterated: nodes.Node, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The shape of `v` in `{% for k, v in x | dictsort %}` (or `| items`) when `x` is a map (its values share one
        shape); None otherwise. Walks nothing: the loop's `iter` is walked by the caller."""
        if not (isinstance(iterated, nodes.Filter) and iterated.name in _PAIRS and iterated.node is not None
                and not iterated.args and not iterated.kwargs):
            return None
        probe = _Walker("", self.exact)  # only for the shape: its findings are the caller's to make
        base = probe.expr(iterated.node, scope)
        return map_values(base) if base is not None else None

    def lookup(self, node: nodes.Node, base: dict[str, Any] | None, name: str,
               reading: str | None = None) -> dict[str, Any] | None:
        """The shape of field `name` of `base` (the shape `node` reads from: `reading` names it for a message,
        else the template's own text), reporting a look-up that cannot match."""
        self.column(node, getattr(node, "lineno", 1) or 1, name)  # every look-up takes its place, reported or not
        if base is None or base == ANY:
            return None if base is None else ANY
        if is_list(base):
            self.report(node, name, f"'{name}' is looked up on a list, which has no such field "
                                    "(loop over it with {% for … %})")
            return None
        scalars = scalar_types(base)
        if scalars is not None:
            # On a string every name reads a key (`templates.DATA_TYPES`): `.upper` is a missing field too. On a
            # number, boolean or null a Python attribute is read (`.real`) or refused (`template_safety` says so)
            if not any(kind != "string" and hasattr(_PYTHON_TYPES[kind], name) for kind in scalars):
                # the prune's rule (`schema_paths`): a warning unless the shape is exact, as descriptions get a
                # type wrong (Vercel documents a map of strings where the API sends objects)
                self.report(node, name, f"'{name}' is looked up on `{reading or _written(node)}`, which the "
                                        f"result's schema documents as {_kinds(scalars)}: it has no fields, so "
                                        "this renders nothing or fails at call time", self.exact)
            return None
        found, known = field_of(base, name)
        if found is None:
            if not known:
                return None
            self.report(node, name, f"result field '{name}' cannot exist: the result has no such field"
                                    f"{suggestion(name, known)}",
                        # an object the prune's `{…}` builds has exactly its keys: any other is a mistake
                        self.exact or built(base) or is_typo(name, known))
            return None
        why = self.absence.reason(base, name, found) if self.absence is not None else None
        if why is not None and not self.guarded and name not in self.tested:
            self.report(node, name, f"result field '{name}' may be absent from a record ({why}): "
                                    f"guard it — `| default('')` after it, `is defined`, or an "
                                    f"`{{% if … %}}` that tests it around it; unguarded it renders empty there",
                        certain=False, absent=True)
        return found

    def report(self, node: nodes.Node, name: str, message: str, certain: bool = True, absent: bool = False) -> None:
        line = getattr(node, "lineno", 1) or 1
        self.problems.append(TemplateProblem(line, self.column(node, line, name), message, self.guarded > 0,
                                             certain, absent))

    def column(self, node: nodes.Node, line: int, name: str) -> int:
        """1-based column of `node`'s look-up of `name` on `line` (Jinja's nodes carry no column): the n-th
        place the line names it (`.name`, `['name`, a filter's `'name`, `'a.name`, `'b,name`) for the n-th
        node found looking it up there, the walk going in reading order; 1 when not found."""
        key = (id(node), name)
        if key in self.columns:  # a node walked again keeps its place
            return self.columns[key]
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        places = [m.end() - len(name) + 1 for m in re.finditer(rf"(?:\[\s*['\"]|['\".,]){re.escape(name)}\b", text)]
        taken = self.taken.get((line, name), 0)
        self.taken[(line, name)] = taken + 1
        self.columns[key] = places[min(taken, len(places) - 1)] if places else 1
        return self.columns[key]


# The Python type a JSON value of each type is in a rendering: a number's attributes (`.real`) are read as such
_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
_ARTICLES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
             "null": "null"}


def _kinds(types: list[str]) -> str:
    """`["string", "null"]` as "a string or null"."""
    return " or ".join(_ARTICLES.get(kind, kind) for kind in [*(t for t in types if t != "null"),
                                                             *(t for t in types if t == "null")])


def _written(node: nodes.Node) -> str:
    """The value a look-up reads from, as the template writes it (`result.name`, `item.tags[0]`), for a message;
    `…` for a part that is no name, field or constant index."""
    base = getattr(node, "node", None)
    if isinstance(base, nodes.Name):
        return base.name
    if isinstance(base, nodes.Getattr):
        return f"{_written(base)}.{base.attr}"
    if isinstance(base, nodes.Getitem) and isinstance(base.arg, nodes.Const):
        return f"{_written(base)}[{base.arg.value!r}]"
    if isinstance(base, nodes.Filter) and base.name == "attr" and base.args and isinstance(base.args[0], nodes.Const):
        return f"{_written(base)} | attr({base.args[0].value!r})"
    return "…"


def _empty_fallback(node: nodes.Filter) -> bool:
    """Whether `default`/`d`'s fallback has no fields and no items of its own: none given, or an empty
    `[]`/`{}`/`()` or a scalar literal (`''`, `0`, `none`, `'n/a'`); its `boolean` flag changes only when
    the fallback is used. Anything else (a variable, a list with items) may bring fields `x` lacks."""
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        return False
    fallback = node.args[0] if node.args else next((k.value for k in node.kwargs if k.key == "default_value"), None)
    if fallback is None:
        return True
    if isinstance(fallback, nodes.Const):
        return fallback.value is None or isinstance(fallback.value, (str, int, float, bool))
    return isinstance(fallback, (nodes.List, nodes.Tuple, nodes.Dict)) and not fallback.items


def _selects_safely(node: nodes.Filter) -> bool:
    """Whether `selectattr`/`rejectattr` reads its attribute without failing when an item lacks it: no test
    (truthiness) or one of `_SAFE_ON_ABSENT`, as `is defined` guards a field in an `{% if %}`."""
    if node.name not in ("selectattr", "rejectattr"):
        return False
    test = node.args[1] if len(node.args) > 1 else None
    return test is None or (isinstance(test, nodes.Const) and test.value in _SAFE_ON_ABSENT)
