"""Server CPU per *sequential* stdio call: mcprt against the Node peer, driven by a raw line client.

    python bench/stdio_cpu.py [--calls 300] [--rounds 3] [--gap SECONDS] [--baseline CHECKOUT] [--spy SECONDS]

Each server runs over stdio in a subprocess; this process writes one JSON-RPC line at a time and
waits for its answer (no SDK client in the way, so nothing but the server is measured), rounds
interleaved between the servers so load from elsewhere hits them alike. Server CPU per call is
read from /proc (the scheduler's run time of all the server's threads, measured calls only). Servers:
  - mcprt 2026-07-28: each request carries the 2026-07-28 envelope in `params._meta` (what the SDK
    client in `auto` mode sends, and what `calls.py`'s stdio rows measure)
  - mcprt handshake: `initialize` 2025-06-18, then plain requests
  - node-peer: @ivotoby/openapi-mcp-server (handshake era; it does not speak 2026-07-28)
  - floor: the same upstream GET by a raw socket client in this process is not a server: the CPU of
    the upstream itself is not counted for anyone.
Printed: per tool (2 KB `get_item`, 100 KB `get_item_history`) the median over rounds of each
server's CPU per call and wall time per call, and mcprt's ratios to the Node peer.

`--spy SECONDS` instead records mcprt 2026-07-28 (100 KB and 2 KB calls alternating, or `--tool`)
with `py-spy record --native --gil -r 500` and prints the top functions (profile.summarize).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import (LARGE, MODERN, SMALL, TOOL_NAMES, WORK, server_commands, upstream,  # noqa: E402
                   write_inputs)
from common import log, median, stop_process  # noqa: E402

NATIVE: list[str] = ["--native"]  # --spy: sample C frames too (slower sampling; shares of Python code shift)
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads: the scheduler's nanosecond count (`schedstat`), else
    the 10 ms ticks of `stat`."""
    total, found = 0, False
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
            found = True
        except (OSError, ValueError, IndexError):
            continue
    if found:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class LineServer:
    """One stdio server driven by raw JSON-RPC lines, one request at a time."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None, era: str) -> None:
        self.name = name
        self.era = era
        self.process = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=open(WORK / f"stdio-cpu-{name}.log", "wb"))
        self.ids = 0
        self.meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
                     "io.modelcontextprotocol/clientCapabilities": {},
                     "io.modelcontextprotocol/clientInfo": {"name": "mcprt-bench", "version": "1"}}
        self.reader = self.process.stdout
        if era != MODERN:
            self.request("initialize", {"protocolVersion": era, "capabilities": {},
                                        "clientInfo": {"name": "mcprt-bench", "version": "1"}})
            self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        self.ids += 1
        if self.era == MODERN:
            params = {**params, "_meta": self.meta}
        self.send({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        while True:
            line = self.reader.readline()
            if not line:
                raise RuntimeError(f"{self.name} ended its output")
            message = json.loads(line)
            if message.get("id") == self.ids:
                if "error" in message or message["result"].get("isError"):
                    raise RuntimeError(f"{self.name}: {line[:300]!r}")
                return message

    def call(self, tool: str) -> None:
        small, large = TOOL_NAMES.get(self.name, (SMALL, LARGE))
        self.request("tools/call", {"name": small if tool == SMALL else large, "arguments": {"id": 1}})

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        stop_process(self.process)


def start_servers(spec: Path, manifest: Path, base_url: str, baseline: Path | None = None) -> list[LineServer]:
    servers = []
    chosen = [("mcprt-2026", "mcprt", MODERN), ("mcprt-handshake", "mcprt", "2025-06-18")]
    if baseline is not None:
        chosen.append(("baseline-2026", "mcprt", MODERN))
    for name, system, era in (*chosen, ("node-peer", "node-peer", "2025-06-18")):
        cmd, env = server_commands(system, spec, manifest, base_url, "stdio")
        if name == "baseline-2026":  # another checkout's installed mcprt, e.g. main's, for an A/B in one run
            assert baseline is not None
            cmd = [str(baseline / ".venv" / "bin" / "mcprt"), *cmd[1:]]
        log(f"stdio_cpu: starting {name}")
        server = LineServer(name, cmd, env, era)
        server.request("tools/list", {})
        servers.append(server)
    return servers


def measure(servers: list[LineServer], tool: str, calls: int, rounds: int, gap: float = 0.0) -> dict[str, tuple[float, float]]:
    """Median over rounds of (CPU s per call, wall s per call) per server; rounds rotate the order."""
    cpu: dict[str, list[float]] = {s.name: [] for s in servers}
    wall: dict[str, list[float]] = {s.name: [] for s in servers}
    for server in servers:  # warm-up
        for _ in range(20):
            server.call(tool)
    for index in range(rounds):
        order = servers[index % len(servers):] + servers[:index % len(servers)]
        for server in order:
            before, start = cpu_seconds(server.process.pid), time.perf_counter()
            for _ in range(calls):
                server.call(tool)
                if gap:
                    time.sleep(gap)  # idle between calls, as when other servers take their turns
            wall[server.name].append((time.perf_counter() - start) / calls - gap)
            cpu[server.name].append((cpu_seconds(server.process.pid) - before) / calls)
    return {name: (median(cpu[name]), median(wall[name])) for name in cpu}


def spy(servers: list[LineServer], seconds: float, tool: str | None) -> str:
    from profile import py_spy, summarize

    target = servers[0]
    raw = WORK / "stdio-cpu.raw"
    process = subprocess.Popen([py_spy(), "record", *NATIVE, "--gil", "-r", "500", "-f", "raw", "-o", str(raw),
                                "--pid", str(target.process.pid), "-d", str(int(seconds))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaches
    calls = 0
    while process.poll() is None:
        target.call(tool or (LARGE if calls % 2 else SMALL))
        calls += 1
    return f"## {target.name}: {calls} sequential calls ({tool or '2 KB and 100 KB alternating'})\n" + summarize(raw, 40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per server and round (100 KB: a third)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spy", type=float, default=0, help="profile mcprt 2026-07-28 for this many seconds")
    parser.add_argument("--tool", choices=[SMALL, LARGE], default=None, help="--spy: only this tool")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds idle between calls (calls.py's interleaved rounds leave ~20-50 ms)")
    parser.add_argument("--no-native", action="store_true", help="--spy: Python frames only")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout with its own .venv (e.g. /work/main): its mcprt runs too, 2026-07-28")
    parser.add_argument("--only-mcprt", action="store_true", help="leave the Node peer out")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with upstream() as base_url:
        spec, manifest = write_inputs(base_url)
        servers = start_servers(spec, manifest, base_url, args.baseline)
        if args.only_mcprt:
            servers[-1].close()
            servers = servers[:-1]
        try:
            if args.no_native:
                NATIVE.clear()
            if args.spy:
                print(spy(servers, args.spy, args.tool))
                return
            print(f"load: {os.getloadavg()[0]:.2f} (1-min average at the end of the start-up)")
            for tool, calls in ((SMALL, args.calls), (LARGE, max(30, args.calls // 3))):
                figures = measure(servers, tool, calls, args.rounds, args.gap)
                peer = figures.get("node-peer")
                print(f"\n{tool} ({calls} sequential calls x {args.rounds} rounds, medians of rounds)")
                print(f"  {'server':16} {'CPU ms/call':>12} {'wall ms/call':>13} {'CPU vs peer':>12}")
                for name, (cpu, wall) in figures.items():
                    ratio = f"{cpu / peer[0]:.2f}" if peer else "—"
                    print(f"  {name:16} {cpu * 1e3:12.3f} {wall * 1e3:13.3f} {ratio:>12}")
                if "baseline-2026" in figures:
                    mine, base = figures["mcprt-2026"][0], figures["baseline-2026"][0]
                    print(f"  mcprt-2026 CPU vs baseline-2026: {mine / base:.2f}")
            print(f"load: {os.getloadavg()[0]:.2f} (1-min average at the end)")
        finally:
            for server in servers:
                server.close()


if __name__ == "__main__":
    main()
