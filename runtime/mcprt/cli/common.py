"""Helpers shared by CLI commands: running async work, progress on a terminal, compiling a manifest."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..manifest.loader import LoadedManifest
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


async def compile_once(manifest: Path | None, *, offline: bool = False, without_kinds: tuple[str, ...] = (),
                       skipped: list[str] | None = None) -> tuple[Runtime, Compiled]:
    """Compile a manifest with fresh settings; the caller closes the runtime (sources) when done.

    `offline` (for commands that call nothing: validate, tools): as the replay harness compiles it —
    URL specs read their pinned `spec/<source>.*` copy and unset `${VAR}`s get a placeholder — so CI
    can check a manifest without network or secrets. (Never fetching at all is the `offline` setting,
    which `--offline` sets for every command.)
    `without_kinds`: source kinds left out (never opened); their `name (kind)` go to `skipped`.
    """
    from ..observability.log import setup_logging
    from ..manifest.loader import load_manifest
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
            if without_kinds:
                loaded = _without_kinds(loaded or load_manifest(manifest), without_kinds, skipped)
            compiled = await runtime.compile(loaded)
    except BaseException:
        await runtime.aclose()
        raise
    return runtime, compiled


def _without_kinds(loaded: LoadedManifest, kinds: tuple[str, ...], skipped: list[str] | None) -> LoadedManifest:
    """`loaded` minus its sources of the given kinds (their names and kinds appended to `skipped`)."""
    import dataclasses

    from ..manifest.model import source_kind

    kept = {}
    for name, source in loaded.manifest.sources.items():
        kind = source_kind(source)
        if kind in kinds:
            if skipped is not None:
                skipped.append(f"{name} ({kind})")
        else:
            kept[name] = source
    manifest = loaded.manifest.model_copy(update={"sources": kept})
    return dataclasses.replace(loaded, manifest=manifest)
