"""The state client against a real `redis-server` that restarts or loses its data (a restart without
persistence, FLUSHALL, eviction): commands are retried over a restart, and what replicas write back
never undoes what an operator or a client did (a resume, a new pause, a DELETE, an idle expiry)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mcprt.state.policy import RedisPolicyState
from mcprt.state.redis_client import make_client
from tests.support.components import Redis, redis_server


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


async def test_the_first_command_after_a_redis_restart_is_retried_on_a_new_connection(tmp_path: Path) -> None:
    """The pooled connection dies with the server; the command on it must be retried (RETRIES), not
    fail with 'Connection closed by server' (the sync Retry given to the asyncio client never retried)."""
    with redis_server(tmp_path) as first:
        client = make_client(first.url)
        try:
            assert await client.set("k", b"1")
            first.process.kill()
            first.process.wait()
            with redis_server(tmp_path, port=first.port):
                assert await client.set("k", b"2")  # on the dead pooled connection: one retry reconnects
        finally:
            await client.aclose()
