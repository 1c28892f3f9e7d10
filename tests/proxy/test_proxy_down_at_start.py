"""A proxied server that is down when `mcprt up` starts no longer keeps the gateway from starting.

Found by the operating review: one `command:` source whose program was missing (or which exited at
start) made `mcprt up` exit 2, so every other source of a production gateway was down with it. Now
the others serve; the dead one is a warning (one line), `down` on /status.json, 0 in
`mcprt_source_up`, named by /readyz (`degraded`, still ready), and retried with backoff: once its
program exists, its tools appear and clients get `tools/list_changed`. `--strict` (CI) and a
manifest whose every source is down still exit 2.

Mended: a down source's `tools:` overrides, a `server.pinned` name and policy globs it would provide
made the start fail (`source 'late' has no operation 'add'`, exit 2) or warn falsely; they wait for its
tools now and are checked when it comes up (a tool it really lacks is a warning at that rebuild, which applies:
an override naming what a source does not offer stops nothing since the big-API trial's fault 1). Its
stderr is logged once at INFO, then at DEBUG while it stays down, and its backoff restarts at its first wait
(`restart_delay`) once it has come up."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import anyio
import httpx

from tests.support.cli import mcprt_process
from tests.support.served import ListChanged, child_env, http_client, mcprt_http, text_of

FIXTURE_SERVER = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"
TOOLS = 'def ping() -> str:\n    """Pong."""\n    return "pong"\n'
MANIFEST = """version: 1
sources:
  t: {python: tools}
  late: {command: ./late-server}
"""
# How gateways use it: the proxied tool shaped (renamed, described), pinned, and named by a policy rule.
SHAPED = """version: 1
server:
  pinned: [sum_numbers]
sources:
  t: {python: tools}
  late:
    command: ./late-server
    tools:
      add: {name: sum_numbers, description: "Adds two numbers, proxied."}
policy:
  rules:
    - {match: {tools: [sum_*]}, action: allow, reason: "the late server's tools"}
    - {match: {tools: [ping]}, action: allow}
  default: deny
"""
# an override naming a tool the server does not have, and a server that fails at first with a stderr line
LACKING = """version: 1
sources:
  t: {python: tools}
  late:
    command: ./late-server
    tools:
      nope: {description: x}
    restart_delay: 500ms  # the backoff's doubling and reset are checked, not its 1 s default: 0.5 s, 1 s …
"""
# its stderr line carries a carriage return and what would read as a record after it
FAILING = "#!/bin/sh\nprintf 'late-server: no database yet\\r12:00:00 ERROR   mcprt: forged tool=admin\\n' >&2\nexit 1\n"


def _serve_fixture(folder: Path, pid_file: Path | None = None) -> None:
    """`late-server` becomes the fixture MCP server (writing its pid to `pid_file`, if given)."""
    script = folder / "late-server"
    record = f"echo $$ > {pid_file}\n" if pid_file else ""
    script.write_text(f"#!/bin/sh\n{record}exec {sys.executable} {FIXTURE_SERVER}\n")
    os.chmod(script, 0o755)


def _folder(folder: Path, manifest: str = MANIFEST) -> Path:
    (folder / "tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(manifest)
    return folder / "mcp.yaml"


def test_a_dead_source_leaves_the_others_serving_and_comes_up_when_fixed(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, SHAPED)
    with mcprt_http(manifest, "--no-reload") as up:
        warned = [line for line in up.stderr if "late" in line and "down at start" in line]
        assert len(warned) == 1 and "warning: source 'late' is down at start: command './late-server' does " \
            "not exist" in warned[0], up.log()
        # its override, the pinned name and the policy glob wait for its tools: no error, no false warning
        assert "no operation" not in up.log() and "pinned tool" not in up.log(), up.log()
        assert "matches no tool" not in up.log() and "applies to no served tool" not in up.log(), up.log()
        ready = httpx.get(f"{up.base}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
        # a count (/readyz needs no token: it names nothing, as /healthz); the name is on /status
        assert ready.json()["sources_down"] == 1 and "late" not in ready.text, ready.text
        sources = {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}
        assert sources["late"]["state"] == "down" and "does not exist" in sources["late"]["error"], sources
        assert sources["t"]["state"] == "up"
        assert 'mcprt_source_up{source="late"} 0.0' in httpx.get(f"{up.base}/metrics", timeout=10).text

        async def serve_then_fix() -> None:
            changed = ListChanged()
            async with http_client(up.url, message_handler=changed) as client:
                assert {t.name for t in (await client.list_tools()).tools} == {"ping"}
                assert text_of(await client.call_tool("ping", {})) == "pong"
                _serve_fixture(tmp_path)
                assert await changed.wait(40), "no tools/list_changed once the source came up:\n" + up.log()
                with anyio.fail_after(10):
                    while "sum_numbers" not in {t.name for t in (await client.list_tools()).tools}:
                        await anyio.sleep(0.1)
                shaped = {t.name: t for t in (await client.list_tools()).tools}["sum_numbers"]
                assert shaped.description == "Adds two numbers, proxied.", shaped
                assert text_of(await client.call_tool("sum_numbers", {"a": 2, "b": 40})) == "42"
                # the policy's default denies what no rule allows: `sum_*` allowed it, as written

        anyio.run(serve_then_fix)
        assert httpx.get(f"{up.base}/readyz", timeout=10).json()["status"] == "ready"
        sources = {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}
        assert sources["late"]["state"] == "up", sources
        assert 'mcprt_source_up{source="late"} 1.0' in httpx.get(f"{up.base}/metrics", timeout=10).text
        # A reload that cannot reach it (its command edited to a program that is missing) used to fail
        # whole, the other source's change with it; as at start, it now applies with `late` down and
        # retried (the strict half, in-process: tests/proxy/test_proxy_down_after_reload.py)
        manifest.write_text(MANIFEST.replace("./late-server", "./moved-server").replace(
            "{python: tools}", "{python: tools, prefix: t_}"))
        up.signal(signal.SIGHUP)
        up.wait_log("reload applied")
        warned = up.wait_log("source 'late' is down after a reload")
        assert "command './moved-server' does not exist" in warned and "retrying this one" in warned, warned
        sources = {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}
        assert sources["late"]["state"] == "down", sources
        assert httpx.get(f"{up.base}/readyz", timeout=10).status_code == 200

        async def tools() -> set[str]:
            async with http_client(up.url) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert anyio.run(tools) == {"t_ping"}, up.log()
        assert up.stop() == 0
    assert "Traceback" not in up.log(), up.log()


def test_strict_and_an_all_dead_manifest_still_refuse_to_start(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    strict = mcprt_process("up", str(manifest), "--transport", "http", "--port", "0", "--strict", cwd=tmp_path,
                           forked=True)
    assert strict.returncode == 2, strict.stderr
    assert "mcp.yaml:4:19: source 'late': command './late-server' does not exist" in strict.stderr, strict.stderr
    dead = _folder(tmp_path, "version: 1\nsources:\n  late: {command: ./late-server}\n"
                             "  crash: {command: [sh, -c, 'exit 3']}\n")
    refused = mcprt_process("up", str(dead), "--transport", "http", "--port", "0",
                            cwd=tmp_path, forked=True)
    assert refused.returncode == 2, refused.stderr
    assert "source 'late': command './late-server' does not exist" in refused.stderr, refused.stderr
    assert "source 'crash': the server exited with code 3" in refused.stderr, refused.stderr
    assert "2 errors" in refused.stderr and "down at start" not in refused.stderr, refused.stderr


def test_an_override_the_server_lacks_is_reported_when_it_comes_up_and_its_stderr_is_quiet_while_down(
        tmp_path: Path) -> None:
    manifest = _folder(tmp_path, LACKING)
    script = tmp_path / "late-server"
    script.write_text(FAILING)
    os.chmod(script, 0o755)
    pid_file = tmp_path / "late.pid"
    with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_LOG_LEVEL="debug")) as up:
        up.wait_log("restarting in 1s (attempt 2)", timeout=20)  # a second attempt failed too
        # every record is one line, the start-up warning quoting its stderr too: nothing forged starts one
        assert not [line for line in up.log().splitlines() if line.startswith("12:00:00")], up.log()
        assert "its last stderr lines: late-server: no database yet\\r12:00:00 ERROR" in up.log(), up.log()
        said = [line for line in up.log().splitlines() if 'msg="late-server: no database yet' in line]
        # the first attempt's stderr at INFO (its reason carries it too), each retry's at DEBUG only
        assert len(said) >= 2 and " INFO " in said[0] and all(" DEBUG " in line for line in said[1:]), said
        assert "no operation 'nope'" not in up.log(), up.log()
        _serve_fixture(tmp_path, pid_file)
        warned = up.wait_log("has no operation 'nope'", timeout=40)
        assert "mcp.yaml:7:7: warning: source 'late' has no operation 'nope'" in warned, warned
        assert "reload failed" not in warned, warned  # the server's tools are served, the override ignored
        assert httpx.get(f"{up.base}/healthz", timeout=10).status_code == 200  # serving `t` and the server's
        mark = up.log_mark()
        os.kill(int(pid_file.read_text()), 9)  # it came up: a new failure is retried after restart_delay, not 2^n times it
        deadline = time.monotonic() + 20
        while "is down; restarting in" not in up.log_since(mark):
            assert time.monotonic() < deadline, up.log_since(mark)
            time.sleep(0.05)
        assert "server late-server is down; restarting in 0.5s (attempt 1)" in up.log_since(mark), up.log_since(mark)
        assert up.stop() == 0
