"""Benchmark (not a test): how well discovery search answers natural questions, before and after a change.

    .venv/bin/python bench/discovery_quality.py [--before REV] [--repeat N] [--rounds R] [--verbose]

The evaluation set is `tests/discovery/natural_questions.py`: 42 questions about GitHub's 1,223
operations and 16 about Stripe's 452 (APIs.guru's full description), each with the operations that
answer it. Two sides are measured, each in its own worker process compiled by its own mcprt:
- before: mcprt's `runtime/` at git revision REV (default 387ea75, the ranking before the
  natural-question work), extracted with `git archive` into a temporary folder;
- after: this working tree.
Per side: top-1 / top-5 hit rates on both APIs (and on the imperative tables of
tests/discovery/github_queries.py, which must not regress), the index build (best of 5), and the
per-query search time on GitHub (median of each query's median over `--repeat` searches). The
workers run alternately `--rounds` times and the timings are the medians over rounds, so both sides
see the same machine load; the report prints after/before ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "387ea75"  # main before this change: the ranking the evaluation set was measured on first


# --- worker: runs inside one side's interpreter ----------------------------------------------------------


def _compile(spec: Path, cache: Path, folder: Path) -> list:  # list[Tool]
    from mcprt.pipeline import Runtime
    from mcprt.settings import Settings

    manifest = folder / "mcp.yaml"
    manifest.write_text(
        "version: 1\nserver:\n  name: bench\n  expose: discovery\nsources:\n  api:\n"
        f"    openapi: {spec}\n    base_url: http://127.0.0.1:9\n"
    )

    async def work():  # type: ignore[no-untyped-def]
        runtime = Runtime(manifest, Settings(cache_dir=cache))
        try:
            return await runtime.compile()
        finally:
            await runtime.aclose()

    compiled = asyncio.run(work())
    return [tool for tool in compiled.toolset if tool.expose == "discovery"]


def _ranks(index, table) -> list[int | None]:  # type: ignore[no-untyped-def]
    out = []
    for query, answers in table:
        answers = (answers,) if isinstance(answers, str) else answers
        keys = [hit.tool.operation.key for hit in index.search(query, limit=5)]
        out.append(next((i + 1 for i, key in enumerate(keys) if key in answers), None))
    return out


def worker(repeat: int) -> None:
    sys.path.insert(0, str(ROOT))  # the tests' tables and spec fetchers (this side's mcprt is on PYTHONPATH)
    from mcprt.discovery import SearchIndex
    from tests.discovery.github_queries import PARAPHRASES, TASKS
    from tests.discovery.natural_questions import GITHUB, STRIPE
    from tests.support.github_spec import github_spec_path
    from tests.support.npm_specs import stripe_spec_path

    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        (Path(tmp) / "g").mkdir()
        (Path(tmp) / "s").mkdir()
        github = _compile(github_spec_path(), cache, Path(tmp) / "g")
        stripe = _compile(stripe_spec_path(), cache, Path(tmp) / "s")
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        index = SearchIndex(github)
        builds.append(time.perf_counter() - started)
    stripe_index = SearchIndex(stripe)
    result["operations"] = {"github": len(github), "stripe": len(stripe)}
    result["build_ms"] = min(builds) * 1000
    result["ranks"] = {
        "github questions": _ranks(index, GITHUB),
        "stripe questions": _ranks(stripe_index, STRIPE),
        "github tasks": _ranks(index, TASKS),
        "github paraphrases": _ranks(index, PARAPHRASES),
    }
    per_query = []
    for query, _ in GITHUB + TASKS + PARAPHRASES:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            index.search(query, limit=8)
            runs.append(time.perf_counter() - started)
        per_query.append(statistics.median(runs) * 1000)
    result["search_ms"] = statistics.median(per_query)
    result["search_p95_ms"] = sorted(per_query)[int(0.95 * (len(per_query) - 1))]
    result["questions"] = {"github": [q for q, _ in GITHUB], "stripe": [q for q, _ in STRIPE]}
    print(json.dumps(result))


# --- driver ----------------------------------------------------------------------------------------------


def extract(rev: str, into: Path) -> Path:
    """`runtime/` of a git revision as a folder to put on PYTHONPATH."""
    archive = into / "before.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev, "runtime"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "runtime"


def run_side(runtime: Path, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(runtime)}
    done = subprocess.run([sys.executable, __file__, "--worker", "--repeat", str(repeat)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"worker on {runtime} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rate(ranks: list[int | None], top: int) -> str:
    hits = sum(1 for r in ranks if r is not None and r <= top)
    return f"{hits}/{len(ranks)} ({100 * hits / len(ranks):.0f}%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' ranking (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=30, help="searches per query for its median time")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of both sides (timing medians)")
    parser.add_argument("--verbose", action="store_true", help="print each question's rank on both sides")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.repeat)
        return

    with tempfile.TemporaryDirectory() as tmp:
        before_runtime = extract(args.before, Path(tmp))
        sides = {"before": before_runtime, "after": ROOT / "runtime"}
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for name, runtime in sides.items():
                runs[name].append(run_side(runtime, args.repeat))
    before, after = runs["before"][0], runs["after"][0]  # ranks are deterministic; timings take the median

    def timing(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    load = os.getloadavg()
    print(f"discovery search quality: before = {args.before}, after = working tree; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.rounds} alternating rounds\n")
    print("| set | before top-1 | after top-1 | before top-5 | after top-5 |")
    print("| --- | --- | --- | --- | --- |")
    for name in after["ranks"]:
        b, a = before["ranks"][name], after["ranks"][name]
        print(f"| {name} | {rate(b, 1)} | {rate(a, 1)} | {rate(b, 5)} | {rate(a, 5)} |")
    print()
    print("| figure (GitHub, 1,223 operations) | before | after | after / before |")
    print("| --- | --- | --- | --- |")
    for label, key, unit in (("index build, best of 5", "build_ms", "ms"),
                             ("search, median per query", "search_ms", "ms"),
                             ("search, p95 per query", "search_p95_ms", "ms")):
        b, a = timing("before", key), timing("after", key)
        digits = 0 if key == "build_ms" else 3
        print(f"| {label} | {b:.{digits}f} {unit} | {a:.{digits}f} {unit} | {a / b:.2f}× |")
    if args.verbose:
        for api in ("github", "stripe"):
            print(f"\n{api}: rank before → after (- = not in the top 5)")
            for question, b, a in zip(after["questions"][api], before["ranks"][f"{api} questions"],
                                      after["ranks"][f"{api} questions"], strict=True):
                print(f"  {b or '-'} → {a or '-'}  {question}")


if __name__ == "__main__":
    main()
