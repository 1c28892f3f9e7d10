"""The running sources of a manifest, reused across reloads when their configuration is unchanged.

`diff()` compares the running sources with a loaded manifest and returns a `SourceDiff` (a value:
what to open, keep, replace and retire); `sync()` applies one — opens what is new or changed, keeps
what is identical (no re-download, no subprocess restart, same HTTP pool) — and hands back what to
close, which the caller closes after the new tool set is installed, so calls in flight on the old set
finish first. `rollback()` undoes a sync whose tool set could not be built.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..contracts import Operation, SoleClientSlot
from ..errors import Diagnostic, FilePlace, ManifestError, McprtError, PlacedError, SourceConfigError, SpecError
from ..manifest.loader import LoadedManifest
from ..observability.log import logger
from ..settings import Settings
from .base import RunningSource, SourceContext
from .kind import kind_of


@dataclass(frozen=True)
class SourceDiff:
    """The difference between the running sources and a loaded manifest, by source name.

    to_open:  in the manifest, not running
    keep:     running with the same fingerprint and unchanged files: reused as they are
    replace:  running, but their configuration changed (new fingerprint) or they are `stale`
    retire:   running, no longer in the manifest
    stale:    the part of `replace` whose configuration is unchanged but whose local files changed
    fingerprints: the fingerprint each source of the manifest will run with
    """

    to_open: tuple[str, ...]
    keep: tuple[str, ...]
    replace: tuple[str, ...]
    retire: tuple[str, ...]
    stale: tuple[str, ...] = ()
    fingerprints: Mapping[str, str] = field(default_factory=dict)

    @property
    def opening(self) -> tuple[str, ...]:
        """Every source this diff opens: the new ones and the replacements."""
        return self.to_open + self.replace

    @property
    def empty(self) -> bool:
        return not (self.to_open or self.replace or self.retire)


@dataclass
class SyncResult:
    operations: dict[str, list[Operation]]
    diagnostics: list[Diagnostic]
    opened: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    retired: list[RunningSource] = field(default_factory=list)  # close these once the new set is live
    previous: dict[str, RunningSource] = field(default_factory=dict)  # the pool before this sync (for rollback)
    fresh: list[RunningSource] = field(default_factory=list)  # opened by this sync
    diff: SourceDiff | None = None
    previous_fingerprints: dict[str, str] = field(default_factory=dict)
    previous_warnings: dict[str, Any] = field(default_factory=dict)  # the pool's open-time warnings before (rollback)
    offerings: dict[str, Any] = field(default_factory=dict)  # source → its Offerings (resources, prompts)
    # source → why, for each source of the new pool down since it opened (no operations yet): the build
    # skips the checks that name its tools until it answers (`toolset.pending`)
    down: dict[str, str] = field(default_factory=dict)
    # the warnings of the sources this sync opened down, once the compile is known to serve (`down_warnings`)
    started_down: dict[str, tuple[str, str]] = field(default_factory=dict)  # source → (why, retry schedule)
    # what the sources this sync reused warned of when they opened: still true of the set served (counted
    # with the compile's own warnings), not said again
    kept_warnings: list[Diagnostic] = field(default_factory=list)
    # a sync that failed (some source did not open): the operations of the sources that did, fresh or kept,
    # so the compile still checks their overrides and the policy before it reports (`Runtime._build`)
    opened_operations: dict[str, list[Operation]] = field(default_factory=dict)
    # source → the override keys its `include`/`exclude` left out while it opened (`RunningSource.left_out`)
    left_out: dict[str, frozenset[str]] = field(default_factory=dict)


class SourcePool:
    """The running sources by name.

    Read them through `running` (a read-only view); change them only through `sync()`,
    `rollback()` and `aclose()`. `on_tools_changed(source_name)` is passed to every source opened
    (e.g. an upstream MCP server announcing a new tool list), and `on_event(source, kind, payload)`
    (resource updates, prompt list changes, log messages of proxied servers). `sole_client`: the
    runtime's one stdio client, shared by every source opened (contracts.SoleClientSlot).
    """

    def __init__(self, settings: Settings, on_tools_changed: Callable[[str], None] | None = None,
                 on_event: Callable[[str, str, Any], None] | None = None,
                 sole_client: SoleClientSlot | None = None) -> None:
        self.settings = settings
        self.on_tools_changed = on_tools_changed
        self.on_event = on_event
        self.sole_client = sole_client or SoleClientSlot()  # passed to every source opened
        # True (`mcprt up`: `Runtime.start(fail_fast=True)`): the first open that reports an error cancels the
        # opens still running, so a host is not kept waiting for a slow `command:` server of a manifest that
        # fails anyway. False (`validate`, `show`, `test`, …): every source is opened, so every error is said
        # at once to the one fixing the manifest (a reviewer saw a fast error hide a crashing server's).
        self.fail_fast = False
        self._running: dict[str, RunningSource] = {}
        self._fingerprints: dict[str, str] = {}
        # source name → (the source, its open-time warnings and notes): a reused source's (`kept_warnings`)
        self._open_warnings: dict[str, tuple[RunningSource, list[Diagnostic]]] = {}

    @property
    def running(self) -> Mapping[str, RunningSource]:
        """The running sources by name (a read-only view of the pool now)."""
        return MappingProxyType(self._running)

    def diff(self, loaded: LoadedManifest, stale: Collection[str] = ()) -> SourceDiff:
        """What `sync(loaded, stale)` would do. `stale`: running sources whose local files changed."""
        manifest = loaded.manifest
        wanted = {
            name: kind_of(cfg).fingerprint(cfg, loaded.source_dirs.get(name, loaded.base_dir),
                                           loaded.defaults_for(name))
            for name, cfg in manifest.sources.items()
        }
        running = self._running
        return SourceDiff(
            to_open=tuple(n for n in wanted if n not in running),
            keep=tuple(n for n, fp in wanted.items()
                       if n in running and self._fingerprints.get(n) == fp and n not in stale),
            replace=tuple(n for n, fp in wanted.items()
                          if n in running and (self._fingerprints.get(n) != fp or n in stale)),
            retire=tuple(n for n in running if n not in wanted),
            stale=tuple(n for n, fp in wanted.items() if n in running and n in stale
                        and self._fingerprints.get(n) == fp),
            fingerprints=MappingProxyType(wanted),
        )

    async def sync(self, loaded: LoadedManifest, stale: Collection[str] = (), *,
                   may_start_down: bool = False) -> SyncResult:
        """Bring the pool in line with `loaded`; failed sources give diagnostics, the rest still open.

        All or nothing: when any source fails to open, the sources opened by this call are closed
        and the pool is unchanged (`result.diagnostics` says why).

        `may_start_down` (the compiles of `mcprt up` without `--strict`, its reloads' too): a proxied MCP server that
        cannot be reached opens `down` instead (`McpServerSource.start`) — one warning each
        (`down_warnings`, of `result.started_down`: the pipeline adds it once it knows whether the
        compile serves); it is retried with backoff and its tools appear when it answers — unless every
        source of the manifest is down (those opened now and those kept down from before), which is an
        error as without the option (nothing to serve).
        """
        diff = self.diff(loaded, stale)
        result = SyncResult({}, [], diff=diff)
        to_open = diff.opening
        opened = await self._open_all(loaded, to_open, may_start_down)
        fresh: dict[str, RunningSource] = {}
        said: dict[str, list[Diagnostic]] = {}
        for name, (source, diagnostics) in zip(to_open, opened, strict=True):
            result.diagnostics += diagnostics
            if source is not None:
                fresh[name], said[name] = source, diagnostics
        down = {name: (reason, getattr(source, "retry_schedule", "with backoff")) for name, source in fresh.items()
                 if (reason := getattr(source, "down_reason", None)) is not None}
        # a source kept as it was (reused) that is down serves nothing either: counted with the fresh ones
        still_down = [name for name in diff.fingerprints if name not in fresh and name in self._running
                      and getattr(self._running[name], "down_reason", None) is not None]
        if down and len(down) + len(still_down) == len(diff.fingerprints):  # nothing would serve: errors, as before
            result.diagnostics += [loaded.diagnostic(_kind_line(loaded, name), f"source '{name}': {reason}")
                                   for name, (reason, _) in down.items()]
            down = {}
        if any(d.severity == "error" for d in result.diagnostics):
            result.opened_operations = {name: list(self._running[name].operations) if name not in fresh
                                        else list(fresh[name].operations) for name in diff.fingerprints
                                        if name in fresh or (name in diff.keep and name in self._running)}
            result.left_out = {name: left for name in result.opened_operations
                               if (left := getattr(fresh.get(name) or self._running[name], "left_out", None))}
            # all or nothing: the old set keeps serving (shielded: an abandoned reload still closes them)
            await asyncio.shield(close_retired(list(fresh.values())))
            result.started_down = down  # said (`down_warnings`) by the compile that fails with these errors
            return result
        next_running: dict[str, RunningSource] = {}
        previous_warnings = dict(self._open_warnings)
        for name in diff.fingerprints:
            if name in fresh:
                next_running[name] = fresh[name]
                self._open_warnings[name] = (fresh[name], said[name])
                result.opened.append(name)
                if name in self._running:
                    result.retired.append(self._running[name])
            else:
                next_running[name] = self._running[name]
                result.reused.append(name)
                kept = self._open_warnings.get(name)
                if kept is not None and kept[0] is next_running[name]:  # not a rolled-back sync's source
                    result.kept_warnings += kept[1]
        result.retired += [self._running[n] for n in diff.retire]
        result.previous, result.fresh = dict(self._running), list(fresh.values())
        result.previous_fingerprints = dict(self._fingerprints)
        result.previous_warnings = previous_warnings
        self._running = next_running
        self._fingerprints = dict(diff.fingerprints)
        result.operations = {name: list(source.operations) for name, source in next_running.items()}
        result.left_out = {name: left for name, source in next_running.items()
                           if (left := getattr(source, "left_out", None))}
        result.offerings = {name: getattr(source, "offerings", None) for name, source in next_running.items()}
        result.down = {name: reason for name, source in next_running.items()
                       if (reason := getattr(source, "down_reason", None)) is not None}
        result.started_down = down
        return result

    async def rollback(self, result: SyncResult) -> None:
        """Undo a sync whose tool set could not be built: the previous sources serve on, new ones close."""
        if not result.fresh and not result.previous:
            return
        self._running = result.previous
        self._fingerprints = result.previous_fingerprints
        self._open_warnings = result.previous_warnings
        result.retired = []
        fresh, result.fresh = result.fresh, []
        await asyncio.gather(*(_close_quietly(s) for s in fresh))

    async def _open_all(self, loaded: LoadedManifest, names: tuple[str, ...],
                        may_start_down: bool = False) -> list[tuple[RunningSource | None, list[Diagnostic]]]:
        """Open `names` concurrently. Cancelled (a reload abandoned), it cancels the opens still
        running and closes every source that did open before re-raising: an abandoned sync leaves
        no subprocess or connection behind, and the pool is unchanged."""
        tasks = [asyncio.create_task(self._open(loaded, name, may_start_down), name=f"mcprt-open:{name}")
                 for name in names]
        try:
            pending: set[asyncio.Task[Any]] = set(tasks)
            runs_to_end = {task for name, task in zip(names, tasks, strict=True)
                           if kind_of(loaded.manifest.sources[name]).open_runs_to_end}
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if self.fail_fast and pending and any(_has_errors(task) for task in done):
                    # An error fails this compile whatever the others do (all or nothing): a slow `command:`
                    # server is not waited for (a trial's import error was reported after its 12 s start),
                    # and the opens still running are cancelled (what opened is closed by the caller) — but
                    # not one that runs to its end anyway (`SourceKind.open_runs_to_end`: a module's import):
                    # its errors are reported with the first (a trial's syntax error in a second module was a
                    # note "was not opened", found only after the first was fixed).
                    for task in pending - runs_to_end:
                        task.cancel()
            return [_outcome(loaded, name, task) for name, task in zip(names, tasks, strict=True)]
        except BaseException:
            await asyncio.shield(_discard_opened(tasks))
            raise

    async def _open(self, loaded: LoadedManifest, name: str,
                    may_start_down: bool = False) -> tuple[RunningSource | None, list[Diagnostic]]:
        config = loaded.manifest.sources[name]
        kind = kind_of(config)
        context = SourceContext(
            name=name,
            config=config,
            base_dir=loaded.source_dirs.get(name, loaded.base_dir),
            settings=self.settings,
            defaults=loaded.defaults_for(name),
            on_tools_changed=self.on_tools_changed,
            on_event=self.on_event,
            sole_client=self.sole_client,
            may_start_down=may_start_down,
        )
        where = ("sources", name, kind.key)
        try:
            source = await kind.open(context)
        except ManifestError as exc:
            return None, exc.diagnostics
        except SpecError as exc:
            return None, [loaded.diagnostic(where, str(exc))]
        except SourceConfigError as exc:
            return None, [_placed(loaded.diagnostic(("sources", name, *path), f"source '{name}': {message}"),
                                  place, context.base_dir) for path, message, place in exc.problems]
        except PlacedError as exc:
            return None, [_placed(loaded.diagnostic(where, f"source '{name}': {exc}"), exc.place, context.base_dir)]
        except McprtError as exc:
            return None, [loaded.diagnostic(where, f"source '{name}': {exc}")]
        except (ImportError, KeyError, AttributeError) as exc:
            return None, [loaded.diagnostic(where, f"source '{name}': {kind.key} sources cannot be opened: {exc}")]
        # Sources may report findings without a place; they belong at the line that names the source.
        placed = [
            d if d.file else replace(loaded.diagnostic(where, d.message, severity=d.severity), stands_for=d.stands_for)
            for d in context.warnings
        ]
        placed += [replace(loaded.diagnostic(("sources", name, *path), d.message, severity=d.severity),
                           stands_for=d.stands_for) for path, d in context.warnings_at]
        return source, placed

    async def aclose(self) -> None:
        await asyncio.gather(*(_close_quietly(s) for s in self._running.values()))
        self._running = {}
        self._open_warnings = {}
        self._fingerprints = {}


def down_warnings(loaded: LoadedManifest, result: SyncResult, *, serving: bool, when: str = "at start") -> list[Diagnostic]:
    """One warning per source `result` opened down (`sync(may_start_down=True)`), at the line naming
    its kind: with `serving` (the compile succeeded) it says the other sources serve and when this
    one is retried; else only why it is down, as the compile's errors stop `mcprt up` anyway.
    `when`: the compile that opened it (`at start`, `after a reload`)."""
    found = []
    for name, (reason, retries) in result.started_down.items():
        message = f"source '{name}' is down {when}: {reason}"
        if serving:
            message += (f"; serving the other sources, and retrying this one {retries} until it answers "
                        "(`mcprt up --strict` refuses to start instead)")
        found.append(loaded.diagnostic(_kind_line(loaded, name), message, severity="warning"))
    return found


def _kind_line(loaded: LoadedManifest, name: str) -> tuple[str, ...]:
    """The manifest path of the key naming a source's kind (`command`, `url`, …): where its open fails."""
    return ("sources", name, kind_of(loaded.manifest.sources[name]).key)


def _placed(diagnostic: Diagnostic, place: FilePlace | None, base_dir: Path) -> Diagnostic:
    """`diagnostic` moved to `place` (a file the source reads: a module's raising line), when there is one. A
    file under the source's folder is named as the manifest is (`pkg/mcp.yaml` → `pkg/kit.py`), so a relative
    manifest path gives relative module paths; any other file by its absolute path."""
    if place is None:
        return diagnostic
    file, line, col = place
    with contextlib.suppress(ValueError):
        file = str(Path(diagnostic.file).parent / Path(file).relative_to(base_dir.resolve()))
    return replace(diagnostic, file=file, line=line, col=col)


def _has_errors(task: asyncio.Task[tuple[RunningSource | None, list[Diagnostic]]]) -> bool:
    """Whether an open that ended reported an error (a failure raised counts: `gather` re-raises it)."""
    if task.cancelled():
        return False
    if task.exception() is not None:
        return True
    return any(d.severity == "error" for d in task.result()[1])


def _outcome(loaded: LoadedManifest, name: str,
             task: asyncio.Task[tuple[RunningSource | None, list[Diagnostic]]]) -> tuple[RunningSource | None,
                                                                                       list[Diagnostic]]:
    """An open's result; one cancelled because another source's error fails the compile is a note."""
    if task.cancelled():
        note = (f"source '{name}' was not opened: another source's error fails this manifest, so its start was not "
                "waited for")
        return None, [loaded.diagnostic(_kind_line(loaded, name), note, severity="note")]
    return task.result()


async def _discard_opened(tasks: list[asyncio.Task[tuple[RunningSource | None, list[Diagnostic]]]]) -> None:
    """Cancel the opens still running, wait for all of them, close what opened."""
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    opened = [r[0] for r in results if isinstance(r, tuple) and r[0] is not None]
    await asyncio.gather(*(_close_quietly(source) for source in opened))


async def close_retired(retired: list[RunningSource]) -> None:
    await asyncio.gather(*(_close_quietly(s) for s in retired))


async def _close_quietly(source: RunningSource) -> None:
    try:
        await source.aclose()
    except Exception as exc:  # closing must never take the server down
        logger.warning("closing source %s failed: %s", getattr(source, "name", "?"), exc)
