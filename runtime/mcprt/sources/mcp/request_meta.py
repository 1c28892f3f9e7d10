"""Which keys of a client's request `_meta` go on to the proxied server with its `tools/call`.

MCP 2025-11-25 basic ("General fields", `_meta`) lets a client attach metadata to a request; vendor keys
(`example.com/tenant`, a correlation id) are meant for the server, so a gateway drops them only at a
cost (a trial's `example.com/x` never reached the upstream). Kept out, because each describes the
client's hop to mcprt and mcprt sets its own for its hop to the server:
  - `progressToken`: the SDK client mints mcprt's own token for the upstream and relays its progress
    to the caller's (mcp `call_tool(progress_callback=…)`);
  - W3C trace context (`traceparent`, `tracestate`, `baggage`): mcprt's span's carrier, which continues
    the client's trace (observability/hooks.py);
  - keys whose prefix MCP reserves: one with a label `modelcontextprotocol` or `mcp`
    (`io.modelcontextprotocol/protocolVersion`, `…/clientCapabilities`, `…/related-task`: per hop, and the
    SDK stamps the upstream's own);
  - keys mcprt reserves for itself: prefix `mcprt` (`mcprt/retryAfter`, `mcprt/approval`), which a client
    must not be able to make an upstream believe mcprt said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# `progress_token`: the SDK server's spelling of `progressToken` in the params it hands mcprt
_HOP_KEYS = frozenset({"progressToken", "progress_token", "traceparent", "tracestate", "baggage"})
_RESERVED_LABELS = frozenset({"modelcontextprotocol", "mcp"})
_OWN_PREFIX = "mcprt"  # mcprt's own keys


def forwarded_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The client's request `_meta` keys the upstream gets (module docstring); {} for None."""
    if not meta:
        return {}
    return {key: value for key, value in meta.items() if isinstance(key, str) and _forwarded(key)}


def _forwarded(key: str) -> bool:
    if key in _HOP_KEYS:
        return False
    prefix, slash, _name = key.rpartition("/")
    if not slash:
        return True
    labels = [label.lower() for label in prefix.split(".")]
    if labels[-1] == _OWN_PREFIX:  # `mcprt/…`, `example.mcprt/…`
        return False
    return not any(label in _RESERVED_LABELS for label in labels)
