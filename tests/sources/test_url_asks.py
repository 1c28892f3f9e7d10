"""The bounds of what mcprt remembers per URL-mode elicitation (sources/mcp/url_asks.py): a TTL, a count
per session, the session's end, the upstream connection's end, and completions that cannot be delivered.
The served behaviour (real sessions, real upstreams) is tests/proxy/test_proxy_url_complete.py; here the
session is a channel that records what it is sent, and the clock is one the test moves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mcprt.sources.mcp.url_asks import UrlAsks


class Session:
    """A client session's completion channel (contracts.ElicitationCompletions) that records what it is
    sent; `end()` runs what was registered for its end, as a closing connection does."""

    def __init__(self, *, fails: bool = False) -> None:
        self.sent: list[str] = []
        self.ended = False
        self._fails = fails
        self._on_end: list[Callable[[], Any]] = []

    @property
    def session(self) -> object:
        return self

    def on_end(self, callback: Callable[[], Any]) -> bool:
        if self.ended:
            return False
        self._on_end.append(callback)
        return True

    async def complete(self, elicitation_id: str) -> None:
        if self._fails:
            raise ConnectionResetError("gone")
        self.sent.append(elicitation_id)

    def end(self) -> None:
        self.ended = True
        for callback in self._on_end:
            callback()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _asks(clock: Clock | None = None, per_session: int = 32) -> UrlAsks:
    return UrlAsks("src", logging.getLogger("test_url_asks"), ttl=60.0, per_session=per_session,
                   clock=clock or Clock())


async def test_a_completion_goes_once_to_its_session_under_the_id_it_was_given() -> None:
    asks, ada, bob = _asks(), Session(), Session()
    asks.remember("up-1", "up-1", ada)
    asks.remember("up-2", "up-2", bob)
    assert await asks.complete("up-1") is True
    assert await asks.complete("up-1") is False  # already completed
    assert (ada.sent, bob.sent) == (["up-1"], [])
    assert asks.dropped["unmatched"] == 1 and len(asks) == 1


async def test_an_ask_expires_after_the_ttl() -> None:
    clock = Clock()
    asks, ada = _asks(clock), Session()
    asks.remember("late", "late", ada)
    clock.now += 60.0
    assert await asks.complete("late") is False
    assert ada.sent == [] and asks.dropped["expired"] == 1 and len(asks) == 0


async def test_a_session_keeps_at_most_per_session_asks_its_oldest_going_first() -> None:
    """A hostile upstream asking one session without end holds `per_session` asks of it, no more."""
    asks, ada, bob = _asks(per_session=3), Session(), Session()
    asks.remember("bob-1", "bob-1", bob)
    for number in range(1000):
        asks.remember(f"ada-{number}", f"ada-{number}", ada)
    assert len(asks) == 4 and asks.dropped["evicted"] == 997
    assert await asks.complete("ada-0") is False
    assert await asks.complete("ada-999") is True and await asks.complete("bob-1") is True
    assert (ada.sent, bob.sent) == (["ada-999"], ["bob-1"])


async def test_a_session_that_ended_is_sent_nothing_and_its_asks_are_let_go() -> None:
    asks, ada = _asks(), Session()
    asks.remember("page", "page", ada)
    ada.end()
    assert len(asks) == 0 and asks.dropped["session_ended"] == 1
    assert await asks.complete("page") is False and ada.sent == []
    assert asks.remember("again", "again", ada) is None  # an ended session is not remembered at all
    assert len(asks) == 0


async def test_one_end_callback_per_session_however_many_asks() -> None:
    """A long session's asks do not pile callbacks onto its connection (each stays until it closes)."""
    asks, ada = _asks(), Session()
    for number in range(50):
        asks.remember(f"p{number}", f"p{number}", ada)
        await asks.complete(f"p{number}")
    assert len(ada._on_end) == 1 and ada.sent == [f"p{number}" for number in range(50)]


async def test_the_upstream_connections_end_forgets_its_ids() -> None:
    asks, ada = _asks(), Session()
    asks.remember("conn-7", "conn-7", ada)
    asks.upstream_ended()
    assert await asks.complete("conn-7") is False  # a restarted server's conn-7 is another ask
    assert ada.sent == [] and asks.dropped["upstream_ended"] == 1


async def test_an_id_of_two_sessions_completes_to_neither_and_one_sessions_two_asks_stay_its() -> None:
    asks, ada, bob = _asks(), Session(), Session()
    asks.remember("dup", "dup", ada)
    asks.remember("dup", "dup", bob)
    bob.end()  # still ambiguous: the completion may be for bob's, whose session is gone
    assert await asks.complete("dup") is False and asks.dropped["ambiguous"] == 1
    assert (ada.sent, bob.sent) == ([], [])
    asks.remember("twice", "twice", ada)
    asks.remember("twice", "twice", ada)
    assert await asks.complete("twice") is True and await asks.complete("twice") is True
    assert ada.sent == ["twice", "twice"] and len(asks) == 0


async def test_a_completion_that_cannot_be_sent_is_counted_and_does_not_raise() -> None:
    asks, gone = _asks(), Session(fails=True)
    asks.remember("page", "page", gone)
    assert await asks.complete("page") is False
    assert asks.dropped["undelivered"] == 1 and len(asks) == 0


async def test_the_session_is_sent_the_id_it_was_given() -> None:
    """A scrubbed id (a configured secret inside it) reaches the session as the session saw it."""
    asks, ada = _asks(), Session()
    asks.remember("tok-s3cr3t", "tok-[REDACTED]", ada)
    assert await asks.complete("tok-s3cr3t") is True and ada.sent == ["tok-[REDACTED]"]
