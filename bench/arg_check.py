"""CPU of the argument check per call, in this process: three ways of checking the same arguments.

    python bench/arg_check.py [--baseline CHECKOUT] [--rounds 9] [--passes 20]

Schemas: the 1,223 input schemas mcprt compiles from GitHub's REST description (`mcprt tools
--json`), each with one valid argument object (tests/support/schema_values.example, kept where
jsonschema finds no error: the shortcut exists for the common, valid call), and the 2 KB tool of
bench/calls.py (`{"id": <integer>}`, required). Variants, timed in interleaved rounds:
  - this checkout's `argument_validator` (today: fastjsonschema's compiled shortcut, jsonschema
    for everything else);
  - jsonschema only: this checkout's full validator (`iter_errors`, the guarded 2020-12 walk);
  - plain `Draft202012Validator.is_valid`, built once per schema: for reference only (it evaluates
    `pattern` with Python's `re` and raises on some schemas, so mcprt cannot use it as is);
  - `--baseline CHECKOUT`: that checkout's `runtime/mcprt/schema/validator.py` loaded into this
    process (e.g. /work/main before this change: mcprt's own `plain_check`).
Printed: median over rounds of µs per check (all GitHub tools once per pass, weighted equally, and
the 2 KB tool), ratios to jsonschema only, and the one-time cost of building each variant's
validators for every GitHub tool (CPU and memory held, tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import CACHE, ensure_github_spec, log, mcprt_env, median  # noqa: E402
from compile import mcprt_command, write_manifest  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

import mcprt.schema  # noqa: E402,F401  (the package a baseline's validator module is loaded into)
from mcprt.schema import validator as current  # noqa: E402
from tests.support.schema_values import example  # noqa: E402

SMALL = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
Build = Callable[[dict[str, Any]], Callable[[Any], Any]]


def github_schemas() -> list[dict[str, Any]]:
    manifest = write_manifest(ensure_github_spec())
    out = subprocess.run([*mcprt_command(), "tools", str(manifest), "--json"], capture_output=True, text=True,
                         check=True, env=mcprt_env(MCPRT_CACHE_DIR=str(CACHE / "compile" / "mcprt-cache")))
    return [tool["inputSchema"] for tool in json.loads(out.stdout)["tools"]]


def load_baseline(checkout: Path) -> Any:
    path = checkout / "runtime" / "mcprt" / "schema" / "validator.py"
    spec = importlib.util.spec_from_file_location("mcprt.schema._baseline_validator", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its relative imports resolve in this checkout's mcprt.schema
    return module


def variants(baseline: Any | None) -> dict[str, Build]:
    found: dict[str, Build] = {
        "this checkout": lambda s: (lambda v: lambda i: list(v.iter_errors(i)))(current.argument_validator(s)),
        "jsonschema only": lambda s: (lambda v: lambda i: list(v.iter_errors(i)))(
            current._ArgumentValidator(s, registry=current._LOCAL_ONLY)),
        "plain Draft202012 is_valid": lambda s: Draft202012Validator(s).is_valid,
    }
    if baseline is not None:
        found["baseline"] = lambda s: (lambda v: lambda i: list(v.iter_errors(i)))(baseline.argument_validator(s))
    return found


def build_cost(build: Build, schemas: list[dict[str, Any]]) -> tuple[float, float, float]:
    """CPU seconds to build every schema's check, the slowest one, and MB held by them (a second
    build under tracemalloc, which slows allocation: not timed)."""
    gc.collect()
    start, slowest, kept = time.process_time(), 0.0, []
    for schema in schemas:
        began = time.process_time()
        kept.append(build(schema))
        slowest = max(slowest, time.process_time() - began)
    total = time.process_time() - start
    kept.clear()
    gc.collect()
    tracemalloc.start()
    kept = [build(schema) for schema in schemas]
    held = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    return total, slowest, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, e.g. /work/main")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--passes", type=int, default=20, help="checks of each schema per round")
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None
    schemas = github_schemas()
    cases = [(s, example(s)) for s in schemas]
    cases = [(s, i) for s, i in cases if Draft202012Validator(s).is_valid(i)]
    log(f"arg_check: {len(cases)} of {len(schemas)} GitHub tools with a valid example")
    builds = variants(baseline)
    costs = {name: build_cost(build, [s for s, _ in cases]) for name, build in builds.items()}
    checks = {name: [(build(s), i) for s, i in cases] for name, build in builds.items()}
    small = {name: build(SMALL) for name, build in builds.items()}
    times: dict[str, list[float]] = {name: [] for name in builds}
    small_times: dict[str, list[float]] = {name: [] for name in builds}
    order = list(builds)
    for _ in range(args.rounds):
        random.shuffle(order)
        for name in order:
            pairs, check = checks[name], small[name]
            began = time.process_time()
            for _ in range(args.passes):
                for run, instance in pairs:
                    run(instance)
            times[name].append((time.process_time() - began) / (args.passes * len(pairs)))
            began = time.process_time()
            for n in range(args.passes * 500):
                check({"id": n})
            small_times[name].append((time.process_time() - began) / (args.passes * 500))
    walk, walk_small = median(times["jsonschema only"]), median(small_times["jsonschema only"])
    print(f"\nargument check CPU per call ({args.rounds} interleaved rounds, medians; {len(cases)} GitHub tools)")
    print(f"  {'variant':28s} {'GitHub µs':>10s} {'vs walk':>8s} {'2 KB tool µs':>13s} {'vs walk':>8s}"
          f" {'build all ms':>13s} {'slowest ms':>11s} {'held MB':>8s}")
    for name in builds:
        total, slowest, held = costs[name]
        mine, mine_small = median(times[name]), median(small_times[name])
        print(f"  {name:28s} {mine * 1e6:10.2f} {mine / walk:8.2f} {mine_small * 1e6:13.2f} {mine_small / walk_small:8.2f}"
              f" {total * 1e3:13.0f} {slowest * 1e3:11.1f} {held:8.1f}")
    shortcut = sum(1 for s, _ in cases if current.valid_shortcut(s) is not None)
    print(f"  shortcut compiled for {shortcut} of {len(cases)} tools (the rest: a keyword it leaves to jsonschema)")
    if baseline is not None and hasattr(baseline, "plain_check"):
        plain = sum(1 for s, _ in cases if baseline.plain_check(s) is not None)
        print(f"  baseline's plain_check covered {plain} of {len(cases)}")


if __name__ == "__main__":
    main()
