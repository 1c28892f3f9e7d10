"""Checking cases: replay, compare the request, compare the snapshot. Shared by `mcprt test` and pytest.

A case passes when the request the runtime sent matches the recorded one and the result matches its
snapshot. `update=True` rewrites snapshots (never the recorded requests: those are the upstream's
truth; re-record or edit the case when an argument mapping changes on purpose).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import McprtError
from .cases import Case, case_roots, find_cases
from .harness import CaseRun, ReplaySession
from .snapshots import SnapshotCheck, SnapshotStore


@dataclass
class CaseOutcome:
    case: Case
    run: CaseRun | None = None
    snapshot: SnapshotCheck | None = None
    error: str | None = None  # the case could not run at all

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.run is not None
            and not self.run.request_problems
            and not self.run.policy_problems
            and (self.case.policy_only or (self.snapshot is not None and self.snapshot.ok))
        )

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        if self.run is not None and self.run.request_problems:
            return "request differs"
        if self.run is not None and self.run.policy_problems:
            return "policy differs"
        if self.case.policy_only:
            return "passed" if self.run is None or self.run.policy_checked else "policy not checked"
        assert self.snapshot is not None
        return {"matched": "passed", "created": "snapshot written", "updated": "snapshot updated",
                "missing": "no snapshot", "differs": "output differs"}[self.snapshot.status]

    def explain(self) -> str:
        """The readable failure report of this case (empty when it passed)."""
        if self.passed:
            return ""
        where = f"{self.case.id} ({self.case.path})"
        if self.error is not None:
            return f"{where}: {self.error}"
        assert self.run is not None
        lines: list[str] = []
        if self.run.request_problems:
            if self.run.refused_args:  # each problem names its fix (`harness._refused`)
                lines.append(f"{where}: the tool refuses the case's arguments:")
                lines += [f"  {p}" for p in self.run.request_problems]
            else:
                lines.append(f"{where}: the request differs from the recorded one:")
                lines += [f"  {p}" for p in self.run.request_problems]
                lines.append("  (if the change is intended, record the case again or edit its `request:`)")
        if self.run.policy_problems:
            lines.append(f"{where}: the policy decides otherwise than the case expects:")
            lines += [f"  {p}" for p in self.run.policy_problems]
        snapshot = self.snapshot
        if snapshot is not None and snapshot.status == "differs":
            lines.append(f"{where}: what the model receives changed ({snapshot.path}):")
            lines += [f"  {line}" for line in snapshot.diff.splitlines()]
            lines.append("  (if the change is intended, run `mcprt test --update` and commit the snapshot)")
        elif snapshot is not None and snapshot.status == "missing":
            lines.append(f"{where}: no snapshot yet at {snapshot.path}; run `mcprt test --update` to write it. "
                         "It would be:")
            lines += [f"  {line}" for line in snapshot.received.splitlines()]
        return "\n".join(lines)


def check_case(session: ReplaySession, store: SnapshotStore, case: Case, *, update: bool) -> CaseOutcome:
    """Replay one case and compare; never raises for a problem of the case itself."""
    try:
        run = session.run(case)
    except McprtError as exc:
        return CaseOutcome(case, error=str(exc))
    outcome = CaseOutcome(case, run)
    if not run.request_problems and not case.policy_only:
        outcome.snapshot = store.check(case, run.result, update=update)
    return outcome


@dataclass
class ManifestRun:
    manifest: Path
    outcomes: list[CaseOutcome] = field(default_factory=list)
    stale_snapshots: list[Path] = field(default_factory=list)
    removed_snapshots: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the tools the manifest serves that no case calls, by exposed name (sorted): their output is checked by
    # nothing (a trial's catalog entry had 2 of 7 such tools, and neither `mcprt test` nor the catalog said so)
    uncovered: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]


def run_manifest_cases(manifest: Path, *, update: bool = False,
                       progress: Callable[[int], AbstractContextManager[Callable[[str], None]]] | None = None,
                       ) -> ManifestRun:
    """Every case of `manifest` and of the manifests it includes (`case_roots`), replayed with one
    session. Raises ManifestError/CaseError on bad input.

    `progress(total)` (the CLI's progress bar) yields a function called with each case id once done."""
    cases = find_cases(manifest)
    report = ManifestRun(manifest)
    stores = {root: SnapshotStore(root) for root in case_roots(manifest)}
    if cases:
        session = ReplaySession(manifest)
        try:
            session.open()
            report.warnings = list(session.harness.warnings)
            with (progress or _no_progress)(len(cases)) as advance:
                for case in cases:
                    report.outcomes.append(check_case(session, stores[case.cases_root], case, update=update))
                    advance(case.id)
            toolset = session.harness.toolset
            called = {o.run.tool for o in report.outcomes if o.run is not None}
            report.uncovered = sorted(t.name for t in toolset if t.name not in called) if toolset is not None else []
        finally:
            session.close()
    report.stale_snapshots = [path for root, store in stores.items()
                              for path in store.stale([c for c in cases if c.cases_root == root])]
    if update:
        for path in report.stale_snapshots:
            path.unlink()
            report.removed_snapshots.append(path)
        report.stale_snapshots = []
    return report


@contextmanager
def _no_progress(total: int) -> Iterator[Callable[[str], None]]:
    yield lambda case_id: None
