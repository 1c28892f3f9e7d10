"""The `mcprt validate` errors a change introduces, for `mcprt diff`: an `output` template that renders a
recorded case on the old side and fails on it on the new side (`testing.rendering`) is an error `validate`
reports (exit 2), and the tool fails on every call like that case: breaking. A trial found `diff --fail-on
breaking` passing such a change (a prune edit dropped a field the template still reads) while `validate`
failed it.

Both sides run the new side's cases (the ones under review), so an error the old manifest had on the same
case is not this change's; a case whose tool the old side does not have (added, renamed) fails only new.
"""

from __future__ import annotations

from ..testing.cases import Case
from ..testing.harness import ReplayHarness
from ..testing.rendering import case_render_failures
from .compare import Change
from .revisions import ManifestRef

KIND = "new validate error"
WHY = "the tool now fails on this recorded input; `mcprt validate` exits 2"


def new_validate_errors(old: ReplayHarness, new: ReplayHarness, cases: list[Case], new_ref: ManifestRef) -> list[Change]:
    """One breaking `new validate error` per case the new side's template fails on and the old side's
    did not, as `file:line:col: message` with the files named as the user knows them."""
    assert old.loaded is not None and old.toolset is not None and new.loaded is not None and new.toolset is not None
    failed_before = {case.id for case, _ in case_render_failures(old.loaded, old.toolset, cases)}
    changes = []
    for case, diagnostic in case_render_failures(new.loaded, new.toolset, cases):
        if case.id in failed_before:
            continue
        where = f"{new_ref.shown(diagnostic.file)}:{diagnostic.line}:{diagnostic.col}: " if diagnostic.file else ""
        changes.append(Change(KIND, f"{where}{new_ref.shown(diagnostic.message)} ({WHY})", breaking=True))
    return changes
