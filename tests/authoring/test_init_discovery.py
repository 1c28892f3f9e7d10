"""`mcprt init` serves a description whose tool list no model's context holds in discovery mode.

The lead's decision (docs/corpus.md, "What `init` tells the user"): Microsoft Graph's tools/list is 105 MB,
Graph beta's 336 MB, docusign.net's ~17 MB; above `DISCOVERY_ABOVE` (10 MB) `init` writes
`server: {expose: discovery}` and says why, while GitHub's full description (1.1 MB) stays listed. Tested
through the real CLI (`init`, `validate`, `tools --json`) on synthetic descriptions in Graph's shape — every
operation's body reaches one recursive entity graph, so each tool carries all of it (~80 KB here) — one just
over the limit and one just under it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mcprt.cli.init_cmd import DISCOVERY_ABOVE

from tests.support.cli import mcprt_cli as mcprt

META_TOOLS = {"search_tools", "describe_tools", "call_tool"}


def entity_graph(operations: int, entities: int = 12, fields: int = 60) -> dict[str, Any]:
    """`entities` definitions in one cycle (each names the next), `fields` described strings each; operation k
    creates entity k % entities, so every tool's input schema carries the whole cycle in its `$defs`."""
    schemas: dict[str, Any] = {}
    for i in range(entities):
        props: dict[str, Any] = {
            f"field{j}": {"type": "string", "description": f"Field {j} of entity {i}: a long enough description."}
            for j in range(fields)
        }
        props["next"] = {"$ref": f"#/components/schemas/Entity{(i + 1) % entities}"}
        schemas[f"Entity{i}"] = {"type": "object", "properties": props}
    paths = {
        f"/things{k}": {"post": {
            "operationId": f"createThing{k}",
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/Entity{k % entities}"}}}},
            "responses": {"204": {"description": "done"}},
        }}
        for k in range(operations)
    }
    return {"openapi": "3.0.3", "info": {"title": "Entity Graph", "version": "1"},
            "servers": [{"url": "https://api.example.com"}], "paths": paths, "components": {"schemas": schemas}}


def _init(tmp_path: Path, operations: int) -> tuple[Path, str, int]:
    """`init` on an entity graph of `operations` operations: the manifest, init's stderr, and the bytes of the
    tools/list listing every tool, as the summary reports them."""
    spec = tmp_path / "graph.json"
    spec.write_text(json.dumps(entity_graph(operations)))
    out = tmp_path / "api" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input")
    assert made.returncode == 0 and "Traceback" not in made.stderr, made.stderr
    summary = re.search(rf"{operations} included \({operations} tools, ([\d,]+) bytes of tools/list\)", made.stderr)
    assert summary is not None, made.stderr
    return out, made.stderr, int(summary.group(1).replace(",", ""))


def test_a_tool_list_over_the_limit_is_served_in_discovery_mode(tmp_path: Path) -> None:
    out, said, size = _init(tmp_path, 140)
    assert size > DISCOVERY_ABOVE
    text = out.read_text()
    shown = f"{size:,}"
    # uncommented, in the server block, with the reason (the size) and how to go back
    assert (f"server:\n  name: entity_graph\n  # every tool listed would be a tools/list of {shown} bytes (over "
            f"{DISCOVERY_ABOVE:,}): more than a model's\n  # context holds, so clients search, describe and call "
            "them; remove the next line to list every tool\n  expose: discovery\n") in text, text[:1500]
    header = re.search(r"^# tools/list: ([\d,]+) bytes for 3 meta-tools in discovery mode; listing every tool, "
                       rf"{shown} bytes for 140 tools\.$", text, re.MULTILINE)
    assert header is not None, text[:1500]
    assert (f"a tools/list of {shown} bytes is more than any model's context holds (over {DISCOVERY_ABOVE:,}), so "
            "the manifest sets `server.expose: discovery`: clients list 3 meta-tools "
            f"({header.group(1)} bytes)") in said and "removing that line lists every tool" in said, said
    assert "goes into the model's context in every conversation" not in said  # the narrowing advice is for below

    checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "ok — 140 tools from 1 source, 3 listed" in checked.stderr, checked.stderr
    listed = mcprt("tools", str(out), "--json")
    assert listed.returncode == 0, listed.stderr
    assert {tool["name"] for tool in json.loads(listed.stdout)["tools"]} == META_TOOLS
    assert len(listed.stdout.rstrip("\n").encode()) == int(header.group(1).replace(",", ""))

    # as the comment says: without the line, every tool is listed, in the size the header gives
    out.write_text(text.replace("  expose: discovery\n", ""))
    every = mcprt("tools", str(out), "--json")
    assert every.returncode == 0, every.stderr
    assert len(json.loads(every.stdout)["tools"]) == 140
    assert len(every.stdout.rstrip("\n").encode()) == size


def test_a_tool_list_under_the_limit_lists_every_tool(tmp_path: Path) -> None:
    out, said, size = _init(tmp_path, 110)
    assert 100_000 < size <= DISCOVERY_ABOVE
    text = out.read_text()
    assert "expose:" not in text and "discovery mode" not in text, text[:1500]
    assert f"# tools/list: {size:,} bytes for 110 tools (`mcprt tools` shows each).\n" in text, text[:1500]
    assert (f"a tools/list of {size:,} bytes goes into the model's context in every conversation: keep fewer "
            "operations (--tag, `include`) or set `server.expose: discovery`") in said, said
    checked = mcprt("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    listed = mcprt("tools", str(out), "--json")
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)["tools"]
    assert len(tools) == 110 and not META_TOOLS & {tool["name"] for tool in tools}
    assert len(listed.stdout.rstrip("\n").encode()) == size


def test_the_not_listed_note_in_discovery_mode_says_how_the_tools_are_found(tmp_path: Path) -> None:
    """Found by a later pass: when no operation fits under `tools:` (Microsoft Graph: 12.9 MB of blocks over
    the 1 MB manifest limit) and init chose discovery mode, the note said "`mcprt tools` lists them", which
    lists only the three meta-tools there. The manifest limit is lowered here so 140 blocks do not fit."""
    spec = tmp_path / "graph.json"
    spec.write_text(json.dumps(entity_graph(140)))
    out = tmp_path / "api" / "mcp.yaml"
    env = {"MCPRT_MAX_MANIFEST_BYTES": "6000"}
    made = mcprt("init", "--openapi", str(spec), "--out", str(out), "--no-input", env=env)
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert "  expose: discovery\n" in text and "    tools: {}\n" in text, text
    said = " ".join(made.stderr.split())
    written = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    for shown in (said, written):
        assert "The 140 operations are not listed under `tools:`" in shown, shown
        assert "`mcprt tools` lists them" not in shown, shown
        assert ("each included one is a tool all the same (clients find them with `search_tools`, and `mcprt tools` "
                "counts them as reachable through discovery)") in shown, shown
    listed = mcprt("tools", str(out), env=env)
    assert listed.returncode == 0, listed.stderr
    assert "140 more reachable through discovery" in " ".join(listed.stdout.split()), listed.stdout
