"""Part 6: what metrics and tracing cost per tool call, on vs off.

Two measurements, in this process, against the local upstream (bench/upstream_app.py, `get_item`,
~2 KB of JSON):

1. The sinks alone, exactly what a served call adds: publishing its `CallEvent` to the bus and
   opening/closing the upstream observation, with (a) nothing subscribed (tracing and metrics off:
   the CLI's and a library's case), (b) the Prometheus sink, (c) + the status page's recorder
   (what `mcprt up` runs by default), (d) + OpenTelemetry tracing (spans exported over OTLP/HTTP to a
   local sink). Many iterations, so microseconds are measured, not guessed.
2. The bare per-call overhead it is compared with: `call_tool()` (validate → HTTP upstream → shape →
   log) minus a direct httpx GET of the same route (the floor), medians over interleaved rounds,
   with observability off; and the same `call_tool()` with (c)+(d) on, for the end-to-end view.

Goals: metrics on < 3% of the bare per-call overhead; tracing off costs nothing (a) ≈ 0.

    .venv/bin/python bench/observability.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, CACHE, free_port, log, median, stop_process, wait_for_port  # noqa: E402
from report import Goal, Section  # noqa: E402
from upstream_app import openapi_spec  # noqa: E402

WORK = CACHE / "observability"


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts and drops every export (the collector's cost is not ours)."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _upstream(stack: ExitStack) -> str:
    port = free_port()
    WORK.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, str(BENCH / "upstream_app.py"), str(port)],
                               stderr=open(WORK / "upstream.log", "wb"))
    stack.callback(stop_process, process)
    wait_for_port(port, process=process)
    return f"http://127.0.0.1:{port}"


def _otlp_sink(stack: ExitStack) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}"


class Setup:
    """The sinks `mcprt up` subscribes, switchable per configuration."""

    def __init__(self) -> None:
        from mcprt.observability.metrics import Metrics
        from mcprt.observability.recent import CallRecorder
        from mcprt.observability.state import ServerState
        from mcprt.observability.tracing import Tracer

        state = ServerState("bench", "0", "http", None, time.time(), [], [], 0, {})
        self.metrics = Metrics(lambda: state)
        self.recorder = CallRecorder(50)
        self.tracer = Tracer("mcprt-bench", "0")
        self._undo: list = []

    def use(self, config: str) -> None:
        from mcprt.observability import tracing
        from mcprt.observability.events import BUS
        from mcprt.observability.hooks import add_upstream_observer

        for undo in self._undo:
            undo()
        self._undo = []
        tracing.ACTIVE = None
        if config in ("metrics", "default", "traced"):
            self._undo += [BUS.subscribe(self.metrics.on_event), add_upstream_observer(self.metrics.upstream_observer)]
        if config in ("default", "traced"):
            self._undo.append(BUS.subscribe(self.recorder.on_event, payloads=True))
        if config == "traced":
            tracing.ACTIVE = self.tracer
            self._undo.append(add_upstream_observer(self.tracer.upstream_observer))


CONFIGS = ("off", "metrics", "default", "traced")
LABELS = {"off": "off (nothing subscribed: tracing off, CLI)", "metrics": "metrics on",
          "default": "metrics + status page (mcprt up default)", "traced": "metrics + status page + tracing"}


def sink_cost(setup: Setup, rounds: int, per_round: int) -> dict[str, list[float]]:
    """Seconds per call of what the pipeline adds for observability, per configuration (one sample
    per round)."""
    from mcprt.identity.principal import Principal
    from mcprt.observability import tracing
    from mcprt.observability.events import BUS, CallEvent
    from mcprt.observability.hooks import observed_upstream
    from mcprt.contracts import ToolResult, UpstreamResult

    principal = Principal("alice", "token")
    upstream = UpstreamResult("json", {"id": 1}, raw_bytes=2000, status=200)
    result = ToolResult([{"type": "text", "text": "{}"}], raw_bytes=2000, sent_bytes=300)
    samples: dict[str, list[float]] = {c: [] for c in CONFIGS}
    for _ in range(rounds):
        for config in CONFIGS:
            setup.use(config)
            started = time.perf_counter()
            for _ in range(per_round):
                span = (tracing.ACTIVE.request_span("tools/call", None, session_id="s", protocol_version="2025-06-18",
                                                    request_id=1, headers=None, tool="get_item")
                        if tracing.ACTIVE is not None else None)
                if span is not None:
                    span.__enter__()
                watch = observed_upstream("http", "items", "GET", lambda: "http://127.0.0.1/items/1")
                if watch is not None:
                    watch.finish(200, None)
                if BUS.active:
                    BUS.publish(CallEvent(time.time(), "get_item", "items", "ok", 0.001, 2000, 300, principal, "s",
                                          "1", {"id": 1}, 200, 0.001, None,
                                          {"upstream": upstream, "result": result} if BUS.wants_payloads else {}))
                if tracing.ACTIVE is not None:
                    tracing.ACTIVE.annotate_call(2000, 300, "ok")
                if span is not None:
                    span.__exit__(None, None, None)
            samples[config].append((time.perf_counter() - started) / per_round)
    setup.use("off")
    return samples


def failed_call_cost(calls: int) -> dict[str, float]:
    """Median seconds a failed call spends on the event loop taking its argument values out of its error text
    for the log line (`scrubbing.given.without_argument_values`, run for every failed call, rejected arguments
    included), by argument: a review measured 0.8 s for a 2 KB text argument (every other session stalled)."""
    import base64

    from mcprt.scrubbing.given import without_argument_values

    notes = {"2 KB text argument": "Lorem ipsum dolor sit amet " * 80,
             "2 KB random base64 argument": base64.b64encode(os.urandom(1500)).decode(),
             "nested list of 50 strings and numbers": [f"item-{i:04d}" for i in range(25)] + list(range(1000, 1025))}
    costs: dict[str, float] = {}
    for label, note in notes.items():
        samples = []
        for i in range(calls):
            # each call's values its own (as the model's are): no cache helps
            distinct = [*note[:-1], f"{note[-1]} {i}"] if isinstance(note, list) else f"{note} {i}"
            arguments = {"items": ["x", f"acct-{i:016d}"], "note": distinct, "n": i}
            error = f"RuntimeError: bad items {arguments['items']} note={distinct} n={i}"
            started = time.perf_counter()
            without_argument_values(error, arguments)
            samples.append(time.perf_counter() - started)
        costs[label] = median(samples)
    return costs


async def measure(setup: Setup, base_url: str, rounds: int, per_round: int,
                  sink_calls: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per call: the floor (direct GET) and call_tool() with observability off / on;
    and the sinks alone. Each round does both, so load from elsewhere on the machine hits the
    sinks and the overhead they are compared with alike."""
    import httpx

    from mcprt.pipeline import Runtime
    from mcprt.settings import load_settings
    from mcprt.toolset.invoke import call_tool

    spec = WORK / "items.openapi.json"
    spec.write_text(json.dumps(openapi_spec(base_url)))
    manifest = WORK / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  items:\n    openapi: {json.dumps(str(spec))}\n"
                        f"    base_url: {base_url}\n")
    runtime = Runtime(manifest, load_settings())
    compiled = await runtime.start()
    tool = compiled.toolset.get("get_item")
    assert tool is not None
    samples: dict[str, list[float]] = {"floor": [], "off": [], "traced": []}
    sinks: dict[str, list[float]] = {c: [] for c in CONFIGS}
    try:
        async with httpx.AsyncClient() as client:
            for warm in range(20):
                (await client.get(f"{base_url}/items/{warm}")).json()
                await call_tool(tool, {"id": warm})
            for r in range(rounds):
                order = ["floor", "off", "traced"]
                order = order[r % 3:] + order[:r % 3]  # rotate who goes first
                for config in order:
                    setup.use("traced" if config == "traced" else "off")
                    for i in range(per_round):
                        started = time.perf_counter()
                        if config == "floor":
                            (await client.get(f"{base_url}/items/{i}")).json()
                        else:
                            await call_tool(tool, {"id": i})
                        samples[config].append(time.perf_counter() - started)
                for config, values in sink_cost(setup, 1, sink_calls).items():
                    sinks[config] += values
    finally:
        setup.use("off")
        await runtime.aclose()
    return {c: median(v) for c, v in samples.items()}, {c: median(v) for c, v in sinks.items()}


def run(quick: bool = False) -> Section:
    import logging

    logging.getLogger("mcprt").setLevel(logging.WARNING)  # the call line goes nowhere, as with a quiet server
    section = Section(title="6. Observability: metrics and tracing per call, on vs off")
    with ExitStack() as stack:
        base_url = _upstream(stack)
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _otlp_sink(stack)
        os.environ.setdefault("OTEL_BSP_SCHEDULE_DELAY", "200")
        # the sink loop makes spans far faster than any server: keep them all (dropping would look cheaper)
        os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", "1000000")
        setup = Setup()
        e2e, sinks = asyncio.run(measure(setup, base_url, rounds=6 if quick else 15, per_round=30 if quick else 50,
                                         sink_calls=1000 if quick else 2000))
        setup.tracer.shutdown()
    failed = failed_call_cost(50 if quick else 200)
    bare = e2e["off"] - e2e["floor"]
    section.headers = ["configuration", "added per call (µs)", "share of the bare per-call overhead"]
    for config in CONFIGS:
        added = sinks[config] - (0 if config == "off" else sinks["off"])
        share = f"{added / bare:.2%}" if config != "off" else f"{sinks['off'] / bare:.3%} (absolute)"
        section.rows.append([LABELS[config], f"{(added if config != 'off' else sinks['off']) * 1e6:.2f}", share])
    section.extra_tables.append((
        ["end to end, median per call", "ms"],
        [["floor: direct httpx GET + json", f"{e2e['floor'] * 1000:.3f}"],
         ["call_tool(), observability off", f"{e2e['off'] * 1000:.3f}"],
         ["call_tool(), metrics + status page + tracing", f"{e2e['traced'] * 1000:.3f}"],
         ["bare per-call overhead (off − floor)", f"{bare * 1000:.3f}"]],
    ))
    section.extra_tables.append((
        ["a failed call: its error text without argument values (log line), median", "µs"],
        [[label, f"{seconds * 1e6:.1f}"] for label, seconds in failed.items()],
    ))
    metrics_share = (sinks["metrics"] - sinks["off"]) / bare
    worst_failed = max(failed.values())
    section.goals = [
        Goal("metrics on, per call", f"{metrics_share:.2%} of the bare overhead", "< 3%", metrics_share < 0.03),
        Goal("tracing off (nothing subscribed), per call", f"{sinks['off'] * 1e6:.2f} µs", "≈ 0 (< 1 µs)",
             sinks["off"] < 1e-6),
        Goal("a failed call's error text without its argument values (2 KB arguments)",
             f"{worst_failed * 1e6:.1f} µs", "< 1 ms (on the event loop)", worst_failed < 1e-3),
    ]
    section.notes = [
        "sinks measured alone (the exact calls the pipeline makes), medians of rounds interleaved across "
        "configurations and with the end-to-end rounds; the bare overhead is call_tool() against the local "
        "upstream minus a direct GET of it, observability off",
        "the end-to-end rows are noisier than the sink rows on a shared 2-core machine; the goal uses the sink rows",
    ]
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(args.quick).markdown())


if __name__ == "__main__":
    main()
