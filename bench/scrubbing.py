"""Part 6: what keeping secrets out of results costs per call (#13: goal < 2 %).

The same in-process call path (`call_tool` → HTTP executor → local upstream → shaping) is timed
with the scrubber empty (the peer: the pipeline as it was) and with a source's
bearer token plus five more secrets registered (every form of each: raw, URL-, form-, JSON-escaped,
base64), on the ~2 KB and ~100 KB bodies of `upstream_app.py`.

Timed in CPU seconds of this process (the upstream runs in its own process, so its time is not in
the denominator: the ratio is of mcprt's own work per call, a stricter figure than wall time, and
steadier when other programs load the machine). Calls are timed in pairs, one per mode in
alternating order, so load that comes and goes hits both alike; the cost is the median of the
paired differences over the median call, with its 95 % confidence interval, per body size. Also
the scrub alone on each body, against one substring search per form (how it was done before).

    /work/venv/bin/python bench/scrubbing.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import BENCH, free_port, log
from report import Goal, Section
from upstream_app import openapi_spec

SECRETS = ["bench/bearer+Token=1", "bench-basic-password", "bench/api+key=2", "bench/cookie+value=3",
           "bench/client+secret=4", "bench-issued-token-5"]


def _wait_listening(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("bench upstream did not start")


async def _measure(folder: Path, pairs: int) -> dict[str, dict[str, list[float]]]:
    """CPU ms of each call, in pairs: one call with the scrubber empty, one with 6 secrets, in
    alternating order; the two states are swapped between calls without rebuilding anything."""
    import os

    os.environ["BENCH_TOKEN"] = SECRETS[0]
    from mcprt.pipeline import Runtime
    from mcprt.scrubbing import SECRETS as REGISTRY
    from mcprt.settings import load_settings
    from mcprt.toolset.invoke import call_tool

    runtime = Runtime(folder / "mcp.yaml", load_settings())
    compiled = await runtime.compile()
    tools = {"2 KB": compiled.toolset.get("get_item"), "100 KB": compiled.toolset.get("get_item_history")}
    times: dict[str, dict[str, list[float]]] = {size: {"off": [], "on": []} for size in tools}
    REGISTRY.clear()
    REGISTRY.add(*SECRETS)
    # The compiled search of the 6 secrets, kept warm as in a serving process; "off" is the empty
    # scrubber (`bool(REGISTRY)` false: every scrubbing site skips). Swapping the one attribute
    # that holds it costs nothing and happens between timed calls.
    states = {"on": REGISTRY._index, "off": None}

    async def timed(tool: object, i: int) -> float:
        started = time.process_time()
        result = await call_tool(tool, {"id": i % 50 + 1})
        elapsed = time.process_time() - started
        assert not result.is_error, result.content
        return elapsed * 1000

    try:
        for size, tool in tools.items():
            for mode in ("off", "on"):  # warm both paths
                REGISTRY._index = states[mode]
                for i in range(20):
                    await timed(tool, i)
            for i in range(pairs):
                for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):
                    REGISTRY._index = states[mode]
                    assert bool(REGISTRY) == (mode == "on")
                    times[size][mode].append(await timed(tool, i))
    finally:
        REGISTRY.clear()
        await runtime.aclose()
    return times


def _scrub_alone(quick: bool) -> list[list[object]]:
    """CPU µs to scrub each body once with 6 secrets: the one-pass search vs a search per form."""
    from mcprt.scrubbing import Scrubber, secret_forms
    from upstream_app import history, item

    scrubber = Scrubber()
    scrubber.add(*SECRETS)
    forms = sorted({f.encode() for s in SECRETS for f in secret_forms(s)}, key=len, reverse=True)

    def per_form(data: bytes) -> bytes:  # the previous scrubber: one `in` (and replace) per form
        for form in forms:
            if form in data:
                data = data.replace(form, b"[redacted]")
        return data

    n = 300 if quick else 2000
    rows: list[list[object]] = []
    for size, body in (("2 KB", json.dumps(item(1)).encode()), ("100 KB", json.dumps(history(1)).encode())):
        figures = []
        for scrub in (scrubber.scrub_bytes, per_form):
            best = float("inf")
            for _ in range(5):
                started = time.process_time()
                for _ in range(n):
                    scrub(body)
                best = min(best, (time.process_time() - started) / n * 1e6)
            figures.append(best)
        rows.append([size, f"{len(body):,}", len(forms), f"{figures[0]:.1f}", f"{figures[1]:.1f}",
                     f"{figures[1] / figures[0]:.0f}×"])
    return rows


NON_ASCII_SECRETS = ["Schlüssel-日本-9f8e7d6c5b4a", "pässwörd-Größe-ﬁx-①", "ＡＰＩキー-ｶﾀｶﾅ-1234", "bench/bearer+Token=1"]


def _normal_forms_cost(quick: bool) -> list[list[object]]:
    """CPU µs to scrub a non-ASCII body once with 3 non-ASCII secrets and an ASCII one: their forms of the code
    points as written only (as before fixi1) vs of every Unicode normal form (NFC/NFD/NFKC/NFKD), in alternation."""
    from mcprt.scrubbing import scrubber as module

    normal_forms = module._normal_forms

    def built(every_form: bool) -> tuple[Any, int]:
        module._normal_forms = normal_forms if every_form else (lambda secret: {secret})
        module._forms.cache_clear()
        scrubber = module.Scrubber()
        scrubber.add(*NON_ASCII_SECRETS)
        count = sum(len(module._forms(secret)) for secret in NON_ASCII_SECRETS)
        module._normal_forms = normal_forms
        module._forms.cache_clear()
        return scrubber, count

    (before, before_forms), (after, after_forms) = built(False), built(True)
    n = 50 if quick else 300
    rows: list[list[object]] = []
    for label, items, echo in (("800 KB, no secret in it", 2000, ""), ("90 KB, 200 echoes", 200, NON_ASCII_SECRETS[0])):
        body = json.dumps({"items": [{"名前": "日本語テキスト" * 5, "emoji": "👨‍👩‍👧‍👦" * 10, "städte": "München " + echo}
                                     for _ in range(items)]}, ensure_ascii=False)
        for name, value in (("scrub_text", body), ("scrub_bytes", body.encode())):
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(n):
                for every_form, scrubber in ((False, before), (True, after)):
                    started = time.process_time()
                    getattr(scrubber, name)(value)
                    times[every_form].append((time.process_time() - started) * 1e6)
            rows.append([f"{label}, {name}", f"{before_forms} / {after_forms}",
                         f"{statistics.median(times[False]):.0f}", f"{statistics.median(times[True]):.0f}"])
    return rows


def _scrub_decoded(quick: bool) -> list[list[object]]:
    """CPU ms to scrub a JSON body as the HTTP executor does since the decoded scrub (trial of untidy REST APIs,
    fault 1: a secret spelled with an unlisted `\\uXXXX` escape reached the model): the raw bytes' search alone
    (before), plus the decoded value's (`Scrubber.scrub_parsed`: one canonical write searched, walked only when a
    form is there) when the body holds a `\\u` escape, against walking every string (what it avoids)."""
    from mcprt.scrubbing import Scrubber
    from upstream_app import history

    scrubber = Scrubber()
    scrubber.add(*SECRETS)
    records = [{"id": i, "name": f"récord-{i}", "tags": ["a", "b", "c"], "note": "x" * 40,
                "nested": {"k": "v" * 10, "n": i}} for i in range(8000)]
    n = 20 if quick else 100
    rows: list[list[object]] = []
    for label, value in (("100 KB history", history(1)), ("1.2 MB records", records)):
        data = json.dumps(value).encode()  # ensure_ascii: `\u00e9` escapes, so the decoded scrub runs

        def best(work) -> float:  # type: ignore[no-untyped-def]
            figures = []
            for _ in range(5):
                started = time.process_time()
                for _ in range(n):
                    work()
                figures.append((time.process_time() - started) / n * 1e3)
            return min(figures)

        before = best(lambda: scrubber.scrub_bytes(data))
        after = best(lambda: (scrubber.scrub_bytes(data), scrubber.scrub_parsed(value)))
        walk = best(lambda: scrubber._scrub_strings(value))
        rows.append([label, f"{len(data):,}", f"{before:.2f}", f"{after:.2f}", f"{walk:.2f}"])
    return rows


HEX_SECRETS = ["9f8e7d6c5b4a3f2e1d0c", "550e8400-e29b-41d4-a716-446655440000", "ABCDEF0123456789abcd"]


def _case_forms_cost(quick: bool) -> list[list[object]]:
    """CPU µs to scrub an 800 KB non-ASCII body holding no secret with 3 hex secrets: without their lower/upper-case
    forms (as before mendi1) vs with them (`scrubber._case_forms`), in alternation."""
    from mcprt.scrubbing import scrubber as module

    case_forms = module._case_forms

    def built(with_case: bool) -> tuple[Any, int]:
        module._case_forms = case_forms if with_case else (lambda secret: set())
        module._forms.cache_clear()
        scrubber = module.Scrubber()
        scrubber.add(*HEX_SECRETS)
        count = sum(len(module._forms(secret)) for secret in HEX_SECRETS)
        module._case_forms = case_forms
        module._forms.cache_clear()
        return scrubber, count

    (before, before_forms), (after, after_forms) = built(False), built(True)
    body = json.dumps({"items": [{"名前": "日本語テキスト" * 5, "emoji": "👨‍👩‍👧‍👦" * 10, "städte": "München"}
                                 for _ in range(2000)]}, ensure_ascii=False)
    rows: list[list[object]] = []
    for name, value in (("scrub_text", body), ("scrub_bytes", body.encode())):
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(50 if quick else 300):
            for with_case, scrubber in ((False, before), (True, after)):
                started = time.process_time()
                getattr(scrubber, name)(value)
                times[with_case].append((time.process_time() - started) * 1e6)
        rows.append([f"800 KB, no secret in it, {name}", f"{before_forms} / {after_forms}",
                     f"{statistics.median(times[False]):.0f}", f"{statistics.median(times[True]):.0f}"])
    return rows


def _scrub_blobs(quick: bool) -> list[list[object]]:
    """CPU ms to scrub one base64 blob (a resource's `blob`, an image's `data`) as the bytes it encodes
    (`Scrubber.scrub_base64`: decode, one search, re-encode only when found), with 6 secrets; beside it, the
    base64 decode alone (the part a text scan would not pay) and a text scan of the same blob."""
    import base64
    import os

    from mcprt.scrubbing import Scrubber

    scrubber = Scrubber()
    scrubber.add(*SECRETS)
    rows: list[list[object]] = []
    for megabytes in ((1,) if quick else (1, 10)):
        raw = os.urandom(megabytes << 20)
        for what, data in (("clean", raw), ("a secret inside", raw[:999] + SECRETS[0].encode() + raw[999:])):
            blob = base64.b64encode(data).decode()
            figures = []
            for work in (lambda: scrubber.scrub_base64(blob), lambda: base64.b64decode(blob),
                         lambda: scrubber.scrub_text(blob)):
                best = float("inf")
                for _ in range(3 if quick else 7):
                    started = time.process_time()
                    work()
                    best = min(best, time.process_time() - started)
                figures.append(best * 1000)
            rows.append([f"{megabytes} MB, {what}", f"{len(blob):,}", *(f"{f:.1f}" for f in figures)])
    return rows


def _loop_stall(quick: bool) -> list[list[object]]:
    """The longest the event loop is held (ms, wall: a 1 ms ticker's largest gap) while a resources/read
    result with one base64 blob holding a secret is scrubbed, 6 secrets: `scrub_prose` on the loop, beside
    `scrub_prose_async` (a blob past `LARGE_BASE64_CHARS` scrubbed in a worker thread)."""
    import base64
    import os

    from mcprt.scrubbing import Scrubber

    scrubber = Scrubber()
    scrubber.add(*SECRETS)

    async def held(scrub: Any, result: dict[str, Any]) -> float:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        scrubbed = scrub(result)
        if asyncio.iscoroutine(scrubbed):
            await scrubbed
        await asyncio.sleep(0.01)
        stop.set()
        await task
        return max(gaps) * 1000

    rows: list[list[object]] = []
    for megabytes in ((1, 10) if quick else (1, 10, 50)):
        raw = os.urandom(megabytes << 20)
        blob = base64.b64encode(raw[:999] + SECRETS[0].encode() + raw[999:]).decode()
        result = {"contents": [{"uri": "file:///big", "mimeType": "application/octet-stream", "blob": blob}]}
        figures = []
        for scrub in (scrubber.scrub_prose, scrubber.scrub_prose_async):
            figures.append(min(asyncio.run(held(scrub, result)) for _ in range(3 if quick else 7)))
        rows.append([f"{megabytes} MB", f"{len(blob):,}", *(f"{f:.1f}" for f in figures)])
    return rows


def _scrub_streams(quick: bool) -> list[list[object]]:
    """CPU s to write through the process's scrubbing `sys.stdout`/`sys.stderr` (`scrubbing.streams`), 6
    secrets, to /dev/null, beside a plain text file: `json.dump` of a 1.1 MB list (many small writes without
    a line end), one-character writes, and log-sized lines."""
    import os

    from mcprt.scrubbing import Scrubber
    from mcprt.scrubbing.streams import ScrubbingStream

    scrubber = Scrubber()
    scrubber.add(*SECRETS)
    items = [{"id": i, "name": f"item{i}", "tags": ["a", "b"]} for i in range(20000)]
    line = "01:17:57 INFO    mcprt: call tool=printer source=py status=ok latency_ms=1.2 session=abc123\n"
    chars = 50_000 if quick else 200_000

    def dump(stream: Any) -> None:
        json.dump(items, stream)

    def one_char(stream: Any) -> None:
        for _ in range(chars):
            stream.write(".")

    def lines(stream: Any) -> None:
        for _ in range(chars // 10):
            stream.write(line)

    rows: list[list[object]] = []
    for what, work in (("json.dump, 1.1 MB", dump), (f"{chars:,} one-character writes", one_char),
                       (f"{chars // 10:,} log lines", lines)):
        figures = []
        with open(os.devnull, "w") as sink:
            for stream in (sink, ScrubbingStream(sink, scrubber)):  # type: ignore[arg-type]
                best = float("inf")
                for _ in range(2 if quick else 5):
                    started = time.process_time()
                    work(stream)
                    stream.flush()
                    best = min(best, time.process_time() - started)
                figures.append(best)
        rows.append([what, f"{figures[0]:.3f}", f"{figures[1]:.3f}", f"{figures[1] / figures[0]:.1f}×"])
    return rows


def _issued_tokens(quick: bool) -> list[list[object]]:
    """Registering per-user tokens (RFC 8693 exchanged, one per user): each is scrubbed for its life, so a
    gateway with many users holds many (up to `MAX_ISSUED`, 20,000). Per live-token count: the cost of registering
    one more — CPU mean, and the wall-clock worst, which is how long the event loop is held (the call runs on
    it; an index build holds the GIL, so no other thread would shorten it) — and the CPU of scrubbing a 100 KB
    body that holds none."""
    import secrets as random_tokens

    from mcprt.scrubbing import Scrubber

    rows: list[list[object]] = []
    body = '{"a":"' + "x" * 100_000 + '"}'
    for count in ((1000, 10_000, 20_000) if quick else (200, 1000, 5000, 10_000, 20_000)):
        scrubber = Scrubber()
        scrubber.add(*SECRETS)
        costs, walls = [], []
        for _ in range(count):
            token = "xch.0." + random_tokens.token_urlsafe(40)
            started, wall = time.process_time(), time.perf_counter()
            scrubber.add_issued(token, 3600)
            walls.append(time.perf_counter() - wall)
            costs.append(time.process_time() - started)
        started = time.process_time()
        for _ in range(20):
            scrubber.scrub_text(body)
        scan = (time.process_time() - started) / 20
        rows.append([f"{count:,}", f"{statistics.mean(costs) * 1000:.2f}", f"{max(costs) * 1000:.1f}",
                     f"{max(walls) * 1000:.1f}",
                     f"{statistics.quantiles(walls, n=1000)[-1] * 1000:.1f}", f"{scan * 1000:.2f}"])
    return rows


def _median_interval(values: list[float]) -> tuple[float, float]:
    """A distribution-free 95 % confidence interval of the median (order statistics, normal approximation)."""
    ordered = sorted(values)
    n = len(ordered)
    half = 1.96 * (n ** 0.5) / 2
    return ordered[max(0, int(n / 2 - half))], ordered[min(n - 1, int(n / 2 + half))]


def run(quick: bool) -> Section:
    section = Section(title="6. Secret scrubbing per call (bench/scrubbing.py)")
    port = free_port()
    upstream = subprocess.Popen([sys.executable, str(BENCH / "upstream_app.py"), str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            base = f"http://127.0.0.1:{port}"
            (folder / "spec.json").write_text(json.dumps(openapi_spec(base)))
            (folder / "mcp.yaml").write_text(
                f'version: 1\nsources:\n  bench:\n    openapi: spec.json\n    base_url: {base}\n'
                '    auth: {bearer: "${BENCH_TOKEN}"}\n')
            pairs = 600 if quick else 3000
            log(f"scrubbing: {pairs} pairs of calls (scrubber empty / 6 secrets) per body size")
            times = asyncio.run(_measure(folder, pairs))
    finally:
        upstream.terminate()
        upstream.wait(10)
    section.headers = ["body", "CPU per call, scrubber empty (ms, median)", "CPU per call, 6 secrets (ms, median)",
                       "cost: median paired difference / median empty", "95 % interval of the cost"]
    for size, modes in times.items():
        off = statistics.median(modes["off"])
        differences = [on - empty for on, empty in zip(modes["on"], modes["off"])]
        cost = statistics.median(differences) / off
        low, high = _median_interval(differences)
        section.rows.append([size, f"{off:.3f}", f"{statistics.median(modes['on']):.3f}", f"{cost * 100:+.2f} %",
                             f"{low / off * 100:+.2f} … {high / off * 100:+.2f} %"])
        section.goals.append(Goal(f"scrubbing cost per call, {size}", f"{cost * 100:+.2f} %", "< 2 %", cost < 0.02))
    section.extra_tables.append((["body", "bytes", "forms", "one pass (µs CPU)", "a search per form (µs CPU)",
                                  "ratio"], _scrub_alone(quick)))
    section.extra_tables.append((["non-ASCII body, 4 secrets", "forms: as written / every normal form",
                                  "as written (µs CPU, median)", "every normal form (µs CPU, median)"],
                                 _normal_forms_cost(quick)))
    section.extra_tables.append((["JSON body holding \\u escapes", "bytes", "raw bytes only, before (ms CPU)",
                                  "raw + decoded value, after (ms CPU)", "walking every string (ms CPU)"],
                                 _scrub_decoded(quick)))
    section.extra_tables.append((["non-ASCII body, 3 hex secrets", "forms: without / with both cases",
                                  "without (µs CPU, median)", "with both cases (µs CPU, median)"],
                                 _case_forms_cost(quick)))
    section.extra_tables.append((["base64 blob", "chars", "scrub_base64 (ms CPU)", "of which: decode alone (ms CPU)",
                                  "a text scan of the blob (ms CPU)"], _scrub_blobs(quick)))
    section.extra_tables.append((["resources/read blob with a secret", "chars", "loop held, scrub_prose (ms, max gap)",
                                  "loop held, scrub_prose_async (ms, max gap)"], _loop_stall(quick)))
    section.extra_tables.append((["printed through sys.stdout/sys.stderr", "plain file (s CPU)",
                                  "scrubbing stream (s CPU)", "ratio"], _scrub_streams(quick)))
    section.extra_tables.append((["issued tokens alive", "register one more, mean (ms CPU)",
                                  "register one more, worst (ms CPU)", "register one more, worst (ms wall: the loop held)", "99.9th percentile (ms wall)",
                                  "scrub 100 KB (ms CPU)"], _issued_tokens(quick)))
    section.notes.append(f"{pairs} pairs of calls per body size; in-process `call_tool` through the HTTP executor to "
                         "a loopback upstream (no MCP transport: the figure is the pipeline's own cost); CPU time of "
                         "the mcprt process only; interval: distribution-free 95 % confidence interval of the median "
                         "paired difference")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick).markdown())


if __name__ == "__main__":
    main()
