"""Manifest settings that a running server read once at start: changing them needs a restart.

Tools, shaping, sources, policies, budgets and discovery are all rebuilt by a reload; the server's
identity and listener are not (a port cannot move under connected clients), nor what `mcprt up`
wires up once around them: the observability sinks (audit file, traces, the stdio listener, the
recent-calls recorder), the shared state connection and the public URL its links use. Saying so
beats silently ignoring the edit.
"""

from __future__ import annotations

from ..manifest.model import Manifest

STARTUP_ONLY = ("name", "instructions", "http", "auth", "observability", "state", "public_url")


def restart_needed(old: Manifest, new: Manifest) -> list[str]:
    """`server.<key>` names whose value changed and only take effect after a restart."""
    return [f"server.{key}" for key in STARTUP_ONLY if getattr(old.server, key) != getattr(new.server, key)]
