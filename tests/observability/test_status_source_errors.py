"""A restarting proxied server shows why on the status page, `/status.json` and `mcprt status`.

Found by an operator trial: a `command:` server whose process ended showed `restarting` with an empty
error column (the log said "the server process ended"); only a failed restart filled it in. And
`/healthz`'s `callable` still counted that source's tools."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import httpx

from tests.sources.sources_support import http_server
from tests.support.served import http_client, mcprt_http, text_of
from tests.support.upstream import forward, read_request_head, serve_tcp
from tests.support.zygote import script_command

FIXTURE = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"


async def test_a_restarting_source_says_why(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(json.dumps({"version": 1, "sources": {"fx": {"command": script_command(FIXTURE)}}}))
    seen: list[dict] = []
    with mcprt_http(manifest, "--no-reload") as up:
        # Each kill is followed by a growing backoff (1, 2, 4 s) in the `restarting` state: the poll
        # below needs to land in one of those windows, however loaded the machine is.
        for _ in range(3):
            pid = await _server_pid(up.url)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 60  # bounds a hang only
            while time.monotonic() < deadline:
                (source,) = httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]
                if source["state"] == "restarting":
                    # the backoff is 1 s or more: /healthz, asked now, is in the same window
                    seen.append((source, httpx.get(f"{up.base}/healthz", timeout=10).json()))
                    break
                time.sleep(0.01)
            if seen:
                break
    assert seen, "the source was never seen restarting"
    source, health = seen[0]
    assert source["error"] == "the server process ended", seen
    # `callable` counted the tools of a restarting source (their calls are refused): none is callable now
    assert health["tools"] > 0 and health["callable"] == 0, health


async def _server_pid(url: str) -> int:
    deadline = time.monotonic() + 60  # the source restarts after its backoff
    while True:
        async with http_client(url) as client:
            result = await client.call_tool("whoami", {})
        if not result.is_error:
            return json.loads(result.content[0].text)["pid"]
        assert time.monotonic() < deadline, result
        time.sleep(0.2)


async def test_a_proxied_http_server_answering_5xx_is_degraded_like_an_openapi_upstream(tmp_path: Path) -> None:
    """A proxied HTTP MCP server that answered every call with HTTP 503 stayed `up` (`mcprt_source_up` 1)
    and its calls read `rejected` with the SDK's "Server returned an error response": only OpenAPI
    sources took their health from their calls. The same rule now holds (source_health.py): a run of
    5xx answers → `degraded`, a run of good answers → `up`; the model is told the HTTP status."""
    answering = {"503": False}
    together = threading.Barrier(3, timeout=10)  # the three calls' 503s go out at once: answered concurrently

    def front(conn: socket.socket) -> None:
        if not answering["503"]:
            forward(conn, backend)
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()
        head = read_request_head(conn)
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        body = head.partition(b"\r\n\r\n")[2]
        while len(body) < length and (chunk := conn.recv(65536)):
            body += chunk
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                     b"Connection: close\r\n\r\nbusy")

    with http_server() as (_, backend), serve_tcp(front) as (_, port):
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(json.dumps({"version": 1, "sources": {"remote": {"url": f"http://127.0.0.1:{port}/mcp"}}}))
        with mcprt_http(manifest, "--no-reload") as up:

            def state() -> str:
                (source,) = httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]
                return source["state"]

            async with http_client(up.url) as client:
                assert text_of(await client.call_tool("echo", {"text": "hi"})) == "hi"
                answering["503"] = True
                # DEGRADED_AFTER consecutive 5xx, concurrent: each call is told its 503 (a status shared by
                # the connection was taken by the first call, the others read "refused the call")
                for failed in await asyncio.gather(*(client.call_tool("echo", {"text": "hi"}) for _ in range(3))):
                    assert failed.is_error and "HTTP 503" in text_of(failed), text_of(failed)
                assert state() == "degraded"
                metrics = httpx.get(f"{up.base}/metrics", timeout=10).text
                assert 'mcprt_source_up{source="remote"} 0.0' in metrics
                assert 'mcprt_tool_calls_total{outcome="upstream_error",source="remote",tool="echo"} 3.0' in metrics
                answering["503"] = False
                for _ in range(2):  # UP_AFTER good answers
                    assert text_of(await client.call_tool("echo", {"text": "hi"})) == "hi"
                assert state() == "up"
