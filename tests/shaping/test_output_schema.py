"""outputSchema from OpenAPI response schemas, proven against real recorded responses.

The catalog's GitHub and Petstore entries are copied with their `output` templates removed (a
rendered result has no structuredContent, so no outputSchema), compiled against a loopback replay
upstream, served in-process and called through the SDK's own client — which raises when a
tool's structuredContent violates its declared outputSchema. Every recorded response that follows
its API description must pass — and every case, documented or schema-complete, does follow it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcprt.server import Notifier, build_server
from mcprt.testing.cases import find_cases
from mcprt.testing.harness import ReplayHarness
from mcprt.toolset.toolset import ToolSetHolder
from ruamel.yaml import YAML

CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def without_templates(entry: str, tmp_path: Path) -> Path:
    """A copy of a catalog entry whose tools keep their prunes but render no template."""
    target = tmp_path / entry
    shutil.copytree(CATALOG / entry, target)
    yaml = YAML()
    manifest = target / "mcp.yaml"
    data = yaml.load(manifest.read_text())
    for source in data["sources"].values():
        for override in source.get("tools", {}).values():
            override.pop("output", None)
    with manifest.open("w") as handle:
        yaml.dump(data, handle)
    return manifest


@pytest.mark.parametrize("entry", ["github", "petstore"])
async def test_every_recorded_case_conforms_to_the_declared_output_schema(entry: str, tmp_path: Path) -> None:
    manifest = without_templates(entry, tmp_path)
    harness = ReplayHarness(manifest)
    await harness.open()
    try:
        assert harness.toolset is not None and harness.loaded is not None
        declared = {tool.name: tool.output_schema for tool in harness.toolset if tool.output_schema}
        objects = 0
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
        # every tool whose prune builds an object declares a schema (lists are sent as text only)
        assert objects >= {"github": 9, "petstore": 5}[entry], off_document
        # every recorded case, documented or schema-complete, fits its own API description
        assert not off_document, off_document
    finally:
        await harness.close()
