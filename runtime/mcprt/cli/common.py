"""Helpers shared by CLI commands: running async work, progress on a terminal, compiling a manifest."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import Diagnostic, ManifestError

if TYPE_CHECKING:
    from ..manifest.loader import LoadedManifest
    from ..pipeline import Compiled, Runtime
    from ..settings import Settings

T = TypeVar("T")


def go_offline(offline: bool) -> None:
    """`--offline` is the MCPRT_OFFLINE setting (a flag beats the environment); set once, every
    load of the settings in this process — reloads, the test harness — sees it."""
    if offline:
        os.environ["MCPRT_OFFLINE"] = "1"


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


_PIPED_WIDTH = 100_000  # no line a table prints comes near this: a piped table is never cut or wrapped


def stdout_console(file: Any = None) -> Any:
    """The rich Console every table and summary goes to stdout through (`rich.console.Console`); `file`:
    the stream it writes to (`scrubbing(command_output())` once a command claimed stdout; None: sys.stdout).

    On a terminal, its width (or `COLUMNS`). Piped or redirected, rich would assume 80 columns and
    cut names to fit (`list_it…`), and a script or `grep` then reads names that do not exist; so
    without a terminal (and no `COLUMNS`), the width is unlimited and nothing is cut or wrapped."""
    from rich.console import Console

    console = Console(file=file)
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(file=file, width=_PIPED_WIDTH)


@contextmanager
def progress(message: str, *, serving: bool = False) -> Iterator[None]:
    """A spinner on stderr when it is a terminal, turning into a bar while a big OpenAPI description
    compiles (`mcprt.progress.report`); otherwise plain stderr lines at every quarter of such a
    compile (`serving`, `mcprt up`: written as the server's lines, so under MCPRT_LOG_FORMAT=json JSON
    log lines with `done` and `total`). Never touches stdout."""
    from ..progress import reporting_to

    if not sys.stderr.isatty():
        told: dict[str, int] = {}

        def plain(what: str, done: int, total: int) -> None:
            quarter = done * 4 // total
            if told.get(what, -1) < quarter and quarter > 0:
                told[what] = quarter
                line = f"compiling {what} {done}/{total}"
                if serving:
                    from ..observability.log import announce

                    announce(line, done=done, total=total)
                else:
                    print(line, file=sys.stderr, flush=True)

        with reporting_to(plain):
            yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(message, total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=f"compiling {what}", completed=done, total=total)

        with reporting_to(update):
            yield


@contextmanager
def counted(label: str, total: int, *, plain_every: float = 0.1) -> Iterator[Callable[[str], None]]:
    """Progress over `total` steps: a rich bar on a terminal's stderr; otherwise a plain stderr line
    at about every `plain_every` of the way (none under 10 steps), so CI logs show it is moving.
    Yields `advance(what)`, called once per finished step."""
    if total <= 0:
        yield lambda what: None
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[what]}", style="dim"))
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=total, what="")
            yield lambda what: bar.update(task, advance=1, what=what)
        return
    done = 0
    step = max(1, round(total * plain_every))

    def advance(what: str) -> None:
        nonlocal done
        done += 1
        if total >= 10 and (done % step == 0 or done == total):
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    yield advance


async def compile_once(manifest: Path | None, *, offline: bool = False, without_kinds: tuple[str, ...] = (),
                       skipped: list[str] | None = None, offline_hint: bool = False) -> tuple[Runtime, Compiled]:
    """`pipeline.compile_once` with the CLI's settings, logging and spinner; the caller closes the runtime.

    `offline` (for commands that call nothing: validate, tools): as the replay harness compiles it —
    URL specs read their pinned `spec/<source>.*` copy and unset `${VAR}`s get a placeholder — so CI
    can check a manifest without network or secrets. (Never fetching at all is the `offline` setting,
    which `--offline` sets for every command.)
    `without_kinds`: source kinds left out (never opened); their `name (kind)` go to `skipped`.
    `offline_hint` (commands that accept `--offline`): an unset variable's error says that
    `--offline` would check the manifest without it (reviewing a manifest needs no secrets).
    """
    from ..manifest.loader import load_manifest
    from ..pipeline import compile_once as compile_manifest
    from ..settings import load_settings

    settings = load_settings(manifest)  # with the `.env` beside the manifest, as `mcprt up` reads it
    quiet_logging(settings)
    note_settings_sources()  # at this level: the manifest's `.env` settings it ignores
    # These commands serve nothing: `server.auth`'s variables may be unset (a warning) unless HTTP is chosen.
    transport = "http" if (settings.transport or "").lower() == "http" else "stdio"
    load: Callable[[Settings], LoadedManifest] | None = None
    if offline:
        from ..testing.overrides import load_for_replay

        def load_offline(settings: Settings) -> LoadedManifest:
            return load_for_replay(manifest, None, settings)

        load = load_offline
    if without_kinds:
        inner = load

        def load_without_kinds(settings: Settings) -> LoadedManifest:  # the (offline) load, minus those kinds
            try:
                loaded = inner(settings) if inner is not None else load_manifest(manifest, transport=transport)
            except ManifestError as exc:
                if exc.partial is None:
                    raise
                # the valid rest is still checked in this pass (pipeline): without those kinds too, so
                # `--no-exec` never imports or starts anything, also when some part failed
                raise ManifestError(exc.diagnostics, partial=_without_kinds(exc.partial, without_kinds, None)) \
                    from None
            return _without_kinds(loaded, without_kinds, skipped)

        load = load_without_kinds

    with progress("compiling the manifest…"):
        try:
            return await compile_manifest(manifest, settings, load, transport)
        except ManifestError as exc:
            if offline_hint and not offline:
                exc.diagnostics[:] = [_with_offline_hint(d) for d in exc.diagnostics]
            raise


def _with_offline_hint(diagnostic: Diagnostic) -> Diagnostic:
    import dataclasses

    from ..manifest.envvars import UNSET_VARIABLE

    if diagnostic.code != UNSET_VARIABLE:
        return diagnostic
    return dataclasses.replace(diagnostic, message=diagnostic.message + "; or pass --offline to check the "
                               "manifest with a placeholder for it")


def _without_kinds(loaded: LoadedManifest, kinds: tuple[str, ...], skipped: list[str] | None) -> LoadedManifest:
    """`loaded` minus its sources of the given kinds (their names and kinds appended to `skipped`; the
    sources kept in `withheld`)."""
    import dataclasses

    from ..manifest.model import source_kind

    kept, withheld = {}, dict(loaded.withheld)
    for name, source in loaded.manifest.sources.items():
        kind = source_kind(source)
        if kind in kinds:
            withheld[name] = source  # named, not opened: a policy naming it or its tools waits (`policy.checks`)
            if skipped is not None:
                skipped.append(f"{name} ({kind})")
        else:
            kept[name] = source
    manifest = loaded.manifest.model_copy(update={"sources": kept})
    return dataclasses.replace(loaded, manifest=manifest, withheld=withheld)


def note_settings_sources() -> None:
    """Log where the last `load_settings` took its settings from, once logging is set up: each `.env` file and the
    `MCPRT_*` names that took effect from it (info; names only, never values — a `.env` holds secrets), the manifest's
    `.env` settings the environment or the working directory's `.env` overrode (info), and those it may not set
    (`settings.MANIFEST_ENV_SETTINGS`: a warning naming them and where they belong), and those a `.env` statement left
    unset by an unset `${VAR}` (a warning with its file:line:col). `settings read env_files=…` at debug, as before."""
    from ..observability.log import log_event
    from ..settings import (MANIFEST_ENV_SETTINGS, SETTINGS_FILES_READ, SETTINGS_FROM, SETTINGS_REFUSED,
                            SETTINGS_SHADOWED, SETTINGS_UNRESOLVED)

    log_event("settings read", logging.DEBUG, env_files=", ".join(map(str, SETTINGS_FILES_READ)) or "none")
    for path, names in SETTINGS_FROM:
        log_event("settings from .env", logging.INFO, env_file=str(path), names=", ".join(names))
    beside = str(SETTINGS_FILES_READ[0]) if SETTINGS_FILES_READ else ""
    if SETTINGS_SHADOWED:  # the manifest's `.env` only fills gaps: say which of its settings did not apply
        log_event("settings in the .env beside the manifest not applied (the environment or the working "
                  "directory's .env sets them)", logging.INFO, env_file=beside, names=", ".join(SETTINGS_SHADOWED))
    if SETTINGS_REFUSED:
        log_event(f"settings in the .env beside the manifest ignored: that file may set only "
                  f"{', '.join(sorted(MANIFEST_ENV_SETTINGS))}; set these in the environment or the working "
                  "directory's .env", logging.WARNING, env_file=beside, names=", ".join(SETTINGS_REFUSED))
    for name, why in SETTINGS_UNRESOLVED:  # the setting keeps its default: never an empty value
        log_event(f"setting {name} left unset, its default applies: {why}", logging.WARNING)


def quiet_logging(settings: Settings) -> None:
    """Logging for a command that does not serve: warnings and errors only unless MCPRT_LOG_LEVEL asks for
    more (a `.env` line that does not parse, a source's warning), in MCPRT_LOG_FORMAT."""
    from ..observability.log import setup_logging

    setup_logging(settings.log_level if settings.log_level != "info" else "warning", settings.log_format)
