"""CPU and peak memory to read YAML with ruamel's pure parser vs libyaml (`mcprt.safe_yaml.load`).

    .venv/bin/python bench/yaml_spec.py

Inputs: Blockfrost's 500 KB description (the largest YAML spec in the fixtures), the catalog's YAML
spec (petstore; the other pinned specs are JSON, which has its own fast path) and the catalog's
largest recorded case (cases are YAML, read the same way). For each: process CPU (median of 3) and
tracemalloc's peak for the pure parser and for `safe_yaml.load`, and their ratio measured in the same
run: the pure parser is the peer.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mcprt import safe_yaml

ROOT = Path(__file__).resolve().parents[1]


def pure(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def measure(load: Callable[[str], Any], text: str) -> tuple[float, int]:
    """(median CPU seconds of 3 loads, peak bytes traced during one load)."""
    runs = []
    for _ in range(3):
        started = time.process_time()
        load(text)
        runs.append(time.process_time() - started)
    tracemalloc.start()
    load(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(runs), peak


def main() -> None:
    cases = sorted(ROOT.glob("catalog/*/cases/**/*.yaml"), key=lambda p: p.stat().st_size)
    inputs = [ROOT / "tests/fixtures/specs/vendors/blockfrost.yaml", ROOT / "catalog/petstore/spec/petstore.yaml", cases[-1]]
    print(f"libyaml extension: {'yes' if safe_yaml.c_parser_available() else 'NO (both columns are pure Python)'}")
    for path in inputs:
        text = path.read_text(encoding="utf-8")
        (p_cpu, p_peak), (c_cpu, c_peak) = measure(pure, text), measure(safe_yaml.load, text)
        print(f"{path.relative_to(ROOT)} ({len(text.encode()) / 1e3:.0f} KB): pure {p_cpu * 1000:.0f} ms CPU, "
              f"peak {p_peak / 1e6:.1f} MB; libyaml {c_cpu * 1000:.0f} ms, peak {c_peak / 1e6:.1f} MB; "
              f"{p_cpu / c_cpu:.1f}x less CPU, peak {c_peak / p_peak:.2f}x the pure one")


if __name__ == "__main__":
    main()
