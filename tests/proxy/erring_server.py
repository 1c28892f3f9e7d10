"""An SDK (`MCPServer`) server whose answers are ordinary JSON-RPC errors in the server-error range: `busy`
answers -32000 "database is locked" (JSON-RPC 2.0 §5.1: -32000 to -32099 are the server's own), the
resource `err://busy` -32000 "backend busy"; `slow` sleeps `seconds` and answers "slow done", the call
of another client in flight meanwhile. `custom` (and the resource `err://custom`, the prompt `custom`)
answers -32099 with `data` holding an `apiKey` (a secret-looking value); `leaky` (and `err://leaky`)
-32099 with URL credentials and a literal key in its message and data; `need_url` answers -32042
URLElicitationRequired (MCP 2025-11-25) for https://example.com/oauth, elicitationId `auth-7`;
`meta_echo` answers the request `_meta` it received as JSON (keys sorted). `links` answers a resource link to
`err://fine` and that resource embedded, the prompt `with_resource` embeds it too; reading `err://fine` says
which transport served it ("fine (stdio)", "fine (http)"). `ask` elicits a name (form mode) and answers
"hello NAME". Run as `erring_server.py` (stdio) or `erring_server.py --http`
(streamable HTTP on 127.0.0.1; prints `PORT n`)."""

from __future__ import annotations

import json
import socket
import sys

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError
from pydantic import BaseModel
from mcp_types import CallToolResult, ElicitRequestURLParams, EmbeddedResource, ResourceLink, TextResourceContents

server = MCPServer("erring", log_level="CRITICAL")


@server.tool()
def busy() -> str:
    """Fails as a busy database does: JSON-RPC error -32000."""
    raise MCPError(code=-32000, message="database is locked")


@server.tool()
async def slow(seconds: float) -> str:
    """Answers after `seconds`."""
    await anyio.sleep(seconds)
    return "slow done"


@server.resource("err://busy")
def busy_resource() -> str:
    """Fails with JSON-RPC error -32000."""
    raise MCPError(code=-32000, message="backend busy")


CUSTOM_DATA = {"why": "because", "apiKey": "sk-live-0123456789abcdef"}


@server.tool()
def custom() -> str:
    """Fails with -32099 and data."""
    raise MCPError(code=-32099, message="custom upstream failure", data=CUSTOM_DATA)


# What a database driver's failure quotes (review of hostfix/proxyfix, problem 2): URL credentials in the
# message and in `data`, a literal key in a `data` string under no credential-like key name
LEAKY_MESSAGE = "db failed: postgres://admin:hunter2@db.internal:5432/prod"
LEAKY_DATA = {"detail": "retry with key sk_live_51HqLyjWDarjtT1zdp7dcXyz12345",
              "dsn": "postgres://admin:hunter2@db.internal/prod"}


@server.tool()
def leaky() -> str:
    """Fails with -32099, secrets in its message and data."""
    raise MCPError(code=-32099, message=LEAKY_MESSAGE, data=LEAKY_DATA)


@server.resource("err://leaky")
def leaky_resource() -> str:
    """Fails as `leaky` does."""
    raise MCPError(code=-32099, message=LEAKY_MESSAGE, data=LEAKY_DATA)


@server.tool()
def need_url() -> str:
    """Needs the user to authorize at a URL first: -32042."""
    raise UrlElicitationRequiredError([ElicitRequestURLParams(
        message="Authorize access", url="https://example.com/oauth", elicitation_id="auth-7")])


@server.tool()
def meta_echo(ctx: Context) -> str:
    """The request's `_meta` as the server got it."""
    return json.dumps(dict(ctx.request_context.meta or {}), sort_keys=True)


class Name(BaseModel):
    """What `ask` asks."""

    name: str


@server.tool()
async def ask(ctx: Context) -> str:
    """Asks the client's user for a name."""
    answer = await ctx.elicit("Who are you?", Name)
    return f"hello {getattr(answer, 'data', None)}"


@server.resource("err://custom")
def custom_resource() -> str:
    """Fails with -32099 and data."""
    raise MCPError(code=-32099, message="custom resource failure", data=CUSTOM_DATA)


@server.prompt()
def custom_prompt() -> str:
    """Fails with -32099 and data."""
    raise MCPError(code=-32099, message="custom prompt failure", data=CUSTOM_DATA)


TRANSPORT = "http" if "--http" in sys.argv else "stdio"


@server.resource("err://fine")
def fine_resource() -> str:
    """Reads, naming the transport that served it."""
    return f"fine ({TRANSPORT})"


@server.tool()
def links() -> CallToolResult:
    """A link to err://fine and the resource embedded."""
    return CallToolResult(content=[
        ResourceLink(type="resource_link", uri="err://fine", name="fine"),
        EmbeddedResource(type="resource", resource=TextResourceContents(uri="err://fine", text="fine"))])


@server.prompt()
def with_resource() -> list[dict[str, object]]:
    """A message embedding err://fine."""
    return [{"role": "user", "content": {"type": "resource", "resource": {"uri": "err://fine", "text": "fine"}}}]


if __name__ == "__main__":
    if "--http" not in sys.argv:
        server.run("stdio")
        sys.exit(0)
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(server.streamable_http_app(host="localhost"), log_level="critical",
                                  lifespan="on")).run(sockets=[sock])
