"""What an API description says about the fields people use, beyond the response schema: hints for suggested prunes.

An operation's own parameters name the fields its callers care about (`suggest.py` ranks them first):

- *filters*: the names of its query parameters and the values of their enums (GitHub's issue list takes
  `state`, `labels`, `since`, `sort=created|updated|comments`: an issue's `state`, `labels`, `updated_at`,
  `comments` are what people look at);
- *keys*: the path parameter by which the API addresses one item — the last `{param}` of a sibling operation
  one segment below a list (`/repos/{owner}/{repo}/issues/{issue_number}` beside `…/issues`), or of the
  operation itself when it reads one item (`issue_number` names an issue's `number`, `droplet_id` a droplet's `id`);
- *words*: the words of its summary and description;
- *given*: its parent path parameters and required query parameters — values the caller passed, which
  every item of its result repeats (`site_id` in `/sites/{site_id}/deploys`).

And the whole document's: *vocabulary*, every parameter and request-body field name (what the API
takes back), and *addresses*, every path parameter name (`{droplet_id}`: a droplet's `id` is a key).

Field names are matched loosely (`named_by`, `key_field`): case and `_`/`-` ignored, a key's resource
prefix dropped (`issue_number` → `number`), a time, count or plural suffix ignored (`updated` →
`updated_at`). Paths are compared without version segments (`/v6/deployments` beside
`/v13/deployments/{id}`). An operation documenting a 4xx/5xx response gets no `default` shape: its errors
come by status, not in a success body. Only what the document says is read: never recorded responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..sources.openapi.loader import LoadedDocument
from ..sources.openapi.model import unique_keys
from ..sources.openapi.reader import read_document
from ..sources.openapi.refs import Resolver
from ..sources.openapi.responses import ResponseShapes, annotated_shapes

_SEGMENT_PARAM = re.compile(r"^{([^{}]+)}$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]+")


@dataclass(frozen=True)
class Hints:
    """An operation's parameters and words (the module docstring); names `norm`alized unless said otherwise."""

    filters: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()  # path parameter names as written
    words: frozenset[str] = frozenset()
    vocabulary: frozenset[str] = frozenset()  # every parameter and request-body field name of the document
    addresses: frozenset[str] = frozenset()  # every path parameter name of the document, as written
    # the operation's parent path parameters and required query parameters (the caller knows their values)
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OperationSignals:
    """Per operation: its annotated success and `default` response shapes, and its `Hints`."""

    success: dict[str, Any] | None
    default: dict[str, Any] | None
    hints: Hints = field(default_factory=Hints)


def operation_signals(doc: LoadedDocument) -> dict[str, OperationSignals]:
    """Per operation key (`unique_keys`: operationId, else `METHOD /path`): its shapes and hints."""
    shapes = annotated_shapes(doc)
    resolver = Resolver(doc)
    model = read_document(resolver)
    below: dict[str, set[str]] = {}  # a path → the params addressing one item one segment below it
    vocabulary: set[str] = set()
    addresses: set[str] = set()
    bodies = ResponseShapes(resolver, model.version)
    for op in model.operations:
        parent, _, last = _unversioned(op.path).rpartition("/")
        match = _SEGMENT_PARAM.match(last)
        if match:
            below.setdefault(parent, set()).add(match.group(1))
        vocabulary |= {norm(p.name) for p in op.params}
        addresses |= {p.name for p in op.params if p.location == "path"}
        if op.body is not None:
            body = bodies.convert(op.body.schema)
            vocabulary |= {norm(n) for n in ((body or {}).get("properties") or {})}
    vocab, addressed = frozenset(vocabulary), frozenset(addresses)
    found: dict[str, OperationSignals] = {}
    for op, key in zip(model.operations, unique_keys([(o.operation_id, o.method, o.path) for o in model.operations]),
                       strict=True):
        success, default = shapes.get(key, (None, None))
        if _errors_by_status(resolver, op):  # the `default` is an error sent with an error status
            default = None
        filters: set[str] = set()
        for param in op.params:
            if param.location != "query":
                continue
            filters.add(norm(param.name))
            node = param.schema.node if param.schema is not None else None
            for value in _enum(node):
                filters.add(norm(value))
        own = _SEGMENT_PARAM.match(op.path.rstrip("/").rpartition("/")[2])
        keys = set(below.get(_unversioned(op.path), ())) | ({own.group(1)} if own else set())
        last = own.group(1) if own else None  # the result's own address: not a parent's
        given = frozenset(norm(p.name) for p in op.params if p.name != last and (
            p.location == "path" or (p.location == "query" and p.required)))
        text = f"{op.summary or ''} {op.description or ''}"
        said = frozenset(norm(w) for w in _WORD.findall(text))
        found[key] = OperationSignals(success, default,
                                      Hints(frozenset(filters), frozenset(keys), said, vocab, addressed, given))
    return found


def _errors_by_status(resolver: Resolver, op: Any) -> bool:
    """Whether the operation documents a 4xx/5xx response (`4XX` too, OpenAPI 3.1 §4.8.16.2): its API
    reports errors by status code, so its `default` response is not a body a success can carry."""
    try:
        _, _, node = resolver.resolve("#" + op.pointer, op.uri, op.pointer)
        responses, _, _ = resolver.deref(node.get("responses"), op.uri, op.pointer)
    except Exception:  # noqa: BLE001 — unreadable: nothing proven, the default is kept
        return False
    return isinstance(responses, dict) and any(str(code)[:1] in "45" for code in responses)


def _unversioned(path: str) -> str:
    """A path without its trailing `/` and version segments (`/v13/deployments/{id}` → `/deployments/{id}`)."""
    return re.sub(r"/v\d+(?=/|$)", "", path.rstrip("/"))


def _enum(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    values = node.get("enum")
    if not isinstance(values, list) and isinstance(node.get("items"), dict):
        values = node["items"].get("enum")
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def words(name: str) -> list[str]:
    """A name's words, lower case (`error_message` and `errorMessage` → error, message)."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)] or [name.lower()]


def norm(name: str) -> str:
    """A name compared loosely: lower case, without `_`, `-`, `.` or spaces."""
    return re.sub(r"[_\-. ]", "", name.lower())


_SUFFIXES = ("at", "on", "time", "date", "timestamp", "count", "s")


def stems(name: str) -> set[str]:
    """The loose forms of a field name: itself, and without a time, count or plural suffix."""
    base = norm(name)
    found = {base}
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix) + 2:
            found.add(base[: -len(suffix)])
    return found


def named_by(name: str, names: frozenset[str]) -> bool:
    """Whether a field `name` is one the parameters name (`updated` names `updated_at`, `labels` names `labels`)."""
    return bool(names) and any(s in names or s + "s" in names for s in stems(name))


def key_field(props: list[str], keys: frozenset[str]) -> str | None:
    """The field of a record an addressing path parameter names: the same name, or the name after a resource
    prefix (`issue_number` → `number`, `droplet_id` → `id`, `projectId` → `id`)."""
    by_norm = {norm(p): p for p in props}
    for key in sorted(keys):
        parts = words(key)
        if "or" in parts:  # alternatives (`idOrUrl`): no one field
            continue
        for start in range(len(parts)):
            found = by_norm.get("".join(parts[start:]))
            if found is not None:
                return found
    return None
