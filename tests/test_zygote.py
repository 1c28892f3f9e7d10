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
        assert (str(zygote.LAUNCHER) in command) is launched
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
                           f"import runpy, sys; sys.argv = ['x', '/nonexistent', '{{}}', '--version']; "
                           f"runpy.run_path({str(zygote.LAUNCHER)!r})"],
                          capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": ""})
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert not {m for m in imported if m.split(".")[0] in ("mcprt", "mcp", "pydantic", "tests")}, imported
