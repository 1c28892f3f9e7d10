"""Compile mcprt's modules to bytecode once, before the suite starts its workers.

Why: the suite starts ~1,000 Python processes (`mcprt up`, operator commands, fixture servers). Where
the environment sets `PYTHONDONTWRITEBYTECODE` (this project's CI machines do) no process writes the
`__pycache__` files, so every one of them compiles mcprt's own modules from source again: ~0.2 s of
CPU each (`mcprt validate` 0.62 → 0.42 s, `mcprt up` 1.3 → 1.1 s, measured on 2 cores). Installed
dependencies are compiled by pip at install time; an editable install of mcprt is not.
`compileall` writes bytecode whatever that variable says, and the import system reads it either way.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPILED = (ROOT / "runtime", ROOT / "tests" / "support")  # what the suite's processes import


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # the xdist controller compiled it before starting this worker
        return
    for folder in COMPILED:
        # quiet=2: no listing, no errors (a read-only checkout just runs slower); here, in the
        # controller before any worker starts, nothing else imports or writes these files yet
        compileall.compile_dir(folder, quiet=2)
