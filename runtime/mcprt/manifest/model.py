"""The manifest (`mcp.yaml` / `mcp.toml`) as pydantic models.

These models are the single source of truth: the loader validates against them, the JSON Schema in
`schemas/` is generated from them, and the README's manifest reference is checked against that schema.
Every model forbids unknown keys, so a typo is an error (with a "did you mean" from the loader).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    WithJsonSchema,
    model_validator,
)

from .units import ByteSize, Duration

SOURCE_KINDS = ("openapi", "python", "command", "url")
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SOURCE_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"


class StrictModel(BaseModel):
    """Base of every manifest model: unknown keys are errors, values are immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- inbound (clients → mcprt) --------------------------------------------------------------


class HttpConfig(StrictModel):
    """Where and how the streamable HTTP transport listens."""

    host: str = Field("127.0.0.1", description="Interface to bind. Loopback by default; bind wider only with `auth`.")
    port: int = Field(8765, ge=0, le=65535, description="TCP port (0 picks a free one).")
    path: str = Field("/mcp", pattern=r"^/[A-Za-z0-9._~/-]*$", description="URL path of the MCP endpoint.")
    stateless: bool = Field(
        False, description="Stateless mode for replicas behind a load balancer (no sessions, no list_changed push)."
    )
    json_response: bool = Field(False, description="Answer POSTs with plain JSON instead of an SSE stream.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra browser Origins accepted (loopback origins are always accepted). `*` disables the check.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra Host header values accepted (DNS-rebinding protection)."
    )
    max_request_bytes: ByteSize = Field(1_000_000, description="Largest accepted request body.")
    drain_timeout: Duration = Field(
        20.0,
        description="On SIGTERM: how long calls in flight may take to finish. `/readyz` turns false at once "
        "and new requests get 503 while they drain.",
    )


class InboundAuth(StrictModel):
    """Authentication that MCP clients must present to the HTTP transport."""

    bearer_tokens: list[SecretStr] = Field(
        default_factory=list,
        description="Accepted `Authorization: Bearer` tokens. Write them as `${VAR}`, never literally. "
        "Callers presenting one are the principal `bearer`.",
    )
    tokens: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")], SecretStr] = Field(
        default_factory=dict,
        description="Named static bearer tokens: `{name: \"${VAR}\"}`. The name is the caller's principal "
        "(used by policies, the audit log and metrics).",
    )


class Budget(StrictModel):
    """Limits on what the tool list costs a model; `mcprt validate` fails when one is exceeded."""

    max_tools: int | None = Field(None, ge=1, description="Most tools the server may expose.")
    max_tools_bytes: ByteSize | None = Field(None, description="Most bytes of the whole tools/list result.")
    max_tool_bytes: ByteSize | None = Field(None, description="Most bytes of any one tool definition.")


class ServerConfig(StrictModel):
    """The MCP server mcprt presents to clients."""

    name: str = Field("mcprt", min_length=1, description="Server name reported at initialize.")
    instructions: str | None = Field(None, description="Instructions for the model, reported at initialize.")
    http: HttpConfig = Field(default_factory=HttpConfig, description="Streamable HTTP transport settings.")
    auth: InboundAuth | None = Field(None, description="Inbound authentication for the HTTP transport.")
    budget: Budget | None = Field(None, description="Tool-list budgets checked by `mcprt validate`.")
    expose: Literal["tools", "discovery"] = Field(
        "tools",
        description="`tools`: every tool is listed. `discovery`: a few meta-tools search, describe and call them.",
    )
    pinned: list[str] = Field(
        default_factory=list, description="Tools that stay directly listed in discovery mode (exposed names)."
    )
    state: str | None = Field(
        None,
        pattern=r"^(redis|rediss|unix)://\S+$",
        description="Shared state for replicas, e.g. `redis://redis:6379/0` (or `MCPRT_STATE_URL`): "
        "handshake-era sessions (any replica serves any session), approvals, rate limits, pauses and upstream "
        "OAuth tokens. Unset: everything lives in this process.",
    )


# --- shaping ----------------------------------------------------------------------------------


class AutoPrune(StrictModel):
    """Pruning applied to every JSON result after the tool's own `prune` expression."""

    drop_nulls: bool = Field(False, description="Remove object keys whose value is null.")
    drop_empty: bool = Field(False, description="Remove object keys whose value is an empty string, list or object.")
    drop_keys: list[str] = Field(
        default_factory=list, description="Glob patterns of object keys to remove at any depth, e.g. `*_url`."
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
        100_000, description="Results larger than this after pruning are shortened by structure (whole items)."
    )
    prune: AutoPrune = Field(default_factory=AutoPrune, description="Automatic pruning of JSON results.")
    descriptions: DescriptionPolicy = Field(default_factory=DescriptionPolicy, description="Description compaction.")


# --- per-tool overrides -------------------------------------------------------------------------


class ArgOverride(StrictModel):
    """Shaping of one argument. `fixed` hides the argument and always sends the value."""

    default: Any = Field(None, description="Default used when the model omits the argument (shown in the schema).")
    fixed: Any = Field(None, description="Value always sent; the argument is hidden from the model.")
    hidden: bool = Field(False, description="Hide the argument from the model (it must be optional or have a default).")
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
        "`path`, `tags`, and each argument's fixed or default value by name.",
    )
    args: dict[str, ArgOverride] = Field(default_factory=dict, description="Per-argument shaping, by argument name.")
    prune: str | None = Field(None, description="JMESPath expression applied to JSON results.")
    output: str | None = Field(None, description="Sandboxed Jinja2 template rendering the pruned `result` as text.")
    timeout: Duration | None = Field(None, description="Overrides the call time limit.")
    max_result_bytes: ByteSize | None = Field(None, description="Overrides the result size limit.")
    enabled: bool = Field(True, description="`false` removes the tool.")
    pinned: bool = Field(False, description="In discovery mode, keep this tool directly listed.")


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
    """Selects operations. Within a filter every given criterion must match; lists match any item."""

    tags: list[str] | None = Field(None, description="OpenAPI tags (exact, case-insensitive).")
    operations: list[str] | None = Field(None, description="Globs over operation keys (operationId, tool name).")
    paths: list[str] | None = Field(None, description="Globs over OpenAPI paths, e.g. `/repos/*/issues*`.")
    methods: list[HttpMethod] | None = Field(None, description="HTTP methods (any case).")
    deprecated: bool | None = Field(None, description="Match deprecated (true) or non-deprecated (false) operations.")



# --- outbound auth (mcprt → upstream) ------------------------------------------------------------


class BasicAuth(StrictModel):
    """HTTP basic credentials sent upstream."""

    username: str = Field(description="User name.")
    password: SecretStr = Field(description="Password; write `${VAR}`.")


class ApiKeyAuth(StrictModel):
    """An API key sent upstream in a header, query parameter or cookie."""

    name: str = Field(description="Header, query parameter or cookie name.")
    in_: Literal["header", "query", "cookie"] = Field("header", alias="in", description="Where the key goes.")
    value: SecretStr = Field(description="The key; write `${VAR}`.")


class OAuth2ClientCredentials(StrictModel):
    """OAuth2 client-credentials grant: mcprt fetches, caches and refreshes the token."""

    token_url: str = Field(description="Token endpoint.")
    client_id: str = Field(description="Client id.")
    client_secret: SecretStr = Field(description="Client secret; write `${VAR}`.")
    scopes: list[str] = Field(default_factory=list, description="Requested scopes.")
    audience: str | None = Field(None, description="`audience` parameter, for providers that need it.")


class OutboundAuth(StrictModel):
    """Credentials mcprt sends upstream. Exactly one kind."""

    bearer: SecretStr | None = Field(None, description="`Authorization: Bearer` token; write `${VAR}`.")
    basic: BasicAuth | None = Field(None, description="HTTP basic credentials.")
    api_key: ApiKeyAuth | None = Field(None, description="An API key in a header, query parameter or cookie.")
    oauth2: OAuth2ClientCredentials | None = Field(None, description="OAuth2 client-credentials grant.")

    @model_validator(mode="after")
    def _exactly_one(self) -> OutboundAuth:
        given = [k for k in ("bearer", "basic", "api_key", "oauth2") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("auth takes exactly one of `bearer`, `basic`, `api_key`, `oauth2`")
        return self


# --- sources ------------------------------------------------------------------------------------


class SourceBase(StrictModel):
    prefix: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{0,32}$", description="Prepended to tool names.")
    tools: dict[str, ToolOverride] = Field(default_factory=dict, description="Per-tool overrides.")
    include: OperationFilter | None = Field(None, description="Only operations matching this filter.")
    exclude: OperationFilter | None = Field(None, description="Minus operations matching this filter.")
    expose: Literal["tools", "discovery"] | None = Field(None, description="Overrides `server.expose` for this source.")
    timeout: Duration | None = Field(None, description="Overrides `defaults.timeout`.")


class OpenAPISource(SourceBase):
    """Tools from an OpenAPI 3.0/3.1 or Swagger 2.0 document."""

    openapi: str = Field(description="URL, or a path relative to the manifest, of the JSON or YAML document.")
    base_url: str | None = Field(None, description="API base URL; else the document's first server.")
    server_variables: dict[str, str] = Field(default_factory=dict, description="Values for server URL variables.")
    auth: OutboundAuth | None = Field(None, description="Upstream credentials.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers sent with every request.")
    credential_parameters: list[str] = Field(
        default_factory=list,
        description="Parameters (query, header or cookie, by name) that carry a credential `auth` already sends, "
        "e.g. Slack's `token`: never shown to the model nor sent, even where the description marks them required.",
    )
    retries: int | None = Field(None, ge=0, le=10, description="Overrides `defaults.retries`.")
    max_response_bytes: ByteSize | None = Field(None, description="Overrides `defaults.max_response_bytes`.")
    descriptions: DescriptionPolicy | None = Field(None, description="Overrides `defaults.descriptions`.")


class PythonSource(SourceBase):
    """Tools from typed Python functions (and, optionally, resources and prompts)."""

    python: str | list[str] = Field(
        description="`package.module:function`, a list of them, or `package.module` (its public functions)."
    )
    resources: dict[str, str] = Field(
        default_factory=dict,
        description="Resources by URI or URI template (RFC 6570 `{var}`): `{\"notes://{id}\": module:function}`; "
        "template variables are the function's arguments.",
    )
    prompts: list[str] = Field(
        default_factory=list, description="Prompts: `module:function` entries; the arguments are the prompt's."
    )


class CommandSource(SourceBase):
    """Tools proxied from an MCP server started as a subprocess (stdio)."""

    command: str | list[str] = Field(description="Program (and arguments) to start.")
    args: list[str] = Field(default_factory=list, description="More arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    cwd: str | None = Field(None, description="Working directory, relative to the manifest.")
    startup_timeout: Duration = Field(30.0, description="Time allowed to start and list tools.")
    resources: ItemSwitch = True  # proxied resources and templates (per-URI overrides)
    prompts: ItemSwitch = True  # proxied prompts (per-name overrides)


class UrlSource(SourceBase):
    """Tools proxied from a remote MCP server over streamable HTTP."""

    url: str = Field(description="The server's MCP endpoint URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers sent with every request.")
    auth: OutboundAuth | None = Field(None, description="Upstream credentials.")
    startup_timeout: Duration = Field(30.0, description="Time allowed to connect and list tools.")
    resources: ItemSwitch = True  # proxied resources and templates (per-URI overrides)
    prompts: ItemSwitch = True  # proxied prompts (per-name overrides)


def source_kind(value: Any) -> str | None:
    """Which source model a raw mapping is: chosen by the key it has (openapi/python/command/url)."""
    if isinstance(value, BaseModel):
        for kind, model in SOURCE_MODELS.items():
            if isinstance(value, model):
                return kind
        return None
    if not isinstance(value, dict):
        return None
    present = [k for k in SOURCE_KINDS if k in value]
    return present[0] if len(present) == 1 else None


Source = Annotated[
    Union[
        Annotated[OpenAPISource, Tag("openapi")],
        Annotated[PythonSource, Tag("python")],
        Annotated[CommandSource, Tag("command")],
        Annotated[UrlSource, Tag("url")],
    ],
    Discriminator(
        source_kind,
        custom_error_type="source_kind",
        custom_error_message="a source needs exactly one of the keys `openapi`, `python`, `command`, `url`",
    ),
]

SOURCE_MODELS: dict[str, type[SourceBase]] = {
    "openapi": OpenAPISource,
    "python": PythonSource,
    "command": CommandSource,
    "url": UrlSource,
}


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
        default_factory=list, description="Other manifests (paths relative to this one) whose sources are added."
    )
    sources: dict[Annotated[str, Field(pattern=SOURCE_KEY_PATTERN)], Source] = Field(
        default_factory=dict, description="Where tools come from, by name. The name namespaces colliding tools."
    )
    policy: Policy | None = Field(None, description="Who may call what: allow/deny/approve/hide rules, "
                                  "approvals, rate limits.")
