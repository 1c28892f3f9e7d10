"""One reload at a time: load → compile → swap, or keep the old set serving and say why.

Requests (a saved file, an upstream server's new tool list, SIGHUP) only raise a flag; one worker
runs reloads one after another, so a burst that arrives during a reload becomes exactly one more.
A file event whose files have the same content as at the last attempt (a touch, a save without an
edit) is dropped, and after repeated failures attempts back off (`BACKOFF_*`), so nothing can make
a broken manifest reload in a loop.
The manifest is parsed and validated in a worker thread (CPU-bound: YAML, pydantic), sources open
asynchronously through the pool, the tool set is built in a worker thread too (description
templates, big APIs), and `Runtime.apply` swaps it in one assignment on the event loop.

A reload can be abandoned while it compiles (#13): a newer save (its content changed) supersedes
it, and one running longer than `MCPRT_RELOAD_TIMEOUT` seconds (default 60) is given up with a log
line. Its compile task is cancelled and its cancel token set (see `mcprt.cancellation`: worker threads check
it between operations and template steps, so they stop within milliseconds); the pool rolls back,
closing whatever the abandoned compile opened (a started proxied server included), and the old
tool set keeps serving. Once the compile is done the apply step runs to its end.

The "reload applied" line waits up to `NOTIFIED_WAIT_SECONDS` for the swap's `tools/list_changed`
fan-out to say whom it reached; that wait is outside the lock and off the worker (a task of its own),
so the next reload never waits on the previous one's logging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..cancellation import CancelToken, abandonable
from ..errors import Diagnostic, ManifestError
from ..manifest.loader import LoadedManifest
from ..file_identity import FileDigests
from ..observability.log import log_event
from ..settings import env_limit
from .changes import ToolChanges, diff_toolsets, policy_summary
from .baseline import take_baseline
from .drain import Drainer
from .guard import HOW_TO_APPLY, refusal
from .files import (
    declared_dependencies,
    Signature,
    manifest_files,
    resolved_paths,
    signature,
    content_digest,
    source_contents,
    sources_with_changed_files,
    watched_files,
)
from .restart import restart_needed
from .status import ReloadStatus

if TYPE_CHECKING:
    from ..pipeline import Compiled, Runtime
    from ..sources.base import RunningSource

Trigger = Literal["files", "upstream", "signal", "confirmed"]

MISSING_GRACE_SECONDS = 0.5  # an editor's delete-then-recreate save, a `git checkout`
MISSING_POLL_SECONDS = 0.02
SETTLE_SECONDS = 0.05
BACKOFF_AFTER = 3  # failed attempts in a row before file-triggered attempts are spaced out
BACKOFF_FIRST_SECONDS = 0.5  # then 1, 2, 4 … up to BACKOFF_MAX_SECONDS
BACKOFF_MAX_SECONDS = 8.0
RELOAD_SETTLE_SECONDS = 0.1  # MCPRT_RELOAD_SETTLE: changed files must keep their size and mtime this long
SETTLE_MAX_SECONDS = 5.0  # a file that never stops changing is read after this long all the same
SETTLE_POLL_SECONDS = 0.025
RELOAD_CONFIRM_SECONDS = 30.0  # MCPRT_RELOAD_CONFIRM: a refused save left unchanged this long is applied
RELOAD_TIMEOUT_SECONDS = 60.0  # MCPRT_RELOAD_TIMEOUT: a compile running longer is abandoned
NOTIFIED_WAIT_SECONDS = 1.0  # how long "reload applied" waits (after the lock) for the list_changed fan-out's count
SUPERSEDED = "superseded by a newer save"


def reload_timeout() -> float:
    """Seconds a reload may compile before it is abandoned (`MCPRT_RELOAD_TIMEOUT`, default 60)."""
    return env_limit("MCPRT_RELOAD_TIMEOUT", RELOAD_TIMEOUT_SECONDS)


def confirm_seconds() -> float:
    """How long a save the guard refused (`reload.guard`) must stay exactly as it was before it is applied
    all the same (`MCPRT_RELOAD_CONFIRM`, default 30 s). A two-part write finishes within it (its rest is a
    change, reloaded as usual); a deliberate edit — a Kubernetes ConfigMap update, which the kubelet swaps in
    atomically, removing a deny rule — applies after it without anyone sending SIGHUP to every replica."""
    return env_limit("MCPRT_RELOAD_CONFIRM", RELOAD_CONFIRM_SECONDS)


def settle_seconds() -> float:
    """How long watched files must keep their size and mtime before a file-triggered reload reads them
    (`MCPRT_RELOAD_SETTLE`, default 0.1 s); a longer pause mid-write is what `reload.guard` is for."""
    return env_limit("MCPRT_RELOAD_SETTLE", RELOAD_SETTLE_SECONDS)


@dataclass
class ReloadOutcome:
    """What one reload attempt did (returned to callers such as `reload_now` and tests)."""

    ok: bool
    trigger: Trigger
    seconds: float
    changes: ToolChanges = field(default_factory=ToolChanges)
    list_changed: bool = False  # the listing's fingerprint changed: clients were told
    errors: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    abandoned: str | None = None  # why the attempt was abandoned (superseded, over the time budget)
    refused: str | None = None  # why a save's compiled set was not applied (`reload.guard`)


class _Attempt:
    """One reload in progress: abandonable while its compile runs, no longer once it is done."""

    def __init__(self, token: CancelToken, compile_task: asyncio.Task[Compiled]) -> None:
        self.token = token
        self.compile_task = compile_task

    def abandon(self, reason: str) -> bool:
        """Drop the compile (its result will not be applied); False once it finished."""
        if self.compile_task.done():
            return False
        if self.token.cancel(reason):
            self.compile_task.cancel()
        return True


class Reloader:
    """Serialises reloads of one Runtime and keeps its `ReloadStatus`."""

    def __init__(self, runtime: Runtime, notifier: Any | None = None, *, baseline: bool = True,
                 missing_grace: float = MISSING_GRACE_SECONDS) -> None:
        """`baseline`: the sources' files are as they were opened now (true right after `start()`);
        when false, the first reload reopens every source that reads local files."""
        if runtime.holder is None:
            raise RuntimeError("hot reload needs a started Runtime (await runtime.start() first)")
        self.runtime = runtime
        self.notifier = notifier
        self.missing_grace = missing_grace
        # the warnings of the set served since the start (an override naming an operation gone upstream…), so
        # `/status` says them before any reload, as the start's log did
        self.status = ReloadStatus(warnings=[str(w) for w in runtime.warnings])
        self.drainer = Drainer()
        # The refused save's file contents while it waits to be confirmed (`confirm_seconds`), and the wait.
        self._refused_taken: dict[Path, str | None] | None = None
        self._confirm: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._arrived = asyncio.Event()  # a request arrived (checked while a reload runs)
        self._attempt: _Attempt | None = None
        self._wanted: Trigger | None = None
        self._changed_paths: set[Path] = set()
        self._baseline = baseline  # the sources' contents are read below, once `_hash` exists
        self._failed_files: set[Path] = set()  # files named by the last failed load (e.g. a new include)
        self._orphans: list[RunningSource] = []  # serving the old set, no longer in the pool
        self._attempt_listeners: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: set[asyncio.Task[None]] = set()  # "reload applied" lines waiting for their count
        self._failed_in_a_row = 0
        self._digests: dict[Path, str | None] = {}  # content of each watched file at the last attempt
        baseline = take_baseline(runtime)  # as compiled, when `mcprt up` recorded it
        # sha256 of a watched file, hashed again only when its stat changed (a 13 MB description: ~15 ms)
        self._hash = baseline.hashes if baseline is not None else FileDigests()
        self._remember_contents(baseline.digests() if baseline is not None else None)
        # per source, its files' content as it was opened (what decides which sources a reload reopens)
        self._signatures = source_contents(runtime, self._hash) if self._baseline else {}
        self._applied = dict(self._digests)  # every watched file's content as the set served was built from it

    # requests ------------------------------------------------------------------------------------

    def request(self, trigger: Trigger, paths: set[Path] | None = None) -> None:
        """Ask for a reload soon (coalesced with any other pending request). Safe from any thread."""
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(self.request, trigger, paths)
            return
        # a file change needs a re-read; an upstream change only a rebuild, which a re-read includes
        if self._wanted is None or (self._wanted == "upstream" and trigger != "upstream"):
            self._wanted = trigger
        self._changed_paths |= paths or set()
        self._wake.set()
        self._arrived.set()

    def on_upstream_tools_changed(self, source: str) -> None:
        log_event("upstream tool list changed; rebuilding", source=source)
        self.request("upstream")

    def after_attempt(self, listener: Callable[[], None]) -> None:
        """Run `listener()` after each reload attempt (the watcher refreshes its file set)."""
        self._attempt_listeners.append(listener)

    def forget_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._attempt_listeners:
            self._attempt_listeners.remove(listener)

    @property
    def failing(self) -> bool:
        return self.status.ok is False

    def watch_set(self) -> set[Path]:
        """The files whose change should trigger a reload now."""
        return watched_files(self.runtime) | self._failed_files

    async def serve(self) -> None:
        """Run requested reloads one after another, until cancelled."""
        self._loop = asyncio.get_running_loop()
        superseded = False  # the last attempt was abandoned for the request now pending
        while True:
            await self._wake.wait()
            if self._wanted == "files":
                delay = self.backoff_seconds()
                if delay:  # requests arriving meanwhile join this one
                    await asyncio.sleep(delay)
                # a file still being written (scp, a slow copy) is read once it stopped changing
                await _settled(self.watch_set() | self._changed_paths, settle_seconds())
            self._wake.clear()
            trigger, self._wanted = self._wanted or "files", None
            paths, self._changed_paths = self._changed_paths, set()
            # The content filter compares with what the last attempt read. A superseded attempt read the
            # files *before* it was abandoned, possibly already in the state that superseded it (the save
            # landed before the attempt hashed them, its event after): its request must run all the same,
            # or neither that save nor the abandoned request (an upstream's new tools) would ever apply.
            taken = None  # the files as hashed for the comparison: the attempt's own reading, not hashed twice
            if trigger == "files" and paths:
                taken = await asyncio.to_thread(self._digests_now, self.watch_set())
                if not self._differs(taken) and not superseded:
                    continue  # touched, or saved without an edit: nothing to reload
            superseded = False
            attempt = asyncio.create_task(self._locked_reload(trigger, paths, taken), name="mcprt-reload")
            try:
                await self._supersede_while(attempt)
                outcome, report = await attempt
                superseded = outcome.abandoned == SUPERSEDED
            except asyncio.CancelledError:
                attempt.cancel()
                await asyncio.gather(attempt, return_exceptions=True)
                for task in list(self._reports):
                    task.cancel()
                raise
            except Exception as exc:  # never let one bad reload end hot reloading
                log_event("reload crashed; the previous tools keep serving", logging.ERROR, error=repr(exc))
                continue
            if report is not None:  # the next reload may start while this one's line waits for its count
                task = asyncio.create_task(report(), name="mcprt-reload-report")
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)

    async def _supersede_while(self, attempt: asyncio.Task[ReloadOutcome]) -> None:
        """Until `attempt` ends: a newer save (its files' content really changed) abandons its compile;
        the request stays pending, so the next round reloads the newest content. Other requests
        (SIGHUP, an upstream tool change) wait for the attempt, and the next round includes them."""
        abandoned = False
        while not attempt.done():
            self._arrived.clear()
            look_again = False
            if not abandoned and await self._newer_request_pending():
                current = self._attempt
                if current is None:  # its compile has not started yet: look again in a moment
                    look_again = True
                else:  # False when its compile is done: then it applies, and the request follows
                    current.abandon(SUPERSEDED)
                    abandoned = True
            arrived = asyncio.ensure_future(self._arrived.wait())
            try:
                await asyncio.wait({attempt, arrived}, timeout=0.05 if look_again else None,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrived.cancel()

    async def _newer_request_pending(self) -> bool:
        """A save whose files really changed is pending (a request without paths — a signal, an
        upstream change, a caller's plain request — runs after the attempt instead)."""
        paths = self._changed_paths
        return self._wanted == "files" and bool(paths) and await self._contents_changed(paths, remember=False)

    def backoff_seconds(self) -> float:
        """How long a file-triggered attempt waits now: 0 until BACKOFF_AFTER failures in a row."""
        extra = self._failed_in_a_row - BACKOFF_AFTER
        if extra < 0:
            return 0.0
        return min(BACKOFF_FIRST_SECONDS * 2**extra, BACKOFF_MAX_SECONDS)

    def catch_up(self) -> None:
        """Request a reload for watched files whose content changed since the baseline (as compiled,
        when `mcprt up` recorded it: `reload.baseline`): a watcher started after it did not see those
        edits (`mcprt up` over stdio answers its first tools/list, then loads the SDK, before the
        watcher runs). Sources owning such a file are reopened, whatever their signatures say. Only
        files whose stat changed since they were hashed (or read by the compile) are hashed again."""
        changed = {path for path in self.watch_set() if self._digests.get(path) != self._hash(path)}
        if changed:
            # the sources' signatures may have been taken after such an edit: reopen those sources
            for name in [name for name, files in self._signatures.items() if not changed.isdisjoint(files)]:
                del self._signatures[name]
            self.request("files", changed)

    async def _contents_changed(self, paths: set[Path], *, remember: bool = True) -> bool:
        """Whether any watched file's content differs from the last attempt's. Every watched file is
        compared (a stat each; hashed again only when its stat changed), not only the event's paths: a
        Kubernetes ConfigMap update swaps the `..data` symlink, then deletes the old timestamped folder,
        and that deletion names the old resolved paths, never seen before, whose content (read through
        the symlink) did not change: compared by path, it was a second reload with "no tool changes".
        `paths` (what the event named) only says that something happened. Hashed in a worker thread (a 13
        MB spec took 20–40 ms of the event loop per event); a reload's attempt takes the hashes its
        comparison made (`serve`), so a saved file is read once for both."""
        return self._differs(await asyncio.to_thread(self._digests_now, self.watch_set()), remember=remember)

    def _differs(self, digests: dict[Path, str | None], *, remember: bool = True) -> bool:
        """Whether `digests` (every watched file's) differ from the last attempt's; `remember`: take them
        as the new baseline."""
        changed = False
        for path, digest in digests.items():
            if path not in self._digests or self._digests[path] != digest:
                changed = True
            if remember:
                self._digests[path] = digest
        return changed

    def _digests_now(self, paths: set[Path]) -> dict[Path, str | None]:
        return {path: self._hash(path) for path in paths}

    def _remember_contents(self, taken: dict[Path, str | None] | None = None) -> None:
        """The baseline of "changed" after an attempt: every watched file's content as the attempt
        read it (`taken` before it loaded), so a save landing while it ran still counts as a change;
        files first watched now (a new include) as they are now."""
        taken = taken or {}
        self._digests = {path: taken[path] if path in taken else self._hash(path) for path in self.watch_set()}

    # one reload ----------------------------------------------------------------------------------

    async def reload(self, trigger: Trigger = "signal", paths: set[Path] | None = None) -> ReloadOutcome:
        """Reload now (after any reload in progress); never raises for a bad manifest. Returns once its
        log lines are written ("reload applied" waits, outside the lock, for the notification's count)."""
        outcome, report = await self._locked_reload(trigger, paths)
        if report is not None:
            await report()
        return outcome

    async def _locked_reload(self, trigger: Trigger, paths: set[Path] | None,
                             taken: dict[Path, str | None] | None = None) -> tuple[ReloadOutcome, _Report | None]:
        """One attempt under the lock; an applied one also returns its "reload applied" report, to be
        awaited after the lock is released. While it runs, a call to an unknown tool is told a reload
        is under way (`ToolSetHolder.reloading`)."""
        report: list[_Report] = []
        holder = self.runtime.holder
        async with self._lock:
            if holder is not None:
                holder.reloading = True
            try:
                outcome = await self._attempt_reload(trigger, paths or set(), report, taken)
            finally:
                self._attempt = None
                if holder is not None:
                    holder.reloading, holder.incoming = False, None
        return outcome, (report[0] if report else None)

    async def _attempt_reload(self, trigger: Trigger, paths: set[Path], report: list[_Report],
                              taken: dict[Path, str | None] | None = None) -> ReloadOutcome:
        started = time.perf_counter()
        old = self.runtime.holder.current  # type: ignore[union-attr]
        in_pool_before = dict(self.runtime.pool.running)
        if taken is None:  # before the compile reads them (a save landing later still counts as a change)
            taken = await asyncio.to_thread(self._digests_now, self.watch_set())
        if trigger in ("files", "signal"):  # the refused save is superseded (or applied) by this one
            self._refused_taken = None
        token = CancelToken()
        limit = reload_timeout()
        attempt: _Attempt | None = None

        def expire() -> None:  # over all its rounds: one budget (between two rounds, the next starts abandoned)
            reason = f"it ran longer than {limit:g}s (MCPRT_RELOAD_TIMEOUT)"
            if attempt is None or not attempt.abandon(reason):
                token.cancel(reason)

        timer = asyncio.get_running_loop().call_later(limit, expire)
        try:
            while True:
                # what each file resolves to (a ConfigMap's `..data` generation), with `taken`: the inputs' state
                resolved = await asyncio.to_thread(resolved_paths, set(taken))
                compile_task = asyncio.create_task(self._compile_abandonable(trigger, token),
                                                   name="mcprt-reload-compile")
                self._attempt = attempt = _Attempt(token, compile_task)
                try:
                    compiled = await compile_task
                except asyncio.CancelledError:
                    if not token.cancelled or _being_cancelled():
                        token.cancel("the reloader is stopping")  # its worker threads stop too
                        raise
                    return self._abandoned(trigger, started, token.reason, in_pool_before, taken)
                except ManifestError as exc:
                    if token.cancelled:  # a stage turned the abandonment into a diagnostic
                        return self._abandoned(trigger, started, token.reason, in_pool_before, taken)
                    return self._failed(trigger, started, exc.diagnostics, in_pool_before, taken)
                except Exception as exc:  # a source's bug: report it like a manifest problem
                    if token.cancelled:
                        return self._abandoned(trigger, started, token.reason, in_pool_before, taken)
                    where = str(self.runtime.loaded.path if self.runtime.loaded else self.runtime.manifest_path)
                    diagnostic = Diagnostic(where, 1, 1, f"reload failed: {type(exc).__name__}: {exc}")
                    return self._failed(trigger, started, [diagnostic], in_pool_before, taken)
                if token.cancelled:  # finished although abandoned (a stage ignored the cancellation): drop it
                    await asyncio.shield(self.runtime.pool.rollback(compiled.sync))
                    return self._abandoned(trigger, started, token.reason, in_pool_before, taken)
                moved = await asyncio.to_thread(self._moved_under, taken, resolved)
                if not moved:
                    break
                # A file changed while the build read the set (a ConfigMap update between its reads of mcp.yaml
                # and kit.py): what it built may mix two versions, so it is dropped and the newest state built
                await asyncio.shield(self.runtime.pool.rollback(compiled.sync))
                log_event("files changed while the reload read them; reading them all again", trigger=trigger,
                          files=_shown_files(moved, self._folder()))
                taken = await asyncio.to_thread(self._digests_now, self.watch_set())
        finally:
            timer.cancel()
        why = refusal(self.runtime.loaded.manifest if self.runtime.loaded is not None else None,
                      compiled.loaded.manifest, old, compiled.toolset) if trigger == "files" else None
        if why is not None:  # a half-written save, most likely: keep serving, say how to apply it anyway
            await asyncio.shield(self.runtime.pool.rollback(compiled.sync))
            return self._refused(trigger, started, why, in_pool_before, taken)
        if self.runtime.holder is not None:  # what an unknown-tool answer may now say is coming
            self.runtime.holder.incoming = compiled.toolset
        return await self._apply(compiled, trigger, started, old, paths, taken, report)

    def _moved_under(self, taken: dict[Path, str | None], resolved: dict[Path, str]) -> set[Path]:
        """The files of `taken` that changed since: their content, or the file a read through them reaches
        (a ConfigMap's swapped `..data`, even to equal bytes: reads on both sides of a swap are two versions).
        Read in the order opposite to the one `taken` and `resolved` were: a change between is seen either way."""
        now_resolved = resolved_paths(set(resolved))
        now = self._digests_now(set(taken))
        return {path for path in taken if now[path] != taken[path] or now_resolved.get(path) != resolved.get(path)}

    def _folder(self) -> Path:
        manifest = self.runtime.loaded.path if self.runtime.loaded is not None else self.runtime.manifest_path
        return Path(manifest).parent if manifest is not None else Path.cwd()

    async def _compile_abandonable(self, trigger: Trigger, token: CancelToken) -> Compiled:
        """The compile, with `token` current: its worker threads check it (mcprt.cancellation)."""
        with abandonable(token):
            return await self._compile_with_grace(trigger)

    async def _compile_with_grace(self, trigger: Trigger) -> Compiled:
        """Compile; if it failed while a file is missing, give the file a moment to come back, once."""
        try:
            return await self._compile(trigger)
        except (ManifestError, FileNotFoundError) as exc:
            missing = self._missing_files(exc)
            if not missing:
                raise
            await _wait_until_present(missing, self.missing_grace)
            return await self._compile(trigger)

    async def _compile(self, trigger: Trigger) -> Compiled:
        loaded: LoadedManifest | None = self.runtime.loaded if trigger == "upstream" else None
        if loaded is None:
            loaded = await asyncio.to_thread(self.runtime.load)
        # SIGHUP re-reads everything from disk: each file hashed afresh, whatever its stat says (`_hash` trusts a
        # settled stat); a Python source's modules are compared with what their imports compiled as it opens
        digest = content_digest if trigger == "signal" else self._hash
        stale = sources_with_changed_files(self.runtime, self._signatures, digest)
        # as at start: a proxied server this reload opens that cannot be reached is `down` and retried
        # while the rest of the reload applies (unless `--strict`); before, it failed the whole reload
        return await self.runtime.compile(loaded, stale, may_start_down=self.runtime.may_start_down)

    def _missing_files(self, exc: BaseException) -> set[Path]:
        candidates = set(self.watch_set())
        if isinstance(exc, FileNotFoundError) and exc.filename:
            candidates.add(Path(exc.filename))
        if isinstance(exc, ManifestError):
            candidates |= _local_files_named(exc.diagnostics)
        return {path for path in candidates if not path.exists()}

    async def _apply(self, compiled: Compiled, trigger: Trigger, started: float, old: Any,
                     paths: set[Path], taken: dict[Path, str | None], report: list[_Report]) -> ReloadOutcome:
        restart_keys = restart_needed(self.runtime.loaded.manifest, compiled.loaded.manifest) \
            if self.runtime.loaded is not None else []
        policy = policy_summary(self.runtime.loaded.manifest.policy, compiled.loaded.manifest.policy) \
            if self.runtime.loaded is not None else {}
        retired, compiled.sync.retired = list(compiled.sync.retired), []
        list_changed = await self.runtime.apply(compiled)
        new = self.runtime.holder.current  # type: ignore[union-attr]
        running = {id(s) for s in self.runtime.pool.running.values()}
        orphans = [s for s in self._orphans if id(s) not in running]
        self._orphans = []
        self.drainer.close_when_unused(retired + orphans, old)
        self._signatures = source_contents(self.runtime, self._hash, taken)
        self._failed_files = set()
        self._failed_in_a_row = 0
        changed = {path for path in set(taken) | set(self._applied) if taken.get(path) != self._applied.get(path)}
        self._remember_contents(taken)
        self._applied = dict(self._digests)
        # The status says "applied" in the same step as the swap: a reader who sees the new tools never sees
        # the previous attempt's status (the diff below yields to the loop while a thread computes it).
        seconds = time.perf_counter() - started
        self.status.succeeded(trigger, seconds, [str(w) for w in self.runtime.warnings])
        self._tell_notifier("ok")
        changes = await asyncio.to_thread(diff_toolsets, old, new)  # every definition of two sets: CPU
        fanout = await self._fanout(list_changed)  # this swap's own, taken before a later swap schedules one
        fields = dict(
            trigger=trigger,
            files=_shown_files(changed, compiled.loaded.path.parent),
            changes=changes.summary(),
            **policy,  # what changed in `policy:` (no tool definition shows it), only when something did
            tools=len(new.tools),
            list_changed=list_changed,
            sessions_notified=0,  # and listen_streams_notified: filled in (here, in order) once known
            listen_streams_notified=0,
            sources_opened=",".join(compiled.sync.opened) or "-",
            sources_reused=len(compiled.sync.reused),
            ms=round(seconds * 1000, 1),
        )
        warnings = list(compiled.warnings)

        async def applied() -> None:
            fields.update(await _reached(fanout))
            log_event("reload applied", **fields)
            for warning in warnings:  # notes too (`Compiled.warnings`): said at INFO, never a warning
                note = warning.severity == "note"
                log_event(str(warning), logging.INFO if note else logging.WARNING, severity=warning.severity)
            if restart_keys:
                log_event("these server settings changed but apply only after a restart of `mcprt up`",
                          logging.WARNING, keys=",".join(restart_keys))

        report.append(applied)
        self._tell_listeners()
        return ReloadOutcome(True, trigger, seconds, changes, list_changed, [], list(compiled.sync.opened),
                             list(compiled.sync.reused))

    def _failed(self, trigger: Trigger, started: float, diagnostics: list[Diagnostic],
                in_pool_before: dict[str, RunningSource], taken: dict[Path, str | None]) -> ReloadOutcome:
        # A compile that failed after the pool synced leaves the old set's sources outside the pool;
        # they still serve the old set, and are closed once a later reload replaces it.
        self._keep_orphans(in_pool_before)
        errors = [str(d) for d in sorted(diagnostics) if d.severity == "error"] or [str(d) for d in diagnostics]
        manifest = self.runtime.loaded.path if self.runtime.loaded else self.runtime.manifest_path
        named = _local_files_named(diagnostics) | (declared_dependencies(Path(manifest)) if manifest else set())
        self._failed_files = named - manifest_files(self.runtime)
        self._failed_in_a_row += 1
        self._remember_contents(taken)
        seconds = time.perf_counter() - started
        repeated = self.status.ok is False and self.status.errors == errors  # e.g. an unrelated file saved
        self.status.failed(trigger, seconds, errors)
        log_event("reload failed; the previous tools keep serving", logging.INFO if repeated else logging.WARNING,
                  trigger=trigger, errors=len(errors), ms=round(seconds * 1000, 1),
                  next_attempt_after_s=self.backoff_seconds())
        for line in errors:
            log_event(line, logging.DEBUG if repeated else logging.WARNING)
        # /healthz is unauthenticated: counts only, the error text (paths, values) stays in the log
        self._tell_notifier(f"error: {len(errors)} problem(s) on reload; serving the previous tools")
        self._tell_listeners()  # watch the files the failed load named, so creating them is noticed
        return ReloadOutcome(False, trigger, seconds, errors=errors)

    def _keep_orphans(self, in_pool_before: dict[str, RunningSource]) -> None:
        """An attempt that was not applied: sources it replaced in the pool before rolling back are closed
        with the next applied reload's retired ones."""
        running = {id(s) for s in self.runtime.pool.running.values()}
        self._orphans += [s for s in in_pool_before.values() if id(s) not in running]

    def _tell_listeners(self) -> None:
        for listener in list(self._attempt_listeners):
            listener()

    def _abandoned(self, trigger: Trigger, started: float, reason: str, in_pool_before: dict[str, RunningSource],
                   taken: dict[Path, str | None]) -> ReloadOutcome:
        """The compile was dropped (the pool already rolled back and closed what it opened)."""
        self._keep_orphans(in_pool_before)
        if reason != SUPERSEDED:  # over the time budget: like a failure, back off and wait for an edit
            self._failed_in_a_row += 1
        self._remember_contents(taken)
        seconds = time.perf_counter() - started
        self.status.gave_up(trigger, seconds, reason)
        log_event("reload abandoned; the previous tools keep serving",
                  logging.INFO if reason == SUPERSEDED else logging.WARNING,
                  trigger=trigger, reason=reason, ms=round(seconds * 1000, 1))
        self._tell_notifier(f"abandoned: {reason}; serving the previous tools")
        self._tell_listeners()
        return ReloadOutcome(False, trigger, seconds, abandoned=reason)

    def _refused(self, trigger: Trigger, started: float, reason: str, in_pool_before: dict[str, RunningSource],
                 taken: dict[Path, str | None]) -> ReloadOutcome:
        """The compiled set was not applied (`reload.guard`); the pool already rolled back. Its content is
        remembered, so only a further change of the files (the rest of the write) or SIGHUP reloads."""
        self._keep_orphans(in_pool_before)
        self._remember_contents(taken)
        self._confirm_later(taken)
        seconds = time.perf_counter() - started
        self.status.refused_it(trigger, seconds, reason)
        log_event("reload refused; the previous tools keep serving", logging.WARNING, trigger=trigger,
                  reason=reason, hint=f"a file still being written? {HOW_TO_APPLY}, or leave the file unchanged "
                  f"{confirm_seconds():g}s (MCPRT_RELOAD_CONFIRM)", ms=round(seconds * 1000, 1))
        self._tell_notifier(f"refused: {reason}; serving the previous tools")
        self._tell_listeners()
        return ReloadOutcome(False, trigger, seconds, refused=reason)

    async def _fanout(self, list_changed: bool) -> Any:
        """The `tools/list_changed` fan-out the swap just scheduled (the notifier's task), or None when
        nothing changed or no server notifies (a one-shot reload)."""
        take = getattr(self.notifier, "tools_fanout", None)
        if not list_changed or take is None:
            return None
        return await take()

    def _tell_notifier(self, manifest_status: str) -> None:
        """The server's notifier shows this on /healthz (`manifest`)."""
        if self.notifier is not None and hasattr(self.notifier, "manifest_status"):
            self.notifier.manifest_status = manifest_status

    def _confirm_later(self, taken: dict[Path, str | None]) -> None:
        """Apply the refused save once it has stayed exactly `taken` for `confirm_seconds()`."""
        self._refused_taken = taken
        if self._confirm is not None:
            self._confirm.cancel()
        self._confirm = asyncio.create_task(self._confirm_after(taken, confirm_seconds()), name="mcprt-reload-confirm")

    async def _confirm_after(self, taken: dict[Path, str | None], seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._refused_taken is not taken:  # a later save or a SIGHUP took its place
            return
        if await asyncio.to_thread(self._digests_now, self.watch_set()) != taken:
            return  # still being written: the change that follows is reloaded (or refused) on its own
        log_event("reload confirmed: the refused save stayed unchanged; applying it", logging.WARNING,
                  seconds=round(seconds, 1))
        self._confirm = None  # this task must not cancel itself from a refusal of the reload it starts
        await self.reload("confirmed")

    async def aclose(self) -> None:
        """Close replaced sources now (shutdown)."""
        if self._confirm is not None:
            self._confirm.cancel()
        await self.drainer.close_now()


_Report = Callable[[], Awaitable[None]]


async def _reached(fanout: asyncio.Task[Any] | None) -> dict[str, int | str]:
    """The "reload applied" line's count of whom the swap's `tools/list_changed` reached, as the
    notifier's own `tools/list_changed sent` line gives it: handshake-era `sessions_notified` and
    2026-07-28 `listen_streams_notified`; 0 when none was sent, "pending" when the fan-out has not
    finished within `NOTIFIED_WAIT_SECONDS` (a slow client's stream; the notifier's line follows).
    (It said `clients_notified=True` beside `sessions=0` once: that a notification was due, not
    that anyone received it; and it left the listen streams out.)"""
    if fanout is None:
        return {"sessions_notified": 0, "listen_streams_notified": 0}
    try:
        reached = await asyncio.wait_for(asyncio.shield(fanout), NOTIFIED_WAIT_SECONDS)
    except Exception:  # TimeoutError (still sending), or the fan-out itself failed
        return {"sessions_notified": "pending", "listen_streams_notified": "pending"}
    return {"sessions_notified": reached.sessions, "listen_streams_notified": reached.listen_streams}


def _local_files_named(diagnostics: list[Diagnostic]) -> set[Path]:
    """Local files that diagnostics point at (URLs and placeholders excluded)."""
    files = set()
    for diagnostic in diagnostics:
        name = diagnostic.file
        if not name or "://" in name or name.startswith("<"):
            continue
        path = Path(name)
        files.add(path if path.is_absolute() else Path.cwd() / path)
    return files


def _shown_files(paths: set[Path], folder: Path) -> str:
    """The changed files as the log names them: relative to the root manifest's folder (`inc/mcp.toml`, not
    `mcp.toml`, which an edit of an included manifest of that name read as the root), absolute outside it.
    Named as the manifest names them, symlinks not followed: a ConfigMap's `kit.py`, not the
    `..2026_12_02_…/kit.py` it resolved to (a folder the kubelet deletes right after the update)."""
    bases = (Path(os.path.abspath(folder)), Path(os.path.realpath(folder)))  # as named, and where it leads
    shown = []
    for path in paths:
        absolute = Path(os.path.abspath(path))
        relative = next((absolute.relative_to(base) for base in bases if absolute.is_relative_to(base)), None)
        shown.append(relative.as_posix() if relative is not None else str(path))
    return ",".join(sorted(shown)) or "-"


async def _settled(paths: set[Path], window: float) -> None:
    """Return once no file of `paths` changed size or mtime for `window` seconds (or after
    `SETTLE_MAX_SECONDS`: a file that never stops changing must not stop reloads)."""
    def look() -> list[Signature]:
        return [signature(path) for path in sorted(paths)]

    started = quiet_since = time.monotonic()
    last = await asyncio.to_thread(look)
    while time.monotonic() - quiet_since < window and time.monotonic() - started < SETTLE_MAX_SECONDS:
        await asyncio.sleep(SETTLE_POLL_SECONDS)
        now = await asyncio.to_thread(look)
        if now != last:
            last, quiet_since = now, time.monotonic()


async def _wait_until_present(paths: set[Path], grace: float) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not all(p.exists() for p in paths):
        await asyncio.sleep(MISSING_POLL_SECONDS)
    await asyncio.sleep(SETTLE_SECONDS)  # a recreated file is often written just after it appears


def _being_cancelled() -> bool:
    """Whether the task running this is itself being cancelled (not just the compile it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
