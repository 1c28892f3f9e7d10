"""The contract between sources and the compiled tool set: the shared types at the bottom of mcprt.

This module imports nothing from mcprt at run time (the `Principal` annotation is for type checkers
only), so every layer — sources, the HTTP executor, shaping, the tool set, discovery, the server —
can use these types without an upward import.

A source (OpenAPI document, Python entry point, MCP server) turns its input into `Operation`s:
callable things with a proposed name and an input schema. The tool set applies the manifest's
overrides (rename, describe, hide/fix args, prune, output) on top, identically for every source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # identity.principal imports nothing from mcprt either; only type checkers read this
    from .identity.principal import Principal

ResultKind = Literal["json", "text", "binary", "content"]


CLIENT_ANSWER_SECONDS = 600.0
"""s a client may take to answer a proxied server's sampling or elicitation (a person may be answering): the
relay's bound for a handshake-era client (sources/mcp/relay.py) and, as one rule, how long a 2026-07-28 client's
round keeps its state (server/roundtrip.py), so neither cuts a question short that the other still waits for."""


class RelayError(Exception):
    """The calling client cannot be asked (no back channel, no such capability); `code` is JSON-RPC's."""

    def __init__(self, message: str, code: int = -32600) -> None:
        super().__init__(message)
        self.code = code


class ClientPeer(Protocol):
    """The client that made a call, for what a proxied server sends it during that call.

    `request` relays a server→client request (`sampling/createMessage`, `elicitation/create`,
    `roots/list`) on the same session and returns the client's result (wire format), raising
    `RelayError` when the client cannot be reached; `log` relays a `notifications/message`
    (params, wire format) if the client's protocol version lets it through (handshake era: its
    `logging/setLevel`; 2026-07-28: the level the request's `_meta` asked for, `server.offers.send_log`). A peer may also have
    `awaiting_client` (true while questions it relayed are out with the client; default false),
    `principal` (who called; None: unknown) and `completions` (the client session's
    `ElicitationCompletions`, where its era has `notifications/elicitation/complete`; absent or None
    otherwise).
    """

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]: ...

    async def log(self, params: dict[str, Any]) -> None: ...


class ElicitationCompletions(Protocol):
    """One client session's channel for `notifications/elicitation/complete` (MCP 2025-11-25,
    client/elicitation "Completion Notifications for URL Mode Elicitation": sent only to the client that
    was asked, naming the `elicitationId` that client was given). A 2026-07-28 client has none (that era
    removed the notification and the id).

    `session`: the session's identity (hashable; equal for every call of one session); `on_end(callback)`
    has `callback()` run once when the session ends, False (nothing registered) when it has ended
    already; `complete(elicitation_id)` sends the notification on the session, not on a call's stream
    (it may come after the call ended).
    """

    @property
    def session(self) -> object: ...

    def on_end(self, callback: Callable[[], Any]) -> bool: ...

    async def complete(self, elicitation_id: str) -> None: ...


@dataclass(slots=True)
class SoleClientSlot:
    """mcprt's one client when it is served over stdio, as the sources see it (one per runtime).

    `peer`: the addressee of what a proxied server sends outside any call (a `roots/list` after its
    handshake, a log message between calls); None over HTTP, and until a handshake-era client's
    `notifications/initialized` arrives. `roots_changes`: how many times that client's roots changed
    (or became known); a source that was (re)starting when it changed tells its server
    `notifications/roots/list_changed` once connected (MCP 2025-11-25 client/roots "Root List Changes").
    """

    peer: ClientPeer | None = None
    roots_changes: int = 0


@dataclass(slots=True)
class CallContext:
    """What an invoker may know about the call it serves."""

    tool: str  # exposed tool name
    timeout: float  # seconds for the whole upstream exchange
    max_response_bytes: int  # upstream bodies larger than this are cut while streaming
    request_id: str | None = None
    progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None
    principal: Principal | None = None  # who calls (None: unknown, e.g. a CLI one-shot call)
    session_id: str | None = None  # the MCP session (`Mcp-Session-Id`), where there is one
    peer: ClientPeer | None = None  # the calling client, for relayed requests (None: no client, e.g. the CLI)
    # mcprt's id of the call (`observability.events.new_call_id`): the audit records of its policy decisions
    # and of the call itself carry it (`call`), so each decision is joined to the call it decided
    call_id: str | None = None
    # The tool declares an outputSchema (MCP 2025-11-25 §server/tools "Output Schema"): a source that can
    # check its result against its own response type does so only then (`output_schema: false` turns it off).
    output_declared: bool = False
    # Arguments the manifest hides from the model (`args: {x: {hidden: true}}` or `fixed`): a source that
    # tells the model how to go on (a next page) never does so with one of these, which it could not set.
    hidden_arguments: frozenset[str] = frozenset()
    # Set by a relay (discovery's `call_tool`) once it starts its target's call: from then on the target's own
    # call line and event count the call, so the relay's event is `relayed` however the relay ends (a client's
    # cancel included), and a call is never counted twice (`observability.events.CallEvent.relayed`).
    relay_reached: bool = False
    # Set by a source when the call ended before it started: cancelled (by its client, its session ending, a stop's
    # drain) while it waited in mcprt's own queue (a sync Python tool's lane: `sources.python.lanes.Ticket.never_ran`),
    # or ended before anything was sent (a proxied MCP server down or its session being renewed: `McpServerSource.call`).
    # It never reached its upstream, so what the policy took for it is given back (`toolset.invoke.call_tool`).
    never_started: bool = False
    # The client's request `_meta` as it sent it (None: none): a proxied MCP server gets its vendor keys
    # (sources/mcp/request_meta.py says which)
    meta: Mapping[str, Any] | None = None
    # The resources and prompts served beside the tools (`offerings.OfferSet`; None: none known, e.g. the CLI): a
    # relay (discovery's `call_tool`) hands them to its target's call, whose result names their URIs
    offers: Any = None


@dataclass(slots=True)
class UpstreamResult:
    """What came back from upstream, before any shaping.

    kind:
      - "json": `body` is a parsed JSON value
      - "text": `body` is a str
      - "binary": `body` is bytes (`media_type` says what)
      - "content": `content` holds ready MCP content blocks (dicts, wire format) from a proxied
        MCP server; `structured` its structuredContent, if any
    """

    kind: ResultKind
    body: Any = None
    raw_bytes: int = 0  # bytes received from upstream (the "before" of the token figures)
    status: int | None = None  # HTTP status where there is one
    is_error: bool = False
    media_type: str | None = None
    type_guessed: bool = False  # no Content-Type came: `media_type` was read from the bytes
    truncated: bool = False  # the body was cut at max_response_bytes while streaming
    content: list[dict[str, Any]] | None = None
    structured: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. url, latency; never secrets
    result_meta: dict[str, Any] | None = None  # a proxied result's own `_meta`, passed on unchanged
    notes: list[str] = field(default_factory=list)  # what the source says about the result (shown with it)
    # the few response headers a source may tell the model about, lower-case names (`link`, `location`:
    # openapi/answer_headers.py); never cookies, auth challenges or any other header
    headers: dict[str, str] = field(default_factory=dict)
    scrubbed: bool = False  # configured secrets already removed from the body (the HTTP executor does)
    # `raw_bytes` is already the call's raw figure (`shaping.sent.raw_size`): a result relayed after its own
    # shaping (discovery's `call_tool` relays its target's), whose "raw" is what the target's upstream sent
    raw_measured: bool = False
    # How the relayed call ended (`observability.events.Outcome`: `rejected`, `upstream_error`, `denied`, …),
    # so a failed relay counts as its target's failure, not as a bare `tool_error` (None: not a relay)
    relayed_outcome: str | None = None


Invoker = Callable[[dict[str, Any], CallContext], Awaitable[UpstreamResult]]


@dataclass(frozen=True, slots=True)
class OperationMeta:
    """What a source knows about an operation beyond its schema: read by the `include`/`exclude`
    filter, discovery search and catalog areas, and description templates (`summary`, `method`, …).

    Every field is optional; which ones a kind fills is declared by its `SourceKind.criteria`
    (a filter on a criterion the kind does not fill is a manifest error, not a silent match).

    summary:      one-line summary as the source wrote it ("" when none)
    tags:         grouping labels (OpenAPI tags); discovery's catalog areas
    method:       HTTP method, upper case ("" for non-HTTP operations)
    path:         URL path template ("/repos/{owner}/{repo}"), "" for non-HTTP operations
    operation_id: the source's own identifier where it differs from `key` ("" when none)
    deprecated:   the source marks the operation deprecated
    words:        more searchable words (a Python module name, an upstream tool's name)
    """

    summary: str = ""
    tags: tuple[str, ...] = ()
    method: str = ""
    path: str = ""
    operation_id: str = ""
    deprecated: bool = False
    words: tuple[str, ...] = ()


@dataclass(slots=True)
class Operation:
    """One callable thing a source offers, before the manifest's per-tool overrides.

    `key` is what a manifest's `tools:` override is keyed by (operationId, function name,
    upstream tool name); `aliases` are other accepted keys (e.g. "GET /repos/{owner}/{repo}").
    `input_schema` is a JSON Schema object (`"type": "object"`), possibly with `$defs`.
    `meta` carries the typed facts filters, discovery and description templates read.
    `output_schema` is an upstream MCP tool's own outputSchema (passed on when nothing reshapes
    the result); `response_schema` is the *shape* of a success result (an OpenAPI success response's,
    `sources/openapi/responses.py`, or a Python function's return type, `schema/shapes.py`), from which the
    tool's outputSchema is projected through its prune; `response_schema_exact`: the shape lists every field
    a result can have (a return annotation), so a field it lacks is an error, not perhaps undocumented.
    `invoke` is bound late by the source (it may hold pooled clients), so an Operation built from a
    compile cache gets its invoker when the source starts.
    """

    key: str
    name: str
    description: str
    input_schema: dict[str, Any]
    invoke: Invoker | None = None
    aliases: tuple[str, ...] = ()
    title: str | None = None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)
    meta: OperationMeta = field(default_factory=OperationMeta)
    # Wire fields of the tool definition mcprt does not model (`icons`, `_meta`, `execution`, …):
    # listed unchanged, so a proxy never drops what an upstream says about its tools.
    extra: Mapping[str, Any] = field(default_factory=dict)
    response_schema: dict[str, Any] | None = None
    default_response_schema: dict[str, Any] | None = None  # OpenAPI `default` response (some APIs answer 200 with it)
    # The call may send the client requests (sampling, elicitation, roots) or request-scoped log
    # messages before its result, so over HTTP it is answered on a stream (server/streaming.py).
    # Last, and read with a default: an Operation unpickled from an older compile cache lacks it.
    client_requests: bool = False
    response_schema_exact: bool = False  # read with a default, as `client_requests`
    # Values the source sends itself for what would otherwise be arguments, by that argument's name: an OpenAPI
    # parameter whose schema admits one value (`X-Amz-Target` → `Svc.Op`; `sources.openapi.inputs.sole_value`).
    # A manifest's `fixed`/`default` of one is checked against it (`toolset.build`). Read with a default.
    sent_values: Mapping[str, Any] = field(default_factory=dict)
    # The members the success response's description requires at its top level (`required`, which the shape
    # drops); None when unknown. A prune miss tells a record that omits optional fields from a body of another
    # shape by them (`shaping.prune_miss`). Read with a default: an Operation from an older compile cache lacks it.
    response_required: frozenset[str] | None = None


@dataclass(slots=True)
class ToolResult:
    """The shaped result of one call: what the model receives (MCP `tools/call` result)."""

    content: list[dict[str, Any]]  # MCP content blocks, wire format (camelCase)
    structured_content: dict[str, Any] | None = None
    is_error: bool = False
    raw_bytes: int = 0  # bytes received from upstream
    sent_bytes: int = 0  # what the model reads: the content blocks' payload (`shaping.sent.sent_size`)
    outcome: str = "ok"  # how the call ended (`observability.events.Outcome`), set by `call_tool`
    # relays another call's result (discovery's `call_tool`): its target's own call already counted the
    # bytes, so totals over calls (bytes saved per minute, metrics) leave this one out
    relayed: bool = False
    # The result's `_meta` (metadata for the client, not the model), from exactly one place: a proxied
    # server's own (`UpstreamResult.result_meta`, its hop's reserved keys left out, passed unchanged) or,
    # on mcprt's own refusals, mcprt's (`mcprt/approval`, `mcprt/retryAfter`); a refusal has no upstream
    # result, so the two never meet and nothing is merged. `UpstreamResult.meta` (url, latency) is never sent.
    meta: dict[str, Any] | None = None
    # The JSON-RPC error (`{code, message}`) a proxied server answered instead of a result: a direct
    # call reads it as this tool error, a task as `failed` with it (`tasks.run`).
    protocol_error: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The exact MCP `tools/call` result object."""
        wire: dict[str, Any] = {"content": self.content}
        if self.structured_content is not None:
            wire["structuredContent"] = self.structured_content
        if self.is_error:
            wire["isError"] = True
        if self.meta:
            wire["_meta"] = self.meta
        return wire
