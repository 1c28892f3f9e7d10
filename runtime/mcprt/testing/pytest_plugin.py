"""pytest plugin: a repository's recorded cases run as ordinary pytest tests, one test per case.

Registered as the `mcprt` pytest11 entry point, so it is active wherever mcprt is installed. What it
collects (nothing else is touched, so it cannot disturb a project's own tests):

- a manifest file (`mcp.yaml`, `mcp.yml`, `mcp.toml`) that pytest reaches while collecting and that
  has a `cases/` folder beside it or beside a manifest it includes: one test per case, e.g.
  `api/mcp.yaml::list_issues/open-issues`. A case of an included manifest is one test, of the outermost
  collected manifest that includes it (`pytest_collection_modifyitems`).
  `pytest api/mcp.yaml` runs one manifest's cases; `pytest` runs those under `testpaths`.
- manifests named by `--mcprt-manifest PATH` (repeatable): added to the paths given on the command
  line, or, when none is given, collected alone (not beside everything under the current folder or
  `testpaths`, which pytest would collect by default); the `mcprt_manifests` ini setting (one path per
  line, relative to the ini file): added to what pytest collects.
- a manifest named on the command line or by `--mcprt-manifest` without cases is not passed over in
  silence (pytest's `ERROR: not found`): its errors are the collection error, at their `file:line:col`,
  else the error says it has no recorded cases. One listed in `mcprt_manifests` without cases is skipped
  with a warning saying the same (the ini file is read by every run, which must still run the project's
  own tests).
- `mcprt_collect = false` in the ini file turns off the automatic collection (named manifests are
  still collected).

`--mcprt-update` (or syrupy's `--snapshot-update`) rewrites snapshots, like `mcprt test --update`.
The replay machinery is `mcprt test`'s own (`mcprt.testing.runner.check_case`); each manifest is
compiled once per session. Imports are lazy: a suite without cases pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..manifest.names import DEFAULT_NAMES

if TYPE_CHECKING:
    from .cases import Case
    from .harness import ReplaySession
    from .runner import CaseOutcome

_STATE = pytest.StashKey["_Sessions"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcprt", "mcprt recorded cases")
    group.addoption("--mcprt-manifest", action="append", default=[], metavar="PATH",
                    help="Also collect the recorded cases of this manifest (repeatable).")
    group.addoption("--mcprt-update", action="store_true", default=False,
                    help="Rewrite the snapshots of mcprt cases from the current output.")
    parser.addini("mcprt_manifests", type="paths", default=[],
                  help="Manifests whose recorded cases are collected (one per line).")
    parser.addini("mcprt_collect", type="bool", default=True,
                  help="Collect cases beside every mcp.yaml/mcp.toml pytest reaches (default true).")


def pytest_configure(config: pytest.Config) -> None:
    option = [Path(p) for p in config.getoption("mcprt_manifest") or []]
    named = [*option, *(Path(p) for p in config.getini("mcprt_manifests") or [])]
    given = config.args_source == pytest.Config.ArgsSource.ARGS
    # A manifest on the command line is named too (`pytest api/mcp.yaml`): without cases it says why
    typed = [Path(arg.split("::", 1)[0]) for arg in config.args] if given else []
    asked = {p.resolve() for p in [*option, *(t for t in typed if t.name in DEFAULT_NAMES)]}
    config.stash[_STATE] = _Sessions({*asked, *(p.resolve() for p in named)}, asked)
    if option and not given:
        # `pytest --mcprt-manifest t6/mcp.yaml` asks for that manifest's cases: pytest's default arguments
        # (the current folder, or `testpaths`) would collect every other manifest and test below it too
        config.args = [str(p) for p in named]
    elif named:
        # Collected like any path given on the command line.
        config.args = [*config.args, *(str(p) for p in named if str(p) not in config.args)]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash.get(_STATE, None)
    if state is None:
        return None
    named = file_path.resolve() in state.named
    automatic = file_path.name in DEFAULT_NAMES and bool(parent.config.getini("mcprt_collect"))
    if not (named or automatic):
        return None
    if not named and not (file_path.parent / "cases").is_dir():
        from .cases import case_roots  # only here: the included manifests' cases count too

        if not any(root.is_dir() for root in case_roots(file_path)):
            return None
    return ManifestCases.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each case once: a case of an included manifest is collected through that manifest and through
    each collected manifest including it, all against its one snapshot; only the outermost keep it
    (as `mcprt test` of the including manifest runs it: with the defaults the served manifest gives)."""
    from ..manifest.loader import manifest_files

    by_case: dict[Path, list[CaseItem]] = {}
    for item in items:
        if isinstance(item, CaseItem):
            by_case.setdefault(item.case.path.resolve(), []).append(item)
    included: dict[Path, set[Path]] = {}  # a manifest → the manifests it includes
    dropped: list[pytest.Item] = []
    for collected in by_case.values():
        if len(collected) < 2:
            continue
        for item in collected:
            manifest = item.path.resolve()
            if manifest not in included:
                included[manifest] = {f.resolve() for f in manifest_files(item.path)} - {manifest}
        manifests = {item.path.resolve() for item in collected}
        dropped += [item for item in collected
                    if any(item.path.resolve() in included[other] for other in manifests)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is not None:
        state.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.figures:
        return
    from .report import bytes_by_tool, bytes_table

    terminalreporter.section("mcprt: bytes to the model")
    for manifest, figures in state.figures.items():
        rows, total = bytes_by_tool(figures)
        terminalreporter.write_line(str(manifest))
        terminalreporter.write_line(bytes_table(rows, total))


class _Sessions:
    """Per pytest session: one replay session per manifest, opened on first use."""

    def __init__(self, named: set[Path], asked: set[Path]) -> None:
        self.named = named  # every manifest named: on the command line, by --mcprt-manifest or in the ini file
        # those of this run's command line: without cases they are an error, while a manifest the ini file lists
        # is collected by every run, so that one without cases (yet) is a warning and the project's tests run
        self.asked = asked
        self.sessions: dict[Path, ReplaySession | BaseException] = {}
        self.figures: dict[Path, list[tuple[str, int, int]]] = {}

    def session_for(self, manifest: Path) -> ReplaySession:
        from .harness import ReplaySession

        known = self.sessions.get(manifest)
        if known is None:
            session = ReplaySession(manifest, entry_point="pytest")
            try:
                session.open()
                known = session
            except BaseException as exc:  # remembered: every case of this manifest reports it
                session.close()
                known = exc
            self.sessions[manifest] = known
        if isinstance(known, BaseException):
            raise known
        return known

    def close(self) -> None:
        for session in self.sessions.values():
            if not isinstance(session, BaseException):
                session.close()
        self.sessions.clear()


class CaseFailed(Exception):
    """A case whose request or output differs; the message is the readable report."""


class ManifestCases(pytest.File):
    """A manifest file: its children are its recorded cases."""

    def collect(self) -> Any:
        from .cases import find_cases

        cases = find_cases(self.path)
        if not cases:  # only a named manifest gets here without cases: say why nothing runs
            if self.path.resolve() in self.config.stash[_STATE].asked:
                raise self.CollectError(_no_cases(self.path))
            self.warn(pytest.PytestCollectionWarning(f"skipped (listed in mcprt_manifests): {_no_cases(self.path)}"))
            return
        for case in cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)


def _no_cases(manifest: Path) -> str:
    """Why a named manifest has no test: its errors (`file:line:col: message`), else that it has no cases."""
    from ..errors import ManifestError, McprtError
    from ..manifest.loader import load_manifest
    from .overrides import replay_environment

    try:  # read as a replay reads it: `${VAR}`s of credentials need not be set
        load_manifest(manifest, env=replay_environment(manifest))
    except ManifestError as exc:
        return "\n".join(str(d) for d in sorted(exc.diagnostics))
    except McprtError as exc:
        return f"{manifest}: {exc}"
    return (f"{manifest}: no recorded cases (a `cases/` folder beside it or beside a manifest it includes); "
            "`mcprt record` records one")


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.outcome: CaseOutcome | None = None

    def runtest(self) -> None:
        from ..errors import McprtError
        from .runner import check_case
        from .snapshots import SnapshotStore

        state: _Sessions = self.config.stash[_STATE]
        manifest = Path(self.path)
        try:
            session = state.session_for(manifest)
        except McprtError as exc:
            raise CaseFailed(f"{manifest}: cannot compile the manifest for replay:\n{exc}") from None
        update = bool(self.config.getoption("mcprt_update") or getattr(self.config.option, "update_snapshots", False))
        self.outcome = check_case(session, SnapshotStore(self.case.cases_root), self.case, update=update)
        if self.outcome.run is not None:
            run = self.outcome.run
            state.figures.setdefault(manifest, []).append((run.tool, run.raw_bytes, run.sent_bytes))
        if not self.outcome.passed:
            raise CaseFailed(self.outcome.explain())
        if self.outcome.run is not None and not self.outcome.run.policy_checked and self.case.policy_only:
            pytest.skip("; ".join(self.outcome.run.notes))  # it checks nothing else: shown, not passed

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.case.path, None, f"mcprt case {self.case.id}"
