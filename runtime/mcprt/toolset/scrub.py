"""Configured secrets out of what a call returns: the upstream's answer, and error messages.

The HTTP executor already scrubs a body as bytes (cheapest, and before `mcprt record` captures it);
results of proxied MCP servers and Python functions are scrubbed here, before shaping, so pruning and
templates never see a secret (binary content too: a `bytes` body, and the base64 `blob`/`data` of content
blocks, searched as the bytes they encode: `Scrubber.scrub_base64`, one of more than a megabyte in a worker
thread). What a prune or an `output` template writes of its own (a constant, an interpolated `${SECRET}`)
is scrubbed once more in `shaping.result.shape_result`, for tools that have one.
"""

from __future__ import annotations

from ..scrubbing import SECRETS
from ..contracts import UpstreamResult


async def scrub_upstream(upstream: UpstreamResult) -> None:
    """Remove configured secrets from `upstream` in place (no-op when none is configured); a result whose
    body, content and structuredContent hold more than a megabyte of base64 in all is scrubbed in a worker
    thread (`Scrubber.scrub_value_async`), not on the loop."""
    if not SECRETS or upstream.scrubbed:
        return
    if upstream.kind == "binary" and isinstance(upstream.body, bytes | bytearray):
        # a Python function's `bytes`: overwritten where a secret's bytes are, as the HTTP executor does a body
        upstream.body = SECRETS.scrub_bytes(bytes(upstream.body))
    # One value, so one budget: the message's base64 in all decides inline or a worker thread. Scrubbed
    # field by field, an image just under a megabyte in `content` and again in `structuredContent` was
    # scrubbed inline, about 2 MB on the loop (review of mendpd, problem 5).
    body = upstream.body if upstream.kind in ("json", "text") else None
    scrubbed = await SECRETS.scrub_value_async([body, upstream.content, upstream.structured])
    if upstream.kind in ("json", "text"):
        upstream.body = scrubbed[0]
    upstream.content, upstream.structured = scrubbed[1], scrubbed[2]
    upstream.scrubbed = True


def scrub_message(message: str) -> str:
    """An error message without configured secrets."""
    return SECRETS.scrub_text(message) if SECRETS else message
