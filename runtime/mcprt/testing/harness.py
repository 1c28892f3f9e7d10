"""Replaying cases through the real pipeline: compile → call_tool → HTTP executor → replay upstream.

A case with no recorded response (a `python:`, `command:` or `url:` tool's) is no replay: its tool runs
for real with the manifest's credentials, so it is governed as `mcprt call` is (`mcprt.oneshot`: audited,
decided by the policy as `stdio`, paused and rate-limited in the shared state), its audit records naming
the command (`entry_point`). Replays, which reach only the loopback replay upstream, run ungated and
unaudited: no upstream was called.

`ReplayHarness` is the async core (one compiled manifest, one replay upstream). `ReplaySession`
runs a harness on a private event-loop thread behind a synchronous API, so pytest items (which
must not own a loop: the user's suite may run pytest-asyncio), `mcprt test`, `mcprt record` and
`mcprt diff` all drive the very same code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Diagnostic, ManifestError, McprtError
from ..manifest.loader import LoadedManifest, find_manifest, load_manifest
from ..manifest.model import auth_entries
from ..settings import Settings, load_settings
from ..toolset.invoke import call_tool, refused_arguments
from ..toolset.renames import Route, routes_of
from ..contracts import ToolResult
from ..toolset.tool import Tool
from ..toolset.toolset import ToolSet
from .cases import Case
from .included import defaults_divergence, policy_note
from .overrides import DotenvAt, load_for_replay, replay_environment
from .replay_server import ReceivedRequest, ReplayUpstream
from .wire import WireRequest, compare_requests

T = TypeVar("T")
CALL_TIMEOUT = 60.0


@dataclass
class CaseRun:
    """What one replay of a case produced."""

    case: Case
    tool: str  # the exposed name the case ran as
    result: ToolResult
    received: list[ReceivedRequest] = field(default_factory=list)
    request_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    policy_problems: list[str] = field(default_factory=list)
    policy_checked: bool = True  # False: the case's `policy:` was not checked (`included.policy_note`)
    # the case's arguments the manifest sets (`fixed`, `hidden`), which the tool refuses from a client: removing
    # them from `args:` is the fix (recording again is refused while the case exists; its `request:` is not read)
    refused_args: list[str] = field(default_factory=list)

    @property
    def raw_bytes(self) -> int:
        return self.result.raw_bytes

    @property
    def sent_bytes(self) -> int:
        return self.result.sent_bytes


class ReplayHarness:
    """One manifest compiled against one replay upstream; replays cases one at a time."""

    def __init__(self, manifest: str | Path | None, settings: Settings | None = None,
                 include_roots: Sequence[Path] = (), refuse_unmatched: bool = True,
                 entry_point: str | None = "mcprt test",
                 earlier_routes: Mapping[str, Mapping[str, Route]] | None = None,
                 dotenv_at: DotenvAt | None = None, written_warnings: bool = False) -> None:
        self.manifest = find_manifest(manifest)
        # where each manifest folder's `.env` is read (`load_manifest`): a revision's copy reads the working
        # tree's, so both sides of `mcprt diff` open their sources with the same variables
        self.dotenv_at = dotenv_at
        # True (`mcprt diff`): the manifest's own warnings are those of its load from nothing of this machine's
        # (`replay_environment(machine=False)`), so a local `.env` or variable changes no warning reported
        self.written_warnings = written_warnings
        # the routes of an earlier revision's operations (`mcprt diff`'s old side): see `Runtime.earlier_routes`
        self.earlier_routes = {name: dict(routes) for name, routes in (earlier_routes or {}).items()}
        # what the audit records of its live calls name (`oneshot.governed`); None: no records (`mcprt diff`)
        self.entry_point = entry_point
        self.refuse_unmatched = refuse_unmatched  # see `Runtime.refuse_unmatched_policy`
        self.include_roots = tuple(include_roots)  # for its loads only (`load_manifest`): a revision's folders
        self.settings = settings or load_settings()
        self.upstream = ReplayUpstream()
        self.loaded: LoadedManifest | None = None
        self.toolset: ToolSet | None = None
        self.warnings: list[str] = []
        self.warning_diagnostics: list[Diagnostic] = []  # the compile's warnings, as `mcprt validate` gives them
        self.note_diagnostics: list[Diagnostic] = []  # and its notes (never failing `--strict`)
        self._runtime: Any = None
        self._gates: list[tuple[Tool, Any]] = []  # each tool's policy gate, off while replaying (`open`)
        self._governed: AsyncExitStack | None = None  # `oneshot.governed`, from the first live call on
        self._alone: dict[Path, LoadedManifest | None] = {}  # an included manifest loaded by itself

    async def open(self) -> None:
        from ..pipeline import Runtime

        origin = await self.upstream.start()
        try:
            self.loaded = await asyncio.to_thread(load_for_replay, self.manifest, origin, self.settings,
                                                  self.include_roots, dotenv_at=self.dotenv_at)
            self._runtime = Runtime(self.manifest, self.settings)
            self._runtime.refuse_unmatched_policy = self.refuse_unmatched
            self._runtime.earlier_routes = self.earlier_routes
            compiled = await self._runtime.compile(self.loaded)
        except BaseException:
            await self.close()
            raise
        self.toolset = compiled.toolset
        warnings = compiled.warnings
        if self.written_warnings:  # the build's own, with the load's from the written manifest
            built = [d for d in compiled.diagnostics if d.severity != "error"]
            warnings = sorted(await asyncio.to_thread(self._written_load_warnings) + built)
        self.warning_diagnostics = [d for d in warnings if d.severity == "warning"]  # not the notes
        self.note_diagnostics = [d for d in warnings if d.severity == "note"]  # `mcprt diff`'s new notes
        self.warnings = [str(w) for w in warnings]
        # Replays check shaping, not policy: the harness's own tools run ungated, and cases assert
        # decisions explicitly (`policy:`) against the gate kept here.
        self.gate = compiled.toolset.gate
        self._gates = [(tool, tool.gate) for tool in compiled.toolset if tool.gate is not None]
        for tool, _ in self._gates:
            tool.gate = None

    def _written_load_warnings(self) -> list[Diagnostic]:
        """The load's warnings and notes with every `${VAR}` its written default or a placeholder and no `.env`
        read: those that judge a substituted value (a short secret, a plain-http issuer) judge what is
        committed. A value that a placeholder makes invalid is an error here, not reported: the load that opened
        the sources (this machine's variables) decides errors."""
        try:
            return load_for_replay(self.manifest, None, self.settings, self.include_roots, machine=False).warnings
        except ManifestError as exc:
            return [d for d in exc.diagnostics if d.severity != "error"]

    def routes(self) -> dict[str, dict[str, Route]]:
        """Source → the routes of every operation it opened with (`renames.routes_of`), disabled ones too: what a
        later revision's vanished override key was (`earlier_routes`). Empty before `open`."""
        if self._runtime is None:
            return {}
        return {name: routes_of(running.operations) for name, running in self._runtime.pool.running.items()}

    async def close(self) -> None:
        if self._governed is not None:  # the audit records written out, Redis closed
            governed, self._governed = self._governed, None
            await governed.aclose()
        if self._runtime is not None:
            await self._runtime.aclose()
            self._runtime = None
        await self.upstream.stop()

    def find_tool(self, case: Case) -> tuple[Tool, list[str]]:
        """The tool a case targets: by name, else by its operation key (the tool was renamed)."""
        assert self.toolset is not None
        tool = self.toolset.get(case.tool)
        if tool is not None:
            return tool, []
        if case.operation:
            for candidate in self.toolset:
                if case.operation in (candidate.operation.key, *candidate.operation.aliases):
                    return candidate, [f"tool {case.tool!r} is now named {candidate.name!r} (same operation "
                                       f"{case.operation}); to follow it, rename cases/{case.tool}/ and "
                                       f"cases/__snapshots__/{case.tool}/ to {candidate.name}/ and set "
                                       f"`tool: {candidate.name}` in each case"]
        names = ", ".join(sorted(t.name for t in self.toolset)) or "none"
        raise McprtError(f"{case.path}: the manifest has no tool {case.tool!r}"
                         + (f" (nor one for operation {case.operation})" if case.operation else "")
                         + f"; its tools: {names}")

    def policy_problems(self, case: Case, tool: Tool) -> list[str]:
        """Where the manifest's policy decides otherwise than the case's `policy:` expects."""
        if not case.policy:
            return []
        if self.gate is None:
            return ["the case expects policy decisions, but the manifest has no `policy:`"]
        from types import MappingProxyType

        from ..errors import ToolCallError
        from ..identity.principal import Principal
        from ..toolset.invoke import check_arguments

        from ..policy.never import impossible_caller
        from ..policy.principals import caller_named
        from .cases import located

        assert self.loaded is not None
        manifest = self.loaded.manifest
        assert manifest.policy is not None  # there is a gate
        for i, expected in enumerate(case.policy):
            impossible = impossible_caller(manifest.policy, manifest.server.auth, expected.principal,
                                           expected.scopes, expected.claims, expected.client)
            if impossible:
                raise McprtError(f"{located(case.path, 'policy', i, 'principal')}: policy[{i}]: "
                                 + "; ".join(impossible) + " — this case checks a caller the server never has")
        # the arguments the tool refuses whatever their value are reported by `run`, each at its line with
        # the fix (`_refused`): decided without them, so the case's decisions are still checked
        arguments = {k: v for k, v in case.args.items() if k not in refused_arguments(tool, dict(case.args))}
        try:
            completed = check_arguments(tool, arguments)
        except ToolCallError as exc:  # a value of the wrong type, a required one missing: no decision to check
            return [f"{located(case.path, 'args')}: the policy was not checked: {exc}"]
        problems = []
        for expected in case.policy:
            # a caller with a client, scopes or claims holds an OAuth access token; without, a static token
            oauth = expected.client is not None or bool(expected.scopes or expected.claims)
            named = caller_named(expected.principal)  # `client:ID`: that OAuth client acting for itself
            principal = Principal(named.subject, "oauth" if oauth or named.by_client else named.kind,
                                  client_id=named.client_id or expected.client, scopes=frozenset(expected.scopes),
                                  claims=MappingProxyType(dict(expected.claims)), by_client=named.by_client)
            got = self.gate.decide(tool, principal, completed)
            action = "hide" if tool.name in self.gate.hidden(principal) else got.action
            if action != expected.decision:
                via = f" through client {expected.client}" if expected.client is not None else ""
                problems.append(f"policy for {expected.principal}{via}: expected {expected.decision}, got {action} "
                                f"({got.rule})")
        return problems

    async def run(self, case: Case) -> CaseRun:
        tool, notes = self.find_tool(case)
        check_policy = True
        if case.owner is not None:  # an included manifest's case (`included.py`)
            assert self.loaded is not None
            defaults_divergence(case, tool.source, self.loaded, await self._loaded_alone(case.owner))
            if case.policy:
                check_policy = False
                notes = [*notes, policy_note(case, self.loaded)]
        refused = refused_arguments(tool, dict(case.args))  # what the tool refuses whatever the value
        if case.policy_only:
            run = CaseRun(case, tool.name, ToolResult(content=[]), notes=notes, policy_checked=check_policy)
            run.request_problems, run.refused_args = _refused(case, refused, tool), list(refused)
            run.policy_problems = self.policy_problems(case, tool) if check_policy else []
            return run
        replayed = not case.live
        self.upstream.expect(case.response if replayed else None)
        call = call_tool(tool, dict(case.args)) if replayed else self._live(case, tool)
        result = await asyncio.wait_for(call, CALL_TIMEOUT)
        received = list(self.upstream.received)
        run = CaseRun(case, tool.name, result, received, notes=notes, policy_checked=check_policy)
        if replayed:
            run.request_problems = self._check_request(case, received, result, self._credential_names(tool))
        elif received:
            run.request_problems = [
                "the tool called an HTTP upstream, but the case has no `response:` to replay; record the case "
                "with `mcprt record` or add the response"
            ]
        if refused and result.is_error:  # refused by `check_arguments`, whatever else the case recorded
            run.request_problems, run.refused_args = _refused(case, refused, tool), list(refused)
        run.policy_problems = self.policy_problems(case, tool) if check_policy else []
        return run

    async def _live(self, case: Case, tool: Tool) -> ToolResult:
        """Call `tool` for real, governed as a one-shot call (the module docstring); McprtError when the
        audit log or the shared state cannot be opened, or a policy hides the tool from `stdio`."""
        from ..oneshot import LOCAL, call_once, governed

        assert self.loaded is not None and self.toolset is not None
        if self._governed is None:
            stack = AsyncExitStack()
            await stack.enter_async_context(governed(self._runtime, self.loaded, self.settings,
                                                              entry_point=self.entry_point))
            self._governed = stack
        toolset = self.toolset
        for gated, gate in self._gates:
            gated.gate = gate
        try:
            return await call_once(toolset, tool.name, dict(case.args), lambda: McprtError(
                f"{case.path}: {toolset.unknown_tool_message(tool.name, LOCAL)} (hidden by the policy from "
                "`stdio`, the caller of a case that calls its tool for real)"))
        finally:
            for gated, _ in self._gates:
                gated.gate = None

    async def _loaded_alone(self, manifest: Path) -> LoadedManifest | None:
        """`manifest` (an included one) loaded by itself, as its own replay loads it; None when it does not."""
        if manifest not in self._alone:
            def load() -> LoadedManifest | None:
                try:
                    return load_manifest(manifest, env=replay_environment(manifest, self.include_roots,
                                                                          dotenv_at=self.dotenv_at),
                                         include_roots=self.include_roots, dotenv_at=self.dotenv_at)
                except ManifestError as exc:
                    return exc.partial

            self._alone[manifest] = await asyncio.to_thread(load)
        return self._alone[manifest]

    def _credential_names(self, tool: Tool) -> tuple[str, ...]:
        """Where the tool's source puts its credentials (from its own `auth` entries, whatever the names)."""
        source = self.loaded.manifest.sources.get(tool.source) if self.loaded is not None else None
        names = [auth.credential.name for _, auth in auth_entries(getattr(source, "auth", None))
                 if auth.credential is not None]  # not `forward_claims` alone
        return tuple(dict.fromkeys(names))

    @staticmethod
    def _check_request(case: Case, received: list[ReceivedRequest], result: ToolResult,
                       credentials: tuple[str, ...] = ()) -> list[str]:
        if not received:
            text = " ".join(b.get("text", "") for b in result.content if b.get("type") == "text")[:500]
            return [f"no request reached upstream; the tool answered: {text}"]
        if len(received) > 1:
            return [f"the tool sent {len(received)} requests; a case replays exactly one"]
        if case.request is None:
            return []
        got = received[0]
        actual = WireRequest.build(got.method, got.raw_path, got.raw_query, got.headers, got.body, credentials)
        expected = WireRequest.from_recorded(case.request, credentials)
        return compare_requests(expected, actual, check_headers=case.request.headers is not None)


def _refused(case: Case, refused: dict[str, str], tool: Tool) -> list[str]:
    """One problem per argument of the case the tool refuses whatever its value (`refused`: name → the tool's
    own words, `toolset.invoke.refused_arguments`), at its place in the case file, with the one fix that
    works: removing it from `args:` (recording again is refused while the case exists, and `request:` is not
    what the tool reads). Review of upfix, problem 4: the advice was given for `fixed`/`hidden` arguments
    only, not for one the spec no longer has, and not at all for a case with `policy:` expectations."""
    from .cases import located

    problems = []
    for name, answer in refused.items():
        if name in tool.args.fixed:
            why, rename = "the manifest now sets `{0}` itself (`fixed`), and the tool refuses a value for it", ""
        elif name in tool.args.hidden:
            why, rename = "the manifest now hides `{0}` (`hidden`), and the tool refuses it", ""
        else:
            why, rename = "the tool has no argument `{0}` now (its spec or the manifest changed)", ", or rename it"
        problems.append(f"{located(case.path, 'args', name)}: {why.format(name)}; the tool answers: {answer} "
                        f"(remove `{name}` from the case's `args:`{rename})")
    return problems


class ReplaySession:
    """A `ReplayHarness` on its own event-loop thread, with blocking methods.

    Open once per manifest and reuse for all its cases (compiling is the slow part). Always
    `close()` (or use it as a context manager): it stops the thread and the replay upstream.
    """

    def __init__(self, manifest: str | Path | None, settings: Settings | None = None,
                 include_roots: Sequence[Path] = (), refuse_unmatched: bool = True,
                 entry_point: str | None = "mcprt test",
                 earlier_routes: Mapping[str, Mapping[str, Route]] | None = None,
                 dotenv_at: DotenvAt | None = None, written_warnings: bool = False) -> None:
        self.harness = ReplayHarness(manifest, settings, include_roots, refuse_unmatched, entry_point, earlier_routes,
                                     dotenv_at, written_warnings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcprt-replay", daemon=True)
        self._thread.start()
        self._opened = False

    @property
    def manifest(self) -> Path:
        return self.harness.manifest

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    def open(self) -> ReplaySession:
        """Compile the manifest against the replay upstream; ManifestError/McprtError on problems."""
        if not self._opened:
            self._call(self.harness.open())
            self._opened = True
        return self

    def run(self, case: Case) -> CaseRun:
        self.open()
        return self._call(self.harness.run(case), CALL_TIMEOUT + 10)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            if self._opened or self.harness.upstream.origin:
                self._call(self.harness.close(), 15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> ReplaySession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(manifest: str | Path | None, settings: Settings | None = None,
                 include_roots: Sequence[Path] = (), refuse_unmatched: bool = True,
                 entry_point: str | None = "mcprt test",
                 earlier_routes: Mapping[str, Mapping[str, Route]] | None = None,
                 dotenv_at: DotenvAt | None = None, written_warnings: bool = False) -> ReplaySession:
    """A ready session; the thread is cleaned up when opening fails. `include_roots` as for `load_manifest`;
    `refuse_unmatched` as `Runtime.refuse_unmatched_policy`; `entry_point` the command its live calls'
    audit records name, None for none written (`oneshot.governed`); `earlier_routes` as
    `Runtime.earlier_routes` (an earlier revision's `ReplayHarness.routes()`); `dotenv_at` and
    `written_warnings` as `ReplayHarness`'s."""
    session = ReplaySession(manifest, settings, include_roots, refuse_unmatched, entry_point, earlier_routes,
                            dotenv_at, written_warnings)
    try:
        return session.open()
    except (ManifestError, McprtError, Exception):
        session.close()
        raise
