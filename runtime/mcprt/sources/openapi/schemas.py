"""OpenAPI/Swagger schemas → compact JSON Schema 2020-12 for tool input schemas.

- Every `$ref` target is converted once and memoized; the converted object is shared (not copied)
  wherever it is used, so treat converted schemas as immutable.
- Recursion is detected while converting: a target met again while it is still being converted
  becomes a `$defs` entry and every use of it a `{"$ref": "#/$defs/Name"}`. `finish()` adds to a
  tool's schema exactly the `$defs` it reaches, and hoists shared sub-schemas used several times in
  one tool into `$defs` when that is smaller.
- 3.0 `nullable` → a `null` type (or option); boolean `exclusiveMinimum` → numeric; Swagger
  `type: file` and `format: binary` → a string carrying a file (see FILE_HINT).
- Left out for compactness: examples, `x-*` extensions, `xml`, `externalDocs`, `readOnly` properties
  (request side), titles that repeat the name or sit next to a description. A union's `discriminator`
  is kept in the inline form of the branches (`_discriminate`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mcprt.manifest.model import DescriptionPolicy
from mcprt.errors import SpecError
from mcprt.schema.ecma_regex import ecma_error
from mcprt.schema.shapes import Resolve, branch_tags
from mcprt.schema.titles import title_adds

from .model import SchemaRef
from .refs import Resolver, join, split
from ..sentences import as_sentence
from .text import arg_description

FILE_HINT = "File: text, or a data: URL (data:<type>[;name=<file>];base64,<data>) for binary."
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_NONNEG_INT = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
               "minContains", "maxContains")
_NUMBERS = ("minimum", "maximum", "multipleOf")
_SUBSCHEMA = ("not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems",
              "unevaluatedProperties")
_LISTS = ("allOf", "anyOf", "oneOf")
# The keys some keyword groups read: a node with none of them skips the group (most nodes are a
# `type` and a `description`, and looking up absent keys one by one was ~5 % of the compile).
_BOUND_KEYS = frozenset({*_NUMBERS, "exclusiveMinimum", "exclusiveMaximum", *_NONNEG_INT})
_APPLICATOR_KEYS = frozenset({*_SUBSCHEMA, *_LISTS, "default"})
_OBJECT_KEYS = frozenset({"properties", "required", "additionalProperties", "patternProperties", "dependentSchemas",
                          "dependentRequired"})
_ANNOTATION_ONLY = frozenset({"description", "title", "nullable", "x-nullable", "readOnly", "writeOnly",
                              "deprecated", "example", "examples", "default", "externalDocs", "xml"})
_DEF_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_REF_PREFIX = "#/$defs/"


def _bounds(node: dict[str, Any], out: dict[str, Any]) -> None:
    """The numeric, length and count constraints of `node` into `out` (in this key order)."""
    for key in _NUMBERS:
        if _is_number(node.get(key)):
            out[key] = node[key]
    if "multipleOf" in out and out["multipleOf"] <= 0:
        del out["multipleOf"]
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(key)
        if value is True and bound in out:
            out[key] = out.pop(bound)
        elif _is_number(value):
            out[key] = value
    for key in _NONNEG_INT:
        value = node.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[key] = value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class _Rewrite:
    """The recursive definitions of a closure rewritten with one hoisting, and the bodies hoisted out of them."""

    bodies: dict[str, Any]  # `$defs` name → body
    names_in: dict[str, set[str]] = field(default_factory=dict)  # name → the `$defs` names its body refers to


@dataclass(slots=True)
class _Closure:
    """The recursive definitions some tools reach, and what `finish` works out from them alone."""

    defs: frozenset[str]  # the recursive definitions reached
    names: frozenset[str]  # every `$defs` name met (these, and the entry names)
    counts: dict[int, int]  # id(shared part) → occurrences in them, each expanded part walked once
    hoist: dict[int, str]  # what their counts alone hoist
    rewrites: dict[frozenset[tuple[int, str | None]], _Rewrite] = field(default_factory=dict)  # by change to `hoist`


class SchemaConverter:
    """Converts schema nodes of one document set; memoizes by location, tracks recursive `$defs`."""

    def __init__(self, resolver: Resolver, version: str, policy: DescriptionPolicy) -> None:
        self.resolver = resolver
        self.version = version
        self.policy = policy
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._memo: dict[str, Any] = {}
        self._in_progress: set[str] = set()
        self._recursive: set[str] = set()
        self.defs: dict[str, Any] = {}  # recursive definitions by $defs name
        self._def_names: dict[str, str] = {}  # ref key → $defs name
        self._taken_names: set[str] = set()
        self._shared: dict[int, tuple[str, Any]] = {}  # id(converted ref target) → (ref key, object)
        self._sizes: dict[int, int] = {}
        self._flags: dict[str, tuple[bool, bool]] = {}  # ref key → (readOnly, file)
        self._described: dict[tuple[int, str], dict[str, Any]] = {}
        self._closures: dict[frozenset[str], _Closure] = {}  # recursive definitions reached → `finish`'s work
        self._inner_counts: dict[int, dict[int, int]] = {}  # id(shared part) → shared parts directly inside
        self._def_refs: dict[str, set[str]] = {}  # recursive definition → the `$defs` names its body refers to

    # --- public -------------------------------------------------------------------------------

    def convert(self, ref: SchemaRef, name: str | None = None) -> Any:
        """The converted schema of a node in place (memoized by its location)."""
        key = f"@{ref.uri}#{ref.pointer}"
        found = self._memo.get(key)
        if found is None:
            found = self._node(ref.node, ref.uri, ref.pointer, name)
            self._memo[key] = found
        return found

    def with_description(self, schema: Any, description: str | None) -> Any:
        """`schema` with its description replaced (shared: one copy per schema and text)."""
        if not description or not isinstance(schema, dict) or schema.get("description") == description:
            return schema
        key = (id(schema), description)
        found = self._described.get(key)
        if found is None:
            found = {**schema, "description": description}
            self._described[key] = found
        return found

    def definition(self, schema: Any) -> Any:
        """The body behind a `{"$ref": "#/$defs/X"}` produced here (or the schema itself)."""
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith(_REF_PREFIX) or ref[len(_REF_PREFIX):] not in self.defs:
                break
            schema = self.defs[ref[len(_REF_PREFIX):]]
            seen += 1
        return schema

    def is_file(self, ref: SchemaRef) -> bool:
        """Whether a node (following `$ref`s) describes binary file content."""
        return self._flags_of(ref.node, ref.uri, ref.pointer)[1]

    def file_properties(self, ref: SchemaRef) -> frozenset[str]:
        """Names of the properties of an object schema that carry files (multipart parts)."""
        node, uri, ptr = self._deref(ref.node, ref.uri, ref.pointer)
        found: set[str] = set()
        parts = [(node, uri, ptr)]
        if isinstance(node, dict) and isinstance(node.get("allOf"), list):
            parts += [self._deref(p, uri, join(ptr, "allOf", i)) for i, p in enumerate(node["allOf"])]
        for part, p_uri, p_ptr in parts:
            props = part.get("properties") if isinstance(part, dict) else None
            if isinstance(props, dict):
                for name, prop in props.items():
                    flags = self._flags_of(prop, p_uri, join(p_ptr, "properties", name))
                    items = prop.get("items") if isinstance(prop, dict) else None
                    if flags[1] or (isinstance(items, dict)
                                    and self._flags_of(items, p_uri, join(p_ptr, "properties", name, "items"))[1]):
                        found.add(name)
        return frozenset(found)

    def finish(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A tool's schema with shared parts hoisted where smaller and the `$defs` it reaches.

        The recursive definitions it reaches are counted with it: each is written once, in `$defs`, and
        its body may repeat big shared parts (DocuSign's recursive `envelope` and `folder` each held the
        recipients' tabs fifteen times: 18.7 MB per tool until those were counted and hoisted too).

        What depends only on the recursive definitions a tool reaches — their counts, their hoisted
        rewrite and the `$defs` each body names — is worked out once per set of definitions (`_Closure`)
        and shared by every tool reaching that set: Microsoft Graph's 134 tools that reach its entity
        graph (~110 definitions, ~700 KB each) walked and rewrote all of it once per tool, which was
        most of its compile. A tool's own part (its schema and the shared parts it expands) is still
        walked per tool, and the result is the same as walking everything per tool: a count is the
        number of places a part occurs, each expanded part counted once (`_merged`)."""
        counts: dict[int, int] = {}
        names: set[str] = set()
        self._count(schema, counts, names)
        closure = self._closure_of(frozenset(n for n in names if n in self.defs))
        overlap = counts.keys() & closure.counts.keys()
        totals = self._merged(counts, closure, overlap) if overlap else counts
        hoist = self._hoisting(totals)
        shared_defs = closure.hoist
        # where this tool's own uses change what the closure hoists (a part used in both): a variant of its rewrite
        changed = frozenset((ident, name) for ident in overlap
                            if (name := self._hoisted_as(ident, totals[ident])) != shared_defs.get(ident))
        for ident, name in shared_defs.items():
            if ident not in counts:
                hoist[ident] = name
        if not hoist:
            return self._with_defs(schema, sorted(names | closure.names), {}, None)
        bodies: dict[str, Any] = {}
        schema = self._rewrite(schema, hoist, bodies)
        names = set()
        self._collect(schema, names)  # else the `$defs` references `_count` met are the same
        return self._with_defs(schema, sorted(names), bodies, self._closure_rewrite(closure, changed))

    def _with_defs(self, schema: dict[str, Any], pending: list[str], own: dict[str, Any],
                   rewrite: _Rewrite | None) -> dict[str, Any]:
        """`schema` with the `$defs` it reaches from the names in `pending`: a body from `own` (hoisted out of
        this tool's schema), else from the closure's `rewrite`, else the recursive definition as converted."""
        defs: dict[str, Any] = {}
        while pending:
            name = pending.pop()
            if name in defs:
                continue
            if name in own:
                body = own[name]
                found: set[str] = set()
                self._collect(body, found)
            elif rewrite is not None and name in rewrite.bodies:
                body = rewrite.bodies[name]
                found = self._names_in(body, name, rewrite.names_in)
            else:
                body = self.defs.get(name)
                if body is None:
                    continue
                found = self._names_in(body, name, self._def_refs)
            defs[name] = body
            pending.extend(n for n in found if n not in defs)
        if defs:
            schema = {**schema, "$defs": {k: defs[k] for k in sorted(defs)}}
        return schema

    def _hoisted_as(self, ident: int, count: int) -> str | None:
        """The `$defs` name a shared part occurring `count` times in one tool is hoisted as, when that is smaller."""
        if count < 2:
            return None
        name = self._def_name(self._shared[ident][0])
        size = self._size(ident)
        ref_cost = len(name) + 20
        return name if (count - 1) * size > count * ref_cost + len(name) + 4 else None

    def _closure_of(self, entry: frozenset[str]) -> _Closure:
        """The recursive definitions reachable from `entry`, counted on their own (memoized per set reached:
        the entry sets of a big entity graph are many, what they reach is mostly the same)."""
        reached: set[str] = set()
        names: set[str] = set()
        pending = list(entry)
        while pending:
            name = pending.pop()
            if name in reached:
                continue
            reached.add(name)
            found = self._names_in(self.defs[name], name, self._def_refs)
            names |= found
            pending.extend(n for n in found if n not in reached and n in self.defs)
        key = frozenset(reached)
        closure = self._closures.get(key)
        if closure is None:
            counts: dict[int, int] = {}
            for name in sorted(key):
                self._count(self.defs[name], counts, set())
            closure = self._closures[key] = _Closure(key, frozenset(names | key), counts, self._hoisting(counts))
        return closure

    def _merged(self, counts: dict[int, int], closure: _Closure, overlap: set[int]) -> dict[int, int]:
        """A tool's counts with its closure's: the parts both walks expanded were counted inside by both,
        so what they hold is taken once (a part's own occurrences are added)."""
        totals = dict(counts)
        for ident, count in closure.counts.items():
            if ident in totals:
                totals[ident] += count
        for ident in overlap:
            for inner, count in self._inside(ident).items():
                totals[inner] -= count
        return totals

    def _inside(self, ident: int) -> dict[int, int]:
        """The shared parts directly inside a shared part (not inside those), with their occurrences."""
        found = self._inner_counts.get(ident)
        if found is None:
            found = {}
            stack: list[Any] = [v for v in self._shared[ident][1].values() if isinstance(v, (dict, list))]
            while stack:
                obj = stack.pop()
                if isinstance(obj, dict):
                    if id(obj) in self._shared:
                        found[id(obj)] = found.get(id(obj), 0) + 1
                        continue
                    stack.extend(v for v in obj.values() if isinstance(v, (dict, list)))
                else:
                    stack.extend(v for v in obj if isinstance(v, (dict, list)))
            self._inner_counts[ident] = found
        return found

    def _hoisting(self, counts: dict[int, int]) -> dict[int, str]:
        """Shared part → the `$defs` name it is hoisted as, for the parts `counts` (part → occurrences) hoists."""
        return {ident: name for ident, count in counts.items() if (name := self._hoisted_as(ident, count)) is not None}

    def _closure_rewrite(self, closure: _Closure, changed: frozenset[tuple[int, str | None]]) -> _Rewrite:
        """The closure's definitions rewritten with its hoisting as `changed` alters it (part → name, or None:
        not hoisted), and the bodies hoisted out of them: once per variant (most tools reaching a closure share
        one; Graph beta's 22,361 tools reach 62 closures, a few with several variants)."""
        found = closure.rewrites.get(changed)
        if found is None:
            hoist = dict(closure.hoist)
            for ident, name in changed:
                if name is None:
                    hoist.pop(ident, None)
                else:
                    hoist[ident] = name
            bodies: dict[str, Any] = {}
            recursive = {name: self._rewrite(self.defs[name], hoist, bodies) for name in sorted(closure.defs)}
            found = closure.rewrites[changed] = _Rewrite({**bodies, **recursive})
        return found

    def _names_in(self, body: Any, name: str, memo: dict[str, set[str]]) -> set[str]:
        """The `$defs` names `body` (the body of `name`, immutable) refers to, collected once into `memo`."""
        found = memo.get(name)
        if found is None:
            found = memo[name] = set()
            self._collect(body, found)
        return found

    # --- conversion -----------------------------------------------------------------------------

    def warn(self, uri: str, pointer: str, message: str) -> None:
        text = f"{self.resolver.label(uri)}#{pointer}: {message}"
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)

    def _def_name(self, key: str) -> str:
        name = self._def_names.get(key)
        if name is None:
            pointer = key.split("#", 1)[1]
            tokens = split(pointer) if pointer.startswith("/") else []
            base = _DEF_NAME.sub("_", tokens[-1] if tokens else "Schema").strip("_") or "Schema"
            name, n = base, 1
            while name in self._taken_names:
                n += 1
                name = f"{base}_{n}"
            self._taken_names.add(name)
            self._def_names[key] = name
        return name

    def _deref(self, node: Any, uri: str, ptr: str) -> tuple[Any, str, str]:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
            uri, ptr, node = self.resolver.resolve(node["$ref"], uri, ptr)
            seen += 1
        return node, uri, ptr

    def _flags_of(self, node: Any, uri: str, ptr: str, depth: int = 0) -> tuple[bool, bool]:
        """(readOnly, file) of a node, looking through `$ref`s and single-entry `allOf`s."""
        if not isinstance(node, dict) or depth > 16:
            return False, False
        read_only = node.get("readOnly") is True
        file = _is_file_node(node)
        if "$ref" in node and isinstance(node["$ref"], str) and not (read_only and file):
            t_uri, t_ptr, target = self.resolver.resolve(node["$ref"], uri, ptr)
            key = f"{t_uri}#{t_ptr}"
            flags = self._flags.get(key)
            if flags is None:
                self._flags[key] = (False, False)  # cycle guard
                flags = self._flags_of(target, t_uri, t_ptr, depth + 1)
                self._flags[key] = flags
            return read_only or flags[0], file or flags[1]
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            inner = self._flags_of(all_of[0], uri, join(ptr, "allOf", 0), depth + 1)
            return read_only or inner[0], file or inner[1]
        return read_only, file

    def _node(self, node: Any, uri: str, ptr: str, name: str | None) -> Any:
        if isinstance(node, bool):
            return {} if node else {"not": {}}
        if not isinstance(node, dict):
            if node is not None:
                self.warn(uri, ptr, "a schema must be an object; treated as any value")
            return {}
        if "$ref" in node:
            return self._ref(node, uri, ptr, name)
        if "$dynamicRef" in node:
            return self._ref(node, uri, ptr, name, "$dynamicRef")
        return self._object(node, uri, ptr, name)

    def _ref(self, node: dict[str, Any], uri: str, ptr: str, name: str | None, keyword: str = "$ref") -> Any:
        """A `$ref` (or a `$dynamicRef`, as its static case) and the keywords beside it."""
        if keyword == "$ref":
            resolved = self.resolver.resolve(node["$ref"], uri, join(ptr, "$ref"))
        else:
            resolved = self.resolver.resolve_dynamic(node[keyword], uri, join(ptr, keyword))
        if resolved is None:
            self.warn(uri, ptr, f"$dynamicRef {node[keyword]!r} names a $dynamicAnchor that several schemas "
                                "define, so its target depends on the schema evaluated; treated as any value")
            result: Any = {}
        else:
            result = self._target(*resolved, name)
        siblings = [k for k in node if k != keyword and not k.startswith("x-")]
        if not siblings:
            return result
        extra = {k: node[k] for k in siblings if k not in _ANNOTATION_ONLY}
        if extra and self.version == "3.1":
            converted_extra = self._object(extra, uri, ptr, name)
            if converted_extra:  # the target stays a `$ref` (to `$defs`): `mcprt diff` words its changes in its terms
                result = {"allOf": [self._named(resolved, result), converted_extra]}
        desc = arg_description(node.get("description"), self.policy)
        if desc:
            result = self.with_description(result, desc)
        if node.get("nullable") is True or node.get("x-nullable") is True:
            result = _nullable(result)
        return result

    def _named(self, resolved: tuple[str, str, Any] | None, converted: Any) -> Any:
        """A converted `$ref` target as a `{"$ref": "#/$defs/Name"}` (its body a `$defs` entry, as a recursive
        one's is), where it has keywords beside it: the reference then stays visible to `gitops.inline`, which
        reports a change of either part at the `$ref`'s own pointer in the referenced schema's fields."""
        if resolved is None or not isinstance(converted, dict) or "$ref" in converted:
            return converted
        def_name = self._def_name(f"{resolved[0]}#{resolved[1]}")
        self.defs.setdefault(def_name, converted)
        return {"$ref": _REF_PREFIX + def_name}

    def _target(self, t_uri: str, t_ptr: str, target: Any, name: str | None) -> Any:
        """The converted schema a reference names: memoized, a `$defs` entry when it is recursive."""
        key = f"{t_uri}#{t_ptr}"
        result = self._memo.get(key)
        if result is None:
            if key in self._in_progress:
                self._recursive.add(key)
                return {"$ref": _REF_PREFIX + self._def_name(key)}
            self._in_progress.add(key)
            try:
                hint = split(t_ptr)[-1] if t_ptr.startswith("/") else name
                converted = self._node(target, t_uri, t_ptr, hint)
            finally:
                self._in_progress.discard(key)
            if key in self._recursive:
                def_name = self._def_name(key)
                if converted == {"$ref": _REF_PREFIX + def_name}:
                    self.warn(t_uri, t_ptr, "schema refers only to itself; treated as any value")
                    converted = {}
                self.defs[def_name] = converted
                result = {"$ref": _REF_PREFIX + def_name}
            else:
                result = converted
                if isinstance(result, dict) and len(result) > 1:
                    self._shared[id(result)] = (key, result)
            self._memo[key] = result
        return result

    def _object(self, node: dict[str, Any], uri: str, ptr: str, name: str | None) -> dict[str, Any]:
        """One schema object, keyword group by group (the order fixes the output's key order)."""
        out: dict[str, Any] = {}
        file = _is_file_node(node)
        self._value_keywords(node, out, uri, ptr, file)
        self._array_keywords(node, out, uri, ptr)
        self._object_keywords(node, out, uri, ptr)
        self._applicator_keywords(node, out, uri, ptr)
        self._annotations(node, out, uri, ptr, name, file)
        out = _simplify_all_of(out)
        if node.get("nullable") is True or node.get("x-nullable") is True:
            out = _nullable(out)
        return out

    def _value_keywords(self, node: dict[str, Any], out: dict[str, Any], uri: str, ptr: str, file: bool) -> None:
        """type, const, enum, format and the numeric/string/content constraints."""
        raw_type = node.get("type")
        if isinstance(raw_type, str):
            if raw_type in TYPES:
                out["type"] = raw_type
            elif raw_type == "file":
                out["type"] = "string"
            else:
                self.warn(uri, ptr, f"unknown type {raw_type!r}; ignored")
        elif isinstance(raw_type, list):
            types = []
            for t in raw_type:
                t = "string" if t == "file" else t
                if isinstance(t, str) and t in TYPES and t not in types:
                    types.append(t)
            if types:
                out["type"] = types[0] if len(types) == 1 else types
        if "const" in node and self.version == "3.1":
            out["const"] = node["const"]
        enum = node.get("enum")
        if isinstance(enum, list) and enum:
            unique: list[Any] = []
            for value in enum:
                if value not in unique:
                    unique.append(value)
            out["enum"] = unique
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt and not file:
            out["format"] = fmt
        if not _BOUND_KEYS.isdisjoint(node):
            _bounds(node, out)
        pattern = node.get("pattern")
        if isinstance(pattern, str) and self._ecma_pattern(pattern, uri, join(ptr, "pattern")):
            out["pattern"] = pattern
        if isinstance(node.get("uniqueItems"), bool) and node["uniqueItems"]:
            out["uniqueItems"] = True
        if isinstance(node.get("contentEncoding"), str):
            out["contentEncoding"] = node["contentEncoding"]
        if isinstance(node.get("contentMediaType"), str) and not file:
            out["contentMediaType"] = node["contentMediaType"]

    def _ecma_pattern(self, pattern: str, uri: str, ptr: str) -> bool:
        """Whether a pattern may be emitted: JSON Schema patterns are ECMA-262, and JavaScript clients
        compile them with the `u` flag, so one that fails there would break the client's validator."""
        problem = ecma_error(pattern)
        if problem is not None:
            self.warn(uri, ptr, f"pattern {pattern!r} is not an ECMA-262 regular expression in Unicode mode "
                                f"({problem}); left out of the input schema")
        return problem is None

    def _array_keywords(self, node: dict[str, Any], out: dict[str, Any], uri: str, ptr: str) -> None:
        if "items" not in node and "prefixItems" not in node:
            return
        items = node.get("items")
        if isinstance(items, (dict, bool)):
            out["items"] = self._node(items, uri, join(ptr, "items"), None)
        elif isinstance(items, list):
            out["prefixItems"] = [self._node(s, uri, join(ptr, "items", i), None) for i, s in enumerate(items)]
        if isinstance(node.get("prefixItems"), list):
            out["prefixItems"] = [
                self._node(s, uri, join(ptr, "prefixItems", i), None) for i, s in enumerate(node["prefixItems"])
            ]

    def _object_keywords(self, node: dict[str, Any], out: dict[str, Any], uri: str, ptr: str) -> None:
        """properties (readOnly ones dropped, with their `required` entries), additional/pattern/dependent."""
        if _OBJECT_KEYS.isdisjoint(node):
            return
        props = node.get("properties")
        dropped: set[str] = set()
        if isinstance(props, dict):
            converted: dict[str, Any] = {}
            for prop, sub in props.items():
                sub_ptr = join(ptr, "properties", prop)
                if self._flags_of(sub, uri, sub_ptr)[0]:
                    dropped.add(prop)
                    continue
                converted[str(prop)] = self._node(sub, uri, sub_ptr, str(prop))
            out["properties"] = converted
        required = node.get("required")
        if isinstance(required, list):
            req = []
            for r in required:
                if isinstance(r, str) and r not in dropped and r not in req:
                    req.append(r)
            if req:
                out["required"] = req
        additional = node.get("additionalProperties")
        if isinstance(additional, bool):
            out["additionalProperties"] = additional
        elif isinstance(additional, dict):
            out["additionalProperties"] = self._node(additional, uri, join(ptr, "additionalProperties"), None)
        for key in ("patternProperties", "dependentSchemas"):
            value = node.get(key)
            if isinstance(value, dict):
                out[key] = {str(k): self._node(v, uri, join(ptr, key, k), None) for k, v in value.items()
                            if key != "patternProperties" or self._ecma_pattern(str(k), uri, join(ptr, key, k))}
        dep_req = node.get("dependentRequired")
        if isinstance(dep_req, dict):
            out["dependentRequired"] = {
                str(k): [x for x in v if isinstance(x, str)] for k, v in dep_req.items() if isinstance(v, list)
            }

    def _applicator_keywords(self, node: dict[str, Any], out: dict[str, Any], uri: str, ptr: str) -> None:
        """not/if/then/else-style sub-schemas, allOf/anyOf/oneOf lists, and the default."""
        if _APPLICATOR_KEYS.isdisjoint(node):
            return
        for key in _SUBSCHEMA:
            if isinstance(node.get(key), (dict, bool)):
                out[key] = self._node(node[key], uri, join(ptr, key), None)
        for key in _LISTS:
            value = node.get(key)
            if isinstance(value, list) and value:
                out[key] = [self._node(s, uri, join(ptr, key, i), None) for i, s in enumerate(value)]
        _discriminate(node, out, lambda ref: self._raw_target(ref, uri, ptr))
        if "default" in node and node["default"] is not None:
            out["default"] = node["default"]

    def _raw_target(self, ref: str, uri: str, ptr: str) -> Any:
        """The spec node `ref` (met under `uri`#`ptr`) names, or None when it does not resolve (then it is
        read as fixing nothing; the conversion reports a dangling `$ref` on its own)."""
        try:
            return self.resolver.resolve(ref, uri, ptr)[2]
        except SpecError:
            return None

    def _annotations(self, node: dict[str, Any], out: dict[str, Any], uri: str, ptr: str, name: str | None,
                     file: bool) -> None:
        """description (compacted), a title only where it adds something, unsupported-keyword warnings."""
        desc = arg_description(node.get("description"), self.policy)
        if file:
            desc = f"{as_sentence(desc)} {FILE_HINT}" if desc else FILE_HINT
        title = node.get("title")
        if title_adds(title, name, desc):
            out["title"] = title.strip()
        if desc:
            out["description"] = desc

    # --- per-tool assembly ----------------------------------------------------------------------

    def _size(self, ident: int) -> int:
        size = self._sizes.get(ident)
        if size is None:
            size = len(compact_json(self._shared[ident][1]))
            self._sizes[ident] = size
        return size

    def _count(self, obj: Any, counts: dict[int, int], names: set[str]) -> None:
        """How often each shared sub-schema occurs, and (as `_collect`) the `$defs` names referenced."""
        if isinstance(obj, dict):
            ident = id(obj)
            if ident in self._shared:
                counts[ident] = counts.get(ident, 0) + 1
                if counts[ident] > 1:
                    return  # its references were collected the first time
            ref = obj.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                names.add(ref[len(_REF_PREFIX):])
            for value in obj.values():
                if isinstance(value, (dict, list)):
                    self._count(value, counts, names)
        elif isinstance(obj, list):
            for value in obj:
                if isinstance(value, (dict, list)):
                    self._count(value, counts, names)

    def _rewrite(self, obj: Any, hoist: dict[int, str], bodies: dict[str, Any], root: bool = True) -> Any:
        if isinstance(obj, dict):
            name = hoist.get(id(obj))
            if name is not None and not root:
                if name not in bodies:
                    bodies[name] = obj  # placeholder against cycles, replaced below
                    bodies[name] = self._rewrite(obj, hoist, bodies, root=True)
                return {"$ref": _REF_PREFIX + name}
            changed = False
            out = {}
            for key, value in obj.items():
                new = self._rewrite(value, hoist, bodies, False) if isinstance(value, (dict, list)) else value
                changed = changed or new is not value
                out[key] = new
            return out if changed else obj
        if isinstance(obj, list):
            new_list = [self._rewrite(v, hoist, bodies, False) if isinstance(v, (dict, list)) else v for v in obj]
            return new_list if any(a is not b for a, b in zip(new_list, obj, strict=True)) else obj
        return obj

    def _collect(self, obj: Any, names: set[str]) -> None:
        if isinstance(obj, dict):
            ref = obj.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                names.add(ref[len(_REF_PREFIX):])
            for value in obj.values():
                if isinstance(value, (dict, list)):
                    self._collect(value, names)
        elif isinstance(obj, list):
            for value in obj:
                if isinstance(value, (dict, list)):
                    self._collect(value, names)


def _is_file_node(node: dict[str, Any]) -> bool:
    t = node.get("type")
    if t == "file" or (isinstance(t, list) and "file" in t):
        return True
    if node.get("format") == "binary" and (t == "string" or t is None or (isinstance(t, list) and "string" in t)):
        return True
    return (
        isinstance(node.get("contentMediaType"), str)
        and "contentEncoding" not in node
        and not node["contentMediaType"].startswith(("text/", "application/json"))
        and t in ("string", None)
    )


def _nullable(schema: Any) -> Any:
    if not isinstance(schema, dict) or not schema:
        return schema
    if "type" in schema:
        t = schema["type"]
        types = list(t) if isinstance(t, list) else [t]
        if "null" in types:
            return schema
        out = {**schema, "type": types + ["null"]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            if any(isinstance(s, dict) and s.get("type") == "null" for s in schema[key]):
                return schema
            return {**schema, key: [*schema[key], {"type": "null"}]}
    if "$ref" in schema or "allOf" in schema:
        wrapped = {k: v for k, v in schema.items() if k != "description"}
        out: dict[str, Any] = {"anyOf": [wrapped, {"type": "null"}]}
        if "description" in schema:
            out["description"] = schema["description"]
        return out
    return schema


def _discriminate(node: dict[str, Any], out: dict[str, Any], resolve: Resolve) -> None:
    """Keep a `oneOf`/`anyOf`'s `discriminator` (OpenAPI 3.1 §4.8.25) in the inline form the compiled schema
    has: the branches are converted in place (their `$ref`s are gone), so each branch's tag values — its
    `mapping` keys, else (the implicit mapping) its component's name — are written on it as a `const` or
    `enum` of the property, and `discriminator` keeps `propertyName` alone. A client can then validate the
    union without two branches both matching, and a refused argument names the branch its tag picks
    (`toolset.argument_errors`). A branch that already fixes the property — itself or in an `allOf` part
    (inheritance: `Cat: allOf[$ref Pet, {petType: enum [cat]}]`), `resolve` following the spec's `$ref`s —
    is left as it is (a `const` beside it could contradict it: no value would match). When some branch's
    values cannot be told (an inline branch: a bundled spec's mapping names files it no longer has), two
    branches share one, or the mapping contradicts what a branch fixes, the union is left as converted and
    `discriminator` out
    (`schema.shapes.branch_tags`). The branches are copies (converted schemas are shared)."""
    discriminator = node.get("discriminator")
    name = discriminator.get("propertyName") if isinstance(discriminator, dict) else None
    key = next((k for k in ("oneOf", "anyOf") if isinstance(out.get(k), list)), None)
    if not isinstance(name, str) or not name or key is None or not isinstance(node.get(key), list):
        return
    mapping = discriminator.get("mapping") if isinstance(discriminator.get("mapping"), dict) else {}
    branches = []
    seen: list[Any] = []
    for raw, branch in zip(node[key], out[key]):
        tags = branch_tags(raw, name, mapping, resolve)
        # no tag, or one another branch has too (all inheriting one `enum`): it would tell nothing, at a cost in bytes
        if tags is None or not tags[0] or any(value in seen for value in tags[0]):
            return
        values, fixed = tags
        seen.extend(values)
        branches.append(branch if fixed else _tagged(branch, name, values))
    out[key] = branches
    out["discriminator"] = {"propertyName": name}


def _tagged(branch: Any, name: str, values: list[Any]) -> Any:
    """`branch` (which does not fix it) with property `name` fixed to `values`."""
    if not isinstance(branch, dict):
        return branch
    properties = branch.get("properties")
    current = properties.get(name) if isinstance(properties, dict) else None
    fixed = {"const": values[0]} if len(values) == 1 else {"enum": values}
    if "$ref" in branch or not (branch.get("type") == "object" or isinstance(properties, dict)):
        return {"allOf": [branch], "properties": {name: fixed}}  # a recursive `$defs` body stays shared
    return {**branch, "properties": {**(properties or {}), name: {**(current or {}), **fixed}}}


def _simplify_all_of(out: dict[str, Any]) -> dict[str, Any]:
    """`{allOf: [X], description}` → X with that description (a common generator pattern)."""
    all_of = out.get("allOf")
    if not (isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict)):
        return out
    others = {k for k in out if k != "allOf"}
    if not others <= {"description", "title", "default"}:
        return out
    inner = all_of[0]
    if not others:
        return inner
    merged = dict(inner)
    for key in others:
        merged[key] = out[key]
    return merged

