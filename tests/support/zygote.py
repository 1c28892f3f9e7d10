"""A warm template process the suite forks `mcprt up` and its fixture MCP servers from, so a test's
server does not pay the imports.

Starting `mcprt up` costs ~1.5 s of CPU before it serves, nearly all of it importing the MCP SDK
(its wire types are ~1,000 pydantic models built at import) and mcprt; the suite starts ~330 of them,
which was ~40 % of its CPU on a 2-core machine. The zygote imports those modules once per pytest worker
and forks a child per `mcprt up`. The child is a real process running the real `python -m mcprt up`
code path (`runpy`, same `sys.argv`, environment, working directory, `sys.path[0]`, standard streams
and signal dispositions a fresh interpreter has); only the imports happened before the fork.
The fixture MCP servers (Python scripts on the official SDK that tests run as `command:` sources,
~1 s of CPU each to import the SDK) are forked the same way (`script_command`): `runpy.run_path` of
the script with its argv and `sys.path[0]` (its folder).

What the test starts is `zygote_launcher.py` (as `python -I -S -c`), stdlib only (~20 ms), which hands
its own standard streams (SCM_RIGHTS) to the zygote, forwards the signals it receives to the child, and
exits with the child's status (killed by signal N: it kills itself with N, so `returncode == -N` as for the real
process). If the launcher is SIGKILLed, the zygote SIGKILLs the child at once (it watches each
launcher's pidfd), as a process killed with -9 would be gone. `UpProcess.pid` is the child's pid (the
child writes it beside the socket: `child_pid`).

Process groups: mcprt starts a stdio server in a session of its own and ends it by signalling that
group (runtime/mcprt/sources/mcp/process.py). A fork cannot join the launcher's session, so when the
launcher leads its own group the child starts its own session too (`setsid`), the launcher forwards
signals to the child's whole group, and the zygote SIGKILLs that group when the launcher is gone —
whether it was killed or exited with its child. So a server's grandchildren go with it as with a
fresh start, with one difference: ones that outlive the server itself are killed (-9) as soon as
it exits, not when mcprt next signals the group. And the pid mcprt knows the server by is the
launcher's, not the one the server reports (`os.getpid()`). Tests about either stay fresh.

Whatever a fork cannot reproduce starts the old way, a fresh interpreter: a `PYTHON*` variable that
differs from the zygote's and is read only at interpreter start (`PYTHONUNBUFFERED` and
`PYTHONDONTWRITEBYTECODE` are reproduced in the child; the SDK gives a stdio server none of them), no
zygote (`MCPRT_TEST_ZYGOTE=0`), or a caller using `up_command` / `sys.executable` directly (tests about
imports, resource limits, process groups, or wrapping the command, e.g. `prlimit`).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAUNCHER = Path(__file__).with_name("zygote_launcher.py")
# Run as `-c` code rather than as a script argument: mcprt takes a `command:`'s file arguments for the
# files a source depends on (hot reload watches them), and those must be the fixture server's alone.
LAUNCH_CODE = f"exec(compile(open({str(LAUNCHER)!r}).read(), {str(LAUNCHER)!r}, 'exec'))"
# Imported before forking: every mcprt module (what one `mcprt up` needs depends on its manifest; a
# child with more modules loaded than it would import behaves the same), and what uvicorn imports by
# name when it starts. Tests about what start-up imports use `up_command` (a fresh interpreter).
PRELOAD_PACKAGE = "mcprt"
PRELOAD_SKIP = ("mcprt.testing",)  # the pytest plugin: pytest is not part of a server
PRELOAD_EXTRA = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
                 "uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on", "uvicorn.loops.uvloop", "uvloop",
                 "mcp.client.stdio", "mcp.client.streamable_http",
                 # what the fixture MCP servers import (tests/support/*_server.py and the like)
                 "mcp.server", "mcp.server.mcpserver", "mcp.server.stdio", "mcp.server.connection",
                 "mcp.server.streamable_http_manager", "opentelemetry.trace")
# Variables read at interpreter start that a forked child reproduces (`_become`): they never force a fresh start.
REPRODUCED = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")
_started: tuple[subprocess.Popen[bytes], str] | None = None


def socket_path() -> str | None:
    """The running zygote's socket for this process (started on first use), or None when disabled."""
    global _started
    if os.environ.get("MCPRT_TEST_ZYGOTE", "1") == "0":
        return None
    if _started is None or _started[0].poll() is not None:
        folder = tempfile.mkdtemp(prefix="mcprt-zygote-")
        path = os.path.join(folder, "s")
        process = subprocess.Popen([sys.executable, __file__, path], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=None, cwd=folder)
        deadline = time.monotonic() + 60
        while not os.path.exists(path + ".ready"):
            if process.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        _started = (process, path)
        atexit.register(_stop, process)
    return _started[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


def launcher_command(python_args: list[str]) -> list[str] | None:
    """The command that runs `python PYTHON_ARGS` (`-m mcprt ARGS…` or `SCRIPT ARGS…`) in a child of the
    zygote, or None when the zygote is off (start it fresh)."""
    path = socket_path()
    if path is None:
        return None
    return [sys.executable, "-I", "-S", "-c", LAUNCH_CODE, path, *python_args]


def launched(command: list[str]) -> bool:
    """Whether `command` (an argv) starts a launcher (`launcher_command`) rather than a fresh interpreter."""
    return command[3:5] == ["-c", LAUNCH_CODE]


def script_command(script: Path | str, *args: str) -> list[str]:
    """`[python, SCRIPT, ARGS…]` for a fixture MCP server, forked from the zygote when it is on (a manifest's
    `command:`, or a Popen's argv). Not for tests of the script's own imports, resource limits, or of what
    its orphaned grandchildren do (the module docstring says what differs): give those `sys.executable`."""
    return launcher_command([str(script), *args]) or [sys.executable, str(script), *args]


def script_command_yaml(script: Path | str, *args: str) -> str:
    """`script_command` as a YAML flow sequence, for a manifest's `command:`."""
    return json.dumps(script_command(script, *args))


def _start_only_env(environment: dict[str, str]) -> dict[str, str]:
    """The `PYTHON*` variables read at interpreter start that a fork cannot reproduce."""
    return {k: v for k, v in environment.items() if k.startswith("PYTHON") and k not in REPRODUCED}


def child_pid(process: subprocess.Popen, timeout: float = 10) -> int:  # type: ignore[type-arg]
    """The pid of the process running mcprt for `process`: itself, or for a launcher the zygote's child
    (the child writes it beside the socket once it has taken over)."""
    args = process.args
    if not (isinstance(args, list) and launched(args)):
        return process.pid
    file = Path(f"{args[5]}.pid-{process.pid}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = file.read_text()
            if text.endswith("\n"):
                return int(text)
        except FileNotFoundError:
            pass
        try:  # a launcher that started a fresh interpreter `exec`ed it: the server is the launcher's pid
            if str(LAUNCHER).encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes():
                return process.pid
        except FileNotFoundError:
            return process.pid
        if time.monotonic() > deadline:
            raise AssertionError(f"launcher {process.pid} wrote no server pid")
        time.sleep(0.01)


# --- the zygote itself (run as a script by `socket_path`) ------------------------------------------

def _preload() -> None:
    import importlib
    import pkgutil

    package = importlib.import_module(PRELOAD_PACKAGE)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, PRELOAD_PACKAGE + ".")
             if not m.name.startswith(PRELOAD_SKIP) and not m.name.endswith("__main__")]
    for name in [*names, *PRELOAD_EXTRA]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional extra missing: the child imports what it needs
            pass


def _serve(path: str) -> dict:
    """Fork children on request until the pytest worker is gone; returns only in a child: its request."""
    _preload()
    # What was preloaded lives as long as the process: moved out of the collector's reach, a child's
    # collections (its exit's full one too) no longer walk ~1M inherited objects, touching (and so
    # copying) their pages. Measured: a forked `mcprt approvals list` 0.66 -> 0.22 CPU-s (a fresh one: 0.27).
    import gc

    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    Path(path + ".ready").touch()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    waiting: dict[int, socket.socket] = {}  # child pid -> its launcher's connection
    launchers: dict[int, tuple[int, bool]] = {}  # launcher pidfd -> (its child's pid, child leads a group)
    worker = os.pidfd_open(os.getppid())  # a pytest worker that dies takes its zygote with it
    # One thread only: a fork copies just the calling thread, so a zygote with others could hand a
    # child a lock one of them held.
    while True:
        ready, _, _ = select.select([listener, worker, *launchers], [], [], 0.05)
        if worker in ready:
            sys.exit(0)
        if listener in ready:
            connection, _ = listener.accept()
            request = _fork_child(listener, worker, connection, waiting, launchers)
            if request is not None:  # in the child: run what the launcher asked for
                return request
        _reap(waiting)  # before a launcher's exit is handled: a reaped child is not killed by pid
        for handle in [fd for fd in ready if fd in launchers]:
            _launcher_gone(handle, launchers, waiting)


def _fork_child(listener: socket.socket, worker: int, connection: socket.socket, waiting: dict[int, socket.socket],
                launchers: dict[int, tuple[int, bool]]) -> dict | None:
    """Fork a child for the request on `connection`; the request in the child, None in the zygote."""
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    if _start_only_env(request["env"]) != _start_only_env(dict(os.environ)):
        for fd in fds:
            os.close(fd)
        connection.sendall(b"fresh\n")
        connection.close()
        return None
    pid = os.fork()
    if pid == 0:
        os.close(worker)
        listener.close()
        for other in waiting.values():
            other.close()
        for handle in launchers:
            os.close(handle)
        connection.close()
        _become(request, fds)
        return request
    for fd in fds:
        os.close(fd)
    connection.sendall(f"{pid}\n".encode())
    waiting[pid] = connection
    try:
        launchers[os.pidfd_open(request["launcher"])] = (pid, request["own_group"])
    except ProcessLookupError:  # the launcher is already gone: so is its server
        _kill(pid, request["own_group"], True)
    return None


def _launcher_gone(handle: int, launchers: dict[int, tuple[int, bool]], waiting: dict[int, socket.socket]) -> None:
    """A launcher exited or was killed: its child (still running only if the launcher was killed) goes
    too, and with a group of its own, whatever is left in that group (the module docstring says why)."""
    child, own_group = launchers.pop(handle)
    os.close(handle)
    _kill(child, own_group, child in waiting)


def _kill(child: int, own_group: bool, running: bool) -> None:
    try:
        if own_group:
            os.killpg(child, signal.SIGKILL)
        elif running:  # a reaped child's pid may be another process's by now
            os.kill(child, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = waiting.pop(pid, None)
        if connection is not None:
            try:
                connection.sendall(f"{status}\n".encode())
            except OSError:
                pass
            connection.close()


def _become(request: dict, fds: list[int]) -> None:
    """In the forked child: take the launcher's streams, environment, directory, arguments and, when the
    launcher leads its own group, a session of its own (the module docstring says why)."""
    import importlib
    import io

    if request["own_group"]:
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in request.get("ignored", ()):  # what the launcher's parent ignored, a fresh start ignores too
        signal.signal(signum, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    python_args = request["python_args"]
    # `python -m` puts the working directory first, `python SCRIPT` the script's real folder
    sys.path.insert(0, request["cwd"] if python_args[0] == "-m" else
                    os.path.dirname(os.path.realpath(python_args[0])))
    importlib.invalidate_caches()
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    stdout = io.FileIO(1, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(stdout if unbuffered else io.BufferedWriter(stdout), encoding="utf-8",
                                  write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    sys.argv = ["-m", *python_args[2:]] if python_args[0] == "-m" else list(python_args)
    Path(f"{request['socket']}.pid-{request['launcher']}").write_text(f"{os.getpid()}\n")


def _run_child(python_args: list[str]) -> None:
    """Run `python PYTHON_ARGS` in this (forked, prepared) process: `-m MODULE ARGS…` or `SCRIPT ARGS…`."""
    import runpy

    if python_args[0] == "-m":
        runpy.run_module(python_args[1], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(python_args[0], run_name="__main__")


if __name__ == "__main__":
    del sys.path[0]  # this script's folder: a fresh `python -m mcprt` does not have it
    child_request = _serve(sys.argv[1])
    # only a forked child gets here: the zygote's loop returns in the child alone
    _run_child(child_request["python_args"])
