"""`mcprt validate` checks of a policy against the tool set it governs (at their lines).

Errors — a rule or rate limit naming what is not there is a silent hole (a misspelt `deny` leaves the
tool allowed, a misspelt rate limit counts nothing), so the manifest is refused: `mcprt up` does not
start, `validate` exits 2, a reload keeps the last good set:
- a `sources` entry naming no source of the manifest;
- a `tools` entry naming one exact tool (no `*`, `?`, `[`) that is not served and that no proxied
  (`command:`/`url:`) source could provide (`toolset.pending.may_come_from`): OpenAPI and Python tools are
  all known when the manifest compiles.

A wildcard glob that matches nothing is a warning: like a deny/hide rule fitting nothing, it is defensive,
kept for tools to come (`hide: admin_*` on an API with no admin operations yet).

A proxied server's tool list is only known once it answers, and changes while it runs (`tools/list_changed`
rebuilds the set; refusing that rebuild would keep serving tools the server dropped), so a glob one
could provide but none lists now is a warning, said again at every rebuild that still lacks it.

Warnings:
- a wildcard `tools` glob that matches no served tool (above);
- a `tools` entry such a proxied source could provide but none does now, or an
  allow/approve rule's or a rate limit's match whose tool keys each match something but fit no served
  tool together (`methods: [POST]` on a read-only API; a deny/hide rule fitting nothing is defensive);
- a rule after a catch-all rule (one that matches every call), or after a rule without `when` that
  fits every tool it fits for the same callers: it can never apply;
- parts that can never hold (`never.py`): principals no auth setting gives, clients, scopes or
  claims without OAuth (a static token's name under `clients`: it has no client), more required approvals than approvers, a `when` on a missing argument or a type
  its argument never has;
- `approve` rules without named principals (`server.auth.tokens`): approvers could not be told
  apart from callers, so nobody could decide;
- unnamed rate limits with the same `match`, `per` and window: only their counts key their buckets,
  so a reload that moves a count past the other's, or adds a twin, hands buckets over (`limits.limit_twins`);
- an approvals webhook while binding beyond loopback without `server.public_url`: its approve/deny
  links would point at the bind address.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import Diagnostic, Severity
from ..manifest.loader import LoadedManifest
from ..manifest.model import CommandSource, UrlSource, is_loopback
from ..manifest.policy import CLIENT_PRINCIPAL
from ..toolset.pending import is_glob, may_come_from, pending_for
from ..toolset.toolset import ToolSet
from .diff import STRICTNESS
from .limits import limit_twins
from ..errors import did_you_mean
from .never import never_holding
from .rules import Governed, governed, http_method, said_path

if TYPE_CHECKING:
    from ..manifest.policy import Policy, Rule


# `Diagnostic.code` of a rule's or rate limit's tool glob or source that matches nothing: `mcprt diff`
# flags one a change introduces as breaking (the calls it governed are now decided by other rules).
MATCHES_NOTHING = "policy-matches-nothing"
# What an error above says to end with: why naming nothing is refused, not merely warned about.
UNMATCHED = ": it would govern no call"
# … of a rule that refuses, approves or hides, left unreachable by a catch-all before it: the calls it
# governed are now allowed or decided by that catch-all (also breaking for `mcprt diff`).
UNREACHABLE_RULE = "policy-unreachable-rule"
# … of a `when` that fails on every call (an unknown function): an error, a warning on `mcprt diff`'s old side
WHEN_FAILS = "policy-when-fails"


def shadowed_rules(policy: Policy, entries: list[Governed], oauth: bool = True) -> list[tuple[int, int, str]]:
    """(rule, earlier rule, why) for each rule an earlier one always decides first: a catch-all, or a
    rule without `when` that fits every served tool the later one fits, for the same principals or all.
    `entries`: `rules.governed(policy, tools)` (its rules come first, in order); `oauth`: whether callers can be
    OAuth clients acting for themselves (`every_caller`, `same_principals`)."""
    compiled = [entry.compiled for entry in entries[:len(policy.rules)]]
    fitting = [frozenset(t.name for t in entry.fitting) for entry in entries[:len(policy.rules)]]
    found = []
    for i, rule in enumerate(policy.rules):
        for j in range(i):
            if compiled[j].catch_all:
                found.append((i, j, "first"))
                break
            earlier = policy.rules[j].match
            same_callers = compiled[j].principal_free or every_caller(earlier.principals, rule.match.principals, oauth) \
                and not (earlier.clients or earlier.scopes or earlier.claims) or (
                earlier.clients, earlier.scopes, earlier.claims) == (
                rule.match.clients, rule.match.scopes, rule.match.claims) and same_principals(
                policy.rules[j], rule, oauth)
            if earlier.when is None and same_callers and fitting[i] and fitting[i] <= fitting[j]:
                shown = ", ".join(sorted(fitting[i])[:3]) + (" …" if len(fitting[i]) > 3 else "")
                found.append((i, j, f"it matches ({shown}) first"))
                break
    return found


def every_caller(earlier: list[str], later: list[str], oauth: bool = True) -> bool:
    """Whether principal entries `earlier` match every caller `later` does (empty: every caller): a bare `*` is
    every caller, OAuth clients acting for themselves included (`principals` module); `client:*` every such
    client (all of them when there is no OAuth: then there are none)."""
    if "*" in earlier:
        return True
    return bool(later) and (CLIENT_PRINCIPAL + "*" in earlier or not oauth) and all(
        p.startswith(CLIENT_PRINCIPAL) for p in later)


def same_principals(earlier: Rule, later: Rule, oauth: bool = True) -> bool:
    """Whether two rules' equal `principals` lists match the same callers: not when the earlier one allows and
    the later one restricts with a plain entry other than `*` under OAuth — the later one also matches the
    clients acting for themselves whose ids that entry matches, which the earlier one does not list
    (`principals` module), so it still decides their calls."""
    if earlier.match.principals != later.match.principals:
        return False
    plain_named = any(p != "*" and not p.startswith(CLIENT_PRINCIPAL) for p in later.match.principals)
    return not (oauth and plain_named and earlier.action == "allow" and later.action != "allow")


# The one sentence on approvals over stdio: `mcprt up` on stdio warns it at the rule, `validate` notes it.
STDIO_APPROVALS = ("{what} asks a human to approve calls, and only `mcprt up --transport http` serves the approval "
                   "endpoints: over stdio (and `mcprt call`) the calls it matches are refused")


def _named(path: tuple) -> str:
    """`policy.rules.1` (the path form every manifest diagnostic uses) or `policy.default (approve)`."""
    return said_path(*path) if path[0] == "rules" else "policy.default (approve)"


def stdio_approval_warnings(loaded: LoadedManifest, severity: Severity = "warning") -> list[Diagnostic]:
    """What `mcprt up` on stdio warns at start: one finding at each approve rule (or `default`), at its line.
    `severity="note"`: what `mcprt validate` says (it cannot know the transport, so `--strict` must pass an
    HTTP setup). Not part of `check_policy`: `validate` and the other commands compile as stdio too."""
    policy = loaded.manifest.policy
    if policy is None:
        return []
    return [loaded.diagnostic(("policy", *path), STDIO_APPROVALS.format(what=_named(path)), severity=severity)
            for path in policy.approving()]


def _sources(names: list[str]) -> str:
    return ("proxied source " if len(names) == 1 else "proxied sources ") + ", ".join(f"'{n}'" for n in names)


def check_policy(loaded: LoadedManifest, toolset: ToolSet, pending: Collection[str] = (), *,
                 refuse_unmatched: bool = True) -> list[Diagnostic]:
    """The errors and warnings above, at their lines. `pending`: sources whose tools are not known yet (down since
    the start, `SyncResult.down`; and `loaded.withheld`, never opened): what a rule's match could find among their
    tools — a glob they could provide, a `sources` entry naming one, a rule fitting nothing or shadowed while one
    of them could fit it — is left for the rebuild that lists them (`toolset.pending`), where it is checked in full.
    `refuse_unmatched=False`: those errors are warnings (the old side of `mcprt diff`, compiled as it was served
    before they were errors, so a change that mends one can still be compared)."""
    policy = loaded.manifest.policy
    if policy is None:
        return []
    found: list[Diagnostic] = []
    # a withheld source (`validate --no-exec`) exists but was not opened: pending, as one that is down
    configs = {**loaded.withheld, **loaded.manifest.sources}
    pending = {*pending, *loaded.withheld, *loaded.left_out}
    names = list(toolset.tools)
    sources = {*configs, *loaded.left_out}  # a source the schema left out is still one (its error is said)

    def warn(path: tuple, message: str, code: str = "", severity: str = "warning") -> None:
        found.append(replace(loaded.diagnostic(("policy", *path), message, severity=severity), code=code))

    proxied = [name for name, config in configs.items() if isinstance(config, (CommandSource, UrlSource))]

    tools = list(toolset.tools.values())
    entries = governed(policy, tools)
    waiting = set()  # (group, index) of the matches a pending source's tools could fit
    for entry in entries:
        group, index, match, label = entry.group, entry.index, entry.match, entry.label
        if pending and (any(pending_for(configs, pending, p) for p in match.tools) or not match.tools
                        and (not match.sources or any(s in pending for s in match.sources))):
            waiting.add((group, index))
        before = len(found)
        for j, pattern in enumerate(match.tools):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in names) \
                    and not pending_for(configs, pending, pattern):
                said = f"{label}: '{pattern}' matches no tool" + did_you_mean(pattern, names)
                live = [name for name in proxied if may_come_from(configs[name], pattern)
                        and (not match.sources or name in match.sources)]  # only the sources it names can fit
                if live:  # a proxied server's list could bring it (see the module docstring)
                    warn((group, index, "match", "tools", j), said + f": {_sources(live)} lists no such tool now "
                         "(checked again whenever its tool list changes)", MATCHES_NOTHING)
                elif is_glob(pattern):  # a defensive rule kept for tools to come (`hide: admin_*`)
                    warn((group, index, "match", "tools", j), said + " now: it governs no call until a tool it "
                         "matches is served (an exact name matching nothing is an error)", MATCHES_NOTHING)
                else:
                    warn((group, index, "match", "tools", j), said + UNMATCHED, MATCHES_NOTHING, "error")
        for j, source in enumerate(match.sources):
            if source not in sources:
                warn((group, index, "match", "sources", j), f"{label}: no source named '{source}'"
                     + did_you_mean(source, sorted(sources)) + UNMATCHED, MATCHES_NOTHING, "error")
        keys = [k for k in ("tools", "sources", "methods", "annotations") if getattr(match, k)]
        # A deny or hide rule that fits no tool today is defensive (`methods: [DELETE]` in the README's
        # worked example, kept for the day the API gains one): said only for rules that grant (allow,
        # approve) and for rate limits, whose fitting nothing is the surprise.
        defensive = group == "rules" and policy.rules[index].action in ("deny", "hide")
        if len(found) == before and keys and tools and not entry.fitting and not defensive \
                and (group, index) not in waiting:
            # each key matches something alone, not together (`methods: [DELETE]` where no tool is a DELETE)
            served = sorted({m for m in map(http_method, tools) if m}) if "methods" in keys else []
            warn((group, index, "match"), f"{label} applies to no served tool: none fits its "
                 + " and ".join(keys) + (f" (the served tools' methods: {', '.join(served)})" if served else ""),
                 MATCHES_NOTHING)
    # `server.auth` left out for a schema error (a partial manifest): the checks of who can call stand aside
    auth_known = loaded.settled(("server", "auth"))
    for path, message, nothing, *severity in never_holding(policy, loaded.manifest.server.auth, entries,
                                                           auth_known=auth_known):
        if severity and severity[0] == "error":
            warn(path, message, WHEN_FAILS, "error")
        else:
            warn(path, message, MATCHES_NOTHING if nothing else "")
    oauth = loaded.manifest.server.auth is not None and loaded.manifest.server.auth.oauth is not None
    for i, earlier, why in shadowed_rules(policy, entries, oauth):
        if why != "first" and {("rules", i), ("rules", earlier)} & waiting:  # what either fits is not all known
            continue
        warn(("rules", i), f"{said_path('rules', i)} is unreachable: {said_path('rules', earlier)} matches every call {why}",
             UNREACHABLE_RULE if STRICTNESS[policy.rules[i].action] > STRICTNESS[policy.rules[earlier].action] else "")
    for i, earlier in limit_twins(policy):
        warn(("rate_limits", i), f"{said_path('rate_limits', i)} has the same match, per and window as "
             f"{said_path('rate_limits', earlier)}: "
             "give each a `name`: only their counts tell their buckets apart, so a count changed past the other's, "
             "or another such limit added, hands one's buckets to the other at a reload")
    approving = bool(policy.approving())
    auth = loaded.manifest.server.auth
    if approving and auth_known and (auth is None or not (auth.tokens or auth.oauth)):
        warn(("rules",) if policy.rules else ("default",),
             "approvals need named principals: add server.auth.tokens (or OAuth) so approvers are not the callers")
    server = loaded.manifest.server
    if policy.approvals.webhook is not None and not is_loopback(server.http.host) and server.public_base_url is None \
            and all(loaded.settled(("server", key)) for key in ("http", "public_url", "auth")):
        warn(("approvals", "webhook"), f"the webhook's approve/deny links would use the bind address "
             f"({server.http.host}; 127.0.0.1 for 0.0.0.0), which people elsewhere cannot open: set "
             "server.public_url to the URL they reach this server at (e.g. https://mcp.example.com)")
    if not refuse_unmatched:
        found = [replace(d, severity="warning") if d.code in (MATCHES_NOTHING, WHEN_FAILS) else d for d in found]
    return found

