"""Benchmark of the per-call shaping cost (not a test: pytest does not collect this name).

    /work/venv/bin/python tests/shaping/measure_prune.py [--repeat 7] [--number 200]

Goal: prune + auto-prune + template on a ~100 KB JSON body in ≤ 1 ms per call. Also reports the
full `shape_result`, auto-prune of the whole body (no prune expression: the worst case for it),
and `shorten_to_fit` of a 10 MB value down to 100 KB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shaping_payloads import github_issues  # noqa: E402

from mcprt.manifest.model import AutoPrune  # noqa: E402
from mcprt.shaping import (  # noqa: E402
    Shaping,
    compile_autoprune,
    compile_prune,
    compile_template,
    json_size,
    shape_result,
    shorten_to_fit,
)
from mcprt.toolset.operation import UpstreamResult  # noqa: E402

LIST_VIEW = "[].{number: number, title: title, state: state, user: user.login, labels: labels[].name}"
TEMPLATE = "{% for i in result %}\n#{{ i.number }} {{ i.title }} ({{ i.state }}, @{{ i.user }}) {{ i.labels | join(',') }}\n{% endfor %}"


def per_call(function: Callable[[], object], repeat: int, number: int) -> float:
    """Median seconds per call over `repeat` runs of `number` calls."""
    function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def body_of_about(target_bytes: int) -> list[dict]:
    issues = github_issues()
    while json_size(issues) > target_bytes:
        issues.pop()
    return issues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()

    body = body_of_about(100_000)
    pruner = compile_prune(LIST_VIEW)
    autoprune = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True, drop_keys=["*_url", "node_id"]))
    template = compile_template(TEMPLATE, kind="output")

    def prune_autoprune_template() -> str:
        return template.render(result=autoprune.apply(pruner.apply(body)), status=200, raw_bytes=100_000, tool="t")

    upstream = UpstreamResult(kind="json", body=body, raw_bytes=json_size(body), status=200)
    json_shaping = Shaping(pruner=pruner, autoprune=autoprune, tool="list_issues")
    template_shaping = Shaping(pruner=pruner, autoprune=autoprune, output=template, tool="list_issues")
    autoprune_only = Shaping(autoprune=autoprune, tool="list_issues")
    big = {"total_count": 3_000, "items": github_issues() * 100}
    big_bytes = json_size(big)
    big_upstream = UpstreamResult(kind="json", body=big, raw_bytes=big_bytes, status=200)

    rows = [
        (f"prune + autoprune + template, {len(body)} issues ({json_size(body)} B)", prune_autoprune_template, args.number),
        ("  prune only", lambda: pruner.apply(body), args.number),
        ("shape_result json (prune + autoprune)", lambda: shape_result(upstream, json_shaping), args.number),
        ("shape_result template", lambda: shape_result(upstream, template_shaping), args.number),
        ("shape_result autoprune only (whole body kept)", lambda: shape_result(upstream, autoprune_only), args.number),
        (f"shorten_to_fit {big_bytes / 1e6:.1f} MB → 100 KB", lambda: shorten_to_fit(big, 100_000), 3),
        (f"shape_result {big_bytes / 1e6:.1f} MB, autoprune, 100 KB limit", lambda: shape_result(big_upstream, autoprune_only), 3),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, function, number in rows:
        seconds = per_call(function, args.repeat if number > 3 else 3, number)
        print(f"{name:<{width}}  {seconds * 1e3:9.3f} ms")
    result = shape_result(upstream, json_shaping)
    print(f"bytes: upstream {result.raw_bytes} → sent {result.sent_bytes} ({result.sent_bytes / result.raw_bytes:.1%})")


if __name__ == "__main__":
    main()
