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
  new value is set when the source opens again, and a name no source sets any more gets back the value
  the process had before (or is unset again) when the last source that set it closes (`release`: a source a
  reload replaced closes after the calls that began on it, `reload/drain.py`).
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
_set_by: dict[str, dict[object, str]] = {}  # name → {owner: value} of every open source instance setting it


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


def export(owner: object, values: Mapping[str, str]) -> bool:
    """Set `values` in the process environment for `owner` (an open source instance); True when any variable
    got a new value (a module that read it at import must be imported again to see it). An empty value
    leaves the variable unset, as for a `command:` server (`${NAME:-}` of an unset NAME). A name another
    owner sets to another value is left as it is (the manifest check refuses that case before any source
    opens; an owner of an earlier load being replaced is the exception: the newest value wins)."""
    changed = False
    with _lock:
        for name, value in values.items():
            if reserved(name) is not None:
                continue
            owners = _set_by.setdefault(name, {})
            if name not in _before:
                _before[name] = os.environ.get(name)
            owners[owner] = value
            current = os.environ.get(name)
            if value == "":
                if current is not None:
                    del os.environ[name]
                    changed = True
            elif current != value:
                os.environ[name] = value
                changed = True
    return changed


def release(owner: object) -> None:
    """`owner` (a source instance that closed) no longer sets its variables: a name another open instance
    still sets takes that one's value; a name nobody sets gets back the process's own value, or is unset."""
    with _lock:
        for name in [n for n, owners in _set_by.items() if owner in owners]:
            owners = _set_by[name]
            del owners[owner]
            if owners:
                value = next(reversed(owners.values()))  # the newest open instance's
                if value == "":
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
                continue
            del _set_by[name]
            before = _before.pop(name)
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before
