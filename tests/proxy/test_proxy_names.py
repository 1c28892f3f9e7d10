"""Several proxied servers: names and URIs as upstream gives them while unique, a collision is an error
at the source's line asking for a `prefix`, the prefix on prompt names and (reversibly) on URIs,
per-source switches and per-item overrides, and capabilities only for what some source offers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.cli import mcprt_cli
from tests.support.everything import command_source, write_manifest
from tests.support.served import http_client, mcprt_http, text_of


def validate(manifest: Path) -> subprocess.CompletedProcess[str]:
    return mcprt_cli("validate", str(manifest), cwd=manifest.parent, timeout=120)


def line_of(manifest: Path, text: str) -> int:
    return next(n for n, line in enumerate(manifest.read_text().splitlines(), 1) if line == text)


def test_colliding_prompt_names_are_an_error_at_the_later_source_asking_for_a_prefix(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, command_source("a"), command_source("b", "--features", "prompts"))
    done = validate(manifest)
    assert done.returncode == 2, done.stdout + done.stderr
    line = line_of(manifest, "  b:")
    expected = (f"{manifest}:{line}:3: prompt name 'test_simple_prompt' from source 'b' collides with source 'a': "
                "give one of them a `prefix`")
    assert expected in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_colliding_resource_uris_are_an_error_too(tmp_path: Path) -> None:
    """…and two prefixes that map to one URI scheme (`_` becomes `-`) are named as such: the message asked to
    "give one of them a `prefix`" though both had one (found by a new-user trial)."""
    manifest = write_manifest(tmp_path, command_source("a", "--features", "resources"),
                              command_source("b", "--features", "resources"),
                              command_source("c", "--features", "resources", extra="prefix: team_a_\n"),
                              command_source("d", "--features", "resources", extra="prefix: team-a-\n"),
                              *(command_source(name, "--features", "resources", extra=f"prefix: {prefix}\n")
                                for name, prefix in [("e", "fs_"), ("f", "fs_"), ("g", "fs."), ("h", "9z_"), ("i", "x9z_")]))
    done = validate(manifest)
    assert done.returncode == 2
    line = line_of(manifest, "  b:")
    assert (f"{manifest}:{line}:3: resource URI 'test://static-text' from source 'b' collides with source 'a': "
            "give one of them a `prefix`" in done.stdout + done.stderr)
    line = line_of(manifest, "  d:")
    assert (f"{manifest}:{line}:3: resource URI 'team-a+test://static-text' from source 'd' collides with source 'c': "
            "their prefixes 'team_a_' and 'team-a-' map to the same URI scheme prefix 'team-a+' (a scheme cannot hold "
            "`_`, which becomes `-`): make them differ in a letter or digit") in done.stdout + done.stderr
    # Found in review: the `_` explanation was given for any two prefixes making one scheme.
    for name, other, hint in [
        ("f", "e", "both have the prefix 'fs_': change one of them"),
        ("g", "e", "their prefixes 'fs_' and 'fs.' map to the same URI scheme prefix 'fs+' (a scheme keeps letters, "
                   "digits, `+`, `.` and `-`: every other character becomes `-`, `-`, `.` and `+` are stripped from "
                   "both ends, and one not starting with a letter gets an `x` in front): make them differ in a letter "
                   "or digit"),
        ("i", "h", "their prefixes '9z_' and 'x9z_' map to the same URI scheme prefix 'x9z+' (a scheme keeps letters, "
                   "digits, `+`, `.` and `-`: every other character becomes `-`, `-`, `.` and `+` are stripped from "
                   "both ends, and one not starting with a letter gets an `x` in front): make them differ in a letter "
                   "or digit"),
    ]:
        uri = f"{'x9z' if name == 'i' else 'fs'}+test://static-text"
        assert (f"{manifest}:{line_of(manifest, f'  {name}:')}:3: resource URI '{uri}' from source '{name}' collides "
                f"with source '{other}': {hint}") in done.stdout + done.stderr, done.stdout + done.stderr


async def test_a_prefix_applies_to_prompt_names_and_reversibly_to_uris(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, command_source("a"), command_source("b", extra="prefix: b_\n"))
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            assert prompts[:5] == ["test_simple_prompt", "test_prompt_with_arguments",
                                   "test_prompt_with_embedded_resource", "test_prompt_with_image",
                                   "test_input_required_result_prompt"]
            assert prompts[5:] == ["b_" + name for name in prompts[:5]]
            got = await client.get_prompt("b_test_prompt_with_arguments", {"arg1": "x", "arg2": "y"})
            assert got.messages[0].content.text == "Prompt with arguments: arg1='x', arg2='y'"  # type: ignore[union-attr]

            uris = [str(r.uri) for r in (await client.list_resources()).resources]
            assert "test://static-text" in uris and "b+test://static-text" in uris
            templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
            assert templates == ["test://template/{id}/data", "b+test://template/{id}/data"]
            read = await client.read_resource("b+test://static-text")
            assert str(read.contents[0].uri) == "b+test://static-text"
            assert read.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
            data = await client.read_resource("b+test://template/77/data")
            assert json.loads(data.contents[0].text)["id"] == "77"  # type: ignore[union-attr]
            assert str(data.contents[0].uri) == "b+test://template/77/data"

            completed = await client.complete(types.PromptReference(type="ref/prompt", name="b_test_prompt_with_arguments"),
                                              {"name": "arg2", "value": "wo"})
            assert completed.completion.values == ["world", "wonder"]
            assert text_of(await client.call_tool("b_test_simple_text", {})) == (
                "This is a simple text response for testing.")


async def test_switches_and_per_item_overrides(tmp_path: Path) -> None:
    extra = """\
        resources:
          "test://static-text": {name: readme, description: The project's readme.}
          "test://static-binary": {enabled: false}
          "test://template/{id}/data": {enabled: false}
        prompts:
          test_simple_prompt: {enabled: false}
          test_prompt_with_arguments: {name: greet, title: Greet, description: Say hello.}
        """
    manifest = write_manifest(tmp_path, command_source("fx", extra=extra))
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            resources = {str(r.uri): r for r in (await client.list_resources()).resources}
            assert list(resources) == ["test://static-text", "test://watched-resource"]
            assert resources["test://static-text"].name == "readme"
            assert resources["test://static-text"].description == "The project's readme."
            prompts = {p.name: p for p in (await client.list_prompts()).prompts}
            assert list(prompts) == ["greet", "test_prompt_with_embedded_resource", "test_prompt_with_image",
                                     "test_input_required_result_prompt"]
            assert (prompts["greet"].title, prompts["greet"].description) == ("Greet", "Say hello.")
            got = await client.get_prompt("greet", {"arg1": "a", "arg2": "b"})
            assert got.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'"  # type: ignore[union-attr]
            # Turned off is turned off when named too: the server behind still has these, and a
            # client naming them was served before (a hidden prompt was already refused).
            assert (await client.list_resource_templates()).resource_templates == []
            for uri in ("test://static-binary", "test://template/5/data"):
                with pytest.raises(MCPError, match="not found"):
                    await client.read_resource(uri)
                with pytest.raises(MCPError, match="no source offers the resource"):
                    await client.subscribe_resource(uri)
            with pytest.raises(MCPError):
                await client.get_prompt("test_simple_prompt")
            # completion/complete of a prompt or template no source serves is -32602 naming it, as prompts/get
            # is (MCP 2025-11-25 server/utilities/completion "Error Handling"), not an empty success; the
            # server's own name for a renamed (or prefixed) prompt names what mcprt serves it as.
            renamed = "unknown prompt 'test_prompt_with_arguments' (mcprt serves the prompt its server calls " \
                      "'test_prompt_with_arguments' as 'greet')"
            argument = {"name": "arg1", "value": "p"}
            for ref, message in [
                (types.PromptReference(type="ref/prompt", name="nope"), "unknown prompt 'nope'"),
                (types.PromptReference(type="ref/prompt", name="test_simple_prompt"), "unknown prompt 'test_simple_prompt'"),
                (types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"), renamed),
                (types.ResourceTemplateReference(type="ref/resource", uri="zzz://{x}"),
                 "unknown resource or resource template 'zzz://{x}'"),
                (types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"),
                 "unknown resource or resource template 'test://template/{id}/data'"),
            ]:
                with pytest.raises(MCPError) as unknown:
                    await client.complete(ref, argument)
                assert (unknown.value.code, unknown.value.message) == (types.INVALID_PARAMS, message)
            with pytest.raises(MCPError) as unknown:
                await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
            assert (unknown.value.code, unknown.value.message) == (types.INVALID_PARAMS, renamed)
            assert (await client.complete(types.PromptReference(type="ref/prompt", name="greet"), argument)
                    ).completion.values == ["paris", "park", "party"]
            read = await client.read_resource("test://static-text")  # what is served still reads
            assert read.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]


async def test_capabilities_only_for_what_some_source_offers(tmp_path: Path) -> None:
    extra = "resources: false\n"
    manifest = write_manifest(tmp_path, command_source("fx", "--features", "tools,resources", extra=extra))
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            capabilities = client.server_capabilities
            assert capabilities.tools is not None
            assert capabilities.resources is None and capabilities.prompts is None
            assert capabilities.completions is None
            with pytest.raises(MCPError) as refused:  # not advertised: Method not found (MethodNotFoundError)
                await client.list_resources()
            assert refused.value.code == types.METHOD_NOT_FOUND


def test_an_override_of_an_item_the_source_does_not_offer_is_an_error(tmp_path: Path) -> None:
    extra = "prompts:\n  test_simple_promt: {enabled: false}\n"
    manifest = write_manifest(tmp_path, command_source("fx", extra=extra))
    done = validate(manifest)
    assert done.returncode == 2
    line = line_of(manifest, "      test_simple_promt: {enabled: false}")
    assert (f"{manifest}:{line}:7: source 'fx' offers no prompt 'test_simple_promt' "
            "(did you mean 'test_simple_prompt'?)") in done.stdout + done.stderr


@pytest.mark.parametrize("key", ["resources", "prompts"])
def test_the_switches_are_in_the_manifest_schema(key: str) -> None:
    schema = json.loads((Path(__file__).parents[2] / "schemas" / "mcprt.schema.json").read_text())
    for kind in ("CommandSource", "UrlSource"):
        assert key in schema["$defs"][kind]["properties"]
