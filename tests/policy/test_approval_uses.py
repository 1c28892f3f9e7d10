"""How many calls one approval lets run (`approvals.uses`), served by `mcprt up` over HTTP against a real shop API.

A tenant-gateway trial (fault 4): one approval of `create_order` let the agent place two orders (any number
within `valid_for`). By default (`uses: auto`) an approval of a tool that is neither read-only nor idempotent (MCP
annotations: an OpenAPI POST) runs one call; the identical call after it asks again, saying which call used the
approval and when. Read-only (GET) and idempotent (PUT) tools keep reusing it within `valid_for`, and
`uses: valid_for` keeps the old behaviour for a rule that wants it.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.observability.log import rfc3339 as mcprt_rfc3339
from tests.support.cli import mcprt_cli
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app
from tests.support.zygote import script_command_yaml
from tests.tasks.tasks_support import call as task_call
from tests.tasks.tasks_support import wait_for

pytestmark = pytest.mark.xdist_group("approval-uses")  # its `mcprt up` once per run, not once per worker

ALICE, BOT = "alice-approver-token-0123", "bot-caller-token-0123456"


def _operation(operation_id: str, method: str, path: str, body: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"operationId": operation_id, "summary": operation_id.replace("_", " "),
                             "responses": {"200": {"description": "ok", "content": {"application/json": {
                                 "schema": {"type": "object"}}}}}}
    if body:
        found["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"item": {"type": "string"}, "qty": {"type": "integer"}},
            "required": ["item"]}}}}
    return {path: {method: found}}


SPEC = {"openapi": "3.0.3", "info": {"title": "Shop", "version": "1"}, "paths": {
    **_operation("create_order", "post", "/orders", True),
    **_operation("create_refund", "post", "/refunds", True),
    **_operation("create_transfer", "post", "/transfers", True),
    **_operation("put_note", "put", "/notes", True),
    **_operation("list_orders", "get", "/listing", False),
}}

MANIFEST = """\
version: 1
server:
  auth: {{tokens: {{alice: "${{ALICE_TOKEN}}", bot: "${{BOT_TOKEN}}"}}}}
  observability: {{audit: audit.jsonl}}
sources:
  shop:
    openapi: shop.json
    base_url: {upstream}
    task_support: optional
policy:
  default: allow
  rules:
    - {{match: {{tools: [create_order, put_note, list_orders]}}, action: approve}}
    - {{match: {{tools: [create_refund]}}, action: approve, approvals: {{uses: valid_for}}}}
    - {{match: {{tools: [create_transfer]}}, action: approve, approvals: {{wait: 30s}}}}
  approvals: {{wait: 1s, valid_for: 10m, approvers: [alice]}}
"""


class Shop:
    """The upstream: counts each request by path (each POST is one order, refund or transfer made)."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def handle(request: Request) -> JSONResponse:
            with self.lock:
                self.made[request.url.path] += 1
                number = self.made[request.url.path]
            return JSONResponse({"path": request.url.path, "n": number})

        paths = ("/orders", "/refunds", "/transfers", "/notes", "/listing")
        return Starlette(routes=[Route(p, handle, methods=["GET", "POST", "PUT"]) for p in paths])

    def count(self, path: str) -> int:
        with self.lock:
            return self.made[path]


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Shop, str]]:
    made = Shop()
    with serve_app(made.app()) as base:
        yield made, base


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shop: tuple[Shop, str]) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("uses")
    (folder / "shop.json").write_text(json.dumps(SPEC))
    (folder / "mcp.yaml").write_text(MANIFEST.format(upstream=shop[1]))
    with mcprt_http(folder / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
        AUDIT[up.url] = folder / "audit.jsonl"
        yield up


AUDIT: dict[str, Path] = {}


def approve(up: UpProcess, approval_id: str) -> None:
    done = mcprt_cli("approvals", "approve", approval_id, "--url", up.url, env={"MCPRT_TOKEN": ALICE}, timeout=60)
    assert done.returncode == 0 and "approved" in done.stdout, done.stdout + done.stderr


def pending_id(result: Any) -> str:
    assert result.is_error and "is pending" in text_of(result), text_of(result)
    return str(result.meta["mcprt/approval"]["id"])


def audit(up: UpProcess, approval_id: str, action: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The audit records of `approval_id` with `action`, once there is one (written by a background thread)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = AUDIT[up.url].read_text().splitlines() if AUDIT[up.url].exists() else []
        found = [r for r in map(json.loads, lines) if r.get("approval_id") == approval_id and r.get("action") == action]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def test_one_approval_of_a_side_effecting_call_runs_it_once_then_asks_again(
        served: UpProcess, shop: tuple[Shop, str]) -> None:
    """The trial's inputs: approve `create_order {item: widget, qty: 3}` once, make the call twice -> one order."""
    made, _ = shop
    arguments = {"item": "widget", "qty": 3}
    async with http_client(served.url, token=BOT) as client:
        first = pending_id(await client.call_tool("create_order", arguments))
        approve(served, first)
        ran = await client.call_tool("create_order", arguments)
        assert not ran.is_error, text_of(ran)
        assert made.count("/orders") == 1
        again = await client.call_tool("create_order", arguments)
        text = text_of(again)
        assert made.count("/orders") == 1  # the second call did not run
        second = pending_id(again)
        assert second != first
        assert re.search(rf"approval {first} was used by the call at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", text), text
        assert "asked again" in text and f"approval {second} is pending" in text
        # trial docs #7: it read "needs human approval and none was given in time: approval … was used …"
        assert text.startswith(f"create_order needs a new human approval: approval {first} was used by the call "), text
        assert "none was given in time" not in text
        [requested] = audit(served, second, "approval_requested")
        assert requested["reason"].startswith(f"approval {first} was used by the call at ")
        assert requested["reason"].endswith("; asked again")
        # the call that used it is named by its audit call id
        [allowed] = audit(served, first, "allow")
        assert f"(call {allowed['call']})" in requested["reason"]
        approve(served, second)  # asked again and approved: one more order
        assert not (await client.call_tool("create_order", arguments)).is_error
        assert made.count("/orders") == 2


@pytest.mark.parametrize(("tool", "path", "arguments"), [
    ("list_orders", "/listing", {}),  # GET: readOnlyHint
    ("put_note", "/notes", {"item": "note-1"}),  # PUT: idempotentHint
    ("create_refund", "/refunds", {"item": "refund-1"}),  # a POST whose rule says `uses: valid_for`
], ids=["read-only", "idempotent", "uses-valid_for"])
async def test_an_approval_is_reused_within_valid_for_by_read_only_idempotent_or_valid_for_calls(
        served: UpProcess, shop: tuple[Shop, str], tool: str, path: str, arguments: dict[str, Any]) -> None:
    made, _ = shop
    before = made.count(path)
    async with http_client(served.url, token=BOT) as client:
        approve(served, pending_id(await client.call_tool(tool, arguments)))
        for _ in range(3):
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, text_of(result)
    assert made.count(path) == before + 3


async def test_two_identical_calls_waiting_on_one_approval_run_once(served: UpProcess, shop: tuple[Shop, str]) -> None:
    """Two identical calls share the pending request; when it is approved, exactly one runs and the other is
    told the approval was used (by which call, when) and to ask again."""
    made, _ = shop
    arguments = {"item": "race", "qty": 1}
    results: list[Any] = []

    async def waiting() -> None:
        async with http_client(served.url, token=BOT) as client:
            results.append(await client.call_tool("create_transfer", arguments))

    async with anyio.create_task_group() as group:
        group.start_soon(waiting)
        group.start_soon(waiting)
        with anyio.fail_after(20):
            while True:
                listed = await anyio.to_thread.run_sync(lambda: mcprt_cli(
                    "approvals", "list", "--json", "--url", served.url, env={"MCPRT_TOKEN": ALICE}, timeout=60))
                found = [a for a in json.loads(listed.stdout) if a["tool"] == "create_transfer"]
                if found:
                    break
                await anyio.sleep(0.2)
        await anyio.sleep(0.5)  # both calls are waiting on it
        await anyio.to_thread.run_sync(lambda: approve(served, found[0]["id"]))
    assert made.count("/transfers") == 1
    outcomes = sorted(results, key=lambda r: r.is_error)
    assert not outcomes[0].is_error and outcomes[1].is_error, [text_of(r) for r in results]
    refused = text_of(outcomes[1])
    assert refused.startswith(f"create_transfer was not run: approval {found[0]['id']} was used by the call at "), refused
    assert "Ask again" in refused


def test_a_task_uses_the_approval_once(served: UpProcess, shop: tuple[Shop, str]) -> None:
    """The same rule for calls asked for as tasks (MCP tasks extension; the server may answer a quick one
    directly): the approved call runs once, and the identical one after it (a task) fails saying the approval was
    used, without reaching the upstream."""
    made, _ = shop
    arguments = {"item": "tasked", "qty": 2}
    first = task_call(served.url, "create_order", arguments, token=BOT).result
    if first.get("resultType") == "task":
        first = wait_for(served.url, first["taskId"], token=BOT).get("result", first)
    approval = first["_meta"]["mcprt/approval"]["id"] if "_meta" in first else None
    assert approval is not None, first
    approve(served, approval)
    before = made.count("/orders")
    outcomes = []
    for _ in range(2):
        reply = task_call(served.url, "create_order", arguments, token=BOT).result
        if reply.get("resultType") == "task":
            task = wait_for(served.url, reply["taskId"], token=BOT)
            reply = task.get("result", task)
        outcomes.append(reply)
    assert made.count("/orders") == before + 1, outcomes
    assert not outcomes[0].get("isError"), outcomes[0]
    assert outcomes[1].get("isError") and f"approval {approval} was used by the call at" in json.dumps(outcomes[1])


PAY_TOOLS = '''\
"""A payment tool with one worker thread: `hold` keeps it busy until released (or `seconds` passed)."""
import time
from pathlib import Path

HERE = Path(__file__).parent


def pay(who: str, hold: float = 0) -> str:
    """Pay someone."""
    with (HERE / "started.log").open("a") as log:
        log.write(who + "\\n")
    ends = time.monotonic() + hold
    while time.monotonic() < ends and not (HERE / "released").exists():
        time.sleep(0.02)
    with (HERE / "paid.log").open("a") as log:
        log.write(who + "\\n")
    return f"paid {who}"
'''

PAY_MANIFEST = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", bot: "${BOT_TOKEN}"}}
sources:
  q:
    python: pay_tools
    concurrency: 1
    timeout: 1s
policy:
  default: allow
  rules:
    - {match: {tools: [pay], when: "who == 'alice'"}, action: approve}
  approvals: {wait: 0, valid_for: 10m, approvers: [alice]}
"""


async def test_a_call_that_never_started_gives_its_approval_back(tmp_path: Path) -> None:
    """A review's input: `pay` has one worker thread, held by another call, so the approved `pay {who: alice}`
    waits out its time in mcprt's queue (`queue_timeout`): it did nothing, so its approval is not used — the
    same call, once the thread is free, runs on it (before: "approval … was used by the call at …", a new
    request, and alice never paid)."""
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(PAY_MANIFEST)
    paid = tmp_path / "paid.log"
    alice = {"who": "alice"}
    with mcprt_http(tmp_path / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
        async with http_client(up.url, token=BOT) as client:
            first = pending_id(await client.call_tool("pay", alice))
            approve(up, first)
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "pay", {"who": "hog", "hold": 30})
                await anyio.sleep(0.3)  # the hog holds the one thread
                queued = await client.call_tool("pay", alice)
                text = text_of(queued)
                assert queued.is_error and "did not start within 1s" in text, text
                assert f"approval {first} is not used: make the same call again" in text, text
                (tmp_path / "released").touch()  # the hog's thread returns
            assert not paid.exists() or "alice" not in paid.read_text().split()
            ran = await client.call_tool("pay", alice)  # on the same approval: no new request
            assert not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
            assert paid.read_text().split().count("alice") == 1
            again = await client.call_tool("pay", alice)  # that call did run: the approval is used now
            assert f"approval {first} was used by the call at" in text_of(again), text_of(again)
            assert paid.read_text().split().count("alice") == 1


def listed(up: UpProcess, approval_id: str) -> dict[str, Any]:
    """`approval_id` as `mcprt approvals list --all --json` gives it."""
    done = mcprt_cli("approvals", "list", "--all", "--json", "--url", up.url, env={"MCPRT_TOKEN": ALICE}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    [found] = [a for a in json.loads(done.stdout) if a["id"] == approval_id]
    return found


def listed_line(up: UpProcess, approval_id: str) -> str:
    """`approval_id`'s line of `mcprt approvals list --all` (text)."""
    done = mcprt_cli("approvals", "list", "--all", "--url", up.url, env={"MCPRT_TOKEN": ALICE}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith(approval_id)]
    return line


def admin_get(up: UpProcess, path: str) -> httpx.Response:
    answer = httpx.get(up.base + path, headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


async def test_the_listings_say_whether_an_approval_was_used_by_which_call_and_session(served: UpProcess) -> None:
    """An operator could not tell an unused grant from a spent one: `mcprt approvals list` (text and JSON), the
    approvals endpoint, the status page and `/status.json` now say whether, when, by which call (the audit records'
    `call`) and in which MCP session an approval of one call was used — and that a reusable one runs identical calls
    until it expires."""
    arguments = {"item": "listed", "qty": 1}
    async with http_client(served.url, token=BOT) as client:
        approval = pending_id(await client.call_tool("create_order", arguments))
        approve(served, approval)
        fresh = listed(served, approval)
        assert (fresh["status"], fresh["used"], fresh["used_by"], fresh["used_session"], fresh["uses"]) == (
            "approved", None, None, None, "once"), fresh
        assert listed_line(served, approval).endswith("  not used: runs one call")
        page = admin_get(served, "/status").text
        row = re.search(rf'<tr id="granted-{approval}">.*?</tr>', page)
        assert row is not None and "not used: runs one call" in row.group(0), page
        assert not (await client.call_tool("create_order", arguments)).is_error
    [allowed] = audit(served, approval, "allow")
    assert allowed["call"] and allowed["session"], allowed
    used = listed(served, approval)
    assert (used["used_by"], used["used_session"], used["uses"]) == (allowed["call"], allowed["session"], "once")
    assert used["used"] >= used["decided"]
    when = mcprt_rfc3339(used["used"])
    assert listed_line(served, approval).endswith(
        f"  used {when} by call {allowed['call']} (session {allowed['session']})")
    [granted] = [a for a in admin_get(served, "/status.json").json()["granted_approvals"] if a["id"] == approval]
    assert (granted["used"], granted["used_by"], granted["used_session"]) == (
        used["used"], allowed["call"], allowed["session"])
    for page in (admin_get(served, "/status").text, admin_get(served, "/status/approvals").text):
        row = re.search(rf'<tr id="granted-{approval}">.*?</tr>', page)
        assert row is not None and f"by call <code>{allowed['call']}</code>" in row.group(0), page
        assert f"(session <code>{allowed['session']}</code>)" in row.group(0)
    status = mcprt_cli("status", "--url", served.url, env={"MCPRT_TOKEN": ALICE, "COLUMNS": "400"}, timeout=60)
    assert status.returncode == 0 and "Granted approvals" in status.stdout, status.stdout + status.stderr
    [status_row] = [line for line in status.stdout.splitlines() if approval in line]
    assert f"used {when} by call {allowed['call']}" in status_row, status.stdout


async def test_a_reusable_approval_is_listed_as_running_identical_calls_until_it_expires(served: UpProcess) -> None:
    async with http_client(served.url, token=BOT) as client:
        approval = pending_id(await client.call_tool("create_refund", {"item": "listed-refund"}))  # uses: valid_for
        approve(served, approval)
        assert not (await client.call_tool("create_refund", {"item": "listed-refund"})).is_error
    found = listed(served, approval)
    assert (found["uses"], found["used"]) == ("valid_for", None), found
    assert listed_line(served, approval).endswith(f"  runs identical calls until {mcprt_rfc3339(found['expires'])}")


def until(check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return found


async def until_async(check: Any, timeout: float = 20) -> Any:
    return await anyio.to_thread.run_sync(lambda: until(check, timeout))


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def open_session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """A 2025-06-18 session opened with plain JSON-RPC over HTTP: the headers its requests carry."""
    opened = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    assert opened.status_code == 200, opened.text
    session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    return session


QUEUE_MANIFEST = PAY_MANIFEST.replace("timeout: 1s", "timeout: 60s")  # the queued call waits until it is cut


@pytest.mark.parametrize("how", ["client-cancelled", "session-ended"])
async def test_a_call_cut_while_queued_gives_its_approval_back(tmp_path: Path, how: str) -> None:
    """An approved `pay {who: alice}` waits behind the one busy thread of `pay` (it used the approval: a call
    past the gate), then is cut before it starts — its client sends `notifications/cancelled`, or its session is
    ended (DELETE) — so it did nothing: its approval is given back (before: kept used, so alice was never paid
    and a human had to approve again), and the same call then runs on it, once."""
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(QUEUE_MANIFEST)
    paid, alice = tmp_path / "paid.log", {"who": "alice"}
    with mcprt_http(tmp_path / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
        async with http_client(up.url, token=BOT) as client:
            first = pending_id(await client.call_tool("pay", alice))
            approve(up, first)
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "pay", {"who": "hog", "hold": 60})
                await until_async(lambda: "hog" in lines(tmp_path / "started.log"))  # the one thread is held
                if how == "client-cancelled":
                    cut = anyio.CancelScope()

                    async def queued() -> None:
                        with cut:
                            await client.call_tool("pay", alice)

                    group.start_soon(queued)
                    taker = await until_async(lambda: listed(up, first)["used_by"])  # past the gate: queued
                    cut.cancel()  # the SDK sends notifications/cancelled
                else:
                    async with httpx.AsyncClient(headers={"Accept": "application/json, text/event-stream",
                                                          "Authorization": f"Bearer {BOT}"}, timeout=60) as http:
                        session = await open_session(http, up.url)

                        async def queued_raw() -> None:
                            with contextlib.suppress(httpx.HTTPError):
                                await http.post(up.url, headers=session, json={
                                    "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                    "params": {"name": "pay", "arguments": alice}})

                        group.start_soon(queued_raw)
                        taker = await until_async(lambda: listed(up, first)["used_by"])
                        ended = await http.delete(up.url, headers=session)
                        assert ended.status_code in (200, 202, 204), ended.text
                given = await until_async(lambda: listed(up, first)["used"] is None and listed(up, first))
                assert given["status"] == "approved" and given["used_by"] is None and given["used_session"] is None
                await anyio.to_thread.run_sync(up.wait_log, f"approval use given back: the call never reached its "
                                               f"upstream id={first} tool=pay call={taker}")
                assert "alice" not in lines(tmp_path / "started.log")  # it never started
                (tmp_path / "released").touch()  # the hog's thread returns
            ran = await client.call_tool("pay", alice)  # on the same approval: no new request
            assert not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
            assert lines(paid).count("alice") == 1
            assert listed(up, first)["used_by"] not in (None, taker)


async def test_a_call_cut_after_it_started_keeps_its_approval_used(tmp_path: Path) -> None:
    """Cut once it started (the thread was free: `pay` ran), the call may have acted: its approval stays used,
    and the identical call asks again."""
    (tmp_path / "pay_tools.py").write_text(PAY_TOOLS)
    (tmp_path / "mcp.yaml").write_text(QUEUE_MANIFEST)
    slow = {"who": "alice", "hold": 60}
    with mcprt_http(tmp_path / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
        async with http_client(up.url, token=BOT) as client:
            first = pending_id(await client.call_tool("pay", slow))
            approve(up, first)
            mark = up.log_mark()
            with anyio.move_on_after(30) as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call_tool, "pay", slow)
                    await until_async(lambda: "alice" in lines(tmp_path / "started.log"))  # it runs
                    scope.cancel()  # the SDK sends notifications/cancelled
            await anyio.to_thread.run_sync(up.wait_log, "status=cancelled")
            kept = listed(up, first)
            assert kept["used_by"] is not None and kept["used"] is not None, kept
            assert "given back" not in up.log_since(mark)
            (tmp_path / "released").touch()
            again = await client.call_tool("pay", slow)
            assert f"approval {first} was used by the call at" in text_of(again), text_of(again)


PROXIED_PAY = '''\
"""A proxied MCP server: `pay` records a payment; `crash` ends the process; it will not start while `down` exists."""
import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
if (HERE / "down").exists():
    sys.exit(1)

from mcp.server import MCPServer

server = MCPServer("payments", log_level="CRITICAL")


@server.tool()
def pay(who: str) -> str:
    """Pay someone."""
    with (HERE / "paid.log").open("a") as log:
        log.write(who + "\\n")
    return f"paid {who}"


@server.tool()
def crash() -> str:
    """End this server."""
    os._exit(1)


server.run()
'''

PROXIED_MANIFEST = """\
version: 1
server:
  auth: {{tokens: {{alice: "${{ALICE_TOKEN}}", bot: "${{BOT_TOKEN}}"}}}}
sources:
  payments:
    command: {command}
policy:
  default: allow
  rules:
    - {{match: {{tools: [pay], when: "who == 'alice'"}}, action: approve}}
  approvals: {{wait: 0, valid_for: 10m, approvers: [alice]}}
"""


async def test_a_call_its_proxied_server_never_got_gives_its_approval_back(tmp_path: Path) -> None:
    """Review of govleft, problem 3: an approved call of a proxied MCP server that is down (restarting) was
    refused before anything was sent — "source 'payments' is restarting" —, yet its approval stayed used, so the
    same call, once the server was back, had to be approved again. It is given back (the answer says so), and the
    same call then runs on it, once."""
    (tmp_path / "payments.py").write_text(PROXIED_PAY)
    (tmp_path / "mcp.yaml").write_text(PROXIED_MANIFEST.format(command=script_command_yaml(tmp_path / "payments.py")))
    alice = {"who": "alice"}
    with mcprt_http(tmp_path / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
        async with http_client(up.url, token=BOT) as client:
            first = pending_id(await client.call_tool("pay", alice))
            approve(up, first)
            (tmp_path / "down").touch()  # it stays down until the file goes
            await client.call_tool("crash", {})
            refused = await client.call_tool("pay", alice)
            text = text_of(refused)
            assert refused.is_error and "source 'payments' is restarting" in text, text
            assert f"approval {first} is not used: make the same call again" in text, text
            assert listed(up, first)["used"] is None
            (tmp_path / "down").unlink()
            ran = None
            for _ in range(200):  # the server is back within its restart backoff (1 s, 2 s, …)
                ran = await client.call_tool("pay", alice)
                if "is restarting" not in text_of(ran):
                    break
                await anyio.sleep(0.2)
            assert ran is not None and not ran.is_error and text_of(ran) == "paid alice", text_of(ran)
    assert lines(tmp_path / "paid.log") == ["alice"]


REMOTE_MANIFEST = """\
version: 1
server:
  auth: {{tokens: {{alice: "${{ALICE_TOKEN}}", bot: "${{BOT_TOKEN}}"}}}}
sources:
  remote: {{url: "http://127.0.0.1:{port}/mcp"}}
policy:
  default: allow
  rules:
    - {{match: {{tools: [add]}}, action: approve}}
  approvals: {{wait: 0, valid_for: 10m, approvers: [alice]}}
"""


async def test_a_call_refused_by_a_stopped_http_server_before_it_was_sent_gives_its_approval_back(
        tmp_path: Path) -> None:
    """Review of govleft, problem 3: a proxied MCP server over streamable HTTP is killed; the approved `add` is
    refused without being sent — its POST's connection refused ("The call was not sent, so it did not run"), or
    the source already known down ("is restarting"): which one is a race the test accepts — and either way its
    approval is given back, so the same call runs on it once the server is back."""
    from tests.sources.sources_support import http_server

    with http_server() as (first, port):
        (tmp_path / "mcp.yaml").write_text(REMOTE_MANIFEST.format(port=port))
        with mcprt_http(tmp_path / "mcp.yaml", env=child_env(ALICE_TOKEN=ALICE, BOT_TOKEN=BOT)) as up:
            async with http_client(up.url, token=BOT) as client:
                approval = pending_id(await client.call_tool("add", {"a": 1, "b": 2}))
                approve(up, approval)
                first.kill()
                first.wait()
                await anyio.sleep(0.5)  # its kept-alive connection is seen closed: the call connects anew, refused
                refused = await client.call_tool("add", {"a": 1, "b": 2})
                text = text_of(refused)
                assert refused.is_error and ("The call was not sent, so it did not run" in text
                                             or text.startswith("source 'remote' is restarting")), text
                assert f"approval {approval} is not used: make the same call again" in text, text
                assert listed(up, approval)["used"] is None
                with http_server(port=port):
                    ran = None
                    for _ in range(150):  # the source reconnects within its backoff
                        ran = await client.call_tool("add", {"a": 1, "b": 2})
                        if "not used" not in text_of(ran):
                            break
                        await anyio.sleep(0.2)
                    assert ran is not None and not ran.is_error and text_of(ran) == "3", text_of(ran)
                    assert listed(up, approval)["used_by"] is not None
