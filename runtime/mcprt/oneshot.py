"""One-shot calls (`mcprt call`, `mcprt record`) governed as a served call is.

A call made through mcprt is governed the same way whatever the entry point: the same policy decides it
(deny, hide, rate limits, approvals), the same operator pauses stop it, and the audit log records it and
its decision. `mcprt up` wires those to the serving process (`server.observe`, `server.shared_state`); a
one-shot command runs here instead:

- the audit log of `server.observability.audit`, opened as `mcprt up` opens it (`observability.audit.open_audit`);
- with a `policy:` block and a shared state (`MCPRT_STATE_URL` / `server.state`), the server's own policy
  state in Redis: its pauses (`mcprt pause`), rate-limit buckets and approvals, under the server's keys
  (`state.url.key_prefix`). Redis unreachable is an error (exit 2), never an ungoverned call;
- the caller is `LOCAL` (`stdio`): the local user with the manifest's credentials, as a stdio server's
  parent process is, so `principals: [stdio]` rules apply to both. A tool a policy hides from it is
  unknown here too.

Only the calls made through `call_once` are audited, each record naming the command (`entry_point`): a
process that also replays recorded responses (`mcprt test`) leaves those out, as nothing reached an upstream.

An approval cannot be waited for in a one-shot process (it serves no approval endpoint): a call a rule
sends for approval is refused saying so (`policy.approvals`), unless one granted through a server for the
same caller and arguments stands in the shared state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .contracts import ToolResult
from .errors import McprtError
from .identity.principal import STDIO
from .observability.events import BUS, new_call_id
from .toolset.tool import Tool

if TYPE_CHECKING:
    from .manifest.loader import LoadedManifest
    from .pipeline import Runtime
    from .settings import Settings
    from .toolset.toolset import ToolSet

LOCAL = STDIO
"""The principal of a one-shot call: the local user, who holds the manifest's credentials."""

_ONE_SHOT: ContextVar[bool] = ContextVar("mcprt_one_shot_call", default=False)
"""True inside `call_once`: the bus calls subscribers inline, so the events of that call see it."""

GOVERNED_ADVICE = ("The call was not made: the server's pauses and rate limits are kept there. Start Redis, or try "
                   "again once it answers.")
"""What to do when the shared state cannot be reached: never to unset it (`mcprt up`'s advice), which would
leave the server's pauses and limits out of the call."""


@asynccontextmanager
async def governed(runtime: Runtime, loaded: LoadedManifest, settings: Settings, *,
                   entry_point: str | None) -> AsyncIterator[None]:
    """While open, calls of the tool set `runtime` compiled from `loaded` are audited and decided on the
    server's shared policy state (see the module docstring). `entry_point`: the command (`mcprt call`, …)
    each audit record names; None writes no audit record (`mcprt diff`, a review run on copies of the
    manifest). Raises McprtError when the audit log cannot be opened or the
    shared state cannot be reached; on exit the audit records are written out and Redis is closed."""
    from .observability.audit import open_audit
    from .observability.redact import manifest_secrets
    from .state.url import key_prefix, state_url_for

    manifest = loaded.manifest
    observability = manifest.server.observability
    audit = open_audit(observability.audit, loaded.base_dir, with_values=observability.audit_arguments,
                       secrets=manifest_secrets(manifest), entry_point=entry_point,
                       on_failure=observability.audit_on_failure) if entry_point is not None else None
    refusing = audit is not None and audit.on_failure == "refuse"
    unsubscribe = ungate = None
    if audit is not None:
        if refusing and (full := audit.no_room()) is not None:
            audit.close()  # `audit_on_failure: refuse`: no call it could not record (a full file system)
            raise McprtError(f"cannot write the audit log {audit.target}: {full}; the call was not made "
                             "(server.observability.audit_on_failure: refuse)")
        sink = audit.on_event
        unsubscribe = BUS.subscribe(lambda event: sink(event) if _ONE_SHOT.get() else None)
        ungate = BUS.add_gate(audit.refusal)  # `mcprt record`'s later calls, once a write failed
    recorded = False
    client: Any = None
    shared: Any = None
    try:
        url = state_url_for(manifest.server.state, settings.state_url)
        if url is not None and manifest.policy is not None:  # only a policy reads the shared state in one call
            from .state.policy import RedisPolicyState
            from .state.redis_client import connect

            client = await connect(url, advice=GOVERNED_ADVICE)  # naming the URL (password masked)
            shared = RedisPolicyState(client, prefix=key_prefix(manifest.server.name))
            await shared.read()  # the pauses, once: no listener nor refresher for one call
            runtime.policy_service().state = shared
        yield
        recorded = True
    finally:
        if shared is not None:
            await shared.aclose()
        if client is not None:
            await client.aclose()
        if unsubscribe is not None:
            unsubscribe()
        if ungate is not None:
            ungate()
        if audit is not None:
            audit.close()  # the records queued are written before the process ends
    if recorded and refusing and audit is not None and audit.dropped:
        # the call ran and its record is lost: under `refuse` that is a failure, never exit 0
        raise McprtError(f"{audit.dropped} audit record(s) could not be written to {audit.target} "
                         f"({audit.last_error or 'write failed'}): what ran is not recorded "
                         "(server.observability.audit_on_failure: refuse)")


async def call_once(toolset: ToolSet, name: str, arguments: dict[str, Any],
                    unknown: Callable[[], Exception]) -> ToolResult:
    """Call the tool `name` of `toolset` as `LOCAL` through the call pipeline (`toolset.invoke.call_tool`:
    policy, pauses, rate limits, audit). Raises `unknown()` for a name no tool has, or that a policy hides
    from `LOCAL`; that attempt is audited as a served `tools/call` of it is (`unknown_tool`, or `hidden`)."""
    from .toolset.invoke import call_tool, resolve_or_refuse

    call_id = new_call_id()
    token = _ONE_SHOT.set(True)  # this call's events are audited (`governed`), a replay's alongside are not
    try:
        tool = resolve_or_refuse(toolset, name, LOCAL, started=time.perf_counter(), call_id=call_id)
        if not isinstance(tool, Tool):
            raise unknown()
        return await call_tool(tool, arguments, principal=LOCAL, call_id=call_id)
    finally:
        _ONE_SHOT.reset(token)
