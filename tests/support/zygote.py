"""A warm template process the suite forks `mcprt up` from, so a test's server does not pay the imports.

Starting `mcprt up` costs ~1.5 s of CPU before it serves, nearly all of it importing the MCP SDK
(its wire types are ~1,000 pydantic models built at import) and mcprt; the suite starts ~330 of them,
which was ~40 % of its CPU on a 2-core machine. The zygote imports those modules once per pytest worker
and forks a child per `mcprt up`. The child is a real process running the real `python -m mcprt up`
code path (`runpy`, same `sys.argv`, environment, working directory, `sys.path[0]`, standard streams
and signal dispositions a fresh interpreter has); only the imports happened before the fork.

What the test starts is `launcher.py`, a stdlib-only script (~20 ms), which hands its own standard
streams (SCM_RIGHTS) to the zygote, forwards the signals it receives to the child, and exits with the
child's status (killed by signal N: it kills itself with N, so `returncode == -N` as for the real
process). If the launcher is SIGKILLed, the child kills itself at once (a pidfd watch), as a process
killed with -9 would be gone. `UpProcess.pid` is the child's pid (the launcher writes it beside the
socket). Whatever a fork cannot reproduce starts the old way, a fresh interpreter: a `PYTHON*`
variable other than `PYTHONUNBUFFERED` that differs from the zygote's (read only at interpreter
start), no zygote (`MCPRT_TEST_ZYGOTE=0`), or a caller asking for `fresh=True` (tests about imports,
or wrapping the command, e.g. `prlimit`).
"""

from __future__ import annotations

import atexit
import errno
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
# Imported before forking: every mcprt module (what one `mcprt up` needs depends on its manifest; a
# child with more modules loaded than it would import behaves the same), and what uvicorn imports by
# name when it starts. Tests about what start-up imports use `up_command` (a fresh interpreter).
PRELOAD_PACKAGE = "mcprt"
PRELOAD_SKIP = ("mcprt.testing",)  # the pytest plugin: pytest is not part of a server
PRELOAD_EXTRA = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
                 "uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on", "uvicorn.loops.uvloop", "uvloop",
                 "mcp.client.stdio", "mcp.client.streamable_http")
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


def launcher_command(args: list[str]) -> list[str] | None:
    """The command that runs `python -m mcprt ARGS` in a child of the zygote, or None (start it fresh)."""
    path = socket_path()
    if path is None:
        return None
    return [sys.executable, "-I", "-S", str(LAUNCHER), path, json.dumps(_start_only_env()), *args]


def _start_only_env() -> dict[str, str]:
    """The zygote's `PYTHON*` variables (read at interpreter start): a launch whose differ runs fresh."""
    return {k: v for k, v in os.environ.items() if k.startswith("PYTHON") and k != "PYTHONUNBUFFERED"}


def child_pid(process: subprocess.Popen, timeout: float = 10) -> int:  # type: ignore[type-arg]
    """The pid of the process running mcprt for `process`: itself, or for a launcher the zygote's child
    (the child writes it beside the socket once it has taken over)."""
    args = process.args
    if not (isinstance(args, list) and len(args) > 3 and args[3] == str(LAUNCHER)):
        return process.pid
    file = Path(f"{args[4]}.pid-{process.pid}")
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


def _serve(path: str) -> None:
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    Path(path + ".ready").touch()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    waiting: dict[int, socket.socket] = {}  # child pid -> its launcher's connection
    worker = os.pidfd_open(os.getppid())  # a pytest worker that dies takes its zygote with it
    # One thread only: a fork copies just the calling thread, so a zygote with others could hand a
    # child a lock one of them held.
    while True:
        ready, _, _ = select.select([listener, worker], [], [], 0.05)
        if worker in ready:
            sys.exit(0)
        if listener in ready:
            connection, _ = listener.accept()
            child = _fork_child(listener, worker, connection, waiting)
            if child is None:  # in the child: run mcprt
                return
        _reap(waiting)


def _fork_child(listener: socket.socket, worker: int, connection: socket.socket,
                waiting: dict[int, socket.socket]) -> int | None:
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        os.close(worker)
        listener.close()
        for other in waiting.values():
            other.close()
        connection.close()
        _become(request, fds)
        return None
    for fd in fds:
        os.close(fd)
    connection.sendall(f"{pid}\n".encode())
    waiting[pid] = connection
    return pid


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
    """In the forked child: take the launcher's streams, environment, directory and arguments."""
    import importlib
    import io
    import threading

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path.insert(0, request["cwd"])  # `python -m` puts the working directory first
    importlib.invalidate_caches()
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    stdout = io.FileIO(1, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(stdout if unbuffered else io.BufferedWriter(stdout), encoding="utf-8",
                                  write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    sys.argv = [request["argv0"], *request["args"]]
    launcher = request["launcher"]
    Path(f"{request['socket']}.pid-{launcher}").write_text(f"{os.getpid()}\n")

    def die_with_the_launcher() -> None:
        try:
            handle = os.pidfd_open(launcher)
        except OSError as error:  # already gone
            if error.errno == errno.ESRCH:
                os.kill(os.getpid(), signal.SIGKILL)
            return
        select.select([handle], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=die_with_the_launcher, daemon=True, name="zygote-launcher-watch").start()


def _run_child() -> None:
    import runpy

    runpy.run_module("mcprt", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    del sys.path[0]  # this script's folder: a fresh `python -m mcprt` does not have it
    _serve(sys.argv[1])
    # only a forked child gets here: the zygote's loop returns in the child alone
    _run_child()
