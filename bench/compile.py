"""Part 1: compile GitHub's REST description (1,223 operations) and list its tools.

Whole-process wall time and peak RSS of the child, and the bytes of the tools/list JSON:
  - mcprt cold: `mcprt tools MANIFEST --json` with an empty MCPRT_CACHE_DIR
  - mcprt warm: the same command again (compile cache filled by the cold run)
  - peer: `FastMCP.from_openapi(spec, client=httpx2.AsyncClient(...))`, list tools in memory,
    dump the list as JSON (bench/peer/list_tools.py, in the peer's venv)

Goals: mcprt cold ≥ 5× faster than the peer, ≤ 1/3 of its peak RSS, tools/list ≥ 10× smaller,
warm ≤ 0.5 s.

    /work/venv/bin/python bench/compile.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from common import (BENCH, CACHE, ProcessRun, ensure_github_spec, ensure_peer, log, mcprt_env, measure_process,
                    median)
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


def run_mcprt(manifest: Path, cache_dir: Path, out: Path) -> ProcessRun:
    run = measure_process([*mcprt_command(), "tools", str(manifest), "--json"],
                          env=mcprt_env(MCPRT_CACHE_DIR=str(cache_dir)), stdout_path=out)
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
    for index in range(rounds):  # interleaved, so load from elsewhere hits both alike
        cache_dir = WORK / f"mcprt-cache-{index}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        log(f"compile: round {index + 1}/{rounds}: mcprt cold, mcprt warm, peer")
        cold.append(run_mcprt(manifest, cache_dir, mcprt_out))
        warm.append(run_mcprt(manifest, cache_dir, mcprt_out))
        shutil.rmtree(cache_dir, ignore_errors=True)
        peer.append(run_peer(spec, peer_out))

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
        Goal("cold speed vs peer (wall)", f"{speed:.1f}× faster ({c_wall:.2f} vs {p_wall:.2f} s)", "≥ 5×",
             speed >= 5),
        Goal("cold peak RSS vs peer", f"{memory:.2f} of the peer's ({c_rss:.0f} / {p_rss:.0f} MB)", "≤ 0.33",
             memory <= 1 / 3),
        Goal("tools/list size vs peer", f"{size:.1f}× smaller", "≥ 10×", size >= 10),
        Goal("warm wall time", f"{w_wall:.2f} s", "≤ 0.5 s", w_wall <= 0.5),
    ]
    section.notes.append(f"CPU time, less sensitive to load from elsewhere: mcprt cold {p_cpu / c_cpu:.1f}× less "
                         f"than the peer ({c_cpu:.2f} vs {p_cpu:.2f} s)")
    if m_tools != p_tools:
        section.notes.append(f"tool counts differ: mcprt {m_tools}, peer {p_tools}")
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Compile benchmark (part 1).")
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick).markdown())
