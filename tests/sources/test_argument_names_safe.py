"""Argument names every model API accepts (Claude's and Bedrock's tool lists refuse a property key outside
`^[a-zA-Z0-9_.-]{1,64}$` with a 400 for the whole request: one tool breaks every tool; trial_i18n fault 2).

The one rule (`sources/naming.served_argument`), through `mcprt up` and the SDK client: a Python function's
parameters `名前`, `größe` are served as `arg_d54d12f` (a hash of the name: `住所` beside it is another), `gr_e`, the original said in the description, and the function is
called with its own keywords; two that would get one name are refused naming both; `validate` says what was
renamed. A proxied server's tool (`command:`) gets the same, mapped back when the call is sent. A model sending the
original name, or the right name in another Unicode form (NFD), is told the key to send (fault 10)."""

from __future__ import annotations

import json
import re
import unicodedata
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli
from tests.support.served import client_over, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SAFE = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")  # the pattern Anthropic's API states in its 400
SERVER = Path(__file__).parent.parent / "proxy" / "i18n_names_server.py"

# the trial's file (pyn/tools_jp.py)
TOOLS_JP = '''
def 挨拶(名前: str, größe: int = 1) -> str:
    """名前で挨拶する。"""
    return f"こんにちは、{名前}さん ({größe})"

def greet(name: str, größe: int = 1, grösse: int = 2, _private: int = 0) -> str:
    """Greets."""
    return f"{name} {größe} {grösse} {_private}"
'''


def _python_manifest(folder: Path, tools: str = TOOLS_JP) -> Path:
    (folder / "tools_jp.py").write_text(tools, encoding="utf-8")
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: pyn}\nsources:\n  py: {python: tools_jp}\n", encoding="utf-8")
    return manifest


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_python_parameters_are_served_under_safe_names_and_called_with_their_own(tmp_path: Path,
                                                                                      transport: str) -> None:
    manifest = _python_manifest(tmp_path)
    with ExitStack() as stack:
        url = stack.enter_context(mcprt_http(manifest, "--no-reload")).url if transport == "http" else ""
        async with client_over(transport, manifest, url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            for tool in tools.values():
                assert all(SAFE.match(key) for key in tool.input_schema["properties"]), tool.input_schema
            greet = tools["greet"].input_schema
            assert list(greet["properties"]) == ["name", "gr_e", "gr_sse", "_private"]  # a safe name stays as it is
            assert greet["properties"]["gr_e"]["description"] == "The 'größe' parameter."
            assert greet["properties"]["gr_sse"]["description"] == "The 'grösse' parameter."
            jp = tools["tools_jp_7648119"]  # `挨拶`: its module and a hash of its name (`naming.served_tool_name`)
            assert jp.input_schema["required"] == ["arg_d54d12f"]
            assert jp.input_schema["properties"]["arg_d54d12f"]["description"] == "The '名前' parameter."
            said = await client.call_tool(jp.name, {"arg_d54d12f": "太郎", "gr_e": 3})
            assert not said.is_error and text_of(said) == "こんにちは、太郎さん (3)"
            said = await client.call_tool("greet", {"name": "x", "gr_e": 5, "gr_sse": 6, "_private": 7})
            assert text_of(said) == "x 5 6 7"
            # the original name the description gave: told the key to send
            said = await client.call_tool(jp.name, {"名前": "太郎"})
            assert said.is_error
            assert ("unknown argument '名前': '名前' is the original name of the argument 'arg_d54d12f' (its "
                    "description says so): send 'arg_d54d12f'") in text_of(said)
            # the same, sent decomposed (NFD, as macOS input methods do)
            nfd = unicodedata.normalize("NFD", "größe")
            said = await client.call_tool("greet", {"name": "x", nfd: 1})
            assert f"unknown argument '{nfd}': '{nfd}' is the original name of the argument 'gr_e'" in text_of(said)


def test_validate_says_what_was_renamed_and_strict_fails(tmp_path: Path) -> None:
    manifest = _python_manifest(tmp_path)
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (f"{manifest}:4:16: warning: source 'py': 'tools_jp': 'tools_jp:挨拶': serves parameter '名前' as argument "
            "'arg_d54d12f', parameter 'größe' as argument 'gr_e': model APIs accept only A-Z a-z 0-9 _ . - in argument names "
            "(at most 64)") in done.stdout + done.stderr
    assert "parameter '_private'" not in done.stdout + done.stderr
    assert ("'tools_jp:挨拶': served as 'tools_jp_7648119': its name has letters a tool name cannot hold "
            "(A-Z a-z 0-9 _ -), so the name is its module's and a hash") in done.stdout + done.stderr
    strict = mcprt_cli("validate", "--strict", str(manifest), cwd=tmp_path)
    assert strict.returncode == 2 and "3 warnings treated as errors" in strict.stdout + strict.stderr


def test_two_parameters_made_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    manifest = _python_manifest(tmp_path, 'def clash2(gr_e: str, größe: str) -> str:\n    return gr_e\n')
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 2
    out = done.stdout + done.stderr
    assert "parameters 'gr_e' and 'größe' would both be the argument 'gr_e' ('größe' made safe" in out
    assert "Traceback" not in out


# review of fixi2, item 1: `def 登録(名前, 住所)` — the normal Japanese function — stopped the whole source (`arg`
# twice was refused as a collision, and `ok` beside it was lost); each all-CJK name is `arg` and a hash of itself
async def test_two_all_cjk_parameters_are_two_arguments_and_the_source_loads(tmp_path: Path) -> None:
    manifest = _python_manifest(tmp_path, 'def 登録(名前: str, 住所: str) -> str:\n    return f"{名前}/{住所}"\n'
                                'def ok(x: int) -> int:\n    return x\n')
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 tools from 1 source" in done.stdout + done.stderr
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == {"ok", "tools_jp_d60a44f"}
            schema = tools["tools_jp_d60a44f"].input_schema
            assert list(schema["properties"]) == ["arg_d54d12f", "arg_fb69b1a"]
            said = await client.call_tool("tools_jp_d60a44f", {"arg_d54d12f": "花子", "arg_fb69b1a": "東京"})
            assert not said.is_error and text_of(said) == "花子/東京"


async def test_a_proxied_tool_is_served_under_safe_names_and_sent_under_its_own(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  names:\n    command: {script_command_yaml(SERVER)}\n",
                        encoding="utf-8")
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert "clash" not in tools  # two names made one: left out, said in the log
            assert set(tools) == {"tool_7648119", "tool_d60a44f"}  # `挨拶`, `登録`: a hash of each, stable
            jp = tools["tool_7648119"]
            schema = jp.input_schema
            assert set(schema["properties"]) == {"arg_d54d12f", "gr_e"} and schema["required"] == ["arg_d54d12f"]
            assert schema["properties"]["arg_d54d12f"]["description"].startswith("The '名前' argument.")
            said = await client.call_tool(jp.name, {"arg_d54d12f": "花子", "gr_e": 2})
            assert not said.is_error and text_of(said) == "こんにちは、花子さん (2)"
            # two all-CJK names are two arguments (review of fixi2, item 1: the tool was left out)
            said = await client.call_tool("tool_d60a44f", {"arg_d54d12f": "花子", "arg_fb69b1a": "東京"})
            assert not said.is_error and text_of(said) == "花子 東京"
        up.wait_log("argument '名前' served as 'arg_d54d12f'")
        up.wait_log("tool clash left out: its arguments 'gr_e' and 'größe' would both be served as 'gr_e'")
        assert json.dumps(schema, ensure_ascii=False)  # the listed schema is JSON as sent


async def test_validate_says_a_proxied_tool_left_out_or_renamed_and_strict_fails(tmp_path: Path) -> None:
    """Review of fixi2, item 7: a proxied tool's renamed arguments and a tool left out were only a log line, so
    `validate --strict` said ok; they are warnings at the source's line, as a Python source's are."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  names:\n    command: {script_command_yaml(SERVER)}\n",
                        encoding="utf-8")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert (f"{manifest}:4:14: warning: source 'names': tool clash left out: its arguments 'gr_e' and 'größe' would "
            "both be served as 'gr_e'") in out
    assert "source 'names': tool 挨拶: argument '名前' served as 'arg_d54d12f', argument 'größe' served as 'gr_e'" in out
    strict = mcprt_cli("validate", "--strict", str(manifest), cwd=tmp_path)
    assert strict.returncode == 2, strict.stdout + strict.stderr


def test_a_proxied_schema_naming_its_arguments_in_any_of_and_dependent_required_is_renamed_everywhere() -> None:
    """Review of fixi2, item 9: `required` inside `anyOf`/`oneOf`/`allOf` and `dependentRequired` still said '名前'
    after the properties were renamed, so no call could satisfy the served schema."""
    import mcp_types as types

    from mcprt.sources.mcp.convert import tool_operations

    schema = {"type": "object", "properties": {"名前": {"type": "string"}, "id": {"type": "integer"}},
              "anyOf": [{"required": ["名前"]}, {"required": ["id"]}],
              "allOf": [{"properties": {"名前": {"minLength": 1}}}],
              "not": {"required": ["名前", "id"]},
              "dependentRequired": {"名前": ["id"]}, "dependentSchemas": {"名前": {"required": ["id"]}}}
    (op,) = tool_operations([types.Tool(name="t", input_schema=schema)], lambda name: None)
    served = op.input_schema
    assert served["anyOf"] == [{"required": ["arg_d54d12f"]}, {"required": ["id"]}]
    assert served["allOf"] == [{"properties": {"arg_d54d12f": {"minLength": 1}}}]
    assert served["not"] == {"required": ["arg_d54d12f", "id"]}
    assert served["dependentRequired"] == {"arg_d54d12f": ["id"]}
    assert served["dependentSchemas"] == {"arg_d54d12f": {"required": ["id"]}}


async def test_an_args_override_keyed_by_the_original_parameter_name_applies_to_its_argument(tmp_path: Path) -> None:
    """Review of fixi2, item 8: `args: {名前: …}` was valid before names were made safe and then an error that did
    not mention the rename; the original name (NFC or NFD) applies to the argument it is served as."""
    manifest = _python_manifest(tmp_path)
    nfd = unicodedata.normalize("NFD", "größe")
    manifest.write_text("version: 1\nserver: {name: pyn}\nsources:\n  py:\n    python: tools_jp\n    tools:\n"
                        f"      挨拶:\n        args:\n          名前: {{fixed: 花子}}\n          {nfd}: {{default: 4}}\n",
                        encoding="utf-8")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has no argument" not in done.stdout + done.stderr
    with mcprt_http(manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            jp = {t.name: t for t in (await client.list_tools()).tools}["tools_jp_7648119"]
            assert list(jp.input_schema["properties"]) == ["gr_e"]  # `名前` fixed: hidden
            assert jp.input_schema["properties"]["gr_e"]["default"] == 4
            said = await client.call_tool(jp.name, {})
            assert not said.is_error and text_of(said) == "こんにちは、花子さん (4)"
    # a name that is no argument's, original or served, is still an error with a did-you-mean
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("名前:", "住所:"), encoding="utf-8")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 2 and "tool '挨拶' has no argument '住所' (it has: arg_d54d12f, gr_e)" in done.stderr


def test_an_unknown_argument_in_another_unicode_form_says_so_in_the_one_wording() -> None:
    """Review of fixi2, item 10: the look-alike wording is `unicode_forms.in_another_form`'s everywhere."""
    from mcprt.toolset.argument_errors import unknown_argument

    nfc, nfd = unicodedata.normalize("NFC", "größe"), unicodedata.normalize("NFD", "größe")
    assert unknown_argument(nfd, {nfc: {}, "id": {}}) == (
        f"unknown argument '{nfd}' (did you mean '{nfc}'? the same text in another Unicode form: NFD here, NFC there)")
    assert unknown_argument("住所", {"arg_fb69b1a": {"description": "The '住所' parameter."}}) == (
        "unknown argument '住所': '住所' is the original name of the argument 'arg_fb69b1a' (its description says so): "
        "send 'arg_fb69b1a'")
    assert unknown_argument("nmae", {"name": {}}) == "unknown argument 'nmae' (did you mean 'name'?)"
