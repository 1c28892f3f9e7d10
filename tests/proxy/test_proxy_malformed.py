"""A proxied MCP server that says something malformed costs that item or that message, never the gateway:
the item is left out with a warning naming the source, the item and what is wrong, and everything
else keeps serving — at start, after a hot reload, after the server's list_changed, over stdio and
over streamable HTTP (tests/proxy/misbehaving_server.py sends what the SDK's server would refuse to)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import mcp_types as types
from mcp.shared.exceptions import MCPError

from tests.support.served import UpProcess, http_client, mcprt_http, text_of
from tests.support.zygote import script_command, script_command_yaml

SERVER = Path(__file__).parent / "misbehaving_server.py"
OBJECT = {"type": "object"}
ECHO = {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}

# Each malformed tool and the warning it must cost (nothing more).
BAD_TOOLS: list[tuple[Any, str]] = [
    ({"name": "no_schema"}, "tool 'no_schema' left out: inputSchema: Field required"),
    ({"name": "schema_text", "inputSchema": "object"},
     "tool 'schema_text' left out: inputSchema: Input should be a valid dictionary"),
    ({"name": "array_schema", "inputSchema": {"type": "array"}},
     "tool 'array_schema' left out: inputSchema.type: Input should be 'object'"),
    ({"name": "invalid_schema", "inputSchema": {"type": "object", "properties": {"a": {"type": "frobnicate"}}}},
     "tool 'invalid_schema' left out: `inputSchema` is not valid JSON Schema at properties/a/type: 'frobnicate' "
     "is not valid under any of the given schemas"),
    ({"name": "invalid_output_items", "inputSchema": OBJECT,
      "outputSchema": {"type": "object", "properties": {"n": {"minimum": "zero"}}}},
     "tool 'invalid_output_items' left out: `outputSchema` is not valid JSON Schema at properties/n/minimum: "
     "'zero' is not of type 'number'"),
    # 2020-12 (MCP's default dialect) refuses these though draft-07's meta-schema lets them through
    ({"name": "items_array", "inputSchema": {"type": "object", "properties": {
        "a": {"type": "array", "items": [{"type": "string"}]}}}},
     "tool 'items_array' left out: `inputSchema` is not valid JSON Schema at properties/a/items: "
     "[{'type': 'string'}] is not of type 'object', 'boolean'"),
    ({"name": "bad_defs", "inputSchema": {"type": "object", "$defs": {"x": {"type": "frobnicate"}}}},
     "tool 'bad_defs' left out: `inputSchema` is not valid JSON Schema at $defs/x/type: 'frobnicate' "
     "is not valid under any of the given schemas"),
    ({"name": "bad_prefix_items", "inputSchema": {"type": "object", "properties": {
        "a": {"prefixItems": [{"type": "frobnicate"}]}}}},
     "tool 'bad_prefix_items' left out: `inputSchema` is not valid JSON Schema at properties/a/prefixItems/0/type: "
     "'frobnicate' is not valid under any of the given schemas"),
    ({"name": "bad_output", "inputSchema": OBJECT, "outputSchema": {"type": "string"}},
     "tool 'bad_output' left out: outputSchema.type: Input should be 'object'"),
    ({"name": "invalid_output", "inputSchema": OBJECT, "outputSchema": {"type": "object", "required": "count"}},
     "tool 'invalid_output' left out: outputSchema.required: Input should be a valid list"),
    ({"name": "", "inputSchema": OBJECT}, "tool #"),  # its index: the line is checked below
    ({"name": "red\x1b[31malert", "inputSchema": OBJECT},
     "tool 'red\\x1b[31malert' left out: `name` has control characters"),
    ({"name": "x" * 200, "inputSchema": OBJECT}, "left out: `name` is 200 characters long (at most 128)"),
    ({"name": 7, "inputSchema": OBJECT}, "left out: `name` is a number, not a string"),
    ("just text", "left out: it is a string, not an object"),
    ({**ECHO, "description": "a second echo"}, "tools/list: 'echo' is listed again; the first one is kept"),
    ({"name": "bad_annotations", "inputSchema": OBJECT, "annotations": {"readOnlyHint": [1]}},
     "tool 'bad_annotations' left out: annotations.readOnlyHint: Input should be a valid boolean"),
]
GOOD_RESOURCE = {"uri": "test://good", "name": "good"}
BAD_RESOURCES: list[tuple[Any, str]] = [
    ({"name": "no_uri"}, "resources/list: resource #1 left out: `uri` is missing"),
    ({"uri": 123, "name": "numeric"}, "resources/list: resource #2 left out: `uri` is a number, not a string"),
    ({"uri": "test://nameless"}, "resource 'test://nameless' left out: name: Field required"),
    (GOOD_RESOURCE, "resources/list: 'test://good' is listed again; the first one is kept"),
]
GOOD_TEMPLATE = {"uriTemplate": "test://item/{id}", "name": "item"}
BAD_TEMPLATES: list[tuple[Any, str]] = [
    ({"name": "no_template"}, "resources/templates/list: resource template #1 left out: `uriTemplate` is missing"),
    ({"uriTemplate": "", "name": "empty"}, "resource template #2 left out: `uriTemplate` is empty"),
]
GOOD_PROMPT = {"name": "greet", "arguments": [{"name": "who", "required": True}]}
BAD_PROMPTS: list[tuple[Any, str]] = [
    ({"description": "no name"}, "prompts/list: prompt #1 left out: `name` is missing"),
    ({"name": "args_text", "arguments": "who"}, "prompt 'args_text' left out: arguments: Input should be a valid list"),
    ({"name": "greet"}, "prompts/list: 'greet' is listed again; the first one is kept"),
]
CALL_TOOLS = ["announce", "content_not_list", "unknown_block", "only_unknown_block", "not_an_object",
              "bad_structured", "stray_response", "bad_notification", "garbage_line"]


def good_scenario() -> dict[str, Any]:
    tools = [ECHO] + [{"name": n, "inputSchema": OBJECT} for n in CALL_TOOLS if n != "bad_structured"]
    tools.append({"name": "bad_structured", "inputSchema": OBJECT, "outputSchema": {
        "type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}})
    return {"tools": tools, "resources": [GOOD_RESOURCE], "templates": [GOOD_TEMPLATE], "prompts": [GOOD_PROMPT]}


def bad_scenario() -> dict[str, Any]:
    scenario = good_scenario()
    scenario["tools"] = scenario["tools"] + [item for item, _ in BAD_TOOLS] + [{"name": "late", "inputSchema": OBJECT}]
    scenario["resources"] = [GOOD_RESOURCE] + [item for item, _ in BAD_RESOURCES]
    scenario["templates"] = [GOOD_TEMPLATE] + [item for item, _ in BAD_TEMPLATES]
    scenario["prompts"] = [GOOD_PROMPT] + [item for item, _ in BAD_PROMPTS]
    return scenario


GOOD_TOOL_NAMES = {"echo", *CALL_TOOLS}
ALL_WARNINGS = [w for _, w in BAD_TOOLS + BAD_RESOURCES + BAD_TEMPLATES + BAD_PROMPTS]


def write(path: Path, scenario: dict[str, Any]) -> Path:
    path.write_text(json.dumps(scenario))
    return path


def manifest_for(tmp: Path, scenario: Path, *, url: str | None = None, name: str = "bad") -> Path:
    manifest = tmp / "mcp.yaml"
    source = (f"    url: {url}\n" if url else
              f"    command: {script_command_yaml(SERVER, str(scenario))}\n")
    manifest.write_text(f"version: 1\nsources:\n  {name}:\n{source}    timeout: 60s\n")
    return manifest


async def listed(client: Any) -> dict[str, set[str]]:
    return {
        "tools": {t.name for t in (await client.list_tools()).tools},
        "resources": {str(r.uri) for r in (await client.list_resources()).resources},
        "templates": {t.uri_template for t in (await client.list_resource_templates()).resource_templates},
        "prompts": {p.name for p in (await client.list_prompts()).prompts},
    }


EXPECTED = {"tools": GOOD_TOOL_NAMES, "resources": {"test://good"}, "templates": {"test://item/{id}"},
            "prompts": {"greet"}}


def assert_warned(up: UpProcess, *texts: str) -> None:
    log = up.wait_log(texts[-1])
    lines = [line for line in log.splitlines() if "source bad:" in line]
    for text in texts:
        assert any(text in line for line in lines), f"no warning with {text!r} in:\n" + "\n".join(lines)
    empty = [line for line in lines if "left out: `name` is empty" in line]
    assert empty and "tools/list: tool #" in empty[0], lines
    assert "Traceback" not in log


async def assert_serving(client: Any) -> None:
    result = await client.call_tool("echo", {"text": "still here"})
    assert not result.is_error and text_of(result) == "still here"
    read = await client.read_resource("test://good")
    assert read.contents[0].text == "content of test://good"  # type: ignore[union-attr]


def test_malformed_items_at_start_cost_only_those_items(tmp_path: Path) -> None:
    scenario = write(tmp_path / "scenario.json", bad_scenario())
    with mcprt_http(manifest_for(tmp_path, scenario), "--no-reload", startup_timeout=60) as up:
        async def check() -> None:
            async with http_client(up.url) as client:
                assert await listed(client) == {**EXPECTED, "tools": GOOD_TOOL_NAMES | {"late"}}
                tools = {t.name: t for t in (await client.list_tools()).tools}
                assert tools["echo"].description != "a second echo"  # the first of two is kept
                await assert_serving(client)

        anyio.run(check)
        assert_warned(up, *ALL_WARNINGS)
        assert up.process.poll() is None


def test_malformed_items_after_list_changed_cost_only_those_items(tmp_path: Path) -> None:
    scenario = write(tmp_path / "scenario.json", good_scenario())
    with mcprt_http(manifest_for(tmp_path, scenario), "--no-reload", startup_timeout=60) as up:
        async def after_list_changed() -> None:
            seen: list[Any] = []

            async def note(message: Any) -> None:
                seen.append(type(message))

            async with http_client(up.url, message_handler=note) as client:
                assert await listed(client) == EXPECTED
                write(scenario, bad_scenario())
                await client.call_tool("announce", {})  # the server sends tools/resources/prompts list_changed
                with anyio.fail_after(60):
                    while types.ToolListChangedNotification not in seen:
                        await anyio.sleep(0.05)
                assert await listed(client) == {**EXPECTED, "tools": GOOD_TOOL_NAMES | {"late"}}
                await assert_serving(client)

        anyio.run(after_list_changed)
        assert_warned(up, *ALL_WARNINGS)
        assert up.process.poll() is None


def test_malformed_items_after_hot_reload_cost_only_those_items(tmp_path: Path) -> None:
    scenario = write(tmp_path / "scenario.json", good_scenario())
    with mcprt_http(manifest_for(tmp_path, scenario), startup_timeout=60) as up:
        async def after_reload() -> None:
            async with http_client(up.url) as client:
                assert await listed(client) == EXPECTED
                # The scenario file is on the server's command line: editing it restarts the server on reload.
                write(scenario, bad_scenario())
                with anyio.fail_after(60):
                    while "late" not in {t.name for t in (await client.list_tools()).tools}:
                        await anyio.sleep(0.2)
                assert await listed(client) == {**EXPECTED, "tools": GOOD_TOOL_NAMES | {"late"}}
                await assert_serving(client)

        anyio.run(after_reload)
        assert_warned(up, *ALL_WARNINGS)
        up.wait_log("reload applied trigger=files files=scenario.json changes=+late")
        assert up.process.poll() is None


def test_pagination_faults_end_with_a_warning_and_keep_what_was_listed(tmp_path: Path) -> None:
    loop = write(tmp_path / "loop.json", {
        "tools": {"pages": {
            "": {"items": [ECHO], "next": "c1"},
            "c1": {"items": [], "next": "c2"},  # an empty page with a cursor is followed
            "c2": {"items": [{"name": "second", "inputSchema": OBJECT}, ECHO], "next": "c1"},  # a loop
        }},
        "resources": {"endless": 200},  # 10,000 items after 50 pages
    })
    endless = write(tmp_path / "endless.json", {"tools": {"endless": 2}})
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\nsources:\n"
        f"  bad:\n    command: {script_command_yaml(SERVER, str(loop))}\n"
        "    timeout: 120s\n"
        f"  endless:\n    command: {script_command_yaml(SERVER, str(endless))}\n"
        "    timeout: 120s\n")
    with mcprt_http(manifest, "--no-reload", startup_timeout=120) as up:
        async def check() -> None:
            async with http_client(up.url) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert names.count("echo") == 1 and "second" in names
                endless_tools = [n for n in names if n.startswith("endless_")]
                assert len(endless_tools) == 200  # 100 pages of 2
                resources = (await client.list_resources()).resources
                assert len(resources) == 10_000
                await assert_serving_echo(client)

        anyio.run(check)
        log = up.wait_log("source endless: tools/list: more than 100 pages; the listing ends there")
        assert "source bad: tools/list: the server sent cursor 'c1' again (a cursor loop); the listing ends after " \
               "3 pages" in log
        assert "source bad: tools/list: 'echo' is listed again; the first one is kept" in log
        assert "source bad: resources/list: more than 10,000 items; the rest are left out" in log
        assert up.process.poll() is None


async def assert_serving_echo(client: Any) -> None:
    result = await client.call_tool("echo", {"text": "still here"})
    assert not result.is_error and text_of(result) == "still here"


def test_malformed_call_results_and_json_rpc_faults_cost_only_themselves(tmp_path: Path) -> None:
    scenario = write(tmp_path / "scenario.json", good_scenario())
    with mcprt_http(manifest_for(tmp_path, scenario), "--no-reload", startup_timeout=60) as up:
        async def calls() -> dict[str, tuple[bool, str]]:
            out = {}
            async with http_client(up.url) as client:
                for name in CALL_TOOLS:
                    with anyio.fail_after(60):
                        result = await client.call_tool(name, {})
                    out[name] = (bool(result.is_error), text_of(result))
                    await assert_serving_echo(client)
            return out

        out = anyio.run(calls)
        malformed = "server 'bad' returned a malformed result"
        assert out["content_not_list"] == (True, f"{malformed} (`content` is a string, not a list of content "
                                                 "blocks); mcprt could not pass it on")
        assert out["unknown_block"] == (False, "the usable part")
        assert out["only_unknown_block"] == (True, f"{malformed} (none of its content blocks is one a client can "
                                                   "show); mcprt could not pass it on")
        assert out["not_an_object"][0] and "the server's answer was not a valid JSON-RPC response (its `result` " \
                                           "must be an object)" in out["not_an_object"][1]
        # by path and types, never the value (mcprt's own check, not the SDK client's, which quoted 'many')
        assert out["bad_structured"] == (True, "bad_structured: server 'bad' returned a result that does not conform "
                                               "to the outputSchema of its tool 'bad_structured' ($.count: string, "
                                               "expected integer), so it was not passed on. This is the server's "
                                               "fault, not the arguments': calling again with the same arguments "
                                               "will likely fail the same way")
        for name in ("stray_response", "bad_notification", "garbage_line", "announce"):
            assert out[name] == (False, f"ok: {name}")
        log = up.wait_log("line on the server's stdout that is not a JSON-RPC message: this is not JSON {")
        once = ["source bad: tools/call: malformed result: `content` is a string, not a list of content blocks",
                "source bad: tools/call: content block 1 left out: of unknown type 'hologram'",
                "source bad: tools/call: content block 0 left out: of unknown type 'hologram'",
                "the server answered request",
                "source bad: a response to no request of mcprt's (id 987654) was ignored",
                "source bad: notifications/progress with invalid params ignored (params.progress: ",
                "source bad: notifications/message with invalid params ignored (params.data: Field required)",
                "that is not a JSON-RPC message: this is not JSON {"]
        for text in once:
            assert log.count(text) == 1, (text, log)
        assert "Traceback" not in log and "Failed to validate notification" not in log
        assert up.process.poll() is None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_upstream(scenario: Path) -> Iterator[int]:
    """The misbehaving server over streamable HTTP on 127.0.0.1; yields its port."""
    port = free_port()
    process = subprocess.Popen(script_command(SERVER, str(scenario), "--http", str(port)),
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("PORT ")
        deadline = time.monotonic() + 60
        while True:  # uvicorn listens a moment after the line
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP upstream did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


def test_a_url_server_with_malformed_items_and_results_keeps_serving(tmp_path: Path) -> None:
    scenario = write(tmp_path / "scenario.json", bad_scenario())
    with http_upstream(scenario) as port, \
            mcprt_http(manifest_for(tmp_path, scenario, url=f"http://127.0.0.1:{port}/mcp"), "--no-reload",
                       startup_timeout=60) as up:
        async def check() -> dict[str, tuple[bool, str]]:
            out = {}
            async with http_client(up.url) as client:
                assert await listed(client) == {**EXPECTED, "tools": GOOD_TOOL_NAMES | {"late"}}
                for name in ("content_not_list", "unknown_block", "bad_structured", "not_an_object"):
                    result = await client.call_tool(name, {})
                    out[name] = (bool(result.is_error), text_of(result))
                await assert_serving(client)
            return out

        out = anyio.run(check)
        assert out["content_not_list"][0] and "`content` is a string, not a list" in out["content_not_list"][1]
        assert out["unknown_block"] == (False, "the usable part")
        assert out["bad_structured"][0] and "($.count: string, expected integer)" in out["bad_structured"][1]
        assert out["not_an_object"] == (True, "not_an_object: server 'bad' refused the call: the server's answer was "
                                              "not a valid JSON-RPC response (its `result` must be an object)")
        assert_warned(up, *ALL_WARNINGS, "source bad: the answer to request ")
        # warned once, with no pydantic report (the call's own log line carries its error text too)
        warned = [line for line in up.log().splitlines() if "WARNING" in line and " call tool=" not in line]
        assert sum(line.count("was not a valid JSON-RPC response") for line in warned) == 1
        assert up.process.poll() is None


def test_a_malformed_resource_read_fails_only_that_read(tmp_path: Path) -> None:
    scenario = good_scenario()
    scenario["resources"] = [GOOD_RESOURCE, {"uri": "test://broken", "name": "broken"}]
    with mcprt_http(manifest_for(tmp_path, write(tmp_path / "scenario.json", scenario)), "--no-reload",
                    startup_timeout=60) as up:
        async def check() -> str:
            async with http_client(up.url) as client:
                try:
                    await client.read_resource("test://broken")
                except MCPError as exc:
                    message = exc.message
                else:
                    raise AssertionError("the malformed read was passed on")
                await assert_serving(client)
                return message

        message = anyio.run(check)
        expected = ("the server's resources/read answer is malformed (contents.0.TextResourceContents.uri: Field "
                    "required)")
        assert expected in message, message
        assert up.wait_log(f"source bad: {expected}").count(expected) == 1
        assert up.process.poll() is None


@pytest.mark.parametrize("get_status", [405, 403])
def test_an_http_500_on_a_call_is_reported_as_500_not_as_the_get_streams_status(tmp_path: Path,
                                                                                 get_status: int) -> None:
    """Found by a new-user trial: a `url:` server answering a call HTTP 500, whose optional GET stream is
    answered 405 (or 403), was reported "HTTP 405 Method Not Allowed" (or "HTTP 403 Forbidden"), the GET's
    status, which the call then claimed (sources/mcp/http.py `HttpStatus.note`)."""
    good = good_scenario()
    scenario = write(tmp_path / "scenario.json", {**good, "get_status": get_status,
                                                  "tools": good["tools"] + [{"name": "http500", "inputSchema": OBJECT}]})
    with http_upstream(scenario) as port, \
            mcprt_http(manifest_for(tmp_path, scenario, url=f"http://127.0.0.1:{port}/mcp"), "--no-reload",
                       startup_timeout=60) as up:
        async def check() -> list[str]:
            async with http_client(up.url) as client:
                await anyio.sleep(0.5)  # the GET stream was opened (and refused) after the handshake
                texts = []
                for _ in range(2):
                    result = await client.call_tool("http500", {})
                    assert result.is_error
                    texts.append(text_of(result))
                await assert_serving_echo(client)
                return texts

        for text in anyio.run(check):
            assert text.startswith("HTTP 500 Internal Server Error: http500: server 'bad' answered the call with an "
                                   "HTTP error"), text
