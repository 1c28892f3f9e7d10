"""Success-response schemas → compact *shape* schemas (a JSON Schema 2020-12 subset).

A shape keeps only what says where data is: `type` (3.0 `nullable` / Swagger `x-nullable` add
`"null"`), `properties`, `items`, `additionalProperties` (when the document states it) and
`anyOf` (from `oneOf`/`anyOf`; `allOf` parts are merged). Everything a real response is known to
break — `required`, `enum`, `format`, `pattern`, bounds — is dropped, so a shape describes the
documented fields without rejecting a response that leaves one out or carries a new enum value.

`$ref`s are resolved inline and memoized (shared objects: treat shapes as immutable); a reference
met again while it is being converted (recursion), or nesting beyond `MAX_DEPTH`, becomes the
`type` its target declares (`{"type": "object"}`), else `{}` (anything): always correct, only less
precise. So Stripe's expandable fields (`anyOf: [string, <a resource that refers back>]`) keep
their string alternative. A `nullable` (or `x-nullable`) `anyOf` gets a `{"type": "null"}` option.
An `anyOf` with an anything (`{}`) option is anything in a runtime shape; an annotated shape keeps
its other options beside the `{}` when one is an object (DigitalOcean's `links.pages: anyOf:
[object, object, {}]`), so authoring still sees the documented fields.

`annotated_shapes` gives authoring (`mcprt init`'s suggested prunes) the same shapes with the
annotations it ranks fields by kept as well (`ANNOTATIONS`: `required`, `format`, `enum`,
`readOnly`, `deprecated`, `description`, `maxLength`, and whether an `example`/`examples` is
given); they are never part of a runtime shape (an outputSchema with the document's `required`
would reject real responses that leave a field out).
"""

from __future__ import annotations

from typing import Any

from mcprt.errors import SpecError
from mcprt.schema.shapes import ANY, declared_types, dedupe, merge_into, with_types

from .loader import LoadedDocument
from .model import SchemaRef, unique_keys
from .reader import read_document
from .refs import Resolver, join

MAX_DEPTH = 24


class ResponseShapes:
    """Converts success-response schemas of one document set (memoized by `$ref` target)."""

    def __init__(self, resolver: Resolver, version: str, annotate: bool = False) -> None:
        self.resolver = resolver
        self.version = version
        self.annotate = annotate
        self._memo: dict[str, Any] = {}
        self._busy: set[str] = set()
        # What `convert` could not read, as the compiler reports it: a `$ref` that does not resolve is
        # the same fault in a response as in a request body (README "Bad elements"), never silent,
        # since the missing shape turns off the prune/output checks and the tool's outputSchema.
        self.problems: list[SpecError] = []

    def convert(self, ref: SchemaRef | None) -> dict[str, Any] | None:
        """The shape of a response schema, or None without one (or when it cannot be read: a
        SpecError naming the exact JSON pointer of a `$ref` that does not resolve is then added to
        `problems`)."""
        if ref is None:
            return None
        try:
            shape = self._node(ref.node, ref.uri, ref.pointer, 0)
        except SpecError as exc:
            self.problems.append(self._dangling(ref.node, ref.uri, ref.pointer, set()) or exc)
            return None
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            return None
        return shape if isinstance(shape, dict) else None

    def required(self, ref: SchemaRef | None) -> frozenset[str] | None:
        """The members every object a response schema admits must hold (its top level's `required`, with its
        `allOf` parts' added and the names every `oneOf`/`anyOf` option requires), or None without a schema
        (or when it cannot be read). Kept apart from the shape, which drops `required` (a shape must not reject a
        response): a prune miss reads it to tell a body that omits optional fields from a body of another shape
        (`shaping.prune_miss`)."""
        if ref is None:
            return None
        try:
            return frozenset(self._required(ref.node, ref.uri, ref.pointer, 0))
        except (SpecError, RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError):
            return None

    def _required(self, node: Any, uri: str, ptr: str, depth: int) -> set[str]:
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            return set()
        if "$ref" in node:
            target_uri, target_ptr, target = self.resolver.resolve(node["$ref"], uri, ptr)
            return self._required(target, target_uri, target_ptr, depth + 1)
        names = {str(name) for name in node.get("required", ()) if isinstance(name, str)} \
            if isinstance(node.get("required"), list) else set()
        for part in node.get("allOf", ()) if isinstance(node.get("allOf"), list) else ():
            names |= self._required(part, uri, ptr, depth + 1)
        for keyword in ("oneOf", "anyOf"):
            options = node.get(keyword)
            if isinstance(options, list) and options:
                names |= set.intersection(*(self._required(o, uri, ptr, depth + 1) for o in options))
        return names

    def _dangling(self, node: Any, uri: str, ptr: str, seen: set[str]) -> SpecError | None:
        """The first `$ref` under `node` that does not resolve, named at its own pointer (`_node` keeps
        only coarse pointers for speed; this walk runs only once a conversion failed)."""
        if isinstance(node, list):
            return next((e for i, v in enumerate(node) if (e := self._dangling(v, uri, join(ptr, i), seen))), None)
        if not isinstance(node, dict):
            return None
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                try:
                    target_uri, target_ptr, target = self.resolver.resolve(value, uri, join(ptr, "$ref"))
                except SpecError as exc:
                    return exc
                if f"{target_uri}#{target_ptr}" not in seen:
                    seen.add(f"{target_uri}#{target_ptr}")
                    found = self._dangling(target, target_uri, target_ptr, seen)
                    if found is not None:
                        return found
            elif isinstance(value, (dict, list)) and key not in ("example", "examples", "default", "enum", "const"):
                found = self._dangling(value, uri, join(ptr, key), seen)
                if found is not None:
                    return found
        return None

    # `ptr` is where the converted schema starts (the response's schema, or a `$ref` target), not
    # each node's own pointer: it only names the place in a SpecError, and `convert` turns every
    # error into "no shape", so building a pointer for each of the thousands of nodes is skipped.
    def _node(self, node: Any, uri: str, ptr: str, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict):
            return ANY
        if depth > MAX_DEPTH:
            return _declared(node, self.version)
        if "$ref" in node:
            return self._ref(self.resolver.resolve(node["$ref"], uri, ptr), depth)
        if "$dynamicRef" in node:  # as its static case; anything when the schema evaluated decides
            resolved = self.resolver.resolve_dynamic(node["$dynamicRef"], uri, ptr)
            return ANY if resolved is None else self._ref(resolved, depth)
        out: dict[str, Any] = {}
        types = _types(node, self.version)
        deeper = depth + 1
        props = node.get("properties")
        if isinstance(props, dict):
            out["properties"] = {str(k): self._node(v, uri, ptr, deeper) for k, v in props.items()}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self._node(extra, uri, ptr, deeper)
        elif isinstance(extra, bool):
            out["additionalProperties"] = extra
        items = node.get("items")
        if isinstance(items, dict):
            out["items"] = self._node(items, uri, ptr, deeper)
        parts = node.get("allOf")
        if isinstance(parts, list):
            for part in parts:
                merge_into(out, self._node(part, uri, ptr, deeper))
        options: list[dict[str, Any]] = []
        for keyword in ("oneOf", "anyOf"):
            parts = node.get(keyword)
            if isinstance(parts, list):
                options += [self._node(p, uri, ptr, deeper) for p in parts]
        if options:
            if any(o == ANY for o in options) and not (self.annotate and any("properties" in o for o in options)):
                return ANY if types is None and not out else with_types(out, types)
            if types is None and _nullable(node):  # `nullable` beside `anyOf` (Stripe): null is one more option
                options.append({"type": "null"})
            out["anyOf"] = dedupe(options)
        out = with_types(out, types)
        if _nullable(node) and "type" in out:  # `nullable` beside an allOf that brought the type
            out["type"] = _add_null(out["type"])
        if self.annotate:
            _annotations(node, out)
        return out

    def _ref(self, resolved: tuple[str, str, Any], depth: int) -> dict[str, Any]:
        target_uri, target_ptr, target = resolved
        key = f"{target_uri}#{target_ptr}"
        found = self._memo.get(key)
        if found is not None:
            return found
        if key in self._busy:  # recursion: the type the target declares (or anything) is correct, only less precise
            return _declared(target, self.version) if isinstance(target, dict) else ANY
        self._busy.add(key)
        try:
            found = self._node(target, target_uri, target_ptr, depth)
        finally:
            self._busy.discard(key)
        self._memo.setdefault(key, found)
        return found


def annotated_shapes(doc: LoadedDocument) -> dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Per operation key (`model.unique_keys`: operationId, else `METHOD /path`): its success and `default`
    response shapes, annotated (see the module docstring). Operations that cannot be read are left out."""
    resolver = Resolver(doc)
    model = read_document(resolver)
    shapes = ResponseShapes(resolver, model.version, annotate=True)
    found: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
    keys = unique_keys([(op.operation_id, op.method, op.path) for op in model.operations])
    for op, key in zip(model.operations, keys, strict=True):
        success = shapes.convert(op.response_schema)
        found[key] = (
            success, shapes.convert(op.default_schema) if op.response_schema else None)
    return found


def _declared(node: dict[str, Any], version: str) -> dict[str, Any]:
    """Only the `type` a schema declares (nullable honoured), else anything."""
    types = _types(node, version)
    if types is None:
        return ANY
    return {"type": types[0] if len(types) == 1 else types}


ANNOTATIONS = ("required", "format", "enum", "readOnly", "deprecated", "description", "example", "examples", "maxLength")


def _annotations(node: dict[str, Any], out: dict[str, Any]) -> None:
    """Copy what the authoring heuristics read (never part of a runtime shape: `required` would reject)."""
    for keyword in ANNOTATIONS:
        value = node.get(keyword)
        if value is None:
            continue
        if keyword == "required" and isinstance(value, list):
            value = sorted(set(value) | set(out.get("required", [])))
        elif keyword == "description" and isinstance(value, str):
            value = value[:300]
        elif keyword in ("example", "examples"):
            value = True  # only whether the document gives one
        out[keyword] = value


def _types(node: dict[str, Any], version: str) -> list[str] | None:
    types = declared_types(node)
    if types is None:
        return None
    if _nullable(node) and "null" not in types:
        types.append("null")
    if node.get("enum") and None in node.get("enum", []) and "null" not in types:
        types.append("null")
    return types


def _nullable(node: dict[str, Any]) -> bool:
    return node.get("nullable") is True or node.get("x-nullable") is True


def _add_null(types: Any) -> Any:
    listed = [types] if isinstance(types, str) else list(types)
    return listed if "null" in listed else [*listed, "null"]
