"""Serving a compiled tool set over MCP (stdio and streamable HTTP) with the official SDK.

Public entry points:
- `build_server(holder, config, notifier)` → the SDK server reading the live tool set.
- `Notifier`: tools/list_changed fan-out; `notify_tools_changed()`, `manifest_status`.
- `serve(runtime, options, reload=...)`: run `mcprt up` for a started `Runtime`.
- `resolve_options(...)`, `check_exposure(...)`: flag > env > manifest > default, and the
  "no unauthenticated non-loopback bind" rule.
- `build_http_app(...)`: the guarded ASGI app (for embedding or tests).

The names are imported on first use (PEP 562): importing a submodule such as `server.options` or
`server.early` must not load the MCP SDK (about 0.8 s of CPU), which `mcprt up` over stdio only
needs after it has answered the client's handshake and first tools/list (see `early`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcprt import lazy_exports

if TYPE_CHECKING:
    from .app import McprtServer, build_server
    from .http import build_http_app
    from .notify import Notifier
    from .options import ServeOptions, check_exposure, is_loopback, resolve_options
    from .serve import reload_now, serve

_HOME = {
    "McprtServer": "app",
    "build_server": "app",
    "build_http_app": "http",
    "Notifier": "notify",
    "ServeOptions": "options",
    "check_exposure": "options",
    "is_loopback": "options",
    "resolve_options": "options",
    "reload_now": "serve",
    "serve": "serve",
}

__all__ = sorted(_HOME)
__getattr__ = lazy_exports(__name__, _HOME)
