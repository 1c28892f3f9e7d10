"""Shared plumbing for the benchmarks: inputs in `bench/.cache/`, the peer's venv, child-process
measurement (wall time and peak RSS of exactly that child), free ports and result tables.

Everything here sets itself up on first use so `python bench/run.py` works on a fresh clone
(npm and pip reach their registries once; the benchmarks themselves use loopback only)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
PEER_VENV = BENCH / ".venv-peer"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_VERSION = "4.0.11"  # 4.1.x cannot resolve against this machine's registry (FACTS.md)
GITHUB_SPEC = CACHE / "api.github.com.json"
# The fastest OpenAPI→MCP peer found (Node): its own npm folder, so its packages never mix with anything else
NODE_PEER_PACKAGE = "@ivotoby/openapi-mcp-server"
NODE_PEER_VERSION = "1.16.1"
NODE_PEER_DIR = CACHE / "node-peer"
NODE_PEER_SCRIPT = NODE_PEER_DIR / "node_modules" / NODE_PEER_PACKAGE / "bin" / "mcp-server.js"


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays the report."""
    print(message, file=sys.stderr, flush=True)


# --- inputs -----------------------------------------------------------------------------------------


def ensure_github_spec() -> Path:
    """GitHub's REST description from the npm package `@octokit/openapi` (13 MB, 1,223 operations)."""
    if GITHUB_SPEC.exists():
        return GITHUB_SPEC
    CACHE.mkdir(parents=True, exist_ok=True)
    log("fetching @octokit/openapi with npm pack …")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        out = subprocess.run(["npm", "pack", "@octokit/openapi", "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(Path(tmp) / out) as archive:
            member = archive.getmember("package/generated/api.github.com.json")
            source = archive.extractfile(member)
            assert source is not None
            GITHUB_SPEC.write_bytes(source.read())
    return GITHUB_SPEC


def ensure_peer() -> Path:
    """The peer (FastMCP) in its own venv, so its dependencies never touch mcprt's."""
    if PEER_PYTHON.exists() and _peer_importable():
        return PEER_PYTHON
    log(f"creating {PEER_VENV} with fastmcp=={PEER_VERSION} …")
    subprocess.run([sys.executable if shutil.which("python3") is None else "python3", "-m", "venv", str(PEER_VENV)],
                   check=True)
    subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "-q", f"fastmcp=={PEER_VERSION}"], check=True)
    return PEER_PYTHON


def _peer_importable() -> bool:
    return subprocess.run([str(PEER_PYTHON), "-c", "import fastmcp"], capture_output=True).returncode == 0


def ensure_node_peer() -> Path:
    """The Node peer, npm-installed into bench/.cache/node-peer; returns its `bin/mcp-server.js`."""
    if NODE_PEER_SCRIPT.exists():
        return NODE_PEER_SCRIPT
    log(f"installing {NODE_PEER_PACKAGE}@{NODE_PEER_VERSION} into {NODE_PEER_DIR} …")
    NODE_PEER_DIR.mkdir(parents=True, exist_ok=True)
    (NODE_PEER_DIR / "package.json").write_text('{"private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"{NODE_PEER_PACKAGE}@{NODE_PEER_VERSION}"],
                   cwd=NODE_PEER_DIR, check=True, capture_output=True)
    return NODE_PEER_SCRIPT


def node_peer_command(spec: Path, base_url: str, port: int | None = None) -> list[str]:
    """`node mcp-server.js --openapi-spec SPEC --api-base-url URL`, over stdio, or streamable HTTP on
    127.0.0.1:PORT/mcp when a port is given; quiet (`--verbose false`), as mcprt and FastMCP run."""
    cmd = ["node", str(ensure_node_peer()), "--openapi-spec", str(spec), "--api-base-url", base_url,
           "--verbose", "false"]
    if port is not None:
        cmd += ["--transport", "http", "--host", "127.0.0.1", "--port", str(port), "--path", "/mcp"]
    return cmd


def node_peer_version() -> str:
    try:
        return json.loads((NODE_PEER_SCRIPT.parents[1] / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


def node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def peer_version() -> str:
    try:
        out = subprocess.run([str(PEER_PYTHON), "-c", "import fastmcp; print(fastmcp.__version__)"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


# --- measuring a child process ----------------------------------------------------------------------


@dataclass
class ProcessRun:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MB (its own, from
    wait4), exit code, stdout size. CPU time barely moves with load from elsewhere; wall time does."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout_bytes: int
    stderr_tail: str


def measure_process(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                    stdout_path: Path | None = None, timeout: float = 180) -> ProcessRun:
    """Run `cmd` to completion and measure that child alone.

    Linux keeps a process's peak RSS across exec, so a child forked from this (large) Python process
    would report at least our own size. The command is therefore started by `/usr/bin/time`, a small
    process, which reports the command's own peak RSS and CPU time; without it, a small Python
    launcher does the same with wait4 (its few MB can then show as a floor under small figures).
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    out_path = stdout_path or Path(tempfile.mkstemp(dir=CACHE, suffix=".out")[1])
    err_path = Path(tempfile.mkstemp(dir=CACHE, suffix=".err")[1])
    usage_path = Path(tempfile.mkstemp(dir=CACHE, suffix=".usage")[1])
    if Path(TIME).exists():
        wrapped = [TIME, "-f", "%M %U %S %x", "-o", str(usage_path), *cmd]
    else:
        wrapped = [sys.executable, "-S", "-c", _LAUNCHER, str(usage_path), *cmd]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=out, stderr=err, env=env, cwd=cwd)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        wall = time.perf_counter() - start
    usage = usage_path.read_text().split()
    usage_path.unlink()
    peak_kb, user, system = int(usage[-4]), float(usage[-3]), float(usage[-2])
    returncode = int(usage[-1]) if usage[-1].lstrip("-").isdigit() else process.returncode
    size = out_path.stat().st_size
    tail = err_path.read_text(errors="replace")[-2000:]
    err_path.unlink()
    if stdout_path is None:
        out_path.unlink()
    return ProcessRun(wall, user + system, peak_kb / 1024, returncode, size, tail)


TIME = "/usr/bin/time"
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime} {os.waitstatus_to_exitcode(status)}")
"""


def mcprt_env(**extra: str) -> dict[str, str]:
    """The environment for measured children: no inherited MCPRT_* settings (except those given),
    and bytecode caching on, as users have it (a PYTHONDONTWRITEBYTECODE here would make every
    run compile mcprt's modules from source, which no installed copy does)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MCPRT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM this one child (by its pid), then kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- statistics and tables --------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into RESULTS.md)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions of what was measured. Read after the parts ran: they set the peers up on first use,
    so read before, a fresh clone would report them as not installed."""
    return {
        "mcprt": _dist_version("mcprt"),
        "mcp": _dist_version("mcp"),
        "fastmcp (peer)": peer_version(),
        f"{NODE_PEER_PACKAGE} (Node peer)": f"{node_peer_version()} on Node {node_version()}",
    }


def machine_summary() -> dict[str, str]:
    """Date, machine and load at start; `versions()` is added once the parts have run."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load average at start (1/5/15 min)": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


def dump_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
