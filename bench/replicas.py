"""Replicas: throughput of 1 vs 3 `mcprt up` behind HAProxy (round robin) with a shared Redis, and
the Redis round trips each call adds (client commands; the ones a Lua script runs on the server are not round trips),
and the upstream OAuth token requests N calls make across the three replicas (the token cache is shared in Redis).

    python bench/replicas.py [--seconds 8] [--clients 16]

On this 2-core machine three replicas compete for the same two cores as HAProxy, Redis and the
load generator, so the figure says what replication costs here, not what it gains on real nodes;
the point of the scale-out work is correctness (see tests/replicas). Round trips are counted from
Redis's own `INFO commandstats` around a block of calls, minus what the servers do in the
background (readiness PINGs, pause refreshes, pub/sub), measured over an idle period of the same
length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.replicas.token_support import CLIENT_SECRET, SPEC, Issuer, token_app  # noqa: E402
from tests.support.components import haproxy, redis_server  # noqa: E402
from tests.support.served import child_env, http_client, mcprt_http  # noqa: E402
from tests.support.upstream import serve_app  # noqa: E402

TOOLS = '''\
import os

__all__ = ["whoami", "limited"]


def whoami() -> dict:
    """A small result: which replica answered."""
    return {"pid": os.getpid(), "padding": "x" * 1500}


def limited() -> dict:
    """The same, under a rate limit."""
    return {"pid": os.getpid()}
'''

MANIFEST = """\
version: 1
server: {{name: bench-replicas}}
sources:
  tools:
    python: bench_tools
  api:
    openapi: api.json
    base_url: {api}
    auth:
      oauth2: {{token_url: {api}/token, client_id: replica-client, client_secret: "${{CLIENT_SECRET}}"}}
"""

POLICY = """\
policy:
  default: allow
  rate_limits:
    - {match: {tools: [limited]}, per: principal, limit: 100000000/min}
"""

IGNORED = {"ping", "subscribe", "psubscribe", "unsubscribe", "hgetall", "info", "config|resetstat", "config",
           "client|setinfo", "client", "hello", "publish",
           # Redis counts the commands a Lua script runs as commands too; these are the rate-limit
           # script's own (one EVALSHA round trip runs them on the server).
           "time", "hmget", "hset", "pexpire"}


def commands(cli) -> dict[str, int]:  # type: ignore[no-untyped-def]
    stats: dict[str, int] = {}
    for line in cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            calls = int(rest.split(",")[0].split("=")[1])
            stats[name.removeprefix("cmdstat_")] = calls
    return stats


def counted(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(after.get(k, 0) - before.get(k, 0) for k in after if k not in IGNORED)


async def throughput(url: str, clients: int, seconds: float, tool: str) -> tuple[int, float]:
    done = 0
    errors = 0

    async def worker() -> None:
        nonlocal done, errors
        async with http_client(url, mode="legacy") as client:
            await client.list_tools()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                result = await client.call_tool(tool, {})
                if result.is_error:
                    errors += 1
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(f"{errors} calls failed")
    return done, elapsed


async def round_trips(url: str, cli, tool: str, calls: int) -> float:  # type: ignore[no-untyped-def]
    async with http_client(url, mode="legacy") as client:
        await client.list_tools()
        idle_before = commands(cli)
        started = time.monotonic()
        for _ in range(calls):
            result = await client.call_tool(tool, {})
            assert not result.is_error, result
        busy = time.monotonic() - started
        busy_after = commands(cli)
        await asyncio.sleep(busy)  # the same time without calls: background traffic only
        idle_after = commands(cli)
    background = counted(busy_after, idle_after)
    return max(0.0, (counted(idle_before, busy_after) - background) / calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--policy", action="store_true", help="also measure a rate-limited call (needs policy:)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        (folder / "bench_tools.py").write_text(TOOLS)
        spec = json.loads(json.dumps(SPEC))
        spec["paths"]["/whoami"]["get"]["operationId"] = "protected"
        (folder / "api.json").write_text(json.dumps(spec))
        issuer = Issuer(delay=0.0)
        api = stack.enter_context(serve_app(token_app(issuer)))
        (folder / "mcp.yaml").write_text(MANIFEST.format(api=api) + (POLICY if args.policy else ""))
        redis = stack.enter_context(redis_server(folder))
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_LOG_LEVEL="warning", CLIENT_SECRET=CLIENT_SECRET)
        replicas = [stack.enter_context(mcprt_http(folder / "mcp.yaml", env=env, startup_timeout=60)) for _ in range(3)]
        ports = [int(r.url.split(":")[2].split("/")[0]) for r in replicas]
        (folder / "one").mkdir()
        (folder / "three").mkdir()
        one = stack.enter_context(haproxy(folder / "one", ports[:1]))
        three = stack.enter_context(haproxy(folder / "three", ports))
        for label, balancer in (("1 replica", one), ("3 replicas", three), ("1 replica", one), ("3 replicas", three)):
            done, elapsed = asyncio.run(throughput(balancer.url(), args.clients, args.seconds, "whoami"))
            rows.append((label, done, elapsed))
        per_call = asyncio.run(round_trips(three.url(), redis.cli, "whoami", 300))
        limited = asyncio.run(round_trips(three.url(), redis.cli, "limited", 300)) if args.policy else None
        oauth = asyncio.run(round_trips(three.url(), redis.cli, "protected", 300))
        token_requests = issuer.token_requests
    print(f"## Replicas behind HAProxy ({args.clients} clients, {args.seconds:.0f} s per block, interleaved)\n")
    print("| setup | calls | calls/s |\n| --- | ---: | ---: |")
    totals: dict[str, list[float]] = {}
    for label, done, elapsed in rows:
        print(f"| {label} | {done} | {done / elapsed:.0f} |")
        totals.setdefault(label, []).append(done / elapsed)
    ratio = (sum(totals["3 replicas"]) / len(totals["3 replicas"])) / (sum(totals["1 replica"]) / len(totals["1 replica"]))
    print(f"\n3 replicas / 1 replica throughput: **{ratio:.2f}×** (2 cores shared by everything)\n")
    print("| call | Redis round trips per call | goal |\n| --- | ---: | --- |")
    print(f"| no policy | {per_call:.2f} | 0 |")
    if limited is not None:
        print(f"| rate-limited | {limited:.2f} | ≤ 1 |")
    print(f"| upstream OAuth2 (client credentials) | {oauth:.2f} | 0 once the token is cached |")
    print(f"\nUpstream token requests for 300 OAuth2 calls spread over 3 replicas: **{token_requests}** "
          "(one per replica without the shared cache)")
    print(json.dumps({"ratio": ratio, "round_trips": per_call, "round_trips_limited": limited,
                      "round_trips_oauth": oauth, "token_requests": token_requests}), file=sys.stderr)


if __name__ == "__main__":
    main()
