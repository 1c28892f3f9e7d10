"""Whether the answer to one handshake-era request may need a stream (SSE) rather than one JSON body.

Streamable HTTP lets the server answer a POSTed request with `application/json` or with a
`text/event-stream` when the client accepts both (MCP 2025-06-18, basic/transports §"Sending
Messages to the Server", item 5; the client MUST support both). A stream is needed only to
carry messages *before* the response: progress notifications (the request carries
`params._meta.progressToken`) and server→client requests or request-scoped log messages a tool
sends during the call (a proxied server's sampling/elicitation/roots/logging, a Python tool that
takes the call's context), and what a proxied server asks during a `prompts/get`,
`resources/read` or `completion/complete` of its own. Everything else gets one JSON body, which costs the server (and the
client) noticeably less than SSE framing.

What a tool may send is known when the tool set is built (`Operation.client_requests`, set by the
sources); this module only reads it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from ..toolset.tool import Tool
from ..toolset.toolset import ToolSet

# Per tool set: does any of its tools send requests back? Weak keys: a retired tool set must not be
# kept alive by this cache (hot reload closes its sources once nothing references it).
_any_requests: weakref.WeakKeyDictionary[ToolSet, bool] = weakref.WeakKeyDictionary()


def has_progress_token(params: Any) -> bool:
    """The request asked for progress (`params._meta.progressToken`, a string or a non-bool integer)."""
    if not isinstance(params, Mapping):
        return False
    meta = params.get("_meta")
    if not isinstance(meta, Mapping):
        return False
    token = meta.get("progressToken")
    return isinstance(token, str | int) and not isinstance(token, bool)


def may_stream(method: str, params: Any, toolset: ToolSet) -> bool:
    """True when the answer to `method` may need messages before the response (see the module doc).

    Unknown tools and malformed params answer in JSON: the answer is one error either way.
    """
    if has_progress_token(params):
        return True
    if not isinstance(params, Mapping):
        return False
    if method in ("prompts/get", "resources/read", "completion/complete"):
        return _offer_may_ask(method, params, toolset)
    if method != "tools/call":
        return False
    name = params.get("name")
    tool = toolset.get(name) if isinstance(name, str) else None
    return tool is not None and may_request(tool, toolset)


def _offer_may_ask(method: str, params: Mapping[str, Any], toolset: ToolSet) -> bool:
    """A proxied server may ask its client during this `prompts/get`, `resources/read` or `completion/complete`
    (`OfferProvider.asks_client`; a completion's by the prompt or resource its `ref` names)."""
    offers = toolset.offers
    if method == "completion/complete":
        item = offers.completion_target(params.get("ref"))
        return item is not None and item.provider.asks_client
    if method == "prompts/get":
        name = params.get("name")
        prompt = offers.prompts.get(name) if isinstance(name, str) else None
        return prompt is not None and prompt.provider.asks_client
    uri = params.get("uri")
    owner = offers.resolve_uri(uri) if isinstance(uri, str) else None
    return owner is not None and owner[2].asks_client


def may_request(tool: Tool, toolset: ToolSet) -> bool:
    """A call of `tool` may send the client requests or log messages (`Operation.client_requests`;
    a meta-tool — discovery's call tool — when any tool of the set may)."""
    if getattr(tool.operation, "client_requests", False):  # an Operation from an older compile cache lacks it
        return True
    return tool.name in toolset.extra and _toolset_may_request(toolset)


def _toolset_may_request(toolset: ToolSet) -> bool:
    answer = _any_requests.get(toolset)
    if answer is None:
        answer = any(getattr(tool.operation, "client_requests", False) for tool in toolset)
        _any_requests[toolset] = answer
    return answer
