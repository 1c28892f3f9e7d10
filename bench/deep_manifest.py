"""CPU to refuse a manifest whose flow collections (`[`, `{`) nest past the depth limit.

    .venv/bin/python bench/deep_manifest.py

A manifest comes from a pull request, or is saved while `mcprt up` watches it: refusing one must cost
about what reading it costs. Prints process CPU per depth (median of 3) for `read_yaml`, and its ratio
to reading the deepest manifest the limit accepts (64 levels), measured in the same run: the peer.
"""

from __future__ import annotations

import statistics
import time

from mcprt.manifest.yaml_reader import read_yaml


def main() -> None:
    peer = None
    for depth in (64, 300, 1000, 5000, 50_000):
        text = f"version: 1\nsources: {{}}\nx: {'[' * depth}{']' * depth}\n"
        runs = []
        for _ in range(3):
            started = time.process_time()
            _, _, diagnostics = read_yaml(text, "mcp.yaml")
            runs.append(time.process_time() - started)
        cost = statistics.median(runs)
        peer = peer or cost  # the first depth, 64: accepted
        verdict = diagnostics[0].message if diagnostics else "loaded"
        print(f"depth {depth:>6}: {cost * 1000:8.1f} ms CPU  {cost / peer:6.2f}x the 64-level read  ({verdict})")


if __name__ == "__main__":
    main()
