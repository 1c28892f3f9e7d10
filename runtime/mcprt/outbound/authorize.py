"""The one outbound credential flow: stamp → send → on 401 renew → resend once.

Driven by both transports that call out with a manifest's `auth`: the HTTP executor (`HttpUpstream`,
OpenAPI sources) and the `url:` MCP transport (`sources/mcp/http.py`). Each supplies how to send one
attempt with a given stamp; the flow decides when to stamp, when to renew and that a renewal happens
at most once per request (RFC 6750 §3.1: a 401 `invalid_token` means the token is no good; a second
401 with a fresh one is the answer). Token requests go through `token_sender`, which applies the same
limits everywhere: the caller's time budget, and a body cap of `TOKEN_RESPONSE_LIMIT` bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from ..errors import ToolCallError
from ..identity.principal import Principal
from .body import read_capped
from .credentials import Credentials, Stamps
from .failures import describe_transport_error
from .oauth2 import TokenSender
from .redaction import describe_target

R = TypeVar("R")

TOKEN_RESPONSE_LIMIT = 1_000_000  # bytes; an OAuth2 token response is tiny, anything bigger is not one


async def send_authorized(
    credentials: Credentials | None,
    send_token: TokenSender,
    attempt: Callable[[Stamps | None, bool], Awaitable[R]],
    status_of: Callable[[R], int],
    *,
    release: Callable[[R], Awaitable[None]] | None = None,
    waiting_for_token: Callable[[bool], None] | None = None,
    principal: Principal | None = None,
) -> R:
    """Send one request with `credentials` (None: without any) and return the answer to use.

    `attempt(stamps, resend)` sends the request carrying `stamps` (None without credentials) and returns
    its response; `resend` is True for the one retry after a renewal. `status_of(response)` is its HTTP
    status. On a 401 with renewable credentials, `release(response)` frees the refused answer, the
    credentials are renewed through `send_token` and the request is sent once more; that second
    answer is returned whatever it is. `waiting_for_token(True/False)` brackets the time spent
    obtaining a token (so a time-out can say it was the token endpoint). `principal` is who calls
    (per-user credentials, e.g. RFC 8693 token exchange, stamp for that caller). Errors of `attempt` and of
    the token endpoint (ToolCallError, httpx.TimeoutException) propagate.
    """
    def waiting(flag: bool) -> None:
        if waiting_for_token is not None:
            waiting_for_token(flag)

    if credentials is None:
        return await attempt(None, False)
    waiting(True)
    stamp = await credentials.stamp(send_token, principal)
    waiting(False)
    response = await attempt(stamp, False)
    if not credentials.renewable or status_of(response) != 401:
        return response
    # A token revoked or expired early: get a new one and try once more (any method: a 401 means
    # upstream did not act on the request).
    if release is not None:
        await release(response)
    waiting(True)
    await credentials.renew(stamp, send_token, principal)
    stamp = await credentials.stamp(send_token, principal)
    waiting(False)
    return await attempt(stamp, True)


def token_sender(
    client: Callable[[], httpx.AsyncClient], seconds_left: Callable[[], float], user_agent: str
) -> TokenSender:
    """How an OAuth2 token request is sent: within `seconds_left()`, body capped, errors readable.

    `client()` gives the pooled client to use. Raises ToolCallError for a transport failure (message
    without secrets) and lets httpx.TimeoutException through for the caller's deadline message.
    """
    async def send(token_request: httpx.Request) -> httpx.Response:
        token_request.extensions["timeout"] = httpx.Timeout(max(seconds_left(), 0.001)).as_dict()
        token_request.headers.setdefault("User-Agent", user_agent)
        target = describe_target("POST", str(token_request.url))
        try:
            response = await client().send(token_request, stream=True)
            body = await read_capped(response, TOKEN_RESPONSE_LIMIT, target)
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise ToolCallError(f"OAuth2 token request failed: {describe_transport_error(exc, target, 1)}") from None
        return httpx.Response(response.status_code, headers=response.headers, content=body.data)

    return send
