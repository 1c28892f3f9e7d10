"""What a Python tool prints reaches the log at its line end, scrubbed, in order with the log — while the server
runs, and so is not lost when the server is SIGKILLed — over stdio (fd 1 pointed at stderr) and over HTTP (stdout a
pipe). Launched as a desktop client launches a server: a fresh `python -m mcprt up` with pipes, no TTY and no
PYTHONUNBUFFERED (the suite's `child_env` sets it, which hid the fault).

A trial's `print` at import and during a call appeared in the client's log only after SIGTERM, below every later log
line, and SIGKILL lost them: `sys.stdout` stayed block-buffered on a pipe, and the scrubbing stream handed it whole
lines without a flush.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import cli_env
from tests.support.served import up_command

pytestmark = pytest.mark.xdist_group("test_sources_python_prints")

SECRET = "s3cr3t-print-token-0123456789"

MODULE = '''
import os
import sys

print("PRINT AT IMPORT from pytools")


def hello(name: str) -> str:
    """Say hello."""
    print("print during call", name)
    print("the key is", os.environ["PRINT_TOKEN"])
    print("to stderr", file=sys.stderr)
    return "hello " + name
'''

MANIFEST = """\
version: 1
sources:
  py:
    python: pytools:hello
    env:
      PRINT_TOKEN: ${PRINT_TOKEN}
"""


def _env() -> dict[str, str]:
    return cli_env({"PRINT_TOKEN": SECRET}, drop=("PYTHONUNBUFFERED",))


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "pytools.py").write_text(MODULE)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    return tmp_path / "mcp.yaml"


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while text not in (content := path.read_text(errors="replace")):
        assert process.poll() is None, f"the server ended ({process.returncode}):\n{content}"
        assert time.monotonic() < deadline, f"no {text!r} while the server runs:\n{content}"
        time.sleep(0.05)
    return content


def test_prints_reach_the_stdio_log_at_their_line_end_and_survive_sigkill(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    log_path = tmp_path / "client.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*up_command(manifest, "--no-reload")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=log, cwd="/", env=_env())
    try:
        assert process.stdin is not None and process.stdout is not None
        messages = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "desktop", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "hello", "arguments": {"name": "X"}}},
        ]
        process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        process.stdin.flush()
        answers = {}
        while 2 not in answers:
            line = process.stdout.readline()
            assert line, log_path.read_text()
            message = json.loads(line)  # stdout holds JSON-RPC only
            answers[message.get("id")] = message
        assert answers[2]["result"]["content"][0]["text"] == "hello X"
        # while the server runs: each line at its end, scrubbed, in order with the log
        content = _wait_for(log_path, "call tool=hello", process)
        _wait_for(log_path, "print during call X", process)
        content = log_path.read_text()
        assert "PRINT AT IMPORT from pytools" in content
        assert "the key is [redacted]" in content and SECRET not in content
        lines = content.splitlines()

        def where(text: str) -> int:
            return next(i for i, line in enumerate(lines) if text in line)

        assert where("PRINT AT IMPORT") < where("print during call X") < where("call tool=hello"), content
        assert where("print during call X") < where("to stderr") < where("call tool=hello"), content
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    after = log_path.read_text()
    assert "PRINT AT IMPORT from pytools" in after and "print during call X" in after


def test_prints_reach_stdout_at_their_line_end_over_http(tmp_path: Path) -> None:
    """Over HTTP stdout is the process's own (a container's log pipe here, a file): each line still goes at its end."""
    manifest = _folder(tmp_path)
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen([*up_command(manifest, "--no-reload", "--transport", "http", "--port", "0")],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=str(tmp_path), env=_env())
    try:
        _wait_for(out_path, "PRINT AT IMPORT from pytools", process)
        assert SECRET not in out_path.read_text()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
