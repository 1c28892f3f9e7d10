"""Benchmark (not a test): hot reload's catch-up after the first answer, on GitHub's description.

    .venv/bin/python bench/catch_up.py [--rounds 15]

`mcprt up` over stdio records the watched files' baseline as compiled and creates the reloader after
its first answer; the reloader's `catch_up()` then looks for edits made in between. It hashed every
watched file again (GitHub's 13 MB description: one sha256 of it per start); it now compares each
file's stat with the one the digest was taken at and hashes only files whose stat changed.

In one process, on the same started runtime (a manifest with GitHub's description as a local file,
compiled once), rounds interleaved: `catch_up()` as it is, and the previous look — `content_digest`
of every watched file. Prints the median seconds of each and their ratio. The compile's digest of the
description is recorded under its identity only once the file's last write is over a second old:
a freshly copied description is hashed every time (as it should be); the script waits for that.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from common import ensure_github_spec, log, median  # noqa: E402


async def measure(rounds: int) -> tuple[list[float], list[float], int]:
    from mcprt.manifest.loader import load_manifest
    from mcprt.pipeline import Runtime
    from mcprt.reload import reloader_for
    from mcprt.reload.baseline import record_baseline
    from mcprt.reload.files import content_digest
    from mcprt.settings import Settings
    from mcprt.sources.openapi.loader import digests_recorded

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copyfile(ensure_github_spec(), root / "api.github.com.json")
        manifest = root / "mcp.yaml"
        manifest.write_text("version: 1\nserver: {name: github}\nsources:\n  github:\n"
                            "    openapi: api.github.com.json\n    base_url: http://127.0.0.1:9\n")
        time.sleep(1.1)  # settled files (see the module docstring)
        runtime = Runtime(manifest, Settings(cache_dir=root / "cache"), "stdio")
        log("compiling GitHub's description …")
        with digests_recorded() as read:
            await runtime.start(load_manifest(manifest, transport="stdio"))
        try:
            record_baseline(runtime, read)
            reloader = reloader_for(runtime)
            requested: list[object] = []
            reloader.request = lambda trigger, paths=None: requested.append(paths)  # type: ignore[method-assign]
            files = reloader.watch_set()
            stat_first: list[float] = []
            hash_all: list[float] = []
            for _ in range(rounds):
                started = time.perf_counter()
                reloader.catch_up()
                stat_first.append(time.perf_counter() - started)
                started = time.perf_counter()
                for path in files:
                    content_digest(path)
                hash_all.append(time.perf_counter() - started)
            assert not requested, requested  # nothing was edited: no reload either way
            return stat_first, hash_all, len(files)
        finally:
            await runtime.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    stat_first, hash_all, files = asyncio.run(measure(args.rounds))
    now, before = median(stat_first), median(hash_all)
    print(f"catch_up over {files} watched files (GitHub's 13 MB description), median of {args.rounds} interleaved rounds:")
    print(f"  stat first (now):        {now * 1000:8.3f} ms")
    print(f"  hash every file (before): {before * 1000:8.3f} ms")
    print(f"  ratio now/before: {now / before:.4f}")


if __name__ == "__main__":
    main()
