"""The shared upstream token cache against a real Redis and a real token endpoint on 127.0.0.1.

Each token source below is what one replica holds for a source with `auth.oauth2` (or
`auth.token_exchange`): its own local cache and lock. They share the Redis store the way replicas
do, so these tests drive the cross-replica fetch lock, expiry, 401 invalidation, a dead lock
holder, sealing at rest and the fallback when Redis is gone, with exact timings the multi-process
tests (test_token_cache_replicas.py) cannot control.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from mcprt.identity.principal import Principal, SubjectToken
from mcprt.manifest.model import OAuth2ClientCredentials, TokenExchange
from mcprt.outbound.authorize import token_sender
from mcprt.outbound.oauth2 import OAuth2TokenSource, TokenSender
from mcprt.outbound.token_cache import LOCK_WAIT, share_tokens
from mcprt.outbound.token_exchange import ExchangedTokens
from mcprt.scrubbing import SECRETS
from mcprt.state.redis_client import make_client
from mcprt.state.tokens import RedisTokenStore
from tests.replicas.token_support import CLIENT_ID, CLIENT_SECRET, EXCHANGE, Issuer, token_app
from tests.support.components import Redis, redis_server
from tests.support.upstream import serve_app

PREFIX = "mcprt:tokens-test:"


@dataclass
class World:
    redis: Redis
    issuer: Issuer
    url: str
    store: RedisTokenStore
    send: TokenSender

    def source(self, scopes: tuple[str, ...] = ("read",)) -> OAuth2TokenSource:
        return OAuth2TokenSource(OAuth2ClientCredentials(
            token_url=f"{self.url}/token", client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
            scopes=list(scopes)))

    def exchanger(self) -> ExchangedTokens:
        return ExchangedTokens(TokenExchange(
            token_url=f"{self.url}/token", client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET),
            audience="people-api"))

    def keys(self) -> list[str]:
        return self.redis.cli("--scan", "--pattern", f"{PREFIX}oauth-token:*").split()


@pytest.fixture
def components(tmp_path: Path) -> Iterator[tuple[Redis, Issuer, str]]:
    issuer = Issuer()
    with redis_server(tmp_path) as redis, serve_app(token_app(issuer)) as url:
        yield redis, issuer, url


@pytest.fixture
async def world(components: tuple[Redis, Issuer, str]) -> AsyncIterator[World]:
    redis, issuer, url = components
    client = make_client(redis.url)
    store = RedisTokenStore(client, prefix=PREFIX)
    restore = share_tokens(store)
    async with httpx.AsyncClient() as http:
        try:
            yield World(redis, issuer, url, store, token_sender(lambda: http, lambda: 30.0, "mcprt-test"))
        finally:
            restore()
            await client.aclose()


async def test_a_burst_on_three_replicas_makes_one_token_request(world: World) -> None:
    replicas = [world.source() for _ in range(3)]
    tokens = await asyncio.gather(*(replicas[i % 3].token(world.send) for i in range(30)))
    assert world.issuer.token_requests == 1
    assert len(set(tokens)) == 1
    assert sum(r.fetches for r in replicas) == 1
    # Every replica uses the token it did not fetch itself: each registered it for scrubbing.
    assert all(tokens[0] in r.secrets() for r in replicas)
    assert SECRETS.found_in(f"echoed: {tokens[0]}")


async def test_what_redis_holds_names_no_secret_and_shows_no_token(world: World) -> None:
    token = await world.source().token(world.send)
    keys = world.keys()
    assert len(keys) == 1
    for secret in (token, CLIENT_SECRET, CLIENT_ID, "read"):
        assert secret not in keys[0]
    stored = world.redis.cli("GET", keys[0])
    assert stored and token not in stored and CLIENT_SECRET not in stored
    ttl_ms = int(world.redis.cli("PTTL", keys[0]))
    assert 0 < ttl_ms <= 270_000  # expires_in 300 s, renewed a minute early (at most a tenth of its life)


async def test_other_scopes_are_another_token(world: World) -> None:
    first = await world.source(("read",)).token(world.send)
    second = await world.source(("read", "write")).token(world.send)
    assert first != second and world.issuer.token_requests == 2
    assert len(world.keys()) == 2


async def test_after_expiry_one_refresh_for_all_replicas(world: World) -> None:
    world.issuer.expires_in = 2  # renewed after 1.8 s
    replicas = [world.source() for _ in range(3)]
    first = await asyncio.gather(*(r.token(world.send) for r in replicas))
    assert len(set(first)) == 1 and world.issuer.token_requests == 1
    deadline = time.monotonic() + 30
    while world.keys():  # Redis drops the entry on its own clock
        assert time.monotonic() < deadline, "the shared entry never expired"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # and every replica's local copy (fresh for at most what Redis said) is due too
    world.issuer.expires_in = 300
    again = await asyncio.gather(*(replicas[i % 3].token(world.send) for i in range(9)))
    assert world.issuer.token_requests == 2
    assert len(set(again)) == 1 and again[0] != first[0]


async def test_a_401_on_one_replica_replaces_the_shared_token_once(world: World) -> None:
    replicas = [world.source() for _ in range(3)]
    old = (await asyncio.gather(*(r.token(world.send) for r in replicas)))[0]
    world.issuer.revoke_all()
    renewed = await asyncio.gather(*(r.renew(old, world.send) for r in replicas))  # all three saw the 401
    assert len(set(renewed)) == 1 and renewed[0] != old
    assert world.issuer.token_requests == 2


async def test_a_lock_holder_that_died_delays_the_fetch_only_until_its_lock_expires(world: World) -> None:
    source = world.source()
    dead_lock = world.store.lock_key(source._key)  # noqa: SLF001 - the lock a killed replica would leave
    world.redis.cli("SET", dead_lock, "killed-replica", "PX", "1500")
    started = time.monotonic()
    token = await source.token(world.send)
    waited = time.monotonic() - started
    assert token and world.issuer.token_requests == 1
    assert 1.2 <= waited < LOCK_WAIT + 5, waited


async def test_redis_down_the_token_is_fetched_locally_and_it_is_said_once(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.redis.process.kill()
    world.redis.process.wait(10)
    caplog.set_level(logging.WARNING, logger="mcprt")
    replicas = [world.source() for _ in range(3)]
    started = time.monotonic()
    tokens = [await r.token(world.send) for r in replicas]
    assert all(tokens) and world.issuer.token_requests == 3  # each replica its own: nothing to share
    assert time.monotonic() - started < 10
    warnings = [r for r in caplog.records if "shared token cache unavailable" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert all(t not in caplog.text for t in tokens)


async def test_exchanged_tokens_are_shared_per_subject_token(world: World) -> None:
    alice = Principal("alice", "oauth", subject_token=SubjectToken("alice-access-token-0123456789"))
    bob = Principal("bob", "oauth", subject_token=SubjectToken("bob-access-token-0123456789"))
    alice_again = Principal("alice", "oauth", subject_token=SubjectToken("alice-newer-token-0123456789"))
    replicas = [world.exchanger() for _ in range(3)]
    for_alice = await asyncio.gather(*(replicas[i % 3].token(alice, world.send) for i in range(6)))
    for_bob = await asyncio.gather(*(replicas[i % 3].token(bob, world.send) for i in range(6)))
    assert len(set(for_alice)) == 1 and len(set(for_bob)) == 1 and for_alice[0] != for_bob[0]
    exchanged = [r["subject_token"] for r in world.issuer.grants(EXCHANGE)]
    assert exchanged == ["alice-access-token-0123456789", "bob-access-token-0123456789"]
    # Another token of the same user is another exchange (its scopes or audience may differ).
    assert await replicas[1].token(alice_again, world.send) not in (for_alice[0], for_bob[0])
    keys = world.keys()
    assert len(keys) == 3
    values = " ".join(world.redis.cli("GET", k) for k in keys)
    for secret in ("alice-access-token", "bob-access-token", for_alice[0], for_bob[0]):
        assert secret not in " ".join(keys) + values
    # A 401 for alice's exchanged token: one new exchange, seen by the other replicas.
    world.issuer.revoke_all()
    await asyncio.gather(*(r.renew(alice, for_alice[0], world.send) for r in replicas))
    renewed = await asyncio.gather(*(r.token(alice, world.send) for r in replicas))
    assert len(set(renewed)) == 1 and renewed[0] != for_alice[0]
    assert len(world.issuer.grants(EXCHANGE)) == 4
