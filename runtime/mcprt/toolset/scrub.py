"""Configured secrets out of what a call returns: the upstream's answer and the shaped result.

The HTTP executor already scrubs a body as bytes (cheapest, and before `mcprt record` captures it);
results of proxied MCP servers and Python functions are scrubbed here, before shaping, so pruning and
templates never see a secret (and their output, made only of what they were given, needs no second
pass: each pass is one substring search per form over the whole result).
"""

from __future__ import annotations

from ..scrubbing import SECRETS
from .operation import ToolResult, UpstreamResult


def scrub_upstream(upstream: UpstreamResult) -> None:
    """Remove configured secrets from `upstream` in place (no-op when none is configured)."""
    if not SECRETS or upstream.scrubbed:
        return
    if upstream.kind in ("json", "text"):
        upstream.body = SECRETS.scrub_value(upstream.body)
    if upstream.content is not None:
        upstream.content = SECRETS.scrub_value(upstream.content)
    if upstream.structured is not None:
        upstream.structured = SECRETS.scrub_value(upstream.structured)
    upstream.scrubbed = True


def scrub_result(result: ToolResult) -> ToolResult:
    """`result` with secrets removed from its text blocks (and structuredContent when a text block had one)."""
    if not SECRETS:
        return result
    found = False
    for block in result.content:
        text = block.get("text")
        if isinstance(text, str) and SECRETS.found_in(text):
            block["text"] = SECRETS.scrub_text(text)
            found = True
    if found and result.structured_content is not None:
        result.structured_content = SECRETS.scrub_value(result.structured_content)
    return result


def scrub_message(message: str) -> str:
    """An error message without configured secrets."""
    return SECRETS.scrub_text(message) if SECRETS else message
