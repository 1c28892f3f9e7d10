"""What a FastMCP author moving functions to a `python:` source expects, checked over stdio with the
SDK client against a real `mcprt up` (found by a side-by-side trial with FastMCP 4):

- a return type that always serializes to an object — `dict[str, int]`, `Mapping[str, Model]`, a
  union of models/dataclasses — declares its `outputSchema`, as a model or dataclass does (it sent
  `structuredContent` with no schema); a mapping of `Any` and `X | None` still declare none;
- a bad value for an optional or union argument (`anyOf`/`oneOf`) is refused with the reason
  inside the branch it comes closest to (`tags.a: 'b' is not of type 'integer'`), not with
  "is not valid under any of the given schemas";
- a result whose JSON form is a string (`datetime`, `Decimal`, `UUID`, `Path`, an `Enum`, `date |
  None`) is its text, unquoted, as a `str` result is (it was the JSON text `"2026-01-02T09:00:00Z"`,
  and a plain `Enum` read `"low"` where a `str` Enum read `low`);
- a resource or prompt function's value is serialized as a tool's result is: a model or dataclass
  was read as its `str()` (`"sku='a' qty=1"`), a prompt message holding one made the handler fail
  ("Handler returned an invalid result", a traceback in the log), a role other than user/assistant
  too; PNG bytes are `image/png`;
- a prompt parameter that takes no string (`list[str]`, a model) can be given: prompt arguments are
  strings (MCP §server/prompts), read as JSON for such a parameter (it was always refused: "Input
  should be a valid list"), and the prompt's listing says the form each non-string argument takes;
- a parameter whose default is a `Field(…)` (`n: int = Field(5, ge=1, le=10, description=…)`) has that
  default, constraints and description (the function received the FieldInfo object itself, the schema
  had none of them, `n: 11` was taken and a `Field(description=…)` parameter was not required).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import anyio

import pytest
import pytest_asyncio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from tests.support.held_client import held
from tests.support.served import child_env, launch_command

# One `mcprt up` over stdio for the module (its start is most of each test's cost): the tests only list
# and call pure functions, read resources and get prompts — nothing a session keeps (no log level, no
# subscription, no state in the tools) — so one session serves them all. Its loop lives as long.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("test_sources_python_parity")]

MODULE = '''
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class Item(BaseModel):
    sku: str
    qty: int = Field(default=1, ge=1)


@dataclass
class Point:
    x: int
    y: int = 0


def word_counts(text: str) -> dict[str, int]:
    """Count words."""
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def as_counts(text: str) -> dict[str, int]:
    """A count given as text."""
    return {"n": text}


def by_sku(skus: list[str]) -> Mapping[str, Item]:
    """Items by SKU."""
    return {sku: Item(sku=sku) for sku in skus}


def either(as_point: bool = False) -> Item | Point:
    """An item or a point."""
    return Point(x=1) if as_point else Item(sku="a")


def loose(key: str) -> dict[str, Any]:
    """Anything."""
    return {key: [1, "two"]}


def maybe(present: bool) -> Optional[Item]:
    """An item, or nothing."""
    return Item(sku="a") if present else None


def pick(n: int = Field(5, ge=1, le=10, description="How many."), who: str = Field(description="Who picks."),
         tags: list[str] = Field(default_factory=list)) -> str:
    """Pick some."""
    return f"{n} {who} {tags}"


class Level(enum.Enum):
    LOW = "low"


def when() -> datetime:
    """A time."""
    return datetime(2026, 1, 2, 9, tzinfo=timezone.utc)


def price() -> Decimal:
    """A price."""
    return Decimal("12.50")


def ident() -> uuid.UUID:
    """An id."""
    return uuid.UUID(int=7)


def where() -> Path:
    """A path."""
    return Path("/srv/data")


def level() -> Level:
    """A level."""
    return Level.LOW


def day(known: bool) -> Optional[date]:
    """A day, or nothing."""
    return date(2026, 2, 1) if known else None


class Tag(BaseModel):
    code: str = Field(title="Short code")
    note: str = Field("", title="Remark", description="A remark.")  # the description says more
    due_date: Optional[date] = None


def label(tag: Tag, level: Level = Level.LOW) -> str:
    """Label something."""
    return tag.code


class Doc(BaseModel):
    model_config = ConfigDict(title="A document")
    body: str


def document() -> Doc:
    """A document."""
    return Doc(body="text")


def bulk_add(items: list[Item], tags: Optional[dict[str, int]] = None,
             mode: Optional[Literal["merge", "replace"]] = None, owner: Item | Point | None = None) -> int:
    """Add items."""
    return len(items)
'''


OFFERS = '''
import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated, Optional

from pydantic import BaseModel, PlainSerializer, WrapSerializer, field_serializer


class Item(BaseModel):
    sku: str
    qty: int = 1


@dataclass
class Point:
    x: int


def item(sku: str) -> Item:
    """An item."""
    return Item(sku=sku)


def points() -> list[Point]:
    """Points."""
    return [Point(1)]


def today() -> date:
    """A day."""
    return date(2026, 1, 2)


def note() -> str:
    """A note."""
    return "hello"


def logo() -> bytes:
    """A 1x1 PNG."""
    return base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


# return annotations whose serializers a read did not apply (listed json, read text; or the reverse)
Stamp = Annotated[datetime, PlainSerializer(lambda d: d.timestamp(), return_type=float)]


def stamp() -> Stamp:
    """A moment, as seconds."""
    return datetime(2026, 1, 2, tzinfo=timezone.utc)


def packed() -> Annotated[dict, PlainSerializer(json.dumps, return_type=str)]:
    """A mapping packed as a string."""
    return {"a": 1}


def stamps() -> list[Stamp]:
    """Moments, as seconds."""
    return [datetime(2026, 1, 2, tzinfo=timezone.utc)]


def wrapped() -> Annotated[int, WrapSerializer(lambda v, nxt: str(nxt(v)), return_type=str)]:
    """A number, as text."""
    return 5


class Coded(BaseModel):
    code: int

    @field_serializer("code")
    def _as_text(self, code: int) -> str:
        return str(code)


def coded() -> Coded:
    """A model whose own serializer a read applies too."""
    return Coded(code=7)


def blobs() -> dict[str, bytes]:
    """Bytes JSON cannot carry."""
    return {"a": b"\\xff"}


def chunks() -> list[bytes]:
    """Bytes JSON cannot carry."""
    return [b"\\xff"]


def about(sku: str) -> list:
    """Talk about an item."""
    return [f"About {sku}", {"role": "assistant", "content": Item(sku=sku)}, Point(2)]


def plan(tags: list[str], strict: bool = False, item: Optional[Item] = None, title: str = "") -> str:
    """Plan the work.

    Args:
        tags: Labels to plan for.
    """
    return f"{tags} {strict} {item!r} {title!r}"


BLOCKS = {"image": {"type": "image"}, "text": {"type": "text", "text": 5}, "video": {"type": "video", "url": "v"},
          "good": {"type": "image", "data": "iVBORw0K", "mimeType": "image/png"}, "bytes": b"GIF89a"}


def blocks(kind: str) -> list:
    """A hand-written content block."""
    return ["Look:", {"role": "user", "content": BLOCKS[kind]}]


def ticks():
    """Counts, endlessly."""
    import itertools
    yield from itertools.count()


def chatter():
    """Talks, endlessly."""
    while True:
        yield "more"


def narrate() -> list:
    """A role MCP does not have."""
    return [{"role": "system", "content": "Be terse."}]
'''

# generators as tools (a trial found them consumed on the event loop after the time limit stopped counting:
# every other call blocked, `timeout` ignored, an endless one filled memory, an exception mid-way misreported)
GENERATORS = '''
import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator

CLOSED: list[str] = []


def slowgen(n: int = 6, pause: float = 0.2) -> Iterator[int]:
    """Slow items."""
    for i in range(n):
        time.sleep(pause)
        yield i


def endless() -> Iterator[int]:
    """Never ends."""
    try:
        yield from itertools.count()
    finally:
        CLOSED.append("endless")


def numbers() -> Iterator[int]:
    """A plain iterator, not a generator."""
    return iter(range(3))


def breaks(at: int = 2) -> Iterator[int]:
    """Fails mid-way."""
    for i in range(5):
        if i == at:
            raise ValueError(f"no item {i}")
        yield i


async def agen(n: int = 3) -> AsyncIterator[int]:
    """Async items."""
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def aendless() -> AsyncIterator[int]:
    """Never ends, slowly."""
    try:
        for i in itertools.count():
            await asyncio.sleep(0.01)
            yield i
    finally:
        CLOSED.append("aendless")


def ticker() -> Iterator[int]:
    """Ticks until stopped."""
    try:
        for i in itertools.count():
            time.sleep(0.02)
            yield i
    finally:
        CLOSED.append("ticker")


async def aticker() -> AsyncIterator[int]:
    """Ticks until stopped."""
    try:
        for i in itertools.count():
            await asyncio.sleep(0.02)
            yield i
    finally:
        CLOSED.append("aticker")


async def asleeper(sec: float = 0.1) -> str:
    """Sleeps."""
    await asyncio.sleep(sec)
    return "slept"


def stubborn() -> Iterator[int]:
    """Ignores being closed."""
    for i in itertools.count():
        try:
            yield i
        except GeneratorExit:
            pass


async def astubborn() -> AsyncIterator[int]:
    """Ignores being closed too."""
    for i in itertools.count():
        try:
            await asyncio.sleep(0)
            yield i
        except GeneratorExit:
            pass


async def hog() -> AsyncIterator[int]:
    """Never awaits: each item blocks."""
    for i in itertools.count():
        time.sleep(0.01)
        yield i


def closed() -> list[str]:
    """Which generators were closed."""
    return CLOSED
'''

LANES = '''
import threading
import time

RUNNING = {"now": 0, "peak": 0}
LOCK = threading.Lock()


def held() -> str:
    """A slow sync read: counts how many of its reads run at once."""
    with LOCK:
        RUNNING["now"] += 1
        RUNNING["peak"] = max(RUNNING["peak"], RUNNING["now"])
    time.sleep(0.3)
    with LOCK:
        RUNNING["now"] -= 1
    return "held"


def held_prompt() -> str:
    """A slow sync prompt."""
    return held()


def quick() -> str:
    """A fast sync read."""
    return "quick"


def peak() -> int:
    """The most reads of `held` that ran at once since the last ask."""
    with LOCK:
        most, RUNNING["peak"] = RUNNING["peak"], 0
    return most
'''

MANIFEST = """\
version: 1
defaults: {max_response_bytes: 2KB}  # a generator's items are bounded by it: `endless` stops there
sources:
  g:
    python: parity_gens
    tools:
      slowgen: {timeout: 600ms}
      aendless: {timeout: 300ms}
      hog: {timeout: 300ms}
  s:
    python: parity_tools
    resources:
      "shop://item/{sku}": parity_offers:item
      "shop://points": parity_offers:points
      "shop://today": parity_offers:today
      "shop://logo": parity_offers:logo
      "shop://note": parity_offers:note
      "shop://stamp": parity_offers:stamp
      "shop://packed": parity_offers:packed
      "shop://stamps": parity_offers:stamps
      "shop://wrapped": parity_offers:wrapped
      "shop://coded": parity_offers:coded
      "shop://blobs": parity_offers:blobs
      "shop://chunks": parity_offers:chunks
      "shop://ticks": parity_offers:ticks
    prompts: [parity_offers:about, parity_offers:narrate, parity_offers:plan, parity_offers:blocks,
              parity_offers:chatter]
  lanes:
    python: parity_lanes:peak
    concurrency: 1
    resources: {"lane://held": parity_lanes:held, "lane://quick": parity_lanes:quick}
    prompts: [parity_lanes:held_prompt]
"""


def _served(folder: Path, errlog: TextIO) -> Client:
    """The SDK client of `mcprt up` serving MODULE (tools) and OFFERS (resources, prompts) over stdio,
    its log written to `errlog`."""
    (folder / "parity_tools.py").write_text(MODULE)
    (folder / "parity_offers.py").write_text(OFFERS)
    (folder / "parity_gens.py").write_text(GENERATORS)
    (folder / "parity_lanes.py").write_text(LANES)
    (folder / "mcp.yaml").write_text(MANIFEST)
    command = launch_command(folder / "mcp.yaml")
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(folder))
    return Client(stdio_client(params, errlog=errlog), mode="legacy")  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Client, Path]]:
    """The module's one client, and the file its server logs to."""
    folder = tmp_path_factory.mktemp("parity")
    with open(folder / "server.log", "w") as errlog:
        async with held(_served(folder, errlog)) as client:
            yield client, folder / "server.log"


@pytest.fixture(scope="module")
def client(served: tuple[Client, Path]) -> Client:
    return served[0]


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return "".join(getattr(block, "text", "") for block in result.content)


async def test_object_typed_returns_declare_their_output_schema(client: Client) -> None:
    await _check_output_schemas(client)


async def _check_output_schemas(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["word_counts"].output_schema == {"type": "object", "additionalProperties": {"type": "integer"}}
    by_sku = tools["by_sku"].output_schema
    assert by_sku is not None and by_sku["type"] == "object"
    assert by_sku["additionalProperties"] == {"$ref": "#/$defs/Item"}
    either = tools["either"].output_schema
    assert either is not None and either["type"] == "object"
    assert sorted(either["$defs"]) == ["Item", "Point"]
    assert tools["loose"].output_schema is None  # dict[str, Any]: an unknown shape (README)
    assert tools["maybe"].output_schema is None  # None is no object

    # The SDK client checks structuredContent against the declared schema: each must fit it.
    counted = await client.call_tool("word_counts", {"text": "a b a"})
    assert not counted.is_error, _text(counted)
    assert counted.structured_content == {"a": 2, "b": 1}
    found = await client.call_tool("by_sku", {"skus": ["x"]})
    assert found.structured_content == {"x": {"sku": "x", "qty": 1}}
    point = await client.call_tool("either", {"as_point": True})
    assert point.structured_content == {"x": 1, "y": 0}
    assert json.loads(_text(point)) == {"x": 1, "y": 0}


BAD_ARGUMENTS = [
    ({"items": [], "tags": {"a": "b"}}, "tags.a: 'b' is not of type 'integer'"),
    ({"items": [], "tags": 5}, "tags: 5 is not of type 'object' or 'null'"),
    ({"items": [], "mode": "append"}, "mode: 'append' is not one of ['merge', 'replace']"),
    ({"items": [], "owner": {"sku": "a", "qty": 0}}, "owner.qty: 0 is less than the minimum of 1"),
    ({"items": [], "owner": {"y": 2}},
     "owner: {'y': 2} fits none of its 2 forms: 'sku' is required, or 'x' is required"),
]


async def test_a_bad_optional_or_union_argument_says_what_is_wrong_inside_it(client: Client) -> None:
    for arguments, problem in BAD_ARGUMENTS:
        result = await client.call_tool("bulk_add", arguments)
        assert result.is_error
        assert _text(result) == (f"invalid arguments for bulk_add: {problem}. "
                                 "Arguments (* required): items*, tags, mode, owner.")


TEXT_RESULTS = {"when": "2026-01-02T09:00:00Z", "price": "12.50", "ident": "00000000-0000-0000-0000-000000000007",
                "where": "/srv/data", "level": "low"}


async def test_a_result_serialized_as_a_string_is_its_text_unquoted(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name, text in TEXT_RESULTS.items():
        result = await client.call_tool(name, {})
        assert not result.is_error, _text(result)
        assert [block.type for block in result.content] == ["text"] and _text(result) == text, name
        assert result.structured_content is None and tools[name].output_schema is None
    assert _text(await client.call_tool("day", {"known": True})) == "2026-02-01"
    assert _text(await client.call_tool("day", {"known": False})) == ""


async def test_sync_resources_and_prompts_run_in_lanes_of_the_source_concurrency(client: Client) -> None:
    """A sync resource or prompt ran on anyio's shared thread pool while sync tools had lanes: a slow read
    could starve every other read, and `concurrency` did not bound it. Each sync function has its own lane:
    at most `concurrency` (here 1) of its reads run at once, the rest wait in line, and another resource
    of the source is not held up behind them. Checked by order, not by a wall-clock bound (a loaded
    machine may take any time): `quick`, read once the first held read answered, answers before the
    last one — queued behind them (one lane for the source) it would answer last."""
    answered: list[str] = []
    first_held = anyio.Event()

    async def read(uri: str) -> None:
        assert (await client.read_resource(uri)).contents[0].text == uri.rpartition("/")[2]  # type: ignore[union-attr]
        answered.append(uri)
        first_held.set()

    async def quick_later() -> None:
        await first_held.wait()  # two held reads still to go, each 0.3 s, one at a time
        await read("lane://quick")

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(read, "lane://held")
        group.start_soon(quick_later)
    assert _text(await client.call_tool("peak", {})) == "1"
    assert answered[-1] == "lane://held" and answered.count("lane://held") == 3, answered
    async with anyio.create_task_group() as group:  # a prompt's function: its own lane, the same bound
        for _ in range(2):
            group.start_soon(client.get_prompt, "held_prompt", {})
    assert _text(await client.call_tool("peak", {})) == "1"


async def test_resource_and_prompt_values_are_serialized_as_tool_results_are(client: Client) -> None:
    read = {uri: (await client.read_resource(uri)).contents[0]
            for uri in ("shop://item/a", "shop://points", "shop://today", "shop://logo")}
    assert (read["shop://item/a"].mime_type, json.loads(read["shop://item/a"].text)) == (  # type: ignore[union-attr]
        "application/json", {"sku": "a", "qty": 1})
    assert json.loads(read["shop://points"].text) == [{"x": 1}]  # type: ignore[union-attr]
    assert (read["shop://today"].mime_type, read["shop://today"].text) == (  # type: ignore[union-attr]
        "text/plain", "2026-01-02")
    assert read["shop://logo"].mime_type == "image/png"

    about = await client.get_prompt("about", {"sku": "a"})
    assert [(m.role, m.content.text) for m in about.messages] == [  # type: ignore[union-attr]
        ("user", "About a"), ("assistant", '{"sku": "a", "qty": 1}'), ("user", '{"x": 2}')]
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("narrate", {})
    assert str(refused.value) == ("prompt 'narrate' (parity_offers:narrate), message 0: its role is 'system'; "
                                  "a prompt message's role is 'user' or 'assistant'")
    assert _text(await client.call_tool("word_counts", {"text": "still serving"})) == '{"still":1,"serving":1}'


async def test_a_prompt_parameter_taking_no_string_is_given_as_json_and_listed_with_its_form(client: Client) -> None:
    listed = {p.name: p for p in (await client.list_prompts()).prompts}["plan"]
    assert [(a.name, a.description) for a in listed.arguments or []] == [
        ("tags", 'Labels to plan for. (JSON: {"items":{"type":"string"},"type":"array"})'),
        ("strict", "true or false"),
        ("item", 'JSON: {"anyOf":[{"properties":{"sku":{"type":"string"},"qty":{"default":1,"type":"integer"}},'
                 '"required":["sku"],"type":"object"},{"type":"null"}]}'),
        ("title", None),
    ]
    got = await client.get_prompt("plan", {"tags": '["a", "b"]', "strict": "true", "item": '{"sku": "z"}',
                                           "title": '["kept as text"]'})
    assert got.messages[0].content.text == (  # type: ignore[union-attr]
        "['a', 'b'] True Item(sku='z', qty=1) '[\"kept as text\"]'")
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("plan", {"tags": "a, b"})
    assert str(refused.value) == ("invalid arguments for prompt 'plan' (parity_offers:plan): "
                                  "tags: Input should be a valid list")


async def test_a_field_as_a_parameter_default_gives_its_default_constraints_and_description(client: Client) -> None:
    schema = {tool.name: tool for tool in (await client.list_tools()).tools}["pick"].input_schema
    assert schema["properties"] == {
        "n": {"type": "integer", "default": 5, "minimum": 1, "maximum": 10, "description": "How many."},
        "who": {"type": "string", "description": "Who picks."},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    assert schema["required"] == ["who"]
    assert _text(await client.call_tool("pick", {"who": "ann"})) == "5 ann []"
    too_many = await client.call_tool("pick", {"who": "ann", "n": 11})
    assert too_many.is_error and _text(too_many).startswith(
        "invalid arguments for pick: n: 11 is greater than the maximum of 10.")


def _titles(node: object, where: str = "") -> list[str]:
    """Every `title` in a schema, as `where: title`."""
    if isinstance(node, dict):
        found = [f"{where}: {node['title']}"] if isinstance(node.get("title"), str) else []
        return found + [t for key, value in node.items() for t in _titles(value, f"{where}/{key}")]
    if isinstance(node, list):
        return [t for index, value in enumerate(node) for t in _titles(value, f"{where}/{index}")]
    return []


async def test_schemas_keep_only_titles_that_add_something(client: Client) -> None:
    """pydantic titles every `$defs` entry with its name (`"Item"`, `"Level"`) and every property with
    its name (`"Due Date"`): bytes of the tool list that say nothing, dropped as the OpenAPI path drops
    a title repeating its name. A title the author wrote (`Field(title="Short code")`) adds something
    and stays. Mapping output schemas carry no empty `properties` (word_counts, above)."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    titles = [t for tool in tools.values() for schema in (tool.input_schema, tool.output_schema or {})
              for t in _titles(schema, tool.name)]
    assert sorted(titles) == ["document: A document", "label/$defs/Tag/properties/code: Short code"]
    label = tools["label"].input_schema
    assert sorted(label["$defs"]) == ["Level", "Tag"]
    assert label["$defs"]["Tag"]["properties"]["code"] == {"type": "string", "title": "Short code"}
    assert label["$defs"]["Tag"]["properties"]["note"] == {"type": "string", "default": "", "description": "A remark."}
    assert tools["document"].output_schema == {  # a root title the author wrote stays; a generated one goes
        "type": "object", "title": "A document", "properties": {"body": {"type": "string"}}, "required": ["body"]}
    assert "properties" not in tools["by_sku"].output_schema  # type: ignore[operator]
    assert _text(await client.call_tool("label", {"tag": {"code": "x1"}})) == "x1"


async def test_resources_list_the_mime_type_their_return_annotation_fixes(client: Client) -> None:
    """MCP §server/resources: a resource's `mimeType` is "the MIME type of this resource, if known".
    The return annotation knows it when every value is read the same way — as a read of it says —
    and nothing is listed when only the value tells (`-> bytes` is sniffed: image/png here)."""
    listed = {r.uri: r.mime_type for r in (await client.list_resources()).resources
              if r.uri not in SERIALIZED and r.uri != "shop://ticks"  # ticks: a generator, for its own test
              and r.uri.startswith("shop://")}  # lane://: the lanes test's
    assert listed == {"shop://points": "application/json", "shop://today": "text/plain", "shop://logo": None,
                      "shop://note": "text/plain"}
    templates = {t.uri_template: t.mime_type for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"shop://item/{sku}": "application/json"}
    for uri, mime_type in {**listed, "shop://item/{sku}": "application/json"}.items():
        read = (await client.read_resource(uri.replace("{sku}", "a"))).contents[0]
        assert read.mime_type == (mime_type or "image/png"), uri


_REFUSED = "its content block breaks the MCP schema: "
BAD_BLOCKS = {
    "image": _REFUSED + "it is not a valid 'image' content block: data: Field required; mimeType: Field required",
    "text": _REFUSED + "it is not a valid 'text' content block: text: Input should be a valid string",
    "video": _REFUSED + "its type 'video' is none of MCP's content blocks (text, image, audio, resource_link, resource)",
    "bytes": "it is bytes; give a message text or an image content block",
}


async def test_a_malformed_content_block_in_a_prompt_is_an_error_naming_the_prompt_and_the_block(
        client: Client) -> None:
    """A block with a `type` but missing or mistyped fields made the SDK refuse the answer as an invalid
    result: the client got a generic internal error. Now the error says which prompt, which message
    and what is wrong (as for any message that cannot be sent: bytes, a role MCP does not have), and a
    valid block passes as written."""
    for kind, problem in BAD_BLOCKS.items():
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("blocks", {"kind": kind})
        assert str(refused.value) == f"prompt 'blocks' (parity_offers:blocks), message 1: {problem}", kind
    good = await client.get_prompt("blocks", {"kind": "good"})
    assert [(m.role, m.content.type) for m in good.messages] == [("user", "text"), ("user", "image")]
    assert good.messages[1].content.data == "iVBORw0K"  # type: ignore[union-attr]


# resources whose return annotation carries serializers (`Annotated[…, PlainSerializer(…)]`) or bytes
# below the root: what each lists (None: unknown) and what a read of it sends (None: the read fails)
SERIALIZED = {"shop://stamp": (None, "text/plain"), "shop://packed": (None, "application/json"),
              "shop://stamps": (None, "application/json"), "shop://wrapped": (None, "application/json"),
              "shop://coded": ("application/json", "application/json"),
              "shop://blobs": (None, None), "shop://chunks": (None, None)}


async def test_a_listed_mime_type_is_what_every_read_sends(client: Client) -> None:
    """The listing's mimeType came from the return annotation's serialization schema, which follows
    `Annotated[...]` serializers, while a read serializes the value by its own type: `-> Annotated[datetime,
    PlainSerializer(…, return_type=float)]` was listed application/json and read text/plain, `-> Annotated[dict,
    PlainSerializer(json.dumps, return_type=str)]` the reverse, and `dict[str, bytes]` was listed
    application/json though no read could send it. Such an annotation now lists nothing; a model's own
    field serializer runs on the read too, so its listing stays."""
    listed = {r.uri: r.mime_type for r in (await client.list_resources()).resources if r.uri in SERIALIZED}
    assert listed == {uri: mime_types[0] for uri, mime_types in SERIALIZED.items()}
    for uri, (mime_type, read_type) in SERIALIZED.items():
        if read_type is None:
            with pytest.raises(MCPError, match="cannot be sent as JSON"):
                await client.read_resource(uri)
            continue
        read = (await client.read_resource(uri)).contents[0]
        assert read.mime_type == read_type, uri
        assert mime_type in (None, read.mime_type), uri


def _not_sent(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "python offer not sent" in line]


async def test_a_value_that_cannot_be_sent_is_logged_for_the_operator(served: tuple[Client, Path]) -> None:
    """A prompt message or resource value that cannot be sent is the function's fault, and its author
    is the operator: the error reached only the requesting client, the server's log said nothing. Now
    each failing get or read is one warning naming the function (and the message)."""
    client, log = served
    before = len(_not_sent(log))
    with pytest.raises(MCPError):
        await client.get_prompt("blocks", {"kind": "video"})
    with pytest.raises(MCPError):
        await client.read_resource("shop://chunks")
    await client.list_prompts()  # a later answer: the lines before it were written
    new = _not_sent(log)[before:]
    wanted = [f"prompt 'blocks' (parity_offers:blocks), message 1: {BAD_BLOCKS['video']}",
              "resource 'shop://chunks' (parity_offers:chunks): the function returned a list, which cannot be sent"]
    assert len(new) == 2 and all(text in line and "WARNING" in line for text, line in zip(wanted, new)), new


async def test_a_resource_or_prompt_generator_stopped_at_the_limit_is_logged(served: tuple[Client, Path]) -> None:
    """A resource or prompt has no place for a tool's notes: a generator stopped at `max_response_bytes`
    gave a shortened list and nobody heard of it. Now each such read or get is a WARNING naming the
    function and the limit."""
    client, log = served
    ticks = json.loads((await client.read_resource("shop://ticks")).contents[0].text)  # type: ignore[union-attr]
    assert ticks == list(range(len(ticks))) and 300 < len(ticks) < 600  # 2 KB of small numbers
    chatter = await client.get_prompt("chatter", {})
    assert 200 < len(chatter.messages) < 400  # 2 KB of `"more",`
    await client.list_prompts()  # a later answer: the lines before it were written
    cut = [line for line in log.read_text().splitlines() if "python offer cut" in line]
    assert len(cut) == 2 and all("WARNING" in line and "(max_response_bytes, 2000 bytes)" in line for line in cut), cut
    assert "resource 'shop://ticks' (parity_offers:ticks)" in cut[0]
    assert f"stopped after {len(ticks)} items" in cut[0]
    assert "prompt 'chatter' (parity_offers:chatter)" in cut[1]


async def test_generators_are_consumed_off_the_loop_within_the_timeout_and_bounded(client: Client) -> None:
    """A generator's items are the result, collected in the worker thread (async ones between their
    awaits) under the tool's timeout and result size limit, the generator closed after; other calls
    go on meanwhile. Before: iterated on the event loop after the time limit stopped counting."""
    assert json.loads(_text(await client.call_tool("slowgen", {"n": 3, "pause": 0}))) == [0, 1, 2]
    assert json.loads(_text(await client.call_tool("numbers", {}))) == [0, 1, 2]
    assert json.loads(_text(await client.call_tool("agen", {}))) == [0, 1, 2]

    async with anyio.create_task_group() as group:
        slow: list[Any] = []

        async def run_slowgen() -> None:
            slow.append(await client.call_tool("slowgen", {}))  # 6 × 0.2 s, over its 0.6 s timeout
        group.start_soon(run_slowgen)
        await anyio.sleep(0.1)
        started = time.monotonic()
        assert _text(await client.call_tool("asleeper", {"sec": 0.1})) == "slept"
        assert time.monotonic() - started < 0.4  # not behind the generator (it took 5.1 s)
    assert slow[0].is_error and _text(slow[0]) == "slowgen did not finish within 0.6s"

    with anyio.fail_after(10):  # it ran forever on the loop: the whole server stopped answering
        endless = await client.call_tool("endless", {})
        late = await client.call_tool("aendless", {})
    assert not endless.is_error
    notes = endless.content[-1].text  # type: ignore[union-attr]
    assert "Note: the function's generator was stopped after" in notes and "(max_response_bytes, 2000 bytes)" in notes
    assert late.is_error and _text(late) == "aendless did not finish within 0.3s"
    assert sorted(json.loads(_text(await client.call_tool("closed", {})))) == ["aendless", "endless"]

    broken = await client.call_tool("breaks", {})
    assert broken.is_error and _text(broken) == "ValueError: no item 2"


async def test_a_generator_that_will_not_close_keeps_the_calls_outcome(served: tuple[Client, Path]) -> None:
    """A generator ignoring GeneratorExit makes `close()`/`aclose()` raise RuntimeError: raised in the
    consumption's cleanup, it replaced the call's outcome — the items cut at the limit — with
    "RuntimeError: generator ignored GeneratorExit". Now the outcome stays and the failure is logged."""
    client, log = served
    for name in ("stubborn", "astubborn"):
        cut = await client.call_tool(name, {})
        assert not cut.is_error, _text(cut)
        assert "Note: the function's generator was stopped after" in cut.content[-1].text  # type: ignore[union-attr]
    await client.list_tools()  # a later answer: the lines before it were written
    failed = [line for line in log.read_text().splitlines() if "python generator did not close" in line]
    assert len(failed) == 2 and all("WARNING" in line and "ignored GeneratorExit" in line for line in failed), failed


async def test_an_async_generator_that_never_awaits_is_stopped_by_its_timeout(client: Client) -> None:
    """An async generator that never awaits held the event loop: no other call was answered, and its
    timeout could not stop it until the byte limit (here about 700 items × 10 ms: 7 s, not 0.3 s)."""
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        answers: list[Any] = []

        async def run_hog() -> None:
            answers.append(await client.call_tool("hog", {}))
        group.start_soon(run_hog)
        await anyio.sleep(0.1)
        assert _text(await client.call_tool("asleeper", {"sec": 0})) == "slept"
        other = time.monotonic() - started
    assert answers[0].is_error and _text(answers[0]) == "hog did not finish within 0.3s"
    assert time.monotonic() - started < 3 and other < 1


async def test_results_are_validated_lax_and_arguments_strictly_as_the_readme_says(client: Client) -> None:
    """README (Python): a result is validated in pydantic's lax mode (`"2"` fits an `int`), an argument
    strictly against the input schema (`"5"` for an `int` is refused). The README said both were lax."""
    assert (await client.call_tool("as_counts", {"text": "2"})).structured_content == {"n": 2}
    refused = await client.call_tool("pick", {"who": "ann", "n": "5"})
    assert refused.is_error and _text(refused).startswith("invalid arguments for pick: n: '5' is not of type 'integer'")


async def test_a_cancelled_call_stops_consuming_its_generator(client: Client) -> None:
    """The client cancelling the call (MCP notifications/cancelled) stops the consumption and closes
    the generator, sync or async; before, a sync one ran on the loop and nothing else was answered."""
    for name in ("ticker", "aticker"):
        with anyio.move_on_after(0.3):
            await client.call_tool(name, {})  # endless, within the default 30 s timeout: only cancelling ends it
        with anyio.fail_after(5):
            while name not in json.loads(_text(await client.call_tool("closed", {}))):
                await anyio.sleep(0.05)
