"""A host that stops `mcprt up` while it is still starting (trial "desktop" F4, F5): it closes stdin (it gave up,
or restarted the server) or sends SIGTERM/SIGINT/SIGHUP before the proxied servers have started. Launched as a
host launches it (`tests.server.test_stdio_host_launch.Hosted`: the venv's `mcprt` by path, cwd `/`, a bare
environment), and once through the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.server.test_stdio_host_launch import MCPRT, Hosted, host_env
from tests.support.raw_stdio import TIMEOUT

# A proxied server that takes its time to start (it never gets that far here): it says it started, with a
# child of its own, and ignores SIGTERM when asked to (so that closing it takes the close's whole bound).
SLOW_SERVER = '''
import os
import signal
import subprocess
import sys
import time

if os.environ.get("STUBBORN"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open("started.tmp", "w") as marker:
    marker.write(f"{os.getpid()} {child.pid}")
os.rename("started.tmp", "started")
time.sleep(300)
'''

INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "host", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}

ADD = '''
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''


def slow_manifest(folder: Path, *, stubborn: bool = False) -> Path:
    (folder / "slow_server.py").write_text(SLOW_SERVER)
    (folder / "addtools.py").write_text(ADD)
    manifest = folder / "mcp.yaml"
    env = "    env: {STUBBORN: '1'}\n" if stubborn else ""
    manifest.write_text(f"version: 1\nserver: {{name: slow}}\nsources:\n  py:\n    python: addtools\n"
                        f"  slow:\n    command: {sys.executable}\n    args: [slow_server.py]\n{env}")
    return manifest


def started_pids(folder: Path) -> list[int]:
    """The slow server's pid and its child's, once it has started (fails after TIMEOUT)."""
    deadline = time.monotonic() + TIMEOUT
    while not (folder / "started").exists():
        assert time.monotonic() < deadline, "the slow server never started"
        time.sleep(0.02)
    return [int(pid) for pid in (folder / "started").read_text().split()]


def gone(pids: list[int]) -> bool:
    """Whether none of `pids` runs any more (a zombie counts as gone: it runs nothing)."""
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            return False
    return True


def wait_gone(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not gone(pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (its `SigCgt` mask, proc(5))."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


@pytest.mark.parametrize("written", [(), (INITIALIZE,), (INITIALIZE, INITIALIZED, LIST, CALL)],
                         ids=["nothing", "initialize", "pipelined"])
def test_stdin_closed_while_starting_ends_the_start_whatever_was_written(tmp_path: Path, written: tuple) -> None:
    """Closing stdin ended the start only when the host had written nothing. A host that wrote `initialize`
    (every desktop client does, at once) and then closed stdin kept mcprt starting its proxied servers for
    up to `startup_timeout` (21.5 s in the trial), answering into a closed pipe. A closed stdin now ends the
    start whatever was written: the slow server and its child are closed, nothing is written to stdout, exit 0,
    and the one log line says how many bytes were left unread."""
    hosted = Hosted(slow_manifest(tmp_path), env=host_env(tmp_path))
    try:
        if written:
            hosted.send(*written)
        pids = started_pids(tmp_path)
        assert hosted.process.stdin is not None
        hosted.process.stdin.close()
        closed = time.monotonic()
        assert hosted.process.wait(TIMEOUT) == 0, hosted.log()
        assert time.monotonic() - closed < 15, hosted.log()  # the slow server would take 300 s; start-up 30 s
        assert hosted.rest() == []
        log = hosted.log()
        assert log.count("stdin closed before the server started: not starting") == 1, log
        unread = sum(len(json.dumps(m)) + 1 for m in written)
        assert (f"the {unread} bytes written to it before it closed are not read" in log) == bool(written), log
        assert wait_gone(pids), "the proxied server or its child outlived the stopped start"
    finally:
        hosted.close()


def test_a_socket_stdin_shut_for_writing_while_starting_ends_the_start(tmp_path: Path) -> None:
    """libuv-based hosts (Node: Claude Desktop's, VS Code's) give the server a socket for stdin and end it with
    `shutdown(SHUT_WR)`: no POLLHUP, only POLLRDHUP, so such a host's leaving went unseen during start-up."""
    manifest = slow_manifest(tmp_path)
    ours, theirs = socket.socketpair()
    with open(tmp_path / "stderr.log", "wb") as stderr:
        process = subprocess.Popen([MCPRT, "up", str(manifest)], stdin=ours.fileno(), stdout=subprocess.PIPE,
                                   stderr=stderr, cwd="/", env=host_env(tmp_path))
    ours.close()
    try:
        theirs.sendall(json.dumps(INITIALIZE).encode() + b"\n")
        pids = started_pids(tmp_path)
        theirs.shutdown(socket.SHUT_WR)
        assert process.wait(TIMEOUT) == 0, (tmp_path / "stderr.log").read_text()
        assert process.stdout is not None and process.stdout.read() == b""
        assert "stdin closed before the server started: not starting" in (tmp_path / "stderr.log").read_text()
        assert wait_gone(pids)
    finally:
        theirs.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_sdk_stdio_client_giving_up_on_a_starting_server_ends_it(tmp_path: Path) -> None:
    """The MCP SDK's `stdio_client`, as a Python host uses it: `initialize` sent, no answer in time, the client
    leaves (closes stdin, waits 2 s, then terminates the process tree). mcprt ends its start at the closed
    stdin: nothing answered, the slow server closed."""
    manifest = slow_manifest(tmp_path)
    params = StdioServerParameters(command=MCPRT, args=["up", str(manifest)], env=host_env(tmp_path), cwd="/")

    async def give_up() -> None:
        with open(tmp_path / "client.log", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                with anyio.move_on_after(TIMEOUT) as waited:
                    async with anyio.create_task_group() as group:
                        group.start_soon(session.initialize)
                        while not (tmp_path / "started").exists():
                            await anyio.sleep(0.05)
                        group.cancel_scope.cancel()  # the host gives up on the answer
                assert not waited.cancelled_caught, "the slow server never started"

    anyio.run(give_up)
    pids = [int(pid) for pid in (tmp_path / "started").read_text().split()]
    log = (tmp_path / "client.log").read_text()
    assert "stdin closed before the server started: not starting" in log, log
    assert "bytes written to it before it closed are not read" in log, log  # its initialize
    assert wait_gone(pids), log


@pytest.mark.parametrize(("signum", "transport"), [(signal.SIGTERM, "stdio"), (signal.SIGINT, "stdio"),
                                                    (signal.SIGTERM, "http")])
def test_a_stop_signal_while_starting_is_a_clean_stop(tmp_path: Path, signum: int, transport: str) -> None:
    """SIGTERM while a proxied server started ended the process by the signal itself (returncode -15, an empty
    log). It is a stop as README "Stopping" says: `stopping signal=SIGTERM` logged, the sources opened so far
    closed (the slow server and its child), exit 0; over stdio nothing is written to stdout."""
    args = ("--transport", "http", "--port", "0") if transport == "http" else ()
    hosted = Hosted(slow_manifest(tmp_path), env=host_env(tmp_path), args=args)
    try:
        if transport == "stdio":
            hosted.send(INITIALIZE)
        pids = started_pids(tmp_path)
        hosted.process.send_signal(signum)
        sent = time.monotonic()
        assert hosted.process.wait(TIMEOUT) == 0, hosted.log()
        assert time.monotonic() - sent < 15, hosted.log()
        assert hosted.rest() == []
        log = hosted.log()
        name = signal.Signals(signum).name
        assert f"stopping signal={name}" in log and "closing sources" in log, log
        assert log.index(f"stopping signal={name}") < log.index("closing sources"), log
        assert wait_gone(pids), log
    finally:
        hosted.close()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_second_stop_signal_while_a_start_stops_exits_at_once(tmp_path: Path, signum: int, code: int) -> None:
    """While the stopped start closes a proxied server that ignores SIGTERM (the close's bound: 3 s before its
    SIGKILL), a second stop signal exits at once with 143/130 and says so (README "Stopping")."""
    hosted = Hosted(slow_manifest(tmp_path, stubborn=True), env=host_env(tmp_path))
    try:
        started_pids(tmp_path)
        hosted.process.send_signal(signum)
        hosted.wait_for_log("stopping signal=")
        time.sleep(0.5)  # the close of the stubborn server has 2.5 s to go
        assert hosted.process.poll() is None, hosted.log()
        hosted.process.send_signal(signum)
        second = time.monotonic()
        assert hosted.process.wait(TIMEOUT) == code, hosted.log()
        assert time.monotonic() - second < 1.5, hosted.log()
        assert "second stop signal: exiting without finishing the stop" in hosted.log(), hosted.log()
    finally:
        hosted.close()


def test_a_stop_signal_before_start_up_work_stops_without_opening_anything(tmp_path: Path) -> None:
    """A SIGTERM in the process's first moments (its imports take 0.3–0.9 s on a loaded machine) killed it too.
    `mcprt up` handles SIGTERM from its first line, before its imports (`mcprt.__main__`): the signal is sent as
    soon as the process catches it (its `SigCgt` mask says so), and the process stops cleanly — exit 0,
    `stopping` logged — with the slow server never started or already closed."""
    hosted = Hosted(slow_manifest(tmp_path), env=host_env(tmp_path))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not catches(hosted.process.pid, signal.SIGTERM):
            assert time.monotonic() < deadline and hosted.process.poll() is None, hosted.log()
            time.sleep(0.005)
        hosted.process.send_signal(signal.SIGTERM)
        assert hosted.process.wait(TIMEOUT) == 0, hosted.log()
        assert "stopping signal=SIGTERM" in hosted.log(), hosted.log()
        if (tmp_path / "started").exists():
            assert wait_gone([int(pid) for pid in (tmp_path / "started").read_text().split()])
    finally:
        hosted.close()


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25])
def test_one_stop_signal_early_in_a_fast_start_is_one_clean_stop(tmp_path: Path, delay: float) -> None:
    """One SIGTERM 0.28–0.40 s after launch (the event loop running, its signal handlers not yet added) was
    counted twice under uvloop: `stopping`, then "second stop signal", exit 143 (3 of 20 launches). Sent
    `delay` s after the process catches SIGTERM (the imports, the loop's start, a fast manifest's compile),
    it is one clean stop: exit 0, `stopping` logged once, no forced exit."""
    (tmp_path / "addtools.py").write_text(ADD)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: fast}\nsources:\n  py:\n    python: addtools\n")
    hosted = Hosted(manifest, env=host_env(tmp_path))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not catches(hosted.process.pid, signal.SIGTERM):
            assert time.monotonic() < deadline and hosted.process.poll() is None, hosted.log()
            time.sleep(0.002)
        time.sleep(delay)
        hosted.process.send_signal(signal.SIGTERM)
        assert hosted.process.wait(TIMEOUT) == 0, hosted.log()
        log = hosted.log()
        assert log.count("stopping signal=SIGTERM") == 1 and "second stop signal" not in log, log
    finally:
        hosted.close()


HUP_SERVER = '''
import time

time.sleep(float(open("delay").read()))

from mcp.server.mcpserver import MCPServer

server = MCPServer("late")


@server.tool()
def late() -> str:
    """Served once started."""
    return "late"


server.run()
'''


def test_a_sighup_while_starting_is_the_first_reload(tmp_path: Path) -> None:
    """SIGHUP while a proxied server started ended the process (returncode -1, SIGHUP's default action). It is
    caught: the start goes on, and once serving the manifest is reloaded (hot reload off here: the signal is
    the only trigger), so an edit saved during the start is served."""
    (tmp_path / "late_server.py").write_text(HUP_SERVER)
    (tmp_path / "delay").write_text("3")
    (tmp_path / "addtools.py").write_text(ADD)
    manifest = tmp_path / "mcp.yaml"
    head = f"version: 1\nserver: {{name: hup}}\nsources:\n  late:\n    command: {sys.executable}\n    args: [late_server.py]\n"
    manifest.write_text(head)
    hosted = Hosted(manifest, env=host_env(tmp_path), args=("--no-reload",))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any(Path(f"/proc/{pid}/cmdline").read_bytes().find(b"late_server.py") >= 0
                      for pid in _children(hosted.process.pid)):
            assert time.monotonic() < deadline and hosted.process.poll() is None, hosted.log()
            time.sleep(0.05)
        manifest.write_text(head + "  py:\n    python: addtools\n")  # saved while the start goes on
        hosted.process.send_signal(signal.SIGHUP)
        hosted.handshake()
        assert hosted.process.poll() is None, hosted.log()
        hosted.wait_for_log("reload applied")
        hosted.send(CALL)
        assert hosted.read_until(2)["result"]["content"][0]["text"] == "3", hosted.log()
    finally:
        hosted.close()


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []

