"""A module written for FastMCP (the real package, 4.x) as a `python:` source: what its decorators say is read, what
mcprt cannot do is refused at `validate` with what to write instead — never at every call. The SDK client talks to a
real `mcprt up` over stdio.

A trial migrating a FastMCP server (`fm_tools.py`, `fm_more.py`, `acme_tools.py` below are its files, trimmed) found
`validate` said ok while: `ctx: Context` became a model argument (FastMCP's docstring in `$defs`) and every call
failed (`'_CurrentContext' object has no attribute 'info'`); `@mcp.tool(name=, description=)` was ignored; an
`@mcp.resource` function was served as a tool; `-> Image` failed every call ("cannot be sent as JSON");
`ToolError("Out of stock for A-1")` reached the model as `ToolError: Out of stock for A-1`. And with `python: module`,
the functions the manifest names under `resources:`/`prompts:` were tools as well.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import mcp_types as types
import pytest
import pytest_asyncio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.support.cli import mcprt_cli
from tests.support.held_client import held
from tests.support.served import child_env, text_of, up_command

pytestmark = pytest.mark.xdist_group("test_sources_python_fastmcp")
served_tests = pytest.mark.asyncio(loop_scope="module")

# The trial's module as the team had it (fx/fm_tools.py)
FM_TOOLS = '''"""The FastMCP module as the team has it today."""
from typing import Annotated
from fastmcp import FastMCP, Context
from pydantic import Field

mcp = FastMCP("acme-extra")


@mcp.tool
def ping(message: str) -> str:
    """Echo a message back."""
    return message


@mcp.tool(name="stock_level", description="Stock level of a SKU.", tags={"stock"})
async def get_stock(sku: Annotated[str, Field(description="The SKU.")], ctx: Context) -> dict:
    """Stock of one product."""
    await ctx.info(f"looking up {sku}")
    return {"sku": sku, "on_hand": 4}
'''

SDK_CONTEXT = '''
from mcp.server.mcpserver import Context


def lookup(sku: str, ctx: Context | None = None) -> str:
    """Look a SKU up."""
    return sku
'''

# A plain class no value of which can be sent; a dict subclass, which can (pydantic has no schema for either)
UNSENDABLE = '''
class Chart:
    def __init__(self, points):
        self.points = points


class Row(dict):
    pass


def chart() -> Chart:
    """A chart."""
    return Chart([1, 2])


def charts() -> list[Chart]:
    """Charts."""
    return []
'''

ROWS = '''
class Row(dict):
    pass


def row() -> Row:
    """A row."""
    return Row(a=1)
'''

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

# The migrated module: FastMCP's decorators kept (no Context parameter), its Image and ToolError used
MIGRATED = '''
import base64
from typing import Annotated, Literal

import fastmcp.exceptions
import mcprt.errors
from fastmcp import FastMCP
from fastmcp.utilities.types import Image
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from pydantic import Field

mcp = FastMCP("acme-extra")
PNG = base64.b64decode("%s")


@mcp.tool
def ping(message: str) -> str:
    """Echo a message back."""
    return message


@mcp.tool(name="stock_level", description="Stock level of a SKU.", tags={"stock"})
async def get_stock(sku: Annotated[str, Field(description="The SKU.")]) -> dict:
    """Stock of one product."""
    return {"sku": sku, "on_hand": 4}


@mcp.resource("acme://motd", name="message_of_the_day", title="Message of the day", description="Today's motto.")
def motd() -> str:
    """Message of the day."""
    return "Ship it."


@mcp.prompt
def triage(order_id: str) -> str:
    """Triage an order."""
    return f"Look at order {order_id}."


@mcp.tool
def chart() -> Image:
    """A sales chart."""
    return Image(data=PNG, format="png")


@mcp.tool(title="Reserve stock", annotations={"destructiveHint": True, "readOnlyHint": False})
def reserve(sku: str) -> str:
    """Reserve stock."""
    raise fastmcp.exceptions.ToolError("Out of stock for " + sku)


class Sold(SdkToolError):
    pass


def sell(sku: str) -> str:
    """Sell stock (the MCP SDK's ToolError, subclassed)."""
    raise Sold("Sold out: " + sku)


def warehouse(code: str) -> dict:
    """One warehouse by code."""
    if code == "NONE":
        raise fastmcp.exceptions.ToolError("No warehouse " + code)
    if code == "GONE":
        raise mcprt.errors.ToolCallError("Closed: " + code)
    return {"code": code}


@mcp.prompt(name="triage_named", title="Triage", description="Triage one order.")
def triage_order(order_id: str, tone: Literal["formal", "casual"] = "formal") -> str:
    """Triage a problematic order."""
    return f"Look at order {order_id} in a {tone} tone."
''' % base64.b64encode(PNG).decode()

MIGRATED_MANIFEST = """\
version: 1
sources:
  extra:
    python: fm_migrated
    resources:
      "acme://motd": fm_migrated:motd
      "acme://warehouses/{code}": fm_migrated:warehouse
    prompts: [fm_migrated:triage_order]
    tools:  # by the function's name, as written before mcprt read the decorator's (it still applies)
      get_stock: {title: Stock by SKU}
"""


def _validate(folder: Path, module: str, text: str, entry: str) -> tuple[int, str]:
    (folder / f"{module}.py").write_text(text)
    (folder / "mcp.yaml").write_text(f"version: 1\nsources:\n  extra:\n    python: {entry}\n")
    result = mcprt_cli("validate", str(folder / "mcp.yaml"), cwd=folder)
    return result.returncode, result.stdout + result.stderr


def test_a_fastmcp_context_parameter_is_refused_at_validate_saying_what_to_write(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "fm_tools", FM_TOOLS, "fm_tools")
    assert code == 2, output
    assert "mcp.yaml:4:13: source 'extra'" in output
    assert ("'fm_tools:get_stock': parameter 'ctx' is typed FastMCP's Context (fastmcp.server.context.Context), "
            "which mcprt does not pass: type it `mcprt.contracts.CallContext`") in output
    assert "for `report_progress`" in output and "Traceback" not in output


@pytest.mark.parametrize("module", ["fm_tools", "sdk_tools"])
def test_a_context_under_future_annotations_gets_the_same_advice(tmp_path: Path, module: str) -> None:
    """`from __future__ import annotations` left `ctx: Context` the string 'Context' in the signature FastMCP's
    decorator sets: pydantic's "`get_stock_arguments` is not fully defined" came out instead of what to type."""
    code, output = _validate(tmp_path, module, "from __future__ import annotations\n" + (
        FM_TOOLS.split('"""\n', 1)[1] if module == "fm_tools" else SDK_CONTEXT), module)
    assert code == 2, output
    assert "parameter 'ctx' is typed " in output and "type it `mcprt.contracts.CallContext`" in output
    assert "not fully defined" not in output


IMAGES = '''
from fastmcp.utilities.types import Image


def charts() -> list[Image]:
    """Charts."""
    return []
'''


def test_a_list_of_images_is_refused_saying_one_image_is_a_result(tmp_path: Path) -> None:
    """`-> list[Image]` was told to return `bytes` "sent as an image", which in a list is no image either."""
    code, output = _validate(tmp_path, "images_mod", IMAGES, "images_mod:charts")
    assert code == 2, output
    assert ("mcp.yaml:4:13: source 'extra': 'images_mod:charts': its return type holds fastmcp.utilities.types.Image "
            "inside another type, which cannot be sent: a tool's result is one image — return a single image (or "
            "PNG, JPEG, GIF or WebP `bytes`), one per call") in output


def test_the_mcp_sdk_context_is_refused_too(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "sdk_tools", SDK_CONTEXT, "sdk_tools:lookup")
    assert code == 2, output
    assert "mcp.yaml:4:13:" in output
    assert "parameter 'ctx' is typed the MCP SDK's Context (mcp.server.mcpserver.context.Context)" in output


@pytest.mark.parametrize(("entry", "named"), [("charts_mod:chart", "charts_mod.Chart"),
                                              ("charts_mod:charts", "charts_mod.Chart")])
def test_a_return_type_that_cannot_be_sent_is_refused_at_validate(tmp_path: Path, entry: str, named: str) -> None:
    code, output = _validate(tmp_path, "charts_mod", UNSENDABLE, entry)
    assert code == 2, output
    assert "mcp.yaml:4:13:" in output
    assert f"its return type names {named}, which cannot be sent as JSON" in output
    assert "`bytes` (PNG, JPEG, GIF or WebP bytes are sent as an image)" in output


DECORATED_ONLY = '''
from fastmcp import FastMCP

mcp = FastMCP("acme-extra")


@mcp.tool
def ping(message: str) -> str:
    """Echo a message back."""
    return message


@mcp.resource("acme://motd")
def motd() -> str:
    """Message of the day."""
    return "Ship it."


@mcp.prompt
def triage(order_id: str) -> str:
    """Triage an order."""
    return f"Look at order {order_id}."
'''


def test_a_decorated_resource_or_prompt_the_manifest_does_not_name_is_said_with_what_to_write(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "fm_plain", DECORATED_ONLY, "fm_plain")
    assert code == 0, output
    assert ("mcp.yaml:4:13: warning: source 'extra': 'fm_plain:motd' is FastMCP's @mcp.resource: the decorator alone "
            'serves nothing here; add `resources: {"acme://motd": fm_plain:motd}` to serve it') in output
    assert "'fm_plain:triage' is FastMCP's @mcp.prompt: the decorator alone serves nothing here; add " \
           "`prompts: [fm_plain:triage]` to serve it" in output
    assert "ok — 1 tool from 1 source" in output


PARAMETER = '''
class Chart:
    def __init__(self, points):
        self.points = points


def plot(title: str, chart: Chart | None = None) -> str:
    """Plot a chart."""
    return title
'''


def test_a_parameter_no_json_can_become_is_refused_at_validate(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "plots", PARAMETER, "plots:plot")
    assert code == 2, output
    assert ("mcp.yaml:4:13: source 'extra': 'plots:plot': parameter 'chart' is typed plots.Chart, which no JSON "
            "argument can become (pydantic has no schema for it): type it as a pydantic model") in output
    assert "arbitrary_types_allowed" not in output


def test_a_subclass_of_a_json_type_is_no_fault(tmp_path: Path) -> None:
    """pydantic has no schema for `class Row(dict)` either, but its values serialize: not refused."""
    code, output = _validate(tmp_path, "rows_mod", ROWS, "rows_mod:row")
    assert code == 0, output


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    folder = tmp_path_factory.mktemp("fastmcp")
    (folder / "fm_migrated.py").write_text(MIGRATED)
    (folder / "mcp.yaml").write_text(MIGRATED_MANIFEST)
    command = up_command(folder / "mcp.yaml", "--no-reload")
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(folder))
    with open(folder / "server.log", "w") as errlog:
        async with held(Client(stdio_client(params, errlog=errlog), mode="legacy")) as client:  # type: ignore[arg-type]
            yield client


@served_tests
async def test_tools_are_named_and_described_as_the_decorator_says_and_offers_are_no_tools(served: Client) -> None:
    tools = {tool.name: tool for tool in (await served.list_tools()).tools}
    # motd (@mcp.resource and `resources:`), triage (@mcp.prompt), warehouse and triage_order (`resources:`,
    # `prompts:`) are no tools of the whole-module entry
    assert sorted(tools) == ["chart", "ping", "reserve", "sell", "stock_level"]
    assert tools["stock_level"].description == "Stock level of a SKU."
    assert tools["stock_level"].title == "Stock by SKU"  # the override keyed by the function's own name applied
    # a decorator's title and annotations: a migrated destructive tool keeps its hint
    assert tools["reserve"].title == "Reserve stock"
    assert tools["reserve"].annotations is not None
    assert (tools["reserve"].annotations.destructive_hint, tools["reserve"].annotations.read_only_hint) == (True, False)
    assert tools["ping"].description == "Echo a message back."
    result = await served.call_tool("stock_level", {"sku": "A-1"})
    assert not result.is_error and result.structured_content == {"sku": "A-1", "on_hand": 4}


@served_tests
async def test_the_resources_and_prompt_the_manifest_names_are_served_as_such(served: Client) -> None:
    motd = await served.read_resource("acme://motd")
    assert [c.text for c in motd.contents if isinstance(c, types.TextResourceContents)] == ["Ship it."]
    house = await served.read_resource("acme://warehouses/PAR1")
    assert '"PAR1"' in house.contents[0].text  # type: ignore[union-attr]
    # named, titled and described as FastMCP's decorators say
    [listed] = (await served.list_resources()).resources
    assert (listed.name, listed.title, listed.description) == ("message_of_the_day", "Message of the day",
                                                               "Today's motto.")
    [prompt] = (await served.list_prompts()).prompts
    assert (prompt.name, prompt.title, prompt.description) == ("triage_named", "Triage", "Triage one order.")
    got = await served.get_prompt("triage_named", {"order_id": "7"})
    assert "Look at order 7 in a formal tone." in str(got.messages[0].content)


@served_tests
async def test_a_fastmcp_image_is_sent_as_image_content(served: Client) -> None:
    result = await served.call_tool("chart", {})
    assert not result.is_error, text_of(result)
    [block] = result.content
    assert isinstance(block, types.ImageContent)
    assert block.mime_type == "image/png" and base64.b64decode(block.data) == PNG


@served_tests
@pytest.mark.parametrize(("tool", "message"), [("reserve", "Out of stock for A-1"), ("sell", "Sold out: A-1")])
async def test_a_tool_error_sends_its_message_as_is(served: Client, tool: str, message: str) -> None:
    result = await served.call_tool(tool, {"sku": "A-1"})
    assert result.is_error and text_of(result) == message


@served_tests
@pytest.mark.parametrize(("code", "message"), [("NONE", "No warehouse NONE"), ("GONE", "Closed: GONE")])
async def test_a_resource_raising_a_tool_error_answers_its_message_as_is(served: Client, code: str,
                                                                           message: str) -> None:
    """A resource or prompt function follows the tools' one rule (`raised.tool_error_text`)."""
    with pytest.raises(Exception) as raised:
        await served.read_resource(f"acme://warehouses/{code}")
    assert str(raised.value) == message
