"""The real command line in a subprocess: `python -m mcprt ARGS` with MCPRT_* settings cleared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def mcprt_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              code: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m mcprt ARGS` (or `python -c CODE ARGS`) with MCPRT_* settings cleared."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    environment.update(env or {})
    program = ["-c", code] if code else ["-m", "mcprt"]
    return subprocess.run([sys.executable, *program, *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)
