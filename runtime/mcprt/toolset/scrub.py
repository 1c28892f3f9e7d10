"""Configured secrets out of what a call returns: the upstream's answer, and error messages.

The HTTP executor already scrubs a body as bytes (cheapest, and before `mcprt record` captures it);
results of proxied MCP servers and Python functions are scrubbed here, before shaping, so pruning and
templates never see a secret (binary content too: a `bytes` body, and the base64 `blob`/`data` of content
blocks, searched as the bytes they encode: `Scrubber.scrub_base64`, one of more than a megabyte in a worker
thread) (and their output, made only of what they were given, needs no second pass: the shaped result is
never scrubbed again).
"""

from __future__ import annotations

from ..scrubbing import SECRETS
from ..contracts import UpstreamResult


async def scrub_upstream(upstream: UpstreamResult) -> None:
    """Remove configured secrets from `upstream` in place (no-op when none is configured); a base64
    payload of more than a megabyte in a worker thread (`Scrubber.scrub_value_async`), not on the loop."""
    if not SECRETS or upstream.scrubbed:
        return
    if upstream.kind in ("json", "text"):
        upstream.body = await SECRETS.scrub_value_async(upstream.body)
    elif upstream.kind == "binary" and isinstance(upstream.body, bytes | bytearray):
        # a Python function's `bytes`: overwritten where a secret's bytes are, as the HTTP executor does a body
        upstream.body = SECRETS.scrub_bytes(bytes(upstream.body))
    if upstream.content is not None:
        upstream.content = await SECRETS.scrub_value_async(upstream.content)
    if upstream.structured is not None:
        upstream.structured = await SECRETS.scrub_value_async(upstream.structured)
    upstream.scrubbed = True


def scrub_message(message: str) -> str:
    """An error message without configured secrets."""
    return SECRETS.scrub_text(message) if SECRETS else message
