"""A client's value for an argument the manifest sets (`fixed`, `hidden` with a value) is refused, whatever it is —
one rule for every source kind, checked over stdio with the SDK client against a real `mcprt up` serving a
`python:` source and an `openapi:` source whose upstream runs on 127.0.0.1.

A trial's `add: {name: plus, args: {b: {fixed: 10}}}` answered `plus {"a": 1, "b": 3}` with "11" and no word:
the model believed it had passed `b: 3`, while `plus {"a": 1, "zzz": 3}` was refused as an unknown argument.
(`check_arguments` dropped every hidden argument the client sent before checking.) The fixed argument is not in
the inputSchema. An equal value is refused too (a review: taking it made the argument an oracle — a client sending
`key: "sk-live-ABC"` for `key: {fixed: "${SECRET_KEY}"}` learnt from the success that it had guessed the secret),
and the refusal never shows the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, stdio_up, text_of
from tests.support.upstream import serve_app

MODULE = '''
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    return a + b


def keyed(a: int, key: str) -> str:
    """Call something with a key."""
    return f"{a} keylen={len(key)}"


def greet(name: str, tone: str = "plain", sign: str = "") -> str:
    """Greet someone."""
    return f"{tone} hello {name}{sign}"
'''


def _spec(base: str) -> dict[str, Any]:
    parameter = [{"name": name, "in": "query", "schema": {"type": kind}}
                 for name, kind in (("q", "string"), ("limit", "integer"), ("debug", "boolean"))]
    return {
        "openapi": "3.1.0",
        "info": {"title": "search", "version": "1"},
        "servers": [{"url": base}],
        "paths": {"/search": {"get": {"operationId": "search", "parameters": parameter,
                                      "responses": {"200": {"description": "the query it got",
                                                            "content": {"application/json": {}}}}}}},
    }


MANIFEST = """\
version: 1
sources:
  py:
    python: fixed_tools
    tools:
      add:
        name: plus
        args:
          b: {fixed: 10}
      keyed:
        args:
          key: {fixed: "${FIXED_SECRET_KEY}"}
      greet:
        args:
          tone: {hidden: true, default: warm}
          sign: {hidden: true}
  api:
    openapi: api.json
    tools:
      search:
        args:
          limit: {fixed: 50}
"""

SECRET = "sk-live-ABC"
REFUSED_B = ("invalid arguments for plus: 'b' is set by the server, which always sends its own value: leave it out. "
             "Arguments (* required): a*.")


REFUSED_KEY = ("invalid arguments for keyed: 'key' is set by the server, which always sends its own value: leave it "
               "out. Arguments (* required): a*.")
REFUSED_TONE = ("invalid arguments for greet: 'tone' is set by the server, which always sends its own value: leave it "
                "out. Arguments (* required): name*.")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """The API's base URL, and the query of each request it received."""
    received: list[dict[str, str]] = []

    async def search(request: Request) -> JSONResponse:
        received.append(dict(request.query_params))
        return JSONResponse(dict(request.query_params))

    with serve_app(Starlette(routes=[Route("/search", search)])) as base:
        yield base, received


def _served(folder: Path, base: str) -> Client:
    (folder / "fixed_tools.py").write_text(MODULE)
    (folder / "api.json").write_text(json.dumps(_spec(base)))
    (folder / "mcp.yaml").write_text(MANIFEST)
    return Client(stdio_up(folder / "mcp.yaml", env=child_env(FIXED_SECRET_KEY=SECRET)), mode="legacy")


# (tool, arguments, the answer: the result's text, or the refusal)
CALLS = [
    ("plus", {"a": 1, "b": 3}, REFUSED_B),  # the trial's call: it answered "11"
    ("plus", {"a": 1, "b": 10}, REFUSED_B),  # equal: refused all the same
    ("plus", {"a": 1, "b": 10.0}, REFUSED_B),
    ("plus", {"a": 1, "b": True}, REFUSED_B),
    ("plus", {"a": 1, "b": None}, REFUSED_B),
    ("plus", {"a": 1}, "11"),
    ("plus", {"a": 1, "b": 3, "zzz": 3},
     "invalid arguments for plus: 'b' is set by the server, which always sends its own value: leave it out; unknown "
     "argument 'zzz'. Arguments (* required): a*."),
    # a fixed secret: a right guess is refused as a wrong one is (no oracle), and neither answer shows it
    ("keyed", {"a": 1, "key": "wrong"}, REFUSED_KEY),
    ("keyed", {"a": 1, "key": SECRET}, REFUSED_KEY),
    ("keyed", {"a": 1}, f"1 keylen={len(SECRET)}"),
    # hidden with a default: set by the server as a fixed one is
    ("greet", {"name": "Ann", "tone": "cold"}, REFUSED_TONE),
    ("greet", {"name": "Ann", "tone": "warm"}, REFUSED_TONE),
    # hidden without a value: the model does not know it, as any argument the tool does not show
    ("greet", {"name": "Ann", "sign": "!"},
     "invalid arguments for greet: unknown argument 'sign'. Arguments (* required): name*."),
    ("greet", {"name": "Ann"}, "warm hello Ann"),
]


async def test_any_value_for_an_argument_the_server_sets_is_refused(
        tmp_path: Path, upstream: tuple[str, list[dict[str, str]]]) -> None:
    base, received = upstream
    async with _served(tmp_path, base) as client:
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        assert list(schemas["plus"]["properties"]) == ["a"]
        assert list(schemas["keyed"]["properties"]) == ["a"]
        assert list(schemas["greet"]["properties"]) == ["name"]
        assert set(schemas["search"]["properties"]) == {"q", "debug"}
        for tool, arguments, answer in CALLS:
            result = await client.call_tool(tool, arguments)
            assert text_of(result) == answer, (tool, arguments, text_of(result))
            assert result.is_error == answer.startswith("invalid arguments"), (tool, arguments)

        # one rule for an OpenAPI source: a refused call reaches no upstream
        refused = await client.call_tool("search", {"q": "kiwi", "limit": 5})
        assert refused.is_error and text_of(refused) == (
            "invalid arguments for search: 'limit' is set by the server, which always sends its own value: leave it "
            "out. Arguments (* required): q, debug."), text_of(refused)
        equal = await client.call_tool("search", {"q": "kiwi", "limit": 50})
        assert equal.is_error and text_of(equal) == text_of(refused), text_of(equal)
        assert received == []
        taken = await client.call_tool("search", {"q": "kiwi"})
        assert not taken.is_error and json.loads(text_of(taken)) == {"q": "kiwi", "limit": "50"}, text_of(taken)
        assert received == [{"q": "kiwi", "limit": "50"}]
