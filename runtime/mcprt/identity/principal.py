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
    - `by_client`: the token's client acts for itself (RFC 6749 §4.4, client credentials): it has no `sub`,
      so its client id names the principal, or its `sub` is its client id (RFC 9068 §2.2). Such a principal
      is another caller than a user whose `sub` is that id: `owner` keeps them apart wherever a caller's
      records or allowances are keyed, and what grants in a policy (`allow` rules, approvers, admins) lists
      it only by `client:<id>` entries or a bare `*` (`label`; `mcprt.policy.principals`), never by a plain
      name; rules and limits that restrict still match it by one.
    """

    subject: str
    kind: PrincipalKind
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The validated access token, kept only so a source's `token_exchange` can exchange it (RFC 8693);
    # never in repr, templates, audit records or claims, and never sent upstream as is.
    subject_token: SubjectToken | None = field(default=None, repr=False, compare=False)
    by_client: bool = False

    @property
    def owner(self) -> str:
        """Who this caller is, as a key of what belongs to one caller (recent calls and approval requests
        on the status page, approval keys, tasks, sessions, per-caller rate limits): `owner_key`."""
        return owner_key(self.subject, self.by_client)

    @property
    def name(self) -> str:
        """The name in audit records (`principal`, with `principal_by_client` telling a client acting for itself
        from a user of that name) and the status page's recent calls. Policies do not match on it alone: see
        `label`."""
        return self.subject

    @property
    def label(self) -> str:
        """How policies write this caller, and how messages and approval votes name it: `principal_label`."""
        return principal_label(self.subject, self.by_client)

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


def owner_key(subject: str, by_client: bool = False) -> str:
    """The owner key of a caller named `subject`: the name itself, or for a principal named by its OAuth
    client id (`Principal.by_client`) `client` + U+001F + the id — no principal's name holds U+001F
    (`subject_clash` refuses a `sub` with a control character), so a user whose `sub` equals a client id
    is never that client. Users keep their plain names: keys stored before this rule stay theirs."""
    return f"client\x1f{subject}" if by_client else subject


def principal_label(subject: str, by_client: bool = False) -> str:
    """A caller as a policy's `principals`/`approvers`/`admins` write it: `client:<id>` for an OAuth client
    acting for itself (`Principal.by_client`), else its name — so a refusal, a vote or an approver list never
    shows a client as the user or admin whose name its id happens to be. For people to read; identity
    comparisons use `owner_key` (a user may be named `client:x`)."""
    return f"client:{subject}" if by_client else subject


ANONYMOUS = Principal("anonymous", "anonymous")
STDIO = Principal("stdio", "stdio")
BEARER = "bearer"  # the principal of an unnamed static token (`server.auth.bearer_tokens`)
# Subjects mcprt gives itself. Users, static tokens and mcprt's own principals share one namespace (policies,
# approvers and admins match their plain entries on `subject`; a client acting for itself is granted by `client:`
# ones only),
# so an OAuth token may not claim one of these or a static token's name.
RESERVED_SUBJECTS = frozenset({ANONYMOUS.subject, STDIO.subject, BEARER})


def subject_clash(principal: Principal, static_names: Iterable[str]) -> str | None:
    """Why an OAuth principal's subject (the token's `sub`, else its client id) cannot be a principal
    here, or None when it can: it equals a static token's name (`server.auth.tokens` key) or a reserved
    principal (`anonymous`, `stdio`, `bearer`), so policies would take the token's holder for that
    principal (e.g. an authorization-server user named like an approver's static token). Exact,
    case-sensitive comparison, as policies match. The message names the claim the name came from."""
    subject = principal.subject
    if any(ord(c) < 0x20 or c == "\x7f" for c in subject):
        return (f"the token's {'client id' if principal.by_client else 'subject (sub)'} {subject!r} holds a control "
                "character; refused so it cannot pass for another principal (`owner_key`)")
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


def challenge_scopes(granted: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The `scope=` of an `insufficient_scope` challenge: the scopes the token holds (sorted), then those
    it lacks in the order given. MCP authorization 2025-11-25, "Scope Challenge Handling": a client
    re-authorizes for this set, so keeping what was granted means a stepped-up token loses nothing."""
    held = sorted(set(granted))
    return [*held, *(s for s in dict.fromkeys(wanted) if s not in held)]
