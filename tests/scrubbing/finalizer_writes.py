"""Run as a script by test_scrubbing_streams.py: writes to the process's scrubbing stderr while the garbage
collector runs finalizers that write to it too (a `__del__` that prints; asyncio's "Task was destroyed but it
is pending!", which goes through `logging` to a handler on stderr). Prints `finished N` to the real stderr when
every write returned; a stream that waits for its own lock inside its own write hangs instead."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

from mcprt.scrubbing import SECRETS
from mcprt.scrubbing.streams import scrub_standard_streams

KEY = "sk-live-SUPERSECRET-1234567890"
scrub_standard_streams()
SECRETS.add(KEY)
gc.set_threshold(50)  # collections often, at allocations inside the stream's write among others


class Noisy:
    def __del__(self) -> None:
        print("finalizer says bye", KEY, file=sys.stderr)


def printing_finalizers(rounds: int) -> int:
    for i in range(rounds):
        garbage = Noisy()
        garbage.me = garbage  # a cycle: only the collector frees it
        del garbage
        print("line", i, KEY, file=sys.stderr)  # five writes, each a chance for the collector
    return rounds


def destroyed_tasks(rounds: int) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    log = logging.getLogger("trial")

    async def forever() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        for i in range(rounds):
            task = asyncio.get_running_loop().create_task(forever())
            task.me = task  # type: ignore[attr-defined]  # a pending task in a cycle: destroyed by the collector
            del task
            await asyncio.sleep(0)
            log.info("call tool=t%d key=%s", i, KEY)

    asyncio.run(main())
    return rounds


if __name__ == "__main__":
    done = {"finalizers": printing_finalizers, "tasks": destroyed_tasks}[sys.argv[1]](int(sys.argv[2]))
    gc.collect()
    print("finished", done, file=sys.__stderr__, flush=True)
