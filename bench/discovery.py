"""Benchmark (not a test): discovery mode over GitHub's REST description (1,223 operations).

    /work/venv/bin/python bench/discovery.py [--repeat N] [--quick]

Measures, through the real pipeline (OpenAPI source → ToolSet → meta-tools):
- search latency for the query tables of tests/discovery (median / p95 per query; goal ≤ 5 ms median),
  and the index build time (once per ToolSet, on the first search);
- the hit rate of those tables (top-1 / top-3);
- the bytes a model reads before its first useful call: discovery (tools/list + one search result +
  one describe) against the full listing of the same API.
The GitHub document is fetched into bench/.cache/ with npm when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcprt.discovery import SearchIndex  # noqa: E402
from mcprt.pipeline import Compiled  # noqa: E402
from mcprt.toolset.invoke import call_tool  # noqa: E402
from tests.discovery.discovery_support import compile_manifest, github_manifest  # noqa: E402
from tests.discovery.github_queries import PARAPHRASES, TASKS  # noqa: E402
from tests.support.github_spec import SpecUnavailable, github_spec_path  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def latencies(index: SearchIndex, queries: list[str], repeat: int) -> list[float]:
    """Per query, the median of `repeat` searches (ms)."""
    out = []
    for query in queries:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            index.search(query, limit=8)
            runs.append((time.perf_counter() - started) * 1000)
        out.append(statistics.median(runs))
    return out


def hit_rates(index: SearchIndex, table: list[tuple[str, str]]) -> tuple[int, int]:
    top1 = top3 = 0
    for query, operation_id in table:
        keys = [hit.tool.operation.key for hit in index.search(query, limit=3)]
        top1 += bool(keys) and keys[0] == operation_id
        top3 += operation_id in keys
    return top1, top3


async def first_call_bytes(discovery: Compiled, table: list[tuple[str, str]]) -> list[int]:
    """Per task: tools/list + the search result + the describe of the right operation, as the model reads them."""
    toolset = discovery.toolset
    listing = len(toolset.list_result_json().encode())
    by_key = {tool.operation.key: tool.name for tool in toolset}
    out = []
    for query, operation_id in table:
        found = await call_tool(toolset.get("search_tools"), {"query": query})
        described = await call_tool(toolset.get("describe_tools"), {"names": [by_key[operation_id]]})
        out.append(listing + found.sent_bytes + described.sent_bytes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="searches per query for the latency median")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (10 per query)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 10
    try:
        spec = github_spec_path()
    except SpecUnavailable as exc:
        sys.exit(f"cannot run: {exc}")

    with tempfile.TemporaryDirectory() as tmp:
        folder, cache = Path(tmp), Path(tmp) / "cache"
        (folder / "d").mkdir()
        (folder / "t").mkdir()
        started = time.perf_counter()
        discovery = compile_manifest(github_manifest(folder / "d", spec, server="  expose: discovery\n"), cache)
        compile_s = time.perf_counter() - started
        full = compile_manifest(github_manifest(folder / "t", spec), cache)

    searchable = [tool for tool in discovery.toolset if tool.expose == "discovery"]
    builds = []
    for _ in range(5):  # the best of 5: the machine is shared, the figure is the work itself
        started = time.perf_counter()
        index = SearchIndex(searchable)
        builds.append((time.perf_counter() - started) * 1000)
    build_ms = min(builds)

    table = TASKS + PARAPHRASES
    times = latencies(index, [q for q, _ in table], args.repeat)
    t1, t3 = hit_rates(index, TASKS)
    p1, p3 = hit_rates(index, PARAPHRASES)
    discovery_bytes = asyncio.run(first_call_bytes(discovery, TASKS))
    listing = len(discovery.toolset.list_result_json().encode())
    full_listing = len(full.toolset.list_result_json().encode())

    rows = [
        ("operations", f"{len(searchable):,}"),
        ("compile (cold, discovery manifest)", f"{compile_s:.2f} s"),
        ("index build (first search; best of 5)", f"{build_ms:.0f} ms"),
        (f"search latency, {len(table)} queries, median", f"{statistics.median(times):.2f} ms"),
        (f"search latency, {len(table)} queries, p95", f"{percentile(times, 0.95):.2f} ms"),
        ("search latency, slowest query", f"{max(times):.2f} ms"),
        (f"typical tasks ({len(TASKS)}): top-1 / top-3", f"{t1}/{len(TASKS)} / {t3}/{len(TASKS)}"),
        (f"held-out paraphrases ({len(PARAPHRASES)}): top-1 / top-3", f"{p1}/{len(PARAPHRASES)} / {p3}/{len(PARAPHRASES)}"),
        ("tools/list, discovery (3 meta-tools)", f"{listing:,} B"),
        ("first useful call, discovery: list + search + describe, median", f"{statistics.median(discovery_bytes):,.0f} B"),
        ("first useful call, discovery: max over tasks", f"{max(discovery_bytes):,} B"),
        ("tools/list, every tool listed", f"{full_listing:,} B"),
        ("reduction (full listing / discovery median)", f"{full_listing / statistics.median(discovery_bytes):,.0f}×"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"| {'figure'.ljust(width)} | value |")
    print(f"| {'-' * width} | --- |")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
