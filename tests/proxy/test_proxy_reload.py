"""Hot reload covers proxied resources and prompts: an upstream list_changed and a manifest edit both
reach clients as `notifications/{prompts,resources}/list_changed`, and the new items are served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types as types

from tests.support.everything import command_source, write_manifest
from tests.support.served import http_client, mcprt_http


class Catcher:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.PromptListChangedNotification):
            self.seen.append("prompts")
        elif isinstance(message, types.ResourceListChangedNotification):
            self.seen.append("resources")
        elif isinstance(message, types.ToolListChangedNotification):
            self.seen.append("tools")

    async def wait_for(self, *kinds: str, timeout: float = 30) -> None:
        with anyio.fail_after(timeout):
            while not all(kind in self.seen for kind in kinds):
                await anyio.sleep(0.05)


async def test_an_upstream_list_change_reaches_clients(tmp_path: Path) -> None:
    with mcprt_http(write_manifest(tmp_path, command_source("fx"))) as up:
        catcher = Catcher()
        async with http_client(up.url, message_handler=catcher) as client:
            await client.list_prompts()
            await client.call_tool("add_prompt", {"name": "late_prompt"})
            await catcher.wait_for("prompts", "resources")
            assert "tools" not in catcher.seen  # the tool list did not change
            assert "late_prompt" in [p.name for p in (await client.list_prompts()).prompts]
            assert "test://added/late_prompt" in [str(r.uri) for r in (await client.list_resources()).resources]


async def test_a_manifest_edit_renaming_a_prompt_notifies_clients(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, command_source("fx"))
    with mcprt_http(manifest) as up:
        catcher = Catcher()
        async with http_client(up.url, message_handler=catcher) as client:
            await client.list_prompts()
            write_manifest(tmp_path, command_source("fx", extra="prompts: {test_simple_prompt: {name: simple}}\n"))
            await catcher.wait_for("prompts")
            assert catcher.seen == ["prompts"]
            # An override is applied by the builder: the proxied server process is kept.
            # its stderr is read by a thread: the line may not be collected when the notification arrives
            applied = next(line for line in up.wait_log("reload applied").splitlines() if "reload applied" in line)
            assert "sources_opened=-" in applied and "sources_reused=1" in applied, applied
            names = [p.name for p in (await client.list_prompts()).prompts]
            assert "simple" in names and "test_simple_prompt" not in names
            got = await client.get_prompt("simple")
            assert got.messages[0].content.text == "This is a simple prompt for testing."  # type: ignore[union-attr]


async def test_discovery_mode_keeps_resources_and_prompts_listed(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, command_source("fx"), server="server: {expose: discovery}\n")
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            assert tools == ["search_tools", "describe_tools", "call_tool"]
            assert len((await client.list_prompts()).prompts) == 5
            assert len((await client.list_resources()).resources) == 3
