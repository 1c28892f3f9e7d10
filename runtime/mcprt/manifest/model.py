"""The manifest (`mcp.yaml` / `mcp.toml`) as pydantic models.

These models are the single source of truth: the loader validates against them, the JSON Schema in
`schemas/` is generated from them, and the README's manifest reference is checked against that schema.
Every model forbids unknown keys, so a typo is an error (with a "did you mean" from the loader).
"""

from __future__ import annotations

import functools
import types
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .units import ByteSize, Duration, DurationOrZero
from .header_values import check_header_names, check_header_value
from .urls import UpstreamUrl, check_upstream_url
from .written import integer_expected

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SOURCE_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
# `server.http.keep_alive_timeout` (seconds). The backend's idle keep-alive must outlast every balancer's
# idle timeout for its backend connections: the shipped HAProxy/nginx files (deploy/plain-hosts, at most
# 75 s), AWS ALB (60 s default) and Google Cloud's load balancers (600 s; Google's guidance is 620 s on
# the backend). A balancer keeping idle connections longer than an hour is told to lower its own.
KEEP_ALIVE_DEFAULT = 620.0
KEEP_ALIVE_MAX = 3600.0


@functools.cache
def integer_field(model: type[BaseModel], name: str) -> bool:
    """Whether `model.name` holds only integers: `int`, `int | None`, or a `Literal` of integers (`version`)."""
    field = model.model_fields.get(name)
    if field is None:
        return False
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return all(type(arg) is int for arg in get_args(annotation))
    members = [arg for arg in get_args(annotation) if arg is not type(None)] if get_origin(annotation) in (
        Union, types.UnionType) else [annotation]
    # `ByteSize | None` is `Optional[Annotated[int, …]]`: pydantic strips `Annotated` only at the top, so unwrap
    # it here too, or those sizes fell through to `parse_size` with a second wording of the one rule
    members = [get_args(arg)[0] if get_origin(arg) is Annotated else arg for arg in members]
    return members == [int]


def empty_list() -> list[Any]:
    """`default_factory` of the models' list fields: `[]`. Not the builtin `list`: pydantic reads a
    factory's signature while it builds a model, and `inspect.signature(list)` parses the builtin's
    text signature with `tokenize` (≈0.5 ms each; ≈0.011 s of every start over these models)."""
    return []



# headers a source sends with every request: names and values an HTTP request can carry (`header_values`)
RequestHeaders = Annotated[dict[str, Annotated[str, AfterValidator(check_header_value)]],
                           AfterValidator(check_header_names)]

class StrictModel(BaseModel):
    """Base of every manifest model: unknown keys are errors, values are immutable after load, and a
    float is no integer (`_no_float_for_an_integer`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_float_for_an_integer(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse `port = 43120.0`, `version = 1.0`: YAML and TOML tell `5` from `5.0`, and pydantic's lax
        mode would take an integral float for an `int` silently. One rule for every integer a manifest
        holds (settings here, sizes in `units.parse_size`, arguments' `default`/`fixed` in
        `toolset.build`): a number with a fraction part, even `.0`, is refused with the integer to write."""
        if isinstance(value, float) and info.field_name is not None and integer_field(cls, info.field_name):
            raise ValueError(integer_expected(value))
        return value


# --- inbound (clients → mcprt) --------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (`localhost`, 127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere: treat as exposed


def proxy_address(value: str) -> str:
    """A `trusted_proxies` entry: `*`, an IP address or a CIDR network (what uvicorn's `forwarded_allow_ips` takes),
    stripped. ValueError naming the value otherwise (also for `MCPRT_TRUSTED_PROXIES`: `server.options`)."""
    import ipaddress

    text = value.strip()
    if text != "*":
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network (e.g. 10.0.0.5, 10.0.0.0/8, or *)") from None
    return text


class HttpConfig(StrictModel):
    """Where and how the streamable HTTP transport listens."""

    host: str = Field("127.0.0.1", description="Interface to bind. Loopback by default; bind wider only with `auth`.")
    port: int = Field(8765, ge=0, le=65535, description="TCP port (0 picks a free one).")
    path: str = Field("/mcp", pattern=r"^/[A-Za-z0-9._~/-]*$", description="URL path of the MCP endpoint.")
    stateless: bool = Field(
        False, description="Stateless mode for replicas behind a load balancer (no sessions, no list_changed push)."
    )
    json_response: bool = Field(False, description="Answer every POST with plain JSON, even requests that could "
                                "stream (their progress and requests to the client are then not delivered); by "
                                "default only those get an SSE stream.")
    allowed_origins: list[str] = Field(
        default_factory=empty_list,
        description="Extra browser Origins accepted (loopback origins, `public_url`'s and the request's own "
                    "— its scheme and accepted Host — are always accepted). `*` disables the check.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=empty_list,
        description="Host header values accepted besides loopback names, the bind address, the address a "
        "request arrived on, this machine's host name (wildcard bind) and `public_url`'s host; others get 421 "
        "(DNS-rebinding protection). `name` (any port) or `name:port`; `*` disables the check. "
        "`MCPRT_ALLOWED_HOSTS` (comma-separated) adds more.",
    )
    trusted_proxies: list[Annotated[str, AfterValidator(proxy_address)]] = Field(
        default_factory=empty_list,
        description="Addresses (IP or CIDR network, e.g. `10.0.0.0/8`; `*` any) of the reverse proxies or load "
        "balancers whose `X-Forwarded-Proto` and `X-Forwarded-For` are believed: the scheme and client address of "
        "a request that came through them. Loopback is always trusted. `MCPRT_TRUSTED_PROXIES` (comma-separated) "
        "adds more. The URLs mcprt advertises about itself (OAuth metadata, challenges) come from `public_url` "
        "when it is set, whatever the headers say.",
    )
    max_request_bytes: ByteSize = Field(1_000_000, description="Largest accepted request body.")
    drain_timeout: Duration = Field(
        20.0,
        description="On SIGTERM (HTTP): how long requests in flight may take to finish. `/readyz` turns false at "
        "once and new requests get 503 while they drain; tool calls still running then are answered with a tool "
        "error saying the server is restarting and to call again, any other request with a JSON-RPC error "
        "(`data.reason: shutting_down`, `data.retrySafe`). Also bounds how long the replica then stays while a "
        "balancer still sends it requests (it exits once none came for 0.5 s).",
    )
    keep_alive_timeout: Duration = Field(
        KEEP_ALIVE_DEFAULT, ge=1, le=KEEP_ALIVE_MAX,
        description="How long an idle HTTP/1.1 connection (between requests) stays open before mcprt closes it. "
        "Must outlast the idle timeout of any load balancer or proxy in front that reuses backend connections "
        "(HAProxy, nginx `keepalive`, AWS ALB 60 s, Google Cloud 600 s), so that the balancer, the side that "
        "would send the next request, closes first: a request it sends in the instant mcprt closes is lost. "
        "At most 1 h. Idle connections are closed first when the connection limit is reached. "
        "Env override: `MCPRT_KEEP_ALIVE_TIMEOUT` (seconds, 1 to 3600).",
    )
    max_sessions: int = Field(
        10_000, ge=1,
        description="Most MCP sessions (handshake era, `Mcp-Session-Id`) open at once in this process; a request "
        "that would open one more gets 503 with `Retry-After`. Env override: `MCPRT_MAX_SESSIONS`.",
    )
    max_sessions_per_client: int = Field(
        100, ge=1,
        description="Most MCP sessions one client holds in this process (client: the authenticated principal, "
        "or the peer IP address when auth is off). Opening one more ends that client's least recently used idle "
        "session; when none is idle, 429 with `Retry-After`. Env override: `MCPRT_MAX_SESSIONS_PER_CLIENT`.",
    )
    session_idle_timeout: Duration = Field(
        600.0, gt=0,
        description="A session with no request in flight (and no open GET stream) for this long is ended; its id "
        "then answers 404 (`Session not found`; a client MUST then initialize a new session, MCP transports "
        "\"Session Management\" — the Python SDK 2.3 raises the error instead and the application opens a "
        "new client). Also the expiry of session records in "
        "`server.state`. Env override: `MCPRT_SESSION_IDLE_TIMEOUT` (seconds).",
    )


JWS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""Asymmetric JWS algorithms (RFC 7518 §3, RFC 8037) an access token may be signed with. `none` and the
HMAC family are never accepted: a resource server holds only public keys (RFC 8725 §3.1, §3.2)."""


class TokenIntrospection(StrictModel):
    """RFC 7662 token introspection, for opaque (non-JWT) access tokens."""

    url: str = Field(description="The introspection endpoint.")
    client_id: str = Field(description="mcprt's client id at the authorization server.")
    client_secret: SecretStr = Field(description="Client secret; write `${VAR}`.")
    cache: Duration = Field(
        30.0, description="How long an `active` answer is reused (never beyond the token's `exp`); 0 disables."
    )


class OAuthResourceServer(StrictModel):
    """OAuth 2.1 resource server (MCP authorization): access tokens from `issuer` are validated here."""

    issuer: str = Field(description="The authorization server's issuer identifier (RFC 8414 §2), e.g. `https://idp.example.com/realms/main`.")
    audience: str | None = Field(
        None,
        description="The resource identifier tokens must be issued for (`aud`, RFC 8707); also the `resource` of the "
        "Protected Resource Metadata. Default: this server's URL as the client reached it (scheme, Host, `server.http.path`).",
    )
    jwks_url: str | None = Field(
        None, description="The JWK Set URL. Default: `jwks_uri` from the issuer's metadata (RFC 8414, then OIDC discovery)."
    )
    scopes: list[str] = Field(
        default_factory=empty_list, description="Scopes every token must carry; a token without them gets 403 insufficient_scope."
    )
    algorithms: list[Literal[JWS_ALGORITHMS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["RS256", "PS256", "ES256", "EdDSA"],
        description="Accepted JWS algorithms (asymmetric only; `none` and HS* are never accepted).",
    )
    introspection: TokenIntrospection | None = Field(
        None, description="RFC 7662 introspection for opaque tokens (JWTs are validated locally)."
    )
    clock_skew: Duration = Field(60.0, description="Tolerance applied to `exp`, `nbf` and `iat`.")
    claims: list[str] = Field(
        default_factory=lambda: ["email", "name", "preferred_username", "groups", "roles"],
        description="Token claims kept on the principal (templates `principal.claims`, audit, `forward_claims`); "
        "`sub`, `client_id` and `scope` are always kept.",
    )
    resource_name: str | None = Field(None, description="Human-readable name in the Protected Resource Metadata.")

    @property
    def kept_claims(self) -> frozenset[str]:
        """Claims an OAuth principal carries: the selected ones plus those always kept."""
        return frozenset(self.claims) | ALWAYS_KEPT_CLAIMS


ALWAYS_KEPT_CLAIMS = frozenset({"sub", "client_id", "scope", "iss", "aud", "exp"})


class InboundAuth(StrictModel):
    """Authentication that MCP clients must present to the HTTP transport (stdio is never authenticated:
    the parent process that started mcprt is the trust boundary)."""

    bearer_tokens: list[SecretStr] = Field(
        default_factory=empty_list,
        description="Accepted `Authorization: Bearer` tokens. Write them as `${VAR}`, never literally. "
        "Callers presenting one are the principal `bearer`.",
    )
    tokens: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")], SecretStr] = Field(
        default_factory=dict,
        description="Named static bearer tokens: `{name: \"${VAR}\"}`. The name is the caller's principal "
        "(used by policies, the audit log and metrics).",
    )
    oauth: OAuthResourceServer | None = Field(
        None, description="Accept OAuth 2.1 access tokens (MCP authorization spec; RFC 9728 metadata is served)."
    )


class Budget(StrictModel):
    """Limits on what the tool list costs a model; `mcprt validate` fails when one is exceeded."""

    max_tools: int | None = Field(None, ge=1, description="Most tools the server may expose.")
    max_tools_bytes: ByteSize | None = Field(None, description="Most bytes of the whole tools/list result.")
    max_tool_bytes: ByteSize | None = Field(None, description="Most bytes of any one tool definition.")


class Observability(StrictModel):
    """Metrics, traces, the audit log and the status page (see README "Operating mcprt")."""

    listen: str | None = Field(
        None,
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$",
        description="`host:port` of a small HTTP listener serving `/metrics` and `/status` for the stdio "
        "transport (the HTTP transport serves them on its own port). Example: `127.0.0.1:9464`.",
    )
    audit: str | None = Field(
        None,
        description="Audit log: a file path (JSON lines, relative to the manifest; reopened on SIGHUP) or "
        "`stderr`. One record per call and per policy decision.",
    )
    audit_arguments: bool = Field(
        False, description="Also record argument values (secret-looking names are always redacted)."
    )
    audit_on_failure: Literal["refuse", "serve"] = Field(
        "refuse",
        description="While the audit log cannot be written (a full disk, a read-only file system), records wait "
        "in memory (10,000 at most, retried every second) and the failure shows on `/healthz`, `/readyz`, `/status` "
        "and `/metrics`. `refuse`: meanwhile every tool call is refused (a tool error, nothing done) and `/readyz` "
        "answers 503, so no call goes unrecorded; `serve`: calls go on (`/readyz` says `degraded`), and records past "
        "the buffer are dropped and counted. A reload applies a change (no restart, which would lose the waiting "
        "records).",
    )
    traces: bool = Field(
        False,
        description="Export OpenTelemetry traces over OTLP/HTTP (configured by the standard `OTEL_*` "
        "variables). Also on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.",
    )
    recent_calls: int = Field(
        50, ge=0, le=1000, description="Calls kept for the status page's payload inspector (0: none)."
    )


TaskSupport = Literal["forbidden", "optional", "required"]
"""Whether a tool's calls may run as tasks, in MCP's terms (`Tool.execution.taskSupport`, MCP 2025-11-25
server/tools): `forbidden` never, `optional` when the client supports tasks, `required` only as a task."""

TASK_SUPPORT_HELP = (
    "Whether calls may run as tasks (the tasks extension, `io.modelcontextprotocol/tasks`), in MCP's "
    "`execution.taskSupport` terms: `forbidden`, `optional` (a call still running after `server.tasks.answer_within` "
    "becomes a task for a client that declared the extension), `required` (likewise, and a 2026-07-28 client "
    "without the extension is refused with -32021)."
)


class TasksConfig(StrictModel):
    """Tasks (the MCP tasks extension, SEP-2663): calls of task-supporting tools that outlast a request."""

    answer_within: DurationOrZero = Field(
        0.5, ge=0,
        description="A task-supporting call that ends, or asks the client something, within this time is answered "
        "directly (its result, or an `InputRequiredResult` round); one still running then becomes a task "
        "(`CreateTaskResult`). 0: every such call becomes a task at once.",
    )
    ttl: Duration = Field(
        3600.0, gt=0,
        description="How long a task is kept from its creation (`ttlMs`); a task still running then is cancelled "
        "and reads `failed`, and its record is dropped.",
    )
    poll_interval: Duration = Field(1.0, gt=0, description="Polling interval suggested to clients (`pollIntervalMs`).")
    max: int = Field(1_000, ge=1, description="Most tasks kept at once in this process (running or finished); "
                     "a call that would create one more is answered directly.")
    max_per_principal: int = Field(
        100, ge=1,
        description="Most tasks one principal has at once; a call that would create one more is answered directly.",
    )


class ServerConfig(StrictModel):
    """The MCP server mcprt presents to clients."""

    name: str = Field("mcprt", min_length=1, description="Server name reported at initialize.")
    instructions: str | None = Field(None, description="Instructions for the model, reported at initialize. A "
                                     "secret's `${VAR}` in it is an error (every client is sent them).")
    http: HttpConfig = Field(default_factory=HttpConfig, description="Streamable HTTP transport settings.")
    auth: InboundAuth | None = Field(None, description="Inbound authentication for the HTTP transport.")
    budget: Budget | None = Field(None, description="Tool-list budgets: `mcprt validate` fails (exit 1) on every "
                                  "offender; `mcprt up` warns once per exceeded budget and serves.")
    expose: Literal["tools", "discovery"] = Field(
        "tools",
        description="`tools`: every tool is listed. `discovery`: a few meta-tools search, describe and call them.",
    )
    pinned: list[str] = Field(
        default_factory=empty_list, description="Tools that stay directly listed in discovery mode (exposed names)."
    )
    observability: Observability = Field(
        default_factory=Observability, description="Metrics, traces, audit log and status page."
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="Where people and clients reach this server from outside (behind a load balancer or proxy, or "
        "bound to 0.0.0.0), e.g. `https://mcp.example.com`: the base of the absolute links mcprt builds to itself "
        "(approval webhooks' approve/deny links and status page link, the endpoint on the status page). A path is "
        "kept: `https://gw.example.com/tools` behind a proxy that strips `/tools` puts it before every URL and "
        "link mcprt advertises, and the OAuth metadata is served at `/.well-known/oauth-protected-resource/tools/mcp` "
        "too (README \"Behind a proxy, under a path prefix\"). `${VAR}` allowed. Default: `server.auth.oauth.audience` when it is this endpoint's http(s) URL, else the bind "
        "address (127.0.0.1 for a wildcard bind).",
    )
    state: str | None = Field(
        None,
        pattern=r"^(redis|rediss|unix)://\S+$",
        description="Shared state for replicas, e.g. `redis://redis:6379/0` (or `MCPRT_STATE_URL`): "
        "handshake-era sessions (any replica serves any session), approvals, rate limits, pauses and upstream "
        "OAuth tokens. Unset: everything lives in this process.",
    )
    tasks: TasksConfig = Field(default_factory=TasksConfig, description="Tasks: limits and timing of tool calls "
                               "run as tasks (see the tools' `task_support`).")

    @property
    def public_base_url(self) -> str | None:
        """The base URL (no trailing slash) of absolute links to this server: `public_url`, else
        the OAuth `audience` minus `http.path` when the audience is this endpoint's http(s) URL
        (RFC 8707 resource identifiers usually are), else None (the caller uses the bind address)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        audience = self.auth.oauth.audience if self.auth is not None and self.auth.oauth is not None else None
        path = self.http.path.rstrip("/")
        if audience and audience.startswith(("https://", "http://")) and path and audience.rstrip("/").endswith(path):
            base = audience.rstrip("/")[: -len(path)]
            if base.split("://", 1)[1].split("/", 1)[0]:  # a host is left
                return base
        return None


# --- shaping ----------------------------------------------------------------------------------


class AutoPrune(StrictModel):
    """Pruning applied to every JSON result after the tool's own `prune` expression."""

    drop_nulls: bool = Field(False, description="Remove object keys whose value is null.")
    drop_empty: bool = Field(False, description="Remove object keys whose value is an empty string, list or object.")
    drop_keys: list[str] = Field(
        default_factory=empty_list, description="Glob patterns of object keys to remove at any depth, e.g. `*_url`."
    )


class DescriptionPolicy(StrictModel):
    """How source descriptions are compacted into tool descriptions."""

    style: Literal["brief", "summary", "full"] = Field(
        "brief", description="`brief`: summary + first paragraph; `summary`: summary only; `full`: everything."
    )
    max_chars: int = Field(400, ge=20, description="Longest tool description; longer ones end at a sentence.")


class Defaults(StrictModel):
    """Settings applied to every tool unless a source or tool overrides them."""

    timeout: Duration = Field(30.0, description="Time limit of one upstream call.")
    retries: int = Field(2, ge=0, le=10, description="Retries of idempotent calls on connect errors, 429 and 503.")
    max_response_bytes: ByteSize = Field(
        10_000_000, description="Upstream bodies larger than this are cut while streaming, never loaded whole."
    )
    max_result_bytes: ByteSize = Field(
        100_000, description="Results larger than this after pruning (all content blocks and structuredContent "
        "together, a structuredContent a text block repeats counted once) are shortened by structure (as many list items as fit with their long texts — strings over 256 bytes — cut, the rest dropped); "
        "the notes saying what was left out count against it."
    )
    prune: AutoPrune = Field(default_factory=AutoPrune, description="Automatic pruning of JSON results.")
    descriptions: DescriptionPolicy = Field(default_factory=DescriptionPolicy, description="Description compaction.")


# --- per-tool overrides -------------------------------------------------------------------------


class ArgOverride(StrictModel):
    """Shaping of one argument. `fixed` hides the argument and always sends the value."""

    default: Any = Field(None, description="Default used when the model omits the argument (shown in the schema).")
    fixed: Any = Field(None, description="Value always sent; the argument is hidden from the model, and a call giving "
                       "it any value (an equal one too) is refused.")
    hidden: bool = Field(False, description="Hide the argument from the model (it must be optional or have a default); "
                         "a call giving it any value is refused.")
    description: str | None = Field(None, description="Replacement description shown to the model.")

    @model_validator(mode="after")
    def _fixed_or_default(self) -> ArgOverride:
        if "fixed" in self.model_fields_set and "default" in self.model_fields_set:
            raise ValueError("an argument is either `fixed` (hidden, always sent) or has a `default`, not both")
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @property
    def has_fixed(self) -> bool:
        return "fixed" in self.model_fields_set


class ToolOverride(StrictModel):
    """Overrides for one tool, keyed by operationId (or `METHOD /path`, function or upstream tool name)."""

    name: str | None = Field(None, pattern=TOOL_NAME_PATTERN, description="Exposed tool name (≤ 64 chars).")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(
        None,
        description="Tool description, a sandboxed Jinja2 template. Context: `description`, `summary`, `method`, "
        "`path`, `tags`, and each argument's fixed or default value by name. A secret's `${VAR}` in it, or a use of a "
        "fixed argument holding one, is an error (every client lists descriptions).",
    )
    args: dict[str, ArgOverride] = Field(default_factory=dict, description="Per-argument shaping, by argument name.")
    prune: str | None = Field(None, description="JMESPath expression applied to JSON results.")
    output: str | None = Field(None, description=(
        "Sandboxed Jinja2 template rendering the pruned `result` as text. Jinja's `trim_blocks` and "
        "`lstrip_blocks` are on: the line break right after a `{% … %}` tag is not sent (nor the indentation "
        "before one), so a loop whose `{% for %}` line ends the line renders its items on one line; end each "
        "item's line before `{% endfor %}`, or write the tag as `{% for … +%}` to keep its line break. `mcprt "
        "validate` checks its `result.…` look-ups against the result's schema; a secret's `${VAR}` in it is an "
        "error (the model reads what it renders)."))
    timeout: Duration | None = Field(None, description="Overrides the call time limit.")
    max_result_bytes: ByteSize | None = Field(None, description="Overrides the result size limit.")
    enabled: bool = Field(True, description="`false` removes the tool.")
    pinned: bool = Field(False, description="In discovery mode, keep this tool directly listed.")
    output_schema: bool | None = Field(
        None,
        description="Declare an `outputSchema` from the response schema (an OpenAPI success response, a Python "
        "function's return type): by default when the tool has a `prune` and no `output` template; `true` also "
        "without a prune; `false` never (not even the function's or upstream tool's own).",
    )
    undocumented_fields: list[str] = Field(
        default_factory=empty_list,
        description="Response fields the API sends that its description leaves out, as dotted paths with `[]` for "
        "list items (`next_page.offset`, `data[].completed`): checked shaping (`mcprt validate`) and the "
        "`outputSchema` treat them as documented, of any type.",
    )
    task_support: TaskSupport | None = Field(None, description=TASK_SUPPORT_HELP + " Default: the source's.")


class ItemOverride(StrictModel):
    """Overrides for one proxied resource, resource template or prompt (keyed by URI, URI template or name)."""

    name: str | None = Field(None, min_length=1, description="Exposed name (a prompt's name; a resource's display name).")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(None, description="Replacement description.")
    enabled: bool = Field(True, description="`false` hides the item.")


ItemSwitch = Annotated[
    Union[bool, dict[str, ItemOverride]],
    Field(description="`false` turns the feature off; a mapping keeps it on with per-item overrides."),
]


HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


def _http_method(value: str) -> str:
    if value.upper() not in HTTP_METHODS:
        raise ValueError(f"unknown HTTP method {value!r} (use {', '.join(HTTP_METHODS)})")
    return value.upper()


HttpMethod = Annotated[
    str,
    AfterValidator(_http_method),
    WithJsonSchema({"type": "string", "pattern": "(?i)^(" + "|".join(HTTP_METHODS) + ")$"}),
]


class OperationFilter(StrictModel):
    """Selects operations. Within a filter every given criterion must match; lists match any item. A list of
    filters (`exclude: [{tags: [internal]}, {tags: [admin], methods: [DELETE]}]`) selects what any of them
    selects: an OR of ANDs, as a FastMCP list of route maps."""

    tags: list[str] | None = Field(None, description="OpenAPI tags (exact, case-insensitive).")
    operations: list[str] | None = Field(None, description="Globs over operation keys (operationId, tool name).")
    paths: list[str] | None = Field(None, description="Globs over OpenAPI paths, e.g. `/repos/*/issues*`.")
    methods: list[HttpMethod] | None = Field(None, description="HTTP methods (any case).")
    deprecated: bool | None = Field(None, description="Match deprecated (true) or non-deprecated (false) operations.")


def _filters_form(value: Any) -> str:
    """Which form an `include`/`exclude` is written in: a list of filters, else one filter (a mapping; anything
    else is refused as "expected a mapping"), so an error names the one form written, not both."""
    return "<filters>" if isinstance(value, list) else "<filter>"


OperationFilters = Annotated[
    Union[Annotated[OperationFilter, Tag("<filter>")], Annotated[list[OperationFilter], Tag("<filters>")]],
    Discriminator(_filters_form),
]
"""`include` / `exclude`: one filter, or a list of them (an operation matches the list when it matches any)."""

# --- outbound auth (mcprt → upstream) ------------------------------------------------------------


class UpstreamTls(StrictModel):
    """How an HTTPS upstream's certificate is checked, and the client certificate shown to it (mTLS).

    Paths are relative to the manifest. Trust, highest first: `ca_file`, else `SSL_CERT_FILE` /
    `SSL_CERT_DIR`, else certifi's public roots (mcprt.outbound.tls)."""

    ca_file: str | None = Field(
        None, description="PEM bundle of the CAs to trust for this source instead of the default store (e.g. a "
        "Kubernetes cluster's `ca.crt`). Default: `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, else public roots.")
    cert_file: str | None = Field(None, description="PEM client certificate (chain) for mutual TLS.")
    key_file: str | None = Field(None, description="PEM private key of `cert_file` (unencrypted), when that file "
                                 "does not hold it.")

    @model_validator(mode="after")
    def _key_needs_cert(self) -> UpstreamTls:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("`key_file` needs `cert_file` (the client certificate it belongs to)")
        return self


class BasicAuth(StrictModel):
    """HTTP basic credentials sent upstream."""

    username: str = Field(description="User name.")
    password: SecretStr = Field(description="Password; write `${VAR}`.")


class ApiKeyAuth(StrictModel):
    """An API key sent upstream in a header, query parameter or cookie."""

    name: str = Field(description="Header, query parameter or cookie name.")
    in_: Literal["header", "query", "cookie"] = Field("header", alias="in", description="Where the key goes.")
    value: SecretStr = Field(description="The key; write `${VAR}`.")

    @field_validator("value")
    @classmethod
    def _sendable(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        """A key sent in a header is a header value (`header_values.check_header_value`, quoting none of it): one
        holding `ö` passed `validate` and then failed every call (review of fixi2, item 6). A query parameter or
        cookie is percent-encoded, so any text goes there."""
        if info.data.get("in_", "header") == "header":
            check_header_value(value.get_secret_value())
        return value


class OAuth2ClientCredentials(StrictModel):
    """OAuth2 client-credentials grant: mcprt fetches, caches and refreshes the token."""

    token_url: str = Field(description="Token endpoint.")
    client_id: str = Field(description="Client id.")
    client_secret: SecretStr = Field(description="Client secret; write `${VAR}`.")
    scopes: list[str] = Field(default_factory=empty_list, description="Requested scopes.")
    audience: str | None = Field(None, description="`audience` parameter, for providers that need it.")


class TokenExchange(StrictModel):
    """Per-user upstream token: the caller's validated access token is exchanged (RFC 8693) for one
    issued to the upstream, cached per subject token until it expires. The caller's token is never sent upstream."""

    token_url: str = Field(description="Token endpoint that accepts `urn:ietf:params:oauth:grant-type:token-exchange`.")
    client_id: str = Field(description="mcprt's client id at that endpoint.")
    client_secret: SecretStr = Field(description="Client secret; write `${VAR}`.")
    audience: str | None = Field(None, description="`audience` of the wanted token (RFC 8693 §2.1), e.g. the upstream's name.")
    resource: str | None = Field(None, description="`resource` of the wanted token (RFC 8707), e.g. the upstream's URL.")
    scopes: list[str] = Field(default_factory=empty_list, description="Requested scopes.")
    requested_token_type: str = Field(
        "urn:ietf:params:oauth:token-type:access_token", description="RFC 8693 §3 token type identifier."
    )


FORWARDED_HEADER_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
_UNFORWARDABLE = frozenset({"authorization", "cookie", "host", "content-length", "content-type", "transfer-encoding"})


def _forwardable(value: dict[str, str]) -> dict[str, str]:
    for header in value:
        if header.lower() in _UNFORWARDABLE:
            raise ValueError(f"forward_claims cannot set the {header} header")
    return value


def _header_secret(value: SecretStr) -> SecretStr:
    """`value` when an HTTP header can carry it (`check_header_value`), else its ValueError."""
    check_header_value(value.get_secret_value())
    return value


class OutboundAuth(StrictModel):
    """Credentials mcprt sends upstream: exactly one kind, optionally plus `forward_claims`. An OpenAPI source sends
    them only to its API's origin (and its `credential_origins`), and not to an operation with `security: []`
    (OpenAPI 3.x §4.8.10). An API needing several credentials at once (a Security Requirement Object naming several
    schemes, OpenAPI 3.1 §4.8.30: Datadog's `DD-API-KEY` + `DD-APPLICATION-KEY`) takes a list of entries, each one
    kind, all sent with every request; no two may set the same header, query parameter or cookie, nor one the
    name of a source `headers` entry. A source header named like a credential (key, token, secret, auth …) is a
    secret like these: scrubbed from results, logs and errors, not sent to another origin."""

    # Keys only some kinds of source take (the loader refuses them elsewhere, and an unknown key's hint names only
    # these kinds): per-user credentials need a request per caller, and a `url:` source keeps one upstream session.
    kinds_of_keys: ClassVar[dict[str, tuple[str, ...]]] = {"token_exchange": ("openapi",), "forward_claims": ("openapi",)}

    # the token is the `Authorization` header's value: checked as `headers:` values are (quoting none of it); basic
    # credentials need no check, being sent base64-encoded UTF-8 (RFC 7617 §2.1)
    bearer: Annotated[SecretStr, AfterValidator(_header_secret)] | None = Field(
        None, description="`Authorization: Bearer` token; write `${VAR}`.")
    basic: BasicAuth | None = Field(None, description="HTTP basic credentials.")
    api_key: ApiKeyAuth | None = Field(None, description="An API key in a header, query parameter or cookie.")
    oauth2: OAuth2ClientCredentials | None = Field(None, description="OAuth2 client-credentials grant.")
    token_exchange: TokenExchange | None = Field(
        None, description="Per-user token by RFC 8693 token exchange of the caller's OAuth access token."
    )
    forward_claims: Annotated[
        dict[Annotated[str, Field(pattern=FORWARDED_HEADER_PATTERN)], str], AfterValidator(_forwardable)
    ] | None = Field(
        None,
        description="Headers carrying the caller's token claims, `{X-User-Email: email}` (never the token itself). "
        "A call whose caller lacks a claim is refused.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> OutboundAuth:
        given = [k for k in CREDENTIAL_KINDS if getattr(self, k) is not None]
        if len(given) > 1 or (not given and self.forward_claims is None):
            raise ValueError(
                "auth takes exactly one of " + ", ".join(f"`{k}`" for k in CREDENTIAL_KINDS)
                + " (and optionally `forward_claims`)"
            )
        return self

    @property
    def per_user(self) -> bool:
        """Whether the credentials depend on who calls (they need `server.auth.oauth`)."""
        return self.token_exchange is not None or self.forward_claims is not None

    @property
    def kind(self) -> str | None:
        """Which credential this entry sends, one of CREDENTIAL_KINDS; None for an entry of `forward_claims` alone."""
        return next((k for k in CREDENTIAL_KINDS if getattr(self, k) is not None), None)

    @property
    def credential(self) -> Placement | None:
        """Where this entry's credential goes: an API key's header, query parameter or cookie, the `Authorization`
        header for bearer, basic, oauth2 and token_exchange; None for an entry of `forward_claims` alone."""
        if self.api_key is not None:
            return Placement(self.api_key.in_, self.api_key.name)
        return Placement("header", "Authorization") if self.kind is not None else None

    def placements(self) -> list[tuple[tuple[str, ...], Placement]]:
        """Where this entry puts what it sends: (key path below the entry, placement) per item — its
        `credential` first, then each `forward_claims` header."""
        found: list[tuple[tuple[str, ...], Placement]] = []
        credential, kind = self.credential, self.kind
        if credential is not None and kind is not None:
            found.append((("api_key", "name") if kind == "api_key" else (kind,), credential))
        for header in self.forward_claims or {}:
            found.append((("forward_claims", header), Placement("header", header)))
        return found


class Placement(NamedTuple):
    """Where a credential or a constant goes in a request: `in_` ("header", "query" or "cookie") and its `name`
    as written."""

    in_: str
    name: str

    @property
    def key(self) -> tuple[str, str]:
        """The placement as compared: header names without case (RFC 9110 §5.1), query parameter names as
        written (RFC 3986 leaves them to the server, which may tell `Key` from `key`), cookie names as written
        (RFC 6265 §5.3/§5.4 match them byte for byte: `sess` and `SESS` are two cookies)."""
        return (self.in_, self.name.lower() if self.in_ == "header" else self.name)


CREDENTIAL_KINDS = ("bearer", "basic", "api_key", "oauth2", "token_exchange")

# A source's `auth`: one entry, or several sent together (each one kind; `auth_entries`).
SourceAuth = OutboundAuth | Annotated[list[OutboundAuth], Field(min_length=1)]
AUTH_DESCRIPTION = ("Upstream credentials: one entry, or a list of entries all sent with every request (an API "
                    "that needs two keys at once, e.g. `[{api_key: {name: DD-API-KEY, …}}, {api_key: {name: "
                    "DD-APPLICATION-KEY, …}}]`).")


def auth_entries(auth: OutboundAuth | list[OutboundAuth] | None) -> list[tuple[tuple[int, ...], OutboundAuth]]:
    """A source's `auth` as (path below `auth`, entry) pairs: `((), entry)` for the one-entry form, `((i,),
    entry)` for the i-th of a list; empty when unset."""
    if auth is None:
        return []
    if isinstance(auth, OutboundAuth):
        return [((), auth)]
    return [((i,), entry) for i, entry in enumerate(auth)]


# --- sources ------------------------------------------------------------------------------------


class SourceBase(StrictModel):
    """What every source kind accepts. A kind's model adds the one key that selects it (`kind_key`).

    `kind_key`: the manifest key naming the kind (a source has exactly one such key).
    `kind_runtime`: `module:attribute` of the kind's `SourceKind` (`mcprt.sources.kind`), imported
    only when a source of the kind is opened or built, so the manifest layer imports no source code.
    `kind_note`: words after "a source with `key:`" in the README's manifest reference.
    """

    kind_key: ClassVar[str] = ""
    kind_runtime: ClassVar[str] = ""
    kind_note: ClassVar[str] = ""

    prefix: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{0,32}$", description="Prepended to tool names.")
    tools: dict[str, ToolOverride] = Field(default_factory=dict, description="Per-tool overrides.")
    include: OperationFilters | None = Field(
        None, description="Only operations matching this filter (a list: matching any of these filters).")
    exclude: OperationFilters | None = Field(
        None, description="Minus operations matching this filter (a list: matching any of these filters).")
    expose: Literal["tools", "discovery"] | None = Field(None, description="Overrides `server.expose` for this source.")
    timeout: Duration | None = Field(None, description="Overrides `defaults.timeout`.")
    output_schema: bool | None = Field(
        None, description="Default of the tools' `output_schema` (response schemas → `outputSchema`)."
    )
    task_support: TaskSupport | None = Field(
        None, description="Default of the tools' `task_support`. Unset: `forbidden` for OpenAPI and Python tools; a "
        "proxied tool keeps what its server declares (`execution.taskSupport`), else `forbidden`.",
    )


# What `mcprt init` writes as `base_url` when the description names no server it can use (none, one relative
# to a local file, or one whose variables have no default): never a URL, so nothing is sent until it is set.
BASE_URL_PLACEHOLDER = "<set the API's base URL>"


def _not_the_placeholder(value: str) -> str:
    """`init`'s placeholder left in place would send every call nowhere: `validate` refuses it at its line."""
    if value.strip() == BASE_URL_PLACEHOLDER:
        raise ValueError("still the placeholder `mcprt init` writes when the API description names no usable "
                         "server: set the API's base URL (http:// or https://)")
    return value


class OpenAPISource(SourceBase):
    """Tools from an OpenAPI 3.0/3.1 or Swagger 2.0 document."""

    kind_key: ClassVar[str] = "openapi"
    kind_runtime: ClassVar[str] = "mcprt.sources.openapi.kind:KIND"

    openapi: str = Field(description="URL, or a path relative to the manifest, of the JSON or YAML document.")
    # `init`'s placeholder first: its own message, not "not a valid URL"
    base_url: Annotated[str, AfterValidator(_not_the_placeholder), AfterValidator(check_upstream_url)] | None = Field(
        None, description="API base URL (absolute http(s), no `user:password@`: use `auth.basic`); else the "
        "document's first server.")
    server_variables: dict[str, str] = Field(default_factory=dict, description="Values for server URL variables; a name no "
                                                  "server of the description declares, or a value outside the `enum` of a server the "
                                                  "operations use, is an error.")
    auth: SourceAuth | None = Field(None, description=AUTH_DESCRIPTION)
    tls: UpstreamTls | None = Field(None, description="CA bundle and client certificate for this source's HTTPS API "
                                    "requests and its description's download from the API's origin (base_url's; "
                                    "another host, and token requests, keep the default trust).")
    headers: RequestHeaders = Field(default_factory=dict, description="Headers sent with every request.")
    credential_origins: list[Annotated[str, AfterValidator(check_upstream_url)]] = Field(
        default_factory=empty_list,
        description="Other origins (absolute http(s) URLs; only scheme, host and port count) that may receive this "
        "source's credentials: an operation or path whose own `servers` name another origin than the API's "
        "(`base_url`, else the document's first server; with neither absolute, every such operation) is sent none "
        "unless its origin is listed here.",
    )
    unenforced_security: list[str] = Field(
        default_factory=empty_list,
        description="Security schemes (names under the description's `components.securitySchemes`, Swagger 2.0's "
        "`securityDefinitions`) that this deployment does not enforce, e.g. the Petstore demo's OAuth2 implicit "
        "`petstore_auth`: a security requirement (OpenAPI 3.x §4.8.30) whose other schemes are configured is met, "
        "so `validate` does not warn that its operations need them. Nothing is sent for them. A name the "
        "description does not define is an error.",
    )
    credential_parameters: list[str] = Field(
        default_factory=empty_list,
        description="Parameters (query, header or cookie, by name) that carry a credential `auth` already sends, "
        "e.g. Slack's `token`: never shown to the model nor sent, even where the description marks them required.",
    )
    path_slashes: list[str] = Field(
        default_factory=empty_list,
        description="Path parameters (by name) whose values may hold `/`, e.g. GitHub's `path` or GitLab's `id`: "
        "sent as `%2F`, which servers that decode it before routing (Starlette/FastAPI, Python's http.server) read "
        "as a separator. A `/` or `\\` in any other path value is refused, so it cannot reach another path.",
    )
    retries: int | None = Field(None, ge=0, le=10, description="Overrides `defaults.retries`.")
    max_response_bytes: ByteSize | None = Field(None, description="Overrides `defaults.max_response_bytes`.")
    descriptions: DescriptionPolicy | None = Field(None, description="Overrides `defaults.descriptions`.")


class PythonSource(SourceBase):
    """Tools from typed Python functions (and, optionally, resources and prompts)."""

    kind_key: ClassVar[str] = "python"
    kind_runtime: ClassVar[str] = "mcprt.sources.python.kind:KIND"

    python: str | list[str] = Field(
        description="`package.module:function` (or a dotted path, `module:Class.method`, as in an entry point), a list of them, or `package.module` (its public functions)."
    )
    resources: dict[str, str] = Field(
        default_factory=dict,
        description="Resources by URI or URI template (RFC 6570 levels 1–4: `{var}`, `{+path}`, `{/a,b}`, `{?q,limit}` …): "
        "`{\"notes://{id}\": module:function}`; template variables are the function's arguments.",
    )
    prompts: list[str] = Field(
        default_factory=empty_list, description="Prompts: `module:function` entries; the arguments are the prompt's."
    )
    env: dict[str, str] = Field(default_factory=dict, description=(
        "Environment variables set in mcprt's process for the source's code (`os.environ`, C's `getenv`, child "
        "processes) before its modules are imported: `NAME: ${NAME}` passes on a variable of the environment or "
        "`.env`; an empty value leaves it unset. The process has one environment: a name another python source "
        "sets to another value is an error, as are names mcprt reads itself (MCPRT_*, OTEL_*, proxy and CA "
        "variables, HOME, PATH, …). A rotated value applies on the reload its `.env` edit triggers (the "
        "source's modules are imported again, so a value read at import follows too)."))
    # as an OpenAPI source's: what a generator yields is read up to it (`defaults.max_response_bytes` alone set it)
    max_response_bytes: ByteSize | None = Field(None, description="Overrides `defaults.max_response_bytes`.")
    concurrency: int = Field(
        8, ge=1, le=64,
        description="Calls of one sync tool (a plain `def`) running at once, each in a worker thread; more wait in "
        "line, the wait counting against the call's timeout (its error then says it queued, behind how many calls); a call "
        "its timeout abandoned holds its place until its function returns. "
        "Each tool has its own threads, so a slow tool never delays the others; all sync tools of the process "
        "share at most 100 threads (above any one tool's `concurrency`). A sync resource or prompt function is "
        "bounded the same way: its reads (or gets) have a lane of their own, at most this many at once, within the "
        "same 100 threads. `async def` tools (async generators, `async def … yield`, too) run on the event loop, "
        "unbounded.",
    )


# The liveness check of a proxied MCP server, the same for `command:` and `url:` sources.
_PING_EVERY = Field(
    15.0, ge=0,
    description="Liveness check: how often a connected server is sent an MCP `ping` (a `tools/list` on a "
    "2026-07-28 connection, which has no ping); a call that times out sends one at once. A server that does not "
    "answer within `ping_timeout` is taken as hung (a frozen process answers nothing): the source shows "
    "`restarting` and is restarted like a server that exited. While any of its calls is still out (inside its "
    "timeout), a server that works one request at a time may just be busy: it is taken as hung only after 3 "
    "checks in a row went unanswered with nothing at all heard from it since the first (no answer, progress or "
    "notification). 0: no liveness check.",
)
_PING_TIMEOUT = Field(5.0, description="How long a liveness `ping` may take before the server is taken as hung.")
_RESTART_DELAY = Field(
    1.0, le=30,
    description="The wait before the first restart (or reconnection) after the server exited, hung or could not be "
    "reached; each further attempt waits twice as long, up to 30 s. The count, and so the wait, starts over once the "
    "server has stayed up for 30 s.",
)


class CommandSource(SourceBase):
    """Tools proxied from an MCP server started as a subprocess (stdio)."""

    kind_key: ClassVar[str] = "command"
    kind_runtime: ClassVar[str] = "mcprt.sources.mcp.kind:COMMAND"
    kind_note: ClassVar[str] = " (MCP server over stdio)"

    command: str | list[str] = Field(description="Program (and arguments) to start.")
    args: list[str] = Field(default_factory=empty_list, description="More arguments.")
    env: dict[str, str] = Field(default_factory=dict, description=(
        "Environment variables of the server, besides HOME, LOGNAME, PATH, SHELL, TERM and USER (the only ones "
        "it inherits from mcprt); pass on others as `NAME: ${NAME}` (an error when NAME is unset) or, when they "
        "may be unset, `NAME: ${NAME:-}` (an empty value leaves the variable unset): often HTTP_PROXY, "
        "HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, TZ, TMPDIR, DOCKER_HOST."))
    cwd: str | None = Field(None, description="Working directory, relative to the manifest.")
    startup_timeout: Duration = Field(30.0, description="Time allowed to start and list tools.")
    ping_every: DurationOrZero = _PING_EVERY
    ping_timeout: Duration = _PING_TIMEOUT
    restart_delay: Duration = _RESTART_DELAY
    resources: ItemSwitch = True  # proxied resources and templates (per-URI overrides)
    prompts: ItemSwitch = True  # proxied prompts (per-name overrides)


class UrlSource(SourceBase):
    """Tools proxied from a remote MCP server over streamable HTTP."""

    kind_key: ClassVar[str] = "url"
    kind_runtime: ClassVar[str] = "mcprt.sources.mcp.kind:URL"
    kind_note: ClassVar[str] = " (MCP server over streamable HTTP)"

    url: UpstreamUrl = Field(description="The server's MCP endpoint URL (absolute http(s), no `user:password@`).")
    headers: RequestHeaders = Field(default_factory=dict, description="Headers sent with every request.")
    auth: SourceAuth | None = Field(None, description=AUTH_DESCRIPTION)
    tls: UpstreamTls | None = Field(None, description="CA bundle and client certificate for the connection to this "
                                    "server (as an OpenAPI source's `tls`; not its token requests, which keep the "
                                    "default trust).")
    startup_timeout: Duration = Field(30.0, description="Time allowed to connect and list tools.")
    ping_every: DurationOrZero = _PING_EVERY
    ping_timeout: Duration = _PING_TIMEOUT
    restart_delay: Duration = _RESTART_DELAY
    resources: ItemSwitch = True  # proxied resources and templates (per-URI overrides)
    prompts: ItemSwitch = True  # proxied prompts (per-name overrides)


# The one registration of source kinds: each kind's model, in the order the reference lists them.
# Everything else — the manifest's source union, the schema, the reference, the pool — derives from it.
SOURCE_MODELS: dict[str, type[SourceBase]] = {
    model.kind_key: model for model in (OpenAPISource, PythonSource, CommandSource, UrlSource)
}
SOURCE_KINDS = tuple(SOURCE_MODELS)


def source_kind(value: Any) -> str | None:
    """Which source kind a raw mapping or a model is: chosen by the one kind key it has."""
    if isinstance(value, BaseModel):
        key = getattr(type(value), "kind_key", "")
        return key if SOURCE_MODELS.get(key) is type(value) else None
    if not isinstance(value, dict):
        return None
    present = [k for k in SOURCE_KINDS if k in value]
    return present[0] if len(present) == 1 else None


Source = Annotated[
    Union[tuple(Annotated[model, Tag(key)] for key, model in SOURCE_MODELS.items())],  # type: ignore[valid-type]
    Discriminator(
        source_kind,
        custom_error_type="source_kind",
        custom_error_message="a source needs exactly one of the keys " + ", ".join(f"`{k}`" for k in SOURCE_KINDS),
    ),
]


from .policy import Policy  # noqa: E402  (policy.py builds on StrictModel above)


class Manifest(StrictModel):
    """An mcprt manifest: sources of tools, how to shape them, and the server that exposes them."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="mcprt manifest",
        json_schema_extra={"$id": "https://mcprt.dev/schemas/mcprt.schema.json"},
    )

    version: Literal[1] = Field(description="Manifest format version. Always 1.")
    server: ServerConfig = Field(default_factory=ServerConfig, description="The MCP server presented to clients.")
    defaults: Defaults = Field(default_factory=Defaults, description="Settings every tool inherits.")
    include: list[str] = Field(
        default_factory=empty_list,
        description="Other manifests (paths relative to this one) whose sources are added, each with its own "
                    "manifest's `defaults:` over this one's; their other keys are ignored."
    )
    sources: dict[Annotated[str, Field(pattern=SOURCE_KEY_PATTERN)], Source] = Field(
        default_factory=dict, description="Where tools come from, by name. The name namespaces colliding tools."
    )
    policy: Policy | None = Field(None, description="Who may call what: allow/deny/approve/hide rules, "
                                  "approvals, rate limits.")
