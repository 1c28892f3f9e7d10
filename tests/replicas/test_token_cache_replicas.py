"""The upstream OAuth token cache shared by three `mcprt up` replicas behind a real HAProxy (round
robin, no stickiness) and a real Redis, in front of a real token endpoint that counts its requests.

Each replica sends its name upstream (`X-Replica`, from its environment), so the API's log says which
replica made each call. Inbound, callers use a static token, or OAuth tokens of a real authorization
server (oidc-provider) that the `token_exchange` source exchanges (RFC 8693). Every test first
revokes every token issued so far, so it starts from the same state whatever ran before: each
replica's next call meets a 401, which must replace the shared token once, not once per replica.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from mcprt.state.tokens import RETRY_AFTER
from tests.replicas.token_support import CLIENT_SECRET, EXCHANGE, SPEC, Issuer, token_app
from tests.support.components import HAProxy, Redis, haproxy, redis_server
from tests.support.oidc import AuthServer, auth_server, oidc_provider_modules
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of, until_ready
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("token-replicas")  # one cluster per run, not one per worker

BOT = "bot-token-for-token-replicas"
AUDIENCE = "api://mcprt-token-replicas"
NAMES = ("r0", "r1", "r2")

MANIFEST = """\
version: 1
server:
  name: token-replicas
  auth:
    tokens: {{bot: "${{BOT_TOKEN}}"}}
    oauth: {{issuer: {issuer}, audience: "{audience}", scopes: [mcp:tools], algorithms: [ES256]}}
sources:
  api:
    openapi: api.json
    base_url: {api}
    headers: {{X-Replica: "${{REPLICA}}"}}
    auth:
      oauth2: {{token_url: {api}/token, client_id: replica-client, client_secret: "${{CLIENT_SECRET}}", scopes: [read]}}
  people:
    openapi: people.json
    base_url: {api}
    headers: {{X-Replica: "${{REPLICA}}"}}
    auth:
      token_exchange: {{token_url: {api}/token, client_id: replica-client, client_secret: "${{CLIENT_SECRET}}",
                        audience: people-api}}
"""


@dataclass
class Cluster:
    folder: Path
    stack: ExitStack
    redis: Redis
    issuer: Issuer
    idp: AuthServer
    replicas: list[UpProcess]
    balancer: HAProxy
    # When the token stores have rested (`RETRY_AFTER`) after a test stopped Redis: the next test waits
    # until then (`settled`). The replicas' reconnection is waited for (and asserted) in that test; only
    # this rest is deferred, so the module's last test does not pay for a recovery nobody uses.
    rested_at: float = 0.0

    @property
    def url(self) -> str:
        return self.balancer.url()

    def token_keys(self) -> list[str]:
        return self.redis.cli("--scan", "--pattern", "mcprt:token-replicas:oauth-token:*").split()

    def replicas_that_called(self, since: int) -> set[str]:
        with self.issuer.lock:
            return {c["replica"] for c in self.issuer.api_calls[since:]}

    async def settled(self) -> None:
        """Every test starts here: after a Redis restart, wait until each replica's token store has
        rested (`RETRY_AFTER`) since its reconnection, as if nothing failed."""
        await anyio.sleep(max(0.0, self.rested_at - time.monotonic()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed to run the authorization server (oidc-provider)")
    modules = oidc_provider_modules()
    assert modules is not None, "npm install oidc-provider failed"
    folder = tmp_path_factory.mktemp("token-replicas")
    (folder / "api.json").write_text(json.dumps(SPEC))
    people = json.loads(json.dumps(SPEC))
    people["paths"]["/whoami"]["get"]["operationId"] = "whoami_user"
    (folder / "people.json").write_text(json.dumps(people))
    issuer = Issuer()
    with ExitStack() as stack:
        idp = stack.enter_context(auth_server(modules))
        api = stack.enter_context(serve_app(token_app(issuer)))
        manifest = folder / "mcp.yaml"
        manifest.write_text(MANIFEST.format(issuer=idp.issuer, audience=AUDIENCE, api=api))
        redis = stack.enter_context(redis_server(folder))
        replicas = [
            stack.enter_context(mcprt_http(manifest, env=child_env(
                MCPRT_STATE_URL=redis.url, BOT_TOKEN=BOT, CLIENT_SECRET=CLIENT_SECRET, REPLICA=name),
                startup_timeout=60))
            for name in NAMES
        ]
        ports = [int(r.url.split(":")[2].split("/")[0]) for r in replicas]
        balancer = stack.enter_context(haproxy(folder, ports))
        yield Cluster(folder, stack, redis, issuer, idp, replicas, balancer)


def _answer(result) -> dict:  # type: ignore[no-untyped-def]
    assert not result.is_error, text_of(result)
    return result.structured_content or json.loads(text_of(result))


async def _burst(url: str, tool: str, token: str, *, clients: int = 6, calls: int = 3) -> list[dict]:
    """`clients` SDK clients (both protocol eras) at once through `url`, `calls` calls each."""
    answers: list[dict] = []

    async def client(index: int) -> None:
        async with http_client(url, mode=("legacy", "auto")[index % 2], token=token) as session:
            for _ in range(calls):
                answers.append(_answer(await session.call_tool(tool, {})))

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            for index in range(clients):
                group.start_soon(client, index)
    return answers


async def test_calls_spread_over_three_replicas_make_one_token_request(cluster: Cluster) -> None:
    await cluster.settled()
    cluster.issuer.revoke_all()
    before, calls_before = cluster.issuer.token_requests, len(cluster.issuer.api_calls)
    answers = await _burst(cluster.url, "whoami", BOT)
    assert len(answers) == 18
    assert {a["replica"] for a in answers} == set(NAMES), "round robin should reach every replica"
    assert cluster.issuer.token_requests - before == 1, cluster.issuer.requests[before:]
    assert cluster.replicas_that_called(calls_before) == set(NAMES)
    # The API reflects the token it received: every replica scrubs it, including the two that read
    # it from Redis instead of fetching it.
    assert all(a["authorization"] == "Bearer [redacted]" for a in answers), answers
    assert len(cluster.token_keys()) == 1


async def test_after_the_tokens_expiry_a_single_refresh(cluster: Cluster) -> None:
    await cluster.settled()
    cluster.issuer.revoke_all()
    # Renewed after 7.2 s: four times what this first burst took at a load of 10 on 2 cores (1.75 s),
    # so it always ends on the one token.
    cluster.issuer.expires_in = 8
    try:
        before = cluster.issuer.token_requests
        await _burst(cluster.url, "whoami", BOT, clients=3, calls=2)
        assert cluster.issuer.token_requests - before == 1
        deadline = time.monotonic() + 60
        while cluster.token_keys():  # Redis drops it on its own clock; every replica's copy is due with it
            assert time.monotonic() < deadline, "the shared token never expired"
            await anyio.sleep(0.2)
        await anyio.sleep(0.5)
        cluster.issuer.expires_in = 300
        calls_before = len(cluster.issuer.api_calls)
        answers = await _burst(cluster.url, "whoami", BOT)
        assert {a["replica"] for a in answers} == set(NAMES)
        assert cluster.issuer.token_requests - before == 2, cluster.issuer.requests[before:]
        with cluster.issuer.lock:
            accepted = {c["token"] for c in cluster.issuer.api_calls[calls_before:]} - cluster.issuer.revoked
        assert len(accepted) == 1, "after the refresh every replica used the one new token"
    finally:
        cluster.issuer.expires_in = 300


async def test_exchanged_tokens_are_shared_per_subject_token(cluster: Cluster) -> None:
    await cluster.settled()
    cluster.issuer.revoke_all()
    service = cluster.idp.client_credentials(AUDIENCE)
    alice = cluster.idp.user_token(AUDIENCE, "alice")
    before = len(cluster.issuer.grants(EXCHANGE))
    for token in (service, alice):
        answers = await _burst(cluster.url, "whoami_user", token)
        assert {a["replica"] for a in answers} == set(NAMES)
    exchanged = [r["subject_token"] for r in cluster.issuer.grants(EXCHANGE)[before:]]
    assert exchanged == [service, alice], "one exchange per subject token across the three replicas"
    assert all(service not in k and alice not in k for k in cluster.token_keys())


async def test_redis_stopped_calls_still_succeed_with_tokens_fetched_locally(cluster: Cluster) -> None:
    await cluster.settled()
    marks = [replica.log_mark() for replica in cluster.replicas]  # the cluster is shared: count this test's lines
    cluster.issuer.revoke_all()
    port = cluster.redis.port
    cluster.redis.process.kill()
    cluster.redis.process.wait(10)
    try:
        before = cluster.issuer.token_requests
        # The balancer stops sending (every /readyz says the state is gone): call each replica directly,
        # in the era that needs no session record.
        for replica in cluster.replicas:
            async with http_client(replica.url, mode="auto", token=BOT) as client:
                for _ in range(3):
                    answer = _answer(await client.call_tool("whoami", {}))
                    assert answer["authorization"] == "Bearer [redacted]"
        assert cluster.issuer.token_requests - before == 3, "each replica fetched its own, once"
        for replica, mark in zip(cluster.replicas, marks):
            assert replica.log_since(mark).count("shared token cache unavailable") == 1, replica.log_since(mark)
    finally:
        cluster.redis = cluster.stack.enter_context(redis_server(cluster.folder, port=port))
        # here, not in a next test: this is the module's last, and a replica that never reconnects must fail it
        await until_ready(cluster.replicas, 30, "the replicas did not reconnect to Redis")
        # the token store rests that long after a failure: waited for by a next test (`Cluster.settled`)
        cluster.rested_at = time.monotonic() + RETRY_AFTER + 0.5
