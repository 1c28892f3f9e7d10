"""What a Python function that ran out of its time is said to have done — over stdio with the SDK client against
a real `mcprt up` (tools, resources and prompts: their 30 s limit shortened by MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT).

A trial's `async def acharge` wrote its charge, then slept past its 5 s timeout, and the model was told
"acharge did not start within 5s: queued 0.0 s behind 0 running calls of this tool (… the source's
`concurrency`); it did not run, so it is safe to try again later": an async function takes no place in a lane,
so its ticket never "started", and the message cited `concurrency`, which bounds sync functions only. A model
told a retry is safe repeats the charge. Now only a call whose wait in its lane was cut is told it did not run;
every function that was called — sync, async, a generator, an async generator, a resource, a prompt — "did not
finish", and each given input below is checked with the side effect it left.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support.served import child_env, stdio_up, text_of

MODULE = '''
import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

RAN = Path(__file__).with_name("ran.log")
_met: dict[str, list[str]] = {}


def _ran(what: str) -> None:
    """The side effect a retry would repeat (a charge, a write)."""
    with RAN.open("a") as out:
        out.write(what + "\\n")


def charge(amount: int) -> str:
    """Charge a card (sync, slow), side effect first."""
    _ran(f"charge {amount}")
    time.sleep(1.5)
    return "charged"


async def acharge(amount: int) -> str:
    """Charge a card (async, slow), side effect first: the trial's function."""
    _ran(f"acharge {amount}")
    await asyncio.sleep(8)
    return "charged"


def gen_charge(amount: int) -> Iterator[int]:
    """Charge, then yield slowly (sync generator)."""
    _ran(f"gen_charge {amount}")
    yield 1
    time.sleep(1.5)
    yield 2


async def agen_charge(amount: int) -> AsyncIterator[int]:
    """Charge, then yield slowly (async generator)."""
    _ran(f"agen_charge {amount}")
    yield 1
    await asyncio.sleep(8)
    yield 2


def held(tag: str) -> str:
    """Hold this tool's only thread (`concurrency: 1`)."""
    _ran(f"held {tag}")
    time.sleep(1.5)
    return tag


async def ameet(tag: str) -> str:
    """Return once a second call of it is running too."""
    _met.setdefault("ameet", []).append(tag)
    while len(_met["ameet"]) < 2:
        await asyncio.sleep(0.01)
    return tag


async def agen_meet(tag: str) -> AsyncIterator[str]:
    """Yield once a second call of it is running too."""
    _met.setdefault("agen_meet", []).append(tag)
    while len(_met["agen_meet"]) < 2:
        await asyncio.sleep(0.01)
    yield tag
'''

MANIFEST = """\
version: 1
defaults: {timeout: 500ms}
sources:
  s:
    python: timing_tools
    concurrency: 1
    tools:
      ameet: {timeout: 20s}
      agen_meet: {timeout: 20s}
"""


def _served(folder: Path) -> Client:
    (folder / "timing_tools.py").write_text(MODULE)
    (folder / "mcp.yaml").write_text(MANIFEST)
    return Client(stdio_up(folder / "mcp.yaml"), mode="legacy")


def _ran(folder: Path) -> list[str]:
    log = folder / "ran.log"
    return log.read_text().splitlines() if log.exists() else []


# (tool, arguments, what it wrote before its time ran out)
CALLED = [
    ("charge", {"amount": 100}, "charge 100"),
    ("acharge", {"amount": 100}, "acharge 100"),
    ("gen_charge", {"amount": 7}, "gen_charge 7"),
    ("agen_charge", {"amount": 7}, "agen_charge 7"),
]


async def test_a_function_that_ran_past_its_timeout_is_never_told_a_retry_is_safe(tmp_path: Path) -> None:
    async with _served(tmp_path) as client:
        for tool, arguments, wrote in CALLED:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, result)
            # the words a sync tool gets: no "did not start", no "safe to try again", no `concurrency`
            assert text_of(result) == f"{tool} did not finish within 0.5s", (tool, text_of(result))
            assert wrote in _ran(tmp_path), (tool, _ran(tmp_path))  # it did act: a retry would act again


async def test_only_a_call_whose_wait_in_line_ran_out_is_told_it_did_not_run(tmp_path: Path) -> None:
    """The one case where "it did not run" is true: a sync call that never got a thread of its lane."""
    answers: dict[str, Any] = {}
    async with _served(tmp_path) as client:

        async def hold(tag: str) -> None:
            answers[tag] = await client.call_tool("held", {"tag": tag})

        async with anyio.create_task_group() as group:
            group.start_soon(hold, "first")
            with anyio.fail_after(10):
                while "held first" not in _ran(tmp_path):  # the first call has its thread
                    await anyio.sleep(0.01)
            group.start_soon(hold, "second")
        await anyio.sleep(1.5)  # the first call's function returned: the lane is free, nothing else starts
        assert _ran(tmp_path) == ["held first"]  # the second call's function was never called
    assert text_of(answers["first"]) == "held did not finish within 0.5s"
    second = text_of(answers["second"])
    # whether the first was already past its timeout when the second gave up is a race: either says it did not run
    assert re.fullmatch(r"held did not start within 0\.5s: (queued 0\.\d s behind 1 running calls of this tool|1 calls "
                        r"of this tool ran past their timeout and still hold its threads) \(at most 1 run at once: the "
                        r"source's `concurrency`\); it did not run, (so it is safe to try again later|but it cannot "
                        r"start until those functions return)", second), second


@pytest.mark.parametrize("tool", ["ameet", "agen_meet"])
async def test_async_functions_and_async_generators_take_no_place_in_a_lane(tmp_path: Path, tool: str) -> None:
    """README: "`async def` tools run on the event loop, unbounded" — an async generator (`async def … yield`) took
    a place in its lane too. With `concurrency: 1` two calls of it now run at once (each returns only when the
    other is running: bounded to one, both would wait their 20 s out)."""
    answers: list[str] = []
    async with _served(tmp_path) as client:

        async def meet(tag: str) -> None:
            answers.append(text_of(await client.call_tool(tool, {"tag": tag})))

        with anyio.fail_after(15):
            async with anyio.create_task_group() as group:
                group.start_soon(meet, "a")
                group.start_soon(meet, "b")
    expected = ['["a"]', '["b"]'] if tool == "agen_meet" else ["a", "b"]
    assert sorted(answers) == expected, answers


OFFERS = '''
import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

RAN = Path(__file__).with_name("ran.log")


def _ran(what: str) -> None:
    with RAN.open("a") as out:
        out.write(what + "\\n")


def page() -> str:
    """A page (sync, slow)."""
    _ran("page")
    time.sleep(1)
    return "page"


async def apage() -> str:
    """A page (async, slow)."""
    _ran("apage")
    await asyncio.sleep(5)
    return "page"


async def apages() -> AsyncIterator[str]:
    """Pages (async generator, slow)."""
    _ran("apages")
    yield "one"
    await asyncio.sleep(5)
    yield "two"


async def abrief() -> str:
    """A brief (async prompt, slow)."""
    _ran("abrief")
    await asyncio.sleep(5)
    return "brief"


def brief() -> str:
    """A brief (sync prompt, slow)."""
    _ran("brief")
    time.sleep(1)
    return "brief"
'''


OFFERS_MANIFEST = """\
version: 1
sources:
  s:
    python: timing_offers:page  # a source needs a tool; the resources and prompts are the test
    concurrency: 1
    resources:
      "t://page": timing_offers:page
      "t://apage": timing_offers:apage
      "t://apages": timing_offers:apages
    prompts: [timing_offers:abrief, timing_offers:brief]
"""


async def test_a_resource_or_prompt_that_ran_past_its_limit_is_never_told_a_retry_is_safe(tmp_path: Path) -> None:
    """Resource reads and prompt gets share the tools' tickets (`_Function`): an async resource or prompt was told
    "did not start … it did not run" as the trial's async tool was. Their 30 s limit is shortened to 0.3 s through
    MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT, which `mcprt up` reads at each read."""
    (tmp_path / "timing_offers.py").write_text(OFFERS, encoding="utf-8")
    (tmp_path / "mcp.yaml").write_text(OFFERS_MANIFEST)
    asked = [
        (lambda client: client.read_resource("t://page"), "resource 't://page' (timing_offers:page)", "page"),
        (lambda client: client.read_resource("t://apage"), "resource 't://apage' (timing_offers:apage)", "apage"),
        (lambda client: client.read_resource("t://apages"), "resource 't://apages' (timing_offers:apages)",
         "apages"),
        (lambda client: client.get_prompt("abrief", {}), "prompt 'abrief' (timing_offers:abrief)", "abrief"),
        (lambda client: client.get_prompt("brief", {}), "prompt 'brief' (timing_offers:brief)", "brief"),
    ]
    params = stdio_up(tmp_path / "mcp.yaml", env=child_env(MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT="0.3"))
    async with Client(params, mode="legacy") as client:
        for ask, label, wrote in asked:
            with pytest.raises(MCPError) as raised:
                await ask(client)
            said = raised.value.error.message
            assert said == f"{label} did not finish within 0.3s", said
            assert wrote in _ran(tmp_path), (label, _ran(tmp_path))
