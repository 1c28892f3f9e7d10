"""Benchmark (not a test): hot-reload latency and lost calls while clients call without pause.

    /work/venv/bin/python bench/reload.py [--reloads N] [--only NAME[,NAME]]

For each scenario a real `mcprt up --transport http` serves a manifest; two SDK clients call a tool
continuously (through a local upstream on 127.0.0.1) while the manifest is saved N times. Latency is
save → `notifications/tools/list_changed` → a tools/list that shows the change, as a client that
refetches on the notification sees it. Scenarios:

- small: a 3-operation OpenAPI document; each save changes a tool description (source reused).
- github: GitHub's REST description (1,223 operations); each save changes a tool description.
- github-reopen: as github, but each save also changes the source's headers, so the source is
  reopened (compile cache warm: the first start filled it).

GitHub's description is read from bench/.cache/api.github.com.json (from the npm package
@octokit/openapi, generated/api.github.com.json; `npm pack @octokit/openapi` and extract it there).
Prints a table; the "server" column is the reload time the server logged (load + compile + swap).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from tests.support.upstream import serve_app  # noqa: E402

GITHUB_SPEC = ROOT / "bench" / ".cache" / "api.github.com.json"
BANNER_URL = re.compile(r" at (http://\S+) \(")
SERVER_MS = re.compile(r"reload applied .* ms=([0-9.]+)")
ZEN = "meta/get-zen"  # the operation both documents share; its tool is called and re-described

SMALL_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "small", "version": "1"},
    "paths": {
        "/zen": {"get": {"operationId": ZEN, "summary": "A koan.", "responses": {"200": {"description": "ok"}}}},
        "/items": {"get": {"operationId": "items/list", "summary": "List items.",
                           "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                           "responses": {"200": {"description": "ok"}}}},
        "/items/{id}": {"get": {"operationId": "items/get", "summary": "One item.",
                                "parameters": [{"name": "id", "in": "path", "required": True,
                                                "schema": {"type": "string"}}],
                                "responses": {"200": {"description": "ok"}}}},
    },
}


async def anything(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "ok": True, "padding": None})


@dataclass
class Scenario:
    name: str
    spec: Callable[[Path], str]  # writes/locates the document, returns the manifest's `openapi:` value
    reopen: bool = False

    def manifest(self, spec: str, upstream: str, version: str) -> str:
        headers = f"    headers: {{X-Bench: '{version}'}}\n" if self.reopen else ""
        # JSON responses: the SDK client refuses SSE events over 1 MiB, and GitHub's list is larger
        return (
            "version: 1\nserver: {http: {json_response: true}}\nsources:\n  api:\n"
            f"    openapi: {spec}\n    base_url: {upstream}\n{headers}"
            f"    tools:\n      {ZEN}: {{description: 'Zen {version}.'}}\n"
        )


def small_spec(folder: Path) -> str:
    (folder / "small.json").write_text(json.dumps(SMALL_SPEC))
    return "small.json"


def github_spec(_folder: Path) -> str:
    if not GITHUB_SPEC.is_file():
        raise SystemExit(f"missing {GITHUB_SPEC}: extract generated/api.github.com.json from @octokit/openapi there")
    return str(GITHUB_SPEC)


SCENARIOS = [
    Scenario("small", small_spec),
    Scenario("github", github_spec),
    Scenario("github-reopen", github_spec, reopen=True),
]


@dataclass
class Row:
    name: str
    tools: int = 0
    latencies: list[float] = field(default_factory=list)  # save → a tools/list showing the change
    notified: list[float] = field(default_factory=list)  # save → list_changed received
    listing: list[float] = field(default_factory=list)  # one tools/list round trip (client refetch)
    server_ms: list[float] = field(default_factory=list)
    calls: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    missed_notifications: int = 0
    rss_mb: float = 0.0
    hwm_mb: float = 0.0


class Served:
    """`mcprt up` in a subprocess; stderr is collected for the server-side reload times."""

    def __init__(self, manifest: Path, cache_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
        env.update(PYTHONUNBUFFERED="1", MCPRT_CACHE_DIR=str(cache_dir))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "http", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            cwd=manifest.parent,
        )
        self.lines: list[str] = []
        self.url = ""
        ready = threading.Event()

        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line)
                match = BANNER_URL.search(line)
                if match and not self.url:
                    self.url = match.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(120)
        if not self.url:
            raise SystemExit("mcprt up did not start:\n" + "".join(self.lines))

    def memory_mb(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
        return int(values.get("VmRSS", 0)) / 1024, int(values.get("VmHWM", 0)) / 1024

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Connected:
    """One SDK client (legacy protocol: list_changed arrives as a notification)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.notifications = 0

    async def handler(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.notifications += 1

    async def __aenter__(self) -> Client:
        self._http = create_mcp_http_client()
        http = await self._http.__aenter__()
        self._client = Client(streamable_http_client(self.url, http_client=http), mode="legacy",
                              message_handler=self.handler)
        return await self._client.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)
        await self._http.__aexit__(*exc)


async def wait_beyond(connected: Connected, count: int, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while connected.notifications <= count and time.perf_counter() < deadline:
        await asyncio.sleep(0.002)
    return connected.notifications > count


def zen_description(tools: list[types.Tool], name: str) -> str | None:
    return next((t.description for t in tools if t.name == name), None)


async def run(scenario: Scenario, reloads: int, upstream: str, cache_dir: Path) -> Row:
    row = Row(scenario.name)
    with tempfile.TemporaryDirectory(prefix=f"mcprt-reload-{scenario.name}-") as tmp:
        folder = Path(tmp)
        spec = scenario.spec(folder)
        manifest = folder / "mcp.yaml"
        manifest.write_text(scenario.manifest(spec, upstream, "start"))
        served = Served(manifest, cache_dir)
        stop_calls = asyncio.Event()
        try:
            watcher_conn = Connected(served.url)
            async with watcher_conn as watcher:
                tools = (await watcher.list_tools()).tools
                row.tools = len(tools)
                zen = next(t.name for t in tools if t.description == "Zen start.")

                async def caller() -> None:
                    async with Connected(served.url) as client:
                        while not stop_calls.is_set():
                            try:
                                result = await client.call_tool(zen, {})
                                if result.is_error:
                                    row.failed += 1
                                    row.problems.append(str(result.content)[:200])
                            except Exception as exc:
                                row.failed += 1
                                row.problems.append(repr(exc)[:200])
                            row.calls += 1

                callers = [asyncio.create_task(caller()) for _ in range(2)]
                for attempt in range(50):  # until the client's GET stream is up and hears a change
                    seen = watcher_conn.notifications
                    manifest.write_text(scenario.manifest(spec, upstream, f"prime{attempt}"))
                    if await wait_beyond(watcher_conn, seen, 2.0):
                        break
                await asyncio.sleep(0.3)
                server_lines_before = len(served.lines)
                for n in range(reloads):
                    version = f"v{n}"
                    seen = watcher_conn.notifications
                    started = time.perf_counter()
                    manifest.write_text(scenario.manifest(spec, upstream, version))
                    if await wait_beyond(watcher_conn, seen, 15.0):
                        row.notified.append(time.perf_counter() - started)
                    else:
                        row.missed_notifications += 1
                    while True:
                        asked = time.perf_counter()
                        tools = (await watcher.list_tools()).tools
                        row.listing.append(time.perf_counter() - asked)
                        if zen_description(tools, zen) == f"Zen {version}.":
                            break
                        await asyncio.sleep(0.01)
                    row.latencies.append(time.perf_counter() - started)
                stop_calls.set()
                await asyncio.gather(*callers)
                row.rss_mb, row.hwm_mb = served.memory_mb()
                row.server_ms = [float(m) for line in served.lines[server_lines_before:]
                                 if (m := _server_ms(line)) is not None]
        finally:
            stop_calls.set()
            served.stop()
    return row


def _server_ms(line: str) -> float | None:
    match = SERVER_MS.search(line)
    return float(match.group(1)) if match else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def table(rows: list[Row]) -> str:
    head = ("| scenario | tools | reloads | save→visible median | p95 | max | save→list_changed median | p95 "
            "| server reload median | tools/list round trip median | calls | failed calls | missed notifications "
            "| server RSS / peak |")
    lines = [head, "|" + " --- |" * 14]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.tools} | {len(r.latencies)} | {_ms(statistics.median(r.latencies))} "
            f"| {_ms(percentile(r.latencies, 0.95))} | {_ms(max(r.latencies))} "
            f"| {_ms(statistics.median(r.notified)) if r.notified else '-'} "
            f"| {_ms(percentile(r.notified, 0.95)) if r.notified else '-'} "
            f"| {statistics.median(r.server_ms) if r.server_ms else float('nan'):.0f} ms "
            f"| {_ms(statistics.median(r.listing))} | {r.calls} | {r.failed} "
            f"| {r.missed_notifications} | {r.rss_mb:.0f} / {r.hwm_mb:.0f} MB |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    wanted = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mcprt-reload-cache-") as cache, \
            serve_app(Starlette(routes=[Route("/{path:path}", anything)])) as upstream:
        for scenario in wanted:
            print(f"{scenario.name}: {args.reloads} reloads…", file=sys.stderr, flush=True)
            rows.append(await run(scenario, args.reloads, upstream, Path(cache)))
            if rows[-1].problems:
                print("  first failures:", *rows[-1].problems[:3], sep="\n    ", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
