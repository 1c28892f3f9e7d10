"""An opt-in memory probe for long runs: `MCPRT_DEBUG_TRACEMALLOC=DIR` starts `tracemalloc` (16
frames) when `mcprt up` starts serving, and each SIGUSR2 then writes, after a full garbage
collection, `DIR/mcprt-PID-N.tracemalloc` (a `tracemalloc.Snapshot`, compare two with
`Snapshot.load(b).compare_to(Snapshot.load(a), "traceback")`) and `DIR/mcprt-PID-N.types.json` (live
objects counted by type name, the largest 200). `bench/soak.py --tracemalloc` reads them to say
where growth comes from. Off (nothing imported, no handler) unless the variable is set: tracing
every allocation costs several times the CPU.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ENV = "MCPRT_DEBUG_TRACEMALLOC"


def install() -> Callable[[], None]:
    """Start tracing and handle SIGUSR2 in the running loop when `MCPRT_DEBUG_TRACEMALLOC` names a
    folder; returns the undo (a no-op when off)."""
    folder = os.environ.get(ENV)
    if not folder or not hasattr(signal, "SIGUSR2"):
        return lambda: None
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(16)
    loop = asyncio.get_running_loop()
    taken = [0]

    def dump() -> None:
        taken[0] += 1
        gc.collect()
        stem = out / f"mcprt-{os.getpid()}-{taken[0]}"
        tracemalloc.take_snapshot().dump(f"{stem}.tracemalloc")
        counts = Counter(type(o).__qualname__ for o in gc.get_objects())
        stem.with_suffix(".types.json").write_text(json.dumps(dict(counts.most_common(200))))

    loop.add_signal_handler(signal.SIGUSR2, dump)

    def undo() -> None:
        loop.remove_signal_handler(signal.SIGUSR2)
        tracemalloc.stop()

    return undo
