"""outputSchema from OpenAPI response schemas, proven against real recorded responses.

The catalog's GitHub and Petstore entries are copied with their `output` templates removed (a
rendered result has no structuredContent, so no outputSchema), compiled against a loopback replay
upstream, served in-process and called through the SDK's own client — which raises when a
tool's structuredContent violates its declared outputSchema. Every recorded response that follows
its API description must pass — and every case, documented or schema-complete, does follow it.
"""

from __future__ import annotations

import json

import shutil
from pathlib import Path

import anyio
import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcprt.server import Notifier, build_server
from mcprt.testing.cases import find_cases
from mcprt.testing.harness import ReplayHarness
from mcprt.toolset.toolset import ToolSetHolder
from ruamel.yaml import YAML

CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def without_templates(entry: str, tmp_path: Path, suggestions: dict[str, str] | None = None) -> Path:
    """A copy of a catalog entry whose tools keep their prunes but render no template; `suggestions`: per tool, a
    prune to use instead (`_suggestions`)."""
    target = tmp_path / entry
    shutil.copytree(CATALOG / entry, target)
    yaml = YAML()
    manifest = target / "mcp.yaml"
    data = yaml.load(manifest.read_text())
    suggestions = suggestions or {}
    for source in data["sources"].values():
        for key, override in source.get("tools", {}).items():
            override.pop("output", None)
            name = override.get("name", key)
            if name in suggestions:
                override["prune"] = suggestions[name]
    with manifest.open("w") as handle:
        yaml.dump(data, handle)
    return manifest


def _suggestions(manifest: Path) -> dict[str, str]:
    """Per tool with recorded cases: the prune `mcprt init` suggests for its operation (`authoring.suggest`: lists of
    records as tables). Compiles the manifest in its own event loop: call it from a thread in a test's."""
    from mcprt.authoring.measure import prepare
    from mcprt.authoring.suggest import suggest_prune

    found = {c.tool: suggest_prune(c.signals.success, c.signals.default, None, c.signals.hints)
             for c in prepare(manifest).cases}
    return {tool: prune for tool, prune in found.items() if prune}


@pytest.mark.parametrize(("entry", "suggested"), [("github", False), ("petstore", False), ("github", True)])
async def test_every_recorded_case_conforms_to_the_declared_output_schema(entry: str, suggested: bool,
                                                                          tmp_path: Path) -> None:
    """… with the catalog's prunes, and with `mcprt init`'s suggestions, whose lists of records are tables: a
    table's outputSchema (`prefixItems` per column) holds for every recorded response."""
    suggestions = await anyio.to_thread.run_sync(_suggestions, CATALOG / entry / "mcp.yaml") if suggested else None
    manifest = without_templates(entry, tmp_path, suggestions)
    harness = ReplayHarness(manifest)
    await harness.open()
    try:
        assert harness.toolset is not None and harness.loaded is not None
        declared = {tool.name: tool.output_schema for tool in harness.toolset if tool.output_schema}
        objects = tabled = 0
        off_document: list[str] = []
        server = build_server(ToolSetHolder(harness.toolset), harness.loaded.manifest.server, Notifier())
        async with Client(server, mode="legacy") as client:
            listed = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}
            assert {name: schema for name, schema in listed.items() if schema} == declared
            for case in find_cases(manifest):
                tool = harness.toolset.get(case.tool)
                assert tool is not None
                body = case.response.body.value if case.response and case.response.body else None
                shape = tool.operation.response_schema
                if shape is not None and case.response is not None and case.response.status < 400 and \
                        case.response.body is not None and case.response.body.kind == "json" and \
                        not Draft202012Validator(shape).is_valid(body):
                    off_document.append(f"{case.tool}/{case.name}")
                    continue
                harness.upstream.expect(case.response)
                result = await client.call_tool(case.tool, dict(case.args))  # the SDK validates here
                if case.response is not None and case.response.status < 400:
                    assert not result.is_error, (case.tool, result.content)
                if case.tool in declared:
                    assert isinstance(result.structured_content, dict) and result.structured_content
                    objects += 1
                texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
                content = json.loads(texts[0]) if texts and texts[0][:1] in "{[" else None
                if isinstance(content, dict):
                    tabled += any(isinstance(v, dict) and "columns" in v for v in (content, *content.values()))
        # every tool whose prune builds an object declares a schema; a list sent as a table or as objects by its
        # length (`length(X || …) >= 3 && {table} || X[].{…}`) declares none for that list (text only)
        assert objects >= {"github": 9, "petstore": 5}[entry], (objects, off_document)
        assert tabled >= (4 if suggested else 0), tabled  # github: 4 lists of 3 items or more (shorter: objects)
        # every recorded case, documented or schema-complete, fits its own API description
        assert not off_document, off_document
    finally:
        await harness.close()
