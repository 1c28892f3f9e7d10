"""Server→client requests of a proxied server during a call, relayed to the calling client:
sampling and elicitation over stdio and streamable HTTP, a clear error on stateless HTTP, and a
cancelled call reaching the upstream server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcprt.server.roundtrip import STATE_TTL
from mcprt.sources.mcp.call_clock import CallClock
from mcprt.sources.mcp.relay import ASK_CLIENT
from tests.support.everything import command_source, fixture_http, url_source, write_manifest
from tests.support.modern_client import post_call
from tests.support.served import child_env, http_client, mcprt_http, stdio_up, text_of
from tests.support.shared_up import ShareUps, shared_ups
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_relay")]  # one started server per manifest per run
SHORT_TIMEOUT = 3  # s: the "short" source's timeouts (test_the_time_a_client_takes_to_answer_…); other tests' are the default
SHORT = (f"prefix: short_\nstartup_timeout: {SHORT_TIMEOUT}\ntools:\n  test_elicitation_sep1034_defaults: "
         f"{{timeout: {SHORT_TIMEOUT}}}\n  test_sampling: {{timeout: {SHORT_TIMEOUT}}}\n")
CANCEL_MARKER = "cancelled.txt"  # in the shared "command" server's folder: where the fixture's test_slow records its cancellation


@pytest.fixture(scope="module")
def fixture_url() -> Iterator[str]:
    """The everything fixture over streamable HTTP, shared by the module's `url:` sources (each mcprt
    connection to it is its own MCP session)."""
    with fixture_http() as url:
        yield url


@pytest.fixture(scope="module")
def ups(tmp_path_factory: pytest.TempPathFactory, fixture_url: str) -> Iterator[ShareUps]:
    """`mcprt up --transport http --no-reload` of the fixture as a `command:` source ("command") and as a
    `url:` source ("url"), shared by the HTTP tests: each opens its own sessions, and a relayed question
    goes to the session whose call asked it (what these tests check), so one test's answers never
    serve another's call."""
    def make(name: str, folder: Path) -> Path:
        if name == "url":
            return write_manifest(folder, url_source("fx", fixture_url), url_source("short", fixture_url, extra=SHORT))
        return write_manifest(folder, command_source(
            "fx", extra=f'env: {{FIXTURE_CANCEL_FILE: "{folder / CANCEL_MARKER}"}}\n'), command_source("short", extra=SHORT))

    with shared_ups(tmp_path_factory, make, "--no-reload") as started:
        yield started


async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    asked = params.messages[0].content.text  # type: ignore[union-attr]
    return types.CreateMessageResult(role="assistant", model="test-model",
                                     content=types.TextContent(type="text", text=f"answer to {asked}"))


async def elicitation(context: Any, params: Any) -> types.ElicitResult:
    assert params.message == "Who are you?"
    assert params.requested_schema["required"] == ["username", "email"]
    return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})


async def roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="project")])


CALLBACKS = {"sampling_callback": sampling, "elicitation_callback": elicitation, "list_roots_callback": roots}


@asynccontextmanager
async def connected(transport: str, source: str, tmp_path: Path, ups: ShareUps, name: str,
                    mode: str = "legacy") -> AsyncIterator[Client]:
    """A client of `mcprt up --no-reload` serving `source`: over stdio its own process (one client per
    process), over HTTP a new session on the module's shared server `name` (the same source)."""
    if transport == "stdio":
        async with Client(stdio_up(write_manifest(tmp_path, source)), mode=mode, **CALLBACKS) as client:  # type: ignore[arg-type]
            yield client
        return
    async with Client(streamable_http_client(ups(name).url), mode=mode, **CALLBACKS) as client:  # type: ignore[arg-type]
        yield client


@pytest.mark.parametrize(("transport", "kind"), [("stdio", "command"), ("http", "command"), ("stdio", "url"),
                                                  ("http", "url")])
async def test_sampling_elicitation_and_roots_reach_the_calling_client(transport: str, kind: str, tmp_path: Path,
                                                                       ups: ShareUps, fixture_url: str) -> None:
    source = command_source("fx") if kind == "command" else url_source("fx", fixture_url)
    async with connected(transport, source, tmp_path, ups, kind) as client:
        await exercise(client)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_2026_client_answers_through_input_required_rounds(transport: str, tmp_path: Path,
                                                                   ups: ShareUps) -> None:
    """2026-07-28 clients cannot be sent requests mid-call: the questions come back as InputRequiredResult."""
    async with connected(transport, command_source("fx"), tmp_path, ups, "command", mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        await exercise(client)


async def exercise(client: Client) -> None:
    sampled = await client.call_tool("test_sampling", {"prompt": "2+2?"})
    assert not sampled.is_error, text_of(sampled)
    assert text_of(sampled) == "LLM response: answer to 2+2?"

    elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
    assert text_of(elicited) == ('User response: action=accept, content={"username": "ada", '
                                 '"email": "ada@example.com"}')

    listed = await client.call_tool("test_roots", {})
    assert text_of(listed) == '["file:///work/project"]'


async def test_concurrent_callers_each_get_their_own_elicitation(ups: ShareUps) -> None:
    """Over a `url:` source, each relayed request goes to the client whose call caused it, never another."""

    def answering(name: str) -> Any:
        async def elicit(context: Any, params: Any) -> types.ElicitResult:
            await anyio.sleep(0.3)  # both calls are in flight at once
            return types.ElicitResult(action="accept", content={"username": name, "email": f"{name}@example.com"})
        return elicit

    up = ups("url")
    results: dict[str, str] = {}

    async def caller(name: str) -> None:
        async with Client(streamable_http_client(up.url), mode="legacy",
                          elicitation_callback=answering(name)) as client:  # type: ignore[arg-type]
            results[name] = text_of(await client.call_tool("test_elicitation", {"message": "Who are you?"}))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            for name in ("ada", "bob"):
                tasks.start_soon(caller, name)
    for name in ("ada", "bob"):
        assert results[name] == (f'User response: action=accept, content={{"username": "{name}", '
                                 f'"email": "{name}@example.com"}}')


@pytest.mark.parametrize(("kind", "tool"), [("command", "test_elicitation_sep1034_defaults"), ("url", "test_sampling"),
                                            ("command", "test_input_required_result_prompt")])
async def test_the_time_a_client_takes_to_answer_does_not_count_against_the_timeout(kind: str, tool: str,
                                                                                     ups: ShareUps) -> None:
    """Found by a new-user trial: a person answering an elicitation after the tool's `timeout` got "the server
    did not answer within 30s" (status upstream_error) and the server's question was cancelled, the answer
    lost. The timeout bounds the server's time; waiting on the client has its own bound (relay.ASK_CLIENT).
    Found in review: a prompt's `prompts/get` (bounded by `startup_timeout`) kept counting that time."""
    slow = SHORT_TIMEOUT + 1.5

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        await anyio.sleep(slow)  # a person filling in the form
        if tool == "test_input_required_result_prompt":
            return types.ElicitResult(action="accept", content={"context": "slow human"})
        return types.ElicitResult(action="accept", content={"name": "slow human"})

    async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        await anyio.sleep(slow)  # a model thinking
        return types.CreateMessageResult(role="assistant", model="test-model",
                                         content=types.TextContent(type="text", text="slow answer"))

    arguments = {"prompt": "hi"} if tool == "test_sampling" else {}
    async with Client(streamable_http_client(ups(kind).url), mode="legacy", elicitation_callback=elicit,
                      sampling_callback=sample) as client:  # type: ignore[arg-type]
        if tool == "test_input_required_result_prompt":
            got = await client.get_prompt(f"short_{tool}")
            assert got.messages[0].content.text == "Use this context: slow human"  # type: ignore[union-attr]
            return
        result = await client.call_tool(f"short_{tool}", arguments)
    assert not result.is_error, text_of(result)
    assert ("slow human" if tool != "test_sampling" else "LLM response: slow answer") in text_of(result)


def test_every_client_has_as_long_to_answer_a_question() -> None:
    """Found in review: a handshake-era client's question was cut at 300 s while a 2026-07-28 client's round
    (and README) waited 10 minutes: one rule now (contracts.CLIENT_ANSWER_SECONDS), and README states it."""
    assert ASK_CLIENT == STATE_TTL == 600
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "5 minutes" not in readme and "own: 10 minutes for sampling and elicitation" in readme


async def test_overlapping_questions_count_from_the_first_one_out() -> None:
    """Found in review: with two questions out at once, the clock's `client_seconds` (shown in a timeout's
    message) added only the last one's duration, not the whole time the clock stood still."""
    clock = CallClock(30)

    async def ask(after: float, lasting: float) -> None:
        await anyio.sleep(after)
        with clock.client_turn():
            await anyio.sleep(lasting)

    with clock.scope:
        async with anyio.create_task_group() as questions:
            questions.start_soon(ask, 0, 0.4)
            questions.start_soon(ask, 0.3, 0.3)  # out from 0.3 s to 0.6 s: the clock stood still 0.6 s
    assert clock.client_seconds >= 0.55
    assert clock.scope.deadline > anyio.current_time() + 29  # what was left of the 30 s runs on


async def test_elicitation_on_stateless_http_is_a_clear_error_without_a_hang(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, command_source("fx"))
    with mcprt_http(manifest, "--no-reload", "--stateless") as up:
        async with Client(streamable_http_client(up.url), mode="legacy", **CALLBACKS) as client:  # type: ignore[arg-type]
            started = time.monotonic()
            # the upstream fails its call with a JSON-RPC error quoting mcprt's refusal: the client gets that
            # error, as from the server directly (server/upstream_errors.py)
            with anyio.fail_after(30), pytest.raises(MCPError) as refused:
                await client.call_tool("test_elicitation", {"message": "Who are you?"})
            assert time.monotonic() - started < 15
            assert "stateless HTTP" in refused.value.message and "elicitation/create" in refused.value.message
            # Nothing is left pending: the source serves the next calls at once.
            for _ in range(3):
                with anyio.fail_after(10):
                    ok = await client.call_tool("test_simple_text", {})
                assert text_of(ok) == "This is a simple text response for testing."


async def test_a_client_without_the_capability_gets_a_clear_error(ups: ShareUps) -> None:
    up = ups("command")
    async with Client(streamable_http_client(up.url), mode="legacy") as client:
        with anyio.fail_after(30), pytest.raises(MCPError) as refused:  # the upstream's error quoting mcprt's refusal
            await client.call_tool("test_sampling", {"prompt": "hi"})
        assert "does not support sampling" in refused.value.message


async def test_cancelling_a_proxied_call_cancels_it_upstream(ups: ShareUps) -> None:
    up = ups("command")
    marker = ups.folder("command") / CANCEL_MARKER
    marker.unlink(missing_ok=True)  # only this test's cancellation counts
    async with http_client(up.url) as client:  # its close waits for the cancelled call's answer
        with anyio.move_on_after(2):
            await client.call_tool("test_slow", {"seconds": 120})
        with anyio.fail_after(20):
            while not (marker.exists() and marker.read_text() == "cancelled\n"):
                await anyio.sleep(0.05)
        ok = await client.call_tool("test_simple_text", {})
        assert text_of(ok) == "This is a simple text response for testing."


async def test_a_prompt_that_asks_its_client_reaches_the_calling_client(ups: ShareUps) -> None:
    """A proxied server eliciting during `prompts/get` asks the handshake-era client that asked for the prompt."""
    asked: list[str] = []

    async def context(context: Any, params: Any) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"context": "release notes"})

    up = ups("command")
    async with Client(streamable_http_client(up.url), mode="legacy",
                      elicitation_callback=context) as client:  # type: ignore[arg-type]
        with anyio.fail_after(30):
            got = await client.get_prompt("test_input_required_result_prompt")
    assert asked == ["What context should the prompt use?"]
    assert got.messages[0].content.text == "Use this context: release notes"  # type: ignore[union-attr]


async def test_without_shared_state_an_unknown_request_state_says_replicas_need_server_state(ups: ShareUps) -> None:
    """One process holds a 2026-07-28 call's state: a retry carrying a state this process does not
    hold (another replica's, an expired or a made-up one) is told how replicas share it."""
    up = ups("command")
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await post_call(http, up.url, "test_elicitation", {
            "arguments": {"message": "Who are you?"}, "inputResponses": {"r1": {"action": "decline"}},
            "requestState": "Zm9yZ2VkLXN0YXRlLWZyb20tZWxzZXdoZXJl"})
    assert answer.error is not None and answer.error["code"] == -32602, answer
    assert answer.error["message"] == (
        "Invalid or expired requestState: mcprt keeps a round's state in memory for 600s, in the process that "
        "started the call (replicas behind a load balancer need `server.state` to serve it on any of them); "
        "send the request again without it")


LOGGING_SERVER = '''
import asyncio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

app = MCPServer("logs")


RUNNING = []


@app.tool()
async def work(secret: str, ctx: Context, together: int = 1) -> str:
    """Logs what it works on once `together` calls run, and ends after the others logged too."""
    RUNNING.append(secret)
    for _ in range(200):
        if len(RUNNING) >= together:
            break
        await asyncio.sleep(0.05)
    await ctx.info(f"processing {secret}")
    await asyncio.sleep(0.5)
    RUNNING.remove(secret)
    return "done"


app.run()
'''


async def test_a_log_no_one_call_explains_reaches_no_client(tmp_path: Path) -> None:
    """Over stdio a log message names no request. With alice's and bob's calls both in flight it was
    sent to every connected client: bob, and carol who called nothing, read `processing ALICE-…`.
    Now it goes to mcprt's log; with one call in flight, and no other principal's call ended within its window
    (its timeout: bob's server may still be running his), it still reaches that caller alone."""
    (tmp_path / "logs.py").write_text(LOGGING_SERVER)
    manifest = write_manifest(tmp_path, f"  logs:\n    command: {script_command_yaml('logs.py')}\n",
                              server='server:\n  auth: {tokens: {alice: "${A}", bob: "${B}", carol: "${C}"}}\n'
                                     'defaults:\n  timeout: 2s\n')
    got: dict[str, list[str]] = {"alice": [], "bob": [], "carol": []}

    def handler(who: str) -> Any:
        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            got[who].append(str(params.data))
        return on_log

    tokens = {"alice": "alice-token-1", "bob": "bob-token-22", "carol": "carol-token-3"}
    with mcprt_http(manifest, "--no-reload", env=child_env(A=tokens["alice"], B=tokens["bob"], C=tokens["carol"])) as up:
        async with AsyncExitStack() as stack:
            clients = {}
            for who, token in tokens.items():
                http = await stack.enter_async_context(httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}))
                clients[who] = await stack.enter_async_context(
                    Client(streamable_http_client(up.url, http_client=http), mode="legacy",
                           logging_callback=handler(who)))
            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    group.start_soon(clients["alice"].call_tool, "work", {"secret": "ALICE-PRIVATE", "together": 2})
                    group.start_soon(clients["bob"].call_tool, "work", {"secret": "BOB-PRIVATE", "together": 2})
                # Wait for the two log messages to land somewhere: a client, or mcprt's log (the first with
                # its reason; the second is counted and logged at debug: F5 of the soak trial).
                metrics = {"Authorization": f"Bearer {tokens['alice']}"}
                while ('mcprt_unrouted_log_messages_total{source="logs"} 2.0'
                       not in httpx.get(f"{up.base}/metrics", headers=metrics, timeout=10).text
                       and not any(got.values())):
                    await anyio.sleep(0.05)
                await anyio.sleep(0.3)  # a broadcast would reach the other clients within this
                assert got == {"alice": [], "bob": [], "carol": []}, got
                up.wait_log("log message for no one client")  # the reason once, then counted
                assert up.log().count("log message for no one client") == 1
                deadline = time.monotonic() + 10  # stderr is read by a thread: the line may lag the metric
                while "processing ALICE-PRIVATE" not in up.log() and "processing BOB-PRIVATE" not in up.log():
                    assert time.monotonic() < deadline, up.log()
                    await anyio.sleep(0.02)
                await anyio.sleep(2.2)  # bob's call's window is over
                await clients["alice"].call_tool("work", {"secret": "ALICE-ALONE"})  # one call: it is alice's
                assert got == {"alice": ["processing ALICE-ALONE"], "bob": [], "carol": []}, got


def test_elicitation_in_a_2025_03_26_batch_is_a_clear_error(ups: ShareUps) -> None:
    """A batched request is answered in one JSON array, with no stream to carry a question to the client:
    the proxied server's elicitation gets an error naming that (and the way out), the batch its answers."""
    up = ups("command")
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    with httpx.Client(timeout=60) as http:
        opened = http.post(up.url, headers=headers, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "raw", "version": "1"}}})
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.post(up.url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        batch = [{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                  "params": {"name": "test_elicitation", "arguments": {"message": "Who are you?"}}},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "test_simple_text", "arguments": {}}}]
        started = time.monotonic()
        answers = {answer["id"]: answer for answer in http.post(up.url, headers=headers, json=batch).json()}
        assert time.monotonic() - started < 15
        text = answers[1]["error"]["message"]  # the upstream's JSON-RPC error quoting mcprt's refusal
        assert "JSON-RPC batch" in text and "elicitation/create" in text and "send the request alone" in text, text
        assert answers[2]["result"]["content"][0]["text"] == "This is a simple text response for testing."
