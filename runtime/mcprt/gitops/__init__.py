"""GitOps review: `mcprt diff` — what a change to a manifest changes for the model.

    diff = diff_manifests("HEAD~1:mcp.yaml", "mcp.yaml")
    print(render(diff, "markdown"))        # ready to post as a pull-request comment
    diff.breaking                          # for `--fail-on breaking`
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ManifestError, McprtError

from ..testing.cases import find_cases
from ..testing.harness import ReplaySession, open_session
from .compare import Change, ToolDiff, ToolsetDiff, compare_toolsets
from .offers import OfferDiff, compare_offers
from .outputs import CaseDiff, compare_case_outputs
from .requests import known_principals
from .revisions import ManifestRef, resolve_manifest_ref
from .server_settings import budget_changes, server_changes
from .validate_errors import new_validate_errors
from .warnings import new_warnings

__all__ = ["Change", "CaseDiff", "ManifestDiff", "ManifestRef", "OfferDiff", "ToolDiff", "diff_manifests", "render",
           "resolve_manifest_ref"]


@dataclass
class ManifestDiff:
    old: str
    new: str
    toolset: ToolsetDiff
    cases: list[CaseDiff] = field(default_factory=list)
    offers: list[OfferDiff] = field(default_factory=list)  # resources, templates, prompts
    # the old side's revision had no manifest there (the pull request that adds it): compared with an empty
    # manifest, everything is added and nothing can break (no client was served before)
    old_absent: bool = False

    @property
    def breaking(self) -> bool:
        if self.old_absent:
            return False
        return (self.toolset.breaking or any(o.breaking for o in self.offers)
                or any(c.breaking for c in self.cases))

    @property
    def any_change(self) -> bool:
        return bool(self.toolset.tools or self.toolset.manifest_changes or self.offers
                    or any(c.changed for c in self.cases))


def _absent_hint(old: str, new_ref: ManifestRef) -> str:
    """Why a missing old side is an error: run from a subfolder, `REV:mcp.yaml` names the top level's file
    (git's rule: `REV:./path` is the one relative to the current folder), which the user may not know."""
    rev, _, path = old.partition(":")
    if not path.startswith(("./", "../", "/")) and (Path.cwd() / path).resolve() == new_ref.worktree_file:
        return f"REV:path is relative to the repository's top folder; did you mean {rev}:./{path}?"
    return "an old side missing at its revision is compared as an empty manifest only when the new side is the same file"


def diff_manifests(old: str, new: str) -> ManifestDiff:
    """Compile both manifests (offline: pinned specs, replay upstream) and compare; replay the new cases."""
    workdir = Path(tempfile.mkdtemp(prefix="mcprt-diff-"))
    sessions: list[ReplaySession] = []
    try:
        old_ref, new_ref = resolve_manifest_ref(old, workdir, absent_ok=True), resolve_manifest_ref(new, workdir)
        if old_ref.absent and old_ref.worktree_file != new_ref.worktree_file:  # a typo must not read as "all new"
            raise McprtError(f"{old}: no such file at revision {old_ref.rev} ({_absent_hint(old, new_ref)})")
        for ref in (old_ref, new_ref):
            try:
                # the old side as it was served: a policy target naming nothing was a warning before it was an
                # error, and a change that mends one must still compile its old side to be compared
                # the new side knows the old one's routes: a vanished override key's did-you-mean names the
                # operation now at its method and path (its rename), as a reload's does
                earlier = sessions[0].harness.routes() if ref is new_ref and sessions else None
                sessions.append(open_session(ref.path, include_roots=ref.include_roots,
                                             refuse_unmatched=ref is new_ref,
                                             entry_point=None,  # a review on copies: nothing audited
                                             earlier_routes=earlier,
                                             # both sides open their sources with this machine's variables
                                             # (the working tree's `.env`, the process environment), and
                                             # report the warnings of what is committed: no local value may
                                             # make one (trial docs #8; review of docsfix, problem 1)
                                             dotenv_at=ref.worktree_folder, written_warnings=True))
            except ManifestError as exc:  # named as the user knows the files, not by their temporary copies
                raise ManifestError([replace(d, file=ref.shown(d.file), message=ref.shown(d.message))
                                     for d in exc.diagnostics]) from None
            except McprtError as exc:
                raise McprtError(ref.shown(str(exc))) from None
        before, after = sessions
        assert before.harness.toolset is not None and after.harness.toolset is not None
        assert before.harness.loaded is not None and after.harness.loaded is not None
        cases = find_cases(new_ref.path, new_ref.include_roots)
        principals = known_principals(before.harness.loaded, after.harness.loaded,
                                      more=(p.principal for case in cases for p in case.policy))
        toolset = compare_toolsets(before.harness.toolset, after.harness.toolset,
                                   before.harness.loaded, after.harness.loaded,
                                   (before.harness.gate, after.harness.gate), principals)
        toolset.manifest_changes += server_changes(before.harness.loaded, after.harness.loaded)
        toolset.manifest_changes += budget_changes(before.harness.loaded, after.harness.loaded,
                                                   before.harness.toolset, after.harness.toolset)
        toolset.manifest_changes += new_warnings(before.harness.warning_diagnostics, after.harness.warning_diagnostics,
                                                 old_ref, new_ref, before.harness.loaded, after.harness.loaded)
        # notes too: under `include`/`exclude` an override of an operation the filter now leaves out is one
        toolset.manifest_changes += new_warnings(before.harness.note_diagnostics, after.harness.note_diagnostics,
                                                 old_ref, new_ref, before.harness.loaded, after.harness.loaded,
                                                 kind="new note")
        # what `mcprt validate` newly fails on (exit 2): a template that no longer renders a recorded case
        toolset.manifest_changes += new_validate_errors(before.harness, after.harness, cases, new_ref)
        case_diffs = compare_case_outputs(before, after, cases)
        offers = compare_offers(before.harness.toolset.offers, after.harness.toolset.offers)
        if old_ref.absent:  # nothing was served before: a change cannot break a client
            toolset.manifest_changes = [replace(c, breaking=False) for c in toolset.manifest_changes]
            case_diffs = [replace(c, breaking=False) for c in case_diffs]
        old_label = f"{old_ref.label} (absent at {old_ref.rev}: an empty manifest)" if old_ref.absent else old_ref.label
        return ManifestDiff(old_label, new_ref.label, toolset, case_diffs, offers, old_absent=old_ref.absent)
    finally:
        for session in sessions:
            session.close()
        shutil.rmtree(workdir, ignore_errors=True)


def render(diff: ManifestDiff, fmt: str) -> str:
    from .formats import render_json, render_markdown, render_text

    return {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt](diff)
