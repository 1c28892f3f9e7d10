"""Whether a save may be applied without an operator's word: the half-written manifest guard.

A file written in two parts (scp, `kubectl cp`, a shared volume, a slow editor) is, between them, a
prefix of the new manifest — often valid YAML, and a valid manifest with fewer sources, no `policy:`
block, fewer rules in it, or no tools at all. Applied, it removed a `deny` rule (the denied tool ran) or every tool.
No settle window can tell a 3 s pause from a finished save, so a reload started by a *file change*
that would take away much of what is served is refused instead, and logged with how to apply it
anyway (`kill -HUP`): the previous set keeps serving, and the rest of the write (or any later save)
is reloaded as usual. A SIGHUP or an upstream server's own tool change is never refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import env_limit

if TYPE_CHECKING:
    from ..manifest.model import Manifest
    from ..manifest.policy import Policy
    from ..toolset.toolset import ToolSet

MAX_LOSS = 0.5  # MCPRT_RELOAD_MAX_LOSS: share of the served tools a file-triggered reload may remove
HOW_TO_APPLY = "if intended, apply it with `kill -HUP <pid of mcprt up>`"


def max_loss() -> float:
    """The share (0 < share ≤ 1) of served tools a saved file may remove before its reload is refused
    (`MCPRT_RELOAD_MAX_LOSS`, default 0.5; counted as fewer tools, so a rename is no loss)."""
    return env_limit("MCPRT_RELOAD_MAX_LOSS", MAX_LOSS)  # at most 1 (`envcheck.MAXIMUMS`)


def restrictions(policy: Policy | None) -> dict[str, int]:
    """How many entries of `policy` a cut could drop: `{"rules": n, "rate limits": n}` (0 without a policy).
    A write cut inside the block ends the list early, so there are fewer of them; an edit that turns one
    rule's `approve` into `deny` or `allow` keeps the count and is an operator's decision, not a cut (counting
    each action apart refused it)."""
    return {"rules": len(policy.rules) if policy is not None else 0,
            "rate limits": len(policy.rate_limits) if policy is not None else 0}


def refusal(old_manifest: Manifest | None, new_manifest: Manifest, old: ToolSet, new: ToolSet) -> str | None:
    """Why applying `new` (compiled from a changed file) needs an operator's word, or None.

    Refused: every source gone, the whole `policy:` block gone, fewer policy rules or rate limits (a write
    cut inside the block), every tool gone, or the number of
    tools down by more than `max_loss()` of what was served."""
    if old_manifest is not None and old_manifest.sources and not new_manifest.sources:
        return "it removes every source"
    if old_manifest is not None and old_manifest.policy is not None and new_manifest.policy is None:
        return "it removes the whole policy block"
    if old_manifest is not None:
        before_rules, after_rules = restrictions(old_manifest.policy), restrictions(new_manifest.policy)
        for kind, count in before_rules.items():
            if after_rules[kind] < count:
                return f"it removes {count - after_rules[kind]} of {count} policy {kind}"
    before, after = len(old.tools), len(new.tools)
    if before and not after:
        return "it removes every tool"
    limit = max_loss()
    if before and (before - after) / before > limit:
        return f"it removes {before - after} of {before} tools (more than {limit:.0%}: MCPRT_RELOAD_MAX_LOSS)"
    return None
