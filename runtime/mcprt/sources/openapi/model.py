"""The one internal model both OpenAPI 3.x and Swagger 2.0 are read into.

Schemas stay where they are in the document (a node plus its URI and pointer) and are converted
lazily and memoized, so reading all operations of a large document is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcprt.errors import SpecError

Location = str  # "path" | "query" | "header" | "cookie"


@dataclass(slots=True)
class SchemaRef:
    """A schema node in place: the node, the document it lives in and its JSON pointer."""

    node: Any
    uri: str
    pointer: str


@dataclass(slots=True)
class ParamSpec:
    """One operation parameter as the document declares it (OpenAPI 3 Parameter Object; Swagger 2 mapped to it)."""

    name: str
    location: Location
    required: bool
    schema: SchemaRef | None
    description: str | None = None
    style: str = "form"
    explode: bool = True
    allow_reserved: bool = False
    content_type: str | None = None  # parameter given with `content` instead of `schema`
    deprecated: bool = False
    delimiter: str | None = None  # Swagger 2 `tsv` and friends


@dataclass(slots=True)
class PropertyEncoding:
    """How one property of a form or multipart body is written (OpenAPI `encoding`)."""

    content_type: str | None = None
    style: str = "form"
    explode: bool = True
    allow_reserved: bool = False
    styled: bool = False  # the Encoding Object sets `style` or `explode`: an object property follows them


@dataclass(slots=True)
class BodySpec:
    """One request body media type as declared (OpenAPI 3 Request Body / Media Type Object)."""

    media_type: str  # as declared (may be a wildcard)
    required: bool
    schema: SchemaRef | None
    description: str | None = None
    encoding: dict[str, PropertyEncoding] = field(default_factory=dict)


@dataclass(slots=True)
class ServerSpec:
    """A Server Object: its URL template, variables, and where in which document it is."""

    url: str
    variables: dict[str, Any]
    uri: str  # document the server object is in (relative server URLs resolve against it)
    pointer: str


@dataclass(slots=True)
class OperationSpec:
    """One operation as read from the document, before it becomes a tool."""

    method: str  # upper case
    path: str
    pointer: str
    uri: str
    operation_id: str | None
    summary: str | None
    description: str | None
    tags: list[str]
    deprecated: bool
    params: list[ParamSpec]
    body: BodySpec | None
    servers: list[ServerSpec] | None  # None: the document's
    security: list[dict[str, Any]] | None  # None: the document's
    response_types: list[str] = field(default_factory=list)  # what `Accept` offers
    # documented media types per success status code (`"200"`, `"2XX"`, `"default"`): the answer check's
    answer_types: dict[str, list[str]] = field(default_factory=dict)
    response_schema: SchemaRef | None = None  # the JSON schema of the success response, if any
    default_schema: SchemaRef | None = None  # the `default` response's JSON schema (usually errors)
    # what reading this operation warned about (a parameter `$ref` that does not resolve, …): reported only
    # when the source's `include`/`exclude` serve it, so problems of left-out operations hide no real ones
    warnings: list[str] = field(default_factory=list)
    skipped: list[SpecError] = field(default_factory=list)  # its elements left out (a parameter), with warnings


@dataclass
class UnreadOperation:
    """An operation skipped while reading (its warnings say why): what `include`/`exclude` can match of it."""

    method: str  # upper case
    path: str
    operation_id: str | None
    tags: list[str]
    warnings: list[str]
    skipped: list[SpecError]  # why it could not be read, and any element of it skipped before that


def unique_keys(operations: list[tuple[str | None, str, str]]) -> list[str]:
    """A key naming each of `operations` ((operationId, METHOD, path), in document order) alone: the operationId,
    else `METHOD /path`, which is also the key of an operation whose operationId an earlier one already uses.
    Descriptions do repeat operationIds (the compiler warns); a manifest's `tools:` cannot repeat a YAML key,
    and `METHOD /path` always names one operation (README, Names)."""
    seen: set[str] = set()
    keys = []
    for operation_id, method, path in operations:
        key = operation_id if operation_id and operation_id not in seen else f"{method} {path}"
        seen.add(key)
        keys.append(key)
    return keys
