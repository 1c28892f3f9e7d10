"""The principal: the identity a request was authenticated as.

Imports nothing from mcprt, so every layer (the call pipeline, policies, audit, templates) can read
it. The HTTP guard authenticates a request and stores its principal in the ASGI scope under
`SCOPE_KEY`; the MCP handlers read it back from the SDK's request context (`ctx.request.scope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

PrincipalKind = Literal["token", "oauth", "stdio", "anonymous"]

SCOPE_KEY = "mcprt.principal"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request.

    - `subject`: the static token's name (`server.auth.tokens` key), the OAuth `sub` claim,
      `"stdio"` for the stdio parent process, or `"anonymous"` when inbound auth is off.
    - `kind`: how the identity was established.
    - `client_id`: the OAuth client (`client_id`/`azp` claim) where there is one.
    - `scopes`: granted OAuth scopes (RFC 6749 §3.3); empty for static tokens.
    - `claims`: selected token claims (never the token itself).
    """

    subject: str
    kind: PrincipalKind
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The validated access token, kept only so a source's `token_exchange` can exchange it (RFC 8693);
    # never in repr, templates, audit records or claims, and never sent upstream as is.
    subject_token: SubjectToken | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The label used in audit records, policies (`principals:`) and metrics."""
        return self.subject

    def as_template_context(self) -> dict[str, Any]:
        """`principal.*` in templates: sub, kind, client_id, scopes (sorted), claims."""
        return {
            "sub": self.subject,
            "kind": self.kind,
            "client_id": self.client_id,
            "scopes": sorted(self.scopes),
            "claims": dict(self.claims),
        }


class SubjectToken:
    """An access token a principal was authenticated with; `str()`/`repr()` never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The token itself: only for the RFC 8693 `subject_token` parameter."""
        return self._value

    def __repr__(self) -> str:
        return "SubjectToken([redacted])"

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> SubjectToken:  # dataclasses.asdict copies fields
        return self


ANONYMOUS = Principal("anonymous", "anonymous")
STDIO = Principal("stdio", "stdio")
BEARER = "bearer"  # the principal of an unnamed static token (`server.auth.bearer_tokens`)
# Subjects mcprt gives itself. Principals share one namespace (policies, approvers and admins match
# on `subject`), so an OAuth token may not claim one of these or a static token's name.
RESERVED_SUBJECTS = frozenset({ANONYMOUS.subject, STDIO.subject, BEARER})


def subject_clash(principal: Principal, static_names: Iterable[str]) -> str | None:
    """Why an OAuth principal's subject (the token's `sub`, else its client id) cannot be a principal
    here, or None when it can: it equals a static token's name (`server.auth.tokens` key) or a reserved
    principal (`anonymous`, `stdio`, `bearer`), so policies would take the token's holder for that
    principal (e.g. an authorization-server user named like an approver's static token). Exact,
    case-sensitive comparison, as policies match. The message names the claim the name came from."""
    subject = principal.subject
    named = f"the token's subject (sub) {subject!r}" if principal.claims.get("sub") == subject else \
        f"the token's client id {subject!r} (it has no sub, so its client names the principal)"
    if subject in RESERVED_SUBJECTS:
        return f"{named} is a name mcprt reserves for its own principals; it cannot be used with OAuth here"
    if subject in set(static_names):
        return (f"{named} is also the name of a static token (server.auth.tokens) on this server; refused so it "
                "cannot act as that principal")
    return None


def attach(scope: MutableMapping[str, Any], principal: Principal) -> None:
    """Store the authenticated principal in an ASGI scope (done by the HTTP guard)."""
    scope[SCOPE_KEY] = principal


def from_scope(scope: Mapping[str, Any] | None) -> Principal | None:
    """The principal stored in an ASGI scope, or None when none was attached."""
    if scope is None:
        return None
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, Principal) else None
