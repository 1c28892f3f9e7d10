"""`mcprt diff` output: plain text for a terminal, markdown for a pull-request comment, JSON for tools."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any
from ..wording import noun
from .outputs import LIVE_NOTE

if TYPE_CHECKING:
    from . import ManifestDiff
    from .offers import OfferDiff
    from .compare import ToolDiff
    from .outputs import CaseDiff

MAX_DIFF_LINES = 80  # per case in markdown: a PR comment has to stay readable (and under GitHub's limit)
# The whole markdown output, in characters: GitHub refuses a comment body over 65,536 characters (a review
# measured 79,720 for a source of 260 operations, and the CI example's comment step failed); the rest of
# the limit is left for what a CI step wraps around it
MAX_MARKDOWN_CHARS = 60_000


def _percent_change(before: int | None, after: int | None) -> str:
    if not before or after is None:
        return ""
    change = (after - before) / before
    return f" ({change:+.1%})"


def _summary(diff: ManifestDiff) -> str:
    tools = diff.toolset.tools
    counts = {status: sum(1 for t in tools if t.status == status) for status in ("added", "removed", "renamed",
                                                                               "changed")}
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    breaking = (sum(1 for t in tools if t.breaking) + sum(1 for c in diff.toolset.manifest_changes if c.breaking)
                + sum(1 for o in diff.offers if o.breaking) + sum(1 for c in diff.cases if c.breaking))
    head = f"{breaking} breaking" if breaking else "no breaking changes"
    listing = (f"tools/list: {diff.toolset.old_count} → {diff.toolset.new_count} {noun(diff.toolset.new_count, 'tool')}, "
               f"{diff.toolset.old_list_bytes:,} → {diff.toolset.new_list_bytes:,} bytes"
               f"{_percent_change(diff.toolset.old_list_bytes, diff.toolset.new_list_bytes)}")
    offers = ""
    if diff.offers:
        counted = {status: sum(1 for o in diff.offers if o.status == status) for status in ("added", "removed",
                                                                                           "changed")}
        offers = "; resources/prompts: " + ", ".join(f"{n} {status}" for status, n in counted.items() if n)
    return f"{head}; " + (", ".join(parts) if parts else "no tool changes") + f"; {listing}{offers}"


def _offer_line(offer: OfferDiff) -> str:
    size = ""
    if offer.old_bytes is not None and offer.new_bytes is not None and offer.old_bytes != offer.new_bytes:
        size = f" [{offer.old_bytes:,} → {offer.new_bytes:,} bytes]"
    elif offer.new_bytes is not None and offer.old_bytes is None:
        size = f" [{offer.new_bytes:,} bytes]"
    headline = "removed: requests for it fail" if offer.status == "removed" else offer.status
    return f"{offer.kind} {offer.key}: {headline}{size}"


def _tool_title(tool: ToolDiff) -> str:
    if tool.status == "renamed":
        return f"{tool.old_name} → {tool.name}"
    return tool.name


def _tool_headline(tool: ToolDiff) -> str:
    if tool.status == "renamed":
        return f"renamed (operation {tool.operation}): calls by the old name fail"
    if tool.status == "removed":
        return "removed: calls to it fail"
    if tool.status == "added":
        return "added"
    return "changed"


def _bytes(tool: ToolDiff) -> str:
    if tool.old_bytes is not None and tool.new_bytes is not None and tool.old_bytes != tool.new_bytes:
        return f"{tool.old_bytes:,} → {tool.new_bytes:,} bytes"
    if tool.new_bytes is not None and tool.old_bytes is None:
        return f"{tool.new_bytes:,} bytes"
    return ""


# --- text -------------------------------------------------------------------------------------------


def render_text(diff: ManifestDiff) -> str:
    lines = [f"mcprt diff {diff.old} → {diff.new}", _summary(diff)]
    for change in diff.toolset.manifest_changes:
        lines.append(f"  {'BREAKING ' if change.breaking else ''}{change.kind}: {change.detail}")
    for tool in diff.toolset.tools:
        mark = "!" if tool.breaking else {"added": "+", "removed": "-", "renamed": "~", "changed": "*"}[tool.status]
        size = _bytes(tool)
        lines.append("")
        lines.append(f"{mark} {_tool_title(tool)}: {_tool_headline(tool)}" + (f" [{size}]" if size else ""))
        for change in tool.changes:
            lines.append(f"    {'BREAKING ' if change.breaking else ''}{change.kind}: {change.detail}")
    for offer in diff.offers:
        mark = "!" if offer.breaking else {"added": "+", "removed": "-", "changed": "*"}[offer.status]
        lines.append("")
        lines.append(f"{mark} {_offer_line(offer)}")
        for change in offer.changes:
            lines.append(f"    {'BREAKING ' if change.breaking else ''}{change.kind}: {change.detail}")
    changed = [c for c in diff.cases if c.counted or c.still_fails]
    if diff.cases:
        lines.append("")
        lines.append("recorded cases: " + _cases_heading(diff))
        for case in changed:
            lines.append(f"  {'BREAKING ' if case.breaking else ''}{case.case}: {_case_bytes(case)}"
                         + (f" — {case.note}" if case.note else ""))
            lines += [f"    `mcprt test` fails it: {reason}" for reason in case.fails]
            lines += [f"    {_STILL}: {reason}" for reason in case.still_fails]
            lines += [f"    {line}" for line in case.diff.splitlines()]
        lines += [f"  {case.case}: {LIVE_NOTE}" for case in diff.cases if case.live]
    return "\n".join(lines) + "\n"


_STILL = "`mcprt test` failed it before this change too"


def _cases_heading(diff: ManifestDiff) -> str:
    """How many recorded cases the change changes: what the model receives, or what `mcprt test` says."""
    counted = sum(1 for c in diff.cases if c.counted)
    live = sum(1 for c in diff.cases if c.live)
    return (f"{counted} of {len(diff.cases)} change (what the model receives, or what `mcprt test` says)"
            + (f"; {live} not checked (live)" if live else ""))


def _case_bytes(case: CaseDiff) -> str:
    before = "-" if case.old_sent is None else f"{case.old_sent:,}"
    after = "-" if case.new_sent is None else f"{case.new_sent:,}"
    return f"sent {before} → {after} bytes{_percent_change(case.old_sent, case.new_sent)} (raw {case.raw_bytes:,})"


# --- markdown ---------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diff: ManifestDiff) -> str:
    out = [f"### mcprt diff: `{diff.old}` → `{diff.new}`", ""]
    breaking = diff.breaking
    out.append(f"{'⚠️ **Breaking changes.** ' if breaking else ''}{_summary(diff)}")
    out.append("")
    if diff.toolset.manifest_changes:
        for change in diff.toolset.manifest_changes:
            out.append(f"- {'⚠️ **breaking** ' if change.breaking else ''}**{change.kind}**: {_md(change.detail)}")
        out.append("")
    if diff.toolset.tools:
        out += ["| | tool | change | details |", "| --- | --- | --- | --- |"]
        icons = {"added": "➕", "removed": "➖", "renamed": "🔀", "changed": "✏️"}
        for tool in diff.toolset.tools:
            icon = "⚠️" if tool.breaking else icons[tool.status]
            details = "<br>".join(
                f"{'**breaking** ' if c.breaking else ''}{_md(c.kind)}: {_md(c.detail)}" for c in tool.changes
            )
            size = _bytes(tool)
            if size:
                details = f"{details}<br>definition {size}" if details else f"definition {size}"
            name = _tool_title(tool).replace(" → ", "` → `")
            out.append(f"| {icon} | `{name}` | {_md(_tool_headline(tool))} | {details} |")
        out.append("")
    else:
        out += ["No tool changes.", ""]
    if diff.offers:
        out += ["| | resource or prompt | change | details |", "| --- | --- | --- | --- |"]
        icons = {"added": "➕", "removed": "➖", "changed": "✏️"}
        for offer in diff.offers:
            icon = "⚠️" if offer.breaking else icons[offer.status]
            details = "<br>".join(f"{'**breaking** ' if c.breaking else ''}{_md(c.kind)}: {_md(c.detail)}"
                                  for c in offer.changes)
            out.append(f"| {icon} | {offer.kind} `{_md(offer.key)}` | {offer.status} | {details} |")
        out.append("")
    if diff.cases:
        changed = [c for c in diff.cases if c.counted or c.still_fails]
        out.append(f"#### Recorded cases: {_cases_heading(diff)}")
        out.append("")
        if changed:
            out += ["| case | raw bytes | sent before | sent after | change |", "| --- | ---: | ---: | ---: | ---: |"]
            for case in changed:
                before = "-" if case.old_sent is None else f"{case.old_sent:,}"
                after = "-" if case.new_sent is None else f"{case.new_sent:,}"
                change = _percent_change(case.old_sent, case.new_sent).strip(" ()") or "-"
                mark = "⚠️ **breaking** " if case.breaking else ""
                out.append(f"| {mark}`{case.case}` | {case.raw_bytes:,} | {before} | {after} | {change} |")
            out.append("")
            for case in changed:
                if case.note:
                    out.append(f"- `{case.case}`: {_md(case.note)}")
                out += [f"- `{case.case}`: `mcprt test` fails it: {_md(reason)}" for reason in case.fails]
                out += [f"- `{case.case}`: {_STILL}: {_md(reason)}" for reason in case.still_fails]
                if not case.diff:
                    continue
                lines = case.diff.splitlines()
                shown = lines[:MAX_DIFF_LINES]
                if len(lines) > MAX_DIFF_LINES:
                    shown.append(f"… {len(lines) - MAX_DIFF_LINES} more lines (run `mcprt diff` locally)")
                out += ["", f"<details><summary><code>{case.case}</code> output diff</summary>", "", "```diff",
                        *(line.replace("```", "`\u200b``") for line in shown), "```", "", "</details>"]
            out.append("")
        live = [c for c in diff.cases if c.live]
        if live:
            out += [f"- `{case.case}`: {_md(LIVE_NOTE)}" for case in live]
            out.append("")
    out = _capped(out)
    out.append("<sub>Generated by `mcprt diff`.</sub>")
    return "\n".join(out) + "\n"


def _capped(lines: list[str]) -> list[str]:
    """`lines` cut at whole lines to fit `MAX_MARKDOWN_CHARS` with the footer, an open code fence and
    `<details>` closed, and a note saying how many lines were left out and where to see them all."""
    if sum(len(line) + 1 for line in lines) <= MAX_MARKDOWN_CHARS - 200:
        return lines
    budget, used, kept = MAX_MARKDOWN_CHARS - 1_000, 0, []  # room for the closers, the note and the footer
    fenced, open_details = False, 0
    for line in lines:
        used += len(line) + 1
        if used > budget:
            break
        kept.append(line)
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("<details>"):
            open_details += 1
        elif line == "</details>":
            open_details -= 1
    left = len(lines) - len(kept)
    closers = (["```"] if fenced else []) + ["", "</details>"] * open_details
    return [*kept, *closers, "",
            f"**… {left:,} more {noun(left, 'line')} not shown**: this comment is cut at {MAX_MARKDOWN_CHARS:,} "
            "characters (GitHub refuses a comment over 65,536); run `mcprt diff` (text or `--format json`) for all "
            "of it.", ""]


# --- json -------------------------------------------------------------------------------------------


def render_json(diff: ManifestDiff) -> str:
    data: dict[str, Any] = {
        "old": diff.old,
        "new": diff.new,
        "breaking": diff.breaking,
        "changed": diff.any_change,
        "old_absent": diff.old_absent,  # the old revision had no manifest there: compared with an empty one
        "tools_list": {
            "old_tools": diff.toolset.old_count,
            "new_tools": diff.toolset.new_count,
            "old_bytes": diff.toolset.old_list_bytes,
            "new_bytes": diff.toolset.new_list_bytes,
        },
        "manifest_changes": [dataclasses.asdict(c) for c in diff.toolset.manifest_changes],
        "tools": [{**dataclasses.asdict(t), "breaking": t.breaking} for t in diff.toolset.tools],
        "cases": [{**dataclasses.asdict(c), "changed": c.changed,
                   **({"checked": False, "not_checked": LIVE_NOTE} if c.live else {"checked": True})}
                  for c in diff.cases],
        "offers": [{**dataclasses.asdict(o), "breaking": o.breaking} for o in diff.offers],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
