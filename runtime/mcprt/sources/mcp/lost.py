"""Whether a request's `MCPError` -32000 means the connection was lost, or is the server's own answer.

JSON-RPC 2.0 §5.1 reserves -32000 to -32099 for "implementation-defined server-errors", and servers use
-32000 for ordinary failures ("database is locked"). The SDK's client spells a closed connection with
the same number (`mcp_types.CONNECTION_CLOSED`), so the code alone cannot tell them apart: a trial's
server answering one call with -32000 had mcprt restart it, abort every other client's call in flight
on the source and back off, for an error that said nothing about the connection.

So a loss is told by what happened to the connection, never by the code:
  - its transport's read side ended (`Link.ended`: the vetting wrapper saw the end of the stream, or the
    SDK's reader stop reading, which it does only when the connection is torn down; either is what makes
    the SDK wake every waiting request with CONNECTION_CLOSED, and answer every later one with it before
    sending);
  - the request could not be written (the SDK raises CONNECTION_CLOSED from a closed or broken stream:
    the exception's `__context__`);
  - the SDK's streamable HTTP transport gave up on the request's response stream (its stand-ins, all
    "SSE stream …": the POST's SSE stream failed or ended without an answer; the server may have acted).
Anything else with -32000 is an error response the server sent, to be answered like any other.
"""

from __future__ import annotations

import weakref
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError

# mcp.client.streamable_http `_resolve_abandoned_request`: the messages it puts in a request's stand-in error
_SDK_ABANDONED_PREFIX = "SSE stream "


class Link:
    """One connection's transport, as the vetting wrapper sees it (vetting.py `vetted`)."""

    __slots__ = ("ended",)

    def __init__(self) -> None:
        self.ended = False  # the read stream ended (EOF, closed or broken): no answer can come any more


# by id() of the SDK `Client` (a dataclass: unhashable), dropped when the client is collected
_LINKS: dict[int, Link] = {}


def attach(client: Any, link: Link) -> Any:
    """Remember that `client` (an SDK `Client`) talks over `link`; returns `client`."""
    _LINKS[id(client)] = link
    weakref.finalize(client, _LINKS.pop, id(client), None)
    return client


def is_transport_loss(client: Any, exc: MCPError) -> bool:
    """Whether `exc`, raised by a request on `client`, is the SDK's word for a lost connection or response
    (module docstring) rather than an error response the server sent."""
    if exc.code != types.CONNECTION_CLOSED:
        return False
    link = _LINKS.get(id(client))
    if link is not None and link.ended:
        return True
    if isinstance(exc.__context__, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)):
        return True
    return exc.message.startswith(_SDK_ABANDONED_PREFIX)
