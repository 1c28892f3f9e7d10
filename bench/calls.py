"""Part 2: tools/call → local upstream → result: mcprt vs FastMCP and the Node peer, above the floor.

The floor is a direct httpx GET of the same upstream route from this process (parse included); with
N calls in flight it is N workers, each with its own httpx client (one shared pool would be the slow
part and flatter every server's ratio). The servers, each in a subprocess with its defaults and its
log in a file, compile the same OpenAPI description:
  - mcprt: `mcprt up MANIFEST --no-reload`
  - fastmcp: FastMCP.from_openapi (bench/peer/serve.py, in its own venv)
  - node-peer: @ivotoby/openapi-mcp-server 1.16.1 (Node; `node bin/mcp-server.js --openapi-spec …`)
  - sdk-bare: the SDK's low-level Server with one httpx GET per call (bench/sdk_bare.py)
The client is the MCP SDK's `Client` (the same for all), `--mode auto` (2026-07-28 where the server
speaks it) or `--mode legacy` (handshake era).

All ways to call run at the same time and take turns, so load from elsewhere hits them alike:
  - sequential (1 in flight): one call of each system per round, the starting system rotating;
    2 KB (`get_item`) and 100 KB (`get_item_history`)
  - 16 and 64 in flight, 2 KB: HTTP has one session per in-flight worker; stdio has N requests in
    flight on its one session; in blocks per system, alternating between systems
Reported: median/p99 latency, overhead (median minus the floor's for the same pattern), calls/s,
server CPU per call (from /proc, warm-up included), and memory per HTTP session (server RSS after
64 sessions minus after 1, over 63).
Goals: mcprt's overhead ≤ the Node peer's, mcprt's calls/s at 16 and 64 in flight ≥ the Node peer's.

    python bench/calls.py [--quick] [--mode auto|legacy] [--client sdk|raw] [--era 2025-06-18|2026-07-28]
                          [--ab-lean] [--stdio-mode auto|legacy] [--stdio-lean-off-too]

`--client raw --era 2026-07-28` drives the Python servers with self-contained 2026-07-28 POSTs
(ModernSession); `MCPRT_HTTP_LEAN=0` in the environment measures mcprt without its lean HTTP path, and
`MCPRT_STDIO_LEAN=0` without its lean stdio path. `--ab-lean` runs `mcprt-sdk-path` (mcprt with both lean
paths off) over HTTP in the same rounds, with a table of their ratios; `--stdio-lean-off-too` does the same
over stdio. `--stdio-mode` is the SDK client's mode over stdio (auto: 2026-07-28 where the server speaks it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from common import (BENCH, CACHE, ensure_peer, free_port, log, mcprt_env, median, node_peer_command, percentile,
                    stop_process, wait_for_port)
from compile import mcprt_command
from report import Goal, Section
from upstream_app import openapi_spec

WORK = CACHE / "calls"
SERVERS = ("sdk-bare", "mcprt", "fastmcp", "node-peer")  # sdk-bare: the SDK's own per-call cost
SDK_PATH = "mcprt-sdk-path"  # --ab-lean / --stdio-lean-off-too: mcprt with its lean paths off, in the same rounds
HTTP_EXTRA: list[str] = []
LEVELS = (16, 64)  # calls in flight, besides the sequential 1
SMALL, LARGE = "get_item", "get_item_history"
TOOL_NAMES = {"node-peer": ("get-item", "get-item-history")}  # it names tools by kebab-cased operationId

Call = Callable[[], Awaitable[object]]


@dataclass
class Pattern:
    name: str
    latencies: list[float]  # seconds per call
    wall: float
    server_cpu: float = 0.0  # CPU seconds the server process used in this phase
    served: int = 0  # calls the server handled in this phase, warm-up included

    @property
    def med(self) -> float:
        return median(self.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def cpu_per_call(self) -> float:
        return self.server_cpu / self.served if self.served else float("nan")


# --- the upstream and the servers -------------------------------------------------------------------


@contextmanager
def upstream() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "upstream_app.py"), str(port)],
                               stderr=open(WORK / "upstream.log", "wb"))
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def write_inputs(base_url: str) -> tuple[Path, Path]:
    spec = WORK / "items.openapi.json"
    spec.write_text(json.dumps(openapi_spec(base_url)))
    manifest = WORK / "mcp.yaml"
    manifest.write_text(
        "version: 1\n"
        "server: {name: mcprt-bench}\n"
        "sources:\n"
        "  items:\n"
        f"    openapi: {json.dumps(str(spec))}\n"
        f"    base_url: {base_url}\n"
    )
    return spec, manifest


def mcprt_server_env() -> dict[str, str]:
    # MCPRT_HTTP_LEAN=0 / MCPRT_STDIO_LEAN=0 in the bench's environment measure mcprt without a lean path.
    lean = {name: os.environ[name] for name in ("MCPRT_HTTP_LEAN", "MCPRT_STDIO_LEAN") if name in os.environ}
    return mcprt_env(MCPRT_CACHE_DIR=str(WORK / "mcprt-cache"), **lean)


@contextmanager
def http_server(cmd: list[str], port: int, env: dict[str, str] | None, log_name: str) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(WORK / log_name, "wb"), env=env)
    try:
        wait_for_port(port, timeout=90, process=process)
        yield f"http://127.0.0.1:{port}/mcp", process.pid
    finally:
        stop_process(process)


def server_commands(system: str, spec: Path, manifest: Path, base_url: str, transport: str,
                    port: int = 0) -> tuple[list[str], dict[str, str] | None]:
    if system == "sdk-bare":
        cmd = [sys.executable, str(BENCH / "sdk_bare.py"), base_url, transport]
        if transport == "http":
            cmd.append(str(port))
        return cmd, mcprt_env()
    if system in ("mcprt", SDK_PATH):
        cmd = [*mcprt_command(), "up", str(manifest), "--transport", transport, "--no-reload"]
        if transport == "http":
            cmd += ["--port", str(port)]
        env = mcprt_server_env()
        if system == SDK_PATH:
            env.update(MCPRT_HTTP_LEAN="0", MCPRT_STDIO_LEAN="0")
        return cmd, env
    if system == "node-peer":
        return node_peer_command(spec, base_url, port if transport == "http" else None), mcprt_env()
    cmd = [str(ensure_peer()), str(BENCH / "peer" / "serve.py"), str(spec), base_url, transport]
    if transport == "http":
        cmd.append(str(port))
    return cmd, mcprt_env()


@asynccontextmanager
async def stdio_client_for(cmd: list[str], env: dict[str, str] | None, log_name: str,
                           mode: str = "auto") -> AsyncIterator[Client]:
    with open(WORK / log_name, "w") as errlog:
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
            yield client


# --- measuring --------------------------------------------------------------------------------------


FAILURES: list[str] = []  # calls that failed (e.g. a peer's upstream connection reset under load): not timed


async def timed(call: Call, latencies: list[float]) -> None:
    start = time.perf_counter()
    try:
        await call()
    except (RuntimeError, httpx.HTTPError) as exc:  # one failed call must not end the whole run
        FAILURES.append(repr(exc)[:300])
        return
    latencies.append(time.perf_counter() - start)


async def concurrent(calls: list[Call], per_worker: int) -> tuple[list[float], float]:
    """Each of `calls` is one worker's call; all workers run at once, after one warm-up call each.
    Returns the latencies and the wall time of the measured part."""
    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(timed, call, [])  # warm-up: not measured
    latencies: list[float] = []

    async def worker(call: Call) -> None:
        for _ in range(per_worker):
            await timed(call, latencies)

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(worker, call)
    return latencies, time.perf_counter() - start


def tool_call(client: Client, tool: str) -> Call:
    async def call() -> object:
        result = await client.call_tool(tool, {"id": 1})
        if result.is_error:
            raise RuntimeError(f"{tool} returned an error: {result.content}")
        return result

    return call


async def check_tools(client: Client, system: str, names: tuple[str, str]) -> None:
    listed = {tool.name for tool in (await client.list_tools()).tools}
    missing = set(names) - listed
    if missing:
        raise RuntimeError(f"{system} does not list {sorted(missing)} (it lists {sorted(listed)})")


_REQUEST_IDS = itertools.count(1_000_000)  # unique across sessions: the Node peer routes answers by id alone


class SseReplySession:
    """A handshake-era session driven by hand: a light client that reads the answer from the POST
    (JSON or SSE) or from the session's GET SSE stream. Needed for the Node peer over HTTP, which
    answers every POSTed request with 202 Accepted and sends the response on the GET stream (the SDK
    client refuses that: "server answered a request with 202 Accepted"); with `--client raw` every
    server is driven by it. The Node peer keys answers by request id across sessions, so ids here
    are unique across all sessions (else results mix up)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.waiting: dict[int, tuple[anyio.Event, list[dict]]] = {}
        self.headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

    async def open(self, stack: AsyncExitStack) -> None:
        self.http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        init = {"jsonrpc": "2.0", "id": next(_REQUEST_IDS), "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "mcprt-bench", "version": "1"}}}
        response = await self.http.post(self.url, json=init, headers=self.headers)
        response.raise_for_status()
        self.headers |= {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        await self.http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                             headers=self.headers)
        group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(group.cancel_scope.cancel)  # runs before the group exits (LIFO)
        group.start_soon(self._read)
        # Node sends the GET stream's headers only with its first event, and drops answers sent
        # before the stream is registered: ping until one answer comes back on it.
        for _ in range(100):
            with anyio.move_on_after(0.5):
                await self.request("ping", {})
                return
        raise RuntimeError(f"no answer on the GET stream of {self.url}")

    async def _read(self) -> None:
        async with self.http.stream("GET", self.url, headers=self.headers | {"accept": "text/event-stream"},
                                    timeout=httpx.Timeout(60, read=None)) as stream:
            stream.raise_for_status()
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    event, box = self.waiting.pop(message.get("id"), (None, None))
                    if event is not None and box is not None:
                        box.append(message)
                        event.set()

    async def request(self, method: str, params: dict) -> dict:
        """One JSON-RPC request; its answer from the POST (200) or the GET stream (202)."""
        request_id = next(_REQUEST_IDS)
        event, box = anyio.Event(), []
        self.waiting[request_id] = (event, box)
        try:
            body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            try:
                response = await self.http.post(self.url, headers=self.headers, json=body)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # a kept-alive connection the server closed while idle (uvicorn: after 5 s): once more
                response = await self.http.post(self.url, headers=self.headers, json=body)
            if response.status_code == 200 and response.headers.get("content-type", "").startswith(
                    "text/event-stream"):  # the SDK servers' SSE answer on the POST itself
                for line in response.text.splitlines():
                    if line.startswith("data:") and line[5:].strip():
                        message = json.loads(line[5:])
                        if message.get("id") == request_id:
                            return message
                raise RuntimeError(f"{method}: no answer in the POST's SSE stream")
            if response.status_code == 200 and response.content:
                return response.json()
            if response.status_code != 202:
                raise RuntimeError(f"{method} answered {response.status_code}: {response.text[:200]}")
            await event.wait()
            return box[0]
        finally:
            self.waiting.pop(request_id, None)

    def call(self, tool: str) -> Call:
        async def call() -> object:
            answer = await self.request("tools/call", {"name": tool, "arguments": {"id": 1}})
            result = answer.get("result") or {}
            if "error" in answer or result.get("isError"):
                raise RuntimeError(f"{tool} returned an error: {answer}")
            return result

        return call


MODERN = "2026-07-28"


class ModernSession:
    """A 2026-07-28 client driven by hand: each call one self-contained POST (no handshake, no
    session), its envelope in `params._meta` and the routing headers the version requires; the
    answer is read from the POST (JSON, or SSE when the server streams it). The Node peer does not
    speak this version; with `--era 2026-07-28` it is still driven in the handshake era."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
                        "mcp-protocol-version": MODERN}
        self.meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
                     "io.modelcontextprotocol/clientCapabilities": {},
                     "io.modelcontextprotocol/clientInfo": {"name": "mcprt-bench", "version": "1"}}

    async def open(self, stack: AsyncExitStack) -> None:
        self.http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        await self.request("tools/list", {})

    async def request(self, method: str, params: dict) -> dict:
        body = {"jsonrpc": "2.0", "id": next(_REQUEST_IDS), "method": method, "params": {**params, "_meta": self.meta}}
        headers = self.headers | {"mcp-method": method}
        if method == "tools/call":
            headers["mcp-name"] = params["name"]
        response = await self.http.post(self.url, headers=headers, json=body)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:") and line[5:].strip():
                    message = json.loads(line[5:])
                    if message.get("id") == body["id"]:
                        return message
            raise RuntimeError(f"{method}: no answer in the POST's SSE stream")
        if response.status_code != 200:
            raise RuntimeError(f"{method} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    call = SseReplySession.call


@dataclass
class System:
    """One way to make the call: its 2 KB call, its 100 KB call, one 2 KB call per in-flight worker
    (as many as the highest level), and the server process (for CPU and memory)."""

    system: str
    transport: str
    small: Call
    large: Call
    workers: list[Call]
    pid: int | None = None
    session_kb: float | None = None  # HTTP: server RSS growth per session
    notes: list[str] = field(default_factory=list)


def child_pids() -> list[int]:
    """Processes whose parent is this one (the stdio servers the SDK client starts)."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a live process (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int | None) -> float:
    """Resident set size of a live process in KB (nan when unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    except (OSError, TypeError):
        pass
    return float("nan")


def rotated(items: list[System], index: int) -> list[System]:
    """Each round starts with a different system, so none always runs first (or last)."""
    shift = index % len(items)
    return items[shift:] + items[:shift]


async def floor_system(stack: AsyncExitStack, base_url: str) -> System:
    """The direct call; every in-flight worker has its own httpx client (pool), as each MCP session
    has its own connection: one shared pool is itself the bottleneck at 16-64 in flight."""

    def get(client: httpx.AsyncClient, path: str) -> Call:
        async def call() -> object:
            response = await client.get(path)
            response.raise_for_status()
            return response.json()
        return call

    clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=base_url)) for _ in range(max(LEVELS))]
    return System("floor", "direct httpx", get(clients[0], "/items/1"), get(clients[0], "/items/1/history"),
                  [get(c, "/items/1") for c in clients])


async def open_systems(stack: AsyncExitStack, base_url: str, spec: Path, manifest: Path, mode: str,
                       raw_client: bool, era: str = "2025-06-18", stdio_mode: str = "auto",
                       stdio_extra: tuple[str, ...] = ()) -> list[System]:
    systems = [await floor_system(stack, base_url)]
    for system in (*SERVERS, *HTTP_EXTRA):
        small, large = TOOL_NAMES.get(system, (SMALL, LARGE))
        port = free_port()
        cmd, env = server_commands(system, spec, manifest, base_url, "http", port)
        log(f"calls: starting {system} over streamable HTTP")
        url, pid = stack.enter_context(http_server(cmd, port, env, f"{system}-http.log"))

        async def session() -> Callable[[str], Call]:
            if system == "node-peer" or raw_client:  # the Node peer needs the hand-driven client
                raw = ModernSession(url) if era == MODERN and system != "node-peer" else SseReplySession(url)
                await raw.open(stack)
                return raw.call
            client = await stack.enter_async_context(Client(url, mode=mode))
            return lambda tool: tool_call(client, tool)

        if system != "node-peer":
            await check_tools(await stack.enter_async_context(Client(url, mode=mode)), system, (small, large))
        first = await session()
        await first(small)()
        before = rss_kb(pid)
        sessions = [first]
        for _ in range(max(LEVELS) - 1):  # one session per in-flight worker, each used once
            sessions.append(await session())
            await sessions[-1](small)()
        # 2026-07-28 has no sessions: nothing to measure per session there.
        per_session = None if era == MODERN and system != "node-peer" else (rss_kb(pid) - before) / (len(sessions) - 1)
        systems.append(System(system, "http", first(small), first(large), [c(small) for c in sessions], pid,
                              per_session))
    for system in (*SERVERS, *stdio_extra):
        small, large = TOOL_NAMES.get(system, (SMALL, LARGE))
        cmd, env = server_commands(system, spec, manifest, base_url, "stdio")
        log(f"calls: starting {system} over stdio")
        before_pids = set(child_pids())
        client = await stack.enter_async_context(stdio_client_for(cmd, env, f"{system}-stdio.log", stdio_mode))
        started = [pid for pid in child_pids() if pid not in before_pids]
        await check_tools(client, system, (small, large))
        systems.append(System(system, "stdio", tool_call(client, small), tool_call(client, large),
                              [tool_call(client, small) for _ in range(max(LEVELS))],
                              started[0] if started else None))
    return systems


async def interleaved_sequential(systems: list[System], pick: Callable[[System], Call], count: int
                                 ) -> dict[int, list[float]]:
    """One call of each system per round, rounds in a row: load from elsewhere hits all alike."""
    for _ in range(min(20, count)):
        for system in systems:
            await pick(system)()
    latencies: dict[int, list[float]] = {id(s): [] for s in systems}
    for index in range(count):
        for system in rotated(systems, index):
            await timed(pick(system), latencies[id(system)])
    return latencies


async def interleaved_concurrent(systems: list[System], level: int, calls: int, blocks: int
                                 ) -> dict[int, tuple[list[float], float, int]]:
    """Blocks of `level` calls in flight, alternating between systems: (latencies, summed wall time,
    calls served including each block's warm-up) per system."""
    out: dict[int, tuple[list[float], float, int]] = {id(s): ([], 0.0, 0) for s in systems}
    # At least 4 calls per worker and block: with 1 (what --quick gave at 64 in flight) a block is
    # all ramp-up and tail, never `level` calls in flight for long, and calls/s came out too low.
    per_worker = max(4, calls // (level * blocks))
    for block in range(blocks):
        for system in rotated(systems, block):
            latencies, wall = await concurrent(system.workers[:level], per_worker)
            seen, total, served = out[id(system)]
            out[id(system)] = (seen + latencies, total + wall, served + len(latencies) + level)
    return out


class CpuMeter:
    """CPU seconds each server process used since the last lap (warm-up calls included)."""

    def __init__(self, systems: list[System]) -> None:
        self.systems = systems
        self.last = {id(s): cpu_seconds(s.pid) for s in systems}

    def lap(self) -> dict[int, float]:
        now = {id(s): cpu_seconds(s.pid) for s in self.systems}
        spent = {key: now[key] - self.last[key] for key in now}
        self.last = now
        return spent


Results = dict[tuple[str, str], list[Pattern]]


async def measure_all(quick: bool, mode: str, raw_client: bool, era: str = "2025-06-18", stdio_mode: str = "auto",
                      stdio_extra: tuple[str, ...] = ()) -> tuple[Results, dict[tuple[str, str], float | None]]:
    sys.setrecursionlimit(20_000)  # closing ~250 nested client contexts chains that many exceptions
    with upstream() as base_url:
        spec, manifest = write_inputs(base_url)
        async with AsyncExitStack() as stack:
            systems = await open_systems(stack, base_url, spec, manifest, mode, raw_client, era, stdio_mode,
                                         stdio_extra)
            try:
                return await measure_phases(systems, quick), {(s.system, s.transport): s.session_kb for s in systems}
            except BaseException as exc:  # the first cause, before ~250 sessions' teardown wraps it
                leaf: BaseException = exc
                while isinstance(leaf, BaseExceptionGroup):
                    leaf = leaf.exceptions[0]
                log(f"calls: failed: {leaf!r}")
                raise


async def measure_phases(systems: list[System], quick: bool) -> Results:
    count = 100 if quick else 300
    calls_per_level = 256 if quick else 768
    results: Results = {}
    cpu = CpuMeter(systems)
    log("calls: sequential 2 KB, interleaved")
    small = await interleaved_sequential(systems, lambda s: s.small, count)
    small_cpu = cpu.lap()
    for system in systems:
        key = id(system)
        # sequential: calls/s from the system's own call time (the rounds interleave)
        results[(system.system, system.transport)] = [
            Pattern("1 in flight 2 KB", small[key], sum(small[key]), small_cpu[key], count + min(20, count))]
    for level in LEVELS:
        log(f"calls: {level} in flight, interleaved blocks")
        many = await interleaved_concurrent(systems, level, calls_per_level, 4)
        many_cpu = cpu.lap()
        for system in systems:
            latencies, wall, served = many[id(system)]
            name = f"{level} in flight 2 KB" + (" (one session)" if system.transport == "stdio" else "")
            results[(system.system, system.transport)].append(
                Pattern(name, latencies, wall, many_cpu[id(system)], served))
    log("calls: sequential 100 KB, interleaved")
    large_count = max(count // 3, 30)
    large = await interleaved_sequential(systems, lambda s: s.large, large_count)
    large_cpu = cpu.lap()
    for system in systems:
        key = id(system)
        results[(system.system, system.transport)].append(
            Pattern("1 in flight 100 KB", large[key], sum(large[key]), large_cpu[key],
                    large_count + min(20, large_count)))
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def run(quick: bool = False, mode: str = "auto", client: str = "sdk", era: str = "2025-06-18",
        stdio_mode: str = "auto", stdio_lean_off_too: bool = False) -> Section:
    WORK.mkdir(parents=True, exist_ok=True)
    extra = (SDK_PATH,) if stdio_lean_off_too else ()
    results, memory = anyio.run(measure_all, quick, mode, client == "raw", era, stdio_mode, extra)
    floor = results[("floor", "direct httpx")]
    era_note = (f"protocol {MODERN}; the Node peer, which does not speak it, in the handshake era 2025-06-18"
                if era == MODERN else "handshake era 2025-06-18")
    how = (f"every server over HTTP driven by the light hand-written client ({era_note})"
           if client == "raw" else f"SDK client, mode `{mode}`; the Node peer by the hand-written client")
    section = Section(
        title=f"2. tools/call through a local upstream (ms; HTTP: {how}; stdio: SDK client, mode `{stdio_mode}`)",
        headers=["system", "transport", "pattern", "calls", "median", "p99", "median overhead", "p99 overhead",
                 "calls/s", "server CPU per call"],
    )
    for (system, transport), patterns in results.items():
        for index, pattern in enumerate(patterns):
            base = floor[index]
            section.rows.append([
                system, transport, pattern.name, len(pattern.latencies), ms(pattern.med), ms(pattern.p99),
                "—" if system == "floor" else ms(pattern.med - base.med),
                "—" if system == "floor" else ms(pattern.p99 - base.p99),
                f"{pattern.throughput:.0f}",
                "—" if system == "floor" else ms(pattern.cpu_per_call),
            ])
    section.extra_tables.append((
        ["system", "server RSS per extra HTTP session (KB)"],
        [[system, f"{kb:.0f}"] for (system, transport), kb in memory.items() if kb is not None]))
    own_rows: list[list[object]] = []
    own_goals: list[Goal] = []
    for transport in ("http", "stdio"):
        mine, node, fast, bare = (results[(name, transport)] for name in ("mcprt", "node-peer", "fastmcp", "sdk-bare"))
        for index in range(len(floor)):
            m_over = mine[index].med - floor[index].med
            for peer_name, peer in (("node-peer", node), ("fastmcp", fast)):
                p_over = peer[index].med - floor[index].med
                target = 1.0 if peer_name == "node-peer" else 0.5
                if p_over > 0 and m_over > 0:
                    ratio = m_over / p_over
                    measured, ok = f"{ms(m_over)} vs {ms(p_over)} ms = {ratio:.2f}", ratio <= target
                else:  # one of them at (or, by the floor's own noise, below) the floor: a ratio means nothing
                    measured = f"{ms(m_over)} vs {ms(p_over)} ms (at the floor: compared directly)"
                    ok = m_over <= max(p_over, 0.0)
                section.goals.append(Goal(
                    f"{transport} {mine[index].name}: median overhead vs {peer_name}", measured, f"≤ {target}", ok))
            if transport == "http" and mine[index].name.split()[0] in {str(level) for level in LEVELS}:
                ratio = mine[index].throughput / node[index].throughput
                section.goals.append(Goal(
                    f"http {mine[index].name}: calls/s vs node-peer",
                    f"{mine[index].throughput:.0f} vs {node[index].throughput:.0f} = {ratio:.2f}", "≥ 1",
                    ratio >= 1))
            m_own = mine[index].med - bare[index].med
            p_own = node[index].med - bare[index].med
            own_goals.append(Goal(
                f"{transport} {mine[index].name}: own median overhead (above the bare SDK server) vs node-peer",
                f"{ms(m_own)} vs {ms(p_own)} ms", "informative", None))
            own_rows.append([
                transport, mine[index].name, ms(bare[index].med - floor[index].med),
                ms(mine[index].med - bare[index].med), ms(node[index].med - bare[index].med),
                ms(fast[index].med - bare[index].med), ms(bare[index].cpu_per_call),
                ms(mine[index].cpu_per_call - bare[index].cpu_per_call),
                ms(node[index].cpu_per_call), ms(fast[index].cpu_per_call - bare[index].cpu_per_call),
            ])
    if stdio_lean_off_too:  # the lean stdio path against mcprt's own SDK path, same rounds
        mine, sdk_path = results[("mcprt", "stdio")], results[(SDK_PATH, "stdio")]
        for index in range(len(floor)):
            lean_over, sdk_over = (p[index].med - floor[index].med for p in (mine, sdk_path))
            section.goals.append(Goal(
                f"stdio {mine[index].name}: lean path vs MCPRT_STDIO_LEAN=0 (overhead; calls/s; CPU per call)",
                f"{ms(lean_over)} vs {ms(sdk_over)} ms; {mine[index].throughput:.0f} vs "
                f"{sdk_path[index].throughput:.0f}; {ms(mine[index].cpu_per_call)} vs "
                f"{ms(sdk_path[index].cpu_per_call)} ms", "informative", None))
    section.extra_tables.append((
        ["transport", "pattern", "bare SDK server above floor (median)", "mcprt above bare SDK (median)",
         "node-peer above bare SDK (median)", "fastmcp above bare SDK (median)", "bare SDK server CPU/call",
         "mcprt CPU/call above bare", "node-peer CPU/call (own runtime)", "fastmcp CPU/call above bare"], own_rows))
    if (SDK_PATH, "http") in results:  # --ab-lean: the lean HTTP paths against the SDK's, same rounds
        mine, sdk_path = results[("mcprt", "http")], results[(SDK_PATH, "http")]
        section.extra_tables.append((
            ["pattern", "mcprt median overhead", "MCPRT_HTTP_LEAN=0 median overhead", "ratio",
             "mcprt CPU/call", "MCPRT_HTTP_LEAN=0 CPU/call", "ratio"],
            [[lean.name, ms(lean.med - base.med), ms(sdk.med - base.med),
              f"{(lean.med - base.med) / (sdk.med - base.med):.2f}" if sdk.med > base.med else "—",
              ms(lean.cpu_per_call), ms(sdk.cpu_per_call), f"{lean.cpu_per_call / sdk.cpu_per_call:.2f}"]
             for lean, sdk, base in zip(mine, sdk_path, floor)]))
        section.notes.append(f"{SDK_PATH}: the same mcprt with MCPRT_HTTP_LEAN=0 (requests through the SDK's own "
                             "HTTP paths), in the same interleaved rounds: the lean paths' share")
    section.notes.append("overhead = the server's figure minus the floor's for the same pattern; the floor's "
                         "N-in-flight rows are N workers with one httpx client each")
    section.notes.append("calls/s: sequential rows from the system's own summed call time; N-in-flight rows from "
                         "the wall time of its blocks")
    section.notes.append("sdk-bare (bench/sdk_bare.py) is the SDK's low-level Server with one httpx GET per call "
                         "and no validation, shaping or logging: the cost every server on this Python SDK pays "
                         "(mcprt and fastmcp); the Node peer runs on the TypeScript SDK")
    section.notes.append("server CPU per call: CPU time of the server process over the phase (from /proc) divided "
                         "by the calls it served, warm-up included; it moves little with load from elsewhere")
    section.notes.append("the Node peer over HTTP is driven by a hand-written client (SseReplySession): its "
                         "transport answers each POST with 202 and the result on the session's GET SSE stream, "
                         "which the SDK client refuses; that client does less work than the SDK client the "
                         "others are called with, so the Node peer's HTTP latencies include less client time")
    section.notes.append("memory per session: server RSS after 64 HTTP sessions (one call each) minus after 1, "
                         "over 63")
    if FAILURES:
        section.notes.append(f"{len(FAILURES)} call(s) failed and are left out of the figures; the first: "
                             f"{FAILURES[0]}")
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Call latency benchmark (part 2).")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mode", choices=("auto", "legacy"), default="auto",
                        help="SDK client mode: auto prefers 2026-07-28, legacy forces the handshake era")
    parser.add_argument("--era", choices=("2025-06-18", MODERN), default="2025-06-18",
                        help="with --client raw: the protocol version the light client speaks over HTTP")
    parser.add_argument("--client", choices=("sdk", "raw"), default="sdk",
                        help="HTTP: the SDK client (the Node peer always gets the raw one), or the light raw "
                             "client for every server, so client cost is the same for all")
    parser.add_argument("--ab-lean", action="store_true",
                        help=f"also run {SDK_PATH} (mcprt with MCPRT_HTTP_LEAN=0) over HTTP in the same rounds")
    parser.add_argument("--stdio-mode", choices=("auto", "legacy"), default="auto",
                        help="the SDK client's mode over stdio: auto prefers 2026-07-28, legacy the handshake era")
    parser.add_argument("--stdio-lean-off-too", action="store_true",
                        help=f"also measure {SDK_PATH} over stdio: mcprt with MCPRT_STDIO_LEAN=0")
    arguments = parser.parse_args()
    if arguments.ab_lean:
        HTTP_EXTRA.append(SDK_PATH)
    print(run(arguments.quick, arguments.mode, arguments.client, arguments.era, arguments.stdio_mode,
              arguments.stdio_lean_off_too).markdown())
