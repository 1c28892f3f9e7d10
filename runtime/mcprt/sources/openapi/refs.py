"""JSON pointers and `$ref` resolution across one or more documents.

A reference is resolved relative to the document that contains it: `#/components/schemas/Pet`
stays in that document, `common.yaml#/Pet` or `https://…/x.json` loads (once) another document
through the LoadedDocument. Every node is addressed as (document URI, JSON pointer), which is what
error messages show and what converted schemas are memoized by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin

from mcprt.errors import SpecError

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


class Resolver:
    """Resolves `$ref` strings to (uri, pointer, node), loading external documents lazily."""

    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        # (ref, base URI) → resolved: big descriptions repeat the same `$ref`s thousands of times
        # (GitHub: 5,377 resolutions of ~1,100 distinct references).
        self._resolved: dict[tuple[str, str], tuple[str, str, Any]] = {}

    def label(self, uri: str) -> str:
        """How a document is named in messages: as the user wrote it for the root document."""
        return self.doc.label_for(uri)

    def resolve(self, ref: object, base_uri: str, where: str) -> tuple[str, str, Any]:
        """Resolve `ref` found at `where` (a pointer in `base_uri`); SpecError if it dangles."""
        if not isinstance(ref, str):
            raise SpecError(self.label(base_uri), where, f"$ref must be a string, got {type(ref).__name__}")
        known = self._resolved.get((ref, base_uri))
        if known is not None:
            return known
        target, fragment = urldefrag(urljoin(base_uri, ref)) if not ref.startswith("#") else (base_uri, ref[1:])
        target = target or base_uri
        pointer = unquote(fragment)
        if pointer and not pointer.startswith("/"):
            raise SpecError(
                self.label(base_uri), where, f"$ref '{ref}' uses a plain-name fragment, which is not supported"
            )
        data = self.doc.document_at(target, referrer=(base_uri, where))
        try:
            resolved = self._resolved[(ref, base_uri)] = (target, pointer, walk(data, pointer))
            return resolved
        except (KeyError, IndexError, ValueError):
            if target == self.doc.uri and self.doc.untrim(pointer):
                return self.resolve(ref, base_uri, where)
            raise SpecError(self.label(base_uri), where, f"$ref '{ref}' does not resolve") from None

    def deref(self, node: Any, base_uri: str, where: str, limit: int = 64) -> tuple[Any, str, str]:
        """Follow a chain of `$ref`s (not for schemas): the final node, its URI and pointer."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            seen += 1
            if seen > limit:
                raise SpecError(self.label(base_uri), where, "$ref chain is circular")
            base_uri, where, node = self.resolve(node["$ref"], base_uri, join(where, "$ref"))
        return node, base_uri, where
