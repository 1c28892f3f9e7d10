"""The `base_url` line `mcprt init` writes: none when every operation has an absolute server, else a placeholder.

The compile already resolves what the description says (OpenAPI 3.1 §4.8.5: the first Server Object; a
relative URL against the document's own URL, a variable from its `default`), so a manifest without
`base_url` serves exactly that. When some operation is left without an absolute URL — no `servers`, a
relative one in a local file, a variable without a default — `init` writes `BASE_URL_PLACEHOLDER`, which
`validate` refuses at its line until it is set: a made-up address that looked live sent calls nowhere.
"""

from __future__ import annotations

from typing import Any

from ..manifest.model import BASE_URL_PLACEHOLDER
from ..sources.openapi import CompiledOpenAPI


def base_url_lines(compiled: CompiledOpenAPI, document: Any) -> list[str]:
    """The manifest lines (indented for a source) setting `base_url`: [] when every operation's server
    resolved to an absolute http(s) URL; `document` is the parsed description, read for the comment."""
    if all(str(op.base_url or "").startswith(("http://", "https://")) for op in compiled.operations):
        return []
    return [f"    base_url: {_quoted(BASE_URL_PLACEHOLDER)}  # {_why(document)}"]


def _why(document: Any) -> str:
    """Why the description gives no usable server, quoting its first server URL when it has one."""
    servers = document.get("servers") if isinstance(document, dict) else None
    first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else None
    url = first.get("url") if first else None
    if not isinstance(url, str):
        return "the description names no server: set the API's base URL"
    if "{" in url:
        return f"the description's server {url!r} has a variable without a default: set the API's base URL"
    return f"the description's server {url!r} is relative to where it is served: set the API's base URL"


def measurable(text: str) -> str:
    """`text` with the placeholder's value swapped for an address that cannot resolve (RFC 2606 `.invalid`),
    for `init`'s own check of its draft: the draft is compiled and measured, never called, and the user's copy
    keeps the placeholder `validate` refuses."""
    return text.replace(_quoted(BASE_URL_PLACEHOLDER), _quoted("https://base-url.invalid"))


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'
