"""Manifest settings that a running server read once at start: changing them needs a restart.

Tools, shaping, sources, policies, budgets and discovery are all rebuilt by a reload; the server's
identity and listener are not (a port cannot move under connected clients), nor what `mcprt up`
wires up once around them: the observability sinks (audit file, traces, the stdio listener, the
recent-calls recorder), the shared state connection and the public URL its links use. Saying so
beats silently ignoring the edit.
"""

from __future__ import annotations

from typing import Any

from ..manifest.model import Manifest

STARTUP_ONLY = ("name", "instructions", "http", "auth", "observability", "state", "public_url")


RELOADABLE = {"observability": {"audit_on_failure": "refuse"}}
"""Fields inside a `STARTUP_ONLY` key that a reload does apply, each read where it is used (the audit gate
reads `audit_on_failure` per call): set to one value on both sides before comparing."""


def restart_needed(old: Manifest, new: Manifest) -> list[str]:
    """`server.<key>` names whose value changed and only take effect after a restart."""
    return [f"server.{key}" for key in STARTUP_ONLY if _started(old, key) != _started(new, key)]


def _started(manifest: Manifest, key: str) -> Any:
    value = getattr(manifest.server, key)
    if key in RELOADABLE and value is not None:
        value = value.model_copy(update=RELOADABLE[key])
    return value
