"""CPU per upstream request of mcprt's HTTP executor as built (aiohttp, #22) against httpx tuned,
with 1, 16 and 64 requests in flight, against the local upstream.

Every client variant does what the executor needs from it per call: one GET of `/items/1` (~2 KB
of JSON) and the body read in full. Each variant uses one client (one pool) shared by all in-flight
requests, as a source does. The variants take turns in blocks (the starting variant rotating), so
load from elsewhere hits them alike; CPU is this process's own (`time.process_time`, the upstream
runs in a subprocess), on the event loop `mcprt up` runs (uvloop when installed). Wall-time
requests/s are printed too, but move with load.

  - mcprt executor: `HttpUpstream.send` of a BuiltRequest, everything a call does (headers, wire
    checks, redirects/retry bookkeeping, capped inflating reader, JSON parsing, meta), on aiohttp
  - aiohttp (mcprt's session): `outbound/transport.make_session` exactly (no cookies, no
    decompression, no timeouts of its own, pool 100), GET and read
  - httpx (tuned): a bare AsyncClient, pool sized to the in-flight count, keep-alive for all of
    them, no cookies, no env lookups (the best httpx found; mcprt's executor used httpx before)
  - aiohttp (bare): ClientSession with a TCPConnector(limit=in-flight), no cookies

    /work/venv/bin/python bench/http_clients.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

import httpx  # noqa: E402

from common import BENCH, free_port, log, machine_summary, stop_process, table, wait_for_port  # noqa: E402

LEVELS = (1, 16, 64)
PATH = "/items/1"
Get = Callable[[], Awaitable[object]]


async def mcprt_executor(stack: AsyncExitStack, base: str, level: int) -> Get:
    from mcprt.contracts import CallContext
    from mcprt.outbound import BuiltRequest, HttpUpstream

    upstream = HttpUpstream(source="bench", auth=None, headers={}, retries=0)
    stack.push_async_callback(upstream.aclose)
    request = BuiltRequest(method="GET", url=base + PATH, idempotent=True)
    ctx = CallContext(tool="bench", timeout=30, max_response_bytes=10_000_000)

    async def get() -> object:
        result = await upstream.send(request, ctx)
        if result.is_error:
            raise RuntimeError(f"upstream answered {result.status}")
        return result.body

    return get


async def aiohttp_mcprt(stack: AsyncExitStack, base: str, level: int) -> Get:
    from mcprt.outbound.transport import make_session

    session = await stack.enter_async_context(make_session(verify=True))
    url = base + PATH

    async def get() -> bytes:
        async with session.get(url) as response:
            response.raise_for_status()
            return await response.read()

    return get


async def httpx_tuned(stack: AsyncExitStack, base: str, level: int) -> Get:
    limits = httpx.Limits(max_connections=level, max_keepalive_connections=level, keepalive_expiry=30)
    client = await stack.enter_async_context(httpx.AsyncClient(limits=limits, trust_env=False, timeout=30))
    url = base + PATH

    async def get() -> bytes:
        response = await client.get(url)
        response.raise_for_status()
        return response.content

    return get


async def aiohttp_session(stack: AsyncExitStack, base: str, level: int) -> Get:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=level, keepalive_timeout=30)
    session = await stack.enter_async_context(aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
        timeout=aiohttp.ClientTimeout(total=30)))
    url = base + PATH

    async def get() -> bytes:
        async with session.get(url) as response:
            response.raise_for_status()
            return await response.read()

    return get


BASELINE = "httpx (tuned)"
VARIANTS = {"mcprt executor (aiohttp)": mcprt_executor, "aiohttp (mcprt's session)": aiohttp_mcprt,
            BASELINE: httpx_tuned, "aiohttp (bare)": aiohttp_session}


async def block(get: Get, level: int, per_worker: int) -> tuple[float, float, int]:
    """`level` workers, each `per_worker` GETs in a row: (CPU s, wall s, requests)."""
    await asyncio.gather(*(get() for _ in range(level)))  # warm: every pooled connection open

    async def worker() -> None:
        for _ in range(per_worker):
            await get()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level)))
    return time.process_time() - cpu, time.perf_counter() - wall, level * per_worker


async def measure(base: str, quick: bool) -> dict[tuple[str, int], tuple[float, float, int]]:
    total = 600 if quick else 2400
    blocks = 4 if quick else 8
    out: dict[tuple[str, int], tuple[float, float, int]] = {}
    for level in LEVELS:
        log(f"http_clients: {level} in flight")
        async with AsyncExitStack() as stack:
            gets = {name: await make(stack, base, level) for name, make in VARIANTS.items()}
            names = list(gets)
            per_worker = max(1, total // (level * blocks))
            for index in range(blocks):
                for name in names[index % len(names):] + names[:index % len(names)]:
                    cpu, wall, count = await block(gets[name], level, per_worker)
                    seen = out.get((name, level), (0.0, 0.0, 0))
                    out[(name, level)] = (seen[0] + cpu, seen[1] + wall, seen[2] + count)
    return out


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    summary = machine_summary()
    port = free_port()
    upstream = subprocess.Popen([sys.executable, str(BENCH / "upstream_app.py"), str(port)],
                                stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=upstream)
        factory = loop_factory()
        with asyncio.Runner(loop_factory=factory) as runner:
            results = runner.run(measure(f"http://127.0.0.1:{port}", quick))
    finally:
        stop_process(upstream)
    import aiohttp

    rows = []
    for level in LEVELS:
        base_cpu = results[(BASELINE, level)][0] / results[(BASELINE, level)][2]
        for name in VARIANTS:
            cpu, wall, count = results[(name, level)]
            rows.append([level, name, count, f"{cpu / count * 1e6:.0f}", f"{cpu / count / base_cpu:.2f}",
                         f"{count / wall:.0f}"])
    summary["event loop"] = "uvloop" if factory else "asyncio"
    summary["httpx / aiohttp"] = f"{httpx.__version__} / {aiohttp.__version__}"
    summary["load average at end"] = " / ".join(f"{v:.1f}" for v in __import__("os").getloadavg())
    print(table(["", ""], [[k, v] for k, v in summary.items()]))
    print()
    print(table(["in flight", "client", "requests", "client CPU per request (µs)", f"vs {BASELINE}",
                 "requests/s (wall)"], rows))


if __name__ == "__main__":
    main()
