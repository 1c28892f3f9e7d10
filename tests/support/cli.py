"""The real command line with MCPRT_* settings cleared: in this process (`mcprt_cli`, the default) or in a
real `python -m mcprt` subprocess (`mcprt_process`, where the process itself is what is tested)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.inprocess_cli import run_in_process


def cli_env(env: Mapping[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This environment without MCPRT_* settings (they would change what a command does), plus `env`, minus `drop`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    environment.update(env or {})
    for name in drop:
        environment.pop(name, None)
    return environment


def mcprt_cli(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, drop: tuple[str, ...] = (),
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m mcprt ARGS` run in this process (`tests.support.inprocess_cli`: the real entry point, a
    process's argv, environment, cwd, streams and exit code; the worker restored afterwards), with this
    environment minus MCPRT_* plus `env`, minus `drop`. ValueError when that sets a variable read only at a
    process's start or a library's import (PYTHONWARNINGS, TERMINAL_WIDTH…): use `mcprt_process`."""
    return run_in_process(args, env=cli_env(env, drop=drop), cwd=cwd, timeout=timeout)


def mcprt_process(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                  drop: tuple[str, ...] = (), code: str | None = None, forked: bool = False,
                  timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m mcprt ARGS` (or `python -c CODE ARGS`) in a real subprocess with an empty stdin, this
    environment minus MCPRT_* plus `env`, minus `drop`: for tests of the process itself (start-up, imports,
    signals, the README's quick start as a user types it). `forked`: a child of the suite's warm zygote
    when it can be (tests/support/zygote.py: a real process without ~1.5 s of imports), for a test of
    what the process does with its descriptors or threads rather than of its start."""
    from tests.support import zygote

    program = ["-c", code] if code else ["-m", "mcprt"]
    command = (zygote.launcher_command([*program, *args]) if forked and not code else None) or [sys.executable, *program,
                                                                                          *args]
    return subprocess.run(command, cwd=cwd, env=cli_env(env, drop=drop), capture_output=True,
                          stdin=subprocess.DEVNULL, text=True, timeout=timeout)
