"""Principal patterns: what an entry of a rule's `principals`, of `approvers` or of `admins` matches — the one
rule, used wherever a caller is matched by name (rules and rate limits, who decides approvals and whose votes a
quorum counts, who administers, `mcprt validate`, `mcprt diff`).

Two namespaces (`manifest.policy.CLIENT_PRINCIPAL`):

- a plain entry — a name or shell glob (`alice`, `ops-*`, `*`) — matches users (an OAuth `sub`), static tokens,
  `bearer`, `stdio`, `anonymous`, by `Principal.subject`; never an OAuth client acting for itself;
- a `client:` entry — `client:ci-bot`, `client:*` — matches only an OAuth client acting for itself
  (`Principal.by_client`: a client-credentials token, RFC 6749 §4.4), by its client id, the rest of the entry
  read as a `clients` entry is (literal but for `*`: `manifest.policy.client_regex`).

Why: the authorization server, not the operator, assigns client ids, so a client whose id equals a user's or an
admin's name passed for them — approved, listed every pending approval, matched `principals: [alice]`. A fleet
that relied on a client-credentials token matching a plain name writes `client:<id>` now; `namesakes` finds the
plain entries that used to match one, so refusals can say so.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..identity.principal import Principal, principal_label
from ..manifest.policy import CLIENT_PRINCIPAL, client_regex


@dataclass(frozen=True, slots=True)
class PrincipalPatterns:
    """A principal list compiled: `names` fullmatches a user's or static token's subject (plain entries),
    `clients` a client-acting-for-itself's id (`client:` entries); None where the list has no such entry."""

    names: re.Pattern[str] | None
    clients: re.Pattern[str] | None
    plain: tuple[str, ...]  # the plain entries as written (for `namesakes`)

    def matches(self, subject: str, by_client: bool = False) -> bool:
        """Whether the caller named `subject` (a client acting for itself when `by_client`) is listed."""
        pattern = self.clients if by_client else self.names
        return pattern is not None and pattern.fullmatch(subject) is not None

    def fits(self, principal: Principal) -> bool:
        return self.matches(principal.subject, principal.by_client)


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> PrincipalPatterns:
    plain = tuple(p for p in patterns if not p.startswith(CLIENT_PRINCIPAL))
    clients = [p[len(CLIENT_PRINCIPAL):] for p in patterns if p.startswith(CLIENT_PRINCIPAL)]
    return PrincipalPatterns(
        re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in plain)) if plain else None,
        re.compile("|".join(f"(?:{client_regex(p)})" for p in clients), re.DOTALL) if clients else None,
        plain)


def compiled(patterns: Iterable[str]) -> PrincipalPatterns:
    """`patterns` (manifest entries, validated at load) compiled, cached per list."""
    return _compiled(tuple(patterns))


def listed(principal: Principal, patterns: Iterable[str]) -> bool:
    """Whether `principal` is one of `patterns` (a `principals`, `approvers` or `admins` list)."""
    return compiled(patterns).fits(principal)


def namesakes(principal: Principal, patterns: Iterable[str]) -> tuple[str, ...]:
    """The plain entries of `patterns` that match `principal`'s subject although it is a client acting for
    itself, so they do not list it (they did before `client:` entries): what a refusal names so an operator
    upgrading sees why. Empty for any other principal."""
    if not principal.by_client:
        return ()
    return tuple(p for p in compiled(patterns).plain if fnmatch.fnmatchcase(principal.subject, p))


def upgrade_hint(principal: Principal, patterns: Iterable[str]) -> str:
    """`` — 'ops' matches users and static tokens only; write `client:ops` for the OAuth client ops acting for
    itself`` when a plain entry of `patterns` names `principal`'s id (`namesakes`), else ``."""
    found = namesakes(principal, patterns)
    if not found:
        return ""
    shown = ", ".join(f"'{p}'" for p in found)
    return (f" — {shown} match{'es' if len(found) == 1 else ''} users and static tokens only; write "
            f"`{principal_label(principal.subject, True)}` for the OAuth client {principal.subject} acting for itself")
