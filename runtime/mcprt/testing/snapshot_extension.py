"""The syrupy extension behind case snapshots (imported only when snapshots are read or written)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syrupy.data import Snapshot, SnapshotCollection
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from .cases import Case
from .snapshots import SNAPSHOT_SUFFIX, render_result


@dataclass(frozen=True)
class CaseLocation:
    """Where a case's snapshot lives; stands in for syrupy's test location."""

    snapshot_dir: Path  # cases/__snapshots__
    tool: str
    name: str

    @classmethod
    def of(cls, case: Case, snapshot_dir: Path) -> CaseLocation:
        return cls(snapshot_dir, case.tool, case.name)


class CaseSnapshotExtension(SingleFileSnapshotExtension):
    """syrupy single-file text snapshots at `cases/__snapshots__/<tool>/<case>.txt`."""

    _write_mode = WriteMode.TEXT
    file_extension = SNAPSHOT_SUFFIX.lstrip(".")

    def serialize(self, data: Any, **kwargs: Any) -> str:  # type: ignore[override]
        if isinstance(data, str):
            return data
        result, case_id = data
        return render_result(result, case_id)

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:  # type: ignore[override]
        return str(test_location.snapshot_dir / test_location.tool)

    @classmethod
    def get_snapshot_name(cls, *, test_location: Any, index: Any = 0) -> str:  # type: ignore[override]
        return str(test_location.name)

    @classmethod
    def get_file_basename(cls, *, test_location: Any, index: Any) -> str:  # type: ignore[override]
        return str(test_location.name)

    def write_text(self, path: Path, name: str, serialized: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        collection = SnapshotCollection(location=str(path))
        collection.add(Snapshot(name=name, data=serialized))
        self.write_snapshot_collection(snapshot_collection=collection)
