"""An SDK (`MCPServer`) stdio server sending the secret it was given (`$SRV_KEY`, passed by the manifest's
`env:`) as binary content only: an `application/octet-stream` resource, and a tool result with an image,
an audio clip and an embedded blob resource, each holding the key's bytes at a different offset; and a
resource and an image of 1.5 MB with the key near their end."""

from __future__ import annotations

import base64
import os

import mcp_types as types
from mcp.server import MCPServer

KEY = os.environ["SRV_KEY"].encode()
# 1.5 MB holding no form of the key: base64 of more than 1,000,000 characters, scrubbed off the event loop
LARGE = bytes(range(256)) * 6000
server = MCPServer("binary", log_level="CRITICAL")


@server.resource("srv://blob", mime_type="application/octet-stream")
def blob() -> bytes:
    return b"key=" + KEY


@server.resource("srv://large", mime_type="application/octet-stream")
def large() -> bytes:
    return LARGE + KEY + b"end"


@server.tool(structured_output=False)
def large_image() -> list[types.ContentBlock]:
    """An image of 1.5 MB with the key near its end."""
    return [types.ImageContent(type="image", data=base64.b64encode(LARGE + KEY + b"end").decode(),
                               mime_type="image/png")]


@server.tool(structured_output=False)
def media() -> list[types.ContentBlock]:
    """An image, an audio clip and an embedded resource, each holding the key."""
    def encoded(prefix: bytes) -> str:
        return base64.b64encode(prefix + KEY + b"\x00tail").decode()

    return [
        types.ImageContent(type="image", data=encoded(b"\x89PNG"), mime_type="image/png"),
        types.AudioContent(type="audio", data=encoded(b"RIFF1"), mime_type="audio/wav"),
        types.EmbeddedResource(type="resource", resource=types.BlobResourceContents(
            uri="srv://embedded", mime_type="application/octet-stream", blob=encoded(b"ab"))),
    ]


if __name__ == "__main__":
    server.run("stdio")
