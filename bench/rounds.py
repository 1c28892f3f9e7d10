"""2026-07-28 input rounds over replicas: what a retry costs when it reaches a replica that does not
hold the call (carried over Redis to the owner and back) against one that reaches the owner itself.

    python bench/rounds.py [--rounds 60]

Two `mcprt up` replicas share a Redis and proxy the everything fixture (stdio); the client is a raw
2026-07-28 client. Each iteration calls `test_elicitation` on replica A (an InputRequiredResult) and
sends the retry to A (local) or to B (forwarded), interleaved, so both see the same machine load.
Printed: median latency of the retry and of the whole call, the ratio forwarded / local, and the
Redis commands per round for each kind (from Redis's `INFO commandstats` around each block, minus
the background traffic of an idle period as long).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.components import redis_server  # noqa: E402
from tests.support.everything import command_source, write_manifest  # noqa: E402
from tests.support.modern_client import post_call, responses_to  # noqa: E402
from tests.support.served import child_env, mcprt_http  # noqa: E402

ARGS = {"message": "Who are you?"}
EXPECTED = 'User response: action=accept, content={"username": "ada", "email": "ada@example.com"}'
BACKGROUND = {"ping", "info", "config", "config|resetstat", "client", "client|setinfo", "hello",
              "smembers", "hgetall", "zrange", "mget", "subscribe"}  # readiness, pause refreshes, (re)subscribes


async def one_round(http: httpx.AsyncClient, start: str, retry_at: str) -> tuple[float, float]:
    """Seconds for the retry and for the whole call (first request + retry)."""
    began = time.perf_counter()
    first = await post_call(http, start, "test_elicitation", {"arguments": ARGS})
    assert first.result.get("resultType") == "input_required", first
    retried = time.perf_counter()
    done = await post_call(http, retry_at, "test_elicitation", {
        "arguments": ARGS, "inputResponses": responses_to(first.result), "requestState": first.result["requestState"]})
    ended = time.perf_counter()
    text = "".join(b.get("text", "") for b in done.result["content"])
    assert not done.result.get("isError") and text == EXPECTED, done
    return ended - retried, ended - began


def commandstats(cli) -> dict[str, int]:  # type: ignore[no-untyped-def]
    stats: dict[str, int] = {}
    for line in cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            stats[name.removeprefix("cmdstat_")] = int(rest.split(",")[0].split("=")[1])
    return stats


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


async def per_round(http: httpx.AsyncClient, cli, start: str, retry_at: str, rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    before = commandstats(cli)
    began = time.monotonic()
    for _ in range(rounds):
        await one_round(http, start, retry_at)
    busy = time.monotonic() - began
    after = commandstats(cli)
    await asyncio.sleep(busy)  # the same time idle: what the replicas send by themselves
    idle = delta(after, commandstats(cli))
    used = delta(before, after)
    return {k: max(0.0, (v - idle.get(k, 0)) / rounds) for k, v in used.items()
            if k not in BACKGROUND and v - idle.get(k, 0) > 0}


async def measure(a: str, b: str, cli, rounds: int) -> None:  # type: ignore[no-untyped-def]
    local: list[tuple[float, float]] = []
    forwarded: list[tuple[float, float]] = []
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(5):  # warm-up: imports, the fixture's first calls, connections
            await one_round(http, a, a)
            await one_round(http, a, b)
        for _ in range(rounds):
            local.append(await one_round(http, a, a))
            forwarded.append(await one_round(http, a, b))
        stats_local = await per_round(http, cli, a, a, 30)
        stats_forwarded = await per_round(http, cli, a, b, 30)

    def median(samples: list[tuple[float, float]], i: int) -> float:
        return statistics.median(s[i] for s in samples) * 1000

    load = os.getloadavg()
    print(f"## 2026-07-28 rounds: retry on the owner vs on another replica ({rounds} each, interleaved; "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})\n")
    print("| retry reaches | retry median ms | whole call median ms |\n| --- | ---: | ---: |")
    print(f"| the owner (local) | {median(local, 0):.1f} | {median(local, 1):.1f} |")
    print(f"| another replica (forwarded over Redis) | {median(forwarded, 0):.1f} | {median(forwarded, 1):.1f} |")
    print(f"\nforwarded / local: retry **{median(forwarded, 0) / median(local, 0):.2f}×**, whole call "
          f"**{median(forwarded, 1) / median(local, 1):.2f}×**\n")
    print("| retry reaches | Redis commands per round |\n| --- | --- |")
    for label, stats in (("the owner", stats_local), ("another replica", stats_forwarded)):
        shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(stats.items())) or "none"
        print(f"| {label} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        manifest = write_manifest(folder, command_source("fx"))
        redis = stack.enter_context(redis_server(folder))
        env = child_env(MCPRT_STATE_URL=redis.url, MCPRT_LOG_LEVEL="warning")
        a, b = (stack.enter_context(mcprt_http(manifest, "--no-reload", env=env, startup_timeout=60)) for _ in range(2))
        asyncio.run(measure(a.url, b.url, redis.cli, args.rounds))


if __name__ == "__main__":
    main()
