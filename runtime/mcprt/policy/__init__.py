"""Policies: what agents may do — allow, deny, human approval, hide, rate limits, pause — declared
in the manifest's `policy:` block and enforced on every call path.

`attach_policy` compiles the block against a tool set and attaches the resulting `PolicyGate`
(the toolset's `CallGate`) to the set and each of its tools. State that must survive reloads
(pending approvals, buckets, pauses) lives in the `PolicyService`, behind `PolicyState`.
"""

from __future__ import annotations

from ..manifest.loader import LoadedManifest
from ..toolset.toolset import ToolSet
from .gate import Decision, PolicyGate, RateLimited
from .service import PolicyService
from .state import ApprovalRequest, MemoryPolicyState, PolicyState, Vote

__all__ = ["ApprovalRequest", "Decision", "MemoryPolicyState", "PolicyGate", "PolicyService", "PolicyState",
           "RateLimited", "Vote", "attach_policy", "serve_policy"]


def attach_policy(loaded: LoadedManifest, toolset: ToolSet, service: PolicyService) -> PolicyGate | None:
    """Compile `loaded.manifest.policy` for `toolset` and attach it (in place); None without a policy.

    Meta-tools (discovery mode) get no gate: the tools they reach are checked themselves, and
    hidden ones are neither found nor described nor called.
    """
    policy = loaded.manifest.policy
    if policy is None:
        return None
    auth = loaded.manifest.server.auth
    gate = PolicyGate(policy, service, toolset.tools, frozenset(auth.tokens) if auth is not None else frozenset())
    toolset.gate = gate
    for tool in toolset.tools.values():
        tool.gate = gate
    # `service.gate` (the policy in force) is NOT set here: a compile is not yet served, and a reload
    # failing after this point must leave calls decided by the served policy (`serve_policy`).
    return gate


def serve_policy(toolset: ToolSet, service: PolicyService) -> None:
    """Make `toolset`'s policy the one in force for `service`: what `refusal_now`, the approval
    settings and `/policy/*` read. Called when `toolset` is swapped in, never at compile.

    A set without a policy gates no call (`service.serving` is None: a call waiting for approval is not
    refused), and leaves `service.gate`, the last served policy, in place: its `admins`/approvers still
    guard the listing of requests opened under it."""
    service.serve(toolset.gate if isinstance(toolset.gate, PolicyGate) else None)
