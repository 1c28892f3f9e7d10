"""An SDK (`MCPServer`) stdio server sending the secret it was given (`$SRV_KEY`, passed by the manifest's
`env:`) as binary content only: an `application/octet-stream` resource, and a tool result with an image,
an audio clip and an embedded blob resource, each holding the key's bytes at a different offset."""

from __future__ import annotations

import base64
import os

import mcp_types as types
from mcp.server import MCPServer

KEY = os.environ["SRV_KEY"].encode()
server = MCPServer("binary", log_level="CRITICAL")


@server.resource("srv://blob", mime_type="application/octet-stream")
def blob() -> bytes:
    return b"key=" + KEY


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
