"""Benchmark (not a test): discovery search on agents' plain-word requests, before and after a change.

    .venv/bin/python bench/discovery_requests.py [--before REV] [--cache DIR] [--verbose]

The evaluation set is `tests/discovery/agent_requests.py`: the new-user trial's requests and 43
more over GitHub (1,223 operations), Stripe (452) and the Kubernetes fixture subset, each with
the operations that do it. The three APIs are compiled once by this tree's pipeline (discovery
mode); then two rankings index the same tools in one process: `before` is
`runtime/mcprt/discovery/index.py` and `text.py` at git revision REV (default: the merge base this
work started from), `after` is this working tree's. Prints top-1 / top-3 / top-5 hit rates per set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from discovery_quality import _compile, ranking_at  # noqa: E402 - the same compile and side-loading

BEFORE = "1bf4c06b"  # branch merge when the request set was written: the ranking the trial measured


def rank_of(index, request: str, answers: tuple[str, ...]) -> int | None:  # type: ignore[no-untyped-def]
    keys = [hit.tool.operation.key for hit in index.search(request, limit=5)]
    return next((i + 1 for i, key in enumerate(keys) if key in answers), None)


def rate(found: list[int | None], top: int) -> str:
    hits = sum(1 for r in found if r is not None and r <= top)
    return f"{hits}/{len(found)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the 'before' ranking (default %(default)s)")
    parser.add_argument("--cache", type=Path, help="compile cache to reuse between runs (default: a temporary one)")
    parser.add_argument("--verbose", action="store_true", help="print each request's rank on both sides")
    args = parser.parse_args()

    from mcprt.discovery import index as after_module
    from tests.discovery.agent_requests import GITHUB, KUBERNETES, REPORTED, STRIPE
    from tests.support.github_spec import github_spec_path
    from tests.support.npm_specs import stripe_spec_path

    specs = {"github": github_spec_path(), "stripe": stripe_spec_path(),
             "kubernetes": ROOT / "tests" / "fixtures" / "specs" / "kubernetes-subset.json"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cache = args.cache or folder / "cache"
        before_module = ranking_at(args.before, folder)
        tools = {}
        for api, spec in specs.items():
            (folder / api).mkdir()
            tools[api] = _compile(spec, cache, folder / api)
    sets = {"reported (trial)": [(api, q, a) for api, q, a in REPORTED],
            "github": [("github", q, a) for q, a in GITHUB],
            "stripe": [("stripe", q, a) for q, a in STRIPE],
            "kubernetes": [("kubernetes", q, a) for q, a in KUBERNETES]}
    found: dict[str, dict[str, list[int | None]]] = {}
    for side, module in (("before", before_module), ("after", after_module)):
        indexes = {api: module.SearchIndex(found_tools) for api, found_tools in tools.items()}
        found[side] = {name: [rank_of(indexes[api], q, a) for api, q, a in rows] for name, rows in sets.items()}
        found[side]["all"] = [r for name in sets for r in found[side][name]]

    print(f"discovery search on agent requests: before = {args.before}, after = this tree\n")
    print("| set | top-1 before | top-1 after | top-3 before | top-3 after | top-5 before | top-5 after |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in [*sets, "all"]:
        b, a = found["before"][name], found["after"][name]
        print(f"| {name} | {rate(b, 1)} | {rate(a, 1)} | {rate(b, 3)} | {rate(a, 3)} | {rate(b, 5)} | {rate(a, 5)} |")
    if args.verbose:
        print("\nrank before → after (- = not in the top 5)")
        for name, rows in sets.items():
            for (api, request, _), b, a in zip(rows, found["before"][name], found["after"][name], strict=True):
                print(f"  {b or '-'} → {a or '-'}  [{api}] {request}")


if __name__ == "__main__":
    main()
