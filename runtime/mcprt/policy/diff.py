"""What changed in the `policy:` block between two manifests, for `mcprt diff`.

A change that lets an agent do more than before — a refusing rule removed or weakened (its match
narrowed: fewer tools, callers or OAuth clients), an `allow` rule widened (more of them), a default
or action made more permissive, fewer approvals needed, a rate limit raised or removed — is
*loosened* and flagged like a breaking change: it is the kind of change a reviewer must not miss.
Rules are paired by `name` where they have one, else by position; rate limits as their buckets are
(`limits.limit_identities`), then the rest like rules — a pair that does not share buckets says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..manifest.policy import Match, Policy, RateLimit, Rule, client_literal
from ..wording import json_excerpt
from .limits import limit_identities
from .principals import client_covers, covers, entry_literal

STRICTNESS = {"allow": 0, "approve": 1, "deny": 2, "hide": 2}
_LISTS = ("tools", "sources", "principals", "clients", "scopes", "methods")
# the `match` lists of patterns: shell globs (`rules.glob_regex`), `clients` literal but for `*` (`client_regex`)
_GLOBS = frozenset({"tools", "principals", "clients"})


@dataclass(frozen=True)
class PolicyChange:
    kind: str  # "policy rule removed", "policy default changed", …
    detail: str
    loosened: bool


def compare_policies(old: Policy | None, new: Policy | None) -> list[PolicyChange]:
    if old is None and new is None:
        return []
    if new is None:
        return [PolicyChange("policy removed", "every call is allowed now", True)]
    if old is None:
        return [PolicyChange("policy added", f"{len(new.rules)} rule(s), default {new.default}", False)]
    changes: list[PolicyChange] = []
    if old.default != new.default:
        changes.append(PolicyChange("policy default changed", f"{old.default} → {new.default}",
                                    STRICTNESS[new.default] < STRICTNESS[old.default]))
    changes += _rule_changes(old, new)
    changes += _approval_changes(old, new)
    changes += _limit_changes(old, new)
    return changes


def _label(rule: Rule | RateLimit, index: int, group: str) -> str:
    return f"{group}[{index}]" + (f" ({rule.name})" if rule.name else "")


def _pair(old: list[Any], new: list[Any]) -> tuple[list[tuple[int, Any, int, Any]], list[tuple[int, Any]],
                                                    list[tuple[int, Any]]]:
    """(paired, removed, added) by name, then by position among the unnamed."""
    new_named = {r.name: (i, r) for i, r in enumerate(new) if r.name}
    old_unnamed = [(i, r) for i, r in enumerate(old) if not r.name]
    new_unnamed = [(i, r) for i, r in enumerate(new) if not r.name]
    paired, removed, added = [], [], []
    for i, rule in enumerate(old):
        if rule.name:
            if rule.name in new_named:
                j, other = new_named.pop(rule.name)
                paired.append((i, rule, j, other))
            else:
                removed.append((i, rule))
    for k in range(max(len(old_unnamed), len(new_unnamed))):
        if k < len(old_unnamed) and k < len(new_unnamed):
            paired.append((*old_unnamed[k], *new_unnamed[k]))
        elif k < len(old_unnamed):
            removed.append(old_unnamed[k])
        else:
            added.append(new_unnamed[k])
    added += list(new_named.values())
    return paired, removed, added


def _rule_changes(old_policy: Policy, new_policy: Policy) -> list[PolicyChange]:
    changes = []
    paired, removed, added = _pair(old_policy.rules, new_policy.rules)
    for i, rule in removed:
        changes.append(PolicyChange("policy rule removed", f"{_label(rule, i, 'rules')}: {_describe(rule)}",
                                    rule.action != "allow"))
    for j, rule in added:
        changes.append(PolicyChange("policy rule added", f"{_label(rule, j, 'rules')}: {_describe(rule)}",
                                    rule.action == "allow"))
    for i, before, j, after in paired:
        if before == after and i == j:
            continue
        label = _label(after, j, "rules")
        if before.action != after.action:
            changes.append(PolicyChange("policy rule action changed", f"{label}: {before.action} → {after.action}",
                                        STRICTNESS[after.action] < STRICTNESS[before.action]))
        if before.match != after.match:
            # a refusing (or approving) rule that may match fewer calls refuses less; an `allow` rule that may
            # match more calls — more callers, more clients, a constraint dropped — allows more
            loosened = _narrowed(before.match, after.match) if STRICTNESS[after.action] > 0 else \
                after.action == before.action and _narrowed(after.match, before.match)
            changes.append(PolicyChange(
                "policy rule match changed", f"{label}: {_shown(_dump(before.match))} → {_shown(_dump(after.match))}"
                + _who(before, after) + _who(before, after, "clients"), loosened))
        if before.reason != after.reason:
            changes.append(PolicyChange("policy rule reason changed", f"{label}: {before.reason or '(none)'} → "
                                        f"{after.reason or '(none)'}", False))
        if before.approvals != after.approvals:  # compared as in force: the rule's own value, else policy.approvals
            quorum = _quorum_changes(_quorum(old_policy, before), _quorum(new_policy, after), f"{label} ")
            quorum += _uses_changes(old_policy.approvals.in_force(before.approvals).uses,
                                    new_policy.approvals.in_force(after.approvals).uses, f"{label} ")
            # the quorum in force unchanged (say, only `wait`): the edit is still shown, as it was before
            changes += quorum or [PolicyChange("policy rule settings changed", f"{label}: approvals "
                                               f"{_shown(_settings(before))} → {_shown(_settings(after))}", False)]
        if i != j and before.match == after.match and before.action == after.action:
            changes.append(PolicyChange("policy rule moved", f"{label}: was rules[{i}]", after.action == "allow"))
    return changes


def _who(before: Rule, after: Rule, key: str = "principals") -> str:
    """Whom a change of a rule's `principals` (or, `key="clients"`, its OAuth `clients`) concerns, in the
    words of its action: ` (now hidden from: carol; no longer applies to: bob)`, ` (now denied to clients:
    evil-app)`. Only literal names are named, and only those the other side's patterns did not already cover
    (`ops-*` → `ops-a` gains nobody); a change of glob patterns is said as such. An empty list means every
    principal (for `clients`, every caller: with a client or none)."""
    was, now = getattr(before.match, key), getattr(after.match, key)
    if set(was) == set(now):
        return ""
    verb = {"allow": "now allowed for", "deny": "now denied to", "approve": "now needs approval for",
            "hide": "now hidden from"}[after.action]
    whom, every = ("clients ", "every caller") if key == "clients" else ("", "everyone")
    if not was or not now:
        part = f"{verb} only {whom}{', '.join(now)} (was: {every})" if now and whom else \
            f"{verb} only: {', '.join(now)} (was: {every})" if now else \
            f"{verb}: {every} (was: {whom}{', '.join(was)})"
        return f" ({part})"
    # each side read as its action reads it: a plain entry of a restricting rule covers clients of its id too
    gained = [name for name in now if _literal(name, key) and not _covered(name, was, key, before.action == "allow")]
    lost = [name for name in was if _literal(name, key) and not _covered(name, now, key, after.action == "allow")]
    parts = [f"{verb} {whom.strip()}: {', '.join(sorted(gained))}".replace(" :", ":")] if gained else []
    parts += [f"no longer applies to {whom.strip()}: {', '.join(sorted(lost))}".replace(" :", ":")] if lost else []
    globs_before = sorted(p for p in was if not _literal(p, key))
    globs_now = sorted(p for p in now if not _literal(p, key))
    if globs_before != globs_now:
        parts.append(f"{'client ' if whom else ''}pattern changed: {', '.join(globs_before) or '(none)'} → "
                     f"{', '.join(globs_now) or '(none)'}")
    return f" ({'; '.join(parts)})" if parts else ""


def _literal(pattern: str, key: str = "principals") -> bool:
    if key == "clients":  # literal but for `*` (`manifest.policy.client_regex`)
        return client_literal(pattern) is not None
    return entry_literal(pattern) is not None  # `client:ID` read as a `clients` entry (`principals` module)


def _covered(name: str, patterns: list[str], key: str = "principals", grants: bool = True) -> bool:
    if key == "clients":
        return any(client_covers(p, name) for p in patterns)
    return any(covers(p, name, grants) for p in patterns)  # two namespaces, `*` over both (`principals` module)


def _settings(rule: Rule) -> dict[str, Any]:
    return rule.approvals.model_dump(exclude_none=True) if rule.approvals is not None else {}


def _narrowed(before: Match, after: Match) -> bool:
    """True when `after` may match fewer calls than `before` (a refusing rule then refuses less)."""
    for key in _LISTS:
        was, now = getattr(before, key), getattr(after, key)
        # a new constraint, or an entry the new list does not cover (an empty list matches more, not less);
        # a glob key's entry is covered by a pattern matching it (`known-app` by `known-*`, not the reverse)
        dropped = [e for e in was if not _covered(e, now, key)] if key in _GLOBS else set(was) - set(now)
        if (not was and now) or (was and now and dropped):
            return True
    if before.annotations != after.annotations and set(after.annotations.items()) - set(before.annotations.items()):
        return True
    if dict(before.claims) != dict(after.claims) and after.claims:
        return True
    return before.when != after.when and after.when is not None


def _quorum(policy: Policy, rule: Rule) -> tuple[int, list[str]]:
    """(required, approvers) in force for an `approve` rule's calls."""
    in_force = policy.approvals.in_force(rule.approvals)
    return in_force.required, list(in_force.approvers)


def _quorum_changes(before: tuple[int, list[str]], after: tuple[int, list[str]], prefix: str = "") -> list[PolicyChange]:
    """Fewer approvals needed, or more people (or anyone) who may approve, is a loosening; the
    approvers change names who gains and who loses the right to decide."""
    (was_required, was), (now_required, now) = before, after
    changes = []
    if was_required != now_required:
        changes.append(PolicyChange(f"{prefix}approvals required changed", f"{was_required} → {now_required}",
                                    now_required < was_required))
    if set(was) != set(now):
        gained, lost = sorted(set(now) - set(was)), sorted(set(was) - set(now))
        who = [f"may now decide: {', '.join(gained)}"] if gained and was else []
        who += [f"may no longer decide: {', '.join(lost)}"] if lost and now else []
        # more people may decide: a name added to a list, or the list dropped (anyone may); from anyone
        # to a list narrows, whatever it names
        more = (bool(gained) and bool(was)) or (bool(was) and not now)
        changes.append(PolicyChange(f"{prefix}approvers changed", f"{', '.join(was) or '(anyone)'} → "
                                    f"{', '.join(now) or '(anyone)'}" + (f" ({'; '.join(who)})" if who else ""), more))
    return changes


# `approvals.uses` from the fewest calls one approval runs to the most: toward `valid_for` is a loosening
_USES_ORDER = ("once", "auto", "valid_for")


def _uses_changes(before: str, after: str, prefix: str = "") -> list[PolicyChange]:
    """A change of how many calls one approval runs (`approvals.uses`); more calls is a loosening."""
    if before == after:
        return []
    return [PolicyChange(f"{prefix}approval uses changed", f"{before} → {after}",
                         _USES_ORDER.index(after) > _USES_ORDER.index(before))]


def _approval_changes(old: Policy, new: Policy) -> list[PolicyChange]:
    a, b = old.approvals, new.approvals
    changes = _quorum_changes((a.required, a.approvers), (b.required, b.approvers))
    changes += _uses_changes(a.uses, b.uses)
    if a.valid_for != b.valid_for:
        changes.append(PolicyChange("approval validity changed", f"{a.valid_for:g} s → {b.valid_for:g} s",
                                    b.valid_for > a.valid_for))
    if a.wait != b.wait:
        changes.append(PolicyChange("approval wait changed", f"{a.wait:g} s → {b.wait:g} s", False))
    if set(old.admins) != set(new.admins):
        changes.append(PolicyChange("policy admins changed", f"{', '.join(old.admins) or '(default)'} → "
                                    f"{', '.join(new.admins) or '(default)'}", bool(set(new.admins) - set(old.admins))
                                    or (bool(old.admins) and not new.admins)))
    return changes


def _limit_changes(old_policy: Policy, new_policy: Policy) -> list[PolicyChange]:
    """Limits keeping their buckets are paired first (so reordering unnamed twins, which keeps each
    one's buckets, is no change); the others by name, else position, and such a pair is marked as
    starting from fresh buckets (the reviewer sees the calls already made stop counting)."""
    old, new = old_policy.rate_limits, new_policy.rate_limits
    old_at = {identity: i for i, identity in enumerate(limit_identities(old_policy))}
    kept = [(old_at[identity], j) for j, identity in enumerate(limit_identities(new_policy)) if identity in old_at]
    old_rest = [i for i in range(len(old)) if i not in {i for i, _ in kept}]
    new_rest = [j for j in range(len(new)) if j not in {j for _, j in kept}]
    paired, removed, added = _pair([old[i] for i in old_rest], [new[j] for j in new_rest])
    changes = []
    for i, limit in removed:
        changes.append(PolicyChange("rate limit removed", f"{_label(limit, old_rest[i], 'rate_limits')}: "
                                    f"{_rate(limit)}", True))
    for j, limit in added:
        changes.append(PolicyChange("rate limit added", f"{_label(limit, new_rest[j], 'rate_limits')}: {_rate(limit)}",
                                    False))
    pairs = [(old[i], j, new[j], "") for i, j in kept]
    pairs += [(before, new_rest[j], after, " (new buckets: the calls already made stop counting)")
              for _, before, j, after in paired]
    for before, j, after, fresh in sorted(pairs, key=lambda pair: pair[1]):
        if before == after:
            continue
        faster = after.limit[0] / after.limit[1] > before.limit[0] / before.limit[1] or after.limit[0] > before.limit[0]
        wider = before.per != after.per and after.per in ("principal", "principal_tool", "client") and before.per == "global"
        changes.append(PolicyChange("rate limit changed", f"{_label(after, j, 'rate_limits')}: {_rate(before)} → "
                                    f"{_rate(after)}{fresh}", faster or wider or _narrowed(before.match, after.match)))
    return changes


def _rate(limit: RateLimit) -> str:
    count, seconds = limit.limit
    return f"{count} per {seconds:g} s per {limit.per}"


def _describe(rule: Rule) -> str:
    return f"{rule.action} {_shown(_dump(rule.match))}" + (f" ({rule.reason})" if rule.reason else "")


def _dump(match: Match) -> dict[str, Any]:
    return match.model_dump(exclude_defaults=True)


def _shown(value: Any) -> str:
    return json_excerpt(value, None)  # a rule is shown whole: a clipped match could hide who gains access
