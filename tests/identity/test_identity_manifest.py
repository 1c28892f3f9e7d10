"""`server.auth.oauth` at load time: an issuer on plain HTTP beyond loopback draws a warning."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcprt.manifest.loader import load_manifest


@pytest.mark.parametrize(("issuer", "warned"), [
    ("http://idp.example.com", True),
    ("https://idp.example.com", False),
    ("http://127.0.0.1:8080", False),
])
def test_a_plain_http_issuer_beyond_loopback_is_warned_about(tmp_path: Path, issuer: str, warned: bool) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(f"version: 1\nserver:\n  auth:\n    oauth: {{issuer: \"{issuer}\"}}\n")
    warnings = [str(w) for w in load_manifest(path, env={}).warnings]
    expected = [f"{path}:4:21: warning: issuer uses plain http://: the signing keys could be replaced on the way; "
                "use https://"]
    assert warnings == (expected if warned else [])


def test_oauth_without_an_audience_is_not_served_behind_allowed_hosts_star(tmp_path: Path) -> None:
    """Without `audience`, the `aud` a token must carry is built from the Host header; with
    `allowed_hosts: ["*"]` any Host passes the guard, so a token the issuer gave for another service
    was accepted by sending that service's Host. Refused at start (exit 2), served with an audience."""
    import subprocess

    from tests.support.served import child_env, launch_command, mcprt_http

    (tmp_path / "tools.py").write_text('def ping() -> str:\n    """Pong."""\n    return "pong"\n')
    path = tmp_path / "mcp.yaml"
    base = 'version: 1\nserver:\n  http: {allowed_hosts: ["*"]}\n  auth:\n    oauth: {issuer: "http://127.0.0.1:9"%s}\n'
    sources = "sources:\n  t:\n    python: tools:ping\n"
    path.write_text(base % "" + sources)
    run = subprocess.run(launch_command(path, "--transport", "http", "--port", "0", "--no-reload"), cwd=tmp_path,
                         env=child_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "server.auth.oauth has no `audience` and server.http.allowed_hosts (or MCPRT_ALLOWED_HOSTS) is" in run.stderr
    assert "Traceback" not in run.stderr
    path.write_text(base % ', audience: "https://mcp.example.com/mcp"' + sources)
    with mcprt_http(path, "--no-reload") as up:
        assert up.health()["tools"]
    # a public URL fixes the audience too (its endpoint's URL), whatever Host a client sends
    path.write_text(base.replace("server:\n", "server:\n  public_url: https://mcp.example.com\n") % "" + sources)
    with mcprt_http(path, "--no-reload") as up:
        challenge = httpx.post(up.url, json={}, headers={"host": "other.example"}, timeout=30).headers
        assert 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"' in \
            challenge["www-authenticate"]
