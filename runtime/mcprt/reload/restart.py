"""Manifest settings that a running server read once at start: changing them needs a restart.

Tools, shaping, sources, budgets and discovery are all rebuilt by a reload; the server's identity
and listener are not (a port cannot move under connected clients). Saying so beats silently
ignoring the edit.
"""

from __future__ import annotations

from ..manifest.model import Manifest

STARTUP_ONLY = ("name", "instructions", "http", "auth")


def restart_needed(old: Manifest, new: Manifest) -> list[str]:
    """`server.<key>` names whose value changed and only take effect after a restart."""
    return [f"server.{key}" for key in STARTUP_ONLY if getattr(old.server, key) != getattr(new.server, key)]
