"""A number JSON cannot carry (NaN, ±Infinity, a literal past a double's range) is a tool error naming the
field, whichever source kind sent it — as a Python tool returning NaN already was.

Found by a pentest trial: an upstream answering `{"n": 1e999999, "m": 1234…890, "nan": NaN}` reached the
model as text `{"n":Infinity,…,"nan":NaN}` (not JSON) and `structuredContent` `{"n": null, …, "nan": null}`
(silently changed), and the call was ok: a model reading either view got a different answer, neither told
why. RFC 8259 §6: "Numeric values that cannot be represented … (such as Infinity and NaN) are not permitted".
Real upstreams on 127.0.0.1 (an OpenAPI one, a hand-written stdio MCP server writing raw JSON lines), real
`mcprt up` over stdio, the SDK client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.held_client import held
from tests.support.served import stdio_up, text_of
from tests.support.upstream import serve_app

pytestmark = pytest.mark.asyncio(loop_scope="module")

BODIES = {
    "overflow": '{"n": 1e999999, "m": 123456789012345678901234567890}',
    "nan": '{"ok": 1, "nan": NaN}',
    "negative": '{"items": [1, {"x": -Infinity}]}',
    "fine": '{"big": 1e300, "s": "NaN Infinity 1e999", "m": 123456789012345678901234567890}',
}


async def _body(request: Request) -> Response:
    return Response(BODIES[request.path_params["which"]], media_type="application/json")


SPEC = {"openapi": "3.0.3", "info": {"title": "n", "version": "1"}, "paths": {"/n/{which}": {"get": {
    "operationId": "numbers", "parameters": [{"name": "which", "in": "path", "required": True,
                                              "schema": {"type": "string"}}],
    "responses": {"200": {"description": "numbers"}}}}}}

# A stdio MCP server written by hand, so its JSON holds what no SDK would write: one tool whose result's
# structuredContent has the number the call's `which` names.
RAW_SERVER = r'''
import json, sys

STRUCTURED = {"overflow": '{"n": 1e999999}', "nan": '{"deep": {"nan": NaN}}', "fine": '{"n": 1.5}'}
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method, rid = message["method"], json.dumps(message["id"])
    if method == "initialize":
        result = json.dumps({"protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
                             "serverInfo": {"name": "raw", "version": "1"}})
    elif method == "tools/list":
        result = json.dumps({"tools": [{"name": "raw_numbers", "description": "Numbers.", "inputSchema": {
            "type": "object", "properties": {"which": {"type": "string"}}, "required": ["which"]}}]})
    elif method == "tools/call":
        which = message["params"]["arguments"]["which"]
        structured = STRUCTURED[which]
        result = ('{"content": [{"type": "text", "text": ' + json.dumps(structured) + '}], '
                  '"structuredContent": ' + structured + '}')
    else:
        result = "{}"
    sys.stdout.write('{"jsonrpc": "2.0", "id": ' + rid + ', "result": ' + result + '}\n')
    sys.stdout.flush()
'''


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_app(Starlette(routes=[Route("/n/{which}", _body)])) as base:
        yield base


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    import sys

    folder = tmp_path_factory.mktemp("non_finite")
    (folder / "spec.json").write_text(json.dumps(SPEC))
    (folder / "raw_server.py").write_text(RAW_SERVER)
    (folder / "mcp.yaml").write_text(f"""version: 1
sources:
  api:
    openapi: spec.json
    base_url: {upstream}
  raw:
    command: {json.dumps([sys.executable, str(folder / "raw_server.py")])}
""")
    async with held(Client(stdio_client(stdio_up(folder / "mcp.yaml")), mode="legacy")) as opened:  # type: ignore[arg-type]
        yield opened


@pytest.mark.parametrize(("which", "where"), [("overflow", "result['n'] = inf"), ("nan", "result['nan'] = nan"),
                                              ("negative", "result['items'][1]['x'] = -inf")])
async def test_an_openapi_upstream_sending_a_non_finite_number_is_a_tool_error(
        client: Client, which: str, where: str) -> None:
    result = await client.call_tool("numbers", {"which": which})
    assert result.is_error and result.structured_content is None, result
    assert text_of(result) == (f"HTTP 200 OK: upstream sent {where}, which JSON cannot carry (no NaN or Infinity "
                               "in JSON, RFC 8259 §6; a number past about 1.8e308 reads as Infinity)")


async def test_large_but_finite_numbers_and_such_words_in_strings_are_results(client: Client) -> None:
    result = await client.call_tool("numbers", {"which": "fine"})
    assert not result.is_error, result
    assert json.loads(text_of(result)) == {"big": 1e300, "s": "NaN Infinity 1e999",
                                           "m": 123456789012345678901234567890}
    assert result.structured_content == json.loads(text_of(result))  # both views say the same


@pytest.mark.parametrize(("which", "where"), [("overflow", "structuredContent['n'] = inf"),
                                              ("nan", "structuredContent['deep']['nan'] = nan")])
async def test_a_proxied_server_sending_a_non_finite_number_is_a_tool_error(
        client: Client, which: str, where: str) -> None:
    result = await client.call_tool("raw_numbers", {"which": which})
    assert result.is_error and result.structured_content is None, result
    assert text_of(result) == f"the server sent {where}, which JSON cannot carry (no NaN or Infinity in JSON, RFC 8259 §6)"
    fine = await client.call_tool("raw_numbers", {"which": "fine"})
    assert not fine.is_error and fine.structured_content == {"n": 1.5}
