"""Security schemes: what each operation's upstream auth must provide, and what is missing.

`missing_auth()` is what `mcprt validate` warns with: operations whose every security alternative
needs a credential the source's `auth` entries (or a fixed `headers` entry) do not configure, and operations
served from another origin, which get no credentials (`credential_access`); `unrequired_auth()` warns of an
`auth` entry that meets no scheme any operation names.

Who gets the source's credentials (`credential_access`, one rule for the call and for `validate`):
- an operation whose `security` is `[]` (OpenAPI 3.x §4.8.10, Swagger 2.0 likewise: an empty array
  removes the document's requirement) is sent none: no auth stamp, no OAuth2 token fetched;
- an operation whose own (or its path's) `servers` name another origin (RFC 6454 §4: scheme, host,
  port) than the source's API — `base_url`, else the document's first server — is sent none of the
  source's credentials, sensitive `headers` or forwarded claims, as a redirect to another host is not,
  unless that origin is listed in the source's `credential_origins`. When the API's origin is unknown
  (a local description whose servers are relative, and no `base_url`), every operation with an absolute
  server of its own counts as another origin: credentials go only where the operator said they may.
  The scheme is part of the origin: an `https` operation on the host of an `http` API is another
  origin too (its key would not be expected there either); `credential_origins` opts it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcprt.manifest.model import OpenAPISource, OutboundAuth, auth_entries
from mcprt.outbound.redirects import origin_of, origin_text
from mcprt.errors import ToolCallError, did_you_mean

if TYPE_CHECKING:
    from .compiler import CompiledOpenAPI

Requirement = tuple[tuple[str, ...], ...]  # alternatives, each a set of scheme names; () = none needed

# Request-signing schemes mcprt cannot send (it signs nothing), by the vendor extension that marks them.
# AWS API Gateway's `x-amazon-apigateway-authtype: awsSigv4` (every APIs.guru Amazon description's `hmac`).
_SIGNING = {"awssigv4": "AWS Signature Version 4"}
# The parameters a signature scheme computes per request (AWS: "Authenticating Requests: Using Query
# Parameters" and "… Using the Authorization Header", Signature Version 4): header or query, never model
# arguments — the model would be asked for a credential or a signature.
SIGNING_PARAMETERS = {"AWS Signature Version 4": (
    "X-Amz-Algorithm", "X-Amz-Content-Sha256", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Security-Token",
    "X-Amz-Signature", "X-Amz-SignedHeaders")}


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """One security scheme, reduced to what outbound auth needs (OpenAPI Security Scheme Object)."""

    name: str
    type: str  # apiKey | http | oauth2 | openIdConnect | mutualTLS | other
    scheme: str | None = None  # http: bearer, basic, …
    location: str | None = None  # apiKey: header | query | cookie
    param_name: str | None = None  # apiKey: header/query/cookie name
    flows: tuple[str, ...] = ()  # oauth2 flow names
    token_url: str | None = None  # oauth2 clientCredentials token endpoint
    signing: str | None = None  # a request-signing scheme mcprt cannot send ("AWS Signature Version 4")

    def describe(self) -> str:
        if self.signing:
            return f"`{self.name}` ({self.signing}, which mcprt does not support: it does not sign requests)"
        if self.type == "apiKey":
            return f"`{self.name}` (API key in {self.location} `{self.param_name}`)"
        if self.type == "http":
            return f"`{self.name}` (HTTP {self.scheme or 'auth'})"
        if self.type == "oauth2":
            return f"`{self.name}` (OAuth2 {', '.join(self.flows) or 'token'})"
        return f"`{self.name}` ({self.type})"


def parse_schemes(raw: dict[str, dict[str, Any]]) -> dict[str, SecurityScheme]:
    schemes: dict[str, SecurityScheme] = {}
    for name, obj in raw.items():
        kind = obj.get("type") if isinstance(obj.get("type"), str) else "other"
        signing = _SIGNING.get(str(obj.get("x-amazon-apigateway-authtype", "")).lower())
        if signing:
            schemes[name] = SecurityScheme(name, kind, signing=signing)
        elif kind == "apiKey":
            schemes[name] = SecurityScheme(
                name, kind, location=_str(obj.get("in")), param_name=_str(obj.get("name"))
            )
        elif kind == "http":
            scheme = _str(obj.get("scheme"))
            schemes[name] = SecurityScheme(name, kind, scheme=scheme.lower() if scheme else None)
        elif kind == "oauth2":
            flows = obj.get("flows") if isinstance(obj.get("flows"), dict) else {}
            cc = flows.get("clientCredentials")
            token_url = _str(cc.get("tokenUrl")) if isinstance(cc, dict) else None
            schemes[name] = SecurityScheme(name, kind, flows=tuple(str(f) for f in flows), token_url=token_url)
        else:
            schemes[name] = SecurityScheme(name, kind)
    return schemes


def is_public(security: list[dict[str, Any]] | None) -> bool:
    """Whether an operation's effective `security` says it needs no credentials at all: `[]` (or
    only empty alternatives, `[{}]`). Absent security (None) is not public: many descriptions omit
    it for APIs that do need the configured key. Optional auth (`[{}, {key: []}]`) is not public."""
    return security is not None and all(not alt for alt in security)


def requirement(security: list[dict[str, Any]] | None) -> Requirement:
    """Alternatives of an operation's `security` ([] or an empty alternative: no auth needed)."""
    if not security:
        return ()
    alternatives = tuple(tuple(str(k) for k in alt) for alt in security)
    if any(not alt for alt in alternatives):
        return ()
    return alternatives


def api_key_locations(schemes: dict[str, SecurityScheme]) -> set[tuple[str, str]]:
    """(location, name) of API-key schemes and of the parameters a signing scheme computes
    (`SIGNING_PARAMETERS`, in a header or the query): credentials, not model arguments."""
    found = set()
    for s in schemes.values():
        for name in SIGNING_PARAMETERS.get(s.signing or "", ()):
            found |= {("header", name.lower()), ("query", name)}
        if s.type == "apiKey" and s.location and s.param_name:
            name = s.param_name.lower() if s.location == "header" else s.param_name
            found.add((s.location, name))
    return found


def _satisfies(scheme: SecurityScheme, config: OpenAPISource) -> bool:
    """Whether the source sends what `scheme` needs: one of its `auth` entries, or a fixed `headers` entry."""
    if scheme.signing:
        return False  # no `auth` or header can sign a request: validate says so (`describe`)
    headers = {k.lower() for k in config.headers}
    if scheme.type == "apiKey" and scheme.location == "header" and scheme.param_name \
            and scheme.param_name.lower() in headers:
        return True
    if "authorization" in headers and scheme.type in ("http", "oauth2", "openIdConnect"):
        return True
    return any(_entry_satisfies(scheme, auth) for _, auth in auth_entries(config.auth))


def _entry_satisfies(scheme: SecurityScheme, auth: OutboundAuth) -> bool:
    """Whether one `auth` entry sends what `scheme` needs."""
    if scheme.signing:
        return False
    if scheme.type == "apiKey":
        if auth.api_key is not None:
            key = auth.api_key
            same_name = (key.name.lower() == (scheme.param_name or "").lower()) if key.in_ == "header" \
                else key.name == scheme.param_name
            return key.in_ == scheme.location and same_name
        return auth.bearer is not None and (scheme.param_name or "").lower() == "authorization"
    if scheme.type == "http":
        if scheme.scheme == "basic":
            return auth.basic is not None
        return auth.bearer is not None or auth.oauth2 is not None
    if scheme.type in ("oauth2", "openIdConnect"):
        return auth.bearer is not None or auth.oauth2 is not None
    return False


def unrequired_auth(compiled: CompiledOpenAPI, config: OpenAPISource) -> list[tuple[tuple[str | int, ...], str]]:
    """(path below the source, e.g. `("auth", 1)`, message): one warning per `auth` entry that meets no security scheme an operation's `security` names (OpenAPI 3.x
    §4.8.30), when the description names any: a typo'd key name, or a credential for another API, is sent with
    every request all the same (`mcprt validate --strict` refuses it). Entries that carry only `forward_claims`,
    and per-user `token_exchange` (the description cannot say what a token is exchanged for), are left alone."""
    named = {n for op in compiled.operations for alt in (op.security or ()) for n in alt}
    schemes = [compiled.security_schemes[n] for n in sorted(named) if n in compiled.security_schemes]
    if not schemes:
        return []
    found = []
    for at, auth in auth_entries(config.auth):
        kind = auth.kind
        if kind in (None, "token_exchange") or any(_entry_satisfies(s, auth) for s in schemes):
            continue
        where = "auth" + "".join(f"[{i}]" for i in at)
        below = ("api_key", "name") if kind == "api_key" else (kind,)  # the key a typo is in
        found.append((("auth", *at, *below), (
            f"`{where}` ({kind}{_named(auth)}) meets no security scheme the operations' `security` names "
            f"({', '.join(s.describe() for s in schemes)}): it is sent with every request all the same; check its "
            "name, or remove it")))
    return found


def _named(auth: OutboundAuth) -> str:
    return f" in {auth.api_key.in_} `{auth.api_key.name}`" if auth.api_key is not None else ""


@dataclass(frozen=True, slots=True)
class Access:
    """What one operation's requests carry of the source's credentials (see the module docstring)."""

    credentials: bool  # the source's `auth` is stamped (and its token fetched)
    foreign: bool  # the operation's server is on another origin: no credentials, sensitive headers or claims


def _origin(url: str | None) -> tuple[str, str, int | None] | None:
    try:
        return origin_of(url) if url else None
    except ToolCallError:
        return None


def credential_access(compiled: CompiledOpenAPI, config: OpenAPISource) -> list[Access]:
    """One `Access` per compiled operation, in order."""
    home = _origin(config.base_url or compiled.api_base)
    allowed = {home} | {_origin(url) for url in config.credential_origins}
    found = []
    for op in compiled.operations:
        where = _origin(op.base_url)
        foreign = where is not None and where not in allowed  # an unknown `home` allows none but those listed
        found.append(Access(credentials=not (op.public or foreign), foreign=foreign))
    return found


def _foreign_warnings(compiled: CompiledOpenAPI, config: OpenAPISource, access: list[Access] | None) -> list[str]:
    """Operations served from another origin that would have carried credentials: they get none now."""
    if config.auth is None and not config.headers:
        return []
    if access is None:
        access = credential_access(compiled, config)
    home = config.base_url or compiled.api_base
    api = (f"the API's origin ({_origin_text(home)})" if _origin(home) else
           "the API's origin, which is unknown (the description's servers are relative to a local file: set "
           "`base_url`)")
    return [
        f"operation `{op.operation.key}` is served from {_origin_text(op.base_url)}, not {api}: the source's "
        "credentials are not sent there; if that host should get them, "
        "list its origin in the source's `credential_origins`"
        for op, each in zip(compiled.operations, access, strict=True)
        if each.foreign and not op.public
    ]


def _origin_text(url: str | None) -> str:
    origin = _origin(url)
    if origin is None:
        return "an unknown origin"
    return origin_text(origin)


def missing_auth(compiled: CompiledOpenAPI, config: OpenAPISource, *,
                 access: list[Access] | None = None) -> list[str]:
    """One message per operation that needs auth the source does not configure, and per operation
    served from another origin that gets no credentials (`credential_access`). `access`: that list,
    when the caller has computed it already (opening a source binds each operation to its entry)."""
    problems: list[str] = _foreign_warnings(compiled, config, access)
    for op in compiled.operations:
        if not op.security:
            continue
        ok = False
        unenforced = set(config.unenforced_security)  # the deployment asks for none of them: met as they are
        for alternative in op.security:
            schemes = [compiled.security_schemes.get(n) for n in alternative if n not in unenforced]
            # A scheme the document does not define cannot be checked: do not warn about it.
            if all(s is None or _satisfies(s, config) for s in schemes):
                ok = True
                break
        if not ok:
            needs = " or ".join(
                " + ".join(
                    compiled.security_schemes[n].describe() if n in compiled.security_schemes else f"`{n}`"
                    for n in alt
                )
                for alt in op.security
            )
            problems.append(f"operation `{op.operation.key}` needs auth {needs}, which the source does not configure")
    return problems


def unenforced_problems(compiled: CompiledOpenAPI, config: OpenAPISource) -> list[tuple[tuple[str | int, ...], str]]:
    """(path below the source, message) for each `unenforced_security` name that is no security scheme of the
    description: a typo would leave the warning it was written to answer, or name nothing at all."""
    known = sorted(compiled.security_schemes)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, name in enumerate(config.unenforced_security):
        if name not in compiled.security_schemes:
            hint = did_you_mean(name, known) or (f" (it has: {', '.join(known)})" if known
                                                 else " (it defines no security schemes)")
            problems.append((("unenforced_security", i), f"unknown security scheme '{name}'{hint}: the description's "
                             "`components.securitySchemes` define no such scheme"))
    return problems


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
