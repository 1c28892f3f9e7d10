"""An async context (the SDK `Client`) opened once for a module's tests, on the module's event loop.

A module-scoped async fixture's set-up and tear-down run in different asyncio tasks, and the SDK
client's anyio task group must be left in the task that entered it ("Attempted to exit cancel scope in
a different task"): `held` enters the context in a task of its own and leaves it there. The module
needs `pytest.mark.asyncio(loop_scope="module")` and the fixture `loop_scope="module"`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


@asynccontextmanager
async def held(opening: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """What `opening` gives, entered and (when this block ends) left in one task of its own; an error
    while opening is raised here."""
    opened: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with opening as value:
                opened.set_result(value)
                await done.wait()
        except BaseException as exc:
            if not opened.done():
                opened.set_exception(exc)
                return
            raise

    holder = asyncio.create_task(hold())
    try:
        yield await opened
    finally:
        done.set()
        await holder
