"""Connecting to the shared Redis: a clear error at start, bounded waits and reconnects while serving.

The client retries a failed command with exponential backoff (at most `RETRIES` times, each
attempt bounded by `COMMAND_TIMEOUT`), so a Redis restart is ridden out, and a Redis that stays
away makes a command fail within about a second and a half instead of hanging the call that
needed it. Callers turn `StateUnavailable` into a tool error; calls that need no shared state never
touch Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import McprtError, StateRefused, StateUnavailable  # raised here; defined in errors: every layer catches them
from ..observability.log import log_event
from ..wording import clause
from .url import redact_state_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

COMMAND_TIMEOUT = 0.5  # seconds for one Redis command (a LAN round trip is well under a millisecond)
CONNECT_TIMEOUT = 2.0
RETRIES = 2


def events_channel(prefix: str) -> str:
    """The pub/sub channel every replica listens on (`state.policy` does): `<kind> <value>` messages
    (approval decided, pauses changed, session ended)."""
    return f"{prefix}events"


def make_client(url: str, *, command_timeout: float = COMMAND_TIMEOUT) -> Redis:
    """A pooled asyncio Redis client for `url` (redis://, rediss://, unix://) with retries."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry  # the asyncio one: the sync Retry never awaits, so retried nothing
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return Redis.from_url(
        url,
        socket_timeout=command_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        decode_responses=False,
    )


SERVING_ADVICE = "Start Redis, fix `server.state` / MCPRT_STATE_URL, or unset it to keep state in this process."


async def connect(url: str, *, advice: str = SERVING_ADVICE) -> Redis:
    """Open and check the connection once (PING): `mcprt up` refuses to start without its state.
    Raises McprtError `cannot reach the shared state at URL (password masked): why. {advice}`; `advice`
    is what the user should do, which depends on who needs the state (`oneshot.GOVERNED_ADVICE`)."""
    client = make_client(url)
    try:
        await client.ping()
    except Exception as exc:  # redis raises its own ConnectionError / TimeoutError / AuthenticationError
        await client.aclose()
        refused = _refusal(url, exc)
        if refused is not None:
            raise StateRefused(refused) from None
        raise McprtError(f"cannot reach the shared state at {redact_state_url(url)}: {_reason(exc)}. {advice}") from None
    return client


async def check_rights(client: Redis, url: str, prefix: str) -> None:
    """Try once each kind of command mcprt sends (a write with expiry, a read, a Lua script, a publish, a
    subscribe, a delete) on a key and the channel under `prefix`, so an ACL user lacking one is refused at start: raises
    StateRefused naming MCPRT_STATE_URL (password masked) on a NOPERM or an authentication error. Only PING was
    checked, so a user allowed PING but not the rest waited out MCPRT_STATE_WAIT ("try again shortly") then exited.
    Any other failure (Redis full refusing the write, a timeout) is left to the serving signals: not a right."""
    from redis.exceptions import AuthenticationError, NoPermissionError

    probe = f"{prefix}rights-probe"
    steps: list[Callable[[], Awaitable[object]]] = [
        lambda: client.set(probe, b"1", px=10_000),
        lambda: client.get(probe),
        lambda: client.eval("return redis.call('PEXPIRE', KEYS[1], ARGV[1])", 1, probe, 10_000),
        lambda: client.publish(events_channel(prefix), b"probe"),  # a kind no replica acts on (`policy._on_message`)
        lambda: _subscribe_once(client, events_channel(prefix)),
        lambda: client.delete(probe),  # leaves no key behind (tests and operators count `mcprt:*` keys)
    ]
    for step in steps:
        try:
            await step()
        except (AuthenticationError, NoPermissionError) as exc:
            raise StateRefused(_refusal(url, exc) or str(exc)) from None
        except Exception:  # noqa: BLE001 -- not a matter of rights: the state's own signals report it
            continue


async def _subscribe_once(client: Redis, channel: str) -> None:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel)
        await pubsub.unsubscribe(channel)
    finally:
        await pubsub.aclose()


URL_FORM = "redis://:PASSWORD@HOST:PORT/DB, or redis://USER:PASSWORD@… for an ACL user"


def _refusal(url: str, exc: BaseException) -> str | None:
    """The message for a Redis that answered but refused mcprt (credentials, permissions), else None (not
    reached: worth waiting for). A missing password read as Redis's raw protocol text (`HELLO must be called
    with the client already authenticated, …`) and a wrong one as "not reached yet", waited for 60 s."""
    from urllib.parse import urlsplit

    from redis.exceptions import AuthenticationError, NoPermissionError

    where = f"the shared state at {redact_state_url(url)}"
    if isinstance(exc, AuthenticationError):
        try:
            given = urlsplit(url).password is not None or urlsplit(url).username not in (None, "")
        except ValueError:
            given = False
        if not given:
            return (f"{where} requires a password, and MCPRT_STATE_URL (or `server.state`) gives none: put it in the "
                    f"URL ({URL_FORM}). This does not pass by waiting, so mcprt does not wait for it.")
        return (f"{where} refused the credentials in MCPRT_STATE_URL (or `server.state`): {_reason(exc)}. Fix the "
                f"password (and user) in the URL ({URL_FORM}). This does not pass by waiting, so mcprt does not wait "
                "for it.")
    if isinstance(exc, NoPermissionError):
        return (f"{where} refused a command to the user MCPRT_STATE_URL names: {_reason(exc)}. Give that ACL user the "
                "commands mcprt sends and the `mcprt:*` keys and channels (`~mcprt:* &mcprt:*`). This does not pass "
                "by waiting, so mcprt does not wait for it.")
    return None


def unavailable(exc: BaseException) -> StateUnavailable:
    """The error calls and HTTP clients see when Redis fails mid-serving: `shared state (Redis) is
    unavailable: <why, in general words>; try again shortly`. Never a traceback, the URL, nor redis-py's
    text, which names the Redis host and port (`Error 111 connecting to 10.0.0.5:6379`): any caller
    with a token reads it. The detail is the operator's: the error's `reason`, which a call's log line
    carries (`reason=Error 111 connecting to …`)."""
    error = StateUnavailable(f"shared state (Redis) is unavailable: {_outage(exc)}; try again shortly")
    error.reason = _reason(exc)
    return error


def _outage(exc: BaseException) -> str:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import OutOfMemoryError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, OutOfMemoryError):  # Redis answers, but refuses writes: say what to change
        return _reason(exc)
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, RedisConnectionError | OSError):
        return "it cannot be reached"
    return f"it answered with an error ({type(exc).__name__})"


def is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, (RedisError, OSError, TimeoutError))


def _reason(exc: Any) -> str:
    from redis.exceptions import OutOfMemoryError

    if isinstance(exc, OutOfMemoryError):
        # Redis answers, but refuses writes: the raw reply names Lua script hashes and line numbers,
        # and "unavailable … try again shortly" would not tell an operator what to change.
        return "Redis is full (maxmemory reached with a noeviction policy); writes are refused until memory is freed"
    text = str(exc).strip() or type(exc).__name__
    # callers go on after it with "; " or ". ": its own final period would double theirs
    return clause(text.splitlines()[0][:200]) or type(exc).__name__


async def guarded(awaitable: Any) -> Any:
    """`await awaitable`, a Redis failure raised as `StateUnavailable` (a tool error naming the shared
    state, never the URL's password); any other exception as it is."""
    try:
        return await awaitable
    except Exception as exc:
        if is_redis_error(exc):
            raise unavailable(exc) from None
        raise


async def listen(client: Redis, channel: str, on_message: Callable[[Any], None], *, name: str,
                 on_subscribed: Callable[[], Awaitable[None]] | None = None,
                 on_lost: Callable[[], None] | None = None) -> None:
    """Hand each message's data on `channel` to `on_message`, until cancelled.

    When Redis goes away it subscribes again with backoff (0.1 s, doubling to 5 s), logging one line
    when the link is lost (`{name} lost; reconnecting`) and one when it is back (`{name} restored`),
    not one per retry. `on_subscribed` runs after each subscription (before the restored line);
    `on_lost` after each loss. Each pub/sub is closed when it ends, so its connection goes back to the
    pool closed (one left open lost its successor's subscription right after a reconnect).
    """
    backoff = 0.1
    lost = False
    while True:
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                backoff = 0.1
                if on_subscribed is not None:
                    await on_subscribed()
                if lost:
                    lost = False
                    log_event(f"{name} restored", logging.WARNING)
                async for message in pubsub.listen():
                    on_message(message.get("data"))
            finally:
                await pubsub.aclose()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis went away: subscribe again with backoff
            if not lost:
                lost = True
                log_event(f"{name} lost; reconnecting", logging.WARNING, error=type(exc).__name__)
            if on_lost is not None:
                on_lost()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
