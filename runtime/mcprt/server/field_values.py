"""HTTP field values without the whitespace around them (RFC 9110 §5.5).

"A field value does not include leading or trailing whitespace": a recipient compares and parses
the value with its optional whitespace (OWS: SP / HTAB) removed. uvicorn's parser (httptools)
drops the leading OWS but keeps the trailing, so `Mcp-Name: "  test_simple_text  "` reached the
SDK's header ladder as `test_simple_text  ` and was refused as a HeaderMismatch (-32020). Every
header mcprt or the SDK reads — `Mcp-Method`, `Mcp-Name`, `MCP-Protocol-Version`, `Mcp-Param-*`,
`Mcp-Session-Id`, `Host`, `Origin`, `Authorization`, `Accept`, `Content-Type` — is read from the
scope, so trimming the scope once, in front of everything (`guard.HttpGuard`), trims them all.
"""

from __future__ import annotations

from starlette.types import Scope

_OWS = (b" ", b"\t")


def trim_field_values(scope: Scope) -> Scope:
    """`scope` with every header value stripped of leading and trailing SP/HTAB.

    The scope is returned unchanged (the same object) when no value has such whitespace, which is
    nearly every request: the check is one pass over the raw header pairs, no copy.
    """
    headers = scope.get("headers")
    if not headers or not any(value[:1] in _OWS or value[-1:] in _OWS for _, value in headers):
        return scope
    return {**scope, "headers": [(name, value.strip(b" \t")) for name, value in headers]}
