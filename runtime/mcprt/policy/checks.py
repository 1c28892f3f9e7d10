"""`mcprt validate` checks of a policy against the tool set it governs (warnings, at their lines).

- a `tools` glob or a `sources` entry that matches nothing (a typo, or a tool renamed away);
- a rule after a catch-all rule (one that matches every call): it can never apply;
- `approve` rules without named principals (`server.auth.tokens`): approvers could not be told
  apart from callers, so nobody could decide;
- an approvals webhook while binding beyond loopback without `server.public_url`: its approve/deny
  links would point at the bind address.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.model import is_loopback
from ..toolset.toolset import ToolSet
from .diff import STRICTNESS
from .rules import CompiledMatch


# `Diagnostic.code` of a rule's or rate limit's tool glob or source that matches nothing: `mcprt diff`
# flags one a change introduces as breaking (the calls it governed are now decided by other rules).
MATCHES_NOTHING = "policy-matches-nothing"
# … of a rule that refuses, approves or hides, left unreachable by a catch-all before it: the calls it
# governed are now allowed or decided by that catch-all (also breaking for `mcprt diff`).
UNREACHABLE_RULE = "policy-unreachable-rule"


def check_policy(loaded: LoadedManifest, toolset: ToolSet) -> list[Diagnostic]:
    policy = loaded.manifest.policy
    if policy is None:
        return []
    found: list[Diagnostic] = []
    names = list(toolset.tools)
    sources = set(loaded.manifest.sources)

    def warn(path: tuple, message: str, code: str = "") -> None:
        found.append(replace(loaded.diagnostic(("policy", *path), message, severity="warning"), code=code))

    entries = [("rules", i, r.match) for i, r in enumerate(policy.rules)]
    entries += [("rate_limits", i, l.match) for i, l in enumerate(policy.rate_limits)]
    for group, index, match in entries:
        for j, pattern in enumerate(match.tools):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
                hint = did_you_mean(pattern, names)
                warn((group, index, "match", "tools", j), f"{group}[{index}]: '{pattern}' matches no tool" + hint,
                     MATCHES_NOTHING)
        for j, source in enumerate(match.sources):
            if source not in sources:
                warn((group, index, "match", "sources", j), f"{group}[{index}]: no source named '{source}'"
                     + did_you_mean(source, sorted(sources)), MATCHES_NOTHING)
    catch_all = None
    for i, rule in enumerate(policy.rules):
        if catch_all is not None:
            warn(("rules", i), f"rules[{i}] is unreachable: rules[{catch_all}] matches every call first",
                 UNREACHABLE_RULE if STRICTNESS[rule.action] > STRICTNESS[policy.rules[catch_all].action] else "")
            continue
        if CompiledMatch.build(rule.match).catch_all:
            catch_all = i
    approving = policy.default == "approve" or any(r.action == "approve" for r in policy.rules)
    auth = loaded.manifest.server.auth
    if approving and (auth is None or not auth.tokens):
        warn(("rules",) if policy.rules else ("default",),
             "approvals need named principals: add server.auth.tokens (or OAuth) so approvers are not the callers")
    server = loaded.manifest.server
    if policy.approvals.webhook is not None and not is_loopback(server.http.host) and server.public_base_url is None:
        warn(("approvals", "webhook"), f"the webhook's approve/deny links would use the bind address "
             f"({server.http.host}; 127.0.0.1 for 0.0.0.0), which people elsewhere cannot open: set "
             "server.public_url to the URL they reach this server at (e.g. https://mcp.example.com)")
    return found


def did_you_mean(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, else an empty string."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
