"""Shared state for replicas: one Redis (the `redis` package's asyncio client) that every `mcprt up`
replica of a deployment points at with `server.state` / `MCPRT_STATE_URL`.

What lives there: handshake-era session records (so any replica serves any session, `sessions.py`),
through the policy state interface, approvals, rate-limit buckets and pauses (`policy.py`), and the
upstream OAuth token cache (`tokens.py`, the outbound token cache's shared tier), and which replica
holds a 2026-07-28 call waiting for client input, with the channel that carries a retry to it
(`rounds.py`). Without a state
URL all of it stays in the process (the single-replica default), and nothing here is imported.
"""

from .url import key_prefix, redact_state_url, state_url_for

__all__ = ["key_prefix", "redact_state_url", "state_url_for"]
