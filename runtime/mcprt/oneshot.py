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

An approval cannot be waited for in a one-shot process (it serves no approval endpoint): a call a rule
sends for approval is refused saying so (`policy.approvals`), unless one granted through a server for the
same caller and arguments stands in the shared state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .contracts import ToolResult
from .identity.principal import STDIO
from .observability.events import BUS, new_call_id

if TYPE_CHECKING:
    from .manifest.loader import LoadedManifest
    from .pipeline import Runtime
    from .settings import Settings
    from .toolset.toolset import ToolSet

LOCAL = STDIO
"""The principal of a one-shot call: the local user, who holds the manifest's credentials."""


@asynccontextmanager
async def governed(runtime: Runtime, loaded: LoadedManifest, settings: Settings) -> AsyncIterator[None]:
    """While open, calls of the tool set `runtime` compiled from `loaded` are audited and decided on the
    server's shared policy state (see the module docstring). Raises McprtError when the audit log cannot be opened or the
    shared state cannot be reached; on exit the audit records are written out and Redis is closed."""
    from .observability.audit import open_audit
    from .observability.redact import manifest_secrets
    from .state.url import key_prefix, state_url_for

    manifest = loaded.manifest
    observability = manifest.server.observability
    audit = open_audit(observability.audit, loaded.base_dir, with_values=observability.audit_arguments,
                       secrets=manifest_secrets(manifest))
    unsubscribe = BUS.subscribe(audit.on_event) if audit is not None else None
    client: Any = None
    shared: Any = None
    try:
        url = state_url_for(manifest.server.state, settings.state_url)
        if url is not None and manifest.policy is not None:  # only a policy reads the shared state in one call
            from .state.policy import RedisPolicyState
            from .state.redis_client import connect

            client = await connect(url)  # McprtError naming the URL (password masked) when Redis is away
            shared = RedisPolicyState(client, prefix=key_prefix(manifest.server.name))
            await shared.start()  # reads the pauses before the call
            runtime.policy_service().state = shared
        yield
    finally:
        if shared is not None:
            await shared.aclose()
        if client is not None:
            await client.aclose()
        if unsubscribe is not None:
            unsubscribe()
        if audit is not None:
            audit.close()  # the records queued are written before the process ends


async def call_once(toolset: ToolSet, name: str, arguments: dict[str, Any],
                    unknown: Callable[[], Exception]) -> ToolResult:
    """Call the tool `name` of `toolset` as `LOCAL` through the call pipeline (`toolset.invoke.call_tool`:
    policy, pauses, rate limits, audit). Raises `unknown()` for a name no tool has, or that a policy hides
    from `LOCAL`; that attempt is audited as a served `tools/call` of it is (`unknown_tool`, or `hidden`)."""
    from .toolset.invoke import call_tool, refuse_unserved

    started = time.perf_counter()
    call_id = new_call_id()
    tool = toolset.get_for(name, LOCAL, None, call_id)
    if tool is None:  # the call line and its event, as a served `tools/call` of the name writes them
        refuse_unserved(name, toolset.get(name), toolset.unknown_tool_message(name, LOCAL), started=started,
                        principal=LOCAL, call_id=call_id)
        raise unknown()
    return await call_tool(tool, arguments, principal=LOCAL, call_id=call_id)
