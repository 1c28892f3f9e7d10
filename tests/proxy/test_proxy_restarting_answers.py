"""While a `command:` source restarts, every request says "transient: retry in N s" the same way (soak F4).

The soak trial's `resources/read` during a stdio server's restart got JSON-RPC -32603 "Internal error"
(`source 'proc' is restarting (attempt 1); try again in a few seconds`), which clients and dashboards read as
a server bug, with no retry hint, while a tool call in the same window got a tool error. Now a resource,
prompt or completion request gets -32000 with `data.retryAfter` (seconds), as mcprt's refused session does,
and a tool call's error result carries `_meta` `mcprt/retryAfter`, as a rate limit's does.

A real `mcprt up --transport http` proxies `tests/proxy/chatty_server.py` over stdio; its `die` tool ends
the process, and the requests are sent by the SDK client over streamable HTTP before the restart is done.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.everything import write_manifest
from tests.support.served import http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).resolve().parent / "chatty_server.py"


async def test_requests_during_a_restart_get_a_retry_hint(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, f"  chatty:\n    command: {script_command_yaml(SERVER)}\n")
    with mcprt_http(manifest, "--no-reload", startup_timeout=60) as up:
        async with http_client(up.url) as client:
            first = (await client.read_resource("chatty://pid")).contents[0].text  # type: ignore[union-attr]
            with anyio.fail_after(30):
                died = await client.call_tool("die", {})
                assert died.is_error  # the connection ended during the call
                with pytest.raises(MCPError) as refused:
                    await client.read_resource("chatty://pid")
                call = await client.call_tool("work", {"who": "x", "steps": 1})
            error = refused.value.error
            assert error.code == -32000, error
            assert "source 'chatty' is restarting (attempt 1)" in error.message, error
            assert isinstance(error.data, dict) and error.data.keys() == {"retryAfter"}, error
            assert isinstance(error.data["retryAfter"], int) and 1 <= error.data["retryAfter"] <= 3, error
            assert call.is_error and "source 'chatty' is restarting (attempt 1)" in text_of(call), call
            assert call.meta is not None and 1 <= call.meta["mcprt/retryAfter"] <= 3, call
            with anyio.fail_after(30):  # and it serves again
                while True:
                    try:
                        again = (await client.read_resource("chatty://pid")).contents[0].text  # type: ignore[union-attr]
                        break
                    except MCPError:
                        await anyio.sleep(0.2)
            assert again != first
