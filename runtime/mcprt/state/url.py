"""Which state URL applies, how to print one without its password, and the keys a server's records use."""

from __future__ import annotations

from ..scrubbing import mask_userinfo


def state_url_for(configured: str | None, setting: str | None) -> str | None:
    """The environment (`MCPRT_STATE_URL`) beats the manifest's `server.state`; blank means unset."""
    for value in (setting, configured):
        if value is not None and value.strip():
            return value.strip()
    return None


def redact_state_url(url: str) -> str:
    """`redis://:secret@host:6379/0` → `redis://***@host:6379/0` (never log a Redis password)."""
    return mask_userinfo(url)


def key_prefix(server_name: str) -> str:
    """`mcprt:<server.name>:`, the start of every key a server's records use in the shared state: the
    replicas of one server (and its one-shot `mcprt call`s) share them; another server's are apart."""
    return f"mcprt:{server_name}:"
