"""Plain command lines of the commands run most often run without loading Typer.

`mcprt up` is started by an MCP client every time it starts, and its time to the first tools/list
is the server's start-up; `mcprt tools` and `mcprt validate` are what CI runs; the operator
commands (`status`, `approvals`, `pause`, `resume`) should answer like `curl`. Loading Typer (and
the Click it carries) to parse such a line costs about 0.09 s of CPU, more than a third of all that
`mcprt status` now takes (bench/cli_startup.py). So `run_fast(argv)` takes the common forms itself
and runs the same command bodies Typer runs (each command's `*_command` function, `Command.run`). Anything else — another command,
`--help`, a global option, `--name=value`, an unknown or repeated option, an option value or an
argument that looks like an option, one argument too many — is left to Typer (returns None), which
gives its usual help and messages. `COMMANDS` mirrors the Typer declarations in `cli/main.py`; a
test keeps the two equal (arguments, names, flags, value types, environment variables) and checks
that both parse every accepted form alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Command:
    """One command: its body (`run`, "module:function" under `mcprt.cli`, returning the exit code),
    its arguments in order (parameter name, value type, default), its flags (`--json`) and options
    taking one value (`--port 8765`) by command-line name → the body's parameter name (and the
    value's type), the options Typer fills from an environment variable when they are not given
    (parameter → variable), and whether the body loads settings and a manifest (`models`: their
    model classes are built before pydantic's plugin lookup, see `import_before_plugin_scan`)."""

    run: str
    arguments: tuple[tuple[str, type, Any], ...] = ()
    flags: dict[str, str] = field(default_factory=dict)
    options: dict[str, tuple[str, type]] = field(default_factory=dict)
    envvars: dict[str, str] = field(default_factory=dict)
    models: bool = False


_MANIFEST = (("manifest", Path, None),)
_SERVER = {"--url": ("url", str), "--token": ("token", str)}
_TOKEN_ENV = {"token": "MCPRT_TOKEN"}
COMMANDS = {
    "tools": Command("tools_cmd:tools_command", _MANIFEST, flags={"--json": "as_json", "--offline": "offline"},
                     models=True),
    "up": Command(
        "up_cmd:up_command", _MANIFEST,
        flags={"--stateless": "stateless", "--no-reload": "no_reload", "--offline": "offline", "--strict": "strict"},
        options={"--transport": ("transport", str), "--host": ("host", str), "--port": ("port", int),
                 "--metrics-port": ("metrics_port", int)},
        models=True,
    ),
    "validate": Command("validate_cmd:validate_command", _MANIFEST,
                        flags={"--offline": "offline", "--strict": "strict", "--no-exec": "no_exec"}, models=True),
    "status": Command("status_cmd:status_command", (("url", str, None),), flags={"--json": "as_json", "--all": "show_all"},
                      options={"--url": ("url_option", str), "--token": ("token", str)}),
    "approvals": Command("policy_cmd:approvals_command", (("action", str, "list"), ("approval_id", str, None)),
                         flags={"--json": "as_json", "--all": "show_all"},
                         options={**_SERVER, "--reason": ("reason", str)}, envvars=_TOKEN_ENV),
    "pause": Command("policy_cmd:pause_command", (("tool", str, None),),
                     flags={"--all": "everything", "--json": "as_json"},
                     options={"--source": ("source", str), **_SERVER, "--reason": ("reason", str)},
                     envvars=_TOKEN_ENV),
    "resume": Command("policy_cmd:resume_command", (("tool", str, None),),
                      flags={"--all": "everything", "--json": "as_json"},
                      options={"--source": ("source", str), **_SERVER}, envvars=_TOKEN_ENV),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, its body's arguments) for a plain command line, else None (Typer's turn)."""
    if not argv or argv[0] not in COMMANDS:
        return None
    command = COMMANDS[argv[0]]
    values: dict[str, Any] = {**{name: default for name, _, default in command.arguments},
                              **dict.fromkeys(command.flags.values(), False),
                              **{name: None for name, _ in command.options.values()}}
    seen: set[str] = set()
    given = 0  # arguments taken so far
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
        elif token.startswith("-") or given == len(command.arguments) or not token:
            return None
        else:
            name, kind, _ = command.arguments[given]
            values[name] = kind(token)
            given += 1
            continue
        seen.add(token)
    for name, variable in command.envvars.items():
        if values[name] is None:  # as Click reads an option's envvar: an empty value is no value
            values[name] = os.environ.get(variable) or None
    return argv[0], values


def run_fast(argv: list[str]) -> int | None:
    """Run a plain command line of a `COMMANDS` command: its exit code (a failure exits through
    `guarded`'s `SystemExit`, as under Typer); None when Typer must parse it."""
    parsed = parse(argv)
    if parsed is None:
        return None
    name, values = parsed
    command = COMMANDS[name]
    if command.models:
        from .. import import_before_plugin_scan

        # These commands load settings and a manifest first; their model classes are built here,
        # before pydantic's plugin lookup (see `import_before_plugin_scan`).
        import_before_plugin_scan("mcprt.settings", "mcprt.manifest.loader")
    from .errors import set_debug

    set_debug(False)  # what the Typer callback does without --debug (MCPRT_DEBUG still applies)
    import importlib

    module, function = command.run.split(":")
    body = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    code: int = body(**values)
    return code
