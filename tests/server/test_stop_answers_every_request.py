"""Every request in flight when `mcprt up` stops gets a JSON-RPC answer, on both transports, in both
protocol eras: a real `mcprt up` proxying a real MCP server (tests/support/blocking_server.py) whose
resource reads, prompts, completions and tool calls all wait far past the drain, SIGTERM, the SDK client.

Found as a kind: only tool calls were answered when the drain ran out (`toolset.stopping`); a slow
proxied `resources/read`, `prompts/get` or `completion/complete` was cut (HTTP: a bare 500, which the
SDK client reports as "Server returned an error response"), and over stdio nothing in flight was
answered at all (the client saw its own "Connection closed"). Now each such request is answered with
-32603 "mcprt is shutting down: …" saying whether sending it again is safe (server/stop_answers.py),
and a tool call keeps its "restarting" tool error; the process exits 0 and nothing hangs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from server_support import stdio_params
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

SERVER = Path(__file__).parents[1] / "support" / "blocking_server.py"
ANSWER_WITHIN = 60.0  # s: only bounds a hang; the answers come within about a second of the drain


def write_manifest(folder: Path) -> tuple[Path, Path]:
    arrivals = folder / "arrivals.txt"
    arrivals.write_text("")
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"""version: 1
server:
  name: stopping
  http: {{drain_timeout: 1s}}
sources:
  up:
    command: {script_command_yaml(SERVER, str(arrivals))}
""")
    return manifest, arrivals


def requests_of(client: Client) -> dict[str, Awaitable[Any]]:
    """One request of each kind, each of which waits at the upstream."""
    return {
        "resources/read": client.read_resource("slow://doc"),
        "resources/read (template)": client.read_resource("slow://item/7"),
        # A progress token: over HTTP the answer is an SSE stream, not one JSON body (server/streaming.py).
        "resources/read (progress token)": client.read_resource("slow://item/8", meta={"progressToken": "stop-1"}),
        "prompts/get": client.get_prompt("slow_prompt", {"topic": "drains"}),
        "completion/complete": client.complete(types.PromptReference(type="ref/prompt", name="slow_prompt"),
                                               {"name": "topic", "value": "dr"}),
        "tools/call": client.call_tool("wait", {}),
    }


async def stop_while_waiting(client: Client, arrivals: Path, send_stop: Callable[[], None],
                             log: Callable[[], str]) -> dict[str, Any]:
    """Send every request, wait until each has reached the upstream, stop the server; each request's
    result or the exception it raised."""
    running = {name: asyncio.ensure_future(request) for name, request in requests_of(client).items()}
    deadline = time.monotonic() + ANSWER_WITHIN
    while len(arrivals.read_text().splitlines()) < len(running):
        assert time.monotonic() < deadline, (arrivals.read_text(), log())
        early = [name for name, task in running.items() if task.done()]
        assert not early, (early, log())
        await asyncio.sleep(0.05)
    send_stop()
    answers: dict[str, Any] = {}
    for name, task in running.items():
        try:
            answers[name] = await asyncio.wait_for(task, ANSWER_WITHIN)
        except MCPError as exc:
            answers[name] = exc
    return answers


def check_answers(answers: dict[str, Any], why: str, log: str) -> None:
    for name, answer in answers.items():
        if name == "tools/call":  # the call's own answer: a tool error the model reads
            assert isinstance(answer, types.CallToolResult) and answer.is_error, (answer, log)
            assert "mcprt is restarting: the call to wait was stopped after" in text_of(answer), (answer, log)
            assert f"({why})" in text_of(answer) and "may or may not have acted" in text_of(answer), answer
            continue
        method = name.split(" ")[0]
        assert isinstance(answer, MCPError), (name, answer, log)
        assert answer.code == -32603, (name, answer)
        assert answer.message.startswith(f"mcprt is shutting down: the {method} request was stopped after "), answer
        assert f"({why})" in answer.message and "sending it again is safe" in answer.message, answer
        assert answer.data == {"reason": "shutting_down", "retrySafe": True}, answer


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # handshake era; 2026-07-28
async def test_http_answers_every_request_the_drain_outlasted(tmp_path: Path, mode: str) -> None:
    manifest, arrivals = write_manifest(tmp_path)
    with mcprt_http(manifest, "--no-reload", env=child_env()) as up:
        async with http_client(up.url, mode=mode) as client:
            answers = await stop_while_waiting(client, arrivals, lambda: up.signal(signal.SIGTERM), up.log)
        exit_code = await asyncio.to_thread(up.process.wait, ANSWER_WITHIN)
    check_answers(answers, "it outlasted the server's drain", up.log())
    assert exit_code == 0, up.log()
    assert "stopping with requests in flight" not in up.log(), up.log()  # all answered within the grace


@pytest.mark.parametrize("mode, lean", [("legacy", "1"), ("auto", "1"), ("legacy", "0")],
                         ids=["handshake era", "2026-07-28", "handshake era, SDK session only"])
async def test_stdio_answers_every_request_in_flight_when_stopped(tmp_path: Path, mode: str, lean: str) -> None:
    manifest, arrivals = write_manifest(tmp_path)
    pidfile = tmp_path / "pid"
    params = stdio_params(manifest, "--no-reload", pidfile=pidfile)
    params.env = child_env(MCPRT_STDIO_LEAN=lean)
    stderr = tmp_path / "stderr.log"
    with open(stderr, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
            answers = await stop_while_waiting(
                client, arrivals, lambda: os.kill(int(pidfile.read_text()), signal.SIGTERM), stderr.read_text)
    check_answers(answers, "the server was told to stop", stderr.read_text())
    assert "ending the requests in flight with a 'shutting down' answer" in stderr.read_text()
