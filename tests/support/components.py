"""Real components the replica tests run on 127.0.0.1: `redis-server` and `haproxy` (Debian
packages; `.ci/install-system-packages` installs them). Each is started on a free port in a
temporary folder and stopped at the end; a missing binary is a failure that says how to install it,
never a skip."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def stop_process(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """SIGTERM, up to 10 s for a clean exit, then SIGKILL (a test never leaves a server behind)."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str, *extra_dirs: str) -> str:
    found = shutil.which(name) or next((str(Path(d) / name) for d in extra_dirs if (Path(d) / name).is_file()), None)
    if found is None:
        raise AssertionError(f"{name} is not installed: run `bash .ci/install-system-packages` (Debian package)")
    return found


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@dataclass
class Redis:
    port: int
    process: subprocess.Popen[bytes]
    password: str | None = None  # `requirepass`, when the server was started with one

    @property
    def url(self) -> str:
        credentials = f":{self.password}@" if self.password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        env = {"REDISCLI_AUTH": self.password} if self.password else None  # not on the command line
        done = subprocess.run([binary("redis-cli"), "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=10, env=env)
        return done.stdout.strip()


@contextmanager
def redis_server(tmp: Path, port: int | None = None, *, password: str | None = None) -> Iterator[Redis]:
    """redis-server on 127.0.0.1 without persistence; on `port` (to restart one that was stopped) or a free one;
    with `password`, it requires that password (`requirepass`).

    A free port is free when `free_port` looks, not when redis-server binds it a moment later: another xdist
    worker's server or an outgoing connection may take it in between. Then redis-server exits (or, worse, the
    port answers for another worker's Redis): a port is taken as ours only once the Redis on it says it is
    this process (`INFO server`'s `process_id`), else the next free port is tried."""
    for _ in range(1 if port else 5):
        chosen = port or free_port()
        process = subprocess.Popen(
            [binary("redis-server"), "--port", str(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp), *(("--requirepass", password) if password else ())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            serving = _serving(process, chosen, password)
        except BaseException:
            stop_process(process)
            raise
        if serving:
            break
        stop_process(process)
    else:
        raise AssertionError(f"redis-server could not listen on 127.0.0.1:{port}" if port else
                             "redis-server found no free port to listen on in 5 tries")
    try:
        yield Redis(chosen, process, password)
    finally:
        stop_process(process)


def _serving(process: subprocess.Popen[bytes], port: int, password: str | None, timeout: float = 15) -> bool:
    """Whether the redis-server `process` listens on `port` (within `timeout` s); False once it exited (the
    port was taken)."""
    import redis as redis_py

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        client = redis_py.Redis(port=port, password=password, socket_timeout=2, socket_connect_timeout=0.5)
        try:
            if int(client.info("server")["process_id"]) == process.pid:
                return True
        except redis_py.RedisError:
            pass  # not listening yet, or another server on that port (it refuses our password): ours exits
        finally:
            client.close()
        time.sleep(0.05)
    if process.poll() is None:
        raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")
    return False


HAPROXY_CONFIG = """\
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout http-request 10s    # as deploy/plain-hosts/haproxy.cfg, which says why
    timeout http-keep-alive 1m
    timeout server 120s
    timeout tunnel 1h
    retries 3
    option redispatch 1
    retry-on conn-failure 503
    option http-buffer-request  # lets HAProxy retry a POST whole (deploy/plain-hosts/haproxy.cfg says why)
frontend mcp
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 300ms fall 2 rise 1
    # which replica answered (r0, r1, …: the order of `backends`), for tests that follow a request
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


@dataclass
class HAProxy:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, path: str = "/mcp") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def haproxy(tmp: Path, backends: Sequence[int]) -> Iterator[HAProxy]:
    """HAProxy round robin (no stickiness) over `backends` (ports on 127.0.0.1), health-checked on /readyz."""
    port = free_port()
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check" for i, p in enumerate(backends))
    config = tmp / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
    exe = binary("haproxy", "/usr/sbin")
    check = subprocess.run([exe, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen([exe, "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until a health check marked a backend up
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield HAProxy(port, process)
    finally:
        stop_process(process)
