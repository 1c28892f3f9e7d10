"""Resources, prompts, completions, subscriptions, logs and field pass-through of proxied MCP servers,
through `mcprt up` (a real subprocess) with the SDK client, upstream being the everything fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from tests.support.cli import mcprt_cli
from tests.support.everything import command_source, fixture_http, url_source, write_manifest
from tests.support.everything_server import BIG_KINDS, TOOLS
from tests.support.served import http_client, mcprt_http, text_of

# resources/subscribe and logging are handshake-era features the SDK marks deprecated for 2026-07-28.
pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_features")]  # one started server per run, not one per worker


BIG_LIMIT = 16_000  # test_big_result's max_result_bytes


@pytest.fixture(scope="module")
def fixture_url() -> Iterator[str]:
    with fixture_http() as url:
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mcprt up --transport http` proxying the fixture as a `command:` source."""
    limit = f"tools:\n  test_big_result: {{max_result_bytes: {BIG_LIMIT}}}\n"
    # `quiet`: resources without subscriptions, beside fx's with (its URIs exposed as `q+test://…`)
    quiet = command_source("quiet", "--features", "resources,nosubscribe", extra="prefix: q_\n")
    manifest = write_manifest(tmp_path_factory.mktemp("features"), command_source("fx", extra=limit), quiet)
    with mcprt_http(manifest, "--no-reload") as up:
        yield up.url


async def test_resources_templates_prompts_and_completion_are_proxied(served: str) -> None:
    async with http_client(served) as client:
        capabilities = client.server_capabilities
        assert capabilities.resources is not None and capabilities.resources.subscribe is True
        assert capabilities.prompts is not None and capabilities.completions is not None

        listed = await client.list_resources()
        assert [str(r.uri) for r in listed.resources if not str(r.uri).startswith("q+")] == [
            "test://static-text", "test://static-binary", "test://watched-resource"]
        assert listed.resources[0].description == "A static text resource."
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates if not t.uri_template.startswith("q+")] == [
            "test://template/{id}/data"]

        text = await client.read_resource("test://static-text")
        assert text.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        data = await client.read_resource("test://template/123/data")
        assert json.loads(data.contents[0].text) == {"id": "123", "templateTest": True,  # type: ignore[union-attr]
                                                     "data": "Data for ID: 123"}

        prompts = await client.list_prompts()
        assert [p.name for p in prompts.prompts] == ["test_simple_prompt", "test_prompt_with_arguments",
                                                     "test_prompt_with_embedded_resource", "test_prompt_with_image",
                                                     "test_input_required_result_prompt"]
        got = await client.get_prompt("test_prompt_with_arguments", {"arg1": "hello", "arg2": "world"})
        assert got.messages[0].content.text == "Prompt with arguments: arg1='hello', arg2='world'"  # type: ignore[union-attr]

        completed = await client.complete(types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
                                          {"name": "arg1", "value": "par"})
        assert completed.completion.values == ["paris", "park", "party"]
        by_template = await client.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"),
            {"name": "id", "value": "12"})
        assert by_template.completion.values == ["123", "124"]


async def test_an_unknown_resource_is_a_clear_error_and_the_server_keeps_serving(served: str) -> None:
    async with http_client(served) as client:
        with pytest.raises(Exception, match="test://nope"):
            await client.read_resource("test://nope")
        assert text_of(await client.call_tool("test_simple_text", {})) == "This is a simple text response for testing."


async def test_resource_updates_reach_only_the_subscribers(served: str) -> None:
    updates: dict[str, list[str]] = {"subscribed": [], "other": []}

    def catcher(key: str) -> Any:
        async def handle(message: Any) -> None:
            if isinstance(message, types.ResourceUpdatedNotification):
                updates[key].append(str(message.params.uri))
        return handle

    async with http_client(served, message_handler=catcher("subscribed")) as subscribed, \
            http_client(served, message_handler=catcher("other")) as other:
        await subscribed.subscribe_resource("test://watched-resource")
        await other.list_resources()
        await other.call_tool("touch_watched", {})
        with anyio.fail_after(20):
            while not updates["subscribed"]:
                await anyio.sleep(0.05)
        assert updates["subscribed"] == ["test://watched-resource"]
        await subscribed.unsubscribe_resource("test://watched-resource")
        await other.call_tool("touch_watched", {})
        await anyio.sleep(0.5)
        assert updates == {"subscribed": ["test://watched-resource"], "other": []}


async def test_a_resource_whose_source_has_no_subscriptions_refuses_subscribe(served: str) -> None:
    """#15 check 3: an upstream without resource subscriptions (`resources.subscribe` false) had its
    `resources/subscribe` answered with success, promising updates that never come. Now an error
    (-32602 naming the source, since another source here does support them; -32601 when none does:
    tests/proxy/test_subscriptions_released.py), and the server keeps serving subscriptions that work."""
    from mcp.shared.exceptions import MCPError

    async with http_client(served) as client:
        assert client.server_capabilities.resources.subscribe is True  # type: ignore[union-attr]  # fx's
        with pytest.raises(MCPError, match="source 'quiet' does not support resource subscriptions") as refused:
            await client.subscribe_resource("q+test://watched-resource")
        assert refused.value.error.code == types.INVALID_PARAMS
        read = await client.read_resource("q+test://static-text")  # its resources still read
        assert read.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        await client.subscribe_resource("test://watched-resource")  # fx's still subscribe
        await client.unsubscribe_resource("test://watched-resource")


@pytest.mark.parametrize("kind", ["command", "url"])
async def test_tool_and_result_fields_the_proxy_does_not_change_pass_through(
    kind: str, fixture_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """#12 fault 8: a tool's `icons`, `_meta`, `execution` and a result's `_meta` were dropped."""
    with ExitStack() as stack:
        if kind == "command":  # the module's server proxies the same `command:` source: a new session on it
            url = request.getfixturevalue("served")
        else:
            url = stack.enter_context(mcprt_http(write_manifest(tmp_path, url_source("fx", fixture_url)), "--no-reload")).url
        async with http_client(url) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            wire = listed["test_fields"].model_dump(by_alias=True, mode="json", exclude_none=True)
            assert wire == next(tool for tool in TOOLS if tool["name"] == "test_fields")
            result = await client.call_tool("test_fields", {})
            assert result.meta == {"example.com/trace": "t-1"}
            assert result.structured_content == {"ok": True}
            mixed = await client.call_tool("test_multiple_content_types", {})
            assert mixed.content[1].annotations is not None
            assert mixed.content[1].annotations.audience == ["user"]
    if kind == "url":
        # `ToolResult.to_wire` set `_meta` in two places; `mcprt call` prints that wire object: the proxied
        # result's own `_meta`, once, beside its other fields
        called = mcprt_cli("call", str(tmp_path / "mcp.yaml"), "test_fields")
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout) == {"content": [{"type": "text", "text": '{"ok": true}'}],
                                             "structuredContent": {"ok": True}, "_meta": {"example.com/trace": "t-1"}}


async def test_tool_log_messages_are_relayed_and_honour_set_level(served: str) -> None:
    received: list[tuple[str, Any]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        received.append((params.level, params.data))

    async with http_client_with(served, logging_callback=on_log) as client:
        await client.call_tool("test_tool_with_logging", {})
        assert received == [("info", "Tool execution started"), ("info", "Tool processing data"),
                            ("info", "Tool execution completed")]
        await client.set_logging_level("warning")
        await client.call_tool("test_tool_with_logging", {})
        assert len(received) == 3


async def test_progress_is_relayed(served: str) -> None:
    seen: list[tuple[float, float | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total))

    async with http_client(served) as client:
        await client.call_tool("test_tool_with_progress", {}, progress_callback=progress)
    assert seen == [(0, 100), (50, 100), (100, 100)]


def http_client_with(url: str, **callbacks: Any) -> Any:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    return Client(streamable_http_client(url), mode="legacy", **callbacks)


def _payload_bytes(result: types.CallToolResult) -> int:
    """The whole result as sent, notes aside: every block's payload (text, base64 data, a resource's
    text or blob, a link's uri) plus structuredContent's compact JSON unless a text block repeats it."""
    size, texts = 0, []
    for block in result.content:
        wire = block.model_dump(by_alias=True, exclude_none=True)
        if wire["type"] == "text":
            if wire["text"].startswith("Note: "):
                continue
            texts.append(wire["text"])
        resource = wire.get("resource") or {}
        payload = wire.get("text") or wire.get("data") or resource.get("text") or resource.get("blob") or wire["uri"]
        size += len(payload.encode())
    structured = result.structured_content
    if structured is not None and not any(structured in ({"result": t}, _json_or_none(t)) for t in texts):
        size += len(json.dumps(structured, separators=(",", ":"), ensure_ascii=False).encode())
    return size


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize(("kind", "kb"), [*((kind, 64) for kind in BIG_KINDS), ("wrapped", 1500)])
async def test_the_result_limit_bounds_every_block_type_and_structured_content(served: str, kind: str,
                                                                               kb: int) -> None:
    """#15 fault 1: only text blocks were shortened; structuredContent (a `-> str` tool's copy of its text),
    images, audio, embedded resources and links went out whole (1.5 MiB of structuredContent past the SDK
    client's 1 MiB SSE event limit: `MCPError: SSE stream failed`). The whole result keeps to the limit,
    structuredContent still validates against the tool's outputSchema (the SDK client checks it), and a
    note says what was shortened or left out."""
    async with http_client(served) as client:
        await client.list_tools()  # the client learns the outputSchema it validates structuredContent against
        result = await client.call_tool("test_big_result", {"kind": kind, "kb": kb})
        assert not result.is_error, result.content
        assert 0 < _payload_bytes(result) <= BIG_LIMIT, (kind, _payload_bytes(result))
        # and the whole result object as sent, every field and the notes included, a structuredContent a text
        # block repeats counted once (README "Size limits"; the server's `"isError":false,"resultType":"complete"`,
        # 38 bytes, is its documented tolerance)
        dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
        texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
        if any(result.structured_content in ({"result": t}, _json_or_none(t)) for t in texts):
            dumped.pop("structuredContent")
        sent = len(json.dumps(dumped, separators=(",", ":"), ensure_ascii=False).encode())
        assert sent <= BIG_LIMIT + 38, (kind, sent)
        note = result.content[-1]
        assert isinstance(note, types.TextContent) and note.text.startswith("Note: ")
        assert f"{BIG_LIMIT:,} bytes" in note.text, note.text
        assert isinstance(result.structured_content, dict)
        if kind == "wrapped":  # the copy repeats the shortened text, as the upstream's repeated the whole
            assert result.structured_content == {"result": result.content[0].text}  # type: ignore[union-attr]
