"""The suite compiles mcprt's modules before it starts (tests/support/bytecode.py): every module has
current bytecode, also ones no test imports, so no process the suite starts compiles them again."""

from __future__ import annotations

import importlib.util
import os

from tests.support.bytecode import COMPILED


def test_every_module_the_suites_processes_import_has_current_bytecode() -> None:
    stale = []
    for folder in COMPILED:
        for source in folder.rglob("*.py"):
            cached = importlib.util.cache_from_source(str(source))
            try:
                current = os.stat(cached).st_mtime >= source.stat().st_mtime
            except FileNotFoundError:
                current = False
            if not current:
                stale.append(str(source.relative_to(folder.parent)))
    assert not stale, f"{len(stale)} modules without current bytecode, e.g. {stale[:5]}"
