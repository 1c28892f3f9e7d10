"""JSON pointers and `$ref` resolution across one or more documents.

A reference is resolved relative to the document that contains it: `#/components/schemas/Pet`
stays in that document, `common.yaml#/Pet` or `https://…/x.json` loads (once) another document
through the LoadedDocument. Every node is addressed as (document URI, JSON pointer), which is what
error messages show and what converted schemas are memoized by.

OpenAPI 3.1 schemas are JSON Schema 2020-12, whose references may also name a schema by
- a plain-name fragment, `#Pet`, defined by `$anchor: Pet` or `$dynamicAnchor: Pet` (§8.2.2);
- the URI a `$id` gives it (§8.2.1), `https://example.com/pet.json`, when that `$id` is in a
  document already read; a `$id` also is the base URI against which the references inside its
  schema resolve (`#/$defs/Tag` there means that resource's `$defs`).
Both resolve to the (document URI, pointer) of the schema they name, so memoizing and recursion
detection work on them unchanged. What no in-document `$id` names is loaded as before: relative to
where the containing document was read (a local split description whose files carry `$id`s of
where they will be published keeps working offline). `$dynamicRef` is resolved as its static
case (`resolve_dynamic`) where that is what it means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin

from mcprt.errors import SpecError, closest

if TYPE_CHECKING:
    from .loader import LoadedDocument


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: object) -> str:
    # Called for nearly every node of a large description: a plain loop with the escape skipped
    # when there is nothing to escape runs in less than half the time of a joined generator.
    for token in tokens:
        text = token if type(token) is str else str(token)
        if "~" in text or "/" in text:
            text = escape(text)
        pointer = f"{pointer}/{text}"
    return pointer


def split(pointer: str) -> list[str]:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(pointer)
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def walk(data: Any, pointer: str) -> Any:
    """The node at `pointer`; KeyError/IndexError/ValueError when it does not exist."""
    node = data
    for token in split(pointer):
        if isinstance(node, dict):
            node = node[token]
        elif isinstance(node, list):
            node = node[int(token)]
        else:
            raise KeyError(token)
    return node


def _near_miss(data: Any, pointer: str, ref: str) -> str:
    """` (did you mean '#/components/schemas/Item'?)` when `pointer` fails at a member whose name is
    close to one its parent has (`Itme`); else ""."""
    node, tokens = data, split(pointer)
    for index, token in enumerate(tokens):
        if isinstance(node, dict) and token in node:
            node = node[token]
            continue
        if not isinstance(node, dict):
            return ""
        close = closest(token, [k for k in node if isinstance(k, str)])
        if close is None:
            return ""
        head = ref.partition("#")[0]
        return f" (did you mean '{head}#{join(''.join('/' + escape(t) for t in tokens[:index]), close)}'?)"
    return ""


# Keys whose values are instance data, not schemas (an `example` may hold a `"$id"` string), and
# keys whose values map names to schemas (a property may be called `$id`).
_DATA_KEYS = frozenset({"example", "examples", "default", "const", "enum", "links"})
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "schemas"})
# Extensions at the document's root that hold schemas as OpenAPI 3.1 `webhooks` does (§4.8.1): 3.0
# descriptions wrote webhooks as `x-webhooks` (Redoc's extension) before 3.1 named the section. Other
# `x-` members are vendor data, not read for names.
SCHEMA_EXTENSIONS = frozenset({"x-webhooks"})


@dataclass(slots=True)
class _Names:
    """The schema resources and anchors of one document (JSON Schema 2020-12 §8.2)."""

    root: str  # the base URI of the document's root: its `$id`, else where it was read
    bases: dict[str, str] = field(default_factory=dict)  # pointer of a schema with `$id` → its URI


def _scan(data: Any, uri: str) -> tuple[_Names, dict[str, str], dict[tuple[str, str], tuple[str, bool]]]:
    """(names, resources: `$id` URI → pointer, anchors: (resource URI, name) → (pointer, dynamic))."""
    names = _Names(uri)
    resources: dict[str, str] = {}
    anchors: dict[tuple[str, str], tuple[str, bool]] = {}
    stack: list[tuple[Any, str, str, bool]] = [(data, "", uri, False)] if isinstance(data, (dict, list)) else []
    while stack:
        node, pointer, base, name_map = stack.pop()
        if isinstance(node, list):
            stack.extend((v, join(pointer, i), base, False) for i, v in enumerate(node) if isinstance(v, (dict, list)))
            continue
        if not name_map:
            ident = node.get("$id")
            if isinstance(ident, str) and ident.startswith("#") and len(ident) > 1:
                anchors.setdefault((base, unquote(ident[1:])), (pointer, False))  # draft 6/7: `$id: "#name"`
            elif isinstance(ident, str):
                base = urldefrag(urljoin(base, ident))[0]
                names.bases[pointer] = base
                resources.setdefault(base, pointer)
                if not pointer:
                    names.root = base
            for keyword, dynamic in (("$anchor", False), ("$dynamicAnchor", True)):
                anchor = node.get(keyword)
                if isinstance(anchor, str) and anchor:
                    anchors.setdefault((base, anchor), (pointer, dynamic))
        for key, value in node.items():
            if isinstance(value, (dict, list)) and (name_map or not (key in _DATA_KEYS or key.startswith("x-"))
                                                    or (not pointer and key in SCHEMA_EXTENSIONS)):
                stack.append((value, join(pointer, key), base, not name_map and key in _NAME_MAPS))
    return names, resources, anchors


class Resolver:
    """Resolves `$ref` strings to (uri, pointer, node), loading external documents lazily."""

    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        # (ref, base URI, scope) → resolved: big descriptions repeat the same `$ref`s thousands of times
        # (GitHub: 5,377 resolutions of ~1,100 distinct references).
        self._resolved: dict[tuple[str, str, str], tuple[str, str, Any]] = {}
        self._names: dict[str, _Names] = {}  # document URI → its `$id`s, once read
        self._resources: dict[str, tuple[str, str]] = {}  # `$id` URI → (document URI, pointer)
        self._anchors: dict[tuple[str, str], tuple[str, str]] = {}  # (resource, name) → (doc, pointer)
        self._dynamic: dict[str, int] = {}  # `$dynamicAnchor` name → how many resources define it

    def label(self, uri: str) -> str:
        """How a document is named in messages: as the user wrote it for the root document."""
        return self.doc.label_for(uri)

    def resolve(self, ref: object, base_uri: str, where: str) -> tuple[str, str, Any]:
        """Resolve `ref` found at `where` (a pointer in `base_uri`); SpecError if it dangles."""
        if not isinstance(ref, str):
            raise SpecError(self.label(base_uri), where, f"$ref must be a string, got {type(ref).__name__}")
        scope = self._scope(base_uri, where)
        known = self._resolved.get((ref, base_uri, scope))
        if known is not None:
            return known
        resolved = self._resolved[(ref, base_uri, scope)] = self._locate(ref, base_uri, scope, where)
        return resolved

    def resolve_dynamic(self, ref: object, base_uri: str, where: str) -> tuple[str, str, Any] | None:
        """A `$dynamicRef` resolved as its static case: like `$ref`, unless it names a `$dynamicAnchor`
        that several schema resources define (then the schema evaluated decides, 2020-12 §8.2.3.2: None)."""
        resolved = self.resolve(ref, base_uri, where)
        assert isinstance(ref, str)
        name = unquote(ref.partition("#")[2])
        node = resolved[2]
        if name and isinstance(node, dict) and node.get("$dynamicAnchor") == name and self._dynamic.get(name, 0) > 1:
            return None
        return resolved

    def deref(self, node: Any, base_uri: str, where: str, limit: int = 64) -> tuple[Any, str, str]:
        """Follow a chain of `$ref`s (not for schemas): the final node, its URI and pointer."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            seen += 1
            if seen > limit:
                raise SpecError(self.label(base_uri), where, "$ref chain is circular")
            base_uri, where, node = self.resolve(node["$ref"], base_uri, join(where, "$ref"))
        return node, base_uri, where

    # --- finding what a reference names -------------------------------------------------------------

    def _locate(self, ref: str, base_uri: str, scope: str, where: str) -> tuple[str, str, Any]:
        if ref.startswith("#"):
            resource, fragment = scope, ref[1:]
        else:
            resource, fragment = urldefrag(urljoin(scope, ref))
            resource = resource or scope
        fragment = unquote(fragment)
        place = self._place(resource)
        if place is None:  # named by no `$id` read so far: a document, found from where this one was read
            resource = urldefrag(urljoin(base_uri, ref))[0] or base_uri
            self.doc.document_at(resource, referrer=(base_uri, where))
            self._names_of(resource)
            place = (resource, "")
        doc_uri, root = place
        if fragment and not fragment.startswith("/"):
            found = self._anchor(resource, doc_uri, fragment)
            if found is None:
                raise SpecError(self.label(base_uri), where, f"$ref '{ref}' does not resolve: no $anchor or "
                                f"$dynamicAnchor '{fragment}' in {self._resource_label(resource, doc_uri)}")
            doc_uri, pointer = found
            return doc_uri, pointer, walk(self.doc.document_at(doc_uri), pointer)
        pointer = root + fragment
        try:
            return doc_uri, pointer, walk(self.doc.document_at(doc_uri, referrer=(base_uri, where)), pointer)
        except (KeyError, IndexError, ValueError):
            if root and ref.startswith("#/"):
                # A pointer inside a schema with its own `$id` that only makes sense from the document's
                # root (`#/components/schemas/…`): a common way of writing it, and what mcprt read before.
                return self._locate(ref, base_uri, base_uri, where)
            if doc_uri == self.doc.uri and self.doc.untrim(pointer):
                return self._locate(ref, base_uri, scope, where)
            raise SpecError(self.label(base_uri), where, f"$ref '{ref}' does not resolve"
                            + ("" if root else _near_miss(self.doc.document_at(doc_uri), pointer, ref))) from None

    def _scope(self, uri: str, where: str) -> str:
        """The base URI at `where`: the innermost enclosing `$id`, else the document's (2020-12 §8.2.1)."""
        names = self._names_of(uri)
        if not names.bases:
            return uri
        pointer = where
        while pointer:
            found = names.bases.get(pointer)
            if found is not None:
                return found
            pointer = pointer[:pointer.rfind("/")]
        return names.root

    def _place(self, resource: str) -> tuple[str, str] | None:
        """(document URI, pointer) of the schema resource with this URI, when one was read."""
        self._names_of(self.doc.uri)  # the root's `$id`s first (read once); it is then in `_names` too
        if resource in self._names:
            return resource, ""
        return self._resources.get(resource)

    def _anchor(self, resource: str, doc_uri: str, name: str) -> tuple[str, str] | None:
        found = self._anchors.get((resource, name))
        if found is None and resource == doc_uri:  # the document by where it was read, its root by its `$id`
            found = self._anchors.get((self._names_of(doc_uri).root, name))
        return found

    def _resource_label(self, resource: str, doc_uri: str) -> str:
        return self.label(doc_uri) if resource == doc_uri else resource

    def _names_of(self, uri: str) -> _Names:
        """The `$id`s and anchors of a document, read once (and only if its text has any)."""
        names = self._names.get(uri)
        if names is not None:
            return names
        if not self.doc.names_resources(uri):
            names = self._names[uri] = _Names(uri)
            return names
        self.doc.untrim_for_names(uri)  # schemas under `webhooks` have names too
        names, resources, anchors = _scan(self.doc.document_at(uri), uri)
        self._names[uri] = names
        for resource, pointer in resources.items():
            self._resources.setdefault(resource, (uri, pointer))
        for key, (pointer, dynamic) in anchors.items():
            if key not in self._anchors:
                self._anchors[key] = (uri, pointer)
                if dynamic:
                    self._dynamic[key[1]] = self._dynamic.get(key[1], 0) + 1
        return names
