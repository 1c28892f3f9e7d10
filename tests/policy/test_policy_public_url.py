"""Absolute links mcprt builds to itself use the server's public URL (`server.public_url`).

An operator trial: behind a balancer (or bound to 0.0.0.0) the approve/deny links in the Slack
webhook pointed at http://127.0.0.1:PORT, which nobody in Slack could open.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import httpx

from tests.policy.test_policy_served import HERE, Webhook
from tests.support.cli import mcprt_cli
from tests.support.served import child_env, http_client, mcprt_http
from tests.support.upstream import serve_app

MANIFEST = """\
version: 1
server:
{server}  auth:
    tokens: {{alice: "${{ALICE_TOKEN}}", ci-bot: "${{CI_TOKEN}}"}}
sources:
  ops:
    python: policy_tools
policy:
  default: allow
  rules:
    - {{match: {{tools: [write_note]}}, action: approve}}
  approvals: {{wait: 1s, approvers: [alice], webhook: "${{APPROVAL_WEBHOOK}}"}}
"""
TOKENS = {"ALICE_TOKEN": "tok-alice", "CI_TOKEN": "tok-ci"}


def _folder(tmp_path: Path, server: str) -> Path:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(server=server))
    return manifest


async def test_webhook_links_use_the_configured_public_url(tmp_path: Path) -> None:
    manifest = _folder(tmp_path, '  public_url: "${PUBLIC_URL}"\n')
    hook = Webhook()
    with serve_app(hook.app()) as base:
        env = child_env(**TOKENS, APPROVAL_WEBHOOK=f"{base}/hook", PUBLIC_URL="https://mcp.example.com/")
        with mcprt_http(manifest, env=env) as up:
            async with http_client(up.url, token=TOKENS["CI_TOKEN"]) as client:
                waited = await client.call_tool("write_note", {"text": "hello"})
                assert waited.is_error  # pending after the 1 s wait
            body = await anyio.to_thread.run_sync(lambda: hook.for_tool("write_note", {"text": "hello"}))
            payload = body["metadata"]["event_payload"]
            request = payload["id"]
            assert payload["approve_url"] == f"https://mcp.example.com/policy/approvals/{request}/approve"
            assert payload["deny_url"] == f"https://mcp.example.com/policy/approvals/{request}/deny"
            assert "--url https://mcp.example.com`" in body["text"]
            assert "https://mcp.example.com/status/approvals" in body["text"]
            assert "127.0.0.1" not in str(body)
            status = httpx.get(f"{up.base}/status.json", headers={"Authorization": f"Bearer {TOKENS['ALICE_TOKEN']}"},
                               timeout=10).json()
            assert status["server"]["endpoint"] == "https://mcp.example.com/mcp"
            assert "approval webhook links use the bind address" not in up.log()


def _validate(manifest: Path) -> str:
    done = mcprt_cli("validate", str(manifest), cwd=manifest.parent,
                     env={**TOKENS, "APPROVAL_WEBHOOK": "https://hooks.example.com/x"})
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_validate_warns_about_bind_address_links_only_where_nobody_could_open_them(tmp_path: Path) -> None:
    exposed = _folder(tmp_path, "  http: {host: 0.0.0.0}\n")
    warned = _validate(exposed)
    assert f"{exposed}:13:" in warned and "set server.public_url" in warned, warned  # at approvals.webhook

    exposed.write_text(MANIFEST.format(server="  http: {host: 0.0.0.0}\n  public_url: https://mcp.example.com\n"))
    assert "public_url" not in _validate(exposed)

    # The OAuth resource identifier is this endpoint's public URL: reused, no second setting needed.
    exposed.write_text(MANIFEST.format(server="  http: {host: 0.0.0.0}\n").replace(
        "    tokens:", "    oauth: {issuer: https://sso.example.com, audience: https://mcp.example.com/mcp}\n    tokens:"))
    assert "public_url" not in _validate(exposed)

    exposed.write_text(MANIFEST.format(server=""))  # loopback: only this machine, links work here
    assert "public_url" not in _validate(exposed)
