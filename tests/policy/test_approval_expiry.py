"""An approval request nobody decides within `valid_for` expires, and the audit log and /metrics
learn it: one `approval_expired` decision per request — also with replicas sharing Redis, where one
replica publishes it. Real `mcprt up` processes, the SDK client over streamable HTTP, real Redis.

Found in review: a request whose `valid_for` ran out published nothing, so nobody learned a call
asking for approval was never answered (the call's own wait ending is `approval_pending`)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.support.components import redis_server
from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of

HERE = Path(__file__).parent
MANIFEST = """\
version: 1
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
  observability: {audit: audit.jsonl}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [write_note]}, action: approve}
  approvals: {wait: 0s, valid_for: 3s, approvers: [alice]}
"""
ENV = {"ALICE_TOKEN": "tok-alice", "CI_TOKEN": "tok-ci"}
# Each process sweeps (refreshes its policy state and publishes expiries) every 0.25 s instead of 2 s:
# an expiry is found sooner, and the waits below for "several sweeps later" take 1.5 s instead of 5 s.
SWEEP = {"MCPRT_POLICY_REFRESH_INTERVAL": "0.25"}
SEVERAL_SWEEPS = 1.5  # six sweeps nominally; at least two even when the event loop runs late under load


def decisions(folder: Path) -> list[dict[str, Any]]:
    audit = folder / "audit.jsonl"
    lines = audit.read_text().splitlines() if audit.exists() else []
    return [record for record in map(json.loads, lines) if record["type"] == "decision"]


def expired_counted(up: UpProcess) -> float:
    text = httpx.get(f"{up.base}/metrics", headers={"Authorization": "Bearer tok-alice"}, timeout=10).text
    found = re.findall(r'^mcprt_policy_decisions_total\{action="approval_expired",rule="[^"]*"\} (\S+)$', text, re.M)
    return sum(float(value) for value in found)


async def wait_for_expired(folders: list[Path], count: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [d for folder in folders for d in decisions(folder) if d["action"] == "approval_expired"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def project(tmp: Path, name: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    shutil.copy(HERE / "policy_tools.py", folder)
    (folder / "mcp.yaml").write_text(MANIFEST)
    return folder


async def ask(url: str, text: str) -> str:
    """Make a call that needs approval (wait: 0): the request opens; returns its id."""
    async with http_client(url, token=ENV["CI_TOKEN"]) as client:
        result = await client.call_tool("write_note", {"text": text})
    assert result.is_error and "is pending" in text_of(result), text_of(result)
    # valid_for is 3 s: the model is told seconds, not "about 1 min" (it would retry after the request closed)
    assert re.search(r"the request stays open about [0-3]s\.$", text_of(result)), text_of(result)
    assert result.meta is not None
    return str(result.meta["mcprt/approval"]["id"])


async def test_an_undecided_request_expires_once_into_the_audit_log_and_metrics(tmp_path: Path) -> None:
    folder = project(tmp_path, "one")
    with mcprt_http(folder / "mcp.yaml", "--no-reload", env=child_env(**ENV, **SWEEP)) as up:
        approval_id = await ask(up.url, "never decided")
        # A decided request never expires into the log, though its valid_for runs out too: decided now,
        # its valid_for runs out with the first one's, and the sweeps below pass over both.
        decided_id = await ask(up.url, "decided")
        approved = httpx.post(f"{up.base}/policy/approvals/{decided_id}/approve",
                              headers={"Authorization": "Bearer tok-alice"}, timeout=10)
        assert approved.status_code == 200, approved.text
        found = await wait_for_expired([folder], 1)
        assert [d["approval_id"] for d in found] == [approval_id], up.log()
        expired = found[0]
        assert expired["tool"] == "write_note" and expired["rule"] == "rules[0]"
        assert expired["principal"] == "ci-bot"
        assert expired["reason"].startswith("never decided within valid_for (3 s)"), expired
        assert expired_counted(up) == 1
        late = httpx.post(f"{up.base}/policy/approvals/{approval_id}/approve",
                          headers={"Authorization": "Bearer tok-alice"}, timeout=10)
        # told it expired, not "no open approval request" as for an id that never existed
        assert late.status_code == 404 and late.json()["error"].startswith(
            f"approval request {approval_id} expired at "), late.text
        assert "(never decided within approvals.valid_for); nothing was recorded" in late.json()["error"]
        # one who may not decide it learns nothing of it (status, expiry): refused as for an open request
        stranger = httpx.post(f"{up.base}/policy/approvals/{approval_id}/approve",
                              headers={"Authorization": "Bearer tok-ci"}, timeout=10)
        assert stranger.status_code == 403 and "expired" not in stranger.text and "never decided" not in stranger.text, \
            stranger.text
        # Sweeps go on (at least two since the decided one's valid_for ran out): the same request is
        # not published again, and the decided one is not published at all.
        await asyncio.sleep(SEVERAL_SWEEPS)
        assert len(await wait_for_expired([folder], 2, timeout=0)) == 1
        assert expired_counted(up) == 1
    assert [d["approval_id"] for d in decisions(folder) if d["action"] == "approval_expired"] == [approval_id]


async def test_with_replicas_sharing_redis_one_replica_publishes_each_expiry(tmp_path: Path) -> None:
    folders = [project(tmp_path, "a"), project(tmp_path, "b")]
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path))
        env = child_env(MCPRT_STATE_URL=redis.url, **ENV, **SWEEP)
        replicas = [stack.enter_context(mcprt_http(f / "mcp.yaml", "--no-reload", env=env)) for f in folders]
        ids = {await ask(replicas[0].url, "first"), await ask(replicas[1].url, "second")}
        found = await wait_for_expired(folders, 2)
        await asyncio.sleep(SEVERAL_SWEEPS)  # both replicas sweep several times more
        found = await wait_for_expired(folders, 3, timeout=0)
        assert sorted(d["approval_id"] for d in found) == sorted(ids), found
        assert sum(expired_counted(up) for up in replicas) == 2
