"""The call's context as a function is handed it: what the function sends its client through it is
scrubbed of mcprt's configured secrets.

A function taking a `CallContext` reaches the client directly — `await ctx.progress(done, total, message)`,
`await ctx.peer.log(params)`, `await ctx.peer.request("elicitation/create" | "sampling/createMessage", params)`
— without passing the result path that scrubs what it returns (`toolset.scrub`). A function logging
`f"using key {API_KEY}"` showed the client the key. Here each message is scrubbed as a proxied server's are
(`sources/mcp/vetting.py` for its notifications, `sources/mcp/relay.py` for its questions): by
`SECRETS.scrub_prose` — a log message's `data` whole (keys included) and its `logger`, a question's prose and
schema values and a URL-mode elicitation's `url`, never a name, a resource URI or a method — and a progress
message's text by `SECRETS.scrub_text`. Scrubbed before the message enters mcprt, so no path after it (the
client's session, a 2026-07-28 round's input requests, a task's stored questions) holds the secret. The
client's answers reach the function as sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from ...contracts import CallContext, ClientPeer
from ...scrubbing import SECRETS

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


def for_function(context: CallContext) -> CallContext:
    """A copy of `context` whose `progress` and `peer` scrub what they send (None stays None: no progress
    token, no MCP client); every other field as it is."""
    progress = None if context.progress is None else _scrubbed_progress(context.progress)
    peer = None if context.peer is None else ScrubbedPeer(context.peer)
    return dataclasses.replace(context, progress=progress, peer=peer)


def _scrubbed_progress(report: Progress) -> Progress:
    async def progress(progress: float, total: float | None = None, message: str | None = None) -> None:
        """`notifications/progress` to the client (MCP 2025-11-25 basic/utilities/progress), `message` scrubbed."""
        await report(progress, total, SECRETS.scrub_text(message) if isinstance(message, str) else message)

    return progress


class ScrubbedPeer:
    """The calling client (`contracts.ClientPeer`) as a function sees it: `request` and `log` take and
    return the wire form, as the client's own peer does; the params go out scrubbed (module docstring)."""

    __slots__ = ("_peer",)

    def __init__(self, peer: ClientPeer) -> None:
        self._peer = peer

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """`method` (`elicitation/create`, `sampling/createMessage`, `roots/list`) to the client; its result.
        Raises `contracts.RelayError` when the client cannot be asked."""
        return await self._peer.request(method, await SECRETS.scrub_prose_async(params))

    async def log(self, params: dict[str, Any]) -> None:
        """A `notifications/message` (params: `level`, `data`, optional `logger`) to the client, if its
        level lets it through."""
        await self._peer.log(SECRETS.scrub_prose(params))
