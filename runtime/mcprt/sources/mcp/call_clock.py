"""A proxied call's time limit, stopped while the call waits on its client.

A tool that asks its client (elicitation, sampling, roots) waits for a person or a model: that time is
the client's, not the server's, so it must not count against the call's `timeout` (which bounds how
long the *server* may take). The clock stops when the first question of the call goes out to the client
and runs on, with what was left, when the last one is answered. Each question is bounded on its own by
the relay (`relay.ASK_CLIENT`), whose refusal says the client did not answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio


class CallClock:
    """`scope` cancels the call `timeout` seconds (of the server's time) after it was made."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.scope = anyio.CancelScope(deadline=anyio.current_time() + timeout)
        self._asking = 0  # questions of this call out with the client now
        self._left = timeout  # s of the server's time left when the clock stopped
        self.client_seconds = 0.0  # s the clock stood still: some question was out (for messages and logs)
        self._stopped_at = 0.0  # time.monotonic() when the first of the questions out now went out

    def not_counting(self) -> str:
        """For a timeout's message: " (not counting Ns waiting on the client)", or "" under a second."""
        return f" (not counting {self.client_seconds:.0f}s waiting on the client)" if self.client_seconds >= 1 else ""

    @contextmanager
    def client_turn(self) -> Iterator[None]:
        """Around one question to the client: the call's clock stands still meanwhile."""
        if self._asking == 0:  # the clock stops now, whichever question ends last
            self._left = max(0.0, self.scope.deadline - anyio.current_time())
            self.scope.deadline = math.inf
            self._stopped_at = time.monotonic()
        self._asking += 1
        try:
            yield
        finally:
            self._asking -= 1
            if self._asking == 0:
                self.client_seconds += time.monotonic() - self._stopped_at
                self.scope.deadline = anyio.current_time() + self._left
