"""Part 2: latency of tools/call → local upstream → result, mcprt vs the peer, above the floor.

The floor is a direct httpx GET of the same upstream route from this process (parse included).
mcprt runs as `mcprt up MANIFEST --no-reload` and the peer as FastMCP.from_openapi on the same
OpenAPI description (bench/peer/serve.py, in its own venv); both in a subprocess, both with their
default settings, logs to a file. The client is the MCP SDK's `Client` (the same for both).

All five ways to call (floor, mcprt and peer over HTTP and stdio) run at the same time and take
turns, so load from elsewhere on the machine hits them alike. Patterns, each after a warm-up:
  - sequential: one client, N calls one after another (one call of each system per round, the
    starting system rotating)
  - concurrent: 16 clients at once (HTTP: 16 sessions; stdio: 16 requests in flight on the one
    session a stdio server has), in 4 blocks per system, alternating between systems
Each call fetches `get_item` (~2 KB of JSON); one more sequential row uses `get_item_history`
(~100 KB). Overhead = median (or p99) of the server minus the floor's for the same pattern.
Goal: mcprt's overhead ≤ half the peer's.

    /work/venv/bin/python bench/calls.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from common import (BENCH, CACHE, ensure_peer, free_port, log, mcprt_env, median, percentile, stop_process,
                    wait_for_port)
from compile import mcprt_command
from report import Goal, Section
from upstream_app import openapi_spec

WORK = CACHE / "calls"
SERVERS = ("sdk-bare", "mcprt", "peer")  # sdk-bare: bench/sdk_bare.py, the SDK's own per-call cost
CONCURRENCY = 16
SMALL, LARGE = "get_item", "get_item_history"

Call = Callable[[], Awaitable[object]]


@dataclass
class Pattern:
    name: str
    latencies: list[float]  # seconds per call
    wall: float
    server_cpu: float = 0.0  # CPU seconds the server process used for these calls

    @property
    def med(self) -> float:
        return median(self.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall


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
    return mcprt_env(MCPRT_CACHE_DIR=str(WORK / "mcprt-cache"))


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
    if system == "mcprt":
        cmd = [*mcprt_command(), "up", str(manifest), "--transport", transport, "--no-reload"]
        if transport == "http":
            cmd += ["--port", str(port)]
        return cmd, mcprt_server_env()
    cmd = [str(ensure_peer()), str(BENCH / "peer" / "serve.py"), str(spec), base_url, transport]
    if transport == "http":
        cmd.append(str(port))
    return cmd, mcprt_env()


@asynccontextmanager
async def stdio_client_for(cmd: list[str], env: dict[str, str] | None, log_name: str) -> AsyncIterator[Client]:
    with open(WORK / log_name, "w") as errlog:
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


# --- measuring --------------------------------------------------------------------------------------


async def timed(call: Call, latencies: list[float]) -> None:
    start = time.perf_counter()
    await call()
    latencies.append(time.perf_counter() - start)


async def concurrent(name: str, calls: list[Call], per_client: int) -> Pattern:
    """Each of `calls` is one client's call; all clients run at once."""
    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(call)
    latencies: list[float] = []

    async def client_loop(call: Call) -> None:
        for _ in range(per_client):
            await timed(call, latencies)

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(client_loop, call)
    return Pattern(name, latencies, time.perf_counter() - start)


def tool_call(client: Client, tool: str) -> Call:
    async def call() -> object:
        result = await client.call_tool(tool, {"id": 1})
        if result.is_error:
            raise RuntimeError(f"{tool} returned an error: {result.content}")
        return result

    return call


async def check_tools(client: Client, system: str) -> None:
    names = {tool.name for tool in (await client.list_tools()).tools}
    missing = {SMALL, LARGE} - names
    if missing:
        raise RuntimeError(f"{system} does not list {sorted(missing)} (it lists {sorted(names)})")


@dataclass
class System:
    """One way to make the call: its 2 KB call, its 100 KB call, and one 2 KB call per concurrent client."""

    system: str
    transport: str
    small: Call
    large: Call
    clients: list[Call]
    concurrent_name: str
    pid: int | None = None  # the server process, for its CPU time


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


def rotated(items: list[System], index: int) -> list[System]:
    """Each round starts with a different system, so none always runs first (or last)."""
    shift = index % len(items)
    return items[shift:] + items[:shift]


def floor_system(client: httpx.AsyncClient) -> System:
    def get(path: str) -> Call:
        async def call() -> object:
            response = await client.get(path)
            response.raise_for_status()
            return response.json()
        return call

    return System("floor", "direct httpx", get("/items/1"), get("/items/1/history"),
                  [get("/items/1") for _ in range(CONCURRENCY)], f"{CONCURRENCY} concurrent 2 KB")


async def open_systems(stack: AsyncExitStack, base_url: str, spec: Path, manifest: Path) -> list[System]:
    floor = floor_system(await stack.enter_async_context(httpx.AsyncClient(base_url=base_url)))
    systems = [floor]
    for system in SERVERS:
        port = free_port()
        cmd, env = server_commands(system, spec, manifest, base_url, "http", port)
        log(f"calls: starting {system} over streamable HTTP")
        url, pid = stack.enter_context(http_server(cmd, port, env, f"{system}-http.log"))
        clients = [await stack.enter_async_context(Client(url)) for _ in range(CONCURRENCY)]
        await check_tools(clients[0], system)
        systems.append(System(system, "http", tool_call(clients[0], SMALL), tool_call(clients[0], LARGE),
                              [tool_call(c, SMALL) for c in clients], f"{CONCURRENCY} concurrent 2 KB", pid))
    for system in SERVERS:
        cmd, env = server_commands(system, spec, manifest, base_url, "stdio")
        log(f"calls: starting {system} over stdio")
        before = set(child_pids())
        client = await stack.enter_async_context(stdio_client_for(cmd, env, f"{system}-stdio.log"))
        started = [pid for pid in child_pids() if pid not in before]
        await check_tools(client, system)
        systems.append(System(system, "stdio", tool_call(client, SMALL), tool_call(client, LARGE),
                              [tool_call(client, SMALL) for _ in range(CONCURRENCY)],
                              f"{CONCURRENCY} in flight on one session, 2 KB", started[0] if started else None))
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


async def interleaved_concurrent(systems: list[System], per_client: int, blocks: int
                                 ) -> dict[int, tuple[list[float], float]]:
    """Blocks of concurrent calls, alternating between systems; wall time summed per system."""
    out: dict[int, tuple[list[float], float]] = {id(s): ([], 0.0) for s in systems}
    per_block = max(1, per_client // blocks)
    for block in range(blocks):
        for system in rotated(systems, block):
            pattern = await concurrent(system.concurrent_name, system.clients, per_block)
            latencies, wall = out[id(system)]
            latencies.extend(pattern.latencies)
            out[id(system)] = (latencies, wall + pattern.wall)
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


async def measure_all(quick: bool) -> dict[tuple[str, str], list[Pattern]]:
    count = 100 if quick else 300
    per_client = 8 if quick else 20
    results: dict[tuple[str, str], list[Pattern]] = {}
    with upstream() as base_url:
        spec, manifest = write_inputs(base_url)
        async with AsyncExitStack() as stack:
            systems = await open_systems(stack, base_url, spec, manifest)
            cpu = CpuMeter(systems)
            log("calls: sequential 2 KB, interleaved")
            start = time.perf_counter()
            small = await interleaved_sequential(systems, lambda s: s.small, count)
            small_wall = time.perf_counter() - start
            small_cpu = cpu.lap()
            log("calls: concurrent, interleaved blocks")
            many = await interleaved_concurrent(systems, per_client, 4)
            many_cpu = cpu.lap()
            log("calls: sequential 100 KB, interleaved")
            start = time.perf_counter()
            large = await interleaved_sequential(systems, lambda s: s.large, max(count // 3, 30))
            large_wall = time.perf_counter() - start
            large_cpu = cpu.lap()
            for system in systems:
                key = id(system)
                # sequential rows: calls/s from the system's own call time (the rounds interleave)
                results[(system.system, system.transport)] = [
                    Pattern("sequential 2 KB", small[key], sum(small[key]), small_cpu[key]),
                    Pattern(system.concurrent_name, many[key][0], many[key][1], many_cpu[key]),
                    Pattern("sequential 100 KB", large[key], sum(large[key]), large_cpu[key]),
                ]
            log(f"calls: sequential rounds took {small_wall:.0f} s and {large_wall:.0f} s")
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def served(pattern: Pattern, index: int) -> int:
    """Calls the server handled in the pattern's phase: measured ones plus the warm-up."""
    warmup = 4 * CONCURRENCY if index == 1 else min(20, len(pattern.latencies))
    return len(pattern.latencies) + warmup


def run(quick: bool = False) -> Section:
    WORK.mkdir(parents=True, exist_ok=True)
    results = anyio.run(measure_all, quick)
    floor = results[("floor", "direct httpx")]
    section = Section(
        title="2. tools/call latency through a local upstream (ms)",
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
                "—" if system == "floor" else ms(pattern.server_cpu / served(pattern, index)),
            ])
    own_rows: list[list[object]] = []
    own_goals: list[Goal] = []
    for transport in ("http", "stdio"):
        mine, peer, bare = results[("mcprt", transport)], results[("peer", transport)], results[("sdk-bare", transport)]
        for index in range(len(floor)):
            m_over = mine[index].med - floor[index].med
            p_over = peer[index].med - floor[index].med
            ratio = m_over / p_over if p_over > 0 else float("inf")
            section.goals.append(Goal(
                f"{transport} {mine[index].name}: median overhead vs peer",
                f"{ms(m_over)} vs {ms(p_over)} ms = {ratio:.2f}", "≤ 0.5", ratio <= 0.5))
            m_cpu = mine[index].server_cpu / served(mine[index], index)
            p_cpu = peer[index].server_cpu / served(peer[index], index)
            b_cpu = bare[index].server_cpu / served(bare[index], index)
            m_own = mine[index].med - bare[index].med
            p_own = peer[index].med - bare[index].med
            own_ratio = m_own / p_own if p_own > 0 else float("nan")
            own_goals.append(Goal(
                f"{transport} {mine[index].name}: own median overhead (above the bare SDK server) vs peer",
                f"{ms(m_own)} vs {ms(p_own)} ms = {own_ratio:.2f}", "≤ 0.5 (informative)",
                None if p_own <= 0 else own_ratio <= 0.5))
            own_rows.append([
                transport, mine[index].name, ms(bare[index].med - floor[index].med),
                ms(mine[index].med - bare[index].med), ms(peer[index].med - bare[index].med),
                ms(b_cpu), ms(m_cpu - b_cpu), ms(p_cpu - b_cpu),
            ])
    section.extra_tables.append((
        ["transport", "pattern", "bare SDK server above floor (median)", "mcprt above bare SDK (median)",
         "peer above bare SDK (median)", "bare SDK server CPU/call", "mcprt CPU/call above bare",
         "peer CPU/call above bare"], own_rows))
    section.goals.extend(own_goals)
    section.notes.append("overhead = the server's figure minus the floor's for the same pattern; the floor's "
                         "concurrent row is 16 tasks sharing one httpx client")
    section.notes.append("sdk-bare (bench/sdk_bare.py) is the SDK's low-level Server with one httpx GET per call "
                         "and no validation, shaping or logging: the cost every SDK-based server pays; mcprt and "
                         "the peer both run on this SDK (mcp 2.3.0), so only what is above it is their own")
    section.notes.append("server CPU per call: CPU time of the server process over the phase (from /proc) divided "
                         "by the calls it served, warm-up included; it moves little with load from elsewhere")
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Call latency benchmark (part 2).")
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick).markdown())
