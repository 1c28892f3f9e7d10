"""How deep a result may nest: deeper values break serializers (pydantic stops at ~255 levels, and
recursive shaping at Python's recursion limit), so they become a clear tool error instead.

`MAX_RESULT_DEPTH` stays well under the JSON-RPC serializer's limit, leaving room for the envelope.
The walk visits containers only, iteratively, and stops at the first path past the limit.
"""

from __future__ import annotations

from typing import Any

from ..errors import UpstreamError
from .operation import UpstreamResult

MAX_RESULT_DEPTH = 200


def nesting_exceeds(value: Any, limit: int = MAX_RESULT_DEPTH) -> bool:
    """Whether `value` (JSON-like) nests more than `limit` containers deep."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)) and child:
                push((child, depth + 1))
    return False


def check_depth(upstream: UpstreamResult) -> None:
    """Raise UpstreamError when a result not parsed by the HTTP executor (which bounds depth while
    parsing) nests deeper than MAX_RESULT_DEPTH: a proxied server's structuredContent, a Python
    function's return value."""
    if upstream.scrubbed and upstream.kind != "content":
        return  # HTTP bodies: parsed with a depth limit already
    for value in (upstream.body if upstream.kind == "json" else None, upstream.structured):
        if nesting_exceeds(value):
            raise UpstreamError(f"the result nests more than {MAX_RESULT_DEPTH} levels deep; mcprt does not "
                                "process results that deep")
