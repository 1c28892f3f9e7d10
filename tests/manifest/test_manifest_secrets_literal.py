"""Secrets belong in the environment: one written into the manifest itself draws a warning at its line."""

from __future__ import annotations

from pathlib import Path

from mcprt.manifest.loader import load_manifest

MANIFEST = """\
version: 1
server:
  auth: {bearer_tokens: ["${INBOUND_TOKEN}", "literal-token"]}
sources:
  remote:
    url: http://127.0.0.1:9/mcp
    auth: {bearer: "abc123"}
  api:
    openapi: spec.json
    auth:
      oauth2: {token_url: "http://127.0.0.1:9/token", client_id: me, client_secret: "${CLIENT_SECRET}"}
"""


def test_literal_secrets_are_warned_about_and_variables_are_not(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(MANIFEST)
    loaded = load_manifest(path, env={"INBOUND_TOKEN": "t", "CLIENT_SECRET": "s"})
    places = sorted((w.line, w.col) for w in loaded.warnings if "written literally" in w.message)
    assert places == [(3, 46), (7, 20)]
    assert all("abc123" not in w.message and "literal-token" not in w.message for w in loaded.warnings)
