"""`mcprt up` and `mcprt tools` with a plain command line run without loading Typer.

`mcprt up` is started by an MCP client every time it starts, and its time to the first tools/list
is the server's start-up; `mcprt tools` is what CI runs. Loading Typer (and the Click it carries)
to parse such a line costs about 0.03 s of CPU, a twentieth of a cold start on GitHub's
description. So `run_fast(argv)` takes the common forms itself and runs the same command bodies
Typer runs (`tools_cmd.tools_command`, `up_cmd.up_command`). Anything else — another command,
`--help`, a global option, `--name=value`, an unknown or repeated option, an option value that
looks like an option, a second argument — is left to Typer (returns None), which gives its usual
help and messages. `COMMANDS` mirrors the Typer declarations in `cli/main.py`; a test keeps the
two equal (names, flags, value types) and checks that both parse every accepted form alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Command:
    """The options of one command: flags (`--json`) and options taking one value (`--port 8765`),
    each by its command-line name → the command function's parameter name (and the value's type)."""

    flags: dict[str, str] = field(default_factory=dict)
    options: dict[str, tuple[str, type]] = field(default_factory=dict)


COMMANDS = {
    "tools": Command(flags={"--json": "as_json", "--offline": "offline"}),
    "up": Command(
        flags={"--stateless": "stateless", "--no-reload": "no_reload", "--offline": "offline"},
        options={"--transport": ("transport", str), "--host": ("host", str), "--port": ("port", int),
                 "--metrics-port": ("metrics_port", int)},
    ),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, its function's arguments) for a plain command line, else None (Typer's turn)."""
    if not argv or argv[0] not in COMMANDS:
        return None
    command = COMMANDS[argv[0]]
    values: dict[str, Any] = {"manifest": None, **dict.fromkeys(command.flags.values(), False),
                              **{name: None for name, _ in command.options.values()}}
    seen: set[str] = set()
    rest = iter(argv[1:])
    for token in rest:
        if token in seen:
            return None
        if token in command.flags:
            values[command.flags[token]] = True
        elif token in command.options:
            name, kind = command.options[token]
            value = next(rest, None)
            if value is None or value.startswith("-") or (kind is int and not (value.isascii() and value.isdigit())):
                return None
            values[name] = kind(value)
        elif token.startswith("-") or values["manifest"] is not None or not token:
            return None
        else:
            values["manifest"] = Path(token)
            continue
        seen.add(token)
    return argv[0], values


def run_fast(argv: list[str]) -> int | None:
    """Run a plain `up`/`tools` command line: its exit code (a failure exits through `guarded`'s
    `SystemExit`, as under Typer); None when Typer must parse it."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, values = parsed
    from .. import import_before_plugin_scan

    # Both commands load settings and a manifest first; their model classes are built here, before
    # pydantic's plugin lookup (see `import_before_plugin_scan`).
    import_before_plugin_scan("mcprt.settings", "mcprt.manifest.loader")
    from .errors import set_debug

    set_debug(False)  # what the Typer callback does without --debug (MCPRT_DEBUG still applies)
    if command == "tools":
        from .tools_cmd import tools_command

        return tools_command(**values)
    from .up_cmd import up_command

    return up_command(**values)
