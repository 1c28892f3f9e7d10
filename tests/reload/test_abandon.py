"""A reload can be abandoned (#13): a newer save supersedes a slow one, a reload over its time budget
(`MCPRT_RELOAD_TIMEOUT`) is given up, and an abandoned build leaves nothing behind — no half-applied
tool set, no proxied server process, no worker thread still burning CPU. While a slow `description`
template renders, the event loop stays free (`/healthz` and calls answer at once).

Everything runs against a real `mcprt up` subprocess with real file saves; the slow reloads come
from a description template looping for far longer than any test waits (only abandoning ends it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import anyio
import httpx
import pytest
from reload_served import UpProcess, child_env, eventually, http_client, mcprt_up_http, text_of

from tests.support.cli import mcprt_cli
from tests.support.components import alive
from tests.support.zygote import script_command

TOOLS = '''
def ping() -> str:
    """Answer pong."""
    return "pong"
'''
MARKER = '''
from pathlib import Path

Path(__file__).with_name("marker.started").write_text("imported")  # the build of this manifest begins


def pong() -> str:
    """Answer ping."""
    return "ping"
'''
# ~10 ms per outer step here (10,000 inner steps); 100,000 outer steps: far beyond any wait below.
FOREVER = "{% for i in range(100000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}Slow."
PID_SERVER = Path(__file__).parent / "fixtures" / "pid_server.py"
# An idle server uses ~0.01 s of CPU per second; a render still running after it was abandoned used
# 0.3 s per second even with the 2 cores at a load of 10 (and a whole core when they are free). The bound,
# 1/12 s of CPU per second, sits between the two; 1.5 s of window (150 clock ticks) tells them apart as
# well as the 3 s it was (the rate is what is compared, not the window).
IDLE_WINDOW = 1.5
IDLE_CPU = 0.125


def _project(tmp_path: Path) -> Path:
    (tmp_path / "tools.py").write_text(TOOLS)
    (tmp_path / "marker.py").write_text(MARKER)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(_manifest())
    return manifest


def _manifest(pong_description: str | None = None) -> str:
    """JSON (which is YAML): ping alone, or ping plus `pong` from marker.py with this description."""
    sources: dict = {"t": {"python": "tools:ping"}}
    if pong_description is not None:
        sources["m"] = {"python": "marker:pong", "tools": {"pong": {"description": pong_description}}}
    return json.dumps({"version": 1, "sources": sources})


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (from /proc, in seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cpu_used_over(pid: int, seconds: float) -> float:
    before = _cpu_seconds(pid)
    await anyio.sleep(seconds)
    return _cpu_seconds(pid) - before


async def _wait_for_file(path: Path, timeout: float = 60) -> None:
    with anyio.fail_after(timeout):
        while not path.exists():
            await anyio.sleep(0.02)


async def _wait_for_log(up, text: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while text not in up.log():
            await anyio.sleep(0.05)


def _status(up) -> dict:  # type: ignore[no-untyped-def]
    return httpx.get(f"{up.base}/status.json", timeout=10).json()["reload"]


def _metric(up, line_start: str) -> float:  # type: ignore[no-untyped-def]
    text = httpx.get(f"{up.base}/metrics", timeout=10).text
    return float(next(line for line in text.splitlines() if line.startswith(line_start)).split()[-1])



async def _save_fast_and_wait(manifest: Path, up: UpProcess) -> float:
    """Save the good manifest (description "Fast.") and wait until a client lists it; seconds it took."""
    saved = time.monotonic()
    manifest.write_text(_manifest("Fast."))
    async with http_client(up.url) as client:

        async def fast_listed() -> bool:
            tools = {t.name: t.description for t in (await client.list_tools()).tools}
            return tools.get("pong") == "Fast."

        await eventually(fast_listed, timeout=60, what="the later good save applied")
    return time.monotonic() - saved


async def test_a_slow_reload_is_superseded_by_a_later_good_save(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    env = child_env(MCPRT_TEMPLATE_TIMEOUT="600")  # the slow template may run: only superseding stops it
    calls = failures = 0
    problems: list[str] = []
    done = anyio.Event()

    async def caller(url: str) -> None:
        nonlocal calls, failures
        async with http_client(url) as client:
            while not done.is_set():
                try:
                    result = await client.call_tool("ping", {})
                    if result.is_error or text_of(result) != "pong":
                        failures += 1
                        problems.append(text_of(result))
                except Exception as exc:  # a transport or protocol error is a lost call too
                    failures += 1
                    problems.append(repr(exc))
                calls += 1
                await anyio.sleep(0.02)

    with mcprt_up_http(manifest, env=env) as up:
        async with anyio.create_task_group() as group:
            group.start_soon(caller, up.url)
            manifest.write_text(_manifest(FOREVER))
            await _wait_for_file(tmp_path / "marker.started")
            before = calls
            with anyio.fail_after(60):  # the description template is rendering now; calls go on
                while calls - before < 10:
                    await anyio.sleep(0.05)
            during_render = calls - before
            applied_after = await _save_fast_and_wait(manifest, up)
            async with http_client(up.url) as client:
                assert text_of(await client.call_tool("pong", {})) == "ping"
            done.set()
        idle_cpu = await _cpu_used_over(up.pid, IDLE_WINDOW)
        log = up.log()
        status = _status(up)
    assert "reload abandoned" in log and "superseded by a newer save" in log, log
    assert "Slow." not in log
    assert applied_after < 30, applied_after  # bound on a hang; the slow reload alone would take ~1,000 s
    assert idle_cpu < IDLE_CPU, f"{idle_cpu:.2f} s of CPU in {IDLE_WINDOW} s after the reload was abandoned"
    assert status["outcome"] == "applied" and status["abandoned"] == 1 and status["failures"] == 0, status
    assert failures == 0, problems[:5]
    assert during_render >= 10 and calls > during_render, (during_render, calls)


async def test_a_reload_over_its_time_budget_is_abandoned_and_the_old_tools_answer(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    env = child_env(MCPRT_TEMPLATE_TIMEOUT="600", MCPRT_RELOAD_TIMEOUT="2")
    with mcprt_up_http(manifest, env=env) as up:
        saved = time.monotonic()
        manifest.write_text(_manifest(FOREVER))
        await _wait_for_log(up, "reload abandoned")
        abandoned_after = time.monotonic() - saved
        line = next(line for line in up.log().splitlines() if "reload abandoned" in line)
        assert "the previous tools keep serving" in line and "ran longer than 2s (MCPRT_RELOAD_TIMEOUT)" in line, line
        async with http_client(up.url) as client:
            assert [t.name for t in (await client.list_tools()).tools] == ["ping"]  # nothing half-applied
            assert text_of(await client.call_tool("ping", {})) == "pong"
        idle_cpu = await _cpu_used_over(up.pid, IDLE_WINDOW)
        health = up.health()["manifest"]
        assert health["status"] == "abandoned" and health["abandoned"] == 1 and health["failures"] == 0, health
        status = _status(up)
        assert status["outcome"] == "abandoned" and status["ok"] is False and status["errors"] == [], status
        assert "MCPRT_RELOAD_TIMEOUT" in status["reason"]
        assert _metric(up, 'mcprt_reloads_total{result="abandoned"}') == 1
        assert _metric(up, 'mcprt_reloads_total{result="error"}') == 0
        page = httpx.get(f"{up.base}/status", timeout=10).text
        assert "abandoned at" in page and "1 abandoned" in page
        cli = mcprt_cli("status", up.base, env={"COLUMNS": "200"}, timeout=60)
        assert cli.returncode == 0 and "last reload abandoned (it ran longer than 2s" in cli.stdout, cli

        manifest.write_text(_manifest("Fast."))  # a good save after it applies as usual
        async with http_client(up.url) as client:

            async def applied() -> bool:
                return "pong" in [t.name for t in (await client.list_tools()).tools]

            await eventually(applied, timeout=60, what="the good save applied")
        assert up.health()["manifest"]["status"] == "ok"
    assert abandoned_after < 30, abandoned_after  # 2 s budget; bound generous for a loaded machine
    assert idle_cpu < IDLE_CPU, f"{idle_cpu:.2f} s of CPU in {IDLE_WINDOW} s after the reload was abandoned"


def _command_manifest(pids: Path, tag: str, *, start_delay: float = 0, description: str | None = None) -> str:
    source: dict = {
        "command": script_command(PID_SERVER),
        "env": {"TAG": tag, "PID_DIR": str(pids), "START_DELAY": str(start_delay)},
        "startup_timeout": "600s",
    }
    if description is not None:
        source["tools"] = {"tag": {"description": description}}
    # a short call timeout: the replaced v1 server is closed at the latest that long after the swap
    return json.dumps({"version": 1, "defaults": {"timeout": "3s"}, "sources": {"p": source}})


@pytest.mark.parametrize("slow", ["start", "description"])
async def test_no_proxied_server_of_an_abandoned_build_remains(tmp_path: Path, slow: str) -> None:
    """The abandoned build started its own proxied server (the command's env changed); whether it is
    abandoned while that server starts or while the tools are built, the process is stopped."""
    pids = tmp_path / "pids"
    pids.mkdir()
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(_command_manifest(pids, "v1"))
    env = child_env(MCPRT_TEMPLATE_TIMEOUT="600")
    with mcprt_up_http(manifest, env=env, startup_timeout=60) as up:
        v1 = int((pids / "v1.pid").read_text())
        if slow == "start":
            manifest.write_text(_command_manifest(pids, "v2", start_delay=600))
        else:
            manifest.write_text(_command_manifest(pids, "v2", description=FOREVER))
        await _wait_for_file(pids / "v2.pid")
        v2 = int((pids / "v2.pid").read_text())
        if slow == "description":  # listed and rendering by now (its pid is written as it starts, before serving)
            await anyio.sleep(1.0)
        # "start": v2 wrote its pid and then sleeps START_DELAY before serving, so the build is waiting on its start now
        manifest.write_text(_command_manifest(pids, "v3"))
        async with http_client(up.url) as client:

            async def v3_serving() -> bool:
                result = await client.call_tool("tag", {})
                return not result.is_error and text_of(result) == "v3"

            await eventually(v3_serving, timeout=60, what="the v3 server answering")
            v3 = int((pids / "v3.pid").read_text())
            deadline = time.monotonic() + 30
            while (alive(v2) or alive(v1)) and time.monotonic() < deadline:
                await anyio.sleep(0.1)  # v2 stops when abandoned; v1 once calls on the old set drained
            assert not alive(v2) and not alive(v1), (alive(v1), alive(v2), up.log())
            assert alive(v3)
            assert text_of(await client.call_tool("tag", {})) == "v3"
        log = up.log()
    assert "reload abandoned" in log and "superseded by a newer save" in log, log
    assert "v2" not in "".join(line for line in log.splitlines() if "reload applied" in line)


async def test_healthz_and_calls_answer_quickly_while_a_description_template_renders(tmp_path: Path) -> None:
    """The tool set is built in a worker thread: a slow (but within budget) description template no
    longer holds the event loop during a reload (it held it for the whole render: one probe waited
    seconds). The bound is 0.5 s on a quiet machine, plus twice what a probe took right before the
    reload on this one (on 2 shared cores under load an idle server's /healthz took up to 1 s), or a
    quarter of the render's time when that is more (a loaded machine's render is many times slower)."""
    manifest = _project(tmp_path)
    # ~2 s on a quiet core (more under load): over three times the bound below on a quiet machine (0.5 s +
    # twice a quiet probe), so a render holding the event loop still fails the test
    slow = "{% for i in range(2000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}Slow but fine."
    env = child_env(MCPRT_TEMPLATE_TIMEOUT="300")  # the budget only bounds a loaded machine

    with mcprt_up_http(manifest, env=env) as up:
        async with http_client(up.url) as client, httpx.AsyncClient(timeout=60) as http:

            async def probe() -> tuple[float, float]:
                began = time.monotonic()
                assert (await http.get(f"{up.base}/healthz")).status_code == 200
                health = time.monotonic() - began
                began = time.monotonic()
                assert text_of(await client.call_tool("ping", {})) == "pong"
                return health, time.monotonic() - began

            before = [await probe() for _ in range(10)]
            manifest.write_text(_manifest(slow))
            await _wait_for_file(tmp_path / "marker.started")
            started = time.monotonic()
            during: list[tuple[float, float]] = []
            while "reload applied" not in up.log() and time.monotonic() - started < 120:
                during.append(await probe())
                await anyio.sleep(0.05)
            rendering = time.monotonic() - started
            tools = {t.name: t.description for t in (await client.list_tools()).tools}
    assert tools.get("pong") == "Slow but fine.", tools
    # A render holding the event loop makes one probe wait for (nearly) the whole render, however loaded the
    # machine: a quarter of the render's time tells the two apart there too, and it grows with the load as the
    # render does (3 CPU hogs, load average 17 on the 2 cores: the render took 20-54 s, while a free loop's
    # probes, each waiting for the GIL the rendering thread holds, took up to twice their own "before" - one
    # spike past 0.5 s + twice a quiet probe failed a loaded run once). The quiet bound stays (a ~2 s render's quarter
    # is no looser).
    health_bound = max(0.5 + 2 * max(h for h, _ in before), rendering / 4)
    call_bound = max(0.5 + 2 * max(c for _, c in before), rendering / 4)
    assert max(h for h, _ in during) < health_bound, (sorted(h for h, _ in during)[-5:], health_bound)
    assert max(c for _, c in during) < call_bound, (sorted(c for _, c in during)[-5:], call_bound)
    assert rendering > 0.5 and len(during) >= 5, (rendering, len(during))  # the probes overlapped the render


class _Drip:
    """An HTTP server on 127.0.0.1 whose document never ends: one byte every 0.1 s until the reader
    hangs up (`closed` is set then) — a slow URL spec."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.closed = threading.Event()
        self.requests = 0
        drip = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection does

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                drip.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    drip.closed.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/openapi.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_reload_stuck_on_a_slow_url_spec_is_superseded_and_stops_downloading(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    drip = _Drip()
    try:
        env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
        with mcprt_up_http(manifest, env=env) as up:
            slow = {"version": 1, "sources": {"t": {"python": "tools:ping"},
                                              "api": {"openapi": drip.url, "base_url": "http://127.0.0.1:9"}}}
            manifest.write_text(json.dumps(slow))
            with anyio.fail_after(60):
                while drip.requests == 0:
                    await anyio.sleep(0.05)
            await anyio.sleep(0.5)  # downloading, one byte at a time
            applied_after = await _save_fast_and_wait(manifest, up)
            async with http_client(up.url) as client:
                assert text_of(await client.call_tool("ping", {})) == "pong"
            # the abandoned download hung up at its next chunk (it would otherwise read for 30 s)
            stopped = await anyio.to_thread.run_sync(drip.closed.wait, 10)
            log = up.log()
    finally:
        drip.close()
    assert stopped, "the abandoned reload kept downloading the slow document"
    assert applied_after < 20, applied_after  # the fetch alone may run 30 s: bound on a hang
    assert "reload abandoned" in log and "superseded by a newer save" in log, log
