"""Who sees what on the status page: a real `mcprt up` over HTTP, the SDK client calling as two users,
every variant of the page (HTML with a bearer token, HTML after a browser sign-in, `?call=ID`, JSON).

Found by a security/compliance trial: carol, an ordinary user refused by `/status/approvals` (403,
`policy.admins`), read on `/status` alice's pending approvals with their arguments, the latest calls
naming every caller, and with `/status?call=29` alice's arguments and full upstream answer.

Then the other half (govleft): alice, told her call "needs human approval", could not see that request on
the page at all — the approvals section was for admins only. She now sees the pending requests of her own
calls (its progress as a count, never who voted or what they wrote), carol sees none of them."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of

pytestmark = pytest.mark.xdist_group("status-access")

POLICY = Path(__file__).parent.parent / "policy"
TOKENS = {"ops": "tok-ops", "ops2": "tok-ops2", "alice": "tok-alice", "carol": "tok-carol"}
VOTE_REASON = "checked ticket 42"  # ops's words on alice's request: the approvers' business, not hers
SECRET = "acct-secret-777"  # alice's argument: in her call's record and her upstream answer

MANIFEST = """\
version: 1
server:
  auth: {tokens: {ops: "${OPS_TOKEN}", ops2: "${OPS2_TOKEN}", alice: "${ALICE_TOKEN}", carol: "${CAROL_TOKEN}"}}
  observability: {audit: audit.jsonl}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [transfer]}, action: approve, approvals: {wait: 0, required: 2}}
  approvals: {approvers: [ops, ops2]}
  admins: [ops]
"""


async def make_calls(up: UpProcess) -> None:
    async with http_client(up.url, token=TOKENS["alice"]) as alice:
        assert SECRET in text_of(await alice.call_tool("write_note", {"text": SECRET}))
        pending = await alice.call_tool("transfer", {"to": SECRET, "amount": 16})
        assert pending.is_error and "needs human approval" in text_of(pending)
    async with http_client(up.url, token=TOKENS["carol"]) as carol:
        assert text_of(await carol.call_tool("ping", {})) == "pong"
    [request] = get(up, "/policy/approvals", "ops").json()
    async with httpx.AsyncClient(base_url=up.base, timeout=10) as http:  # one of the two approvals alice needs
        vote = await http.post(f"/policy/approvals/{request['id']}/approve", json={"reason": VOTE_REASON},
                               headers={"Authorization": f"Bearer {TOKENS['ops']}"})
        assert vote.status_code == 200 and vote.json()["status"] == "pending", vote.text


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("status-access")


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[UpProcess]:
    shutil.copy(POLICY / "policy_tools.py", folder)
    (folder / "mcp.yaml").write_text(MANIFEST)
    env = child_env(OPS_TOKEN=TOKENS["ops"], OPS2_TOKEN=TOKENS["ops2"], ALICE_TOKEN=TOKENS["alice"],
                    CAROL_TOKEN=TOKENS["carol"])
    with mcprt_http(folder / "mcp.yaml", "--no-reload", env=env) as up:
        anyio.run(make_calls, up)
        yield up


@pytest.fixture(scope="module")
def audit(served: UpProcess, folder: Path) -> list[dict]:
    """The audit log's records of the calls `served` made, once its three call records are there (a thread
    writes the log: a record may trail the call's answer)."""
    deadline = time.monotonic() + 10
    while True:
        path = folder / "audit.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        if sum(record["type"] == "call" for record in records) >= 3 or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def get(up: UpProcess, path: str, who: str) -> httpx.Response:
    return httpx.get(up.base + path, headers={"Authorization": f"Bearer {TOKENS[who]}"}, timeout=10)


def calls_of(up: UpProcess, who: str) -> list[dict]:
    answer = get(up, "/status.json", who)
    assert answer.status_code == 200, answer.text
    return answer.json()["recent"]


def alice_note_id(up: UpProcess) -> int:
    return next(c["id"] for c in calls_of(up, "ops") if c["tool"] == "write_note")


def test_an_admin_sees_every_call_its_caller_arguments_and_the_approvals(served: UpProcess) -> None:
    page = get(served, "/status", "ops").text
    assert 'id="approvals"' in page and "Pending approvals" in page and SECRET in page
    assert ">alice<" in page and ">carol<" in page and 'id="recent-scope"' not in page
    assert sorted(c["tool"] for c in calls_of(served, "ops")) == ["ping", "transfer", "write_note"]
    assert get(served, "/status.json", "ops").json()["recent_scope"] == "all"
    inspected = get(served, f"/status?call={alice_note_id(served)}", "ops").text
    assert 'id="inspected"' in inspected and SECRET in inspected


def test_status_json_names_each_calls_caller_and_audit_call_id_to_an_admin(served: UpProcess,
                                                                           audit: list[dict]) -> None:
    # Trial (docs #4): an admin's /status.json `recent` had no caller and no call id, though the README says
    # administrators see every call with its caller there, and the HTML page showed it.
    recent = calls_of(served, "ops")
    assert {c["tool"]: c["principal"] for c in recent} == {"write_note": "alice", "transfer": "alice", "ping": "carol"}
    calls = {record["call"]: record for record in audit if record["type"] == "call"}
    for entry in recent:  # each entry joins its audit record by `call`
        assert calls[entry["call"]]["tool"] == entry["tool"] and calls[entry["call"]]["principal"] == entry["principal"]
    # a non-admin's list holds their own calls only, so it names no other caller
    assert [(c["principal"], c["tool"]) for c in calls_of(served, "carol")] == [("carol", "ping")]
    assert all(c["principal"] == "alice" for c in calls_of(served, "alice"))


def test_a_non_admin_sees_only_their_own_calls_and_no_one_elses_approvals(served: UpProcess) -> None:
    page = get(served, "/status", "carol").text
    assert SECRET not in page and "alice" not in page
    assert 'id="approvals"' not in page and "Pending approvals" not in page and "/policy/pause" not in page
    assert 'id="recent-scope"' in page and ">carol<" in page and ">ping<" in page
    assert "write_note" not in page.split('id="recent"')[1]  # the tools table lists it, with counts only
    summary = get(served, "/status.json", "carol").json()
    assert [c["tool"] for c in summary["recent"]] == ["ping"] and summary["recent_scope"] == "own"
    assert summary["approvals"] == []  # alice's request is not hers to see; the section is left out above
    # the aggregate health stays: every tool's figures, alice's calls counted in them
    assert {t["name"]: t["calls"] for t in summary["tools"]}["write_note"] == 1


def test_the_inspector_on_another_callers_call_reads_as_not_kept(served: UpProcess) -> None:
    note = alice_note_id(served)
    inspected = get(served, f"/status?call={note}", "carol")
    assert inspected.status_code == 200
    assert SECRET not in inspected.text and 'id="inspected"' not in inspected.text
    assert "that call is no longer kept" in inspected.text
    unknown = get(served, "/status?call=999999", "carol").text  # the same answer as for a call never made
    assert unknown.split('id="inspector"')[1] == inspected.text.split('id="inspector"')[1]
    own = next(c["id"] for c in calls_of(served, "carol") if c["tool"] == "ping")
    assert 'id="inspected"' in get(served, f"/status?call={own}", "carol").text


def test_a_browser_signed_in_as_a_non_admin_gets_the_same_view(served: UpProcess) -> None:
    with httpx.Client(base_url=served.base, timeout=10, follow_redirects=True) as browser:
        signed_in = browser.post("/status/login", data={"token": TOKENS["carol"],
                                                         "back": f"/status?call={alice_note_id(served)}"})
        assert signed_in.status_code == 200 and browser.cookies, signed_in.text
        assert SECRET not in signed_in.text and "Pending approvals" not in signed_in.text
        assert "that call is no longer kept" in signed_in.text
        assert browser.get("/policy/pauses").status_code == 403
        assert browser.get("/status/approvals").status_code == 403


def test_the_policy_endpoints_refuse_a_non_admin(served: UpProcess) -> None:
    for path in ("/policy/approvals", "/policy/pauses", "/status/approvals"):
        answer = get(served, path, "carol")
        assert answer.status_code == 403 and "policy.admins" in answer.text, (path, answer.text)
    assert get(served, "/policy/pauses", "ops").status_code == 200


def alice_request(up: UpProcess) -> dict:
    [request] = get(up, "/policy/approvals", "ops").json()
    return request


def test_a_caller_sees_their_own_pending_approval_and_how_far_it_is(served: UpProcess) -> None:
    request = alice_request(served)
    page = get(served, "/status", "alice").text
    approvals = page.split('<section id="approvals">', 1)[1]
    assert "Your calls waiting for approval" in approvals and f'id="approval-{request["id"]}"' in approvals
    assert SECRET in approvals and "transfer" in approvals and "<td>1/2</td>" in approvals  # ops's one of two
    # no forms (nobody decides their own call), no pauses, not who may decide, not who voted nor what they wrote
    assert "/policy/approvals/" not in page and "/policy/pause" not in page and 'id="pauses"' not in page
    assert "ops" not in approvals and VOTE_REASON not in page  # (the source is named ops: the section only)
    [own] = get(served, "/status.json", "alice").json()["approvals"]
    assert own == {"id": request["id"], "tool": "transfer", "source": "ops", "client_id": None,  # a static token: no client
                   "arguments": {"to": SECRET, "amount": 16},
                   "created": request["created"], "expires": request["expires"], "status": "pending",
                   "approved": 1, "required": 2}


def test_the_inspector_on_a_callers_pending_call_shows_its_request(served: UpProcess) -> None:
    request = alice_request(served)
    transfer = next(c["id"] for c in calls_of(served, "alice") if c["tool"] == "transfer")
    inspected = get(served, f"/status?call={transfer}", "alice").text.split('id="inspector"')[1]
    assert f'<code>{request["id"]}</code></a>: pending, 1 of 2 approval(s), open until' in inspected
    assert VOTE_REASON not in inspected and "(ops)" not in inspected and "ops2" not in inspected
    # the admin's inspector on the same call says the same; carol's reads it as a call not kept
    assert "pending, 1 of 2 approval(s)" in get(served, f"/status?call={transfer}", "ops").text
    assert request["id"] not in get(served, f"/status?call={transfer}", "carol").text


def test_an_admin_still_reads_every_request_with_its_votes_and_forms(served: UpProcess) -> None:
    request = alice_request(served)
    page = get(served, "/status", "ops").text
    assert f'action="/policy/approvals/{request["id"]}/approve"' in page and "1/2 (ops)" in page
    [item] = get(served, "/status.json", "ops").json()["approvals"]
    assert item["principal"] == "alice" and item["approvers"] == ["ops", "ops2"]
    assert [(v["approver"], v["reason"]) for v in item["votes"]] == [("ops", VOTE_REASON)]


def test_mcprt_status_prints_the_readers_pending_approvals(served: UpProcess) -> None:
    from tests.support.cli import mcprt_cli

    request = alice_request(served)
    mine = mcprt_cli("status", served.base, env={"MCPRT_TOKEN": TOKENS["alice"], "COLUMNS": "200"})
    assert mine.returncode == 0, mine.stderr
    assert "Your calls waiting for approval" in mine.stdout and request["id"] in mine.stdout and "1/2" in mine.stdout
    theirs = mcprt_cli("status", served.base, env={"MCPRT_TOKEN": TOKENS["carol"], "COLUMNS": "200"})
    assert theirs.returncode == 0 and request["id"] not in theirs.stdout and "approval" not in theirs.stdout.lower()
    everyone = mcprt_cli("status", served.base, env={"MCPRT_TOKEN": TOKENS["ops"], "COLUMNS": "200"})
    assert "Pending approvals" in everyone.stdout and request["id"] in everyone.stdout and "alice" in everyone.stdout
