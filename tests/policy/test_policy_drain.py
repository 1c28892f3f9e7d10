"""A call waiting for a human's approval when the server is told to stop (SIGTERM, a rolling
deploy): a real `mcprt up` and the SDK client over streamable HTTP.

Found by a new-user trial: such a call (approvals wait 60 s by default, the drain 20 s) was cut when
the drain ran out, and the client got HTTP 500 instead of a result. It now stops waiting as soon as
the drain starts, and the model is told the request is pending and to make the same call again
(which the balancer sends to another replica; with `server.state` the request is shared)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from pathlib import Path

from tests.support.served import child_env, http_client, mcprt_http, text_of

HERE = Path(__file__).parent
MANIFEST = """\
version: 1
server:
  http: {drain_timeout: 10s}
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
  observability: {audit: audit.jsonl}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [write_note]}, action: approve}
  approvals: {wait: 60s, approvers: [alice]}
"""


async def test_a_call_waiting_for_approval_is_told_to_call_again_when_the_server_stops(tmp_path: Path) -> None:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload",
                    env=child_env(ALICE_TOKEN="tok-alice", CI_TOKEN="tok-ci")) as up:
        async with http_client(up.url, token="tok-ci") as client:
            call = asyncio.ensure_future(client.call_tool("write_note", {"text": "deploy day"}))
            deadline = time.monotonic() + 30
            while "approval_requested" not in ((tmp_path / "audit.jsonl").read_text()
                                               if (tmp_path / "audit.jsonl").exists() else ""):
                assert time.monotonic() < deadline and not call.done(), up.log()
                await asyncio.sleep(0.05)
            stopped = time.monotonic()
            up.signal(signal.SIGTERM)
            result = await asyncio.wait_for(call, 30)
            answered = time.monotonic() - stopped
        assert result.is_error, text_of(result)
        assert "is pending" in text_of(result) and "restarting" in text_of(result)
        assert "same call again" in text_of(result)
        assert answered < 8, f"answered {answered:.1f} s after SIGTERM: it waited for the drain to run out"
        assert await asyncio.to_thread(up.process.wait, 30) == 0
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    calls = [r for r in records if r["type"] == "call"]
    assert [(r["tool"], r["outcome"]) for r in calls] == [("write_note", "denied")]
    # What an audit reader sees: the request was not decided and did not expire; the call stopped waiting.
    decisions = [(r["action"], r.get("reason") or "") for r in records if r["type"] == "decision"]
    assert [action for action, _ in decisions] == ["approval_requested", "approval_pending"], decisions
    assert decisions[1][1].startswith("the server is stopping; the request stays open until "), decisions
