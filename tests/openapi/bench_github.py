"""Benchmark (not a test): compile GitHub's REST description, cold and warm, and size tools/list.

    /work/venv/bin/python tests/openapi/bench_github.py [--cold|--warm] [SPEC]

Prints compile seconds, peak RSS (MB), tracemalloc peak when --trace, tools and tools/list bytes.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()

from mcprt.manifest.model import Defaults, OpenAPISource  # noqa: E402
from mcprt.sources.openapi import compile_openapi, load_document  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def tools_list(compiled) -> str:
    tools = [
        {
            "name": op.operation.name,
            "description": op.operation.description,
            "inputSchema": op.operation.input_schema,
            "annotations": op.operation.annotations,
        }
        for op in compiled.operations
    ]
    return json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    spec = Path(args[0] if args else os.environ.get("MCPRT_GITHUB_SPEC", ROOT / "bench/.cache/api.github.com.json"))
    cache_dir = Path(os.environ.get("BENCH_CACHE", tempfile.mkdtemp(prefix="mcprt-bench-")))
    if "--trace" in sys.argv:
        import tracemalloc

        tracemalloc.start()
    t1 = time.perf_counter()
    doc = load_document(str(spec), ROOT, cache_dir)
    compiled = compile_openapi(doc, OpenAPISource(openapi=str(spec)), Defaults(), cache_dir=cache_dir)
    t2 = time.perf_counter()
    text = tools_list(compiled)
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"from_cache={compiled.from_cache} imports={t1 - T0:.3f}s compile={t2 - t1:.3f}s list={t3 - t2:.3f}s")
    print(f"tools={len(compiled.operations)} tools_list_bytes={len(text.encode())} peak_rss={rss:.0f}MB")
    if "--trace" in sys.argv:
        import tracemalloc

        print(f"tracemalloc peak={tracemalloc.get_traced_memory()[1] / 1e6:.1f}MB")
    print(f"warnings={len(compiled.warnings)}", *compiled.warnings[:5], sep="\n  ")
    print(f"cache_dir={cache_dir}")


if __name__ == "__main__":
    main()
