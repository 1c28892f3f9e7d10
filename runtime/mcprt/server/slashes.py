"""The trailing-slash redirect (`/status/` → `/status`, `/mcp/` → `/mcp`) with a Location under the public path.

Starlette's router answers a path that matches a route only with or without its trailing slash with a 307 whose
Location is absolute and built from the request as mcprt received it: its Host and its path. Behind a reverse proxy
that serves mcprt under a prefix and strips it (`server.public_url: https://gw.example.com/tools`, README "Behind a
proxy"), that Location left the prefix: `/tools/status/` was sent to `https://gw.example.com/status`, which the
proxy does not forward to mcprt. Here the redirect's Location is a relative reference (RFC 9110 §10.2.2: resolved
against the URL the client asked for, so the public scheme and host stay as the client used them) whose path is
the public prefix plus the route's path, the query kept.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import Receive, Scope, Send


def redirect_slashes_under(router: Router, prefix: str) -> None:
    """Make `router` answer a path that matches one of its routes only with the trailing slash added or removed
    with a 307 to `prefix` + that path (`prefix`: `ServeOptions.public_prefix`, "" without one), in place of its
    own redirect; any other unmatched path still gets the router's default answer (404)."""
    fallback = router.default
    router.redirect_slashes = False  # ours below: its Location carries the prefix and no host

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            moved = {**scope, "path": other}
            # `//host…` would be a network-path reference (another host): never one of our routes, never sent
            if other and not other.startswith("//") and any(route.matches(moved)[0] is not Match.NONE for route in router.routes):
                query = scope.get("query_string", b"").decode("latin-1")
                location = prefix + other + (f"?{query}" if query else "")
                await RedirectResponse(location, status_code=307)(scope, receive, send)
                return
        await fallback(scope, receive, send)

    router.default = default
