"""Part 1: compile GitHub's REST description (1,223 operations) and list its tools.

Whole-process wall time and peak RSS of the child, and the bytes of the tools/list JSON:
  - mcprt cold: `mcprt tools MANIFEST --json` with an empty MCPRT_CACHE_DIR
  - mcprt warm: the same command again (compile cache filled by the cold run)
  - peer: `FastMCP.from_openapi(spec, client=httpx2.AsyncClient(...))`, list tools in memory,
    dump the list as JSON (bench/peer/list_tools.py, in the peer's venv)

Start-up over stdio, from spawning the server to a completed tools/list (raw JSON-RPC lines, so
no client-side schema checks get in the way): `mcprt up` cold and warm, and the Node peer
(@ivotoby/openapi-mcp-server 1.16.1, `node bin/mcp-server.js --openapi-spec SPEC`). `--startup` also
runs `mcprt up` cold with hot reload on (the default; the rest run `--no-reload`), and with
`--baseline RUNTIME_DIR` another checkout's the same way, in the same rounds.

Goals: mcprt cold ≥ 10× faster than the peer (≥ 5× was the first goal), ≤ 1/3 of its peak RSS,
tools/list ≥ 10× smaller, warm ≤ 0.5 s; start-up to tools/list ≤ the Node peer's.

Where a cold `mcprt tools --json` spends its CPU, phase by phase (`--phases ROUNDS`): each round a
fresh process runs the same steps in one thread and reads its CPU clock between them (imports,
settings and manifest, the description's digest, parse, compile, tool-set build, tools/list text,
the response shapes `mcprt up` over stdio computes after that list, compile-cache write),
interleaved with whole `mcprt tools --json` runs.

    /work/venv/bin/python bench/compile.py [--quick] [--startup ROUNDS] [--phases ROUNDS] [--baseline RUNTIME_DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import (BENCH, CACHE, ProcessRun, ensure_github_spec, ensure_peer, log, mcprt_env, measure_process,
                    median, node_peer_command, stop_process)
from report import Goal, Section

WORK = CACHE / "compile"


def mcprt_command() -> list[str]:
    """The installed `mcprt` script next to this Python (what users run), else `python -m mcprt`."""
    script = Path(sys.executable).parent / "mcprt"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcprt"]


def write_manifest(spec: Path) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    manifest = WORK / "github.yaml"
    manifest.write_text(
        "version: 1\n"
        "server: {name: github-bench}\n"
        "sources:\n"
        "  github:\n"
        f"    openapi: {json.dumps(str(spec))}\n"
        "    base_url: http://127.0.0.1:9\n"
    )
    return manifest


def run_mcprt(manifest: Path, cache_dir: Path, out: Path, **env: str) -> ProcessRun:
    run = measure_process([*mcprt_command(), "tools", str(manifest), "--json"],
                          env=mcprt_env(MCPRT_CACHE_DIR=str(cache_dir), **env), stdout_path=out)
    if run.returncode != 0:
        raise RuntimeError(f"mcprt tools failed ({run.returncode}):\n{run.stderr_tail}")
    return run


def run_peer(spec: Path, out: Path) -> ProcessRun:
    python = ensure_peer()
    run = measure_process([str(python), str(BENCH / "peer" / "list_tools.py"), str(spec)], stdout_path=out,
                          env=mcprt_env())
    if run.returncode != 0:
        raise RuntimeError(f"peer list failed ({run.returncode}):\n{run.stderr_tail}")
    return run


@dataclass
class Startup:
    """Spawn → initialize → tools/list answered, over stdio: wall seconds, the server's CPU seconds
    and peak RSS (MB, VmHWM) at that moment, and the number of tools listed."""

    wall: float
    cpu: float
    peak_rss_mb: float
    tools: int


_HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "mcprt-bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def _proc_cpu_rss(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return cpu, float(hwm.split()[1]) / 1024


def startup(cmd: list[str], env: dict[str, str], log_name: str, timeout: float = 120) -> Startup:
    """Time one server from spawn to its tools/list answer (the whole list, one JSON line)."""
    with open(WORK / log_name, "wb") as errlog:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, env=env)
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in _HANDSHAKE))
            process.stdin.flush()
            deadline = start + timeout
            while time.perf_counter() < deadline:
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{cmd[0]} exited before answering tools/list; see {WORK / log_name}")
                message = json.loads(line)
                if message.get("id") == 2:
                    wall = time.perf_counter() - start
                    cpu, rss = _proc_cpu_rss(process.pid)
                    return Startup(wall, cpu, rss, len(message["result"]["tools"]))
            raise RuntimeError(f"no tools/list answer within {timeout} s")
        finally:
            stop_process(process)


def startup_goals(starts: dict[str, list[Startup]]) -> list[Goal]:
    """Cold start-up ≤ the Node peer's (CPU, the reliable figure on a shared machine, and wall);
    warm start-up well under cold (≤ 0.6)."""
    (cold_wall, cold_cpu), (warm_wall, warm_cpu), (node_wall, node_cpu) = (
        (median([r.wall for r in runs]), median([r.cpu for r in runs])) for runs in starts.values())
    return [
        Goal("cold start-up to tools/list vs Node peer (CPU)",
             f"{cold_cpu:.2f} vs {node_cpu:.2f} s = {cold_cpu / node_cpu:.2f}", "≤ 1", cold_cpu <= node_cpu),
        Goal("cold start-up to tools/list vs Node peer (wall)",
             f"{cold_wall:.2f} vs {node_wall:.2f} s = {cold_wall / node_wall:.2f}", "≤ 1", cold_wall <= node_wall),
        Goal("warm start-up vs cold start-up (CPU)", f"{warm_cpu:.2f} vs {cold_cpu:.2f} s = {warm_cpu / cold_cpu:.2f}",
             "≤ 0.6", warm_cpu <= 0.6 * cold_cpu),
        Goal("warm start-up vs cold start-up (wall)", f"{warm_wall:.2f} vs {cold_wall:.2f} s", "≤ 0.6",
             warm_wall <= 0.6 * cold_wall),
    ]


def run_startup(rounds: int, baseline: Path | None = None) -> Section:
    """Only the start-up part (mcprt cold, warm, Node peer; interleaved): for measuring one change.

    Also `mcprt up` cold with hot reload on (the default users get; the goals use `--no-reload`, as
    before) and, with `baseline` (another checkout's runtime/ folder), that checkout cold with hot
    reload on, in the same rounds: its ratio to this tree is the A/B of a change on a default start."""
    spec = ensure_github_spec()
    manifest = write_manifest(spec)
    up = [*mcprt_command(), "up", str(manifest), "--transport", "stdio", "--no-reload"]
    starts: dict[str, list[Startup]] = {"mcprt cold": [], "mcprt warm": [], "Node peer": []}
    reloading: dict[str, list[Startup]] = {"mcprt cold, hot reload on": []}
    if baseline is not None:
        reloading[f"baseline cold, hot reload on ({baseline})"] = []
    if baseline is not None:  # untimed: the baseline's bytecode cache may not exist yet
        startup([sys.executable, "-m", "mcprt", *up[len(mcprt_command()):]],
                mcprt_env(MCPRT_CACHE_DIR=str(WORK / "startup-cache-warmup"), PYTHONPATH=str(baseline)),
                "mcprt-up.log")
        shutil.rmtree(WORK / "startup-cache-warmup", ignore_errors=True)
    for index in range(rounds):
        log(f"start-up: round {index + 1}/{rounds}")
        cache_dir = WORK / f"startup-cache-{index}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        env = mcprt_env(MCPRT_CACHE_DIR=str(cache_dir))
        starts["mcprt cold"].append(startup(up, env, "mcprt-up.log"))
        starts["mcprt warm"].append(startup(up, env, "mcprt-up.log"))
        shutil.rmtree(cache_dir, ignore_errors=True)
        starts["Node peer"].append(startup(node_peer_command(spec, "http://127.0.0.1:9"), mcprt_env(),
                                           "node-peer.log"))
        # both as `python -m mcprt` (the baseline cannot be the installed script), differing only in PYTHONPATH
        module_up = [sys.executable, "-m", "mcprt", *up[len(mcprt_command()):-1]]
        runs = [(module_up, {}, reloading["mcprt cold, hot reload on"])]
        if baseline is not None:
            runs.append((module_up, {"PYTHONPATH": str(baseline)}, list(reloading.values())[1]))
        for command, extra, into in runs if index % 2 == 0 else runs[::-1]:  # alternate which goes first
            shutil.rmtree(cache_dir, ignore_errors=True)
            into.append(startup(command, mcprt_env(MCPRT_CACHE_DIR=str(cache_dir), **extra), "mcprt-up.log"))
        shutil.rmtree(cache_dir, ignore_errors=True)
    section = Section(
        title="Start-up over stdio to a completed tools/list (GitHub, 1,223 operations)",
        headers=["run", "wall (s, median)", "CPU (s, median)", "CPU (s, each run)", "peak RSS (MB, max)", "tools"],
        rows=[[name, f"{median([r.wall for r in runs]):.2f}", f"{median([r.cpu for r in runs]):.2f}",
               " ".join(f"{r.cpu:.2f}" for r in runs), f"{max(r.peak_rss_mb for r in runs):.0f}", runs[-1].tools]
              for name, runs in {**starts, **reloading}.items()],
    )
    section.goals = startup_goals(starts)
    if baseline is not None:
        (ours, theirs) = reloading.values()
        section.notes.append(
            "hot reload on, this tree vs baseline (medians; CPU, then wall): "
            f"{median([r.cpu for r in ours]):.3f} vs {median([r.cpu for r in theirs]):.3f} s, "
            f"{median([r.wall for r in ours]):.3f} vs {median([r.wall for r in theirs]):.3f} s")
    return section


# The child of `--phases`: the steps of a cold `mcprt tools --json`, timed with the process's CPU
# clock (all threads: the description's sha256 runs in a thread beside the parse, and is counted
# there). argv: MANIFEST CACHE_DIR; prints one JSON object {phase: seconds}.
_PHASES_CHILD = r"""
import json, sys, time
clock = time.process_time
start = time.process_time()  # the interpreter's own start, before this line
marks, last = [("interpreter start", start)], clock()
def mark(name):
    global last
    now = clock(); marks.append((name, now - last)); last = now
from mcprt import pause_gc_for_startup
pause_gc_for_startup()
try:  # as `cli.fast` does (a `--baseline` from before it existed has no such step)
    from mcprt import import_before_plugin_scan
    import_before_plugin_scan("mcprt.settings", "mcprt.manifest.loader")
except ImportError:
    pass
import asyncio, pathlib
from mcprt.cli import fast, tools_cmd, common
from mcprt import pipeline
from mcprt.sources.openapi import compiler, cache, pinned
from mcprt.manifest.loader import load_manifest
from mcprt.settings import load_settings
mark("imports (the tools path's modules)")
settings = load_settings()
loaded = load_manifest(sys.argv[1])
mark("settings and manifest (load, validate)")
name, source = next(iter(loaded.manifest.sources.items()))
cache_dir = pathlib.Path(sys.argv[2])
doc, _, _ = pinned.open_description(name, source.openapi, loaded.path.parent, cache_dir, offline=False)
mark("description: its sha256, or (first sight) a read that starts the sha256 in a thread")
doc.data
doc.digest
mark("parse (lean JSON), and the sha256 thread beside it where there is one")
policy = compiler.effective_policy(source, loaded.manifest.defaults)
# As `mcprt up` over stdio compiles: response shapes after the tools/list (a tree from before
# `PendingShapes` computes them in the compile, and its "response shapes" phase is 0).
pending = compiler.PendingShapes() if hasattr(compiler, "PendingShapes") else None
compiled = (compiler.compile_document(doc, source, policy, pending=pending) if pending is not None
            else compiler.compile_document(doc, source, policy))
mark("compile (read operations, input schemas, plans, descriptions; shapes where not deferred)")
from mcprt.toolset.build import build_toolset
build = build_toolset(loaded, {name: [c.operation for c in compiled.operations]})
mark("tool-set build (overrides, output checks)")
text = build.toolset.list_result_json()
build.toolset.fingerprint()
mark("tools/list text and fingerprint")
if pending is not None:
    pending.fill()
mark("response shapes (`mcprt up` over stdio: after the first tools/list)")
cache.store(cache_dir, cache.cache_key(doc, source, policy), doc, compiled)
mark("compile-cache write (pickle)")
print(json.dumps(dict(marks)))
"""


def run_phases(rounds: int, baseline: Path | None = None) -> Section:
    """Median CPU per phase of a cold compile of GitHub, and the whole `mcprt tools --json` beside it;
    with `baseline` (another checkout's `runtime/` folder, put first on PYTHONPATH) the same for it,
    interleaved round by round, in a second column."""
    spec = ensure_github_spec()
    manifest = write_manifest(spec)
    runs = {"this tree": {}} | ({f"baseline ({baseline})": {"PYTHONPATH": str(baseline)}} if baseline else {})
    phases: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    whole: dict[str, list[float]] = {name: [] for name in runs}
    for name, env in runs.items():  # untimed: writes the bytecode caches an installed copy has
        run_mcprt(manifest, WORK / "phases-prime", WORK / "mcprt-tools.json", **env)
        shutil.rmtree(WORK / "phases-prime", ignore_errors=True)
    for index in range(rounds):
        log(f"phases: round {index + 1}/{rounds}")
        for name, env in runs.items():
            cache_dir = WORK / f"phases-cache-{index}"
            shutil.rmtree(cache_dir, ignore_errors=True)
            out = subprocess.run([sys.executable, "-c", _PHASES_CHILD, str(manifest), str(cache_dir)],
                                 env=mcprt_env(**env), capture_output=True, text=True, check=True).stdout
            for phase, seconds in json.loads(out).items():
                phases[name].setdefault(phase, []).append(seconds)
            shutil.rmtree(cache_dir, ignore_errors=True)
            whole[name].append(run_mcprt(manifest, cache_dir, WORK / "mcprt-tools.json", **env).cpu)
            shutil.rmtree(cache_dir, ignore_errors=True)
    first = next(iter(runs))
    rows = [[phase, *(f"{median(phases[name].get(phase, [0.0])) * 1000:.0f}" for name in runs)]
            for phase in phases[first]]
    rows.append(["sum of the phases", *(f"{sum(median(v) for v in phases[name].values()) * 1000:.0f}"
                                        for name in runs)])
    rows.append(["whole `mcprt tools --json` process (user + system CPU; also threads, asyncio, output)",
                 *(f"{median(whole[name]) * 1000:.0f}" for name in runs)])
    return Section(title=f"Where a cold `mcprt tools --json` on GitHub spends its CPU ({rounds} rounds, medians)",
                   headers=["phase", *(f"CPU (ms), {name}" for name in runs)], rows=rows)


def tool_count(path: Path) -> int:
    return len(json.loads(path.read_bytes())["tools"])


def run(quick: bool = False) -> Section:
    spec = ensure_github_spec()
    manifest = write_manifest(spec)
    rounds = 1 if quick else 3
    cold: list[ProcessRun] = []
    warm: list[ProcessRun] = []
    mcprt_out = WORK / "mcprt-tools.json"
    prime = WORK / "mcprt-cache-prime"
    run_mcprt(manifest, prime, mcprt_out)  # untimed: writes the bytecode caches an installed copy has
    shutil.rmtree(prime, ignore_errors=True)
    peer_out = WORK / "peer-tools.json"
    peer: list[ProcessRun] = []
    starts: dict[str, list[Startup]] = {"mcprt cold (`mcprt up`, empty cache)": [],
                                        "mcprt warm (`mcprt up`, second run)": [],
                                        "Node peer (@ivotoby/openapi-mcp-server)": []}
    for index in range(rounds):  # interleaved, so load from elsewhere hits both alike
        cache_dir = WORK / f"mcprt-cache-{index}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        log(f"compile: round {index + 1}/{rounds}: mcprt cold, mcprt warm, peer")
        cold.append(run_mcprt(manifest, cache_dir, mcprt_out))
        warm.append(run_mcprt(manifest, cache_dir, mcprt_out))
        shutil.rmtree(cache_dir, ignore_errors=True)
        peer.append(run_peer(spec, peer_out))
        log(f"compile: round {index + 1}/{rounds}: start-up to tools/list over stdio: mcprt cold, warm, Node peer")
        up = [*mcprt_command(), "up", str(manifest), "--transport", "stdio", "--no-reload"]
        up_env = mcprt_env(MCPRT_CACHE_DIR=str(cache_dir))
        starts["mcprt cold (`mcprt up`, empty cache)"].append(startup(up, up_env, "mcprt-up.log"))
        starts["mcprt warm (`mcprt up`, second run)"].append(startup(up, up_env, "mcprt-up.log"))
        shutil.rmtree(cache_dir, ignore_errors=True)
        starts["Node peer (@ivotoby/openapi-mcp-server)"].append(
            startup(node_peer_command(spec, "http://127.0.0.1:9"), mcprt_env(), "node-peer.log"))

    def summary(runs: list[ProcessRun]) -> tuple[float, float, float, int]:
        return (median([r.wall for r in runs]), median([r.cpu for r in runs]), max(r.peak_rss_mb for r in runs),
                runs[-1].stdout_bytes)

    c_wall, c_cpu, c_rss, c_bytes = summary(cold)
    w_wall, w_cpu, w_rss, w_bytes = summary(warm)
    p_wall, p_cpu, p_rss, p_bytes = summary(peer)
    m_tools, p_tools = tool_count(mcprt_out), tool_count(peer_out)
    section = Section(
        title=f"1. Compile GitHub's REST description ({spec.stat().st_size / 1e6:.1f} MB) and list all tools",
        headers=["run", "wall (s, median)", "CPU (s, median)", "peak RSS (MB, max)", "tools", "tools/list bytes",
                 "runs"],
        rows=[
            ["mcprt cold (`mcprt tools --json`, empty cache)", f"{c_wall:.2f}", f"{c_cpu:.2f}", f"{c_rss:.0f}",
             m_tools, f"{c_bytes:,}", len(cold)],
            ["mcprt warm (second run)", f"{w_wall:.2f}", f"{w_cpu:.2f}", f"{w_rss:.0f}", m_tools, f"{w_bytes:,}",
             len(warm)],
            ["peer (FastMCP.from_openapi + list)", f"{p_wall:.2f}", f"{p_cpu:.2f}", f"{p_rss:.0f}", p_tools,
             f"{p_bytes:,}", len(peer)],
        ],
    )
    speed = p_wall / c_wall
    memory = c_rss / p_rss
    size = p_bytes / c_bytes
    section.goals = [
        Goal("cold speed vs peer (wall)", f"{speed:.1f}× faster ({c_wall:.2f} vs {p_wall:.2f} s)", "≥ 10×",
             speed >= 10),
        Goal("cold peak RSS vs peer", f"{memory:.2f} of the peer's ({c_rss:.0f} / {p_rss:.0f} MB)", "≤ 0.33",
             memory <= 1 / 3),
        Goal("tools/list size vs peer", f"{size:.1f}× smaller", "≥ 10×", size >= 10),
        Goal("warm wall time", f"{w_wall:.2f} s", "≤ 0.5 s", w_wall <= 0.5),
    ]
    start_rows = []
    for name, runs in starts.items():
        start_rows.append([name, f"{median([r.wall for r in runs]):.2f}", f"{median([r.cpu for r in runs]):.2f}",
                           f"{max(r.peak_rss_mb for r in runs):.0f}", runs[-1].tools, len(runs)])
    section.extra_tables.append((["start-up over stdio to a completed tools/list", "wall (s, median)",
                                  "server CPU (s, median)", "peak RSS (MB, max)", "tools", "runs"], start_rows))
    section.goals += startup_goals(starts)
    section.goals.append(Goal("cold compile vs peer (CPU, less sensitive to load from elsewhere)",
                              f"{p_cpu / c_cpu:.1f}× less ({c_cpu:.2f} vs {p_cpu:.2f} s)", "≥ 10×",
                              p_cpu >= 10 * c_cpu))
    if m_tools != p_tools:
        section.notes.append(f"tool counts differ: mcprt {m_tools}, peer {p_tools}")
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Compile benchmark (part 1).")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--startup", type=int, metavar="ROUNDS",
                        help="only the start-up part (mcprt cold/warm and the Node peer), ROUNDS interleaved rounds")
    parser.add_argument("--phases", type=int, metavar="ROUNDS",
                        help="only the CPU per phase of a cold mcprt compile, ROUNDS fresh processes")
    parser.add_argument("--baseline", type=Path, metavar="RUNTIME_DIR",
                        help="with --phases or --startup: also another checkout's runtime/ folder (e.g. `git archive "
                             "main runtime | tar -x -C /tmp/main`, then /tmp/main/runtime), interleaved")
    args = parser.parse_args()
    if args.phases:
        print(run_phases(args.phases, args.baseline).markdown())
    else:
        print((run_startup(args.startup, args.baseline) if args.startup else run(args.quick)).markdown())
