"""The hook through which a policy governs calls and listings, without the toolset importing it.

A `CallGate` is attached to a ToolSet (for listings) and to each of its Tools (for calls), so every
path that calls a tool — the server, discovery mode's `call_tool`, the CLI — goes through it:
`call_tool` asks `tool.gate.admit(...)` before anything reaches upstream. `mcprt.policy` implements it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..identity.principal import Principal

if TYPE_CHECKING:
    from ..contracts import CallContext
    from .tool import Tool


class ScopeStep(Protocol):
    """A call refused only for a missing OAuth scope (`CallGate.step_up`; `policy.gate.StepUp`)."""

    scope: str  # the scope to ask for
    alternatives: tuple[str, ...]  # every scope that would admit the call

    def needed(self, principal: Principal) -> list[str]:
        """The challenge's `scope=`: the scopes the token holds, then `scope`."""
        ...

    def explained(self) -> str:
        """Why, in words a client (or a model) can act on."""
        ...


# What `CallGate.admit` took for a call and can give back when the call never reached its upstream (an approval
# of one execution, `policy.approvals.uses`): awaited, it returns a sentence for the caller saying what was given
# back, or None when nothing was (the state could not be reached, or another call's use is there now).
GiveBack = Callable[[], Awaitable[str | None]]


class CallGate(Protocol):
    @property
    def scopes(self) -> list[str]:
        """The scopes a client may have to step up to (advertised in `scopes_supported`, RFC 9728 §2)."""
        ...

    @property
    def steps_up(self) -> bool:
        """Whether any call may be stepped up (some scope would admit a refused call): else the check is skipped."""
        ...

    def step_up_scopes(self, tool: Tool) -> tuple[str, ...]:
        """The scopes a call of `tool` may be stepped up to; empty: never (the HTTP check skips it)."""
        ...

    def step_up(self, tool: Tool, principal: Principal | None, arguments: Mapping[str, Any]) -> ScopeStep | None:
        """What a call refused ONLY for a missing scope lacks (MCP authorization 2025-11-25, "Scope
        Challenge Handling"); None for any other call. `arguments` completed (`check_arguments`)."""
        ...

    def refused_for_scope(self, tool: Tool, step: ScopeStep, context: CallContext) -> None:
        """Record a call answered with the scope challenge: a `deny` for the audit log and metrics."""
        ...

    @property
    def hides_any(self) -> bool:
        """Whether some tool may be hidden from some principal (then names it served are not repeated
        to callers once gone: `ToolSet.retired`)."""
        ...

    def hidden(self, principal: Principal | None) -> frozenset[str]:
        """Names of tools not listed for (and unknown to) `principal`."""
        ...

    def refused_hidden(self, tool: Tool, principal: Principal | None, session_id: str | None,
                       call_id: str | None = None) -> None:
        """Record that `principal` called `tool` by name although it is hidden from them: the caller
        is told the tool is unknown; the decision (`hidden`) still reaches the audit log and metrics."""
        ...

    async def admit(self, tool: Tool, arguments: Mapping[str, Any], completed: Mapping[str, Any],
                    context: CallContext) -> GiveBack | None:
        """Return when the call may proceed; raise `errors.PolicyDenied` (or ToolCallError) when not.
        `arguments` are as the model gave them, `completed` with defaults and fixed values. May wait
        (human approval), reporting progress through `context.progress`. Returns what to await when the
        admitted call then ends without any upstream contact (`GiveBack`), or None when it took nothing."""
        ...


def visible_to(tool: Tool, principal: Principal | None) -> bool:
    """False when a policy hides `tool` from `principal` (listing, discovery search, calls by name)."""
    gate = tool.gate
    return gate is None or tool.name not in gate.hidden(principal)
