"""The user's own failure is reported as the user's, with its type, even when its message cannot be rendered —
over stdio with the SDK client against a real `mcprt up`, and `mcprt validate` for a module that fails on import.

A trial's `badstr()` raised `Weird()`, whose `__str__` raises: the model read "internal error in mcprt while
calling badstr: RuntimeError" (with `MCPRT_DEBUG=1` too) — the `RuntimeError` of `Weird.__str__` escaped the
handler that renders `Type: message`, hiding `Weird` and blaming mcprt. The same kind: a `__str__` returning no
`str`; a `ToolCallError`/`UpstreamError` the function raised with such a message; a generator raising it, or raising
it on close; a generator item whose `__repr__` fails (counting its size raised, reported as the function's
`RuntimeError`); a result whose conversion runs the user's code and fails (an enum's `value`, a model's
validator): "internal error" before; a resource or prompt function raising it; a module raising it on import.

A review found the same kind one level up: what the user's code raises need not be an `Exception`. A `__str__`
raising SystemExit, a function raising its own `BaseException` subclass, `sys.exit()` (and `KeyboardInterrupt` by
hand) ended `mcprt up` — every client saw "Connection closed" —, and a module calling `sys.exit()` on import ended
`mcprt validate` with its own exit code. Each is now the function's (or the module's) error, with its type, and the
server serves on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import pytest
import pytest_asyncio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from tests.support.cli import mcprt_process
from tests.support.held_client import held
from tests.support.served import child_env, launch_command, text_of

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("test_sources_python_raised")]

MODULE = '''
import enum
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from pydantic import AfterValidator, BaseModel

from mcprt.errors import ToolCallError, UpstreamError


class Weird(Exception):
    def __str__(self):
        raise RuntimeError("str failed")


class ExitingStr(Exception):
    def __str__(self):
        raise SystemExit(3)


class Mine(BaseException):
    pass


class NotText(Exception):
    def __str__(self):
        return 5


class BadRepr(Exception):
    def __repr__(self):
        raise RuntimeError("repr failed")


class WeirdRefusal(ToolCallError):
    def __str__(self):
        raise RuntimeError("str failed")


class WeirdUpstream(UpstreamError):
    def __str__(self):
        raise RuntimeError("str failed")


class Opaque:
    def __repr__(self):
        raise RuntimeError("repr failed")


class Colour(enum.Enum):
    RED = 1

    @property
    def value(self):
        raise Weird()


def _broken(n: int) -> int:
    raise RuntimeError("validator broke")


class Checked(BaseModel):
    n: Annotated[int, AfterValidator(_broken)]


def badstr() -> str:
    """Raise an exception whose str fails."""
    raise Weird()


async def abadstr() -> str:
    """The same, async."""
    raise Weird()


def exiting_str() -> str:
    """Raise an exception whose str raises SystemExit."""
    raise ExitingStr()


def mine() -> str:
    """Raise a BaseException subclass of its own."""
    raise Mine("mine")


def exits() -> str:
    """Exit, as a script would."""
    import sys
    sys.exit(4)


async def aexits() -> str:
    """The same, async."""
    raise SystemExit(5)


def interrupts() -> str:
    """Raise KeyboardInterrupt by hand."""
    raise KeyboardInterrupt("by hand")


async def ainterrupts() -> str:
    """The same, async."""
    raise KeyboardInterrupt


def gen_mine() -> Iterator[int]:
    """Yield, then raise a BaseException subclass."""
    yield 1
    raise Mine("mid-way")


async def agen_exits() -> AsyncIterator[int]:
    """Yield, then exit."""
    yield 1
    raise SystemExit(6)


def nottext() -> str:
    """Raise an exception whose str returns no str."""
    raise NotText()


def badrepr() -> str:
    """Raise an exception whose repr fails."""
    raise BadRepr("the disk is full")


def refuses() -> str:
    """Refuse, with a message that cannot be rendered."""
    raise WeirdRefusal("no")


def upstream_down() -> str:
    """Say its upstream failed, with a message that cannot be rendered."""
    raise WeirdUpstream("down")


def gen_raises() -> Iterator[int]:
    """Yield, then raise an exception whose str fails."""
    yield 1
    raise Weird()


async def agen_raises() -> AsyncIterator[int]:
    """The same, async."""
    yield 1
    raise Weird()


def opaque_items() -> Iterator[object]:
    """Yield an object that has no JSON form and whose repr fails."""
    yield Opaque()


def closes_weird() -> Iterator[str]:
    """Yield past the byte limit, then fail on close with an exception whose str fails."""
    try:
        while True:
            yield "x" * 100
    finally:
        raise Weird()


def colour():
    """Return an enum whose value raises."""
    return Colour.RED


def checked() -> Checked:
    """Return a value whose declared type's validator raises."""
    return {"n": 1}
'''

OFFERS = '''
from errs_tools import Colour, Mine, Weird


def weird_resource() -> str:
    """A resource that raises."""
    raise Weird()


def colour_resource():
    """A resource whose value cannot be converted."""
    return Colour.RED


def mine_resource() -> str:
    """A resource that raises a BaseException subclass."""
    raise Mine("not read")


def exiting_prompt() -> str:
    """A prompt that exits."""
    raise SystemExit(7)


def weird_prompt() -> str:
    """A prompt that raises."""
    raise Weird()


class Item(dict):
    def __contains__(self, key):
        raise Weird()


def broken_message() -> list:
    """A prompt whose message cannot be read."""
    return [Item(role="user", content="hi")]
'''

MANIFEST = """\
version: 1
sources:
  s:
    python: errs_tools
    max_response_bytes: 2000
    resources:
      "errs://weird": errs_offers:weird_resource
      "errs://colour": errs_offers:colour_resource
      "errs://mine": errs_offers:mine_resource
    prompts: [errs_offers:weird_prompt, errs_offers:broken_message, errs_offers:exiting_prompt]
"""

WEIRD = "Weird: <exception str() failed: RuntimeError>"


def _served(folder: Path, errlog: TextIO, **env: str) -> Client:
    (folder / "errs_tools.py").write_text(MODULE)
    (folder / "errs_offers.py").write_text(OFFERS)
    (folder / "mcp.yaml").write_text(MANIFEST)
    command = launch_command(folder / "mcp.yaml", "--no-reload")
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env(**env), cwd=str(folder))
    return Client(stdio_client(params, errlog=errlog), mode="legacy")  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Client, Path]]:
    """The module's one client, and the file its server logs to."""
    folder = tmp_path_factory.mktemp("raised")
    with open(folder / "server.log", "w") as errlog:
        async with held(_served(folder, errlog)) as client:
            yield client, folder / "server.log"


# (tool, the tool error the model reads)
TOOL_ERRORS = [
    ("badstr", WEIRD),
    ("abadstr", WEIRD),
    ("exiting_str", "ExitingStr: <exception str() failed: SystemExit>"),
    ("mine", "Mine: mine"),
    ("exits", "SystemExit: 4"),
    ("aexits", "SystemExit: 5"),
    ("interrupts", "KeyboardInterrupt: by hand"),
    ("ainterrupts", "KeyboardInterrupt"),
    ("gen_mine", "Mine: mid-way"),
    ("agen_exits", "SystemExit: 6"),
    ("nottext", "NotText: <exception str() failed: TypeError>"),
    ("badrepr", "BadRepr: the disk is full"),
    ("refuses", "WeirdRefusal: <exception str() failed: RuntimeError>"),
    ("upstream_down", "WeirdUpstream: <exception str() failed: RuntimeError>"),
    ("gen_raises", WEIRD),
    ("agen_raises", WEIRD),
    ("opaque_items", "the function returned a list, which cannot be sent as JSON (Unable to serialize unknown type: "
                     "<class 'errs_tools.Opaque'>)"),
    ("colour", f"the function returned a Colour, whose conversion to a result raised {WEIRD}"),
    ("checked", "the function returned a dict, whose conversion to a result raised RuntimeError: validator broke"),
]


@pytest.mark.parametrize(("tool", "said"), TOOL_ERRORS, ids=[tool for tool, _ in TOOL_ERRORS])
async def test_the_functions_own_failure_is_its_tool_error_with_its_type(
        served: tuple[Client, Path], tool: str, said: str) -> None:
    client, log = served
    result = await client.call_tool(tool, {})
    assert result.is_error
    assert text_of(result) == said, text_of(result)
    await client.list_tools()  # a later answer (the server serves on): the call's log line was written
    line = next(line for line in reversed(log.read_text().splitlines()) if f"call tool={tool} " in line)
    assert "status=internal" not in line, line  # not counted as mcprt's own fault


async def test_a_generator_failing_on_close_keeps_the_calls_outcome_and_is_logged_with_its_type(
        served: tuple[Client, Path]) -> None:
    client, log = served
    result = await client.call_tool("closes_weird", {})
    assert not result.is_error, text_of(result)
    assert "Note: the function's generator was stopped after" in text_of(result)
    await client.list_tools()
    failed = [line for line in log.read_text().splitlines() if "python generator did not close" in line]
    assert len(failed) == 1 and "closes_weird" in failed[0] and WEIRD in failed[0], failed


@pytest.mark.parametrize(("read", "said"), [
    (lambda client: client.read_resource("errs://weird"), WEIRD),
    (lambda client: client.read_resource("errs://colour"),
     "resource 'errs://colour' (errs_offers:colour_resource): the function returned a Colour, whose conversion to a "
     f"result raised {WEIRD}"),
    (lambda client: client.get_prompt("weird_prompt", {}), WEIRD),
    (lambda client: client.get_prompt("broken_message", {}),
     f"prompt 'broken_message' (errs_offers:broken_message), message 0: reading it failed: {WEIRD}"),
    (lambda client: client.read_resource("errs://mine"), "Mine: not read"),
    (lambda client: client.get_prompt("exiting_prompt", {}), "SystemExit: 7"),
], ids=["resource", "resource_value", "prompt", "prompt_message", "resource_base", "prompt_exit"])
async def test_a_resource_or_prompt_functions_own_failure_is_its_error_with_its_type(
        served: tuple[Client, Path], read: Any, said: str) -> None:
    client, _ = served
    with pytest.raises(MCPError) as raised:
        await read(client)
    assert raised.value.error.message == said, raised.value.error.message
    assert await client.list_tools()  # the server serves on


async def test_with_debug_the_function_keeps_its_type_and_gets_its_traceback(tmp_path: Path) -> None:
    """The trial saw the same "internal error in mcprt" with `MCPRT_DEBUG=1`."""
    with open(tmp_path / "server.log", "w") as errlog:
        async with _served(tmp_path, errlog, MCPRT_DEBUG="1") as client:
            result = await client.call_tool("badstr", {})
    text = text_of(result)
    assert result.is_error and text.startswith(WEIRD + "\nTraceback (most recent call last):"), text
    assert "raise Weird()" in text and "errs_tools.Weird: <exception str() failed>" in text, text


async def test_a_module_raising_such_an_exception_on_import_is_a_manifest_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "import_weird.py").write_text(
        "class Weird(Exception):\n    def __str__(self):\n        raise RuntimeError('str failed')\n\n\n"
        "raise Weird()\n")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    python: import_weird\n")
    done = mcprt_process("validate", str(tmp_path / "mcp.yaml"), cwd=tmp_path, forked=True)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    # at the module's raising line (`raise Weird()`), not the manifest key naming the module
    assert f"import_weird.py:6:1: source 's': 'import_weird': importing 'import_weird' failed: {WEIRD}" in done.stderr, \
        done.stderr


async def test_a_module_exiting_on_import_is_a_manifest_error_not_the_commands_exit(tmp_path: Path) -> None:
    """`sys.exit("usage: …")` at import (a script's argparse) ended `mcprt validate` with the module's exit code 1
    and its text alone."""
    (tmp_path / "import_exits.py").write_text("import sys\n\nsys.exit('usage: import_exits FILE')\n")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  s:\n    python: import_exits\n")
    done = mcprt_process("validate", str(tmp_path / "mcp.yaml"), cwd=tmp_path, forked=True)
    assert done.returncode == 2, done.stderr
    assert "import_exits.py:3:1: source 's': 'import_exits': importing 'import_exits' failed: SystemExit: usage: "\
        "import_exits FILE" in done.stderr, done.stderr


async def test_a_conversion_that_raised_is_logged_with_its_traceback_for_the_operator(tmp_path: Path) -> None:
    """A review: the result that a value's conversion raised named the exception, and the operator had no trace of
    it (no log record, no traceback) — at debug level it is logged with the traceback, as a function's exception is."""
    with open(tmp_path / "server.log", "w") as errlog:
        async with _served(tmp_path, errlog, MCPRT_LOG_LEVEL="debug") as client:
            result = await client.call_tool("colour", {})
            assert result.is_error and text_of(result).endswith(WEIRD), text_of(result)
            await client.list_tools()
    log = (tmp_path / "server.log").read_text()
    logged = log[log.index("converting a Colour returned by a function raised Weird"):]
    assert "Traceback (most recent call last):" in logged and "raise Weird()" in logged, logged[:2000]
