"""Serving a compiled tool set over MCP (stdio and streamable HTTP) with the official SDK.

Public entry points:
- `build_server(holder, config, notifier)` → the SDK server reading the live tool set.
- `Notifier`: tools/list_changed fan-out; `notify_tools_changed()`, `manifest_status`.
- `serve(runtime, options, reload=...)`: run `mcprt up` for a started `Runtime`.
- `resolve_options(...)`, `check_exposure(...)`: flag > env > manifest > default, and the
  "no unauthenticated non-loopback bind" rule.
- `build_http_app(...)`: the guarded ASGI app (for embedding or tests).
"""

from .app import McprtServer, build_server
from .http import build_http_app
from .notify import Notifier
from .options import ServeOptions, check_exposure, is_loopback, resolve_options
from .serve import reload_now, serve

__all__ = [
    "McprtServer",
    "Notifier",
    "ServeOptions",
    "build_http_app",
    "build_server",
    "check_exposure",
    "is_loopback",
    "reload_now",
    "resolve_options",
    "serve",
]
