"""The `env:` of `python:` sources: variables put in this process's environment for the sources' code.

A `python:` source's code runs in mcprt's own process, and the usual way such code reads its settings is
`os.environ["ACME_API_KEY"]` — at import (a client built at module level) or in a call, in a thread it
starts, in a library it calls (boto3, libpq's `getenv`), in a child process it runs. A trial's migrated
FastMCP tools read `os.environ` and got nothing while the same manifest's `${ACME_API_KEY}` resolved from the
`.env` beside it. So a `python:` source takes an `env:` mapping, as a `command:` source does, whose
`${VAR}` values resolve like the rest of the manifest, and its values are set in the process environment
(`os.environ`, hence C's `getenv` and inherited by child processes) before the source's modules are
imported. The rules that make one process environment safe for several sources and reloads:

- **One value per name.** The environment is process-wide, so two `python:` sources setting one name to
  different values is a manifest error (`conflicts`, at the second one's key): no source could know which
  value its code reads. The same value twice is fine.
- **Names mcprt reads itself are refused** (`RESERVED`): `MCPRT_*` (its settings), `OTEL_*` (its tracing),
  the proxy and CA variables (`HTTPS_PROXY`, `SSL_CERT_FILE`, …: every source's outbound HTTP would change)
  and the variables a `command:` server inherits from mcprt (`HOME`, `PATH`, …: another source's server
  would change). Set those in mcprt's own environment.
- **Reloads and rotation.** `${VAR}` resolves from the process environment over `.env`; once mcprt set
  `ACME_API_KEY` itself, a rotated value in `.env` would have lost to its own earlier write. So the
  variables are resolved from the environment as it is *without* mcprt's writes (`outer_environ`), the
  new value is set when the source opens again. The newest instance of a source is the one whose `env:`
  counts (`export`): a changed value or a dropped name applies as the new instance opens (so its modules
  import under it), also for the calls still running on the instance it replaces. An instance that never
  serves — its reload failed on another source, or its open was cancelled when another source's error
  failed the compile — is released (`release`), which brings back the serving instance's values; a name no
  instance sets gets back the value the process had before (or is unset again). `generation` tells the
  importer that a module imported before may have read another value at import.
- **Child processes** inherit the values, as they inherit the rest of mcprt's environment; mcprt's own
  `command:` servers do not (they get only the small inherited set plus their own `env`).
- **Secrets** among the values are registered with the scrubber like any `env:` value that carries one
  (`manifest.secrets.configured_secrets`): kept out of results, errors, logs and recordings.

Writes happen under a lock (sources open in worker threads). The ledger is here, in the manifest layer,
because the manifest's `${VAR}` resolution (`envvars.environment_for`) must read around it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import Diagnostic

if TYPE_CHECKING:  # envvars reads the ledger, and the model's modules import envvars: no import cycle
    from .model import Manifest
    from .positions import PositionIndex

# Names whose change in this process would change mcprt itself or another source (module docstring). The
# inherited set is the MCP SDK's default for stdio servers (mcp.client.stdio, as `sources/mcp/connectors.py`
# gives a `command:` server); it is written out because the manifest layer does not import the SDK.
_RESERVED_PREFIXES = ("MCPRT_", "OTEL_")
_RESERVED = frozenset({
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER",
})

_lock = threading.Lock()
_before: dict[str, str | None] = {}  # name → the process's own value before a source set it (None: unset)
# every open source instance's hold, oldest first: owner → (source name, {name: value})
_holds: dict[object, tuple[str, dict[str, str]]] = {}
_generation = 0  # bumped by every change of os.environ made here (`generation`)


def reserved(name: str) -> str | None:
    """Why a `python:` source's `env` may not set `name` (None when it may)."""
    upper = name.upper()
    if upper.startswith("MCPRT_"):
        return "MCPRT_* variables are mcprt's own settings, read from its environment"
    if upper.startswith("OTEL_"):
        return "OTEL_* variables configure mcprt's own tracing"
    if upper in _RESERVED:
        return (f"{name} changes mcprt itself for every source (its outbound HTTP, or what a `command:` server "
                "inherits)")
    return None


def conflicts(manifest: Manifest, index: PositionIndex) -> list[Diagnostic]:
    """Errors for `python:` sources' `env` entries that cannot share one process environment: a reserved name
    (`reserved`), or a name another `python:` source sets to a different value (at the later one's key)."""
    found: list[Diagnostic] = []
    first: dict[str, tuple[str, str]] = {}  # name → (source, value) of the first python source setting it
    for source_name, source in manifest.sources.items():
        if source.kind_key != "python":
            continue
        for name, value in getattr(source, "env", {}).items():
            where = index.locate(("sources", source_name, "env", name), prefer="key")
            why = reserved(name)
            if why is not None:
                found.append(Diagnostic(where.file, where.line, where.col,
                                        f"a python source's env cannot set {name}: {why}; set it in mcprt's "
                                        "own environment instead"))
                continue
            other = first.setdefault(name, (source_name, value))
            if other[0] != source_name and other[1] != value:
                # the values are not said: they may be secrets
                found.append(Diagnostic(where.file, where.line, where.col,
                                        f"{name} is set to another value by python source '{other[0]}': Python "
                                        "sources share one process environment (os.environ), so each name has one "
                                        "value; use one value, or another name in one of them"))
    return found


def outer_environ() -> dict[str, str]:
    """The process environment without what `python:` sources set: each such name with the value it had
    before (or absent). What `${VAR}` resolves from, so a rotated `.env` value is not hidden by mcprt's
    own earlier write of the old one."""
    with _lock:
        values = dict(os.environ)
        for name, before in _before.items():
            if before is None:
                values.pop(name, None)
            else:
                values[name] = before
    return values


def export(owner: object, source: str, values: Mapping[str, str]) -> None:
    """Hold `values` in the process environment for `owner`, an instance of source `source` being opened. The
    newest instance of a source is the one whose `env:` counts: an older one still draining (a reload replaced
    it) neither keeps a value the new one changed nor a name the new one dropped — until the new one is
    released (its reload failed, or its open was cancelled), which brings the older one's values back. An empty
    value leaves the variable unset, as for a `command:` server (`${NAME:-}` of an unset NAME)."""
    with _lock:
        _holds[owner] = (source, {name: value for name, value in values.items() if reserved(name) is None})
        _apply()


def release(owner: object) -> None:
    """`owner` (a source instance that closed, failed to open or was cancelled while opening) no longer holds
    its variables: each name takes the value the newest instances still held give it, or the process's own
    value back (unset when it had none). Releasing an owner twice, or one that never exported, does nothing."""
    with _lock:
        if _holds.pop(owner, None) is not None:
            _apply()


def generation() -> int:
    """A number that changes whenever `export`/`release` changed a variable: a module imported at another
    generation may have read an older value at import (`KEY = os.environ[...]`) and must be imported again."""
    with _lock:
        return _generation


def _apply() -> None:
    """Make os.environ what the holds say (under `_lock`): each source's newest instance's values; a name no
    such instance sets gets the process's own value back."""
    global _generation
    newest: dict[str, dict[str, str]] = {}
    for source, values in _holds.values():  # oldest first: a later instance of a source replaces the earlier
        newest[source] = values
    wanted: dict[str, str] = {}
    for values in newest.values():
        wanted.update(values)  # sources agree on a shared name (`conflicts`)
    for name in [n for n in _before if n not in wanted]:
        before = _before.pop(name)
        _generation += _set(name, before)
    for name, value in wanted.items():
        if name not in _before:
            _before[name] = os.environ.get(name)
        _generation += _set(name, value or None)


def _set(name: str, value: str | None) -> bool:
    """Set (None: unset) one variable; whether it changed."""
    if os.environ.get(name) == value:
        return False
    if value is None:
        del os.environ[name]
    else:
        os.environ[name] = value
    return True
