"""A `command:` server written with the official SDK's `MCPServer` (which speaks both protocol eras,
unlike the everything fixture that refuses `server/discover`): what its author writes for
elicitation, sampling, log messages and a changed tool list reaches the client calling through
`mcprt up`. A new-user trial found them all failing: mcprt reached such a server in the 2026-07-28
era, where the SDK has no back-channel for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.support.served import child_env, launch_command, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).parents[1] / "sources" / "fixtures" / "mcp_server.py"


@pytest.mark.parametrize("flags", [(), ("--no-reload",)], ids=["reload", "no-reload"])
async def test_an_sdk_servers_requests_logs_and_list_changes_reach_the_client(tmp_path: Path,
                                                                              flags: tuple[str, ...]) -> None:
    """`--no-reload` stops watching files, not following the upstream's tool list."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f'version: 1\nsources:\n  fx:\n    command: {script_command_yaml(SERVER)}\n',
                        encoding="utf-8")
    logs: list[tuple[str, Any]] = []
    changed = anyio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async def on_sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        return types.CreateMessageResult(role="assistant", model="m", content=types.TextContent(type="text", text="hi!"))

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        assert params.message == "What is your name?"
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    command = launch_command(manifest, *flags)
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(tmp_path))
    async with Client(params, mode="legacy", logging_callback=on_log, message_handler=on_message,  # type: ignore[arg-type]
                      sampling_callback=on_sampling, elicitation_callback=on_elicit) as client:
        asked = await client.call_tool("ask", {})
        assert (text_of(asked), asked.is_error) == ("accept: Ada", False)
        sampled = await client.call_tool("sample", {})
        assert (text_of(sampled), sampled.is_error) == ("the model said: hi!", False)

        await client.set_logging_level("debug")
        assert text_of(await client.call_tool("chatty", {})) == "chatted"
        with anyio.fail_after(30):
            while len(logs) < 2:
                await anyio.sleep(0.02)
        assert logs == [("info", "first log line"), ("warning", "second log line")]

        assert text_of(await client.call_tool("add_tool", {"name": "late_tool"})) == "added"
        with anyio.fail_after(30):
            await changed.wait()
        assert "late_tool" in [tool.name for tool in (await client.list_tools()).tools]
        assert text_of(await client.call_tool("late_tool", {})) == "I am late_tool"


async def test_relayed_log_messages_leave_no_raw_warning_on_stderr(tmp_path: Path) -> None:
    """mcprt relays log messages to handshake-era clients on purpose: the SDK's deprecation warning
    for 2026-07-28 must not reach the terminal as a raw Python warning line (a trial saw one)."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f'version: 1\nsources:\n  fx:\n    command: {script_command_yaml(SERVER)}\n',
                        encoding="utf-8")
    logs: list[Any] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    with mcprt_http(manifest, "--no-reload", env=child_env(PYTHONWARNINGS="default")) as up:
        async with Client(streamable_http_client(up.url), mode="legacy", logging_callback=on_log) as client:
            await client.set_logging_level("info")
            assert text_of(await client.call_tool("chatty", {})) == "chatted"
            with anyio.fail_after(30):
                while len(logs) < 2:
                    await anyio.sleep(0.02)
        ours = [line for line in up.stderr if "mcprt.source.fx" not in line]  # the server's own stderr aside
        assert not [line for line in ours if "Warning" in line], "".join(ours)
