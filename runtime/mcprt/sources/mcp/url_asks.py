"""Which client session each URL-mode elicitation of one proxied server went to, for its completion.

MCP 2025-11-25 (client/elicitation, "Completion Notifications for URL Mode Elicitation"): a server MAY
send `notifications/elicitation/complete` once the out-of-band interaction a URL-mode `elicitation/create`
started is done, and MUST send it "only to the client that initiated the elicitation request", with "the
`elicitationId` established in the original `elicitation/create` request". mcprt is that server to its
clients, and one upstream connection carries every client's calls, so the upstream's notification names
an id and no session: mcprt must remember, per ask, which session got it.

An ask is remembered (`remember`) when the relay sends a URL-mode question (an `elicitation/create`, or
each elicitation of a -32042 `URLElicitationRequiredError` the call's answer carries: `url_asks_of_error`) carrying the upstream's
`elicitationId` to a client whose era has the notification (its `ElicitationCompletions`): key the
upstream's id on this source's current connection, value the session and the id that session was given
(the upstream's own; a 2026-07-28 upstream writes none and sends no completion, so an id mcprt mints for
a 2025-11-25 client is never remembered). The notification with that id is delivered to that session
only, under the id it was given (`complete`), and the ask is forgotten. An ask is also forgotten:

- when its client refused or declined it (`forget`: it never started the interaction);
- when its session ends (`ElicitationCompletions.on_end`);
- after `URL_ASK_TTL` seconds (the notification is optional: a server may never send it);
- when its session has `URL_ASKS_PER_SESSION` asks remembered on this source and gets another (its oldest
  goes), so a hostile upstream asking without end cannot grow mcprt's memory;
- when the upstream connection ends (`upstream_ended`): ids are the server's, a restarted one may reuse them.

Two live asks with the same upstream id in *different* sessions (the spec has the id unique within the
server; a server that reuses it breaks that) make the id ambiguous: its completion is delivered to *no*
session, until every ask under it is gone. Refusing to remember the second ask instead would send a
completion the server meant for the second session to the first — a message about one user's sign-in
reaching another — while routing none costs only an optional notification (a client SHOULD keep its own
retry and cancel controls for when it never arrives). Two asks of one session under one id stay that
session's: a completion goes to it once per ask. An ask whose session ended is gone like any other, so
the ambiguity lasts while another session's ask under the id is live; an id asked again only after every
earlier ask under it is gone is a fresh ask.

What is dropped (no live ask: never asked, already completed, declined, expired, session ended; or
ambiguous) is counted in `dropped` by reason and logged at debug without the id, which is the
upstream's and may be secret-looking (a state token); every completion is counted by result in
`COMPLETIONS` (the `mcprt_elicitation_completions_total` metric).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

import mcp_types as types

from ...contracts import ElicitationCompletions

URL_ASK_TTL = 1800.0
"""s an ask waits for its completion: longer than a client's answer may take (CLIENT_ANSWER_SECONDS, 600 s),
as the user acts in the browser after answering; past it the notification is dropped."""

URL_ASKS_PER_SESSION = 32
"""asks remembered per client session and source; a new one beyond it drops that session's oldest."""

COMPLETIONS: Counter[tuple[str, str]] = Counter()
"""(source name, result) → the upstream's `notifications/elicitation/complete` handled since the process
started (across reloads, as `mcprt_elicitation_completions_total` must never go down): `delivered`,
`unmatched`, `ambiguous`, `undelivered`."""

DELIVER_WITHIN = 10.0
"""s a completion may take to reach its session before it is given up (the upstream's messages wait)."""


@dataclass(eq=False)
class UrlAsk:
    """One URL-mode question sent to one session: `upstream_id` as the server wrote it, `given` as the
    session received it, `expires` on the monotonic clock."""

    upstream_id: str
    given: str
    channel: ElicitationCompletions
    expires: float


class UrlAsks:
    """The URL-mode asks of one proxied server's current connection (see the module docstring)."""

    def __init__(self, source: str, log: logging.Logger, *, ttl: float = URL_ASK_TTL,
                 per_session: int = URL_ASKS_PER_SESSION, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.log = log
        self.ttl = ttl
        self.per_session = per_session
        self._clock = clock
        self._by_id: dict[str, list[UrlAsk]] = {}
        self._ambiguous: set[str] = set()  # ids asked of two sessions at once: completed to none
        # every session seen, with its live asks oldest first; kept (empty) until the session ends, so
        # its end callback is registered once per session, not once per ask
        self._by_session: dict[object, dict[UrlAsk, None]] = {}
        self._order: dict[UrlAsk, None] = {}  # every live ask, oldest first (one TTL: expiry order)
        self.dropped: Counter[str] = Counter()  # completions not delivered and asks let go, by reason

    def __len__(self) -> int:
        return len(self._order)

    def remember(self, upstream_id: str, given: str, channel: ElicitationCompletions) -> UrlAsk | None:
        """Note that `channel`'s session was sent the upstream's `upstream_id` as `given`; None (nothing
        noted) when that session has ended."""
        self._expire()
        session = channel.session
        mine = self._by_session.get(session)
        if mine is None:
            if not channel.on_end(partial(self._session_ended, session)):
                return None
            mine = self._by_session[session] = {}
        while len(mine) >= self.per_session:
            self._let_go(next(iter(mine)), "evicted")
        ask = UrlAsk(upstream_id, given, channel, self._clock() + self.ttl)
        same = self._by_id.setdefault(upstream_id, [])
        if any(other.channel.session != session for other in same) and upstream_id not in self._ambiguous:
            self._ambiguous.add(upstream_id)
            self.log.debug("source %s: a URL-mode elicitationId was asked of two sessions at once; its "
                           "completion will reach neither", self.source)
        same.append(ask)
        mine[ask] = None
        self._order[ask] = None
        return ask

    def forget(self, ask: UrlAsk) -> None:
        """The client refused or declined `ask`: no interaction started, no completion is its."""
        self._remove(ask)

    async def complete(self, upstream_id: str) -> bool:
        """The upstream's `notifications/elicitation/complete` for `upstream_id`: sent to the one session
        asked it, under the id that session was given. False when dropped (see the module docstring)."""
        self._expire()
        asks = self._by_id.get(upstream_id)
        if not asks:
            return self._drop("unmatched", "no live ask has its id (never asked, already completed, declined, "
                                           "expired, or its session ended)")
        if upstream_id in self._ambiguous:
            for ask in list(asks):
                self._remove(ask)
            return self._drop("ambiguous", "its id was asked of more than one session")
        ask = asks[0]
        self._remove(ask)
        try:
            with anyio.fail_after(DELIVER_WITHIN):
                await ask.channel.complete(ask.given)
        except Exception as exc:  # the client may be gone: the upstream connection must not suffer
            return self._drop("undelivered", type(exc).__name__)
        COMPLETIONS[self.source, "delivered"] += 1
        return True

    def upstream_ended(self) -> None:
        """The upstream connection ended: its ids mean nothing on the next (sessions stay known)."""
        for ask in list(self._order):
            self._let_go(ask, "upstream_ended")

    def _session_ended(self, session: object) -> None:
        for ask in list(self._by_session.pop(session, {})):
            self._let_go(ask, "session_ended")

    def _expire(self) -> None:
        now = self._clock()
        while self._order:
            oldest = next(iter(self._order))
            if oldest.expires > now:
                return
            self._let_go(oldest, "expired")

    def _let_go(self, ask: UrlAsk, reason: str) -> None:
        self._remove(ask)
        self.dropped[reason] += 1

    def _remove(self, ask: UrlAsk) -> None:
        if self._order.pop(ask, False) is False:
            return
        self._by_session.get(ask.channel.session, {}).pop(ask, None)
        same = self._by_id.get(ask.upstream_id, [])
        if ask in same:
            same.remove(ask)
        if not same:
            self._by_id.pop(ask.upstream_id, None)
            self._ambiguous.discard(ask.upstream_id)

    def _drop(self, reason: str, why: str) -> bool:
        self.dropped[reason] += 1
        COMPLETIONS[self.source, reason] += 1
        self.log.debug("source %s: notifications/elicitation/complete dropped (%s): %s", self.source, reason, why)
        return False


def url_ask_of(method: str, params: Any, wire: Any, peer: Any) -> tuple[str, str, ElicitationCompletions] | None:
    """(upstream id, id as sent, the session's channel) of a question worth remembering: a URL-mode
    `elicitation/create` whose upstream params (`params`, as the SDK parsed them) carry an `elicitationId`,
    relayed as `wire` (scrubbed: the id the session sees) to a `peer` with `completions`. Else None."""
    if method != "elicitation/create" or not isinstance(wire, dict) or wire.get("mode") != "url":
        return None
    upstream_id = getattr(params, "elicitation_id", None)
    given = wire.get("elicitationId")
    channel = getattr(peer, "completions", None)
    if not (isinstance(upstream_id, str) and upstream_id and isinstance(given, str) and given) or channel is None:
        return None
    return upstream_id, given, channel


def url_asks_of_error(code: int, sent: Any, relayed: Any, peer: Any) -> list[tuple[str, str, ElicitationCompletions]]:
    """(upstream id, id as relayed, the session's channel) of each URL-mode elicitation of an upstream's
    -32042 `URLElicitationRequiredError` (MCP 2025-11-25 client/elicitation, "Error Handling": its
    `data.elicitations`) that the calling `peer` is sent: `sent` is the error's `data` as the upstream wrote
    it, `relayed` as scrubbed for the client (the ids that session sees, item for item). The completion the
    upstream sends later for such an id is the calling session's, as for a relayed `elicitation/create`
    (`url_ask_of`; review of proxyfix, problem 3: it was dropped as `unmatched`). None worth remembering
    (an empty list) for another code, a `peer` without `completions` (a 2026-07-28 client, which is sent no
    -32042), or data that is not `{"elicitations": [URL-mode params…]}` (server/upstream_errors.py relays
    no -32042 then); an elicitation without the upstream's `elicitationId` gets an id mcprt mints, which
    no completion names."""
    channel = getattr(peer, "completions", None)
    if code != types.URL_ELICITATION_REQUIRED or channel is None:
        return []
    asked = sent.get("elicitations") if isinstance(sent, dict) else None
    shown = relayed.get("elicitations") if isinstance(relayed, dict) else None
    if not isinstance(asked, list) or not isinstance(shown, list) or len(asked) != len(shown):
        return []
    if not all(isinstance(item, dict) and item.get("mode", "url") == "url" for item in [*asked, *shown]):
        return []
    found = []
    for upstream, wire in zip(asked, shown):
        upstream_id, given = upstream.get("elicitationId"), wire.get("elicitationId")
        if isinstance(upstream_id, str) and upstream_id and isinstance(given, str) and given:
            found.append((upstream_id, given, channel))
    return found
