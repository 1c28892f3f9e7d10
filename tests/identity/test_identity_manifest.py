"""`server.auth.oauth` at load time: an issuer on plain HTTP beyond loopback draws a warning."""

from __future__ import annotations

from pathlib import Path

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
