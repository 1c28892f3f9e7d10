"""`mcprt diff` compares what the model sees: each tool as its defaults, source and override make it, the
`server:` settings and budgets, and schemas path by path.

Found by a new-user trial of `mcprt diff`:
- `defaults.prune.drop_keys` removing two fields from every result was "no tool changes", and the
  outputSchema still advertised them (the same removal by a tool's own `prune` was breaking);
- a `server.budget` that `validate` fails on was "no tool changes", exit 0 under `--fail-on any`;
- a spec-driven outputSchema change was shown as two clipped, identical-looking dumps, not as breaking.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.gitops.pets_api import SPEC, Workspace, make_workspace

PET = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string"},
    "category": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}
WHOLE_CATEGORY = "        prune: \"{id: id, name: name, status: status, category: category}\""


def _spec(without: str | None = None) -> dict:
    """The pets spec with a documented Pet response for showPetById (`without`: a category field left out)."""
    spec = copy.deepcopy(SPEC)
    pet = copy.deepcopy(PET)
    if without:
        del pet["properties"]["category"]["properties"][without]
    spec["paths"]["/pets/{petId}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = pet
    return spec


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    old = make_workspace(tmp_path / "old", "http://127.0.0.1:9", tmp_path / "cache")
    new = make_workspace(tmp_path / "new", "http://127.0.0.1:9", tmp_path / "cache")
    for ws in (old, new):
        (ws.root / "pets.json").write_text(json.dumps(_spec()))
        ws.edit("        prune: \"{id: id, name: name, status: status, category: category.name}\"", WHOLE_CATEGORY)
    return old, new


def _diff(old: Workspace, new: Workspace, *args: str) -> tuple[int, dict]:
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _changes(data: dict, tool: str) -> list[tuple[str, str, bool]]:
    [found] = [t for t in data["tools"] if t["name"] == tool]
    return [(c["kind"], c["detail"], c["breaking"]) for c in found["changes"]]


def test_a_field_dropped_by_defaults_prune_shows_on_each_tool_like_a_tools_own_prune(
        pair: tuple[Workspace, Workspace]) -> None:
    """`drop_keys: [status, id]`: the `status` and `id` get_pet's prune builds by name stay (the tool's explicit
    selection beats the source-wide default: shaping trial, fault 6), the `id` inside the `category` it passes
    whole goes (review of shapefix, problem 4) — a breaking change of its outputSchema."""
    old, new = pair
    new.edit("  prune: {drop_nulls: true}\n", "  prune: {drop_nulls: true, drop_keys: [status, id]}\n")
    code, data = _diff(old, new, "--fail-on", "breaking")
    assert code == 1 and data["breaking"] is True, data
    assert ("output schema changed", "/properties/category/properties/id: removed", True) in _changes(data, "get_pet")
    # a tool without an outputSchema sends less too: said on it, not only once for the manifest
    assert ("automatic pruning changed", 'drop_keys [] → ["status","id"]', False) in _changes(data, "list_pets")
    # the new outputSchema advertises no dropped key (a client would wait for it in vain)
    listed = json.loads(new.mcprt("tools", "mcp.yaml", "--json", "--offline").stdout)["tools"]
    [get_pet] = [t for t in listed if t["name"] == "get_pet"]
    assert set(get_pet["outputSchema"]["properties"]) == {"id", "name", "status", "category"}, get_pet["outputSchema"]
    assert set(get_pet["outputSchema"]["properties"]["category"]["properties"]) == {"name"}, get_pet["outputSchema"]

    # the same removal through the tool's own prune reads the same
    own = make_workspace(new.root.parent / "own", "http://127.0.0.1:9", new.root.parent / "cache")
    (own.root / "pets.json").write_text(json.dumps(_spec()))
    own.edit("        prune: \"{id: id, name: name, status: status, category: category.name}\"",
             "        prune: \"{id: id, name: name, category: category}\"")
    _, by_prune = _diff(old, own)
    assert ("output schema changed", "/properties/status: removed", True) in _changes(by_prune, "get_pet")


def test_server_settings_and_an_exceeded_budget_are_changes(pair: tuple[Workspace, Workspace]) -> None:
    old, new = pair
    new.edit("version: 1\n", "version: 1\nserver:\n  budget: {max_tools_bytes: 100}\n"
                             "  auth: {tokens: {ci: literal-token-4711}}\n")
    code, data = _diff(old, new, "--fail-on", "any")
    assert code == 1 and data["tools"] == []
    changes = {c["kind"]: c for c in data["manifest_changes"]}
    # a section added names the keys written in it, not every default as null
    assert changes["server budget changed"]["detail"] == "`budget.max_tools_bytes`: (none) → 100", changes
    exceeded = changes["budget exceeded"]
    assert exceeded["breaking"] and exceeded["detail"].startswith("`server.budget.max_tools_bytes`: tools/list bytes ")
    assert changes["server auth changed"]["breaking"] and "`auth.tokens.ci` added" in changes["server auth changed"]["detail"]
    assert "literal-token-4711" not in json.dumps(data)  # a credential is never shown
    markdown = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "markdown").stdout
    assert "- ⚠️ **breaking** **budget exceeded**: `server.budget.max_tools_bytes`: " in markdown, markdown
    # a budget both sides exceed is not news; raising it is a change, not a breaking one
    old.edit("version: 1\n", "version: 1\nserver:\n  budget: {max_tools_bytes: 50}\n")
    new.edit("  auth: {tokens: {ci: literal-token-4711}}\n", "")
    code, data = _diff(old, new, "--fail-on", "breaking")
    assert code == 0 and [(c["kind"], c["detail"], c["breaking"]) for c in data["manifest_changes"]] == [
        ("server budget changed", "`budget.max_tools_bytes`: 50 → 100", False)], data["manifest_changes"]


def test_a_spec_driven_output_schema_change_is_named_by_its_path(pair: tuple[Workspace, Workspace]) -> None:
    old, new = pair
    (new.root / "pets.json").write_text(json.dumps(_spec(without="name")))
    code, data = _diff(old, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(data, "get_pet") == [
        ("output schema changed", "/properties/category/properties/name: removed", True)], _changes(data, "get_pet")
    text = new.mcprt("diff", str(old.manifest), "mcp.yaml").stdout
    assert "BREAKING output schema changed: /properties/category/properties/name: removed" in text, text
    assert "…" not in text, text


@pytest.mark.parametrize(("before", "after", "pointer", "as_input", "as_output"), [
    # a field removed: refused as input, missing as output
    ({"properties": {"a": {}, "b": {}}}, {"properties": {"a": {}}}, "/properties/b", True, True),
    # a required field added: breaks a call; an optional one breaks nothing
    ({"properties": {}}, {"properties": {"a": {}}, "required": ["a"]}, "/properties/a", True, False),
    ({"properties": {}}, {"properties": {"a": {}}}, "/properties/a", False, False),
    # no longer required: an input accepts more, an output promises less
    ({"properties": {"a": {}}, "required": ["a"]}, {"properties": {"a": {}}}, "/properties/a", False, True),
    # narrowed type or enum breaks inputs; widened breaks outputs; a swap breaks both
    ({"type": ["string", "null"]}, {"type": "string"}, "", True, False),
    ({"type": "string"}, {}, "", False, True),
    ({"type": "integer"}, {"type": "string"}, "", True, True),
    ({"enum": ["a", "b"]}, {"enum": ["a"]}, "", True, False),
    ({"enum": ["a"]}, {"enum": ["a", "b"]}, "", False, True),
    # a constraint on items added narrows, taken away widens
    ({"type": "array", "items": {"type": "string"}}, {"type": "array"}, "/items", False, True),
    # deep inside items, with a `/` in a name (RFC 6901 escaping)
    ({"items": {"properties": {"a/b": {"type": "string"}}}}, {"items": {"properties": {"a/b": {"type": "integer"}}}},
     "/items/properties/a~1b", True, True),
])
def test_one_rule_classifies_schema_changes_by_direction(before: dict, after: dict, pointer: str, as_input: bool,
                                                        as_output: bool) -> None:
    from mcprt.gitops.schemas import schema_changes

    for direction, expected in (("input", as_input), ("output", as_output)):
        [change] = schema_changes(before, after, direction)  # type: ignore[arg-type]
        assert (change.pointer, change.breaking) == (pointer, expected), (direction, change)
