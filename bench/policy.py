"""Policy decision overhead: what a 100-rule `policy:` adds to each call. Goal: < 50 µs per call.

Measured through the real pipeline (a manifest compiled by `mcprt.pipeline.Runtime`, calls through
`mcprt.toolset.invoke.call_tool` with a principal) in two shapes of 100 rules:

  - typical: rules about other tools (name globs, sources), one rate limit, the call falls to `default`;
  - worst:   every rule's tool part matches the called tool, so each call walks all 100 rules'
             principal globs and 25 JMESPath `when` conditions before the last rule allows it.

Figures per call (median of rounds): `PolicyGate.admit` alone (pause check, rules, rate limit,
decision event with a subscriber on the bus) — the decision overhead — and the whole in-process
`call_tool` of a trivial Python tool with and without the policy, for scale.
The peer, measured in the same run on the same rules, is a straightforward interpreter of them (fnmatch
and `jmespath.search` per rule per call, as a first implementation would do); ratios are against it.

    .venv/bin/python bench/policy.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "runtime"))

TOOLS = "def noop(amount: int = 1) -> int:\n    \"\"\"Return the amount.\"\"\"\n    return amount\n"


def manifest(shape: str, with_policy: bool) -> str:
    head = "version: 1\nsources:\n  ops:\n    python: bench_tools\n"
    if not with_policy:
        return head
    rules = []
    for i in range(99):
        if shape == "typical":
            rules.append(f'    - {{match: {{tools: ["other_{i}_*"], sources: [ops]}}, action: deny}}')
        elif i % 4 == 0:
            rules.append(f'    - {{match: {{tools: ["*"], when: "amount > `{1000 + i}`"}}, action: approve}}')
        else:
            rules.append(f'    - {{match: {{tools: ["no*"], principals: ["team-{i}-*"]}}, action: deny}}')
    # typical: a glob, as the other rules: an exact tool name matching no served tool is a manifest error
    rules.append('    - {match: {tools: [noop]}, action: allow}' if shape == "worst" else
                 '    - {match: {tools: ["other_last_*"]}, action: allow}')
    return (head + "policy:\n  default: allow\n  rules:\n" + "\n".join(rules)
            + "\n  rate_limits:\n    - {match: {tools: [\"*\"]}, per: principal, limit: 100000000/s}\n")


def naive_decide(rules: list[Any], tool_name: str, source: str, principal: str, arguments: dict[str, Any]) -> str:
    """The peer: every rule interpreted from its manifest form on every call."""
    import jmespath

    for rule in rules:
        match = rule.match
        if match.tools and not any(fnmatch.fnmatchcase(tool_name, g) for g in match.tools):
            continue
        if match.sources and source not in match.sources:
            continue
        if match.principals and not any(fnmatch.fnmatchcase(principal, g) for g in match.principals):
            continue
        if match.when is not None and not jmespath.search(match.when, arguments):
            continue
        return rule.action
    return "allow"


async def measure(shape: str, calls: int, rounds: int) -> dict[str, float]:
    from mcprt.identity.principal import Principal
    from mcprt.observability.events import BUS
    from mcprt.pipeline import Runtime
    from mcprt.settings import Settings
    from mcprt.toolset.invoke import call_tool
    from mcprt.contracts import CallContext

    principal = Principal("ci-bot", "token")
    figures: dict[str, list[float]] = {"admit": [], "call_with": [], "call_without": [], "peer": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bench_tools.py").write_text(TOOLS)
        tools: dict[bool, Any] = {}
        runtimes = []
        for with_policy in (True, False):
            (folder / "mcp.yaml").write_text(manifest(shape, with_policy))
            runtime = Runtime(folder / "mcp.yaml", Settings(cache_dir=folder / "cache", reload=False))
            await runtime.start()
            runtimes.append(runtime)
            tools[with_policy] = runtime.holder.current.get("noop")
        gated = tools[True]
        assert gated.gate is not None and tools[False].gate is None
        policy = runtimes[0].loaded.manifest.policy
        seen: list[Any] = []
        unsubscribe = BUS.subscribe(lambda event: seen.append(event) if len(seen) < 10 else None)
        context = CallContext(tool="noop", timeout=30, max_response_bytes=1 << 20, principal=principal)
        arguments = {"amount": 7}
        try:
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(calls):
                    await gated.gate.admit(gated, arguments, arguments, context)
                figures["admit"].append((time.perf_counter() - started) / calls)
                for key, tool in (("call_with", gated), ("call_without", tools[False])):
                    started = time.perf_counter()
                    for _ in range(calls):
                        await call_tool(tool, arguments, principal=principal)
                    figures[key].append((time.perf_counter() - started) / calls)
                started = time.perf_counter()
                for _ in range(calls):
                    naive_decide(policy.rules, "noop", "ops", "ci-bot", arguments)
                figures["peer"].append((time.perf_counter() - started) / calls)
        finally:
            unsubscribe()
            for runtime in runtimes:
                await runtime.aclose()
        assert seen and seen[0].action == "allow", seen[:1]
    return {key: statistics.median(values) for key, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    options = parser.parse_args()
    calls, rounds = (300, 3) if options.quick else (3000, 7)
    print(f"policy decision overhead, 100 rules, {calls} calls × {rounds} rounds (median per call)")
    print(f"{'shape':<8} {'admit µs':>9} {'peer µs':>8} {'peer/admit':>10} {'call+policy µs':>15} {'call µs':>8} "
          f"{'admit/call':>10} {'goal <50 µs':>12}")
    for shape in ("typical", "worst"):
        f = asyncio.run(measure(shape, calls, rounds))
        # The two whole-call figures come from separate loops on a shared machine: compare `admit`
        # with `call`, not the two calls with each other (their difference is within the noise).
        print(f"{shape:<8} {f['admit'] * 1e6:>9.1f} {f['peer'] * 1e6:>8.1f} {f['peer'] / f['admit']:>9.1f}× "
              f"{f['call_with'] * 1e6:>15.1f} {f['call_without'] * 1e6:>8.1f} {f['admit'] / f['call_without']:>9.1%} "
              f"{'met' if f['admit'] < 50e-6 else 'MISSED':>12}")


if __name__ == "__main__":
    main()
