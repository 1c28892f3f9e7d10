"""Readiness, graceful drain and the shared state's failure modes, on single real `mcprt up` processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import anyio
import httpx

from tests.replicas.test_replicas import TOOLS

MANIFEST = """\
version: 1
server:
  name: lifecycle-test
  http: {{drain_timeout: 15s}}
sources:
  tools:
    python: replica_tools
{extra}"""
from tests.support.components import free_port, haproxy, redis_server
from tests.support.served import UpProcess, child_env, http_client, launch_command, mcprt_http


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "replica_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(extra=""))
    return manifest


def _start_refused(manifest: Path, url: str, wait: str = "60") -> tuple[subprocess.CompletedProcess[str], float]:
    """`mcprt up` over HTTP with the shared state at `url` (MCPRT_STATE_WAIT=`wait` s), run to its exit, and how many
    seconds it took. `launch_command`: the real `python -m mcprt up` forked warm (its ~1.5 s of imports done)."""
    started = time.monotonic()
    done = subprocess.run(launch_command(manifest, "--transport", "http", "--port", "0"),
                          env=child_env(MCPRT_STATE_URL=url, MCPRT_STATE_WAIT=wait),
                          capture_output=True, text=True, timeout=90, cwd=manifest.parent)
    return done, time.monotonic() - started


def test_redis_unavailable_at_start_is_a_clear_error(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    port = free_port()  # nothing listens there
    done, _ = _start_refused(manifest, f"redis://:hunter2@127.0.0.1:{port}/0", wait="1")
    assert done.returncode == 2, done.stderr
    assert f"cannot reach the shared state at redis://***@127.0.0.1:{port}/0" in done.stderr
    assert "shared state not reached yet; waiting for it" in done.stderr  # retried, then gave up
    assert "Waited 1 s for it (MCPRT_STATE_WAIT)" in done.stderr, done.stderr
    assert ".. Start Redis" not in done.stderr and ". Start Redis" in done.stderr  # redis-py's own period, and ours
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_redis_refusing_the_credentials_exits_2_at_once_naming_the_setting(tmp_path: Path) -> None:
    """The fleet trial: a wrong Redis password was "shared state not reached yet; waiting for it … Start Redis"
    for the whole MCPRT_STATE_WAIT (60 s: a pod unready a minute before each crash), and a missing one gave Redis's
    raw `HELLO must be called with the client already authenticated, …`. Both are permanent: exit 2 at once."""
    manifest = _folder(tmp_path)
    with redis_server(tmp_path, password="right-pass-0123") as redis:
        for url, expected in [
            (f"redis://:Wrong-pass-9876@127.0.0.1:{redis.port}/0",
             f"the shared state at redis://***@127.0.0.1:{redis.port}/0 refused the credentials in MCPRT_STATE_URL "
             "(or `server.state`): invalid username-password pair or user is disabled. Fix the password (and user) "
             "in the URL (redis://:PASSWORD@HOST:PORT/DB, or redis://USER:PASSWORD@… for an ACL user)."),
            (f"redis://127.0.0.1:{redis.port}/0",
             f"the shared state at redis://127.0.0.1:{redis.port}/0 requires a password, and MCPRT_STATE_URL (or "
             "`server.state`) gives none: put it in the URL (redis://:PASSWORD@HOST:PORT/DB, or "
             "redis://USER:PASSWORD@… for an ACL user)."),
        ]:
            done, took = _start_refused(manifest, url)
            assert done.returncode == 2, done.stderr
            assert expected in done.stderr, done.stderr
            assert took < 30, took  # not the 60 s wait (the start itself takes a few seconds on a busy machine)
            assert "waiting for it" not in done.stderr and "Start Redis" not in done.stderr, done.stderr
            assert "HELLO" not in done.stderr and "Traceback" not in done.stderr, done.stderr
            assert "Wrong-pass-9876" not in done.stderr + done.stdout


def test_an_acl_user_denied_a_command_exits_2_at_once_naming_the_setting(tmp_path: Path) -> None:
    """The review of fleetfix: only the first PING was checked, so an ACL user allowed PING (and HELLO/AUTH) but not
    mcprt's keys and commands, or allowed reads only, waited out MCPRT_STATE_WAIT after logging "shared state
    connected", then said "try again shortly". `check_rights` tries each kind of command at start: exit 2 at once."""
    import redis as redis_py

    manifest = _folder(tmp_path)
    with redis_server(tmp_path, password="admin-pass-0123") as redis:
        admin = redis_py.Redis(port=redis.port, password="admin-pass-0123")
        admin.execute_command("ACL", "SETUSER", "limited", "on", ">lim-pass-4567", "+ping", "+hello", "+auth",
                              "~mcprt:*", "&mcprt:*")
        admin.execute_command("ACL", "SETUSER", "getonly", "on", ">get-pass-4567", "+@read", "+ping", "+hello",
                              "+auth", "+subscribe", "+unsubscribe", "~*", "&*")
        admin.close()
        for user in ("limited", "getonly"):
            url = f"redis://{user}:{user[:3]}-pass-4567@127.0.0.1:{redis.port}/0"
            done, took = _start_refused(manifest, url)
            assert done.returncode == 2, (user, done.stderr)
            assert (f"the shared state at redis://***@127.0.0.1:{redis.port}/0 refused a command to the user "
                    "MCPRT_STATE_URL names") in done.stderr, (user, done.stderr)
            assert took < 30, (user, took)  # not the 60 s wait
            assert "waiting for it" not in done.stderr and "try again shortly" not in done.stderr, done.stderr
            assert "shared state connected" not in done.stderr and "Traceback" not in done.stderr, done.stderr
            assert "pass-4567" not in done.stderr + done.stdout


async def test_a_replica_started_before_redis_waits_for_it_visibly_then_serves(tmp_path: Path) -> None:
    """`mcprt up` exited 2 at once when Redis did not answer yet: pods started before Redis crash-looped
    under Kubernetes' back-off and `/readyz`'s "shared state not reached yet" could never be seen. It now
    waits (MCPRT_STATE_WAIT): /healthz 200, /readyz 503 with that status, MCP requests 503 retry-safe;
    then serves once a real Redis, started late, answers."""
    manifest = _folder(tmp_path)
    redis_port, port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "http", "--port", str(port)],
        env=child_env(MCPRT_STATE_URL=f"redis://127.0.0.1:{redis_port}/0"), cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "no /healthz while waiting for Redis"
            await anyio.sleep(0.1)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["status"] == "shared state not reached yet", ready.text
        assert ready.headers.get("connection") == "close", ready.headers
        refused = httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 7, "method": "ping"}, timeout=5)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1", refused.text
        assert refused.json()["error"]["data"] == {"reason": "starting", "retrySafe": True}, refused.text
        assert refused.json()["id"] == 7, refused.text  # the fleet trial got `"id": null`: the id was readable
        assert refused.headers.get("connection") == "close", refused.headers  # unready: the client reconnects
        batch = httpx.post(f"{base}/mcp", json=[{"jsonrpc": "2.0", "id": "a", "method": "ping"},
                                                {"jsonrpc": "2.0", "id": "b", "method": "ping"}], timeout=5)
        assert [answer["id"] for answer in batch.json()] == ["a", "b"], batch.text
        unreadable = httpx.post(f"{base}/mcp", content=b"{not json", timeout=5)
        assert unreadable.status_code == 503 and unreadable.json()["id"] is None, unreadable.text
        with redis_server(tmp_path, redis_port):
            deadline = time.monotonic() + 60
            while (answer := httpx.get(f"{base}/readyz", timeout=5)).status_code != 200:
                assert process.poll() is None and time.monotonic() < deadline, answer.text
                await anyio.sleep(0.1)
            assert answer.json()["status"] == "ready", answer.text
            async with http_client(f"{base}/mcp") as client:
                assert (await client.list_tools()).tools
                # streamed (SSE) answers: the waiting server's stop once ended every SSE stream of the
                # process (sse-starlette's process-wide exit flag), so this raised "SSE stream ended"
                notes: list[float] = []
                with anyio.fail_after(30):
                    result = await client.call_tool("slow", {"seconds": 0.2},
                                                    progress_callback=lambda p, t, m: _noted(notes, p))
                assert not result.is_error and result.structured_content["slept"] == 0.2, result
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


async def _noted(notes: list[float], progress: float) -> None:  # a progress token: the answer comes as SSE
    notes.append(progress)


def test_a_stop_signal_while_waiting_for_redis_stops_at_once_and_says_so(tmp_path: Path) -> None:
    """SIGTERM while Redis was awaited ended the process silently with the default action (-15): the
    handlers came after the wait. Now it logs "stopping" and exits 143 (SIGINT: 130) at once, over HTTP
    (its port closed) and over stdio (where the stop was held until the whole wait had passed)."""
    manifest = _folder(tmp_path)
    port = free_port()
    env = child_env(MCPRT_STATE_URL=f"redis://127.0.0.1:{free_port()}/0")
    logs = {name: tmp_path / f"{name}.log" for name in ("http", "stdio")}
    with logs["http"].open("w") as http_log, logs["stdio"].open("w") as stdio_log:
        over_http = subprocess.Popen(
            [sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "http", "--port", str(port)],
            env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=http_log)
        over_stdio = subprocess.Popen(  # a request the early phase does not answer: the SDK, then the wait
            [sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "stdio"],
            env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stdio_log)
    try:
        assert over_stdio.stdin is not None
        over_stdio.stdin.write(b'{"jsonrpc": "2.0", "id": 1, "method": "resources/list"}\n')
        over_stdio.stdin.flush()
        for process, name, signum, code in ((over_http, "http", signal.SIGTERM, 143),
                                            (over_stdio, "stdio", signal.SIGINT, 130)):
            deadline = time.monotonic() + 60
            while "waiting for it" not in logs[name].read_text():
                assert process.poll() is None and time.monotonic() < deadline, logs[name].read_text()
                time.sleep(0.05)
            process.send_signal(signum)
            assert process.wait(10) == code, (name, logs[name].read_text())
            said = logs[name].read_text()
            assert f"stopping signal={signum.name}" in said and "Traceback" not in said, said
    finally:
        for process in (over_http, over_stdio):
            process.kill()
            process.wait(10)
    with socket.socket() as probe:  # the port is released
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_readyz_reports_a_lost_state_backend_as_degraded_and_calls_without_state_keep_working(
        tmp_path: Path) -> None:
    # Was: 503 while Redis was down. Redis is shared by every replica, so a balancer checking /readyz
    # took them all out of rotation at once (an operator trial: 29 of 80 calls failed, "No server is
    # available"). Once reached, an outage is reported, not failed on.
    manifest = _folder(tmp_path)
    with redis_server(tmp_path) as redis:
        with mcprt_http(manifest, env=child_env(MCPRT_STATE_URL=redis.url)) as up:
            ready = httpx.get(f"{up.base}/readyz", timeout=5)
            assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["state"] == "ok"
            async with http_client(up.url, mode="auto") as client:
                redis.process.kill()
                redis.process.wait(10)
                deadline = time.monotonic() + 30
                while (answer := httpx.get(f"{up.base}/readyz", timeout=5)).json()["status"] != "degraded":
                    assert answer.status_code == 200, answer.text
                    assert time.monotonic() < deadline, "/readyz must report the lost state backend"
                    await anyio.sleep(0.2)
                assert answer.status_code == 200
                assert answer.json()["state"].startswith("unreachable since 20"), answer.json()
                assert "\nmcprt_state_up 0.0\n" in httpx.get(f"{up.base}/metrics", timeout=5).text
                result = await client.call_tool("whoami", {})  # needs no shared state
                assert not result.is_error
            assert httpx.get(f"{up.base}/healthz", timeout=5).status_code == 200  # still alive
            with redis_server(tmp_path, port=redis.port):
                deadline = time.monotonic() + 30
                while (answer := httpx.get(f"{up.base}/readyz", timeout=5)).json()["status"] != "ready":
                    assert time.monotonic() < deadline, f"/readyz must report the recovery: {answer.text}"
                    await anyio.sleep(0.2)
                assert answer.status_code == 200 and answer.json()["state"] == "ok"
                assert "\nmcprt_state_up 1.0\n" in httpx.get(f"{up.base}/metrics", timeout=5).text


async def test_a_redis_outage_keeps_every_replica_in_the_balancer(tmp_path: Path) -> None:
    # An operator trial: Redis stopped under replicas behind the shipped HAProxy config (health check
    # GET /readyz) -> every replica left the rotation together and calls that need no shared state
    # failed with "No server is available".
    manifest = _folder(tmp_path)
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path))
        env = child_env(MCPRT_STATE_URL=redis.url)
        replicas = [stack.enter_context(mcprt_http(manifest, env=env, startup_timeout=60)) for _ in range(2)]
        balancer = stack.enter_context(haproxy(tmp_path, [int(r.base.rsplit(":", 1)[1]) for r in replicas]))
        pids = {r.pid for r in replicas}
        async with http_client(balancer.url(), mode="legacy") as client:
            # The session reaches (and is adopted by) both replicas while Redis is up.
            assert {_pid(await client.call_tool("whoami", {})) for _ in range(4)} == pids
            redis.process.kill()
            redis.process.wait(10)
            for replica in replicas:
                await _wait_for_readyz(replica.base, "degraded")
            seen = []
            for _ in range(12):  # spread over several health-check intervals (300 ms, fall 2)
                seen.append(_pid(await client.call_tool("whoami", {})))
                await anyio.sleep(0.25)
            assert set(seen) == pids, "both replicas stay in rotation"
            through = httpx.get(balancer.url("/readyz"), timeout=5)
            assert through.status_code == 200 and through.json()["status"] == "degraded", through.text
        async with http_client(balancer.url(), mode="auto") as fresh:  # 2026-07-28: no session to share
            assert {_pid(await fresh.call_tool("whoami", {})) for _ in range(4)} == pids
        with redis_server(tmp_path, port=redis.port):
            for replica in replicas:
                await _wait_for_readyz(replica.base, "ready")


async def _wait_for_readyz(base: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (answer := httpx.get(f"{base}/readyz", timeout=5)).json()["status"] != status:
        assert answer.status_code == 200, answer.text
        assert time.monotonic() < deadline, f"/readyz never said {status!r}: {answer.text}"
        await anyio.sleep(0.2)
    assert answer.status_code == 200


def _pid(result) -> int:  # type: ignore[no-untyped-def]
    assert not result.is_error, result.content
    return int((result.structured_content or json.loads(result.content[0].text))["pid"])


def _rate_limited_folder(tmp_path: Path) -> Path:
    """`_folder` with `whoami` rate limited: every call of it takes from a bucket in Redis."""
    manifest = _folder(tmp_path)
    manifest.write_text(MANIFEST.format(extra="") + "policy:\n  rate_limits:\n"
                        "    - {match: {tools: [whoami]}, per: global, limit: 100/min}\n")
    return manifest


async def test_calls_that_need_shared_state_fail_fast_while_others_keep_working(tmp_path: Path) -> None:
    manifest = _rate_limited_folder(tmp_path)
    with redis_server(tmp_path) as redis:
        with mcprt_http(manifest, env=child_env(MCPRT_STATE_URL=redis.url)) as up:
            async with http_client(up.url, mode="legacy") as client:
                assert not (await client.call_tool("whoami", {})).is_error
                redis.process.kill()
                redis.process.wait(10)
                started = time.monotonic()
                limited = await client.call_tool("whoami", {})  # needs its bucket in Redis
                elapsed = time.monotonic() - started
                assert limited.is_error
                assert "shared state (Redis) is unavailable" in limited.content[0].text
                assert elapsed < 10, "fails fast (bounded retries), never hangs"
                free = await client.call_tool("slow", {"seconds": 0})  # no rate limit: no shared state
                assert not free.is_error, free.content
            assert "Traceback" not in up.log()


async def test_a_full_redis_is_named_as_such_in_the_error_a_call_gets(tmp_path: Path) -> None:
    # An operator trial filled Redis to `maxmemory` (noeviction): a rate-limited call's tool error read
    # "shared state (Redis) is unavailable: command not allowed when used memory > 'maxmemory'. script:
    # 64daa86d…, on @user_script:19.; try again shortly" - a Lua script hash and line for the model.
    manifest = _rate_limited_folder(tmp_path)
    with redis_server(tmp_path) as redis:
        with mcprt_http(manifest, env=child_env(MCPRT_STATE_URL=redis.url)) as up:
            async with http_client(up.url, mode="auto") as client:
                assert not (await client.call_tool("whoami", {})).is_error
                redis.cli("CONFIG", "SET", "maxmemory", "1")  # below what it already uses: every write refused
                refused = await client.call_tool("whoami", {})
                redis.cli("CONFIG", "SET", "maxmemory", "0")
                assert not (await client.call_tool("whoami", {})).is_error, "works again at once"
    assert refused.is_error
    text = refused.content[0].text
    assert "Redis is full (maxmemory reached" in text and "script" not in text, text


async def test_a_redis_refusing_writes_degrades_readyz_and_the_metrics_say_so(tmp_path: Path) -> None:
    """The fleet trial filled Redis (`maxmemory` + `noeviction`): sessions were not shared (404 on another replica)
    while /readyz said `"state":"ok"` and `mcprt_state_up` stayed 1, so the README's alert never fired. A refused
    write is a state problem the signals show: /readyz degraded with the reason, `mcprt_state_writable` 0,
    /status.json `state.writable` false; all back once Redis takes writes again. /status.json also says which
    replica answered and what it holds (calls in flight, tasks), for an operator about to stop it."""
    manifest = _folder(tmp_path)
    with redis_server(tmp_path) as redis:
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_DATA_LOSS_CHECK_INTERVAL="0.3")
        with mcprt_http(manifest, env=env) as up:
            base = up.base
            assert httpx.get(f"{base}/readyz", timeout=5).json()["state"] == "ok"
            status = httpx.get(f"{base}/status.json", timeout=5).json()
            assert status["state"] == {"up": True, "writable": True, "detail": "ok"}, status["state"]
            server = status["server"]
            assert server["instance"]["pid"] == up.pid and server["instance"]["hostname"] == socket.gethostname()
            assert server["instance"]["replica"] and server["draining"] is False
            async with http_client(up.url) as client:
                call = asyncio.ensure_future(client.call_tool("slow", {"seconds": 3}))
                deadline = time.monotonic() + 10
                while httpx.get(f"{base}/status.json", timeout=5).json()["server"]["requests_in_flight"] < 1:
                    assert time.monotonic() < deadline, "the call in flight never showed"
                    await anyio.sleep(0.05)
                assert "mcprt_requests_in_flight 1.0" in httpx.get(f"{base}/metrics", timeout=5).text
                assert not (await call).is_error
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            assert "mcprt_tasks_running 0.0" in metrics and "mcprt_state_writable 1.0" in metrics
            redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
            redis.cli("CONFIG", "SET", "maxmemory", "1")  # below what it already uses: every write refused
            try:
                deadline = time.monotonic() + 15
                while (ready := httpx.get(f"{base}/readyz", timeout=5)).json()["state"] == "ok":
                    assert time.monotonic() < deadline, ready.text
                    await anyio.sleep(0.1)
                assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
                state = ready.json()["state"]
                assert state.startswith("writes refused since ") and "Redis is full (maxmemory reached" in state, state
                metrics = httpx.get(f"{base}/metrics", timeout=5).text
                assert "mcprt_state_writable 0.0" in metrics and "mcprt_state_up 1.0" in metrics, metrics
                status = httpx.get(f"{base}/status.json", timeout=5).json()
                assert status["state"]["writable"] is False and status["state"]["detail"] == state
            finally:
                redis.cli("CONFIG", "SET", "maxmemory", "0")
            deadline = time.monotonic() + 15
            while (ready := httpx.get(f"{base}/readyz", timeout=5)).json()["state"] != "ok":
                assert time.monotonic() < deadline, ready.text
                await anyio.sleep(0.1)
            assert "mcprt_state_writable 1.0" in httpx.get(f"{base}/metrics", timeout=5).text
    log = up.log()
    assert log.count("shared state refuses writes") == 1 and log.count("shared state takes writes again") == 1, log


async def test_a_redis_outage_is_logged_once_when_lost_and_once_when_back(tmp_path: Path) -> None:
    # A new-user trial stopped Redis for 8 s under three replicas: each logged "shared state events
    # lost" and "policy state refresh failed" every retry (about ten lines), and nothing at all when
    # Redis came back, so the log could not say whether the replica had recovered.
    # An operator trial (three replicas, Redis down or full under traffic): every handshake-era
    # session opened and every unknown session id looked up logged its own warning ("session not
    # shared", "session lookup failed": a line per client request), and nothing when it worked again.
    manifest = _folder(tmp_path)
    with redis_server(tmp_path) as redis:
        # The policy state refreshes every 0.25 s (not 2 s), so the wait below sees many of its retries.
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_POLICY_REFRESH_INTERVAL="0.25")
        with mcprt_http(manifest, env=env) as up:
            redis.process.kill()
            redis.process.wait(10)
            await _wait_for_log(up, "policy state refresh failed", "shared state events lost")
            await _open_sessions_and_look_up_others(up, 3)  # none can be shared or looked up now
            # Several retries of both loops: the refresh ten times, the events' reconnect (backoff 0.1 s
            # doubling) at least four times.
            await anyio.sleep(2.5)
            with redis_server(tmp_path, port=redis.port):
                await _wait_for_log(up, "policy state refresh works again", "shared state events restored")
                await _open_sessions_and_look_up_others(up, 2)
                log = up.log()
    assert log.count("shared state events lost") == 1, log
    assert log.count("policy state refresh failed") == 1, log
    assert log.count("shared state events restored") == 1 and log.count("refresh works again") == 1, log
    assert log.count("sessions not shared") == 1 and log.count("sessions are shared again") == 1, log
    assert log.count("session lookups failed") == 1 and log.count("session lookups work again") == 1, log


async def _open_sessions_and_look_up_others(up: UpProcess, count: int) -> None:
    """`count` handshake-era sessions opened here (each writes its record), and `count` requests for
    a session id another replica might have opened (each reads a record: none, so 404)."""
    for _ in range(count):
        async with http_client(up.url, mode="legacy") as client:
            assert not (await client.call_tool("whoami", {})).is_error  # served here, shared or not
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    async with httpx.AsyncClient(timeout=10) as http:
        for n in range(count):
            answer = await http.post(up.url, headers={**headers, "Mcp-Session-Id": f"{n:032x}"},
                                     json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert answer.status_code == 404, answer.text


async def _wait_for_log(up: UpProcess, *needles: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(n in up.log() for n in needles):
        assert time.monotonic() < deadline, f"never logged {needles}:\n{up.log()}"
        await anyio.sleep(0.1)


async def test_a_draining_replica_serves_once_on_a_kept_alive_connection_and_closes_it(tmp_path: Path) -> None:
    """The fleet trial's rolling restart behind an L4 balancer (HAProxy `mode tcp`, as a Kubernetes Service):
    clients kept their connections to the terminating replica, so their next call was refused there ("mcprt is
    shutting down … a load balancer retries it", which none did): 5 of 250 calls failed. A request on a connection
    the replica had when the drain began is now served, once, with `Connection: close`, as is every answer while
    draining, so the client's next request opens a new connection, which the balancer routes to a ready replica
    (bench/rolling_restart.py measures the drill). A new connection's new work is still refused."""
    manifest = _folder(tmp_path)
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    accept = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

    def whoami(request_id: int) -> dict[str, object]:
        return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "whoami",
                                                                                       "arguments": {}}}

    with mcprt_http(manifest) as up:
        async with httpx.AsyncClient(timeout=30) as kept, httpx.AsyncClient(timeout=30) as busy:
            opened = await kept.post(up.url, json=initialize, headers=accept)
            assert opened.headers.get("connection") != "close", opened.headers
            session = {**accept, "mcp-session-id": opened.headers["mcp-session-id"],
                       "mcp-protocol-version": "2025-06-18"}
            await kept.post(up.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            call = asyncio.ensure_future(busy.post(up.url, headers=session, json={
                "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"seconds": 2.0}}}))
            await anyio.sleep(0.5)  # the call is in flight: the drain lasts
            up.signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while httpx.get(f"{up.base}/readyz", timeout=5).status_code != 503:
                assert time.monotonic() < deadline
                await anyio.sleep(0.05)
            served = await kept.post(up.url, json=whoami(3), headers=session)  # on the connection it already had
            assert served.status_code == 200 and '"pid"' in served.text, served.text
            assert served.headers.get("connection") == "close", served.headers
            again = await kept.post(up.url, json=whoami(4), headers=session)  # a new connection: refused
            assert again.status_code == 503 and again.json()["id"] == 4, again.text
            message = again.json()["error"]["message"]
            assert "sending it again is safe" in message and "a load balancer retries it" not in message, message
            answered = await call
            assert answered.status_code == 200 and '"slept":2.0' in answered.text, answered.text
            assert answered.headers.get("connection") == "close", answered.headers  # the client reconnects


async def test_a_kept_alive_connection_late_in_the_drain_is_refused_not_started(tmp_path: Path) -> None:
    """The review of fleetfix: a kept connection's request was served however late in the drain it came -- a
    `charge(seconds=8)` sent 3 s into an 8 s drain ran, and the deadline cut it after its tool had acted ("may or may
    not have acted"). It is served only during the first half of `drain_timeout` (`KEPT_SHARE`); later it is
    refused as not started (503, `Connection: close`, safe to send again), and nothing runs."""
    from mcprt.server.lifecycle import KEPT_SHARE

    manifest = tmp_path / "mcp.yaml"
    (tmp_path / "replica_tools.py").write_text(TOOLS)
    manifest.write_text(MANIFEST.format(extra="").replace("drain_timeout: 15s", "drain_timeout: 4s"))
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    accept = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    with mcprt_http(manifest) as up:
        async with httpx.AsyncClient(timeout=30) as kept, httpx.AsyncClient(timeout=30) as busy:
            opened = await kept.post(up.url, json=initialize, headers=accept)
            session = {**accept, "mcp-session-id": opened.headers["mcp-session-id"],
                       "mcp-protocol-version": "2025-06-18"}
            await kept.post(up.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            call = asyncio.ensure_future(busy.post(up.url, headers=session, json={  # keeps the replica draining
                "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"seconds": 3.5}}}))
            await anyio.sleep(0.3)
            up.signal(signal.SIGTERM)
            signalled = time.monotonic()
            while httpx.get(f"{up.base}/readyz", timeout=5).status_code != 503:
                assert time.monotonic() < signalled + 10
                await anyio.sleep(0.05)
            await anyio.sleep(max(0.0, signalled + 4.0 * KEPT_SHARE + 0.4 - time.monotonic()))  # past the share
            late = await kept.post(up.url, headers=session, json={  # on the connection it had at SIGTERM
                "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "slow", "arguments": {
                    "seconds": 3.0}}})
            assert late.status_code == 503 and late.json()["id"] == 3, late.text
            assert late.headers.get("connection") == "close", late.headers
            assert "was not started" in late.json()["error"]["message"], late.text
            answered = await call
            assert answered.status_code == 200 and '"slept":3.5' in answered.text, answered.text


async def test_sigterm_drains_calls_in_flight_and_refuses_new_ones(tmp_path: Path) -> None:
    """SIGTERM: readiness false at once, new requests 503, the call in flight finishes, and the
    replica stays (answering 503) while requests keep coming, as they do from a balancer that has
    not marked it down yet. It exited as soon as its calls were done: under a balancer that still
    sent it requests, a request on a keep-alive connection it closed at that instant came back to
    the client as `Server disconnected without sending a response` (about one SIGTERM in three in
    test_deploy_files' HAProxy trial); here the requests after the call met a closed port.
    Each refusal is a JSON-RPC error by the request's id (each of a batch by its own, null when the
    body is no request), `data.reason` "shutting_down": it was `{"error": "this replica is shutting
    down; retry on another"}`, the one refusal on the MCP endpoint not in JSON-RPC shape."""
    from mcprt.server.lifecycle import DRAIN_QUIET

    # what the "balancer" sends in turn, and the ids its refusal must carry
    bodies: list[tuple[bytes, object]] = [
        (b'{"jsonrpc": "2.0", "id": 9, "method": "ping"}', 9),
        (b'{"jsonrpc": "2.0", "id": "call-7", "method": "tools/call", "params": {"name": "whoami"}}', "call-7"),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": "b", "method": "ping"}]', [1, "b"]),
        (b'{"jsonrpc": "2.0", "method": "notifications/initialized"}', None),
        (b'{"not json', None),
    ]

    manifest = _folder(tmp_path)
    with mcprt_http(manifest) as up:
        async with http_client(up.url, mode="legacy") as client:
            await client.list_tools()
            outcome: dict[str, object] = {}
            refusals: list[object] = []  # what the "balancer's" requests got after SIGTERM
            answered: list[tuple[object, object]] = []  # (ids sent, the refusal's JSON-RPC body)

            async def slow_call() -> None:
                outcome["result"] = await client.call_tool("slow", {"seconds": 2.0})

            async def balancer(http: httpx.AsyncClient) -> None:
                """Requests every 50 ms (one keep-alive client, as a proxy's pool) until 1 s after the
                call in flight was answered, and at least 21 of them (a loaded machine sends fewer per
                second: the count is what the test needs, not the rate)."""
                until = float("inf")
                turn = 0
                while time.monotonic() < until or turn <= 20:
                    body, ids = bodies[turn % len(bodies)]
                    turn += 1
                    try:
                        answer = await http.post(up.url, content=body, headers={
                            "Accept": "application/json, text/event-stream", "Content-Type": "application/json"})
                        refusals.append((answer.status_code, answer.headers.get("retry-after"),
                                         answer.headers.get("connection"), answer.headers.get("content-type")))
                        answered.append((ids, answer.json()))
                    except httpx.HTTPError as error:
                        refusals.append(type(error).__name__)
                    if "result" in outcome and until == float("inf"):
                        until = time.monotonic() + 1.0
                    await anyio.sleep(0.05)

            async with httpx.AsyncClient(timeout=5) as http, anyio.create_task_group() as group:
                group.start_soon(slow_call)
                await anyio.sleep(0.5)  # the call is in flight
                up.signal(signal.SIGTERM)
                deadline = time.monotonic() + 5
                while True:  # readiness turns false at once, before the call finishes
                    answer = httpx.get(f"{up.base}/readyz", timeout=5)
                    if answer.status_code == 503:
                        break
                    assert time.monotonic() < deadline
                    await anyio.sleep(0.05)
                assert answer.json()["status"] == "draining"
                group.start_soon(balancer, http)
            result = outcome["result"]
            assert not result.is_error, result  # type: ignore[attr-defined]
        # every request after SIGTERM was refused with an answer (retry elsewhere), none met a
        # closed port or connection, also in the second after the last call was done
        assert len(refusals) > 20 and set(refusals) == {(503, "1", "close", "application/json")}, refusals
        for ids, message in answered:
            each = message if isinstance(ids, list) else [message]
            assert [m["id"] for m in each] == (ids if isinstance(ids, list) else [ids]), message
            for refused in each:
                assert refused["jsonrpc"] == "2.0" and refused["error"]["code"] == -32603, refused
                assert refused["error"]["data"] == {"reason": "shutting_down", "retrySafe": True}, refused
                assert "shutting down" in refused["error"]["message"], refused
        assert {json.dumps(ids) for ids, _ in answered} == {json.dumps(ids) for _, ids in bodies}  # each kind met
        stopped_sending = time.monotonic()
        assert up.process.wait(20) == 0
        # then it leaves promptly: DRAIN_QUIET after the last request, not at the end of the 15 s drain_timeout
        # (SIGTERM came over 2.5 s before `stopped_sending`). The margin past DRAIN_QUIET is the exit itself (the
        # server's and the interpreter's teardown), which took over 3 s on a loaded 2-core CI machine.
        assert time.monotonic() - stopped_sending < DRAIN_QUIET + 7
        deadline = time.monotonic() + 5  # its stderr is read by a thread: the last lines may lag the exit
        while "mcprt: drained refused=" not in up.log() and time.monotonic() < deadline:
            await anyio.sleep(0.02)
        assert "draining" in up.log() and "mcprt: drained refused=" in up.log(), up.log()


async def test_a_server_no_health_check_asked_stops_once_its_calls_are_done(tmp_path: Path) -> None:
    """The wait for a balancer to stop sending (above) is for a health-checked rotation: a lone `mcprt up`
    whose `/readyz` nobody asked stops as soon as its requests are done. It waited `DRAIN_QUIET` after
    its last request (the whole `drain_timeout` for a client polling every 0.3 s) before exiting."""
    manifest = _folder(tmp_path)
    with mcprt_http(manifest) as up:
        async with http_client(up.url, mode="legacy") as client:
            await client.list_tools()
        up.signal(signal.SIGTERM)
        assert up.process.wait(20) == 0
    assert "drained refused=" not in up.log(), up.log()  # the balancer wait logs this line when it ran


def _configmap_swap(folder: Path, version: str, text: str) -> None:
    """What the kubelet does when a ConfigMap changes: a new timestamped folder, `..data` re-pointed
    at it by an atomic rename of a temporary link, the old folder removed. `mcp.yaml` itself is a
    link to `..data/mcp.yaml` and is never touched."""
    new = folder / f"..{version}"
    new.mkdir()
    (new / "mcp.yaml").write_text(text)
    (new / "replica_tools.py").write_text(TOOLS)
    (new / "replica_more.py").write_text('__all__ = ["extra"]\n\ndef extra() -> str:\n    return "more"\n')
    old = (folder / "..data").resolve() if (folder / "..data").exists() else None
    tmp_link = folder / "..data_tmp"
    tmp_link.symlink_to(new.name)
    tmp_link.replace(folder / "..data")
    for name in ("mcp.yaml", "replica_tools.py", "replica_more.py"):
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(f"..data/{name}")
    if old is not None:
        import shutil

        shutil.rmtree(old)


async def test_a_configmap_update_is_hot_reloaded(tmp_path: Path) -> None:
    from tests.replicas.test_replicas import EXTRA_TOOL
    from tests.support.served import ListChanged

    folder = tmp_path / "config"
    folder.mkdir()
    _configmap_swap(folder, "2026_11_29_10_00_00.1", MANIFEST.format(extra=""))
    with mcprt_http(folder / "mcp.yaml") as up:
        seen = ListChanged()
        async with http_client(up.url, mode="legacy", message_handler=seen) as client:
            assert "extra" not in {t.name for t in (await client.list_tools()).tools}
            await anyio.sleep(0.5)
            _configmap_swap(folder, "2026_11_29_10_05_00.2", MANIFEST.format(extra=EXTRA_TOOL))
            assert await seen.wait_beyond(0, 30), "the symlink swap was not noticed:\n" + up.log()
            assert "extra" in {t.name for t in (await client.list_tools()).tools}


SKEWED_CLOCK = '''\
import time

_real = time.time
time.time = lambda: _real() - 900  # this host's clock is 15 min behind
'''


async def test_approvals_agree_across_replicas_whose_clocks_disagree(tmp_path: Path) -> None:
    # An operator check: approvals were timed by each replica's own clock. A request opened on a
    # replica 15 min behind (valid_for 10 min) had already expired for the others: `mcprt approvals
    # list` through them did not show it, approving through them answered "no open approval
    # request", and their identical calls opened a second request. Times now come from Redis.
    from tests.replicas.test_replicas import ALICE, BOT, MANIFEST, TOKENS

    (tmp_path / "replica_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(extra=""))
    skew = tmp_path / "skew"
    skew.mkdir()
    (skew / "sitecustomize.py").write_text(SKEWED_CLOCK)
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path))
        env = child_env(MCPRT_STATE_URL=redis.url, **TOKENS)
        behind = stack.enter_context(mcprt_http(manifest, env={**env, "PYTHONPATH": str(skew)}, startup_timeout=60))
        on_time = stack.enter_context(mcprt_http(manifest, env=env, startup_timeout=60))

        def admin(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "mcprt", "approvals", *args, "--url", on_time.url,
                                   "--token", ALICE], capture_output=True, text=True, timeout=60, env=child_env())
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        outcome: dict[str, object] = {}

        async def waiting_call() -> None:
            async with http_client(behind.url, mode="auto", token=BOT) as client:
                outcome["result"] = await client.call_tool("refund", {"amount": 5100})

        async with anyio.create_task_group() as group:
            group.start_soon(waiting_call)
            with anyio.fail_after(15):
                while not (pending := json.loads(await anyio.to_thread.run_sync(admin, "list", "--json"))):
                    await anyio.sleep(0.3)
            await anyio.to_thread.run_sync(admin, "approve", pending[0]["id"])
        result = outcome["result"]
        assert not result.is_error, result.content  # type: ignore[attr-defined]
        assert json.loads(result.content[0].text)["refunded"] == 5100  # type: ignore[attr-defined]


def _refusal_of_an_unfinished_body(host: str, port: int) -> tuple[bytes, float]:
    """A POST to the MCP endpoint whose body stops after 10 of its 100 bytes (a slow sender):
    (what came back within 2 s, seconds until the first byte of it)."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n"
                     + b'{"jsonrpc": "2.0", "id": 42, "method": "ping"}'[:10])
        started = time.monotonic()
        sock.settimeout(2)
        got, first = b"", 0.0
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                first = first or time.monotonic() - started
                got += chunk
        return got, first


async def test_a_slowly_sent_body_is_refused_at_once_while_draining(tmp_path: Path) -> None:
    """The draining refusal read the whole body for the request's id: a body trickled at 1 byte per
    0.1 s was answered only when complete, with uvicorn's 500 once the replica stopped (3.4 s for 100
    bytes), not at once with 503 + Retry-After. The body is read for at most 0.2 s; then `id: null`."""
    manifest = _folder(tmp_path)
    with mcprt_http(manifest) as up:
        host, port = up.base.removeprefix("http://").split(":")
        httpx.get(f"{up.base}/readyz")  # a balancer's health check asked: the replica waits while refusing
        async with http_client(up.url, mode="legacy") as client:
            await client.list_tools()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(client.call_tool, "slow", {"seconds": 2.0})  # keeps it draining
                await anyio.sleep(0.5)
                up.signal(signal.SIGTERM)
                await anyio.sleep(0.3)
                got, first = await anyio.to_thread.run_sync(_refusal_of_an_unfinished_body, host, int(port))
        assert got.startswith(b"HTTP/1.1 503 "), got[:300]
        assert b"retry-after: 1" in got.lower() and 0 < first < 1, (got[:300], first)
        refusal = json.loads(got.partition(b"\r\n\r\n")[2])
        assert refusal["id"] is None and refusal["error"]["data"]["reason"] == "shutting_down", refusal
        assert up.process.wait(20) == 0
