"""`mcprt validate`'s policy checks on a big API: `check_policy` for a 47-rule policy on GitHub's REST
description (1,223 operations). It runs on the event loop during a hot reload, so it must stay short.
Goal: < 200 ms (it took 2.25 s when each rule's match was compiled once per tool).

Compiles the manifest once (`mcprt.pipeline.compile_once`), then times `check_policy` alone, median of
rounds, and prints how many warnings it found (the same count on every run).

    .venv/bin/python bench/policy_checks.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "runtime"))

from common import ensure_github_spec  # noqa: E402

GOAL_MS = 200.0


def manifest(spec: Path) -> str:
    """40 `when` rules on `repos_*` (each reads the tools' schemas), then rules of every other kind."""
    rules = [f'    - {{match: {{tools: ["repos_*"], when: "per_page > `{n}`"}}, action: deny}}' for n in range(40)]
    rules += [
        '    - {match: {tools: ["*delete*"]}, action: approve}',
        "    - {match: {methods: [DELETE], principals: [ci-bot]}, action: deny, reason: no}",
        "    - {match: {tools: [\"issues_*\"], when: \"state == 'closed'\"}, action: deny}",
        '    - {match: {tools: ["repos_*"], when: "per_page > `50`"}, action: deny}',
        "    - {match: {annotations: {readOnlyHint: true}}, action: allow}",
        '    - {match: {tools: ["pulls_*"], principals: ["ci-*"]}, action: hide}',
        "    - {match: {tools: [pulls_get]}, action: deny}",
    ]
    return (f"version: 1\nserver:\n  auth: {{tokens: {{alice: a, bob: b, ci-bot: c}}}}\nsources:\n  github:\n"
            f"    openapi: {spec}\n    base_url: https://api.github.com\npolicy:\n  rules:\n" + "\n".join(rules)
            + "\n  approvals: {approvers: [alice, bob], required: 2}\n  rate_limits:\n"
            "    - {match: {tools: [\"search_*\"]}, per: principal, limit: 10/min}\n")


async def measure(rounds: int) -> tuple[int, int, int, list[float]]:
    from mcprt.pipeline import compile_once
    from mcprt.policy.checks import check_policy
    from mcprt.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mcp.yaml"
        path.write_text(manifest(ensure_github_spec()))
        os.environ.setdefault("MCPRT_CACHE_DIR", str(Path(tmp) / "cache"))
        runtime, compiled = await compile_once(path, load_settings())
        try:
            times, found = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                found = check_policy(compiled.loaded, compiled.toolset)
                times.append((time.perf_counter() - started) * 1000)
        finally:
            await runtime.aclose()
    policy = compiled.loaded.manifest.policy
    assert policy is not None
    return len(compiled.toolset.tools), len(policy.rules), len(found), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tools, rules, warnings, times = asyncio.run(measure(args.rounds))
    median = statistics.median(times)
    print(f"check_policy: {tools} tools, {rules} rules, {warnings} warnings: median {median:.1f} ms, "
          f"min {min(times):.1f} ms over {len(times)} rounds (goal < {GOAL_MS:g} ms: "
          f"{'met' if median < GOAL_MS else 'MISSED'})")


if __name__ == "__main__":
    main()
