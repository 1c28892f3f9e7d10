"""One SIGTERM during `mcprt up`'s start is one stop, whatever the event loop (review of trial desktop F5).

uvloop sets the wakeup fd when its loop starts running; a signal that came after that but before
`PendingSignals.install` added the loop's handlers reached both the Python-level handler of
`early_signals.catch_stop_signals` (replayed by `install`) and the loop's self-pipe (dispatched to the handler
just added): `stopping`, then "second stop signal", exit 143 for one SIGTERM (3 of 20 launches with a SIGTERM
0.28–0.40 s in). `early_signals.hold_until_installed` blocks the signals from just before the loop starts until
`install` took them over. Each case runs in a child process (a signal and a forced exit end the process), in
the order `cli.up_cmd.run_up` uses; without `hold_until_installed` the uvloop case that signals while the
loop runs exits 143."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CHILD = '''
import asyncio, os, signal, sys, logging

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
from mcprt.early_signals import catch_stop_signals, hold_until_installed
from mcprt.server.stop_signals import PendingSignals

loop_kind, when = sys.argv[1], sys.argv[2]
catch_stop_signals()
if when == "before the loop":
    os.kill(os.getpid(), signal.SIGTERM)


async def up():
    if when == "while the loop runs":  # what a signal during `_up`'s first moment meets
        os.kill(os.getpid(), signal.SIGTERM)
    pending = PendingSignals()
    pending.install()
    pending.act_on_caught()
    await asyncio.sleep(0.3)  # the loop reads its self-pipe meanwhile
    print("stop" if pending.stop else "no stop", pending.signum)


factory = None
if loop_kind == "uvloop":
    import uvloop

    factory = uvloop.new_event_loop
hold_until_installed()
with asyncio.Runner(loop_factory=factory) as runner:
    runner.run(up())
'''


@pytest.mark.parametrize("when", ["before the loop", "while the loop runs"])
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_one_stop_signal_before_the_loop_handlers_is_one_stop(loop: str, when: str) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, loop, when], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["stop", str(int(signal.SIGTERM))], done.stderr
    assert done.stderr.count("stopping") == 1, done.stderr
    assert "second stop signal" not in done.stderr, done.stderr


def test_a_stop_signal_caught_early_and_one_held_are_two_stops() -> None:
    """Holding the signals loses none: a SIGTERM the Python-level handler caught before the loop and one held
    while the loop started are two stops, so the second is a forced exit (143, the warning)."""
    child = CHILD.replace('if when == "before the loop":', 'if True:')
    done = subprocess.run([sys.executable, "-c", child, "uvloop", "while the loop runs"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 143, done.stderr
    assert done.stderr.count("stopping") == 1 and "second stop signal" in done.stderr, done.stderr
    assert done.stdout == "", done.stderr
