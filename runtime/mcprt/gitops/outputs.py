"""How the recorded cases' output changes between two manifests: each case replayed through both.

The cases are the new manifest's (the ones under review). A case runs against the old manifest by
its tool name, or by its operation key when the tool was renamed; a tool that did not exist before
has no old output.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import McprtError
from ..testing.cases import Case
from ..testing.harness import ReplaySession
from ..testing.snapshots import render_result, text_diff


@dataclass
class CaseDiff:
    case: str
    tool: str
    raw_bytes: int
    old_sent: int | None
    new_sent: int | None
    diff: str = ""  # unified diff of the rendered output (old → new); empty when unchanged
    note: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.diff) or self.old_sent != self.new_sent


def compare_case_outputs(old: ReplaySession, new: ReplaySession, cases: list[Case]) -> list[CaseDiff]:
    diffs: list[CaseDiff] = []
    for case in cases:
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
                                  note="new tool: no output before"))
            continue
        old_text = render_result(before.result, case.id)
        note = ""
        if before.request_problems and not after.request_problems:
            note = "the old manifest sent a different request: " + "; ".join(before.request_problems)
        diffs.append(CaseDiff(case.id, after.tool, after.raw_bytes, before.sent_bytes, after.sent_bytes,
                              diff=text_diff(old_text, new_text, case.id, sides=("old", "new")) if old_text != new_text else "",
                              note=note))
    return diffs
