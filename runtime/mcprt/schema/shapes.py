"""A self-contained JSON Schema (2020-12, local `$ref`s) → the *shape* checked shaping reads.

A shape is the JSON Schema subset `shaping/schema_paths.py` follows: `type`, `properties`,
`items`, `additionalProperties` (only where the schema states it) and `anyOf` (from `anyOf`/`oneOf`;
`allOf` parts are merged). Everything else — `required`, `enum`, `const`, `format`, bounds,
`default`, titles — is dropped, so a shape says where data is without rejecting a value that
leaves a field out. An `enum`/`const` without a `type` gives the types of its values.

Used for schemas that carry their own definitions: a Python function's return type (pydantic's
`TypeAdapter(...).json_schema()`, `#/$defs/…`), an upstream tool's `outputSchema`. OpenAPI
documents, whose `$ref`s cross files, have their own converter (`sources/openapi/responses.py`)
producing the same subset.

A `$ref` met again while it is being converted (a recursive model), one that does not resolve
locally, or nesting beyond `MAX_DEPTH`, becomes `{}` (anything): always correct, only less precise.
Shapes may share objects: treat them as immutable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MAX_DEPTH = 24
ANY: dict[str, Any] = {}
_TYPES = frozenset({"string", "number", "integer", "boolean", "null", "array", "object"})


def shape_of(schema: Any) -> dict[str, Any] | None:
    """The shape of `schema`; None when it is not a JSON Schema object (or boolean schema)."""
    if schema is True:
        return ANY
    if not isinstance(schema, dict):
        return None
    return _Converter(schema).node(schema, 0)


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.memo: dict[str, dict[str, Any]] = {}
        self.busy: set[str] = set()

    def node(self, node: Any, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            return ANY  # `true`, `false` (never reached by a value that exists) and junk: anything
        if isinstance(node.get("$ref"), str):
            target = self.ref(node["$ref"], depth)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if not siblings:
                return target
            return merged(target, self.node(siblings, depth))  # 2020-12: `$ref` beside other keywords
        out: dict[str, Any] = {}
        props = node.get("properties")
        if isinstance(props, dict):
            out["properties"] = {str(k): self.node(v, depth + 1) for k, v in props.items()}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self.node(extra, depth + 1)
        elif isinstance(extra, bool):
            out["additionalProperties"] = extra
        items = self._items(node, depth)
        if items is not None:
            out["items"] = items
        all_of = node.get("allOf")
        for part in all_of if isinstance(all_of, list) else ():
            out = merged(out, self.node(part, depth + 1))
        options: list[dict[str, Any]] = []
        for keyword in ("anyOf", "oneOf"):
            parts = node.get(keyword)
            if isinstance(parts, list):
                options += [self.node(part, depth + 1) for part in parts]
        types = _types(node)
        if options:
            if any(option == ANY for option in options):
                return with_types(out, types) if types is not None or out else ANY
            out["anyOf"] = dedupe(options)
        return with_types(out, types)

    def _items(self, node: dict[str, Any], depth: int) -> dict[str, Any] | None:
        """`items` (one schema), or the union of tuple positions (`prefixItems`, draft-4 `items: [...]`)."""
        items, prefix = node.get("items"), node.get("prefixItems")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, node.get("additionalItems")
        if not isinstance(prefix, list) or not prefix:
            return self.node(items, depth + 1) if isinstance(items, dict) else None
        options = [self.node(part, depth + 1) for part in prefix]
        if items is not False and node.get("maxItems") != len(prefix):  # more items after the tuple positions
            options.append(self.node(items, depth + 1) if isinstance(items, dict) else ANY)
        if any(option == ANY for option in options):
            return ANY
        unique = dedupe(options)
        return unique[0] if len(unique) == 1 else {"anyOf": unique}

    def ref(self, ref: str, depth: int) -> dict[str, Any]:
        found = self.memo.get(ref)
        if found is not None:
            return found
        target = resolve_pointer(self.root, ref)
        if target is None or ref in self.busy:
            return ANY  # not local, or recursion: anything
        self.busy.add(ref)
        try:
            found = self.node(target, depth + 1)
        finally:
            self.busy.discard(ref)
        self.memo[ref] = found
        return found


Resolve = Callable[[str], Any]  # a `$ref` → the schema it names (None when it cannot be told)


def fixed_values(branch: Any, name: str, resolve: Resolve | None = None, depth: int = 0) -> list[Any]:
    """The values a union's branch allows for property `name` by `const` or `enum` ([] if it does not fix
    it): the branch's tag in a discriminated union (OpenAPI 3.1 §4.8.25 `discriminator`). Looks through
    the branch's `allOf` parts too (inheritance: `Cat: allOf[$ref Pet, {properties: {petType: {enum:
    [cat]}}}]`), following `$ref`s with `resolve` when given (at most 16 deep: a cycle ends there)."""
    if not isinstance(branch, Mapping) or depth > 16:
        return []
    if resolve is not None and isinstance(branch.get("$ref"), str):
        target = resolve(branch["$ref"])
        found = fixed_values(target, name, resolve, depth + 1)
        if found:
            return found
    properties = branch.get("properties")
    spec = properties.get(name) if isinstance(properties, Mapping) else None
    if isinstance(spec, Mapping):
        if "const" in spec:
            return [spec["const"]]
        if isinstance(spec.get("enum"), list):
            return list(spec["enum"])
    parts = branch.get("allOf")
    for part in parts if isinstance(parts, list) else ():
        found = fixed_values(part, name, resolve, depth + 1)
        if found:
            return found
    return []


def branch_tags(option: Any, name: str, mapping: Mapping[str, Any],
                resolve: Resolve | None = None) -> tuple[list[Any], bool] | None:
    """(the tag values, whether the branch fixes exactly those itself) of one branch of a union
    discriminated by property `name` (OpenAPI 3.1 §4.8.25). The tags are the `mapping` keys naming its
    `$ref` (by reference or by schema name), else — the implicit mapping — its schema's name; where the
    branch fixes the property by `const`/`enum` (`fixed_values`, also through `allOf`), only the tags among
    those values (an inherited `enum: [approved, denied]` narrowed to the mapping's `approved`), or all it
    fixes when none is (`Cat` fixing `cat`: no implicit `Cat` beside it). ([], False) when none can be told
    (an inline branch); None when a mapping key is not among the values the branch fixes: no value could
    match both. The one place the OpenAPI compiler and the argument errors read tags."""
    ref = option.get("$ref") if isinstance(option, Mapping) else None
    named = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None
    mapped = [tag for tag, target in mapping.items()
              if named is not None and isinstance(target, str) and (target == ref or target.rsplit("/", 1)[-1] == named)]
    candidates = mapped or ([named] if named is not None else [])
    fixed = fixed_values(option, name, resolve)
    if not fixed:
        return candidates, False
    kept = [tag for tag in candidates if tag in fixed]
    if len(kept) < len(mapped):
        return None
    return (kept, False) if kept and set(kept) != set(fixed) else (fixed, True)


def resolve_pointer(root: dict[str, Any], ref: str) -> Any:
    """A local JSON Pointer reference (`#/$defs/Note`, RFC 6901 escapes), or None."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for token in ref[1:].split("/")[1:] if ref != "#" else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def declared_types(node: dict[str, Any]) -> list[str] | None:
    """The node's own `type` as a list of JSON Schema type names without repeats; None when it has
    none, or one that is not a type name (then nothing is assumed about the value)."""
    raw = node.get("type")
    if isinstance(raw, str) and raw in _TYPES:
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, str) and t in _TYPES for t in raw):
        return list(dict.fromkeys(raw))
    return None


def _types(node: dict[str, Any]) -> list[str] | None:
    types = declared_types(node)
    if types is None:
        values = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
        if not values:
            return None
        types = list(dict.fromkeys(_json_type(v) for v in values))
    return types


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def with_types(out: dict[str, Any], types: list[str] | None) -> dict[str, Any]:
    """`out` with the node's own `type` (one name or a list); an allOf part's type, already in `out`, wins."""
    if types is None or "type" in out:
        return out
    return {"type": types[0] if len(types) == 1 else types, **out}


def merge_into(into: dict[str, Any], part: dict[str, Any]) -> None:
    """allOf (or `$ref` with siblings): a value satisfies every part, so each part's own description of a
    field holds; `into` gains what `part` adds. `required` is unioned (only annotated authoring shapes have it)."""
    if "type" in part and "type" not in into:
        into["type"] = part["type"]
    if "properties" in part:
        merged_props = dict(into.get("properties", {}))
        for name, shape in part["properties"].items():
            merged_props[name] = merged(merged_props[name], shape) if name in merged_props else shape
        into["properties"] = merged_props
    if "items" in part:
        into["items"] = merged(into["items"], part["items"]) if "items" in into else part["items"]
    extra = part.get("additionalProperties")
    if extra is not None and extra is not False and "additionalProperties" not in into:
        into["additionalProperties"] = extra
    if "anyOf" in part and "anyOf" not in into:
        into["anyOf"] = part["anyOf"]
    if "required" in part:
        into["required"] = sorted(set(into.get("required", [])) | set(part["required"]))


def merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Both shapes hold for one value: a new shape, the first plus what the second adds (shapes stay shared, unmodified)."""
    if first == ANY:
        return second
    if second == ANY or first is second:
        return first
    combined = dict(first)
    merge_into(combined, second)
    return combined


def dedupe(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`anyOf` options without repeats (by identity or equality), in their order."""
    unique: list[dict[str, Any]] = []
    for option in options:
        if not any(option is u or option == u for u in unique):
            unique.append(option)
    return unique


# Keywords that assert nothing about a value (JSON Schema 2020-12 Meta-Data §9, Core §8.3 `$comment`).
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
                          "$comment"})
# Bounds decided here (2020-12 Validation §6.2, §6.3), each by the kind of value it applies to; a bound
# on another kind of value asserts nothing.
_NUMBER_BOUNDS = {"minimum": lambda v, b: v >= b, "maximum": lambda v, b: v <= b,
                  "exclusiveMinimum": lambda v, b: v > b, "exclusiveMaximum": lambda v, b: v < b}
_LENGTH_BOUNDS = {"minLength": lambda v, b: len(v) >= b, "maxLength": lambda v, b: len(v) <= b}  # code points
_DECIDED = _ANNOTATIONS | {"type"} | set(_NUMBER_BOUNDS) | set(_LENGTH_BOUNDS)


def certainly_fits(schema: Any, value: Any) -> bool:
    """True when `schema` asserts nothing but `type` and numeric or length bounds (annotations
    aside) and `value` satisfies them all, so every validator accepts it (JSON Schema 2020-12
    Validation §6.1.1, §6.2, §6.3: an "integer" is any number with a zero fractional part, `5.0` too;
    a bool is never a number; a length counts code points). False when the schema asserts more or
    the value fails: then only a full validator can tell (`schema.validator`), which also words the
    problem. For a manifest's `fixed`/`default` value, checked at every load: most are a plain value
    under a type and bounds (a Python parameter's `Field(ge=1, le=50)`), and jsonschema's import is
    a tenth of a small manifest's start (≈0.05 s of CPU)."""
    if not isinstance(schema, dict) or not set(schema) <= _DECIDED:
        return False
    types = declared_types(schema)
    if types is None:
        return False
    kind = _json_type(value)
    if kind == "string" and not isinstance(value, str):  # `_json_type` calls anything else a string
        return False
    if not (kind in types or (kind == "integer" and "number" in types)
            or (kind == "number" and "integer" in types and value.is_integer())):
        return False
    bounds = _NUMBER_BOUNDS if kind in ("integer", "number") else _LENGTH_BOUNDS if kind == "string" else {}
    for keyword, holds in bounds.items():
        if keyword in schema:
            bound = schema[keyword]
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not holds(value, bound):
                return False
    return True
