"""Snapshots of what the model receives, as reviewable text files beside the cases.

One file per case, `cases/__snapshots__/<tool>/<case>.txt`, written and read through a syrupy
single-file extension (text mode, `snapshot_extension.py`) so storage and comparison are syrupy's. The
serializer renders a `ToolResult` for people reviewing a pull request: the byte figures first, then
each content block; JSON text is shown indented (it is sent compact), and structuredContent that
mirrors the text block is not repeated.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contracts import ToolResult
from ..errors import McprtError
from .cases import SNAPSHOTS_DIR, Case

SNAPSHOT_SUFFIX = ".txt"


def reduction(raw: int, sent: int) -> float | None:
    """Fraction of bytes saved (0.962 = 96.2% fewer), or None without a raw figure."""
    return (raw - sent) / raw if raw > 0 else None


def bytes_summary(raw: int, sent: int) -> str:
    """`357 from upstream -> 340 to the model (4.8% fewer)`: sent bytes as `shaping.sent` counts them
    (what the model reads), so "more" means shaping added text (notes, a template), not framing."""
    saved = reduction(raw, sent)
    figure = "" if saved is None else f" ({saved:.1%} fewer)" if saved >= 0 else f" ({-saved:.1%} more)"
    return f"{raw:,} from upstream -> {sent:,} to the model{figure}"


def render_result(result: ToolResult, case_id: str) -> str:
    lines = [
        f"{_HEADER}{case_id}: what the model receives",
        f"# bytes: {bytes_summary(result.raw_bytes, result.sent_bytes)}",
    ]
    if result.is_error:
        lines.append("# isError: true")
    mirrored: Any = None
    for i, block in enumerate(result.content):
        kind = block.get("type", "?")
        if kind == "text":
            text = str(block.get("text", ""))
            parsed = _json_or_none(text)
            if parsed is not None:
                lines.append(f"=== content[{i}] text (JSON, indented here; sent compact) ===")
                lines.append(json.dumps(parsed, indent=2, ensure_ascii=False))
                mirrored = parsed if mirrored is None else mirrored
            else:
                lines.append(f"=== content[{i}] text ===")
                lines.append(text)
        elif kind == "image":
            size = len(block.get("data") or "")
            lines.append(f"=== content[{i}] image {block.get('mimeType')}, {size} base64 chars ===")
        elif kind == "resource":
            resource = block.get("resource") or {}
            size = len(resource.get("blob") or resource.get("text") or "")
            lines.append(f"=== content[{i}] resource {resource.get('uri')} {resource.get('mimeType')}, {size} chars ===")
        else:
            lines.append(f"=== content[{i}] {kind} ===")
            lines.append(json.dumps(block, indent=2, ensure_ascii=False, sort_keys=True))
    if result.structured_content is not None:
        if result.structured_content == mirrored:
            lines.append("=== structuredContent: the same value as the JSON text above ===")
        else:
            lines.append("=== structuredContent ===")
            lines.append(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    return "\n".join(lines).rstrip() + "\n"


_HEADER = "# mcprt snapshot of case "


def model_text(snapshot: str) -> str:
    """A snapshot without its first line when that is the header naming the case (`render_result`): the
    model never sees it, and a case renamed with its tool keeps what it receives (found by a gitops trial:
    following `mcprt test`'s advice to rename the case folder failed the case over this comment)."""
    first, newline, rest = snapshot.partition("\n")
    return rest if newline and first.startswith(_HEADER) else snapshot


def _json_or_none(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped[:1] in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def text_diff(old: str, new: str, label: str, context: int = 2, sides: tuple[str, str] = ("snapshot", "now")) -> str:
    """A unified diff, the form reviewers read in pull requests (`-` before, `+` after)."""
    return "".join(
        line if line.endswith("\n") else line + "\n"
        for line in difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"{label} ({sides[0]})", tofile=f"{label} ({sides[1]})", n=context,
        )
    ).rstrip("\n")


@dataclass
class SnapshotCheck:
    status: str  # "matched", "created", "updated", "missing", "differs"
    path: Path
    diff: str = ""
    received: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("matched", "created", "updated")


class SnapshotStore:
    """Read, compare and write case snapshots through the syrupy extension."""

    def __init__(self, cases_root: Path) -> None:
        try:
            from .snapshot_extension import CaseLocation, CaseSnapshotExtension
        except ImportError as exc:  # syrupy (and pytest) come with the `dev` extra
            raise McprtError(
                f"snapshots need syrupy and pytest ({exc}); install them with: pip install 'mcprt[dev]'"
            ) from None
        self.cases_root = cases_root
        self.extension = CaseSnapshotExtension()
        self._location = CaseLocation.of

    def path_for(self, case: Case) -> Path:
        location = self._location(case, self.cases_root / SNAPSHOTS_DIR)
        return Path(self.extension.get_location(test_location=location, index=0))  # type: ignore[arg-type]

    def read(self, case: Case) -> str | None:
        path = self.path_for(case)
        data = self.extension.read_snapshot_data_from_location(
            snapshot_location=str(path), snapshot_name=case.name, session_id=""
        )
        return None if data is None else str(data).replace("\r\n", "\n")

    def write(self, case: Case, serialized: str) -> Path:
        path = self.path_for(case)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.extension.write_text(path, case.name, serialized)
        return path

    def check(self, case: Case, result: ToolResult, *, update: bool) -> SnapshotCheck:
        """Compare what the model receives with the stored snapshot; the header line naming the case is no
        part of it (`model_text`), so a case folder renamed after its tool (as `mcprt test` advises) still
        matches; `update` rewrites a differing or missing snapshot."""
        serialized = self.extension.serialize((result, case.id))
        path = self.path_for(case)
        stored = self.read(case)
        if stored is not None and self.extension.matches(serialized_data=model_text(serialized),
                                                         snapshot_data=model_text(stored)):
            return SnapshotCheck("matched", path)
        if update:
            self.write(case, serialized)
            return SnapshotCheck("created" if stored is None else "updated", path, received=serialized)
        if stored is None:
            return SnapshotCheck("missing", path, received=serialized)
        return SnapshotCheck("differs", path, diff=text_diff(stored, serialized, str(path)), received=serialized)

    def stale(self, cases: list[Case]) -> list[Path]:
        """Snapshot files whose case no longer exists."""
        root = self.cases_root / SNAPSHOTS_DIR
        if not root.is_dir():
            return []
        wanted = {self.path_for(c).resolve() for c in cases}
        return sorted(p for p in root.rglob(f"*{SNAPSHOT_SUFFIX}") if p.resolve() not in wanted)
