"""The suite's zygote (tests/support/zygote.py) starts `mcprt up` as a fresh interpreter would: these
check what a fork could get wrong — arguments, environment, working directory and `sys.path[0]`,
standard streams, signals and exit status, and a launcher killed with -9 taking its server with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import zygote
from tests.support.components import alive
from tests.support.served import child_env, launch_command, mcprt_http, up_command

PROBE = '''
import json, os, sys, signal
def probe() -> str:
    """What the process sees."""
    return json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "path0": sys.path[0], "env": os.environ.get("PROBE"),
                       "sigterm": str(signal.getsignal(signal.SIGTERM)), "pid": os.getpid(),
                       "unbuffered": os.environ.get("PYTHONUNBUFFERED")})
'''


def _manifest(folder: Path) -> Path:
    (folder / "probe.py").write_text(PROBE)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  p:\n    python: probe:probe\n")
    return manifest


def test_a_launched_server_sees_what_a_fresh_one_sees(tmp_path: Path) -> None:
    assert zygote.socket_path() is not None, "the zygote did not start"
    manifest = _manifest(tmp_path)
    seen = []
    for launched in (True, False):
        command = launch_command(manifest, "--transport", "stdio", "--no-reload") if launched else \
            up_command(manifest, "--transport", "stdio", "--no-reload")
        assert zygote.launched(command) is launched
        request = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "probe", "arguments": {}}}]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=tmp_path, env=child_env(PROBE="value"))
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(json.dumps(m) + "\n" for m in request))
        process.stdin.flush()
        answer: dict = {}
        while answer.get("id") != 2:  # stdin stays open until the call is answered (EOF ends the session)
            line = process.stdout.readline()
            assert line, process.communicate(timeout=30)[1]
            answer = json.loads(line)
        process.stdin.close()
        assert process.wait(30) == 0
        seen.append(json.loads(answer["result"]["content"][0]["text"]))
    launched_view, fresh_view = seen
    assert launched_view.pop("pid") != fresh_view.pop("pid")
    assert launched_view == fresh_view
    assert fresh_view["cwd"] == str(tmp_path) and fresh_view["env"] == "value"


def test_signals_reach_the_server_and_its_status_is_the_launchers(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    with mcprt_http(manifest, "--no-reload") as up:
        assert up.pid != up.process.pid  # launched through the zygote
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(20) == 0  # a drained stop exits 0, as `mcprt up` does
    with mcprt_http(manifest, "--no-reload") as up:
        server = up.pid
        up.process.kill()  # -9 of the launcher: the server goes with it, as a killed server would be gone
        assert up.process.wait(10) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while alive(server):
            assert time.monotonic() < deadline, "the server outlived its killed launcher"
            time.sleep(0.02)


def test_a_start_only_python_variable_starts_a_fresh_interpreter(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    with mcprt_http(manifest, "--no-reload", env=child_env(PYTHONDEVMODE="1")) as up:
        assert up.pid == up.process.pid  # `exec`ed: the launcher became the server
        assert "python" in Path(f"/proc/{up.pid}/exe").resolve().name


def test_the_launcher_imports_only_the_standard_library() -> None:
    done = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", "-c",
                           f"import runpy, sys; sys.argv = ['x', '/nonexistent', '-m', 'mcprt', '--version']; "
                           f"runpy.run_path({str(zygote.LAUNCHER)!r})"],
                          capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": ""})
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert not {m for m in imported if m.split(".")[0] in ("mcprt", "mcp", "pydantic", "tests")}, imported


# A fixture server's stand-in: what it sees, then its stdin to EOF (as a stdio server reads it), then
# its exit code. With `spawn` it first starts a grandchild, with `stubborn` it ignores SIGTERM (as
# tests/hostile/stubborn_server.py does); the pids go to stdout at once.
SCRIPT = '''
import json, os, signal, subprocess, sys, time
if "stubborn" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]).pid if "spawn" in sys.argv else 0
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "path0": sys.path[0], "name": __name__, "file": __file__,
                  "env": os.environ.get("PROBE"), "leads_group": os.getpgrp() == os.getpid(),
                  "leads_session": os.getsid(0) == os.getpid(), "sigterm": str(signal.getsignal(signal.SIGTERM)),
                  "sigint": str(signal.getsignal(signal.SIGINT)), "pid": os.getpid(), "grandchild": grandchild,
                  "bytecode": sys.dont_write_bytecode, "main": sys.modules["__main__"].__file__}), flush=True)
print("on stderr", file=sys.stderr, flush=True)
if "stubborn" in sys.argv:
    time.sleep(300)
data = sys.stdin.read()
sys.exit(3 if data == "bye" else 4)
'''


def _script(folder: Path) -> Path:
    (folder / "sub").mkdir()
    script = folder / "sub" / "fixture_server.py"
    script.write_text(SCRIPT)
    return script


def _start(command: list[str], cwd: Path) -> tuple[subprocess.Popen[str], dict]:
    """Started as mcprt starts a stdio server (tests of it: runtime/mcprt/sources/mcp/stdio.py): pipes,
    a session of its own, the SDK's small environment plus the manifest's."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd, start_new_session=True,
                               env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "PROBE": "v"})
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.communicate(timeout=30)[1]
    return process, json.loads(line)


def _gone(*pids: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[pid for pid in pids if alive(pid)]}"
        time.sleep(0.02)


def test_a_forked_fixture_server_sees_what_a_fresh_one_sees(tmp_path: Path) -> None:
    script = _script(tmp_path)
    seen = []
    for command in (zygote.script_command(script, "a b", "--flag"), [sys.executable, str(script), "a b", "--flag"]):
        process, view = _start(command, tmp_path)
        assert process.stderr is not None and process.stdin is not None
        assert process.stderr.readline() == "on stderr\n"
        process.stdin.write("bye")
        process.stdin.close()  # EOF ends it, with its own exit code
        assert process.wait(30) == 3
        seen.append(view)
    forked, fresh = seen
    assert zygote.launched(zygote.script_command(script)), "the zygote is off"
    assert forked.pop("pid") != fresh.pop("pid")
    assert forked == fresh
    assert fresh["path0"] == str(script.parent) and fresh["leads_group"] and fresh["leads_session"]


def test_signals_reach_the_fixture_servers_group_and_kill_takes_it_all(tmp_path: Path) -> None:
    script = _script(tmp_path)
    # mcprt ends a server with SIGTERM to its group (runtime/mcprt/sources/mcp/process.py): the
    # launcher's group stands for the forked server's, grandchild included
    process, view = _start(zygote.script_command(script, "spawn"), tmp_path)
    server, grandchild = zygote.child_pid(process), view["grandchild"]
    assert server == view["pid"] != process.pid and alive(grandchild)
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(10) == -signal.SIGTERM
    _gone(server, grandchild)
    # one that ignores SIGTERM: mcprt's SIGKILL of the group (or of the launcher) ends it and its grandchild
    process, view = _start(zygote.script_command(script, "spawn", "stubborn"), tmp_path)
    server, grandchild = zygote.child_pid(process), view["grandchild"]
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.3)
    assert alive(server) and alive(grandchild) and process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL
    _gone(server, grandchild)
