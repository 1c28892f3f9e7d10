"""A `description` template reads an argument's default from the source too, not only from the manifest.

Found by trial9 (a team's manifest): the catalog's Petstore entry says "default {{ status }}" for
`findPetsByStatus`, whose `status` parameter has `default: available` in the API description, yet
the tool read "default <status>" — and a Python tool's `team: str = "infra"` rendered `<team>`.
The placeholder is for an argument without any default; the manifest's `default` or `fixed` still
wins over the source's. Checked through the real command line (`mcprt tools --json`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import mcprt_cli

SPEC = {
    "openapi": "3.0.3", "info": {"title": "Pets", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {"/pets": {"get": {
        "operationId": "findPets", "summary": "Find pets",
        "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "default": "available"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10}},
                       {"name": "tag", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}},
}
TOOLS = '''
def on_call(team: str = "infra", days: int = 7) -> str:
    """Who is on call."""
    return team
'''
MANIFEST = """\
version: 1
sources:
  pets:
    openapi: pets.json
    tools:
      findPets:
        description: "Pets by status (default {{ status }}), {{ limit }} at most, tag {{ tag }}."
        args:
          limit: {default: 20}
  team:
    python: team_tools
    tools:
      on_call:
        description: "Who is on call for {{ team }} over {{ days }} days."
        args:
          days: {fixed: 3}
"""


def test_source_defaults_render_and_the_manifest_wins(tmp_path: Path) -> None:
    (tmp_path / "pets.json").write_text(json.dumps(SPEC))
    (tmp_path / "team_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    listed = mcprt_cli("tools", "mcp.yaml", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    descriptions = {tool["name"]: tool["description"] for tool in json.loads(listed.stdout)["tools"]}
    assert descriptions["findPets"] == "Pets by status (default available), 20 at most, tag <tag>."
    assert descriptions["on_call"] == "Who is on call for infra over 3 days."
