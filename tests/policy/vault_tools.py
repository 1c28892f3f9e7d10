"""A source behind discovery mode (search_tools / describe_tools / call_tool) in the policy tests."""

from __future__ import annotations

import asyncio


def purge_vault() -> str:
    """Purge every secret in the vault."""
    return "purged"


def peek_vault() -> str:
    """Peek at the vault contents."""
    return "contents"


def open_vault(door: str) -> str:
    """Open a vault door."""
    return f"opened {door}"


def vault_status() -> str:
    """Tell whether the vault is open."""
    return "closed"


async def vault_drill(seconds: float) -> str:
    """Drill the vault door for a while (a slow call the tests cancel)."""
    await asyncio.sleep(seconds)
    return "drilled"
