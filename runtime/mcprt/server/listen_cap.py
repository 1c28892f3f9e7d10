"""A per-client cap on 2026-07-28 `subscriptions/listen` streams.

From 2026-07-28 on a request opens no session (no `initialize`, no `Mcp-Session-Id`): each POST is
self-contained, so there is nothing to expire or count per client except the long-lived streams a
client holds open with `subscriptions/listen`. The SDK's `ListenHandler` bounds them in total
(1,024); this bounds them per client with the same setting as handshake-era sessions
(`server.http.max_sessions_per_client`), so one client cannot take every stream.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.shared.exceptions import MCPError

from ..errors import SERVER_ERROR
from ..observability.log import log_event


class ClientListenCap:
    """Serves `subscriptions/listen` through `handler` (the SDK's `ListenHandler`, counted by the
    notifier), at most `per_client` streams per client
    (`client_of(ctx)`: `limits.client_key` of the request's principal).

    Past the cap the request fails before its stream opens with JSON-RPC error -32000
    ("Too many open subscription streams for this client (limit N)", `data.limit`); the client's
    other streams and requests are untouched.
    """

    def __init__(self, handler: Callable[[Any, Any], Awaitable[Any]], per_client: int,
                 client_of: Callable[[Any], str]) -> None:
        self.handler = handler
        self.per_client = per_client
        self._client_of = client_of
        self._open: Counter[str] = Counter()

    async def __call__(self, ctx: Any, params: Any) -> Any:
        client = self._client_of(ctx)
        if self._open[client] >= self.per_client:
            log_event("listen stream refused: the client holds its maximum", logging.WARNING,
                      client=client, limit=self.per_client)
            raise MCPError(SERVER_ERROR, f"Too many open subscription streams for this client "
                           f"(limit {self.per_client}): close one first", {"limit": self.per_client})
        self._open[client] += 1
        try:
            return await self.handler(ctx, params)
        finally:
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]
