"""An opt-in memory probe for long runs: `MCPRT_DEBUG_TRACEMALLOC=DIR` starts `tracemalloc` (16
frames) when `mcprt up` starts serving, and each SIGUSR2 then writes, after a full garbage
collection, `DIR/mcprt-PID-N.tracemalloc` (a `tracemalloc.Snapshot`, compare two with
`Snapshot.load(b).compare_to(Snapshot.load(a), "traceback")`) and `DIR/mcprt-PID-N.types.json` (live
objects counted by type, every type, keyed `module.qualname` such as `mcp.server.connection.Connection`;
written under a temporary name and renamed, so a reader never sees half a file). `bench/soak.py
--tracemalloc` reads them to say where growth comes from. Off (no tracing, no handler, `tracemalloc` not
imported) unless the variable is set: tracing every allocation costs several times the CPU.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..errors import McprtError

ENV = "MCPRT_DEBUG_TRACEMALLOC"


def folder() -> Path | None:
    """The probe's folder from `MCPRT_DEBUG_TRACEMALLOC`, made if missing; None when the variable is unset
    or empty, or the platform has no SIGUSR2. Check it before serving starts.

    Raises `McprtError` (exit 2, naming the variable) when the value cannot be a folder (a path through
    a file, no permission): said at start rather than ending the server with an internal error."""
    value = os.environ.get(ENV)
    if not value or not hasattr(signal, "SIGUSR2"):
        return None
    out = Path(value)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise McprtError(f"{ENV}={value}: not a folder the memory probe can write to "
                         f"({exc.strerror or type(exc).__name__})") from None
    return out


def install(out: Path) -> Callable[[], None]:
    """Start tracing and handle SIGUSR2 in the running loop, writing into `out` (from `folder()`);
    returns the undo."""
    import tracemalloc

    tracemalloc.start(16)
    loop = asyncio.get_running_loop()
    taken = [0]

    def dump() -> None:
        taken[0] += 1
        gc.collect()
        stem = out / f"mcprt-{os.getpid()}-{taken[0]}"
        tracemalloc.take_snapshot().dump(f"{stem}.tracemalloc")
        counts = Counter(_type_name(type(o)) for o in gc.get_objects())
        written = stem.with_suffix(".types.json")
        partial = stem.with_suffix(".types.json.partial")
        partial.write_text(json.dumps(dict(counts.most_common())))
        os.replace(partial, written)  # atomic on POSIX: whole or absent

    loop.add_signal_handler(signal.SIGUSR2, dump)

    def undo() -> None:
        loop.remove_signal_handler(signal.SIGUSR2)
        tracemalloc.stop()

    return undo


def _type_name(kind: type) -> str:
    """`module.qualname` of a type (bare for builtins): two classes of one name in different modules,
    or a rare class among many of a common name, are told apart."""
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
