"""Credentials in a manifest are `SecretStr`: they never show in repr, str, dumps or the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from mcprt.manifest.loader import load_manifest
from mcprt.manifest.schema import manifest_schema, manifest_schema_text

from tests.support.cli import mcprt_cli

SECRETS = {
    "MCPRT_TEST_SECRET_INBOUND": "inbound-7a1f9c",
    "MCPRT_TEST_SECRET_BEARER": "bearer-55e0d2",
    "MCPRT_TEST_SECRET_PASSWORD": "password-c4b8aa",
    "MCPRT_TEST_SECRET_APIKEY": "apikey-0d93f1",
    "MCPRT_TEST_SECRET_CLIENT": "client-e61b27",
}

MANIFEST = """\
version: 1
server:
  auth: {bearer_tokens: ["${MCPRT_TEST_SECRET_INBOUND}"]}
sources:
  a:
    openapi: a.json
    auth: {bearer: "${MCPRT_TEST_SECRET_BEARER}"}
  b:
    openapi: b.json
    auth: {basic: {username: reader, password: "${MCPRT_TEST_SECRET_PASSWORD}"}}
  c:
    openapi: c.json
    auth: {api_key: {name: key, in: header, value: "${MCPRT_TEST_SECRET_APIKEY}"}}
  d:
    url: http://127.0.0.1:9/mcp
    auth:
      oauth2: {token_url: "http://127.0.0.1:9/token", client_id: id, client_secret: "${MCPRT_TEST_SECRET_CLIENT}"}
"""


@pytest.fixture
def manifest_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "mcp.yaml"
    path.write_text(MANIFEST)
    return path


def test_secrets_are_secret_str_and_hold_their_values(manifest_path: Path) -> None:
    manifest = load_manifest(manifest_path).manifest
    auth = {name: manifest.sources[name].auth for name in "abcd"}  # type: ignore[union-attr]
    values = [
        manifest.server.auth.bearer_tokens[0],  # type: ignore[union-attr]
        auth["a"].bearer,
        auth["b"].basic.password,
        auth["c"].api_key.value,
        auth["d"].oauth2.client_secret,
    ]
    assert all(isinstance(v, SecretStr) for v in values)
    assert [v.get_secret_value() for v in values] == list(SECRETS.values())


def test_secrets_never_appear_in_repr_str_or_dumps(manifest_path: Path) -> None:
    loaded = load_manifest(manifest_path)
    shown = [
        repr(loaded),
        str(loaded),
        repr(loaded.manifest),
        str(loaded.manifest),
        loaded.manifest.model_dump_json(),
        json.dumps(loaded.manifest.model_dump(mode="json")),
        str(loaded.manifest.model_dump()),
    ]
    for text in shown:
        for secret in SECRETS.values():
            assert secret not in text
    assert "**********" in repr(loaded.manifest)


def test_validate_does_not_print_secrets(manifest_path: Path) -> None:
    """An error elsewhere in the file: the diagnostics and summary never contain a credential."""
    manifest_path.write_text(MANIFEST.replace("version: 1", "version: 1\ndefaults: {timeout: nope}"))
    result = mcprt_cli("validate", str(manifest_path), env=SECRETS, timeout=60)
    assert result.returncode == 2
    assert "invalid duration 'nope'" in result.stderr
    for secret in SECRETS.values():
        assert secret not in result.stderr + result.stdout


def _secret_fields(schema: dict) -> list[tuple[str, str]]:
    found = []
    for model, definition in schema["$defs"].items():
        for name, prop in definition.get("properties", {}).items():
            text = json.dumps(prop)
            if '"format": "password"' in text:
                found.append((model, name))
    return found


def test_the_schema_marks_secrets_write_only_and_contains_no_values(manifest_path: Path) -> None:
    schema = manifest_schema()
    assert sorted(_secret_fields(schema)) == [
        ("ApiKeyAuth", "value"),
        ("Approvals", "webhook"),
        ("BasicAuth", "password"),
        ("InboundAuth", "bearer_tokens"),
        ("InboundAuth", "tokens"),
        ("OAuth2ClientCredentials", "client_secret"),
        ("OutboundAuth", "bearer"),
        ("TokenExchange", "client_secret"),
        ("TokenIntrospection", "client_secret"),
    ]
    text = manifest_schema_text()
    assert '"writeOnly": true' in text
    load_manifest(manifest_path)  # loading a manifest with secrets leaves nothing behind in the schema
    text = manifest_schema_text()
    for secret in SECRETS.values():
        assert secret not in text


@pytest.mark.parametrize("short", ["GET", "ab", "k"])
def test_a_secret_too_short_to_scrub_is_a_warning_naming_its_variable(
    manifest_path: Path, monkeypatch: pytest.MonkeyPatch, short: str
) -> None:
    """`API_KEY=GET` is sent as is but could never be told from ordinary text ("GET", "ab" in any result): the
    load says so once, at the secret's line, naming the variable, never the value; longer secrets say nothing."""
    monkeypatch.setenv("MCPRT_TEST_SECRET_APIKEY", short)
    path = manifest_path.parent / "short.yaml"
    path.write_text(MANIFEST + "    headers: {X-Session-Token: \"${MCPRT_TEST_SECRET_APIKEY}\"}\n")
    loaded = load_manifest(path)
    short_warnings = [w for w in loaded.warnings if "shorter than 4 characters" in w.message]
    assert [(w.line, w.severity) for w in short_warnings] == [(13, "warning"), (18, "warning")]
    assert all("(from ${MCPRT_TEST_SECRET_APIKEY})" in w.message and f"'{short}'" not in w.message
               and "cannot be scrubbed" in w.message for w in short_warnings)
    monkeypatch.setenv("MCPRT_TEST_SECRET_APIKEY", SECRETS["MCPRT_TEST_SECRET_APIKEY"])
    assert not [w for w in load_manifest(path).warnings if "shorter than" in w.message]
