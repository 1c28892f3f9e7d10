"""Helpers shared by CLI commands: running async work, progress on a terminal, compiling a manifest."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..pipeline import Compiled, Runtime

T = TypeVar("T")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


@contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr when it is a terminal; silent otherwise (never touches stdout)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


async def compile_once(manifest: Path | None, *, offline: bool = False) -> tuple[Runtime, Compiled]:
    """Compile a manifest with fresh settings; the caller closes the runtime (sources) when done.

    `offline` (for commands that call nothing: validate, tools): as the replay harness compiles it —
    URL specs read their pinned `spec/<source>.*` copy and unset `${VAR}`s get a placeholder — so CI
    can check a manifest without network or secrets. (Never fetching at all is the `offline` setting,
    which `--offline` sets for every command.)
    """
    from ..observability.log import setup_logging
    from ..pipeline import Runtime
    from ..settings import load_settings

    settings = load_settings()
    setup_logging(settings.log_level if settings.log_level != "info" else "warning", settings.log_format)
    runtime = Runtime(manifest, settings)
    try:
        with progress("compiling the manifest…"):
            loaded = None
            if offline:
                from ..testing.overrides import load_for_replay

                loaded = load_for_replay(manifest, None, settings)
            compiled = await runtime.compile(loaded)
    except BaseException:
        await runtime.aclose()
        raise
    return runtime, compiled
