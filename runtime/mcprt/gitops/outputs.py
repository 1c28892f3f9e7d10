"""How the recorded cases' output changes between two manifests: each case replayed through both.

The cases are the new manifest's (the ones under review). A case runs against the old manifest by
its tool name, or by its operation key when the tool was renamed; a tool that did not exist before
has no old output.

A case changes when what the model receives changes, and also where `mcprt test` would fail it although
the output is the same: the new manifest sends another request than the recorded one (`request differs`:
a path, method or fixed argument changed — the replay upstream answers the recorded response whatever
it is asked), or decides its `policy:` expectations otherwise (`policy differs`). The diff and the test
job of one pull request must not disagree. A failure the old manifest's run has too is not this change's:
it is listed apart (`still_fails`) and not counted (a review found a case that failed since an earlier
commit reported as changed by a commit that only edited another tool's description).

A case with no recorded response (a `python:`, `command:` or `url:` tool's: `Case.live`) is not run: its
output comes only from calling the tool for real, and a review of a pull request must not reach real
servers with the manifest's credentials or run a function's side effects, twice (both sides) and outside
the audit log (review of upfix, problem 3). It is listed as not checked (`LIVE_NOTE`); `mcprt test` runs it.

A case that the old manifest answered with a result and the new one answers with a tool error (`isError:
true`) is breaking: the tool now fails on an input it served, every call like it too (a trial's prune edit
left the output template reading a field no longer kept: every `search_tickets` call failed, and `--fail-on
breaking` passed it). An error that was an error before (a recorded 404) is no change of this kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import McprtError
from ..testing.cases import Case
from ..testing.harness import CaseRun, ReplaySession
from ..testing.snapshots import render_result, text_diff
from ..wording import excerpt, readable


@dataclass
class CaseDiff:
    case: str
    tool: str
    raw_bytes: int
    old_sent: int | None
    new_sent: int | None
    diff: str = ""  # unified diff of the rendered output (old → new); empty when unchanged
    note: str = ""
    # why `mcprt test` would fail the case with the new manifest besides its output (`request differs: …`),
    # and the old manifest would not: this change's
    fails: list[str] = field(default_factory=list)
    # the same failures the old manifest's run has too: listed, not counted as this change's
    still_fails: list[str] = field(default_factory=list)
    # not run: its output would come only from a live call (`Case.live`); listed as "not checked (live)"
    live: bool = False
    # the old manifest's result was a success and the new one's is a tool error (module docstring)
    breaking: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.diff) or self.old_sent != self.new_sent or bool(self.fails)

    @property
    def counted(self) -> bool:
        """Whether the change under review changes this case (`changed`, or a note such as "cannot run")."""
        return self.changed or bool(self.note)


LIVE_NOTE = ("not checked (live): the case has no recorded response, so only a real call of the tool could give "
             "its output; `mcprt diff` calls no tool for real (`mcprt test` does)")


def compare_case_outputs(old: ReplaySession, new: ReplaySession, cases: list[Case]) -> list[CaseDiff]:
    diffs: list[CaseDiff] = []
    for case in cases:
        if case.live:
            diffs.append(CaseDiff(case.id, case.tool, 0, None, None, live=True))
            continue
        try:
            after = new.run(case)
        except McprtError as exc:
            diffs.append(CaseDiff(case.id, case.tool, 0, None, None, note=f"cannot run with the new manifest: {exc}"))
            continue
        new_text = render_result(after.result, case.id)
        try:
            before = old.run(case)
        except McprtError:
            diffs.append(CaseDiff(case.id, after.tool, after.raw_bytes, None, after.sent_bytes,
                                  note="new tool: no output before", fails=_fails(after)))
            continue
        old_text = render_result(before.result, case.id)
        note = ""
        if before.request_problems and not after.request_problems:
            note = "the old manifest sent a different request: " + "; ".join(before.request_problems)
        failed_before = _fails(before)
        now_error = after.result.is_error and not before.result.is_error
        fails = [f for f in _fails(after) if f not in failed_before] + ([_now_error(after)] if now_error else [])
        diffs.append(CaseDiff(case.id, after.tool, after.raw_bytes, before.sent_bytes, after.sent_bytes,
                              diff=text_diff(old_text, new_text, case.id, sides=("old", "new")) if old_text != new_text else "",
                              note=note, fails=fails, still_fails=[f for f in _fails(after) if f in failed_before],
                              breaking=now_error))
    return diffs


def _now_error(run: CaseRun) -> str:
    """The reason a case that was a success is now a tool error, with the error's own first words."""
    text = next((str(block.get("text", "")) for block in run.result.content if block.get("type") == "text"), "")
    first = readable(text.strip(), 1_000).split("\n", 1)[0]
    said = f": {excerpt(first, 240)}" if first else ""
    return f"the tool now returns an error (isError: true) where it returned a result{said}"


def _fails(run: CaseRun) -> list[str]:
    """What `mcprt test` would report for this run besides its output, in its words (`runner.CaseOutcome`)."""
    return ([f"request differs: {problem}" for problem in run.request_problems]
            + [f"policy differs: {problem}" for problem in run.policy_problems])
