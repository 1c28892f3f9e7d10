"""`mcprt diff` of `server:` settings never shows a credential and never misses a credential's change.

Found by the review of the `server:` diff:
- `public_url: https://admin:${PUB_PASS}@…` printed the substituted password in every format;
- a token changed under `server.auth` (`bearer_tokens`, `tokens`, `introspection.client_secret`) was not
  reported at all: the settings were compared after pydantic's JSON dump had masked each secret as
  `**********`, so both sides looked equal — yet "any `server.auth` change is breaking". They are compared as
  written (the `${VAR}` each names), the same way on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitops.pets_api import Workspace, make_workspace

SECRETS = {"PUB_PASS": "pubSECRET1", "PUB_PASS2": "pubSECRET2", "TOK_A": "tokSECRETa", "TOK_B": "tokSECRETb",
           "ALICE_TOK": "aliceSECRET1", "ALICE_TOK2": "aliceSECRET2", "INTRO_A": "introSECRETa",
           "INTRO_B": "introSECRETb"}
OAUTH = ("  auth:\n    oauth:\n      issuer: https://idp.example.com\n      introspection:\n"
         "        url: https://idp.example.com/introspect\n        client_id: mcprt\n        client_secret: \"{}\"\n")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    new.env.update(SECRETS)
    return old, new


def _server(ws: Workspace, settings: str) -> None:
    ws.edit("version: 1\n", "version: 1\nserver:\n" + settings)


def _all_formats(old: Workspace, new: Workspace) -> tuple[dict, str]:
    """The JSON diff, and every format's output joined (to look for a secret in any of them)."""
    outputs = []
    for fmt in ("json", "text", "markdown"):
        result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", fmt)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    return json.loads(outputs[0]), "\n".join(outputs)


def _changes(data: dict) -> list[tuple[str, str, bool]]:
    return [(c["kind"], c["detail"], c["breaking"]) for c in data["manifest_changes"]]


@pytest.mark.parametrize(("before", "after", "shown"), [
    # a password from a variable: the written `${VAR}` is shown, never its value
    ("  public_url: https://admin:${PUB_PASS}@mcp.example.com\n",
     "  public_url: https://admin:${PUB_PASS2}@mcp.example.com\n",
     '`public_url`: "https://***@mcp.example.com", a URL\'s credentials changed (not shown)'),
    # a password written literally into a URL: masked all the same
    ("  public_url: https://admin:pubSECRET1@mcp.example.com\n",
     "  public_url: https://admin:pubSECRET2@mcp.example.com\n",
     '`public_url`: "https://***@mcp.example.com", a URL\'s credentials changed (not shown)'),
    # a URL without a password keeps its value
    ("  public_url: https://${PUB_PASS}.example.com\n", "  public_url: https://mcp.example.com\n",
     '`public_url`: "https://${PUB_PASS}.example.com" → "https://mcp.example.com"'),
])
def test_a_server_setting_is_shown_as_written_never_substituted(pair: tuple[Workspace, Workspace], before: str,
                                                                 after: str, shown: str) -> None:
    old, new = pair
    _server(old, before)
    _server(new, after)
    data, everything = _all_formats(old, new)
    assert _changes(data) == [("server public_url changed", shown, False)], data["manifest_changes"]
    for secret in SECRETS.values():
        assert secret not in everything, (secret, everything)


@pytest.mark.parametrize(("before", "after", "named"), [
    ("  auth: {bearer_tokens: [\"${TOK_A}\"]}\n", "  auth: {bearer_tokens: [\"${TOK_B}\"]}\n",
     "`auth.bearer_tokens` changed"),
    ("  auth: {tokens: {alice: \"${ALICE_TOK}\"}}\n", "  auth: {tokens: {alice: \"${ALICE_TOK2}\"}}\n",
     "`auth.tokens.alice` changed"),
    (OAUTH.format("${INTRO_A}"), OAUTH.format("${INTRO_B}"), "`auth.oauth.introspection.client_secret` changed"),
    # a token added under a new name: its name, never its value
    ("  auth: {tokens: {alice: \"${ALICE_TOK}\"}}\n",
     "  auth: {tokens: {alice: \"${ALICE_TOK}\", bob: \"${ALICE_TOK2}\"}}\n", "`auth.tokens.bob` added"),
])
def test_a_changed_credential_under_server_auth_is_a_breaking_change_named_by_key(
        pair: tuple[Workspace, Workspace], before: str, after: str, named: str) -> None:
    old, new = pair
    _server(old, before)
    _server(new, after)
    data, everything = _all_formats(old, new)
    assert _changes(data) == [("server auth changed", f"{named} (callers let in or refused change)", True)], \
        data["manifest_changes"]
    assert data["breaking"] is True
    for secret in SECRETS.values():
        assert secret not in everything, (secret, everything)


def test_the_same_variable_with_another_value_on_each_side_is_no_change(pair: tuple[Workspace, Workspace]) -> None:
    """What the manifest says is compared, not what each side's `.env` resolves it to: a revision's side has
    no `.env` (it is not committed) while the working tree's has, so comparing values made every local diff
    a breaking auth change (found by a gitops trial). A change of the variable's name is a change."""
    old, new = pair
    for ws, token in ((old, "envSECRET-old"), (new, "envSECRET-new")):
        _server(ws, "  auth: {bearer_tokens: [\"${SIDE_TOKEN}\"]}\n")
        (ws.root / ".env").write_text(f"SIDE_TOKEN={token}\n", encoding="utf-8")
    data, everything = _all_formats(old, new)
    assert data["manifest_changes"] == [] and data["changed"] is False, data["manifest_changes"]
    assert "envSECRET" not in everything, everything
