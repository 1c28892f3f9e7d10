"""The README's "Connecting clients" stdio snippets start a working server as written: each JSON block
is launched the way a desktop client does (its `command`, `args` and `env`, with the client's own
short PATH, not the venv's), then listed and called with the SDK client. Placeholders map to this
checkout: `/abs/path/` → the venv's root for the program and a temporary folder for the manifest,
`${workspaceFolder}` → that folder, and `${NAME}` / `${NAME:-default}` (Claude Code's `.mcp.json` expansion)
→ the client's environment (`CLIENT_ENVIRONMENT`), a name it lacks without a default failing the test as it fails
Claude Code's config. A new-user trial found `"command": "mcprt"` failing there (the venv is not on a desktop app's
PATH)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.support.served import text_of

REPO = Path(__file__).resolve().parents[2]
VENV_ROOT = Path(sys.executable).parent.parent  # …/.venv (bin/python → .venv)
CLIENT_PATH = "/usr/bin:/bin"  # what a desktop app's environment typically has
CLIENT_ENVIRONMENT = {"GITHUB_TOKEN": "ghp-from-the-clients-environment"}  # what `${GITHUB_TOKEN}` expands to


def stdio_snippets() -> list[tuple[str, dict[str, Any]]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Connecting clients", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```json\n(.*?)```", section, re.S):
        config = json.loads(block)
        for name, entry in (config.get("mcpServers") or config.get("servers") or {}).items():
            if entry.get("command", "").endswith("mcprt"):
                found.append((name, entry))
    return found


def test_the_readme_has_stdio_snippets_for_each_client() -> None:
    assert len(stdio_snippets()) == 4  # Claude Desktop, Cursor, VS Code, Claude Code's .mcp.json


@pytest.mark.parametrize("snippet", stdio_snippets(), ids=lambda s: s[0] + ":" + " ".join(s[1]["args"]))
async def test_a_readme_stdio_snippet_starts_a_working_server(snippet: tuple[str, dict[str, Any]],
                                                              tmp_path: Path) -> None:
    name, entry = snippet
    (tmp_path / "hello.py").write_text('def greet(who: str) -> str:\n    """Greet."""\n    return f"hello {who}"\n',
                                       encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nserver: {{name: {name}}}\nsources:\n  h: {{python: hello}}\n",
                                       encoding="utf-8")

    def placed(text: str) -> str:
        text = text.replace("/abs/path/.venv/", f"{VENV_ROOT}/").replace("/abs/path/", f"{tmp_path}/")
        text = text.replace("${workspaceFolder}", str(tmp_path))
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}",
                      lambda m: CLIENT_ENVIRONMENT[m[1]] if m[2] is None else CLIENT_ENVIRONMENT.get(m[1], m[2]), text)

    env = {"PATH": CLIENT_PATH, **{k: placed(v) for k, v in entry.get("env", {}).items()}}
    params = StdioServerParameters(command=placed(entry["command"]), args=[placed(a) for a in entry["args"]],
                                   env=env, cwd="/")
    async with Client(params, mode="legacy") as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["greet"]
        assert text_of(await client.call_tool("greet", {"who": "desktop"})) == "hello desktop"
