"""Profile mcprt's hot paths with py-spy (sampling, all threads) and print the top functions.

    /work/venv/bin/python bench/profile.py [--part compile|calls|stdio-100kb|http|all] [--seconds 15] [--top 30]
                                            [--tool get_item|get_item_history] [--era 2025-06-18|2026-07-28]

  - compile: `mcprt tools GITHUB_MANIFEST --json` with an empty compile cache (whole process)
  - calls: `mcprt up` over streamable HTTP and over stdio, sampled while a client makes sequential
    tools/call requests of the 2 KB item through the local upstream
  - stdio-100kb: `mcprt up` over stdio only, every call the 100 KB one
  - http: `mcprt up` over streamable HTTP only, driven by the light raw client of `calls.py` (the
    same as `calls.py --client raw`), sequential calls of one tool (`--tool`, default the 100 KB
    `get_item_history`) in one protocol era (`--era`)

Samples are taken only while a thread holds the GIL (`py-spy --gil`), so idle waiting is left out
and the shares are of the Python CPU time. Figures are inclusive
(the function or anything it called) and self (the function's own code). py-spy must be installed
(`/work/venv/bin/pip install py-spy`); it is a tool for this script, not a dependency of mcprt.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from calls import (LARGE, MODERN, SMALL, WORK as CALLS_WORK, ModernSession, SseReplySession,  # noqa: E402
                   child_pids, server_commands, upstream, write_inputs)
from common import CACHE, ensure_github_spec, free_port, log, mcprt_env, stop_process, wait_for_port  # noqa: E402
from compile import mcprt_command, write_manifest  # noqa: E402

WORK = CACHE / "profile"
_SITE = re.compile(r" \(/[^)]*?(site-packages|runtime|lib/python3\.\d+)/")
_LINE = re.compile(r":\d+\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: /work/venv/bin/pip install py-spy")
    return found


def summarize(raw: Path, top: int) -> str:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [_LINE.sub(")", _SITE.sub(" (", f)) for f in stack.split(";")]
        for frame in dict.fromkeys(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    if not total:
        return "(no samples)"
    lines = [f"{total} samples", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)
              if not f.startswith(("<module> (", "_find_and_load", "_load_unlocked", "_call_with_frames",
                                   "_LoaderBasics", "_gcd_import", "Thread.", "_WorkItem", "_worker ("))]
    lines.append("self:")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top // 2)]
    return "\n".join(lines)


def profile_compile(top: int) -> str:
    manifest = write_manifest(ensure_github_spec())
    cache_dir = WORK / "compile-cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    raw = WORK / "compile.raw"
    subprocess.run([py_spy(), "record", "--gil", "-r", "500", "-f", "raw", "-o", str(raw), "--",
                    *mcprt_command(), "tools", str(manifest), "--json"],
                   env=mcprt_env(MCPRT_CACHE_DIR=str(cache_dir)), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return "## cold `mcprt tools --json` on GitHub's description\n" + summarize(raw, top)


async def call_loop(client: Client, seconds: float, large_only: bool = False) -> int:
    calls = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await client.call_tool(LARGE if large_only or not calls % 10 else SMALL, {"id": 1})
        if result.is_error:
            raise RuntimeError(str(result.content))
        calls += 1
    return calls


def record(pid: int, seconds: float, raw: Path) -> subprocess.Popen:
    return subprocess.Popen([py_spy(), "record", "--gil", "-r", "500", "-f", "raw", "-o", str(raw), "--pid", str(pid),
                             "-d", str(int(seconds))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def http_server(spec: Path, manifest: Path, base_url: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`mcprt up` over streamable HTTP on a free port (its log in WORK): the process and its MCP URL."""
    port = free_port()
    cmd, env = server_commands("mcprt", spec, manifest, base_url, "http", port)
    process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(WORK / "mcprt-http.log", "wb"))
    try:
        wait_for_port(port, process=process)
        yield process, f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(process)


async def profile_calls_async(seconds: float, top: int, stdio_large: bool = False) -> str:
    out = []
    CALLS_WORK.mkdir(parents=True, exist_ok=True)
    with upstream() as base_url:
        spec, manifest = write_inputs(base_url)
        if stdio_large:
            return await profile_stdio(spec, manifest, base_url, seconds, top, large_only=True)
        with http_server(spec, manifest, base_url) as (process, url):
            async with Client(url) as client:
                await call_loop(client, 1)
                raw = WORK / "calls-http.raw"
                spy = record(process.pid, seconds, raw)
                calls = await call_loop(client, seconds)
                spy.wait()
            out.append(f"## `mcprt up` over streamable HTTP: {calls} sequential calls in {seconds:.0f} s "
                       f"(every 10th the 100 KB one)\n" + summarize(raw, top))
        out.append(await profile_stdio(spec, manifest, base_url, seconds, top))
    return "\n\n".join(out)


async def profile_stdio(spec: Path, manifest: Path, base_url: str, seconds: float, top: int,
                        large_only: bool = False) -> str:
    """`mcprt up` over stdio (the SDK client's default mode), sequential calls."""
    cmd, env = server_commands("mcprt", spec, manifest, base_url, "stdio")
    with open(WORK / "mcprt-stdio.log", "w") as errlog:
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
        before = set(child_pids())
        async with Client(stdio_client(params, errlog=errlog)) as client:
            started = [pid for pid in child_pids() if pid not in before]
            if not started:
                raise RuntimeError("could not find the stdio server's pid")
            pid = started[0]
            await call_loop(client, 1)
            raw = WORK / "calls-stdio.raw"
            spy = record(pid, seconds, raw)
            calls = await call_loop(client, seconds, large_only)
            spy.wait()
    what = "all the 100 KB one" if large_only else "every 10th the 100 KB one"
    return f"## `mcprt up` over stdio: {calls} sequential calls in {seconds:.0f} s ({what})\n" + summarize(raw, top)


async def profile_http_async(seconds: float, top: int, tool: str, era: str) -> str:
    """One tool over streamable HTTP in one era, driven by the raw client (no SDK client CPU in the way)."""
    from contextlib import AsyncExitStack

    CALLS_WORK.mkdir(parents=True, exist_ok=True)
    with upstream() as base_url:
        spec, manifest = write_inputs(base_url)
        with http_server(spec, manifest, base_url) as (process, url):
            async with AsyncExitStack() as stack:
                session = ModernSession(url) if era == MODERN else SseReplySession(url)
                await session.open(stack)
                call = session.call(tool)

                async def loop(duration: float) -> int:
                    calls, deadline = 0, time.monotonic() + duration
                    while time.monotonic() < deadline:
                        await call()
                        calls += 1
                    return calls

                await loop(1)
                raw = WORK / "calls-http-raw.raw"
                spy = record(process.pid, seconds, raw)
                calls = await loop(seconds)
                spy.wait()
    return (f"## `mcprt up` over streamable HTTP, {era}: {calls} sequential calls of {tool} in {seconds:.0f} s "
            f"(raw client)\n" + summarize(raw, top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["compile", "calls", "stdio-100kb", "http", "all"], default="all")
    parser.add_argument("--tool", choices=[SMALL, LARGE], default=LARGE, help="--part http: the tool to call")
    parser.add_argument("--era", choices=["2025-06-18", MODERN], default=MODERN, help="--part http: the era")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.part in ("compile", "all"):
        log("profile: cold compile")
        print(profile_compile(args.top), end="\n\n")
    if args.part in ("calls", "all"):
        log("profile: calls")
        print(anyio.run(profile_calls_async, args.seconds, args.top))
    if args.part == "stdio-100kb":
        log("profile: stdio, 100 KB calls")
        print(anyio.run(profile_calls_async, args.seconds, args.top, True))
    if args.part == "http":
        log(f"profile: HTTP calls of {args.tool}, {args.era}")
        print(anyio.run(profile_http_async, args.seconds, args.top, args.tool, args.era))


if __name__ == "__main__":
    main()
