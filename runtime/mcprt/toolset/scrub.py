"""Configured secrets out of what a call returns: the upstream's answer, and error messages.

The HTTP executor already scrubs a body as bytes (cheapest, and before `mcprt record` captures it);
results of proxied MCP servers and Python functions (their `bytes` too, as the executor scrubs a body: a
function returning `b"key=" + KEY` sent the key in the blob) are scrubbed here, before shaping, so pruning and
templates never see a secret (and their output, made only of what they were given, needs no second
pass: the shaped result is never scrubbed again).
"""

from __future__ import annotations

from ..scrubbing import SECRETS
from ..contracts import UpstreamResult


def scrub_upstream(upstream: UpstreamResult) -> None:
    """Remove configured secrets from `upstream` in place (no-op when none is configured)."""
    if not SECRETS or upstream.scrubbed:
        return
    if upstream.kind in ("json", "text"):
        upstream.body = SECRETS.scrub_value(upstream.body)
    elif upstream.kind == "binary" and isinstance(upstream.body, bytes):  # a Python function's `bytes`
        upstream.body = SECRETS.scrub_bytes(upstream.body)
    if upstream.content is not None:
        upstream.content = SECRETS.scrub_value(upstream.content)
    if upstream.structured is not None:
        upstream.structured = SECRETS.scrub_value(upstream.structured)
    upstream.scrubbed = True


def scrub_message(message: str) -> str:
    """An error message without configured secrets."""
    return SECRETS.scrub_text(message) if SECRETS else message
