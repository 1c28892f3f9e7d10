"""`/metrics` and the audit log of a real `mcprt up` after known calls: exact counters and bytes."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcprt.observability.log import rfc3339
from observability_support import (
    ALICE_TOKEN,
    BOB_TOKEN,
    PETS,
    UPSTREAM_KEY,
    Restartable,
    Seen,
    env_for,
    openapi_source,
    pets_app,
    write_manifest,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import mcprt_cli
from tests.support.everything import command_source
from tests.support.served import UpProcess, http_client, mcprt_http
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("test_metrics_audit")  # one started set of servers per run, not one per worker

# Starlette's JSONResponse writes compact JSON: these are the bytes the upstream sends.
PETS_RAW = len(json.dumps(PETS, ensure_ascii=False, separators=(",", ":")).encode())
SECRETS = (ALICE_TOKEN, BOB_TOKEN, UPSTREAM_KEY)


def sent_size(result: object) -> int:
    """What the model received, measured as mcprt defines it (shaping/sent.py): the text blocks' text
    in UTF-8; structuredContent unless a text block repeats it (these tools' text carries the same JSON)."""
    if not result.content:
        structured = result.structured_content
        return 0 if structured is None else len(json.dumps(structured, separators=(",", ":")).encode())
    return sum(len(block.text.encode()) for block in result.content)  # these tools answer text blocks only


def scrape(up: UpProcess, token: str = ALICE_TOKEN) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{up.base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_for_lines(path: Path, count: int, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Seen, Path]]:
    folder = tmp_path_factory.mktemp("metrics")
    seen = Seen()
    with serve_app(pets_app(seen)) as base, NOTES.served() as notes:
        # and the everything fixture proxied (`command:`), for a passthrough's bytes (test_big_result), and
        # `notes`, an OpenAPI upstream test_a_dead_upstream_is_down kills and brings back
        manifest = write_manifest(folder, base, observability="{audit: logs/audit.jsonl}",
                                  extra_sources=command_source("fx", "--features", "tools",
                                                               extra="include: {operations: [test_big_result]}\n")
                                  + openapi_source("notes", notes, {"listPets": "list_notes", "getPet": "get_note"}))
        with mcprt_http(manifest, "--no-reload", env=env_for()) as up:
            yield up, seen, folder / "logs" / "audit.jsonl"


NOTES = Restartable(pets_app(Seen()))


async def test_metrics_count_each_call_exactly(world: tuple[UpProcess, Seen, Path]) -> None:
    up, _, _ = world
    sent: dict[str, int] = {"list_pets": 0, "get_pet": 0}
    async with http_client(up.url, token=ALICE_TOKEN) as alice:
        for _ in range(2):
            result = await alice.call_tool("list_pets", {})
            assert not result.is_error
            sent["list_pets"] += sent_size(result)
        result = await alice.call_tool("get_pet", {"petId": 1})
        assert result.structured_content is not None and result.content  # the same object, twice
        sent_unpruned = sent_size(result)
        sent["get_pet"] += sent_unpruned
        open_sessions = value(scrape(up), "mcprt_sessions")
    async with http_client(up.url, token=BOB_TOKEN) as bob:
        missing = await bob.call_tool("get_pet", {"petId": 99})  # upstream 404
        assert missing.is_error
        invalid = await bob.call_tool("get_pet", {"petId": "seven"})  # refused before any upstream
        assert invalid.is_error

    samples = scrape(up)
    calls = "mcprt_tool_calls_total"
    assert value(samples, calls, tool="list_pets", source="pets", outcome="ok") == 2
    assert value(samples, calls, tool="get_pet", source="pets", outcome="ok") == 1
    assert value(samples, calls, tool="get_pet", source="pets", outcome="upstream_error") == 1
    assert value(samples, calls, tool="get_pet", source="pets", outcome="rejected") == 1
    assert value(samples, calls, tool="get_pet", source="pets", outcome="denied") is None

    pet_one = len(json.dumps(PETS[0], ensure_ascii=False, separators=(",", ":")).encode())
    not_found = len(json.dumps({"message": "no such pet"}, separators=(",", ":")).encode())
    size = "mcprt_tool_result_bytes_total"
    assert value(samples, size, tool="list_pets", stage="raw", outcome="ok") == 2 * PETS_RAW
    assert value(samples, size, tool="list_pets", stage="sent", outcome="ok") == sent["list_pets"]
    assert value(samples, size, tool="get_pet", stage="raw", outcome="ok") == pet_one
    assert value(samples, size, tool="get_pet", stage="sent", outcome="ok") == sent["get_pet"]
    # A failed call's error text is sent, its upstream body (or none at all) is raw: each outcome apart,
    # so raw − sent of `outcome="ok"` (README's "bytes saved" panel) counts the same calls on both sides.
    # A trial saw raw 1893, sent 2107 (−214 B "saved") when both were summed over every call.
    assert value(samples, size, tool="get_pet", stage="raw", outcome="upstream_error") == not_found
    assert value(samples, size, tool="get_pet", stage="sent", outcome="upstream_error") == sent_size(missing)
    assert value(samples, size, tool="get_pet", stage="raw", outcome="rejected") == 0
    assert value(samples, size, tool="get_pet", stage="sent", outcome="rejected") == sent_size(invalid) > 0
    assert sent["list_pets"] < 2 * PETS_RAW  # pruning to id+name saved bytes
    # get_pet is not pruned and its upstream answers compact JSON: nothing saved, but nothing "more"
    # either (an operator trial saw "357 → 691 bytes (93.6 % more)": content and structuredContent
    # were both counted, and the text as an escaped JSON string)
    assert 0 < sent_unpruned <= pet_one

    # OpenTelemetry MCP semconv `mcp.server.operation.duration`: `gen_ai.tool.name`, and `error.type` iff
    # the operation failed, as Prometheus label names (`.` → `_`); the tool was labelled `tool`, no error_type
    duration = "mcp_server_operation_duration_seconds_count"
    call = dict(mcp_method_name="tools/call")
    assert value(samples, duration, **call, gen_ai_tool_name="list_pets", error_type="") == 2
    assert value(samples, duration, **call, gen_ai_tool_name="get_pet", error_type="") == 1
    assert value(samples, duration, **call, gen_ai_tool_name="get_pet", error_type="upstream_error") == 1
    assert value(samples, duration, **call, gen_ai_tool_name="get_pet", error_type="rejected") == 1
    assert value(samples, duration, mcp_method_name="tools/list", gen_ai_tool_name="", error_type="") >= 1
    assert value(samples, "mcp_server_operation_duration_seconds_bucket", **call,
                 gen_ai_tool_name="list_pets", error_type="", le="+Inf") == 2
    assert not any(name.startswith("mcp_server") and "tool" in dict(labels) for name, labels in samples)
    upstream = "mcprt_upstream_request_duration_seconds_count"
    assert value(samples, upstream, source="pets", status_class="2xx") == 3
    assert value(samples, upstream, source="pets", status_class="4xx") == 1

    assert value(samples, "mcprt_tools", exposure="tools") == 5  # the pets API twice (pets, notes), test_big_result
    assert value(samples, "mcprt_source_up", source="pets") == 1
    assert value(samples, "mcprt_source_restarts_total", source="pets") == 0
    assert value(samples, "mcprt_reloads_total", result="ok") == 0
    assert value(samples, "mcprt_reloads_total", result="error") == 0
    assert open_sessions == 1
    # label values are tool names, never arguments
    assert not any("seven" in str(labels) or "99" in str(labels) for _, labels in samples)


def test_methods_a_client_makes_up_share_one_label(world: tuple[UpProcess, Seen, Path]) -> None:
    """`mcp_method_name` is the client's string: each made-up method (`made/up/1`, `made/up/2`, …)
    added a histogram series for the life of the process. A method MCP does not define is `_OTHER`
    (OpenTelemetry's rule for `rpc.method`), in both eras; `ping` keeps its name."""
    up, _, _ = world
    auth = {"authorization": f"Bearer {ALICE_TOKEN}", "content-type": "application/json",
            "accept": "application/json, text/event-stream"}
    other = dict(mcp_method_name="_OTHER", gen_ai_tool_name="", error_type="-32601")  # semconv: the JSON-RPC code
    before = value(scrape(up), "mcp_server_operation_duration_seconds_count", **other) or 0
    init = httpx.post(up.url, headers=auth, timeout=10, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    session = {**auth, "mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    httpx.post(up.url, headers=session, timeout=10, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    for n in range(10):
        legacy = httpx.post(up.url, headers=session, timeout=10,
                            json={"jsonrpc": "2.0", "id": n + 1, "method": f"made/up/{n}", "params": {}})
        assert legacy.json()["error"]["code"] == -32601
        modern = httpx.post(up.url, timeout=10, headers={**auth, "mcp-protocol-version": "2026-07-28",
                                                         "mcp-method": f"made/up/{n}"},
                            json={"jsonrpc": "2.0", "id": n + 1, "method": f"made/up/{n}", "params": {"_meta": meta}})
        assert modern.json()["error"]["code"] == -32601
    httpx.post(up.url, headers=session, timeout=10, json={"jsonrpc": "2.0", "id": 99, "method": "ping"})
    httpx.delete(up.url, headers=session, timeout=10)

    samples = scrape(up)
    assert not any("made/up" in str(labels) for _, labels in samples)
    duration = "mcp_server_operation_duration_seconds_count"
    assert value(samples, duration, **other) == before + 20
    assert value(samples, duration, mcp_method_name="ping", gen_ai_tool_name="", error_type="") >= 1


def test_metrics_and_status_need_the_endpoints_token(world: tuple[UpProcess, Seen, Path]) -> None:
    up, _, _ = world
    assert httpx.get(f"{up.base}/metrics", timeout=10).status_code == 401
    wrong = httpx.get(f"{up.base}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(f"{up.base}/status.json", timeout=10).status_code == 401
    page = httpx.get(f"{up.base}/status", timeout=10)
    assert page.status_code == 401 and 'name="token"' in page.text  # the sign-in form
    assert httpx.get(f"{up.base}/metrics", headers={"Host": "evil.example"}, timeout=10).status_code == 421


async def test_audit_log_has_one_record_per_call_and_no_secret(world: tuple[UpProcess, Seen, Path]) -> None:
    up, _, audit = world
    before = len(wait_for_lines(audit, 0, timeout=0))
    async with http_client(up.url, token=BOB_TOKEN) as bob:
        await bob.call_tool("get_pet", {"petId": 2})
        await bob.call_tool("get_pet", {"petId": 404})
    records = wait_for_lines(audit, before + 2)[before:]
    assert len(records) == 2
    ok, failed = records
    assert ok["type"] == "call" and ok["principal"] == "bob" and ok["tool"] == "get_pet" and ok["source"] == "pets"
    assert ok["outcome"] == "ok" and ok["upstream_status"] == 200 and ok["arguments"] == ["petId"]
    assert ok["bytes_raw"] == len(json.dumps(PETS[1], separators=(",", ":")).encode()) and ok["bytes_sent"] > 0
    assert ok["latency_ms"] > 0 and ok["time"].endswith("Z") and ok["session"]
    assert failed["outcome"] == "upstream_error" and failed["upstream_status"] == 404
    text = audit.read_text()
    # argument names only, never values (a bare "404" could occur by chance in a session id or a latency)
    assert failed["arguments"] == ["petId"] and '"petId": 404' not in text and '"petId":404' not in text
    assert all(secret not in text for secret in SECRETS)


async def test_sent_bytes_agree_across_metrics_audit_and_status(world: tuple[UpProcess, Seen, Path]) -> None:
    """One rule for "sent bytes", computed once: the metrics counter, the audit log and the status
    page report the same figure, and an unpruned tool's "saved" is not negative."""
    up, _, audit = world
    size = "mcprt_tool_result_bytes_total"
    before_lines = len(wait_for_lines(audit, 0, timeout=0))
    before = scrape(up)
    measured = {"list_pets": 0, "get_pet": 0}
    async with http_client(up.url, token=ALICE_TOKEN) as alice:
        for tool, arguments in (("list_pets", {}), ("get_pet", {"petId": 4}), ("get_pet", {"petId": 5})):
            result = await alice.call_tool(tool, arguments)
            assert not result.is_error
            measured[tool] += sent_size(result)
    records = wait_for_lines(audit, before_lines + 3)[before_lines:]
    after = scrape(up)
    for tool in measured:
        counted = (value(after, size, tool=tool, stage="sent", outcome="ok")
                   - (value(before, size, tool=tool, stage="sent", outcome="ok") or 0))
        audited = sum(r["bytes_sent"] for r in records if r.get("tool") == tool)
        assert counted == audited == measured[tool], (tool, counted, audited, measured[tool])
    status = httpx.get(f"{up.base}/status.json", headers={"Authorization": f"Bearer {ALICE_TOKEN}"}, timeout=10).json()
    tools = {t["name"]: t for t in status["tools"]}
    assert tools["get_pet"]["saved_ratio"] >= 0, tools["get_pet"]  # "saved" counts successful calls
    # the page's "raw → sent" are the same calls as its "saved" and as the metric's outcome="ok" series (the
    # module's earlier calls include failed ones: their error text was counted as sent, beside 5% "saved")
    for tool in measured:
        assert (tools[tool]["bytes_raw"], tools[tool]["bytes_sent"]) == (
            value(after, size, tool=tool, stage="raw", outcome="ok"),
            value(after, size, tool=tool, stage="sent", outcome="ok")), tools[tool]
    assert tools["list_pets"]["saved_ratio"] > 0.5, tools["list_pets"]  # pruned to id+name


async def test_an_unpruned_proxied_tool_shows_no_saving(world: tuple[UpProcess, Seen, Path]) -> None:
    """#15 fault 2: `echo` of a proxied server (no prune, no template) showed `459 → 207, saved 87%`: raw was
    the upstream's whole result JSON (its text and the SDK's `{"result": <text>}` copy, and the framing),
    sent only the text. Both are now measured by one rule, so the audit log, the metrics and `mcprt status`
    show raw = sent, 0 % saved."""
    up, _, audit = world
    size = "mcprt_tool_result_bytes_total"
    before_lines = len(wait_for_lines(audit, 0, timeout=0))
    before = scrape(up)
    async with http_client(up.url, token=ALICE_TOKEN) as alice:
        result = await alice.call_tool("test_big_result", {"kind": "wrapped", "kb": 0.02})  # 20 bytes, and a copy
        assert not result.is_error and result.structured_content == {"result": "x" * 20}
    record = next(r for r in wait_for_lines(audit, before_lines + 1)[before_lines:] if r.get("tool") == "test_big_result")
    assert (record["bytes_raw"], record["bytes_sent"]) == (20, 20), record
    after = scrape(up)
    counted = {stage: value(after, size, tool="test_big_result", stage=stage, outcome="ok")
               - (value(before, size, tool="test_big_result", stage=stage, outcome="ok") or 0)
               for stage in ("raw", "sent")}
    assert counted == {"raw": 20, "sent": 20}, counted
    shown = mcprt_cli("status", "--url", up.url, "--token", ALICE_TOKEN, env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "test_big_result" in line)
    assert "20 → 20" in row and "0%" in row, row


async def test_audit_file_reopens_on_sighup(world: tuple[UpProcess, Seen, Path]) -> None:
    up, _, audit = world
    started = rfc3339(time.time())
    async with http_client(up.url, token=ALICE_TOKEN) as alice:
        await alice.call_tool("get_pet", {"petId": 3})
        # The writer writes in order: once this call's record is in, so are an earlier test's (a late
        # one would otherwise land in the rotated file after it was counted).
        deadline = time.monotonic() + 20
        while not any(r["time"] >= started for r in wait_for_lines(audit, 1)):
            assert time.monotonic() < deadline, audit.read_text()
            time.sleep(0.05)
        before = len(wait_for_lines(audit, 1))
        rotated = audit.with_name("audit.jsonl.1")
        os.replace(audit, rotated)  # what logrotate does
        up.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while not audit.exists() and time.monotonic() < deadline:  # reopened by the writer
            time.sleep(0.05)
        await alice.call_tool("get_pet", {"petId": 4})
    records = wait_for_lines(audit, 1)
    assert [r["arguments"] for r in records] == [["petId"]] and records[-1]["principal"] == "alice"
    assert len(rotated.read_text().splitlines()) == before


def _notes_health(up: UpProcess, *, cli: bool = False) -> tuple[float | None, dict, str]:
    """(mcprt_source_up, the /status.json source, the `mcprt status` row when `cli`: a subprocess, so asked
    only where it matters) of the `notes` source."""
    gauge = value(scrape(up), "mcprt_source_up", source="notes")
    status = httpx.get(f"{up.base}/status.json", headers={"Authorization": f"Bearer {ALICE_TOKEN}"}, timeout=10)
    (source,) = [s for s in status.json()["sources"] if s["name"] == "notes"]
    if not cli:
        return gauge, source, ""
    shown = mcprt_cli("status", "--url", up.url, "--token", ALICE_TOKEN, env={"COLUMNS": "300"})
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "notes" in line and "openapi" in line)
    return gauge, source, row


async def test_a_dead_upstream_is_down_until_it_answers(world: tuple[UpProcess, Seen, Path]) -> None:
    """A trial killed an OpenAPI source's upstream: its calls failed "connection refused after 3 attempts"
    while `mcprt_source_up` stayed 1 and `/status` and `mcprt status` said `up`. A source's health now
    follows its calls: unreachable → down, 5xx after down (or a run of them) → degraded (with the error and
    since when), a run of answers → up; the metric, the page and the CLI agree. `/readyz` stays 200 (an upstream
    outage must not take every replica out of rotation) but says `degraded` with `sources_down` 1, as `/status`
    shows it (an SRE trial found `/readyz` "ready" next to a `down` source)."""
    up, _, _ = world
    async with http_client(up.url, token=ALICE_TOKEN) as alice:
        assert not (await alice.call_tool("get_note", {"petId": 1})).is_error
        gauge, source, _ = _notes_health(up)
        assert (gauge, source["state"], source["error"], source["since"]) == (1, "up", None, None), source

        NOTES.stop()  # killed: connections refused
        killed_at = time.time()
        try:
            failed = await alice.call_tool("get_note", {"petId": 1})
            assert failed.is_error and "refused" in failed.content[0].text, failed.content
            gauge, source, row = _notes_health(up, cli=True)
            assert (gauge, source["state"]) == (0, "down"), source
            assert "refused" in source["error"] and killed_at - 1 <= source["since"] <= time.time(), source
            assert " down " in row and "refused" in row, row
            assert value(scrape(up), "mcprt_source_up", source="pets") == 1  # the other source is not touched
            # still ready (every replica shares the upstream), but /readyz agrees with /status: a source is down
            ready = httpx.get(f"{up.base}/readyz", timeout=10)
            assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
            assert ready.json()["sources_down"] == 1, ready.text
            since = source["since"]
            await alice.call_tool("get_note", {"petId": 1})  # still refused: the outage began earlier
            assert _notes_health(up)[1]["since"] == since
        finally:
            NOTES.start()  # back on the same port

        assert (await alice.call_tool("get_note", {"petId": 500})).is_error  # an answer, but HTTP 500
        gauge, source, _ = _notes_health(up)
        assert (gauge, source["state"]) == (0, "degraded") and source["error"].startswith("HTTP 500"), source
        missing = await alice.call_tool("get_note", {"petId": 99})  # a 404 is an answer, but one is not a run
        assert missing.is_error and _notes_health(up)[1]["state"] == "degraded"
        assert not (await alice.call_tool("get_note", {"petId": 1})).is_error
        gauge, source, row = _notes_health(up, cli=True)
        assert (gauge, source["state"], source["error"], source["since"]) == (1, "up", None, None), source
        assert " up " in row, row

        # one 5xx among good answers is no verdict: `ok, 500, ok, 500, 404` flipped the gauge 1, 0, 1, 0, 1
        seen = []
        for pet in (1, 500, 1, 500, 99):
            await alice.call_tool("get_note", {"petId": pet})
            seen.append(value(scrape(up), "mcprt_source_up", source="notes"))
        assert seen == [1] * 5, seen


async def test_calls_to_unknown_tools_are_audited_bounded(world: tuple[UpProcess, Seen, Path]) -> None:
    """A probing agent's calls to tools the server does not offer left no audit record. Each is one
    `unknown_tool` record naming the principal and the name (cut to 100 characters); no metric series
    gets the made-up name."""
    up, _, audit = world
    before = len(wait_for_lines(audit, 0, timeout=0))
    probe = "drop_all_tables_" + "z" * 500
    async with http_client(up.url, token=BOB_TOKEN) as bob:
        for name in ("get_pets", probe):
            assert (await bob.call_tool(name, {"q": "x"})).is_error
    records = [r for r in wait_for_lines(audit, before + 2)[before:] if r["type"] == "unknown_tool"]
    assert [r["tool"] for r in records] == ["get_pets", probe[:99] + "…"], records
    assert all(r["principal"] == "bob" and r["session"] and r["time"].endswith("Z") for r in records)
    assert "arguments" not in records[0]
    assert not any("drop_all" in str(labels) or "get_pets" in str(labels) for _, labels in scrape(up))
