"""What an `async def` function returns, when that is itself awaitable, is awaited: its value is the result — over
stdio with the SDK client against a real `mcprt up`.

`async def returns_coro() -> str: return _inner()` (a common slip: the missing `await`) gave "inner value" until a
change made async generator functions run on the loop: the function's coroutine was then awaited once, and the
model read "the function returned a coroutine, which cannot be sent as JSON" (and the server logged that the inner
coroutine was never awaited). The same for `return loop.run_in_executor(…)` (a Future) and a Task. Each kind of
function that hands back an awaitable, with the value it must give: an `async def` returning a coroutine, a Future,
a Task; a sync wrapper (`functools.wraps`) of an async function; a sync function returning a coroutine; an async
generator function (not awaitable: consumed); a resource and a prompt function returning a coroutine.
"""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests.support.served import stdio_up, text_of

MODULE = '''
import asyncio
import functools


async def _inner() -> str:
    await asyncio.sleep(0)
    return "inner value"


def _blocking() -> str:
    return "from a thread"


async def returns_coro() -> str:
    """Return a coroutine (no await)."""
    return _inner()


async def returns_future() -> str:
    """Return a Future."""
    return asyncio.get_running_loop().run_in_executor(None, _blocking)


async def returns_task() -> str:
    """Return a Task."""
    return asyncio.ensure_future(_inner())


async def _wrapped() -> str:
    return "wrapped"


@functools.wraps(_wrapped)
def sync_wrapper() -> str:
    """A sync wrapper of an async function."""
    return _wrapped()


def sync_returns_coro() -> str:
    """A sync function returning a coroutine."""
    return _inner()


async def agen():
    """An async generator function."""
    yield 1
    yield 2


async def resource_coro() -> str:
    """A resource returning a coroutine."""
    return _inner()


async def prompt_coro() -> str:
    """A prompt returning a coroutine."""
    return _inner()
'''

MANIFEST = """\
version: 1
sources:
  s:
    python:
      - waits:returns_coro
      - waits:returns_future
      - waits:returns_task
      - waits:sync_wrapper
      - waits:sync_returns_coro
      - waits:agen
    resources:
      "waits://coro": waits:resource_coro
    prompts: [waits:prompt_coro]
"""

# (tool, the result's text)
CALLS = [
    ("returns_coro", "inner value"),
    ("returns_future", "from a thread"),
    ("returns_task", "inner value"),
    ("sync_wrapper", "wrapped"),
    ("sync_returns_coro", "inner value"),
    ("agen", "[1,2]"),
]


async def test_an_awaitable_a_function_returns_is_awaited_for_its_value(tmp_path: Path) -> None:
    (tmp_path / "waits.py").write_text(MODULE)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    async with Client(stdio_up(tmp_path / "mcp.yaml"), mode="legacy") as client:
        for tool, text in CALLS:
            result = await client.call_tool(tool, {})
            assert not result.is_error and text_of(result) == text, (tool, text_of(result))
        read = await client.read_resource("waits://coro")
        assert [content.text for content in read.contents] == ["inner value"]  # type: ignore[union-attr]
        got = await client.get_prompt("prompt_coro", {})
        assert [message.content.text for message in got.messages] == ["inner value"]  # type: ignore[union-attr]
