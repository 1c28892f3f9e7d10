"""Soak: `mcprt up --transport http` under hours' worth of churn compressed into minutes, with the bare
SDK server under the same load in the same run, sampling what a leak would grow.

    python bench/soak.py [--minutes 3] [--clients 3] [--sample 5] [--json PATH] [--baseline CHECKOUT] [--tracemalloc]

mcprt serves a manifest with three sources: an OpenAPI source on a real upstream on 127.0.0.1 that
this script starts (`GET /items/{id}` ~2 KB, `/fail/{id}` → 500, `/slow?seconds=` sleeps; `slow_item`
has a 2 s timeout and the source supports tasks), a `python:` source (`echo_text`, `crash`) and a
`command:` source (this file's `proc` mode: an SDK `MCPServer` over stdio with `proc_echo`, `proc_nap`,
`proc_boom` and the resource `soak://status`). The peer (this file's `peer` mode) is the SDK's
`MCPServer` serving the same tool names over streamable HTTP (the OpenAPI ones as one httpx GET each,
the others in-process), with the same session idle timeout.

Client processes (`--clients` per server, all running at once) loop over a weighted mix:
handshake-era sessions opened and closed by the SDK client (calls that succeed and that error
upstream, a resource read), sessions abandoned without DELETE (raw JSON-RPC over httpx),
2026-07-28 stateless calls, calls cancelled mid-flight (SDK cancellation in the handshake era, a
dropped connection in 2026-07-28), calls that time out upstream, tasks (`io.modelcontextprotocol/tasks`)
created and polled to the end and some never polled (mcprt only; the peer gets the same call
directly), and clients that drop an SSE response mid-stream or an open GET stream. Meanwhile the
manifest is edited every `--reload-every` seconds (a tool description changes: a real reload with
tools/list_changed) and the `command:` server is killed with SIGKILL every `--kill-every` seconds.

Every `--sample` seconds each server process is sampled from /proc: RSS, open file descriptors,
threads, child processes (zombies counted apart), and from mcprt's `/metrics` its open sessions
(`mcprt_sessions`) and event-loop tasks (`mcprt_event_loop_tasks`). The report gives, per figure and
server, the first and last value after the warm-up, the growth per minute and per 1,000 calls (least
squares over the samples after the warm-up, the first fifth of the run) and a verdict. At the end the
load stops and, after the session idle timeout plus the task TTL, the figures are sampled once more:
counts (fds, threads, children, zombies, sessions, tasks) idle then must be within a small margin
(`MARGIN`) of their value before the load started (flat, else GROWS); RSS growth per 1,000 calls may
exceed the peer's by at most 0.2 MB (`RSS_ALLOWANCE`), judged once each server served `MIN_CALLS`
calls (else "too short to judge"). Calls are counted alike for both servers (tools/call and
resources/read). The exit status is 1 when a verdict is MISSED or GROWS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import free_port, log, machine_summary, mcprt_env, stop_process, table, wait_for_port  # noqa: E402

MODERN = "2026-07-28"
LEGACY = "2025-06-18"
TASKS = "io.modelcontextprotocol/tasks"
IDLE_TIMEOUT = 20.0  # seconds: both servers' session idle timeout
TASK_TTL = 15.0  # seconds: mcprt's server.tasks.ttl

# --- the upstream and the two servers' own modes ------------------------------------------------------


def spec(base_url: str) -> dict[str, Any]:
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
    return {
        "openapi": "3.0.3", "info": {"title": "Soak", "version": "1"}, "servers": [{"url": base_url}],
        "paths": {
            "/items/{id}": {"get": {"operationId": "get_item", "summary": "One item (~2 KB).",
                                    "parameters": [id_param], "responses": ok}},
            "/fail/{id}": {"get": {"operationId": "fail_item", "summary": "Always a 500.",
                                   "parameters": [id_param], "responses": ok}},
            "/slow": {"get": {"operationId": "slow_item", "summary": "Sleeps `seconds`.",
                              "parameters": [{"name": "seconds", "in": "query", "required": True,
                                              "schema": {"type": "number"}}], "responses": ok}},
        },
    }


def upstream_app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    body = json.dumps({"id": 1, "name": "item", "text": "x" * 1900}).encode()

    async def item(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def fail(request: Request) -> Response:
        return JSONResponse({"error": "upstream failure"}, status_code=500)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params["seconds"]))
        return JSONResponse({"slept": float(request.query_params["seconds"])})

    return Starlette(routes=[Route("/items/{id:int}", item), Route("/fail/{id:int}", fail), Route("/slow", slow)])


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def add_local_tools(server: Any) -> None:
    """`proc_*` (the `command:` server's tools) and the resource, on an SDK MCPServer."""

    @server.tool()
    def proc_echo(text: str) -> str:
        """Echo the text."""
        return text

    @server.tool()
    async def proc_nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def proc_boom() -> str:
        """Always fails."""
        raise ValueError("boom")

    @server.resource("soak://status")
    def status() -> str:
        """A small text resource."""
        return f"pid {os.getpid()}"


def serve_proc() -> None:
    from mcp.server import MCPServer

    server = MCPServer("soak-proc", log_level="ERROR")
    add_local_tools(server)
    server.run("stdio")


def serve_peer(base_url: str, port: int) -> None:
    """The bare SDK server: the same tool names as mcprt serves, no shaping, logging or policy."""
    import httpx
    import uvicorn
    from mcp.server import MCPServer

    server = MCPServer("soak-peer", log_level="ERROR")
    add_local_tools(server)
    client = httpx.AsyncClient(base_url=base_url)

    @server.tool()
    async def get_item(id: int) -> str:
        return (await client.get(f"/items/{id}")).text

    @server.tool()
    async def fail_item(id: int) -> str:
        response = await client.get(f"/fail/{id}")
        if response.status_code >= 400:
            raise RuntimeError(f"upstream answered {response.status_code}")
        return response.text

    @server.tool()
    async def slow_item(seconds: float) -> str:
        return (await client.get("/slow", params={"seconds": seconds}, timeout=2.0)).text

    @server.tool()
    def echo_text(text: str) -> dict[str, str]:
        return {"text": text}

    @server.tool()
    def crash() -> dict[str, str]:
        raise ValueError("crash")

    app = server.streamable_http_app(streamable_http_path="/mcp", session_idle_timeout=IDLE_TIMEOUT)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


TOOLS_MODULE = '''\
"""The soak's Python source."""

__all__ = ["echo_text", "crash"]


def echo_text(text: str) -> dict:
    """Echo the text."""
    return {"text": text}


def crash() -> dict:
    """Always raises."""
    raise ValueError("crash")
'''


def manifest(upstream: str, generation: int) -> str:
    return f"""\
version: 1
server:
  name: soak
  http: {{session_idle_timeout: {IDLE_TIMEOUT:g}s}}
  tasks: {{answer_within: 200ms, ttl: {TASK_TTL:g}s, poll_interval: 200ms}}
sources:
  api:
    openapi: api.json
    base_url: {upstream}
    task_support: optional
    tools:
      slow_item: {{timeout: 2s}}
  tools:
    python: soak_tools
    tools:
      echo_text: {{description: "Echo the text (generation {generation})."}}
  proc:
    command: ["{sys.executable}", "{Path(__file__).resolve()}", "proc"]
"""


# --- the load -----------------------------------------------------------------------------------------


HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def _meta(extensions: bool = False) -> dict[str, Any]:
    capabilities: dict[str, Any] = {"extensions": {TASKS: {}}} if extensions else {}
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": capabilities}


def _modern_headers(method: str, name: str | None) -> dict[str, str]:
    headers = {**HEADERS, "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


def _message(response: Any) -> dict[str, Any]:
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return message
        return {}
    return json.loads(text) if text else {}


class Load:
    """One client process's loop over the mix; `calls` counts tools/call and resources/read sent, the same
    for both servers (tasks/get polls, which only mcprt's tasks get, are not counted: they would lower
    mcprt's growth per call)."""

    def __init__(self, url: str, is_mcprt: bool, counter: Any, errors: Any, stop_at: float, seed: int) -> None:
        self.url, self.is_mcprt, self.counter, self.errors, self.stop_at = url, is_mcprt, counter, errors, stop_at
        self.random = random.Random(seed)
        self.pending_tasks: list[str] = []

    def count(self, n: int = 1) -> None:
        with self.counter.get_lock():
            self.counter.value += n

    async def run(self) -> None:
        import httpx

        actions = [(self.legacy_session, 4), (self.abandoned_session, 2), (self.modern_calls, 4),
                   (self.cancelled_calls, 2), (self.timed_out_call, 1), (self.task, 2), (self.sse_dropped, 2)]
        choices = [a for a, w in actions for _ in range(w)]
        async with httpx.AsyncClient(timeout=30) as self.http:
            while time.time() < self.stop_at:
                action = self.random.choice(choices)
                try:
                    await action()
                except Exception as error:  # noqa: BLE001 - a failed action is counted, the soak goes on
                    with self.errors.get_lock():
                        self.errors.value += 1
                    if os.environ.get("SOAK_DEBUG"):
                        log(f"{action.__name__}: {_leaf(error)}")

    # handshake era through the SDK client: open, use, close (DELETE)
    async def legacy_session(self) -> None:
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client() as http:
            async with Client(streamable_http_client(self.url, http_client=http), mode="legacy") as client:
                await client.list_tools()
                for n in range(3):
                    await client.call_tool("get_item", {"id": n})
                await client.call_tool("fail_item", {"id": 1})
                await client.call_tool("echo_text", {"text": "hi"})
                await client.call_tool("crash", {})
                await client.call_tool("proc_echo", {"text": "hi"})
                await client.call_tool("proc_boom", {})
                await client.read_resource("soak://status")
                self.count(9)

    async def _initialize(self) -> str:
        body = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "soak-raw", "version": "1"}}}
        response = await self.http.post(self.url, json=body, headers=HEADERS)
        response.raise_for_status()
        session = response.headers["mcp-session-id"]
        headers = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": LEGACY}
        await self.http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                             headers=headers)
        return session

    def _legacy_headers(self, session: str) -> dict[str, str]:
        return {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": LEGACY}

    async def _legacy_call(self, session: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        response = await self.http.post(self.url, json=body, headers=self._legacy_headers(session))
        self.count()
        return _message(response)

    # a session never closed: only the idle timeout can end it
    async def abandoned_session(self) -> None:
        session = await self._initialize()
        await self._legacy_call(session, "get_item", {"id": 7})
        await self._legacy_call(session, "fail_item", {"id": 7})

    async def _modern(self, method: str, params: dict[str, Any], name: str | None, *, extensions: bool = False,
                      timeout: float = 30) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": _meta(extensions)}}
        response = await self.http.post(self.url, json=body, headers=_modern_headers(method, name), timeout=timeout)
        if method != "tasks/get":
            self.count()
        return _message(response)

    async def modern_calls(self) -> None:
        for n in range(3):
            await self._modern("tools/call", {"name": "get_item", "arguments": {"id": n}}, "get_item")
        await self._modern("tools/call", {"name": "fail_item", "arguments": {"id": 2}}, "fail_item")
        await self._modern("tools/call", {"name": "proc_echo", "arguments": {"text": "x"}}, "proc_echo")
        await self._modern("resources/read", {"uri": "soak://status"}, "soak://status")

    # cancelled mid-flight: the SDK client's cancellation (handshake era), a dropped connection (2026-07-28)
    async def cancelled_calls(self) -> None:
        import httpx
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async with create_mcp_http_client() as http:
            async with Client(streamable_http_client(self.url, http_client=http), mode="legacy") as client:
                for name, arguments in (("proc_nap", {"seconds": 5}), ("slow_item", {"seconds": 5})):
                    try:
                        await asyncio.wait_for(client.call_tool(name, arguments), 0.3)
                    except (TimeoutError, asyncio.TimeoutError):
                        pass
                    self.count()
                await client.call_tool("get_item", {"id": 3})
                self.count()
        for name, arguments in (("slow_item", {"seconds": 5}), ("proc_nap", {"seconds": 5})):
            try:
                await self._modern("tools/call", {"name": name, "arguments": arguments}, name, timeout=0.3)
            except httpx.TimeoutException:
                self.count()

    async def timed_out_call(self) -> None:
        await self._modern("tools/call", {"name": "slow_item", "arguments": {"seconds": 3}}, "slow_item")

    # a task: created (the call outlasts answer_within) and polled to its end, or never polled
    async def task(self) -> None:
        answer = await self._modern("tools/call", {"name": "slow_item", "arguments": {"seconds": 0.6}}, "slow_item",
                                    extensions=self.is_mcprt)
        result = answer.get("result") or {}
        task_id = result.get("taskId") or (result.get("task") or {}).get("taskId")
        if task_id is None or self.random.random() < 0.3:
            return  # the peer answered directly, or this task is never polled
        deadline = time.time() + 10
        while time.time() < deadline:
            got = await self._modern("tasks/get", {"taskId": task_id}, task_id, extensions=True)
            if (got.get("result") or {}).get("status") in ("completed", "failed", "cancelled"):
                return
            await asyncio.sleep(0.2)

    # a client that goes away mid-SSE: a streamed tools/call answer and an open GET stream, both dropped
    async def sse_dropped(self) -> None:
        session = await self._initialize()
        headers = self._legacy_headers(session)
        body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "proc_nap", "arguments": {"seconds": 2}, "_meta": {"progressToken": "p1"}}}
        async with self.http.stream("POST", self.url, json=body, headers=headers) as response:
            await asyncio.sleep(0.2)
            self.count()
            await response.aclose()
        try:
            async with self.http.stream("GET", self.url, headers={**headers, "accept": "text/event-stream"},
                                        timeout=2) as response:
                await asyncio.sleep(0.2)
                await response.aclose()
        except Exception:  # noqa: BLE001 - a server may refuse the GET stream; dropping it is the point
            pass
        if self.random.random() < 0.5:
            await self.http.delete(self.url, headers=headers)


def _leaf(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"


def client_process(url: str, is_mcprt: bool, counter: Any, errors: Any, stop_at: float, seed: int) -> None:
    asyncio.run(Load(url, is_mcprt, counter, errors, stop_at, seed).run())


# --- sampling -----------------------------------------------------------------------------------------


def children(pid: int) -> tuple[int, int]:
    """(live children, zombie children) of `pid`, from /proc."""
    live = zombies = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            if fields[0] == "Z":
                zombies += 1
            else:
                live += 1
    return live, zombies


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.rsplit(" ", 1)[1])
    return None


FIGURES = ("rss_mb", "fds", "threads", "children", "zombies", "sessions", "loop_tasks")


def sample(pid: int, base: str | None) -> dict[str, float | None]:
    import httpx

    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
    threads = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:"))
    live, zombies = children(pid)
    figures: dict[str, float | None] = {"rss_mb": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads,
                                        "children": live, "zombies": zombies, "sessions": None, "loop_tasks": None}
    if base is not None:
        try:
            text = httpx.get(f"{base}/metrics", timeout=10).text
            figures["sessions"] = metric(text, "mcprt_sessions")
            figures["loop_tasks"] = metric(text, "mcprt_event_loop_tasks")
        except httpx.HTTPError:
            pass
    return figures


@dataclass
class Series:
    name: str
    pid: int
    base: str | None
    counter: Any
    samples: list[tuple[float, int, dict[str, float | None]]] = field(default_factory=list)

    def take(self, started: float) -> None:
        self.samples.append((time.monotonic() - started, self.counter.value, sample(self.pid, self.base)))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two distinct x)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def growth(series: Series, figure: str, warmup: float) -> dict[str, float] | None:
    kept = [(t, calls, s[figure]) for t, calls, s in series.samples if t >= warmup and s[figure] is not None]
    if len(kept) < 2:
        return None
    per_second = slope([(t, float(v)) for t, _, v in kept])  # type: ignore[arg-type]
    per_call = slope([(float(calls), float(v)) for _, calls, v in kept])  # type: ignore[arg-type]
    return {"first": float(kept[0][2]), "last": float(kept[-1][2]),  # type: ignore[arg-type]
            "max": max(float(v) for _, _, v in kept), "per_minute": per_second * 60,  # type: ignore[arg-type]
            "per_1000_calls": per_call * 1000}


# --- the run ------------------------------------------------------------------------------------------


def start_mcprt(folder: Path, probe: Path | None, runtime: Path | None = None
                ) -> tuple[subprocess.Popen[str], str, list[str]]:
    extra = {"MCPRT_DEBUG_TRACEMALLOC": str(probe)} if probe is not None else {}
    if runtime is not None:  # another checkout's code (its `runtime/` first on the path), e.g. main's
        extra["PYTHONPATH"] = str(runtime.resolve())
    process = subprocess.Popen([sys.executable, "-m", "mcprt", "up", str(folder / "mcp.yaml"), "--transport", "http",
                                "--port", "0"], cwd=folder, env=mcprt_env(MCPRT_LOG_LEVEL="warning", **extra),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if not url and " at http://" in line:
                url.append(line.split(" at ", 1)[1].split()[0])
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    found.wait(60)
    if not url:
        raise SystemExit("mcprt up did not start:\n" + "".join(lines))
    return process, url[0], lines


def proc_pid(server_pid: int) -> int | None:
    """The `command:` server: a live child of mcprt running this file's `proc` mode."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == server_pid and fields[0] != "Z" and b"proc" in cmdline and \
                    any(part.endswith(b"soak.py") for part in cmdline):
                return int(entry)
    return None


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("upstream", "proc", "peer"):
        mode = sys.argv[1]
        if mode == "upstream":
            serve_upstream(int(sys.argv[2]))
        elif mode == "proc":
            serve_proc()
        else:
            serve_peer(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=3, help="client processes per server")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--reload-every", type=float, default=4.0)
    parser.add_argument("--kill-every", type=float, default=45.0)
    parser.add_argument("--json", type=Path, help="write the samples and figures here")
    parser.add_argument("--baseline", type=Path, help="serve another checkout's mcprt (e.g. an export of main) "
                        "instead of this tree's, to compare before and after")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace mcprt's allocations (MCPRT_DEBUG_TRACEMALLOC; slows it several times) and "
                             "report what grew between the end of the warm-up and idle after expiry")
    args = parser.parse_args()

    header = machine_summary()
    header["command"] = " ".join(["python", "bench/soak.py", *sys.argv[1:]])
    processes: list[subprocess.Popen[Any]] = []
    with tempfile.TemporaryDirectory(prefix="mcprt-soak-") as tmp:
        folder = Path(tmp)
        try:
            upstream_port = free_port()
            processes.append(subprocess.Popen([sys.executable, __file__, "upstream", str(upstream_port)]))
            wait_for_port(upstream_port, process=processes[-1])
            upstream = f"http://127.0.0.1:{upstream_port}"
            (folder / "api.json").write_text(json.dumps(spec(upstream)))
            (folder / "soak_tools.py").write_text(TOOLS_MODULE)
            (folder / "mcp.yaml").write_text(manifest(upstream, 0))
            if args.tracemalloc and args.baseline and \
                    not (args.baseline / "runtime/mcprt/observability/memdebug.py").exists():
                log(f"soak: {args.baseline} has no memory probe (SIGUSR2 would end it): --tracemalloc skipped")
                args.tracemalloc = False
            probe = folder / "probe" if args.tracemalloc else None
            server, url, server_log = start_mcprt(folder, probe,
                                                  args.baseline / "runtime" if args.baseline else None)
            processes.append(server)
            peer_port = free_port()
            processes.append(subprocess.Popen([sys.executable, __file__, "peer", upstream, str(peer_port)],
                                              stderr=subprocess.DEVNULL))
            peer = processes[-1]
            wait_for_port(peer_port, process=peer)
            peer_url = f"http://127.0.0.1:{peer_port}/mcp"
            time.sleep(1.0)
            report = run(args, folder, upstream, server, url, peer, peer_url)
        finally:
            for process in reversed(processes):
                stop_process(process)
    print("\n".join(f"- {k}: {v}" for k, v in header.items()))
    print(report["text"])
    if args.json:
        args.json.write_text(json.dumps(report["data"], indent=2))
    if report["data"]["failed"]:
        raise SystemExit(1)  # a MISSED or GROWS verdict


def run(args: argparse.Namespace, folder: Path, upstream: str, server: subprocess.Popen[str], url: str,
        peer: subprocess.Popen[Any], peer_url: str) -> dict[str, Any]:
    seconds = args.minutes * 60
    stop_at = time.time() + seconds
    context = multiprocessing.get_context("spawn")
    mcprt_calls, peer_calls = context.Value("q", 0), context.Value("q", 0)
    mcprt_errors, peer_errors = context.Value("q", 0), context.Value("q", 0)
    base = url.rsplit("/", 1)[0]
    series = [Series("mcprt", server.pid, base, mcprt_calls), Series("sdk peer", peer.pid, None, peer_calls)]
    clients = [context.Process(target=client_process, args=(url, True, mcprt_calls, mcprt_errors, stop_at, n))
               for n in range(args.clients)]
    clients += [context.Process(target=client_process, args=(peer_url, False, peer_calls, peer_errors, stop_at, n))
                for n in range(args.clients)]
    started = time.monotonic()
    for s in series:
        s.take(started)
    for client in clients:
        client.start()
    reloads = kills = 0
    probe_at = seconds / 5 if args.tracemalloc else None
    next_sample, next_reload, next_kill = args.sample, args.reload_every, args.kill_every
    log(f"soak: {args.minutes:g} min, {args.clients} client processes per server; mcprt {url}, peer {peer_url}")
    while time.time() < stop_at:
        elapsed = time.monotonic() - started
        if elapsed >= next_reload:
            reloads += 1
            (folder / "mcp.yaml").write_text(manifest(upstream, reloads))
            next_reload += args.reload_every
        if probe_at is not None and elapsed >= probe_at:
            server.send_signal(signal.SIGUSR2)  # snapshot 1: the end of the warm-up
            probe_at = None
        if elapsed >= next_kill:
            pid = proc_pid(server.pid)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            next_kill += args.kill_every
        if elapsed >= next_sample:
            for s in series:
                s.take(started)
            next_sample += args.sample
            last = series[0].samples[-1]
            log(f"  {elapsed:5.0f} s  calls mcprt {mcprt_calls.value} peer {peer_calls.value}  "
                f"mcprt rss {last[2]['rss_mb']:.1f} MB fds {last[2]['fds']} sessions {last[2]['sessions']} "
                f"tasks {last[2]['loop_tasks']}")
        if server.poll() is not None:
            raise SystemExit(f"mcprt up exited with {server.returncode}")
        time.sleep(0.2)
    for client in clients:
        client.join(60)
        if client.is_alive():
            client.kill()
    loaded = time.monotonic() - started
    for s in series:
        s.take(started)
    # idle: every session expires (idle timeout) and every task passes its TTL; then sample again
    settle = IDLE_TIMEOUT + TASK_TTL + 2 * args.sample
    log(f"soak: load stopped; idle {settle:.0f} s for sessions and tasks to expire")
    time.sleep(settle)
    idle = {s.name: sample(s.pid, s.base) for s in series}
    growth_sites = ""
    if args.tracemalloc:
        server.send_signal(signal.SIGUSR2)  # snapshot 2: idle after expiry
        growth_sites = probe_report(folder / "probe", server.pid)
    return summarize(args, series, idle, loaded, reloads, kills,
                     {"mcprt": (mcprt_calls.value, mcprt_errors.value), "sdk peer": (peer_calls.value, peer_errors.value)},
                     growth_sites)


def probe_report(folder: Path, pid: int, top: int = 12) -> str:
    """What grew between mcprt's two memory snapshots (observability.memdebug): the allocation sites
    by bytes (the deepest frames inside mcprt or the SDK) and live objects by type."""
    import tracemalloc

    first, second = folder / f"mcprt-{pid}-1.tracemalloc", folder / f"mcprt-{pid}-2.tracemalloc"
    deadline = time.monotonic() + 120
    while not second.with_suffix(".types.json").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)
    if not first.exists() or not second.exists():
        return "\n(no memory snapshots were written)"
    diff = tracemalloc.Snapshot.load(str(second)).compare_to(tracemalloc.Snapshot.load(str(first)), "traceback")
    lines = ["", "Allocation sites that grew from the end of the warm-up to idle after expiry (tracemalloc):", ""]
    for stat in diff[:top]:
        frames = [f for f in stat.traceback if "/mcprt/" in f.filename or "/mcp/" in f.filename] or list(stat.traceback)
        where = " ← ".join(f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}" for f in frames[-4:][::-1])
        lines.append(f"- {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks: {where}")
    before = json.loads(first.with_suffix(".types.json").read_text())
    after = json.loads(second.with_suffix(".types.json").read_text())
    grown = sorted(((after[k] - before.get(k, 0), k) for k in after), reverse=True)[:top]
    lines += ["", "Live objects by type, growth: " + ", ".join(f"{k} {d:+d}" for d, k in grown if d > 0)]
    return "\n".join(lines)


# Calls each server must have served before growth per 1,000 calls means anything (fewer: "too short").
MIN_CALLS = 2000

# MB per 1,000 calls mcprt's RSS may grow beyond the peer's (200 bytes a call: allocator arenas and
# bounded caches — compiled templates, listings — still filling in a 10-minute run). Before the lean
# path released sessions (about 5 KB each) mcprt grew +0.62 against the peer's +0.09.
RSS_ALLOWANCE = 0.2

# Counts idle after expiry may exceed their value before the load by this much and still be flat (what the
# first calls open once and keep: pooled upstream connections, lazily started threads and tasks).
# Threads: asyncio's default executor (`asyncio.to_thread`: shaping, reloads' compiles, sync `python:` tools)
# starts up to min(32, cores + 4) workers as the load asks and keeps them for the loop's life: bounded, not
# growth (a 3-minute run on 2 cores: 6 before the load, 11 idle after it).
DEFAULT_EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)
MARGIN = {"fds": 12, "threads": DEFAULT_EXECUTOR_THREADS, "children": 0, "zombies": 0, "sessions": 12,
          "loop_tasks": 40}


def summarize(args: argparse.Namespace, series: list[Series], idle: dict[str, dict[str, float | None]], loaded: float,
              reloads: int, kills: int, counts: dict[str, tuple[int, int]], growth_sites: str = "") -> dict[str, Any]:
    warmup = loaded / 5
    rows: list[list[object]] = []
    data: dict[str, Any] = {"reloads": reloads, "kills": kills, "loaded_seconds": loaded, "servers": {}}
    verdicts: list[str] = []
    figures: dict[str, dict[str, dict[str, float] | None]] = {}
    for s in series:
        calls, errors = counts[s.name]
        figures[s.name] = {f: growth(s, f, warmup) for f in FIGURES}
        data["servers"][s.name] = {"calls": calls, "failed_actions": errors, "figures": figures[s.name],
                                   "idle": idle[s.name], "samples": s.samples}
    for figure in FIGURES:
        for s in series:
            g = figures[s.name][figure]
            if g is None:
                continue
            idle_value = idle[s.name][figure]
            rows.append([figure, s.name, f"{g['first']:.1f}", f"{g['last']:.1f}", f"{g['max']:.1f}",
                         "-" if idle_value is None else f"{idle_value:.1f}",
                         f"{g['per_minute']:+.2f}", f"{g['per_1000_calls']:+.3f}"])
    mcprt, peer = figures["mcprt"], figures["sdk peer"]
    rss, peer_rss = mcprt["rss_mb"], peer["rss_mb"]
    mcprt_calls, mcprt_errors = counts["mcprt"]
    peer_calls, peer_errors = counts["sdk peer"]
    failed = False
    if rss is not None and peer_rss is not None:
        limit = max(peer_rss["per_1000_calls"], 0.0) + RSS_ALLOWANCE
        ok = rss["per_1000_calls"] <= limit
        enough = min(mcprt_calls, peer_calls) >= MIN_CALLS
        failed |= enough and not ok
        verdict = ("met" if ok else "MISSED") if enough else f"too short to judge (fewer than {MIN_CALLS} calls)"
        verdicts.append(f"- RSS growth {rss['per_1000_calls']:+.3f} MB per 1,000 calls (peer "
                        f"{peer_rss['per_1000_calls']:+.3f}; limit the peer's + {RSS_ALLOWANCE} = {limit:.3f}): "
                        f"{verdict}")
    before_load = series[0].samples[0][2]  # taken before any client started
    for figure, margin in MARGIN.items():
        g = mcprt[figure]
        start, idle_value = before_load[figure], idle["mcprt"][figure]
        if g is None or start is None or idle_value is None:
            continue
        ok = idle_value <= start + margin
        failed |= not ok
        verdicts.append(f"- {figure}: {start:.0f} before load, {g['max']:.0f} at most under load, "
                        f"{idle_value:.0f} idle after expiry (margin {margin}): {'flat' if ok else 'GROWS'}")
    data["failed"] = failed
    text = "\n".join([
        f"- loaded {loaded / 60:.1f} min; reloads {reloads}; kill -9 of the command: server {kills}",
        f"- calls: mcprt {mcprt_calls} ({mcprt_calls / loaded * 60:.0f}/min, {mcprt_errors} failed actions), "
        f"SDK peer {peer_calls} ({peer_calls / loaded * 60:.0f}/min, {peer_errors} failed actions)",
        "",
        table(["figure", "server", "after warm-up", "end of load", "max", "idle after expiry", "per minute",
               "per 1,000 calls"], rows),
        "",
        *verdicts,
        growth_sites,
    ])
    return {"text": text, "data": data}


if __name__ == "__main__":
    main()
