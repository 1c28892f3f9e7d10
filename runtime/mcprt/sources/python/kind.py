"""The `python:` source kind: typed Python functions imported from the manifest's folder."""

from __future__ import annotations

from typing import ClassVar

from ...manifest.model import PythonSource, SourceBase
from ..base import RunningSource, SourceContext
from ..kind import SourceKind


class PythonKind(SourceKind):
    """Functions have names and docstrings, no tags or paths: only `operations` globs filter them.

    The builder filters, so editing `include`/`exclude` keeps the imported modules as they are.
    """

    key: ClassVar[str] = "python"
    model: ClassVar[type[SourceBase]] = PythonSource
    open_runs_to_end: ClassVar[bool] = True  # the import's worker thread cannot be stopped: its errors are waited for

    async def open(self, ctx: SourceContext) -> RunningSource:
        from .source import open_python_source

        return await open_python_source(ctx)


KIND = PythonKind()
