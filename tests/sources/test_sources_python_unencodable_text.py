"""A Python tool's text that UTF-8 cannot encode (a lone surrogate) is the tool's error, not mcprt's.

The i18n trial: `def surrogate() -> str: return "a\\ud800b"` answered "internal error in mcprt while calling
surrogate: UnicodeEncodeError" with an ERROR traceback (status=internal). Now: a tool error naming the tool, where
the character is and its code point; a WARNING line without a traceback; the server keeps serving. Through `mcprt up`
(streamable HTTP and stdio, the SDK client)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client, types

from tests.support.served import UpProcess, child_env, http_client, mcprt_http, stdio_up, text_of

TOOLS = '''
import os


def surrogate() -> str:
    return "a\\ud800b"


def nested() -> dict:
    return {"files": ["ok.txt", os.fsdecode(b"caf\\xe9.txt")]}


def bad_key() -> dict:
    return {"na\\udc80me": 1}


def raises() -> str:
    raise ValueError("bad name: " + os.fsdecode(b"\\xff.txt"))


def fine() -> str:
    return "Größe 東京 🎉"
'''

# (tool, what the error says of where the character is)
CASES = [
    ("surrogate", "tool surrogate returned text that cannot be sent: result holds the lone surrogate U+D800 at "
                  "character 1"),
    ("nested", "tool nested returned text that cannot be sent: result['files'][1] holds the lone surrogate U+DCE9 at "
               "character 3"),
    ("bad_key", "tool bad_key returned text that cannot be sent: result key 'na\\udc80me' holds the lone surrogate "
                "U+DC80 at character 2"),
]


def project(folder: Path) -> Path:
    (folder / "texttools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text("version: 1\nserver: {name: texts}\nsources:\n  py: {python: texttools}\n")
    return folder / "mcp.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with mcprt_http(project(tmp_path_factory.mktemp("texts")), "--no-reload", env=child_env()) as up:
        yield up


def calls(up: UpProcess, *names: str) -> list[types.CallToolResult]:
    async def called() -> list[types.CallToolResult]:
        async with http_client(up.url) as client:
            return [await client.call_tool(name, {}) for name in names]

    return anyio.run(called)


@pytest.mark.parametrize(("tool", "said"), CASES)
def test_a_lone_surrogate_is_the_tools_error_naming_where_and_the_server_serves_on(served: UpProcess, tool: str,
                                                                                   said: str) -> None:
    mark = served.log_mark()
    bad, good = calls(served, tool, "fine")
    assert bad.is_error and text_of(bad).startswith(said), text_of(bad)
    assert "internal error" not in text_of(bad)
    assert not good.is_error and text_of(good) == "Größe 東京 🎉"
    served.wait_log_beyond(f"tool {tool} returned text that cannot be sent", 0)
    log = served.log_since(mark)
    assert "WARNING" in log and "Traceback" not in log and "ERROR" not in log and "status=internal" not in log
    assert f"tool={tool}" in log and "status=tool_error" in log


def test_an_exception_message_with_a_lone_surrogate_is_shown_escaped(served: UpProcess) -> None:
    (result,) = calls(served, "raises")
    assert result.is_error and text_of(result) == "ValueError: bad name: \\udcff.txt"


def test_over_stdio_too(tmp_path: Path) -> None:
    async def called() -> tuple[str, str]:
        async with Client(stdio_up(project(tmp_path), env=child_env())) as client:
            bad = await client.call_tool("surrogate", {})
            good = await client.call_tool("fine", {})
            assert bad.is_error and not good.is_error
            return text_of(bad), text_of(good)

    bad, good = anyio.run(called)
    assert bad.startswith(CASES[0][1]) and good == "Größe 東京 🎉"


SURROGATE_SERVER = Path(__file__).parents[1] / "support" / "surrogate_mcp_server.py"


def test_a_proxied_servers_unpaired_surrogate_escape_is_its_error(tmp_path: Path) -> None:
    """The same kind from a proxied stdio MCP server (its JSON held `\\udce9`): the SDK's parser refuses the line, so
    it is that server's tool error, not mcprt's internal error; its next call is served."""
    (tmp_path / "mcp.yaml").write_text(
        f"version: 1\nserver: {{name: proxied}}\nsources:\n  srv:\n    command: {sys.executable}\n"
        f"    args: [{str(SURROGATE_SERVER)!r}]\n")
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env()) as up:
        bad, good = calls(up, "files", "fine")
        log = up.log()
    assert bad.is_error and text_of(bad).startswith("files: server 'srv' refused the call: the server's answer was not "
                                                    "a valid JSON-RPC response"), text_of(bad)
    assert not good.is_error and text_of(good) == "Größe 東京"
    assert "internal error" not in log and "Traceback" not in log
