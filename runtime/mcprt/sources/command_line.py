"""A `command:` source's command line: its arguments, and the local files they name.

One place for both readers: the running source (`sources.mcp.connectors.process_spec`, whose files a
reload watches) and the pre-commit hooks (`reload.scope`, which must decide from the manifest's text
alone and cheaply — this module imports nothing heavier than `shlex`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def command_argv(command: str | list[str], args: Iterable[Any] = ()) -> list[str]:
    """`command` split as a shell would (a string, `shlex` rules) or taken as written (a list), then
    `args`: the program and its arguments. Raises ValueError for a string `shlex` cannot split (an
    unclosed quote)."""
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    return argv + [str(arg) for arg in args]


def command_files(arguments: Iterable[str], cwd: Path) -> tuple[Path, ...]:
    """The arguments that name an existing file, relative to `cwd` (or absolute), resolved: a script
    (`server.py`) or a config file. Options (`-x`, `--flag`) are not file names; an argument no file
    can have (a NUL, or longer than a name may be: a JSON config string) names none, without error."""
    files: list[Path] = []
    for argument in arguments:
        if argument.startswith("-") or "\0" in argument:
            continue
        path = cwd / argument
        try:
            if path.is_file():
                files.append(path.resolve())
        except OSError:  # ENAMETOOLONG and the like: not a file name
            continue
    return tuple(files)
