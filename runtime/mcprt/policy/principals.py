"""Principal patterns: what an entry of a rule's `principals`, of a rate limit's, of `approvers` or of `admins`
matches — the one rule, used wherever a caller is matched by name (rules and rate limits, who decides approvals
and whose votes a quorum counts, who administers, `mcprt validate`, `mcprt diff`, `mcprt test` cases).

Two namespaces (`manifest.policy.CLIENT_PRINCIPAL`):

- a plain entry — a name or shell glob (`alice`, `ops-*`) — names users (an OAuth `sub`), static tokens,
  `bearer`, `stdio`, `anonymous`, by `Principal.subject`;
- a `client:` entry — `client:ci-bot`, `client:*` — names only an OAuth client acting for itself
  (`Principal.by_client`: a client-credentials token, RFC 6749 §4.4), by its client id, the rest of the entry
  read as a `clients` entry is (literal but for `*`: `manifest.policy.client_regex`); never a user or static
  token, whatever its name;
- a bare `*` names every caller, clients acting for themselves included: it names nobody, so no client id can
  collide with it (`admins: ["*"]` means what the empty default means).

Where a match GRANTS something — an `allow` rule, `approvers`, `admins` (`grants=True`) — a plain entry other
than `*` never matches a client acting for itself. Why: the authorization server, not the operator, assigns
client ids, so a client whose id equals a user's or an admin's name passed for them (approved, listed every
pending approval, rode `principals: [alice]`). Where a match RESTRICTS — `deny`, `approve` and `hide` rules and
rate limits (`grants=False`) — a plain entry still matches a client acting for itself whose id it matches, as it
did before `client:` entries: that can only restrict a namesake client further (fail closed), while reading
such rules by namespace silently lifted a deny, a hide, an approval or a limit from every such client on upgrade
(review of branch principals, problem 1).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..identity.principal import Principal, principal_label
from ..manifest.policy import CLIENT_PRINCIPAL, client_literal, client_regex

EVERY = "*"  # the entry that names every caller, in both namespaces

# What a refused caller acting for itself is told (an HTTP 403, a refused vote): how such a caller is listed, never
# which entries of the operator's lists name its id (problem 2 of the review: that told an external client the
# admins' and rules' patterns); those go to the log and the audit record (`upgrade_hint`).
CALLER_HINT = " (an OAuth client acting for itself is listed only as `client:<id>`)"


@dataclass(frozen=True, slots=True)
class PrincipalPatterns:
    """A principal list compiled: `names` fullmatches a user's or static token's subject (the plain entries),
    `clients` a client-acting-for-itself's id (`client:` entries and a bare `*`); None where there is none."""

    names: re.Pattern[str] | None
    clients: re.Pattern[str] | None
    plain: tuple[str, ...]  # the plain entries as written, `*` aside (for `namesakes`)

    def matches(self, subject: str, by_client: bool = False, grants: bool = True) -> bool:
        """Whether the caller named `subject` (a client acting for itself when `by_client`) is listed; where the
        list restricts (`grants=False`) a plain entry matches such a client too (the module docstring)."""
        if not by_client:
            return self.names is not None and self.names.fullmatch(subject) is not None
        if self.clients is not None and self.clients.fullmatch(subject) is not None:
            return True
        return not grants and self.names is not None and self.names.fullmatch(subject) is not None

    def fits(self, principal: Principal, grants: bool = True) -> bool:
        return self.matches(principal.subject, principal.by_client, grants)


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> PrincipalPatterns:
    plain = tuple(p for p in patterns if not p.startswith(CLIENT_PRINCIPAL))
    clients = [client_regex(p[len(CLIENT_PRINCIPAL):]) for p in patterns if p.startswith(CLIENT_PRINCIPAL)]
    clients += [".*"] if EVERY in plain else []
    return PrincipalPatterns(
        re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in plain)) if plain else None,
        re.compile("|".join(f"(?:{c})" for c in clients), re.DOTALL) if clients else None,
        tuple(p for p in plain if p != EVERY))


def compiled(patterns: Iterable[str]) -> PrincipalPatterns:
    """`patterns` (manifest entries, validated at load) compiled, cached per list."""
    return _compiled(tuple(patterns))


def listed(principal: Principal, patterns: Iterable[str]) -> bool:
    """Whether `principal` is one of `patterns` where being listed grants (`approvers`, `admins`)."""
    return compiled(patterns).fits(principal)


def namesakes(principal: Principal, patterns: Iterable[str]) -> tuple[str, ...]:
    """The plain entries of `patterns` (`*` aside) that match `principal`'s subject although it is a client acting
    for itself, so where they grant they do not list it (they did before `client:` entries): what the operator's
    record of a refusal names, so one upgrading sees why. Empty for any other principal."""
    if not principal.by_client:
        return ()
    return tuple(p for p in compiled(patterns).plain if fnmatch.fnmatchcase(principal.subject, p))


def upgrade_hint(principal: Principal, patterns: Iterable[str]) -> str:
    """`` — 'ops' matches users and static tokens only; write `client:ops` for the OAuth client ops acting for
    itself`` when a plain entry of `patterns` names `principal`'s id (`namesakes`), else ``. For the log and the
    audit record only: it tells the operator's entries (`CALLER_HINT` is what the caller reads)."""
    found = namesakes(principal, patterns)
    if not found:
        return ""
    shown = ", ".join(f"'{p}'" for p in found)
    return (f" — {shown} match{'es' if len(found) == 1 else ''} users and static tokens only; write "
            f"`{principal_label(principal.subject, True)}` for the OAuth client {principal.subject} acting for itself")


def caller_hint(principal: Principal) -> str:
    """`CALLER_HINT` for a client acting for itself, else ``."""
    return CALLER_HINT if principal.by_client else ""


def caller_named(name: str) -> Principal:
    """The caller a policy names `name`, written as its entries are: `client:ID` is the OAuth client ID acting for
    itself, any other name a static token's (`mcprt diff`'s decisions, `mcprt test`'s `principal:`)."""
    if name.startswith(CLIENT_PRINCIPAL):
        client = name[len(CLIENT_PRINCIPAL):]
        return Principal(client, "oauth", client_id=client, by_client=True)
    return Principal(name, "token")


def entry_literal(entry: str) -> str | None:
    """The one caller an entry names, written as entries are (`client:ID` for a client acting for itself, whose id
    is literal but for `*`), or None for a glob."""
    if entry.startswith(CLIENT_PRINCIPAL):
        client = client_literal(entry[len(CLIENT_PRINCIPAL):])
        return None if client is None else CLIENT_PRINCIPAL + client
    return None if set(entry) & set("*?[") else entry


def client_covers(pattern: str, name: str) -> bool:
    """Whether the `clients` entry `pattern` matches every client id the `clients` entry `name` does (a literal
    `name` is unescaped first; a glob is covered only by its equal)."""
    literal = client_literal(name)
    return re.fullmatch(client_regex(pattern), literal if literal is not None else name, re.DOTALL) is not None \
        or pattern == name


def covers(entry: str, name: str, grants: bool = True) -> bool:
    """Whether the entry `entry` lists the caller `name` written as entries are (`client:ID` or a plain name; a
    glob only as a glob's text): a bare `*` covers every caller, else only within one namespace — but where the
    list restricts (`grants=False`) a plain entry also covers `client:` names whose id it matches (the module
    docstring). `mcprt diff` (who a rule gained or lost) and `mcprt validate` (an entry no caller fits) ask it."""
    if entry == EVERY:
        return True
    if not grants and not entry.startswith(CLIENT_PRINCIPAL) and name.startswith(CLIENT_PRINCIPAL):
        return fnmatch.fnmatchcase(name[len(CLIENT_PRINCIPAL):], entry)
    if entry.startswith(CLIENT_PRINCIPAL) != name.startswith(CLIENT_PRINCIPAL):
        return False
    if entry.startswith(CLIENT_PRINCIPAL):
        return client_covers(entry[len(CLIENT_PRINCIPAL):], name[len(CLIENT_PRINCIPAL):])
    return fnmatch.fnmatchcase(name, entry)
