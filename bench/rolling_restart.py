"""Rolling restart behind an L4 balancer: how many calls fail at the clients.

The fleet trial's stand-in for a Kubernetes Service (kube-proxy balances connections, retries nothing):
HAProxy in `mode tcp` with the Deployment's readiness check (`GET /readyz`) over three `mcprt up` replicas
sharing a Redis. Each replica in turn is taken out of rotation (`disable server`: the endpoint removed when the
pod starts terminating), left `--prestop` seconds (the Deployment's `preStop` sleep), sent SIGTERM, started
again on its port and put back. Meanwhile `--clients` SDK clients (`mode="auto"`) call a tool in a loop; every
call's outcome is counted, and the failures' texts are grouped.

    python bench/rolling_restart.py [--clients 6] [--prestop 5] [--mode tcp|http] [--pythonpath DIR]

`--mode http` runs the same drill through HAProxy in `mode http` with deploy/plain-hosts' retry settings (as
`tests.support.components.haproxy`), for comparison. `--pythonpath` runs the replicas from another tree's
`runtime/` (e.g. `git archive <commit> runtime | tar -x -C /tmp/before`), to measure a before/after.
Ports from 51200 (ROLLING_BASE_PORT moves them: replicas +0..2, HAProxy +10, Redis +20).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.support.components import binary, redis_server, stop_process, wait_port  # noqa: E402
from tests.support.served import child_env, http_client  # noqa: E402

TOOLS = '''\
import time

__all__ = ["charge"]


def charge(ref: str, seconds: float = 0.0) -> dict:
    """Charge once, optionally slowly."""
    time.sleep(seconds)
    return {"ref": ref}
'''
MANIFEST = "version: 1\nserver:\n  name: rolling\nsources:\n  ops:\n    python: rolling_tools\n"
HAPROXY = """\
global
    stats socket {sock} mode 600 level admin
defaults
    mode {mode}
    timeout connect 2s
    timeout client 1h
    timeout server 1h
{extra}
frontend front
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}
"""
HTTP_EXTRA = """\
    timeout http-request 10s
    timeout http-keep-alive 1m
    retries 3
    option redispatch 1
    retry-on conn-failure 503
    option http-buffer-request"""
BASE_PORT = int(os.environ.get("ROLLING_BASE_PORT", "51200"))  # a free range of your machine


def start_replica(folder: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "mcprt", "up", str(folder / "mcp.yaml"), "--transport", "http",
                                 "--port", str(port), "--no-reload"], env=env, cwd=folder, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL)


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"replica on {port} not ready")


def admin(sock: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        s.sendall(command.encode() + b"\n")
        return s.recv(4096).decode()


async def client_loop(url: str, index: int, stop: asyncio.Event, outcomes: list[dict[str, object]]) -> None:
    n = 0
    async with http_client(url, mode="auto") as client:
        while not stop.is_set():
            n += 1
            try:
                result = await client.call_tool("charge", {"ref": f"c{index}-{n}",
                                                           "seconds": random.choice([0, 0.2, 1])})
                text = result.content[0].text if result.content else ""
                outcomes.append({"ok": not result.is_error, "text": "" if not result.is_error else text[:160]})
            except Exception as exc:  # noqa: BLE001 - counted: what a client sees
                outcomes.append({"ok": False, "text": f"{type(exc).__name__}: {exc}"[:160]})


async def drill(args: argparse.Namespace) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="rolling-"))
    (folder / "rolling_tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(MANIFEST)
    ports = [BASE_PORT + i for i in range(3)]
    front = BASE_PORT + 10
    with redis_server(folder, BASE_PORT + 20) as redis:
        env = child_env(MCPRT_STATE_URL=redis.url)
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
        replicas = [start_replica(folder, port, env, folder / f"r{i}.log") for i, port in enumerate(ports)]
        for port in ports:
            wait_ready(port)
        sock = folder / "haproxy.sock"
        config = folder / "haproxy.cfg"
        config.write_text(HAPROXY.format(sock=sock, mode=args.mode, port=front,
                                         extra=HTTP_EXTRA if args.mode == "http" else "",
                                         servers="\n".join(f"    server m{i} 127.0.0.1:{p} check"
                                                           for i, p in enumerate(ports))))
        balancer = subprocess.Popen([binary("haproxy", "/usr/sbin"), "-f", str(config), "-db"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(front)
            await asyncio.sleep(2.5)  # the health checks mark the servers up (rise 2, inter 1s)
            stop = asyncio.Event()
            outcomes: list[dict[str, object]] = []
            url = f"http://127.0.0.1:{front}/mcp"
            clients = [asyncio.ensure_future(client_loop(url, i, stop, outcomes)) for i in range(args.clients)]
            await asyncio.sleep(2)
            for i, port in enumerate(ports):
                admin(sock, f"disable server replicas/m{i}")
                await asyncio.sleep(args.prestop)
                replicas[i].send_signal(signal.SIGTERM)
                await asyncio.to_thread(replicas[i].wait, 60)
                replicas[i] = start_replica(folder, port, env, folder / f"r{i}.log")
                await asyncio.to_thread(wait_ready, port)
                admin(sock, f"enable server replicas/m{i}")
                await asyncio.sleep(2.5)
            stop.set()
            await asyncio.gather(*clients, return_exceptions=True)
        finally:
            stop_process(balancer)
            for replica in replicas:
                if replica.poll() is None:
                    stop_process(replica)
    failures = collections.Counter(str(o["text"]) for o in outcomes if not o["ok"])
    return {"mode": args.mode, "clients": args.clients, "prestop_s": args.prestop,
            "runtime": args.pythonpath or "this tree", "calls": len(outcomes),
            "ok": sum(1 for o in outcomes if o["ok"]), "failed": sum(failures.values()),
            "failures": dict(failures.most_common(5)), "logs": str(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--prestop", type=float, default=5.0)
    parser.add_argument("--mode", choices=["tcp", "http"], default="tcp")
    parser.add_argument("--pythonpath", default=os.environ.get("ROLLING_PYTHONPATH"))
    print(json.dumps(asyncio.run(drill(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
