"""A reader that leaves early (`mcprt catalog show github | head`) is not an error of mcprt's.

Found by a new-user trial: `mcprt catalog show github | head -40` printed `internal error:
BrokenPipeError … (run with --debug for the traceback)`, while the commands printing rich tables
ended quietly. Each command here writes into a pipe whose reading end is already closed, so every
write fails at once (no race with a reader): it must end quietly with 1, the code `rich` uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "catalog" / "quickstart" / "mcp.yaml"


@pytest.mark.parametrize("args", [
    ("catalog", "show", "github"),  # plain print() of markdown
    ("catalog", "list"),
    ("schema",),  # one large write
    ("tools", str(QUICKSTART), "--json"),  # the fast path without Typer
    ("tools", str(QUICKSTART)),  # a rich table
], ids=" ".join)
def test_a_closed_stdout_ends_the_command_quietly(args: tuple[str, ...]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    try:
        done = subprocess.run([sys.executable, "-m", "mcprt", *args], stdout=write_end, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 1, done.stderr
    for noise in ("internal error", "Traceback", "Exception ignored", "BrokenPipe"):
        assert noise not in done.stderr, done.stderr
