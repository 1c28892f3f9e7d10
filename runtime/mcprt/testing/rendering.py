"""Recorded cases rendered at validate time: an `output` template that fails on a real response
fails `mcprt validate` at the failing line of the template (`file:line:col`), naming the case.

Only the shaping runs (prune, auto-prune, template, limits) on the recorded body — no upstream,
no network; `mcprt test` still replays the whole call and compares snapshots.
"""

from __future__ import annotations

import os

from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.checks import at_line
from ..shaping.result import template_failure
from ..contracts import UpstreamResult
from ..toolset.toolset import ToolSet
from .cases import Case, CaseError, find_cases


def recorded_upstream(case: Case) -> UpstreamResult | None:
    """A case's recorded response as the upstream result shaping receives (None: nothing to shape)."""
    response = case.response
    if response is None or response.body is None or response.body.kind == "base64":
        return None
    data = response.body.to_bytes()
    kind = "json" if response.body.kind == "json" else "text"
    return UpstreamResult(kind=kind, body=response.body.value, raw_bytes=len(data), status=response.status,
                          is_error=response.status >= 400, media_type=response.content_type())


def render_recorded_cases(loaded: LoadedManifest, toolset: ToolSet) -> list[Diagnostic]:
    """One error per recorded success response that a tool's `output` template cannot render."""
    try:
        cases = find_cases(loaded.path)
    except CaseError as exc:
        return [Diagnostic(str(loaded.path), 1, 1, f"recorded cases cannot be read: {exc}", "warning")]
    return [diagnostic for _, diagnostic in case_render_failures(loaded, toolset, cases)]


def case_render_failures(loaded: LoadedManifest, toolset: ToolSet, cases: list[Case]) -> list[tuple[Case, Diagnostic]]:
    """(case, error) for each of `cases` whose recorded success response its tool's `output` template
    cannot render: what `mcprt validate` reports (exit 2). `mcprt diff` runs it on both sides with the
    new side's cases, to tell the errors a change introduces from those it found."""
    found: list[tuple[Case, Diagnostic]] = []
    for case in cases:
        tool = toolset.get(case.tool)
        upstream = recorded_upstream(case)
        if tool is None or tool.shaping.output is None or upstream is None or upstream.is_error:
            continue
        error = template_failure(upstream, tool.shaping)
        if error is None:
            continue
        path = ("sources", tool.source, "tools", tool.override_key or tool.operation.key, "output")
        where = f"output template, line {error.line}" if error.line else "output template"
        message = (f"{where}: fails on the recorded case {os.path.relpath(case.path, loaded.base_dir)}: "
                   f"{error.message.rstrip('.')}")
        found.append((case, at_line(loaded.index, path, tool.shaping.output.source, error.line or 1, 1, message)))
    return found
