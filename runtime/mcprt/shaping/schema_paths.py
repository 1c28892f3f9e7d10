"""What a `prune` expression makes of a response *shape*, and which of its fields cannot exist.

Input: a JMESPath expression and the shape of the response (a JSON Schema subset: `type`,
`properties`, `items`, `additionalProperties`, `anyOf`; see `sources/openapi/responses.py`).
Output: the shape of the pruned result (JMESPath semantics: a missing field, or a field of a
non-object, gives `null`, so every looked-up field may be null) and the field look-ups that cannot
match: a name an object shape does not declare (with "did you mean …?"), or a field looked up on
a list (`items.name` where `items[].name` was meant). A problem is `certain` for a look-up on a
list and for a name within a small edit distance of a documented one (`nmae` → `name`: a typo);
a name unlike any documented one, or one side of `a || b`, may be a field the document forgot.

An object shape is *closed* when it declares `properties` and no `additionalProperties`
(OpenAPI documents list the fields an API returns); `{}` (anything), an object without declared
properties, or explicit `additionalProperties` accept every name. Whatever this module does not
understand projects to `{}`: less precise, never wrong.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from jmespath import parser as jmespath_parser

ANY: dict[str, Any] = {}
# Marks an object the expression itself builds (a multiselect hash `{a: x, b: y}`): it has exactly
# those fields, so looking up any other one is certainly a mistake, not a field a document forgot.
# Internal to shapes: `output_schema` leaves it out.
BUILT = "x-mcprt-built"
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_FUNCTION_TYPES: dict[str, dict[str, Any]] = {
    "length": {"type": "integer"},
    "join": {"type": "string"},
    "to_string": {"type": "string"},
    "type": {"type": "string"},
    "contains": _BOOLEAN,
    "starts_with": _BOOLEAN,
    "ends_with": _BOOLEAN,
    "keys": {"type": "array", "items": {"type": "string"}},
    "values": {"type": "array"},
    "abs": {"type": "number"},
    "avg": {"type": ["number", "null"]},
    "ceil": {"type": "number"},
    "floor": {"type": "number"},
    "sum": {"type": "number"},
    "to_number": {"type": ["number", "null"]},
    "to_array": {"type": "array"},
    "not_null": ANY,
}
_SAME_AS_FIRST = frozenset({"sort", "sort_by", "reverse"})


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A field look-up that cannot match; `offset` is 0-based into the expression."""

    offset: int
    name: str
    message: str
    certain: bool = True  # a typo of a documented field, or a look-up on a list; else maybe just undocumented


@dataclass(slots=True)
class Analysis:
    shape: dict[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)


class _PositionParser(jmespath_parser.Parser):
    """jmespath's parser, with each field node remembering where its name starts."""

    _CACHE: dict[str, Any] = {}

    def _token_nud_unquoted_identifier(self, token: dict[str, Any]) -> dict[str, Any]:
        node = super()._token_nud_unquoted_identifier(token)
        node["start"] = token["start"]
        return node

    def _token_nud_quoted_identifier(self, token: dict[str, Any]) -> dict[str, Any]:
        node = super()._token_nud_quoted_identifier(token)
        node["start"] = token["start"] + 1
        return node


def analyze(expression: str, shape: dict[str, Any], *, exact: bool = False) -> Analysis:
    """The result shape of `expression` over `shape`, and its impossible field look-ups.

    `exact`: `shape` lists every field a value can have (a Python return type), so every impossible
    look-up outside `a || b` is certain, not only typos of known fields.

    Raises jmespath's errors for expressions that do not parse (the manifest check reports those).
    """
    parsed = _PositionParser().parse(expression).parsed
    analysis = Analysis(ANY)
    analysis.shape = _Walker(analysis.problems, exact).visit(parsed, shape)
    return analysis


def with_fields(shape: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """`shape` with the given fields added as documented, of any type (a copy; shapes are shared).

    `paths`: dotted field paths with `[]` for list items (`next_page.offset`, `data[].assignee.name`),
    the fields an API sends that its description leaves out (manifest `undocumented_fields`).
    Added to every object option of an `anyOf` on the way.
    """
    import copy

    out = copy.deepcopy(shape)
    for path in paths:
        _add_path(out, [part for part in path.split(".") if part])
    return out


def _add_path(shape: dict[str, Any], parts: list[str]) -> None:
    if not parts or shape == ANY:
        return
    if isinstance(shape.get("anyOf"), list):
        for option in shape["anyOf"]:
            if isinstance(option, dict) and option != ANY and (_may_be(option, "object") or "properties" in option):
                _add_path(option, parts)
        if "properties" not in shape:
            return
    name, lists = parts[0], 0
    while name.endswith("[]"):
        name, lists = name[:-2], lists + 1
    props = shape.setdefault("properties", {})
    child = props.get(name)
    if child is None:
        child = props[name] = ANY.copy() if not (lists or parts[1:]) else {}
    for _ in range(lists):
        if child == ANY:
            child.update({"type": "array", "items": {}})
        items = child.get("items")
        if not isinstance(items, dict):
            return  # documented otherwise: leave it as the document says
        child = items
    if parts[1:]:
        if child == ANY:
            child["type"] = "object"
        _add_path(child, parts[1:])


def field_of(shape: dict[str, Any], name: str) -> tuple[dict[str, Any] | None, list[str]]:
    """(shape of `name` in an object shape, or None if it cannot be there; the names it could be)."""
    options = _options(shape)
    known: list[str] = []
    found: list[dict[str, Any]] = []
    for option in options:
        if option == ANY:
            return ANY, []
        props = option.get("properties")
        extra = option.get("additionalProperties")
        if isinstance(props, dict) and name in props:
            found.append(props[name])
        elif isinstance(extra, dict):
            found.append(extra)
        elif extra is True or (not isinstance(props, dict) and _may_be(option, "object")):
            return ANY, []
        elif isinstance(props, dict):
            known += [k for k in props if k not in known]
    if not found:
        return None, known
    return (found[0] if len(found) == 1 else {"anyOf": found}), known


def field_names(shape: dict[str, Any]) -> list[str]:
    """The property names an object shape documents, over all its `anyOf` options, in order."""
    names: list[str] = []
    for option in _options(shape):
        props = option.get("properties")
        if isinstance(props, dict):
            names += [k for k in props if k not in names]
    return names


def items_of(shape: dict[str, Any]) -> dict[str, Any] | None:
    """The item shape of an array shape; None when the shape cannot be an array."""
    found: list[dict[str, Any]] = []
    for option in _options(shape):
        if option == ANY:
            return ANY
        if _may_be(option, "array"):
            items = option.get("items")
            found.append(items if isinstance(items, dict) else ANY)
    if not found:
        return None
    return found[0] if len(found) == 1 else {"anyOf": found}


def map_values(shape: dict[str, Any]) -> dict[str, Any] | None:
    """The shape every value of a map shape (`additionalProperties` only) has; `ANY` for an unknown shape;
    None for an object with declared fields (its values differ) or a shape that cannot be an object."""
    found: list[dict[str, Any]] = []
    for option in _options(shape):
        if option == ANY:
            return ANY
        extra = option.get("additionalProperties")
        if "properties" in option or not isinstance(extra, dict) or not _may_be(option, "object"):
            return None
        found.append(extra)
    return found[0] if len(found) == 1 else {"anyOf": found}


def is_list(shape: dict[str, Any]) -> bool:
    """The shape is certainly an array (or null)."""
    types = _type_set(shape)
    return bool(types) and types <= {"array", "null"} and "array" in types


_SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})


def scalar_types(shape: dict[str, Any]) -> list[str] | None:
    """The JSON types a value of `shape` may have when it is surely no object and no list (every `anyOf`
    option states only `string`, `integer`, `number`, `boolean` or `null`), in order; else None."""
    found: list[str] = []
    for option in _options(shape):
        types = option.get("type")
        listed = [types] if isinstance(types, str) else types if isinstance(types, list) else []
        if not listed or not set(listed) <= _SCALARS:
            return None
        found += [kind for kind in listed if kind not in found]
    return found


def nullable(shape: dict[str, Any]) -> dict[str, Any]:
    """`shape` or null (what a JMESPath look-up gives when the value is missing). Keywords beside an `anyOf`
    (an `allOf` of properties and a `oneOf`: intellifi.nl's Item) hold in every option, so they go into each:
    dropping them lost the properties, and every field of such an object "could not exist"."""
    if shape == ANY or "anyOf" in shape:
        return shape if shape == ANY else {"anyOf": [*_options(shape), {"type": "null"}]}
    types = shape.get("type")
    if types is None:
        return ANY if not shape else {**shape}
    listed = [types] if isinstance(types, str) else list(types)
    if "null" in listed:
        return shape
    return {**shape, "type": [*listed, "null"]}


def output_schema(shape: dict[str, Any]) -> dict[str, Any] | None:
    """The MCP `outputSchema` for results of this shape, or None when they are not surely objects.

    structuredContent is only ever an object, so the top level is `"type": "object"`; an explicit
    `additionalProperties: false` is left out (documents are often wrong about it).
    """
    if shape == ANY or "anyOf" in shape or "object" not in _type_set(shape):
        return None
    if _type_set(shape) - {"object", "null"}:
        return None
    out = _clean(shape)
    out["type"] = "object"
    return out


def _literal_shape(value: Any) -> dict[str, Any]:
    """The JSON type of a literal value; an array's `items` when all of them have one scalar type."""
    if isinstance(value, list):
        kinds = {_LITERAL_TYPES.get(type(v)) for v in value}
        one = next(iter(kinds)) if len(kinds) == 1 else None
        return {"type": "array", "items": {"type": one}} if one not in (None, "object", "array") else {"type": "array"}
    kind = _LITERAL_TYPES.get(type(value))
    return {"type": kind} if kind else ANY


_LITERAL_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array",
                  type(None): "null"}


def _clean(shape: Any) -> Any:
    if not isinstance(shape, dict):
        return shape
    out: dict[str, Any] = {}
    for key, value in shape.items():
        if key == "properties":
            out[key] = {name: _clean(v) for name, v in value.items()}
        elif key == "prefixItems":
            out[key] = [_clean(v) for v in value]
        elif key in ("items", "additionalProperties"):
            if value is False or value == ANY or value is True:
                continue
            out[key] = _clean(value)
        elif key == "anyOf":
            out[key] = [_clean(v) for v in value]
        elif key == BUILT:
            continue
        else:
            out[key] = value
    return out


def built(shape: dict[str, Any]) -> bool:
    """Every object `shape` may be was built by the expression (`BUILT`): its fields are exactly
    the declared ones."""
    objects = [o for o in _options(shape) if _may_be(o, "object")]
    return bool(objects) and all(o.get(BUILT) is True for o in objects)


def is_typo(name: str, known: list[str]) -> bool:
    """`name` is a mistake for a documented name: within a small edit distance of one (one edit per four
    characters, transpositions count once), or a truncation of one (its start: `stat` for `status`, `custo`,
    `ite`). Shaping trial, fault 5: truncations were warnings while `stauts` was an error, though a name
    cut short is as surely a typo. A different word that merely resembles one (`nickname` beside `name`)
    may be a field the document forgot: a warning (`undocumented_fields` declares it)."""
    limit = max(1, len(name) // 4)
    return any(_distance(name, other, limit) <= limit or (len(name) < len(other) and other.startswith(name))
               for other in known)


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, giving up (limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def suggestion(name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


# --- internals ------------------------------------------------------------------------------------


def _options(shape: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in shape and isinstance(shape["anyOf"], list):
        base = {k: v for k, v in shape.items() if k != "anyOf"}
        return [_both(base, o) if base else o for o in shape["anyOf"] if isinstance(o, dict)] or [ANY]
    return [shape]


def _both(base: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    """A schema's own keywords and one `anyOf` option hold together: their properties add up."""
    if option == ANY:
        return base
    merged = {**base, **option}
    if "properties" in base and "properties" in option:
        merged["properties"] = {**base["properties"], **option["properties"]}
    if "type" in base:
        merged["type"] = base["type"]
    return merged


def _type_set(shape: dict[str, Any]) -> set[str]:
    types = shape.get("type")
    if types is None:
        return set()
    return {types} if isinstance(types, str) else set(types)


def _may_be(shape: dict[str, Any], kind: str) -> bool:
    """Whether a value of JSON type `kind` may match `shape`. A schema without `type` constrains nothing
    about the type: `items` applies only to arrays and `properties` only to objects (JSON Schema 2020-12
    §10.3.1.2, §10.3.2.1), so neither rules the other kind out (Slack's success schemas are
    `{items: {anyOf: [objects]}}`: an object is as valid as an array there, with fields unknown).

    An `anyOf` is as permissive as its options (§10.2.1.2: a value matches one of them): a list of
    `oneOf: [Customer, Order, Product]` objects holds no lists, so `[].{…}` over it reads those objects'
    fields (a trial's `nmae` passed there, the flattened items taken for possible lists, of any shape)."""
    types = _type_set(shape)
    if types and kind not in types:
        return False
    options = shape.get("anyOf")
    if isinstance(options, list) and options:
        return any(_may_be(o, kind) for o in options if isinstance(o, dict))
    return True


class _Walker:
    def __init__(self, problems: list[FieldProblem], exact: bool = False) -> None:
        self.problems = problems
        self.exact = exact

    def visit(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self, f"_{node.get('type')}", None)
        if method is None:
            for child in node.get("children", ()):
                if isinstance(child, dict):
                    self.visit(child, ANY)
            return ANY
        result: dict[str, Any] = method(node, shape)
        return result

    def _field(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        name = node["value"]
        if shape == ANY:
            return ANY
        if is_list(shape):
            self._problem(node, f"field '{name}' is looked up on a list, which has no fields "
                                f"(use `[].{name}` to take it from each item)")
            return ANY  # the document may be wrong: a reported look-up projects to anything
        if not _may_be(shape, "object") and not any(_may_be(o, "object") for o in _options(shape)):
            kinds = sorted(set().union(*(_type_set(o) for o in _options(shape))) - {"null"})
            if kinds:  # documented as a string, a number…: JMESPath gives null for any field of it (fault 4).
                # A warning unless the shape is exact: descriptions get a type wrong (Vercel documents a
                # project's `targets` as a map of strings; the API sends objects there)
                # A function's or a comparison's value has its type by JMESPath's spec, not by a description:
                # `length(data).z` is always null, an error (review of shapefix, problem 10)
                typed = any(shape is result for result in _FUNCTION_TYPES.values())
                said = "always" if typed else "documented as"
                self._problem(node, f"field '{name}' is looked up on a value {said} "
                                    f"{' or '.join(kinds)}, which has no fields", self.exact or typed)
            return ANY
        found, known = field_of(shape, name)
        if found is None:
            certain = self.exact or built(shape) or is_typo(name, known)
            self._problem(node, f"field '{name}' cannot exist here: the response schema has no such field"
                                f"{suggestion(name, known)}", certain)
            return ANY
        return nullable(found)

    def _problem(self, node: dict[str, Any], message: str, certain: bool = True) -> None:
        self.problems.append(FieldProblem(int(node.get("start", 0)), node["value"], message, certain))

    def _identity(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        return shape

    _current = _identity

    def _subexpression(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        for child in node["children"]:
            shape = self.visit(child, shape)
        return shape

    _pipe = _subexpression

    def _index_expression(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        left, right = node["children"]
        base = self.visit(left, shape)
        if right.get("type") == "slice":
            return base
        items = items_of(base)
        return nullable(items) if items is not None else {"type": "null"}

    def _flatten(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        base = self.visit(node["children"][0], shape)
        items = items_of(base)
        if items is None:
            return {"type": "null"}
        inner = items_of(items) if is_list(items) else None
        element = inner if inner is not None else (ANY if items == ANY or _may_be(items, "array") else items)
        return {"type": ["array", "null"], "items": element}

    def _projection(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        left, right = node["children"][:2]
        base = self.visit(left, shape)
        items = items_of(base)
        if items is None:
            self.visit(right, ANY)
            return {"type": "null"}
        element = self.visit(right, items)
        return {"type": ["array", "null"], "items": element}

    def _filter_projection(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        left, right, condition = node["children"]
        base = self.visit(left, shape)
        items = items_of(base)
        if items is None:
            self.visit(right, ANY)
            self.visit(condition, ANY)
            return {"type": "null"}
        self.visit(condition, items)
        return {"type": ["array", "null"], "items": self.visit(right, items)}

    def _value_projection(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        left, right = node["children"]
        base = self.visit(left, shape)
        values: list[dict[str, Any]] = []
        for option in _options(base):
            props = option.get("properties")
            extra = option.get("additionalProperties")
            if option == ANY or extra is True or not isinstance(props, dict) and not isinstance(extra, dict):
                values = [ANY]
                break
            values += list(props.values()) if isinstance(props, dict) else []
            if isinstance(extra, dict):
                values.append(extra)
        element = values[0] if len(values) == 1 else ({"anyOf": values} if values else ANY)
        return {"type": ["array", "null"], "items": self.visit(right, element)}

    def _multi_select_dict(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        props = {pair["value"]: self.visit(pair["children"][0], shape) for pair in node["children"]}
        return {"type": ["object", "null"], "properties": props, BUILT: True}

    def _multi_select_list(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        """`[a, b.c]`: one value per expression, in order (JSON Schema 2020-12 `prefixItems`: a table's row,
        `authoring.table`); null when its input is null."""
        return {"type": ["array", "null"], "prefixItems": [self.visit(child, shape) for child in node["children"]]}

    def _function_expression(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        """Every `&expr` argument applies to the items of the function's array argument, wherever it stands:
        `sort_by(a, &k)`, `max_by(a, &k)`, `min_by(a, &k)`, and `map(&k, a)` (shaping trial, fault 4: map's
        reference came first and was checked against nothing)."""
        args = node["children"]
        values = [None if arg.get("type") == "expref" else self.visit(arg, shape) for arg in args]
        given = [value for value in values if value is not None]
        first: dict[str, Any] = given[0] if given else ANY
        items = items_of(first)
        mapped: dict[str, Any] = ANY
        for arg in args:
            if arg.get("type") == "expref":
                mapped = self.visit(arg["children"][0], items if items is not None else ANY)
        name = node.get("value")
        if name == "map":
            return {"type": ["array", "null"], "items": mapped}
        if name in _SAME_AS_FIRST:
            return values[0] if values and values[0] is not None else ANY
        return _FUNCTION_TYPES.get(str(name), ANY)

    def _comparator(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        for child in node["children"]:
            self.visit(child, shape)
        return _BOOLEAN

    _not_expression = _comparator

    def _or_expression(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        for child in node["children"]:
            self.visit(child, shape)
        return ANY

    def _and_expression(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        """`a && b` (a suggested table's guard, `items[2] && {columns: …, rows: …}`): both sides read `shape`, so
        a field either names is checked; its value is `a` (falsy) or `b`: any shape."""
        for child in node["children"]:
            self.visit(child, shape)
        return ANY

    def _literal(self, node: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
        """A literal's JSON type (a table's `columns`: an array of strings), never its value: a literal may hold
        what the manifest interpolated, and an outputSchema is read by every client."""
        return _literal_shape(node.get("value"))
