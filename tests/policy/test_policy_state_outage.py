"""The policy endpoints while the shared state (a real `redis-server`) is down: a real `mcprt up` with
`MCPRT_STATE_URL`, the `mcprt approvals|pause|resume` CLI, raw HTTP for the JSON and form variants.

Found by a security/compliance trial: with Redis stopped, `mcprt pause`, `resume`, `approvals list` and
`approvals approve` each got a bare `HTTP 500: Internal Server Error` (an unhandled `StateUnavailable`
in `policy/http.py`), so the kill switch said nothing during an outage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest


from tests.support.cli import mcprt_cli
from tests.support.components import redis_server
from tests.support.served import child_env, http_client, mcprt_http, text_of

HERE = Path(__file__).parent
OPS = "tok-ops"
UNAVAILABLE = "shared state (Redis) is unavailable"

MANIFEST = """\
version: 1
server:
  auth: {tokens: {ops: "${OPS_TOKEN}", alice: "${ALICE_TOKEN}"}}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [refund]}, action: approve, approvals: {wait: 0}}
  approvals: {approvers: [ops]}
  admins: [ops]
"""


async def test_every_policy_endpoint_answers_503_with_the_outage_while_redis_is_down(tmp_path: Path) -> None:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    with redis_server(tmp_path) as redis:
        env = child_env(MCPRT_STATE_URL=redis.url, OPS_TOKEN=OPS, ALICE_TOKEN="tok-alice")
        with mcprt_http(tmp_path / "mcp.yaml", env=env) as up:
            async with http_client(up.url, token="tok-alice") as client:  # a request opened before the outage
                result = await client.call_tool("refund", {"order": "o1", "amount": 5})
            assert result.is_error and "needs human approval" in text_of(result)
            listed = mcprt_cli("approvals", "list", "--json", "--url", up.url, env={"MCPRT_TOKEN": OPS})
            assert listed.returncode == 0, listed.stderr
            [request] = json.loads(listed.stdout)

            redis.process.kill()
            redis.process.wait(10)

            for args in (("pause", "refund"), ("resume", "refund"), ("pause", "--all"), ("approvals", "list"),
                         ("approvals", "approve", request["id"]), ("approvals", "deny", request["id"])):
                done = mcprt_cli(*args, "--url", up.url, env={"MCPRT_TOKEN": OPS}, timeout=60)
                assert done.returncode == 2, (args, done.stdout, done.stderr)
                assert "HTTP 503: " + UNAVAILABLE + ": it cannot be reached; try again shortly" in done.stderr, \
                    (args, done.stderr)
                assert "Traceback" not in done.stderr and "Internal Server Error" not in done.stderr
                assert f":{redis.port}" not in done.stderr, done.stderr  # the Redis address is not the caller's

            headers = {"Authorization": f"Bearer {OPS}"}
            for method, path in (("GET", "/policy/pauses"), ("GET", f"/policy/approvals/{request['id']}"),
                                 ("GET", "/status/approvals")):
                answer = httpx.request(method, up.base + path, headers=headers, timeout=30)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"].startswith(UNAVAILABLE), (path, answer.text)
                assert f":{redis.port}" not in answer.text and "127.0.0.1" not in answer.text, answer.text
            # one who may decide no approval is refused before the state is read (as a non-admin's pause is),
            # not told of the outage and where Redis is
            for path in (f"/policy/approvals/{request['id']}/approve", "/policy/pause"):
                refused = httpx.post(up.base + path, headers={"Authorization": "Bearer tok-alice"}, timeout=30,
                                     json={"target": "tool:refund"})
                assert refused.status_code == 403, (path, refused.text)
            assert refused.json() == {"error": "alice may not pause or resume (policy.admins)"}
            denied = httpx.post(up.base + f"/policy/approvals/{request['id']}/deny", json={}, timeout=30,
                                headers={"Authorization": "Bearer tok-alice"})
            assert denied.json() == {"error": "alice may not decide approvals (policy.approvals.approvers)"}
            up.wait_log(f"approval vote refused id={request['id']} by=alice vote=deny")  # the operator sees it
            # a form post (the status page's Pause button) goes back to its page with the outage as its note
            form = httpx.post(up.base + "/policy/pause", headers=headers, timeout=30,
                              data={"target": "tool:refund", "back": "/status"})
            assert form.status_code == 303, form.text
            assert form.headers["location"].startswith("/status?note=shared+state+%28Redis%29+is+unavailable")
            # the refusals say so in the log, never as an unhandled exception
            assert "Exception in ASGI application" not in up.log() and "Traceback" not in up.log()


@pytest.mark.parametrize(("policy", "deciders"), [
    ({"rules": [{"match": {"tools": ["refund"]}, "action": "approve"}], "approvals": {"approvers": ["ops"]}},
     ("ops",)),
    ({"rules": [{"match": {"tools": ["refund"]}, "action": "approve", "approvals": {"approvers": ["lead"]}},
                {"match": {"tools": ["wipe"]}, "action": "approve"}], "approvals": {"approvers": ["ops", "lead"]}},
     ("lead", "ops")),
    ({"rules": [{"match": {"tools": ["refund"]}, "action": "approve", "approvals": {"approvers": ["lead"]}}],
      "default": "approve"}, None),  # the default's approvers are anyone: no one is refused up front
    ({"approvals": {"approvers": ["ops"]}}, ("ops",)),  # nothing asks a human: the shared approvers
    ({}, None),
])
def test_who_may_decide_some_approval_under_a_policy(policy: dict[str, Any], deciders: tuple[str, ...] | None) -> None:
    from mcprt.manifest.policy import Policy  # after the package's own import order (as test_policy_gitops)

    assert Policy.model_validate(policy).deciders() == deciders
