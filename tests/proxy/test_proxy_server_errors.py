"""An upstream's ordinary JSON-RPC error -32000 is its answer, not a lost connection.

Found by a new-user trial: JSON-RPC 2.0 §5.1 gives servers -32000…-32099 for their own errors, and the
SDK's client spells a closed connection with the same -32000 (`CONNECTION_CLOSED`). mcprt read a server's
`-32000 "database is locked"` as "connection closed": it restarted the `command:` server (or dropped the
`url:` session), aborted another client's call in flight on the source ("may or may not have acted"),
answered "restarting" for seconds and backed off longer at each such error. Now a loss is told by what
happened to the connection (sources/mcp/lost.py), so the error reaches its caller, the other call
completes, and nothing restarts; a real loss still restarts (test_proxy_upstream_restart.py,
tests/sources/test_sources_mcp_stdio.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.everything import fixture_http, url_source, write_manifest
from tests.support.served import Unanswered, UpProcess, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_server_errors")]  # one gateway and upstream per run

SERVER = Path(__file__).with_name("erring_server.py")
SLOW = 3.0  # seconds the other client's call takes


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    with fixture_http(script=SERVER) as url:
        stdio = f"  ers:\n    command: {script_command_yaml(SERVER)}\n"
        manifest = write_manifest(tmp_path_factory.mktemp("errors"), stdio, url_source("erh", url, "prefix: h_\n"),
                                  server="defaults: {timeout: 20s}\n")
        with mcprt_http(manifest, "--no-reload") as up:
            yield up


def _sources(up: UpProcess) -> dict[str, Any]:
    return {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}


async def _refusal(client: Any, tool: str) -> str:
    """What the caller is told of the upstream's error, as a tool error or a JSON-RPC error."""
    try:
        result = await client.call_tool(tool, {})
    except MCPError as exc:
        return f"error {exc.code}: {exc.message}"
    assert result.is_error, result
    return text_of(result)


@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_a_server_error_32000_leaves_the_source_and_other_calls_alone(served: UpProcess, prefix: str) -> None:
    mark = served.log_mark()
    source = "erh" if prefix else "ers"
    restarts = _sources(served)[source]["restarts"]
    slow: list[types.CallToolResult] = []
    async with http_client(served.url) as a, http_client(served.url) as b:

        async def slow_call() -> None:
            slow.append(await b.call_tool(f"{prefix}slow", {"seconds": SLOW}))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(slow_call)
            await anyio.sleep(0.5)  # b's call is out on the source
            refusal = await _refusal(a, f"{prefix}busy")
        assert "database is locked" in refusal
        assert "restarting" not in refusal and "ended" not in refusal, refusal
        [other] = slow
        assert not other.is_error and text_of(other) == "slow done", other
        after = await a.call_tool(f"{prefix}slow", {"seconds": 0})
        assert text_of(after) == "slow done", after
    log = served.log_since(mark)
    assert "is down" not in log and "connection ended" not in log and "new session" not in log, log
    status = _sources(served)[source]
    assert (status["restarts"], status["state"]) == (restarts, "up"), status


@pytest.mark.parametrize("prefix", ["", "h+"], ids=["command", "url"])
async def test_a_resource_read_answered_32000_is_the_servers_error(served: UpProcess, prefix: str) -> None:
    mark = served.log_mark()
    source = "erh" if prefix else "ers"
    restarts = _sources(served)[source]["restarts"]
    async with http_client(served.url) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"{prefix}err://busy")
        assert (raised.value.code, "backend busy" in raised.value.message) == (-32000, True), raised.value
        fine = await client.read_resource(f"{prefix}err://fine")
        assert fine.contents[0].text.startswith("fine")  # type: ignore[union-attr]
    assert "connection ended" not in served.log_since(mark)
    assert _sources(served)[source]["restarts"] == restarts


# Upstream JSON-RPC errors reach the client as the same error (server/upstream_errors.py). Found by the same
# trial: a tools/call answered -32099 with `data` (or -32042 URLElicitationRequired, MCP 2025-11-25) reached
# the client as a tool error "server 'x' refused the call: …", code and data lost, so the authorization URL
# of -32042 never reached the user; resources/read kept the code but dropped `data`.

CUSTOM = (-32099, {"why": "because", "apiKey": "[redacted]"})  # a secret-looking value is never relayed
MODES = ["legacy", "2026-07-28"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_a_tool_calls_json_rpc_error_reaches_the_client_as_that_error(served: UpProcess, prefix: str,
                                                                            mode: str) -> None:
    async with http_client(served.url, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool(f"{prefix}custom", {})
    assert (raised.value.code, raised.value.message, raised.value.data) == (
        CUSTOM[0], "custom upstream failure", CUSTOM[1])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("prefix", ["", "h+"], ids=["command", "url"])
async def test_a_resource_reads_and_a_prompts_errors_keep_their_data(served: UpProcess, prefix: str,
                                                                      mode: str) -> None:
    async with http_client(served.url, mode=mode) as client:
        with pytest.raises(MCPError) as read:
            await client.read_resource(f"{prefix}err://custom")
        with pytest.raises(MCPError) as got:
            await client.get_prompt(f"{prefix.replace('+', '_')}custom_prompt", {})
    assert (read.value.code, read.value.data) == CUSTOM and "custom resource failure" in read.value.message
    assert (got.value.code, got.value.data) == CUSTOM and "custom prompt failure" in got.value.message


# Review of hostfix/proxyfix, problem 2: the message was scrubbed of configured secrets only (URL credentials
# passed, to the client and to the log line's `error_message`) and a literal key in a `data` string passed.
LEAKED = ("hunter2", "sk_live_51HqLyjWDarjtT1zdp7dcXyz12345", "admin:")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_an_upstream_errors_message_and_data_are_scrubbed_alike(served: UpProcess, prefix: str,
                                                                      mode: str) -> None:
    mark = served.log_mark()
    async with http_client(served.url, mode=mode) as client:
        with pytest.raises(MCPError) as called:
            await client.call_tool(f"{prefix}leaky", {})
        with pytest.raises(MCPError) as read:
            await client.read_resource(f"{prefix.replace('_', '+')}err://leaky")
    for raised in (called.value, read.value):
        assert raised.code == -32099
        assert "db failed: postgres://***@db.internal:5432/prod" in raised.message, raised.message
        assert raised.data == {"detail": "retry with key [redacted]", "dsn": "postgres://***@db.internal/prod"}
    with anyio.fail_after(10):  # the log is read by a thread: the call's line may come after its answer
        while "error_message=" not in served.log_since(mark):
            await anyio.sleep(0.05)
    log = served.log_since(mark)
    assert "postgres://***@db.internal:5432/prod" in log, log[-3000:]
    assert not [secret for secret in LEAKED if secret in log], log[-3000:]


@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_url_elicitation_required_reaches_a_2025_11_25_client_with_its_elicitations(
        served: UpProcess, prefix: str) -> None:
    async with http_client(served.url, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        with pytest.raises(MCPError) as raised:
            await client.call_tool(f"{prefix}need_url", {})
    assert (raised.value.code, raised.value.message) == (types.URL_ELICITATION_REQUIRED, "URL elicitation required")
    assert raised.value.data == {"elicitations": [{"mode": "url", "message": "Authorize access",
                                                   "url": "https://example.com/oauth", "elicitationId": "auth-7"}]}


async def test_url_elicitation_required_is_a_tool_error_for_a_2026_client(served: UpProcess) -> None:
    """-32042 was removed in 2026-07-28 (mcp_types: "2025-11-25 only"): that client gets no code its
    version lacks, but the call's tool error with the upstream's message."""
    async with http_client(served.url, mode="2026-07-28") as client:
        result = await client.call_tool("need_url", {})
    assert result.is_error and text_of(result) == "need_url: server 'ers' refused the call: URL elicitation required"


# Request `_meta` (sources/mcp/request_meta.py). Found by the same trial: `tools/call` with `_meta:
# {"progressToken": "tok1", "example.com/x": "y"}` reached the upstream as `{"progress_token": 9, "traceparent":
# …}`, the vendor key dropped.

SENT_META = {"progressToken": "tok1", "example.com/tenant": "acme", "correlationId": "c-42",
             "io.modelcontextprotocol/related-task": {"taskId": "t1"}, "mcprt/approval": {"id": "forged"},
             "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_a_requests_vendor_meta_reaches_the_upstream_and_reserved_keys_do_not(served: UpProcess,
                                                                                    prefix: str) -> None:
    async with http_client(served.url) as client:
        result = await client.session.send_request(
            types.CallToolRequest(params=types.CallToolRequestParams(
                name=f"{prefix}meta_echo", arguments={}, _meta=SENT_META)),  # type: ignore[call-arg]
            types.CallToolResult)
    seen = json.loads(text_of(result))
    assert {k: seen.get(k) for k in ("example.com/tenant", "correlationId")} == {
        "example.com/tenant": "acme", "correlationId": "c-42"}, seen
    assert "io.modelcontextprotocol/related-task" not in seen and "mcprt/approval" not in seen, seen
    assert seen.get("progress_token") != "tok1" and seen.get("traceparent") != SENT_META["traceparent"], seen



# Resource URIs in tool results and prompt messages (offerings/offerset.py `exposed_block`). Found by the same
# trial: a prefixed source's resource link `my://res/1` was passed on as is, and reading it through mcprt
# reached the other source serving `my://res/1` (README "Names and URIs": the prefix is added to the URIs in
# what the server returns).

@pytest.mark.parametrize("mode", MODES)
async def test_links_and_embedded_resources_of_a_prefixed_source_lead_back_to_it(served: UpProcess,
                                                                                mode: str) -> None:
    async with http_client(served.url, mode=mode) as client:
        linked = await client.call_tool("h_links", {})
        link, embedded = linked.content
        assert (link.type, str(link.uri)) == ("resource_link", "h+err://fine"), link  # type: ignore[union-attr]
        assert str(embedded.resource.uri) == "h+err://fine", embedded  # type: ignore[union-attr]
        read = await client.read_resource(str(link.uri))  # type: ignore[union-attr]
        assert read.contents[0].text == "fine (http)"  # type: ignore[union-attr]  # the source that linked it
        prompt = await client.get_prompt("h_with_resource", {})
        assert str(prompt.messages[0].content.resource.uri) == "h+err://fine"  # type: ignore[union-attr]
        unprefixed = await client.call_tool("links", {})  # a source without a prefix: as the server wrote it
        assert str(unprefixed.content[0].uri) == "err://fine"  # type: ignore[union-attr]
        assert (await client.read_resource("err://fine")).contents[0].text == "fine (stdio)"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def discovered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """The erring server as a prefixed source of a gateway in discovery mode."""
    with fixture_http(script=SERVER) as url:
        manifest = write_manifest(tmp_path_factory.mktemp("discovery"), url_source("erh", url, "prefix: h_\n"),
                                  server="server: {expose: discovery}\n")
        with mcprt_http(manifest, "--no-reload") as up:
            yield up


@pytest.mark.parametrize("mode", MODES)
async def test_links_through_discoverys_call_tool_lead_back_to_the_operations_source(discovered: UpProcess,
                                                                                    mode: str) -> None:
    """Review of hostfix/proxyfix, problem 4: `call_tool` prefixed with the meta-tool's source (none), so
    `h_links` through it answered `err://fine` while a direct call answers `h+err://fine`."""
    async with http_client(discovered.url, mode=mode) as client:
        linked = await client.call_tool("call_tool", {"name": "h_links", "arguments": {}})
        assert not linked.is_error, linked
        link, embedded = linked.content
        assert (link.type, str(link.uri)) == ("resource_link", "h+err://fine"), link  # type: ignore[union-attr]
        assert str(embedded.resource.uri) == "h+err://fine", embedded  # type: ignore[union-attr]
        read = await client.read_resource(str(link.uri))  # type: ignore[union-attr]
        assert read.contents[0].text == "fine (http)"  # type: ignore[union-attr]


# A cancelled call voids its questions (sources/mcp/relay.py `Relay.calling`). Found by the same trial: a client
# that cancelled its tools/call while the upstream's elicitation/create to it was pending got no
# `notifications/cancelled` for that request (a server asked directly sends one), so its dialog stayed open and
# a late answer was taken silently.

@pytest.mark.parametrize("prefix", ["", "h_"], ids=["command", "url"])
async def test_cancelling_a_call_voids_its_pending_elicitation_at_the_client(served: UpProcess, prefix: str) -> None:
    question = Unanswered()  # the user never answers; voided when the server cancels its request

    async with http_client(served.url, elicitation_callback=question) as client:
        with anyio.fail_after(20):
            with anyio.CancelScope() as call:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(client.call_tool, f"{prefix}ask", {})
                    await question.asked.wait()
                    call.cancel()  # the SDK client sends notifications/cancelled for its tools/call
            with anyio.move_on_after(8):
                await question.voided.wait()
            assert question.voided.is_set(), served.log()[-3000:]
        after = await client.call_tool(f"{prefix}slow", {"seconds": 0})  # the source serves on
        assert text_of(after) == "slow done"
