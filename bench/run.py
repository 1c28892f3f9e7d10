"""Run every benchmark part in one process and print the figures and goal verdicts as Markdown.

    /work/venv/bin/python bench/run.py [--quick] [--only compile,calls,pruning,reload,discovery,observability]
                                       [--output FILE]

Parts: 1 compile (GitHub's description, vs the peer), 2 calls (latency above a direct-httpx floor,
vs the peer), 3 pruning (bytes and time), 4 reload (bench/reload.py) and 5 discovery
(bench/discovery.py), each included when its script exists. Inputs are set up on first use in
bench/.cache/ (npm pack @octokit/openapi; the peer's venv bench/.venv-peer with fastmcp 4.0.11).
Each part stays under about three minutes on two cores; `--quick` makes every part shorter.
The report is also written to bench/.cache/latest.md (or --output).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, CACHE, REPO, log, machine_summary, table, versions  # noqa: E402
from report import Section  # noqa: E402

PARTS = ("compile", "calls", "pruning", "reload", "discovery", "scrubbing", "observability")
EXTERNAL_TIMEOUT = 300  # seconds for reload.py / discovery.py


def external(title: str, script: Path, quick: bool) -> Section:
    """Run another engineer's benchmark script as it is and include what it prints."""
    section = Section(title=title)
    if not script.exists():
        section.notes.append(f"skipped: {script.relative_to(REPO)} does not exist yet")
        return section
    source = script.read_text()
    args: list[str] = []
    if "--reloads" in source:
        args += ["--reloads", "5" if quick else "20"]
    if quick and "--quick" in source:
        args.append("--quick")
    command = [sys.executable, str(script), *args]
    section.notes.append(f"command: `{shlex.join([Path(sys.executable).name, str(script.relative_to(REPO)), *args])}`")
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=EXTERNAL_TIMEOUT, cwd=REPO)
    except subprocess.TimeoutExpired as exc:
        section.raw = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        section.notes.append(f"stopped after {EXTERNAL_TIMEOUT} s")
        return section
    section.raw = done.stdout
    section.notes.append(f"took {time.perf_counter() - start:.0f} s, exit code {done.returncode}")
    if done.returncode != 0:
        section.notes.append("stderr tail: " + " ".join(done.stderr.strip().splitlines()[-5:]))
    return section


def run_part(name: str, quick: bool) -> Section:
    start = time.perf_counter()
    log(f"== {name}")
    try:
        if name == "compile":
            import compile as part
        elif name == "calls":
            import calls as part
        elif name == "pruning":
            import pruning as part
        elif name == "scrubbing":
            import scrubbing as part
        elif name == "observability":
            import observability as part
        elif name == "reload":
            return external("4. Hot reload (bench/reload.py)", BENCH / "reload.py", quick)
        else:
            return external("5. Discovery (bench/discovery.py)", BENCH / "discovery.py", quick)
        section = part.run(quick)
    except Exception as exc:  # one broken part must not hide the others' figures
        section = Section(title=f"{name}: failed")
        section.raw = "".join(traceback.format_exception(exc))[-3000:]
    log(f"== {name} took {time.perf_counter() - start:.0f} s")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls in every part")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of: {', '.join(PARTS)}")
    parser.add_argument("--output", type=Path, default=CACHE / "latest.md")
    args = parser.parse_args()
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    command = shlex.join(["python", "bench/run.py", *sys.argv[1:]])
    summary = machine_summary()
    started = time.perf_counter()
    sections = [run_part(name, args.quick) for name in chosen]
    summary.update(versions())
    summary["total time"] = f"{time.perf_counter() - started:.0f} s"
    summary["load average at end"] = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    header = table(["", ""], [[k, v] for k, v in summary.items()] + [["command", f"`{command}`"]])
    report = "\n\n".join([header, *(s.markdown() for s in sections)]) + "\n"
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)


if __name__ == "__main__":
    main()
