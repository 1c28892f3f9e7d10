"""Start-up CPU of mcprt's own commands, this tree against a baseline tree, interleaved.

Every `mcprt` process pays for its imports before it does anything; a stdio client spawns
`mcprt up` at each start and the operator commands should answer like `curl`. Each round runs
every command once with this tree's runtime and once with the baseline's (`PYTHONPATH`, both as
`python -m mcprt`, the order alternating per round), and measures the child's CPU (user + system,
from `/usr/bin/time`) and wall time:

  - `validate catalog/quickstart/mcp.yaml` (a `python:`-only manifest)
  - `status URL`, `approvals list --url URL`, `pause TOOL --url URL`, `call --url URL/mcp TOOL`
    against one `mcprt up --transport http` of the quick start (with `policy: {}`) started here
  - `up` over stdio on the quick start to a completed tools/list (spawn → answer; `compile.startup`)

Prints a table of medians and the ratio this/baseline per command (CPU is the figure to trust on a
shared machine; wall moves with load). Goals (speed1): validate, status, approvals, call --url
≥ 35 % less CPU than the baseline (ratio ≤ 0.65); `up` to tools/list ≥ 25 % less (≤ 0.75).

    /work/venv/bin/python bench/cli_startup.py --baseline RUNTIME_DIR [--rounds 7]

where RUNTIME_DIR holds the baseline's `mcprt` package, e.g.
`mkdir /tmp/base && git -C /work/main archive HEAD runtime | tar x -C /tmp/base` → `/tmp/base/runtime`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from common import CACHE, REPO, free_port, log, mcprt_env, measure_process, median, stop_process, wait_for_port
from compile import WORK as STARTUP_LOGS, Startup, startup
from report import Goal, Section

WORK = CACHE / "cli_startup"
OURS = REPO / "runtime"
CPU_GOALS = {"validate": 0.65, "status": 0.65, "approvals list": 0.65, "call --url": 0.65, "up (stdio, tools/list)": 0.75}


def quickstart(folder: Path) -> Path:
    """The quick start copied to `folder`, with `policy: {}` (so `pause` and `approvals` have an answer)."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(REPO / "catalog" / "quickstart", folder)
    manifest = folder / "mcp.yaml"
    manifest.write_text(manifest.read_text() + "policy: {}\n")
    return manifest


def commands(url: str) -> dict[str, list[str]]:
    """The timed command lines (after `python -m mcprt`)."""
    return {
        "validate": ["validate", str(REPO / "catalog" / "quickstart" / "mcp.yaml")],
        "status": ["status", url],
        "approvals list": ["approvals", "list", "--url", url],
        "pause": ["pause", "get_note", "--url", url],
        "call --url": ["call", "--url", f"{url}/mcp", "get_note", "--args", '{"id": 1}'],
    }


def run(rounds: int, baseline: Path) -> Section:
    WORK.mkdir(parents=True, exist_ok=True)
    STARTUP_LOGS.mkdir(parents=True, exist_ok=True)  # `startup` writes the server's stderr there
    manifest = quickstart(WORK / "quickstart")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"ours": mcprt_env(PYTHONPATH=str(OURS), MCPRT_CACHE_DIR=str(WORK / "cache")),
           "baseline": mcprt_env(PYTHONPATH=str(baseline), MCPRT_CACHE_DIR=str(WORK / "cache"))}
    with open(WORK / "server.log", "wb") as server_log:
        server = subprocess.Popen([sys.executable, "-m", "mcprt", "up", str(manifest), "--transport", "http",
                                   "--port", str(port), "--no-reload"], env=env["ours"], stderr=server_log,
                                  stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=server)
        lines = commands(url)
        up = [sys.executable, "-m", "mcprt", "up", str(REPO / "catalog" / "quickstart" / "mcp.yaml"),
              "--transport", "stdio", "--no-reload"]
        cpu: dict[str, dict[str, list[float]]] = {name: {"ours": [], "baseline": []} for name in [*lines, "up (stdio, tools/list)"]}
        wall: dict[str, dict[str, list[float]]] = {name: {"ours": [], "baseline": []} for name in cpu}
        for tree in ("ours", "baseline"):  # untimed: bytecode caches, the server's first answers
            for argv in lines.values():
                measure_process([sys.executable, "-m", "mcprt", *argv], env=env[tree])
            startup(up, env[tree], "mcprt-up.log")
        for index in range(rounds):
            log(f"cli start-up: round {index + 1}/{rounds}")
            order = ("ours", "baseline") if index % 2 == 0 else ("baseline", "ours")
            for name, argv in lines.items():
                for tree in order:
                    result = measure_process([sys.executable, "-m", "mcprt", *argv], env=env[tree])
                    if result.returncode not in (0, 1):
                        raise RuntimeError(f"{tree}: mcprt {' '.join(argv)} exited {result.returncode}: "
                                           f"{result.stderr_tail}")
                    cpu[name][tree].append(result.cpu)
                    wall[name][tree].append(result.wall)
            for tree in order:
                started: Startup = startup(up, env[tree], "mcprt-up.log")
                cpu["up (stdio, tools/list)"][tree].append(started.cpu)
                wall["up (stdio, tools/list)"][tree].append(started.wall)
    finally:
        stop_process(server)
    rows, goals = [], []
    for name in cpu:
        ours, theirs = median(cpu[name]["ours"]), median(cpu[name]["baseline"])
        rows.append([name, f"{ours:.3f}", f"{theirs:.3f}", f"{ours / theirs:.2f}",
                     f"{median(wall[name]['ours']):.3f}", f"{median(wall[name]['baseline']):.3f}",
                     f"{median(wall[name]['ours']) / median(wall[name]['baseline']):.2f}"])
        if name in CPU_GOALS:
            goals.append(Goal(f"{name}: CPU this tree / baseline", f"{ours:.3f} vs {theirs:.3f} s = {ours / theirs:.2f}",
                              f"≤ {CPU_GOALS[name]}", ours <= CPU_GOALS[name] * theirs))
    section = Section(
        title=f"mcprt start-up per command, this tree vs {baseline} ({rounds} rounds, interleaved)",
        headers=["command", "CPU s (this)", "CPU s (baseline)", "CPU ratio", "wall s (this)", "wall s (baseline)",
                 "wall ratio"],
        rows=rows,
    )
    section.goals = goals
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the baseline tree's runtime/ folder")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(run(args.rounds, args.baseline.resolve()).markdown())


if __name__ == "__main__":
    main()
