"""manifest → sources → compiled tool set: the one path every command and the server take.

`Runtime` owns the source pool and the swappable tool set. `compile()` is used at start, by
`validate`/`tools`/`call`, and by hot reload; the holder swap is the only moment clients see a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import ChainMap
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import end_gc_pause
from .cancellation import check_abandoned
from .contracts import Operation, SoleClientSlot
from .errors import Diagnostic, ManifestError
from .manifest.loader import LoadedManifest, load_manifest
from .offerings import build_offers
from .offerings.owners import ServedNames, proxied_sources
from .settings import Settings
from .sources.pool import SourcePool, SyncResult, close_retired, down_warnings
from .toolset.build import LOST_LIMIT, build_toolset, tool_claim
from .toolset.renames import RememberedRoutes, Route, remember_routes, routes_of
from .toolset.toolset import ToolSet, ToolSetHolder


@dataclass
class Compiled:
    loaded: LoadedManifest
    toolset: ToolSet
    diagnostics: list[Diagnostic]
    sync: SyncResult
    seconds: float = 0.0
    warnings: list[Diagnostic] = field(default_factory=list)  # the manifest's and the build's, notes too

    def serving_warnings(self) -> list[Diagnostic]:
        """The warnings (severity "warning", not notes) of the set this compile serves: its own (the
        log's) and those its reused sources gave when they opened (`SyncResult.kept_warnings`), so
        `/status` (`reload.warnings`) and `/healthz` (`manifest.warnings`, a count) say the same at
        start and after any reload."""
        return [w for w in self.warnings + self.sync.kept_warnings if w.severity == "warning"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while compiling: the compile allocates hundreds of thousands of
    long-lived objects (schemas, models, validators) and almost no garbage cycles, so collections
    triggered by allocation counts would re-scan them for nothing (see bench/RESULTS.md for the
    measured effect). Reference counting still frees everything; collection resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Runtime:
    def __init__(self, manifest_path: str | Path | None, settings: Settings, transport: str = "http",
                 loader: Callable[[], LoadedManifest] | None = None) -> None:
        self.manifest_path = manifest_path
        self.transport = transport  # what loads are for: "stdio" lets `server.auth` variables be unset
        self._loader = loader  # replaces the ordinary load (e.g. the offline load of `validate --offline`)
        self.settings = settings
        # mcprt's one client when served over stdio (server/sole_client.py sets it): every source's
        # relay sends it what a proxied server sends outside any call
        self.sole_client = SoleClientSlot()
        self.pool = SourcePool(settings, on_tools_changed=self._source_tools_changed, on_event=self._source_event,
                               sole_client=self.sole_client)
        self.holder: ToolSetHolder | None = None
        self.loaded: LoadedManifest | None = None
        self._upstream_changed_callbacks: list = []
        self.policy: Any = None  # mcprt.policy.PolicyService, made at the first compile with `policy:`
        self._event_callbacks: list = []
        # what `start` was given, for every later compile (reloads): a proxied server that cannot be
        # reached while a reload opens it is `down` and retried, as at start; `--strict` keeps both strict
        self.may_start_down = False
        # the warnings (not notes) of the compile now serving, at start as after reloads: `/healthz` counts them
        self.warnings: list[Diagnostic] = []
        # False: a policy target naming nothing, and an override that limits an operation the description no
        # longer has (`toolset.build.LOST_LIMIT`), are warnings, not refusals (`policy.checks.check_policy`):
        # the old side of `mcprt diff`, so a change that mends one can be compared
        self.refuse_unmatched_policy = True
        # source → its operation keys' routes in an earlier description known from elsewhere (the old side of
        # `mcprt diff`): a build names the rename of an override key that vanished (`toolset.renames`)
        self.earlier_routes: dict[str, dict[str, Route]] = {}
        # True (`mcprt up`, and `compile_once`: `validate`, `tools`, `call`, `record`): each source's routes at its
        # last good compile are kept in the cache folder, and a first compile reads them as what came before
        # (`toolset.renames`)
        self.remember_routes = False
        self._kept_routes: dict[str, dict[str, Route]] = {}  # what the cache folder holds, as read or written here

    async def compile(self, loaded: LoadedManifest | None = None, stale: Collection[str] = (), *,
                      may_start_down: bool = False) -> Compiled:
        """Load (unless given), open/reuse sources and build; raise ManifestError on any error.

        `stale`: running sources to reopen although their configuration is unchanged (their local
        files changed). On error the pool keeps the sources of the previous successful compile.
        `may_start_down`: see `SourcePool.sync` (the compiles of `mcprt up` without `--strict`: its start and
        its reloads, `Runtime.may_start_down`).
        Every compile after the first builds against the set now served: a proxied server's newly
        listed item taking a name another source keeps is left out with a warning, whatever triggered
        the rebuild (`offerings.owners`).
        """
        try:
            with gc_paused():
                return await self._compile(loaded, stale, may_start_down)
        finally:
            end_gc_pause()  # the CLI's start-up pause (mcprt.pause_gc_for_startup) ends with the first compile

    async def _compile(self, loaded: LoadedManifest | None, stale: Collection[str],
                       may_start_down: bool = False) -> Compiled:
        started = time.perf_counter()
        try:
            loaded = loaded or await asyncio.to_thread(self.load)
        except ManifestError as exc:
            if exc.partial is None:
                raise
            later = await self._later_stages(exc.partial)
            raise ManifestError(sorted(set(exc.diagnostics) | set(later))) from None
        sync = await self.pool.sync(loaded, stale, may_start_down=may_start_down)
        try:
            served = self.holder.current if self.holder is not None else None
            toolset, diagnostics = await self._build(loaded, sync, served)
        except BaseException:
            # A build error, or an abandoned compile (cancelled, or `Abandoned` raised in the worker):
            # the sources of the last good compile keep serving; shielded, so a second cancellation
            # cannot leave this compile's new sources (say, a started subprocess) running.
            await asyncio.shield(self.pool.rollback(sync))
            raise
        if self.remember_routes:  # CPU for the routes, the write with the compile cache's (`write_soon`)
            await asyncio.to_thread(self._keep_routes, loaded, sync)
        warnings = sorted(loaded.warnings + [d for d in diagnostics if d.severity != "error"])  # notes too
        return Compiled(loaded, toolset, diagnostics, sync, time.perf_counter() - started, warnings)

    async def _build(self, loaded: LoadedManifest, sync: SyncResult,
                     served: ToolSet | None = None) -> tuple[ToolSet, list[Diagnostic]]:
        """The tool set from the synced sources, and every diagnostic; ManifestError on an error.

        The CPU part (overrides, `description` templates, offers, discovery) runs in a worker thread,
        so a slow template or a big API never stalls the event loop (calls, `/healthz`) while a
        reload builds; the policy is attached here on the loop (it shares the PolicyService)."""
        diagnostics = list(sync.diagnostics)
        toolset = ToolSet([])
        opened = not any(d.severity == "error" for d in diagnostics)
        before = self._routes_before(loaded, sync)
        if opened:
            toolset, built = await asyncio.to_thread(_build_tools, loaded, sync, served, before)
            if not self.refuse_unmatched_policy:
                built = [replace(d, severity="warning") if d.code == LOST_LIMIT else d for d in built]
            diagnostics += built
        serving = not any(d.severity == "error" for d in diagnostics)
        when = "at start" if self.holder is None else "after a reload"  # the holder is made by the first compile
        diagnostics += down_warnings(loaded, sync, serving=serving, when=when)  # "serving the others" only when it does
        if not serving:
            # Nothing is served, but every check that does not need the failed part still reports in the
            # same pass (README: "all of them at once"): a duplicate tool name must not hide a policy typo.
            if opened:
                diagnostics += self._policy_checks(loaded, toolset, sync.down)
            else:
                diagnostics += await asyncio.to_thread(self._checks_without, loaded, sync.opened_operations,
                                                            (), sync.left_out, before)
            raise ManifestError(sorted(set(diagnostics + loaded.warnings)))
        policed = self._attach_policy(loaded, toolset, sync.down)
        diagnostics += policed
        if any(d.severity == "error" for d in policed):  # a rule naming nothing (policy.checks): not served
            raise ManifestError(sorted(diagnostics + loaded.warnings))
        return toolset, diagnostics

    async def _later_stages(self, partial: LoadedManifest) -> list[Diagnostic]:
        """Open the valid part's sources and build its tools only to collect their diagnostics
        (validation failed elsewhere: every stage that can still run reports in the same pass)."""
        sync = await self.pool.sync(partial)
        diagnostics = list(sync.diagnostics)
        try:
            opened = sync.opened_operations if any(d.severity == "error" for d in diagnostics) else sync.operations
            before = self._routes_before(partial, sync)
            diagnostics += await asyncio.to_thread(self._checks_without, partial, opened, sync.down,
                                                        sync.left_out, before)
        finally:
            await asyncio.shield(self.pool.rollback(sync))  # the sources of the last good compile keep serving
        return diagnostics

    def load(self) -> LoadedManifest:
        """Load the manifest (blocking: call it in a worker thread) for this runtime's transport."""
        if self._loader is not None:
            return self._loader()
        return load_manifest(self.manifest_path, transport=self.transport)

    async def start(self, loaded: LoadedManifest | None = None, *, may_start_down: bool = False,
                    fail_fast: bool = False) -> Compiled:
        """The first compile, installed. `may_start_down`: a proxied server that cannot be reached does
        not stop the start while another source serves (see `SourcePool.sync`). `fail_fast` (`mcprt up`):
        a source's error cancels the opens still running, here and in later compiles (`SourcePool.fail_fast`);
        without it every source is opened and every error reported."""
        self.may_start_down = may_start_down
        self.pool.fail_fast = fail_fast
        compiled = await self.compile(loaded, may_start_down=may_start_down)
        self.loaded, self.warnings = compiled.loaded, compiled.serving_warnings()
        self.holder = ToolSetHolder(compiled.toolset)
        self._serve_policy(compiled.toolset)
        # What the first compile built (tools, schemas, validators, imported modules) mostly lives as
        # long as the process: moved out of the collector's generations, later collections skip it.
        # Only once: frozen objects are never collected as cycles, and reloads retire tool sets.
        gc.freeze()
        return compiled

    async def apply(self, compiled: Compiled, *, close_retired_now: bool = True) -> bool:
        """Install a compiled set (reload). Returns True if the listing changed.

        With `close_retired_now=False` the caller closes the sources the new set no longer uses,
        e.g. once calls in flight on the old set have finished (hot reload does that).
        """
        assert self.holder is not None
        self.loaded, self.warnings = compiled.loaded, compiled.serving_warnings()
        changed = self.holder.swap(compiled.toolset)
        self._serve_policy(compiled.toolset)
        if close_retired_now:
            await close_retired(compiled.sync.retired)
        return changed

    def policy_service(self) -> Any:
        """The PolicyService (approvals, rate limits, pauses) that outlives reloads; made on first use."""
        if self.policy is None:
            from .policy import PolicyService

            self.policy = PolicyService()
        return self.policy

    def _serve_policy(self, toolset: ToolSet) -> None:
        """The swapped-in set's policy decides calls from now on (also calls waiting for approval)."""
        if self.policy is not None:
            from .policy import serve_policy

            serve_policy(toolset, self.policy)

    def _attach_policy(self, loaded: LoadedManifest, toolset: ToolSet,
                       pending: Collection[str] = ()) -> list[Diagnostic]:
        """Compile `policy:` for the new tool set (the policy layer is imported only when there is one);
        returns its warnings (globs matching nothing, unreachable rules), those about the tools of
        `pending` sources (down since the start) left for the rebuild that lists them."""
        if loaded.manifest.policy is None:
            return []
        from .policy import attach_policy

        attach_policy(loaded, toolset, self.policy_service())
        return self._policy_checks(loaded, toolset, pending)

    def _policy_checks(self, loaded: LoadedManifest, toolset: ToolSet,
                       pending: Collection[str] = ()) -> list[Diagnostic]:
        """`policy:`'s errors and warnings for `toolset` (`policy.checks.check_policy`), attaching nothing."""
        if loaded.manifest.policy is None:
            return []
        from .policy.checks import check_policy

        return check_policy(loaded, toolset, pending, refuse_unmatched=self.refuse_unmatched_policy)

    def _routes_before(self, loaded: LoadedManifest, sync: SyncResult) -> Mapping[str, Mapping[str, Route]]:
        """Source → its operation keys' routes before this compile: those of the sources it replaces (a reload's
        previous pool), else those known from elsewhere (`earlier_routes`), else (`remember_routes`) those kept at
        its last good compile (`RememberedRoutes`: read from the cache folder only for a source the build asks
        about, one with a vanished override key — blocking then: the build runs in a worker thread)."""
        routes: dict[str, Mapping[str, Route]] = {name: dict(known) for name, known in self.earlier_routes.items()}
        for name, running in sync.previous.items():
            routes[name] = {**routes.get(name, {}), **routes_of(running.operations)}
        if not self.remember_routes:
            return routes
        rest = [name for name in loaded.manifest.sources if name not in routes]
        return ChainMap(routes, RememberedRoutes(self.settings.cache_dir, loaded.path, rest, self._kept_routes))

    def _keep_routes(self, loaded: LoadedManifest, sync: SyncResult) -> None:
        """After a good compile: each source's routes, for a later first compile's did-you-mean (`_routes_before`);
        a source down (no operations known) or without routes (Python, MCP) keeps what it had."""
        for name, operations in sync.operations.items():
            routes = routes_of(operations)
            if routes and name not in sync.down and routes != self._kept_routes.get(name):  # unchanged: not again
                remember_routes(self.settings.cache_dir, loaded.path, name, routes)
                self._kept_routes[name] = routes

    def _checks_without(self, loaded: LoadedManifest, operations: Mapping[str, Sequence[Operation]],
                        down: Collection[str] = (),
                        left_out: Mapping[str, Collection[str]] | None = None,
                        before: Mapping[str, Mapping[str, Route]] | None = None) -> list[Diagnostic]:
        """The diagnostics of building `loaded`'s tools from the sources that opened (`operations`) and of
        its policy, when something else already failed (only to report them; nothing is attached). A source
        missing from `operations` (it failed to open) is pending, as one that is down: the checks naming
        its tools are skipped, not failed (blocking: run it in a worker thread)."""
        pending = {*down, *(name for name in loaded.manifest.sources if name not in operations)}
        build = build_toolset(loaded, operations, pending, left_out=left_out, before=before)
        return build.diagnostics + self._policy_checks(loaded, build.toolset, pending)

    def on_upstream_tools_changed(self, callback) -> None:  # type: ignore[no-untyped-def]
        """Register a callback run when a proxied server's tool list changed (a rebuild is due)."""
        self._upstream_changed_callbacks.append(callback)

    def on_upstream_event(self, callback) -> None:  # type: ignore[no-untyped-def]
        """Register callback(source, kind, data) for upstream events ("resource_updated")."""
        self._event_callbacks.append(callback)

    def _source_event(self, source: str, kind: str, data: object) -> None:
        for callback in list(self._event_callbacks):
            callback(source, kind, data)

    def _source_tools_changed(self, source: str) -> None:
        for callback in list(self._upstream_changed_callbacks):
            callback(source)

    async def aclose(self) -> None:
        await self.pool.aclose()


async def compile_once(
    manifest: str | Path | None,
    settings: Settings,
    load: Callable[[Settings], LoadedManifest] | None = None,
    transport: str = "http",
) -> tuple[Runtime, Compiled]:
    """Compile a manifest once (`mcprt tools`/`validate`/`call`/`record`); the caller closes the runtime.

    `load(settings)` replaces the ordinary load (e.g. the offline load of `validate --offline`).
    `transport`: see `Runtime` (`"stdio"`: unset `server.auth` variables are warnings).
    Raises ManifestError (every diagnostic) after closing whatever sources had opened.
    """
    # the runtime calls `load`, so a manifest whose only some parts fail still has the rest checked (`_compile`)
    runtime = Runtime(manifest, settings, transport, (lambda: load(settings)) if load is not None else None)
    runtime.remember_routes = True  # the user's manifest: a later first compile's did-you-mean knows its routes
    try:
        compiled = await runtime.compile()
    except BaseException:
        await runtime.aclose()
        raise
    return runtime, compiled


def _build_tools(loaded: LoadedManifest, sync: SyncResult, served: ToolSet | None = None,
                 before: Mapping[str, Mapping[str, Route]] | None = None) -> tuple[ToolSet, list[Diagnostic]]:
    """Overrides, offers and discovery for the synced sources (CPU only: runs in a worker thread).
    `served`: the tool set now served; None for the first compile (`Runtime.compile`). `before`: the sources'
    operation routes in an earlier description (`Runtime._routes_before`): an override whose key is gone is told
    of its rename."""
    names = ServedNames(map(tool_claim, served), proxied_sources(loaded)) if served is not None else None
    build = build_toolset(loaded, sync.operations, sync.down, names, sync.left_out, before)
    offers, offer_diagnostics = build_offers(loaded, sync.offerings, served.offers if served is not None else None)
    check_abandoned()
    toolset = _with_discovery(loaded, build.toolset)
    toolset.offers = offers
    toolset.fingerprint()  # the listing and its hash, cached here rather than at the swap on the loop
    return toolset, build.diagnostics + offer_diagnostics


def _with_discovery(loaded: LoadedManifest, toolset: ToolSet) -> ToolSet:
    """Add discovery meta-tools when any tool is exposed through discovery."""
    if all(tool.expose == "tools" for tool in toolset):
        return toolset
    from .discovery import attach_discovery  # only manifests that use discovery pay for its import

    return attach_discovery(loaded, toolset)
