"""Benchmark (not a test): how well discovery search answers natural questions, before and after a change.

    .venv/bin/python bench/discovery_quality.py [--before REV] [--repeat N] [--rounds R] [--verbose]

The evaluation set is `tests/discovery/natural_questions.py`: 42 questions about GitHub's 1,223
operations and 16 about Stripe's 452 (APIs.guru's full description), each with the operations that
answer it. Both APIs are compiled once by this tree's pipeline (discovery mode); then two rankings
index the same tools in one process:
- before: `runtime/mcprt/discovery/index.py` and `text.py` as they were at git revision REV
  (default 387ea75, the ranking before the natural-question work), loaded as a side package;
- after: this working tree's.
Per side: top-1 / top-5 hit rates on both APIs (and on the imperative tables of
tests/discovery/github_queries.py, which must not regress), the index build on GitHub, and the
per-query search time on GitHub (each query's median over `--repeat` searches, then the median and
p95 over queries). Builds and searches alternate between the sides `--rounds` times and the
figures are medians over rounds, so both see the same machine load; the report prints after/before.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' tables and spec fetchers
from discovery import latencies  # noqa: E402 - bench/discovery.py: per query, the median of repeated searches (ms)
BEFORE = "387ea75"  # main before this change: the ranking the evaluation set was measured on first


# --- inputs ---------------------------------------------------------------------------------------------


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


def ranking_at(rev: str, into: Path) -> ModuleType:
    """`mcprt/discovery/index.py` (with its `text.py`) of a git revision, importable beside this tree's
    as `mcprt._before_discovery` (its `..toolset` import resolves to this tree's, which it only types)."""
    folder = into / "_before_discovery"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name in ("index.py", "text.py"):
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:runtime/mcprt/discovery/{name}"],
                               check=True, capture_output=True, text=True)
        (folder / name).write_text(shown.stdout)
    import mcprt

    package = "mcprt._before_discovery"
    spec = importlib.util.spec_from_file_location(package, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    mcprt._before_discovery = module  # type: ignore[attr-defined]
    return importlib.import_module(f"{package}.index")


def ranks(index, table) -> list[int | None]:  # type: ignore[no-untyped-def]
    out = []
    for query, answers in table:
        answers = (answers,) if isinstance(answers, str) else answers
        keys = [hit.tool.operation.key for hit in index.search(query, limit=5)]
        out.append(next((i + 1 for i, key in enumerate(keys) if key in answers), None))
    return out


def rate(found: list[int | None], top: int) -> str:
    hits = sum(1 for r in found if r is not None and r <= top)
    return f"{hits}/{len(found)} ({100 * hits / len(found):.0f}%)"




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' ranking (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=30, help="searches per query for its median time")
    parser.add_argument("--rounds", type=int, default=5, help="alternating builds and search passes per side")
    parser.add_argument("--verbose", action="store_true", help="print each question's rank on both sides")
    args = parser.parse_args()

    from mcprt.discovery import index as after_module
    from tests.discovery.github_queries import PARAPHRASES, TASKS
    from tests.discovery.natural_questions import GITHUB, STRIPE
    from tests.support.github_spec import github_spec_path
    from tests.support.npm_specs import stripe_spec_path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "g").mkdir()
        (folder / "s").mkdir()
        before_module = ranking_at(args.before, folder)
        github = _compile(github_spec_path(), folder / "cache", folder / "g")
        stripe = _compile(stripe_spec_path(), folder / "cache", folder / "s")
    sides = {"before": before_module, "after": after_module}
    queries = [q for q, _ in GITHUB + TASKS + PARAPHRASES]
    builds: dict[str, list[float]] = {name: [] for name in sides}
    medians: dict[str, list[float]] = {name: [] for name in sides}
    p95s: dict[str, list[float]] = {name: [] for name in sides}
    indexes = {}
    for round_ in range(args.rounds):
        order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]  # neither always goes first
        for name, module in order:
            indexes.pop(name, None)
            gc.collect()  # the previous index's garbage is not charged to the next build
            started = time.perf_counter()
            indexes[name] = module.SearchIndex(github)
            builds[name].append((time.perf_counter() - started) * 1000)
            times = sorted(latencies(indexes[name], queries, args.repeat))
            medians[name].append(statistics.median(times))
            p95s[name].append(times[int(0.95 * (len(times) - 1))])
    found = {}
    for name, module in sides.items():
        stripe_index = module.SearchIndex(stripe)
        found[name] = {"github questions": ranks(indexes[name], GITHUB), "stripe questions": ranks(stripe_index, STRIPE),
                       "github tasks (imperative)": ranks(indexes[name], TASKS),
                       "github paraphrases (imperative)": ranks(indexes[name], PARAPHRASES)}

    load = os.getloadavg()
    print(f"discovery search on natural questions: before = {args.before}, after = this tree; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.rounds} alternating rounds\n")
    print("| set | before top-1 | after top-1 | before top-5 | after top-5 |")
    print("| --- | --- | --- | --- | --- |")
    for name in found["after"]:
        b, a = found["before"][name], found["after"][name]
        print(f"| {name} | {rate(b, 1)} | {rate(a, 1)} | {rate(b, 5)} | {rate(a, 5)} |")
    print()
    print(f"| figure (GitHub, {len(github):,} operations; medians over rounds) | before | after | after / before |")
    print("| --- | --- | --- | --- |")
    for label, series, digits in (("index build", builds, 0),
                                  (f"search, median of {len(queries)} queries", medians, 3),
                                  (f"search, p95 of {len(queries)} queries", p95s, 3)):
        b, a = statistics.median(series["before"]), statistics.median(series["after"])
        print(f"| {label} | {b:.{digits}f} ms | {a:.{digits}f} ms | {a / b:.2f}× |")
    if args.verbose:
        for api, table in (("github", GITHUB), ("stripe", STRIPE)):
            print(f"\n{api}: rank before → after (- = not in the top 5)")
            for (question, _), b, a in zip(table, found["before"][f"{api} questions"],
                                           found["after"][f"{api} questions"], strict=True):
                print(f"  {b or '-'} → {a or '-'}  {question}")


if __name__ == "__main__":
    main()
