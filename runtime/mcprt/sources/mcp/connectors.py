"""How to reach a proxied MCP server: start a subprocess (`command:`) or connect over HTTP (`url:`).

A connector opens one connection (an entered SDK `Client`) at a time; the source's supervisor
calls it again after a crash. It also turns a failed connection into one sentence a user can act
on (command not found, exited with code 1 and what it printed, connection refused, 401…).
"""

from __future__ import annotations

import logging
import os
import shutil
import ssl
from http import HTTPStatus
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp.client.stdio import get_default_environment
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from ... import __version__
from ...errors import McprtError
from ...home_paths import expand_home
from ...manifest.model import CommandSource, UrlSource
from ...outbound.failures import exception_chain
from ...outbound.redaction import redact_url
from ..command_line import command_argv, command_files
from .http import HttpStatus, make_http_client
from .stdio import ProcessSpec, ServerProcess, stdio_transport
from .lost import Link, attach
from .vetting import vetted

CLIENT_INFO = types.Implementation(name="mcprt", version=__version__)


class Connector(Protocol):
    target: str  # what the server is, for messages (program or URL, never a secret)
    # set by the source while it is down since it opened: what a connection writes of its own (a
    # subprocess's stderr) is logged at DEBUG, as each failed retry's reason already carries its last lines
    quiet: bool

    def connect(self, message_handler: MessageHandlerFnT, callbacks: dict[str, Any]) -> Any: ...  # → Client

    async def wait_gone(self) -> str: ...  # returns why the connection is of no use any more

    def session_gone(self) -> bool: ...  # the server said it no longer knows this connection's session

    def hangs(self) -> None: ...  # the liveness check found the server hung: end it without waiting on it

    def explain(self, exc: BaseException) -> str: ...

    def answered_status(self, exc: MCPError) -> int | None: ...


class _ProxyClient(Client):
    """The SDK's `Client`, leaving the check of a call's structuredContent against the tool's outputSchema to
    the source (`McpServerSource._conforming`): the SDK's check raises a RuntimeError quoting the offending
    value (a secret the server echoed reached the model) with no path, and re-lists the tools for a name its
    cache lacks. The source checks with mcprt's one result validator (`schema.structured_check`) and answers a
    tool error that names the server, the tool and the first problem, by path and types only."""

    async def __aenter__(self) -> Client:
        entered = await super().__aenter__()
        entered.session.validate_tool_result = _checked_by_the_source  # type: ignore[method-assign]
        return entered


async def _checked_by_the_source(name: str, result: types.CallToolResult) -> None:
    """`ClientSession.validate_tool_result`, which the source does itself (see `_ProxyClient`)."""


def _client(transport: Any, message_handler: MessageHandlerFnT, callbacks: dict[str, Any], mode: str,
            source: str, log: logging.Logger) -> Client:
    # No response cache: a proxy must see the upstream's listing as it is now, every time.
    # `callbacks` relay sampling, elicitation, roots and logs to the calling client (see relay.py).
    # Every message from the server is checked on its way in (vetting.py): a malformed item or
    # message costs only itself, with a warning naming `source`.
    # Its `Link` tells the source a lost connection from a server's own -32000 error (lost.py).
    link = Link()
    return attach(_ProxyClient(vetted(transport, source, log, link), mode=mode, cache=None,
                               message_handler=message_handler, client_info=CLIENT_INFO, **callbacks), link)


class StdioConnector:
    """Starts the server as a subprocess in its own process group."""

    def __init__(self, spec: ProcessSpec, source: str, log: Any) -> None:
        """`source`: the manifest's name for the source, which its warnings name."""
        self.spec = spec
        self.source = source
        self.log = log
        self.target = Path(spec.argv[0]).name
        self.files = spec.files
        self.process: ServerProcess | None = None
        self.mode = "legacy"  # see connect()
        self.quiet = False  # see Connector

    def _stderr_level(self) -> int:
        return logging.DEBUG if self.quiet else logging.INFO

    def _started(self, process: ServerProcess) -> None:
        self.process = process

    @asynccontextmanager
    async def connect(self, message_handler: MessageHandlerFnT, callbacks: dict[str, Any]) -> AsyncIterator[Client]:
        """Handshake era first, the 2026-07-28 era (in a fresh process) if the server refuses `initialize`.

        A proxy needs the handshake era wherever the server speaks it: a server written with the
        SDK's `MCPServer` sends `ctx.elicit`, `create_message`, log messages and
        `send_tool_list_changed` only on a handshake-era session; on a 2026-07-28 one each fails
        with "no back-channel for server-initiated requests" (or is dropped). A 2026-only server
        answers `initialize` with an error; it is then restarted in "auto" mode, which is remembered.
        """
        async with AsyncExitStack() as stack:
            self.process = None
            self.spec = resolved(self.spec)  # a program missing at start may have been installed since
            try:
                connected = await stack.enter_async_context(
                    _client(stdio_transport(self.spec, self.log, self._started, self._stderr_level), message_handler, callbacks,
                            self.mode, self.source, self.log))
            except Exception as exc:  # the SDK may wrap it in an exception group
                leaf = _leaf(exc)
                if self.mode != "legacy" or not isinstance(leaf, MCPError) or leaf.code not in _ERA_REFUSALS:
                    raise
                self.mode = "auto"
                self.process = None
                connected = await stack.enter_async_context(
                    _client(stdio_transport(self.spec, self.log, self._started, self._stderr_level), message_handler, callbacks,
                            self.mode, self.source, self.log))
            yield connected

    async def wait_gone(self) -> str:
        if self.process is not None:
            await self.process.gone.wait()
        else:
            await anyio.sleep_forever()
        return "the server process ended"

    def session_gone(self) -> bool:
        return False  # a process's one connection is its session: it ends with the process (wait_gone)

    def hangs(self) -> None:
        """The process answers nothing (frozen, SIGSTOPped, deadlocked): its stop kills its group at once
        instead of granting the graces a working server gets to exit by itself (`stdio._stop`)."""
        if self.process is not None:
            self.process.hung = True

    def answered_status(self, exc: MCPError) -> int | None:
        return None  # no HTTP under stdio: every error is the server's own

    def explain(self, exc: BaseException) -> str:
        leaf = _leaf(exc)
        if self.process is not None and self.process.exited_by_itself:
            return self.process.describe_exit()
        if isinstance(leaf, OSError) and self.process is None:
            return f"cannot start '{self.target}': {leaf.strerror or leaf}"
        tail = ""
        if self.process is not None and self.process.stderr_tail:
            tail = "; its last stderr lines: " + " | ".join(list(self.process.stderr_tail)[-5:])
        return _describe(leaf) + tail


class HttpConnector:
    """Connects to a remote server over streamable HTTP with the source's headers and credentials."""

    def __init__(self, config: UrlSource, source: str, log: logging.Logger, tls: ssl.SSLContext | None = None,
                 files: tuple[Path, ...] = ()) -> None:
        """`source`: the manifest's name for the source, which its warnings name; `tls`: its `tls:` as a
        context (None: the default trust); `files`: the files that names, watched (a rotated CA reopens it)."""
        self.config = config
        self.tls = tls
        self.files = files
        self.source = source
        self.log = log
        self.target = redact_url(config.url)
        self.status = HttpStatus()
        self.mode = "legacy"  # see connect()
        self.quiet = False  # see Connector (an HTTP connection logs nothing of its own per attempt)

    @asynccontextmanager
    async def connect(self, message_handler: MessageHandlerFnT, callbacks: dict[str, Any]) -> AsyncIterator[Client]:
        """Handshake era first, the 2026-07-28 era if the server refuses `initialize`.

        Measured on loopback against the SDK 2.3.0 server: a handshake-era tools/call takes ~1.6 ms,
        a 2026-07-28 one ~44 ms, with the same features for a proxy (list_changed arrives on the
        session's GET stream). A server that speaks only 2026-07-28 answers `initialize` with an
        error; then this source connects in "auto" mode and remembers it.
        """
        self.status.new_session()
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(make_http_client(self.config, self.status, self.tls))

            def client(mode: str) -> Client:
                return _client(streamable_http_client(self.config.url, http_client=http), message_handler, callbacks,
                               mode, self.source, self.log)

            try:
                connected = await stack.enter_async_context(client(self.mode))
            except Exception as exc:  # the SDK may wrap it in an exception group
                leaf = _leaf(exc)
                if self.mode != "legacy" or not isinstance(leaf, MCPError) or leaf.code not in _ERA_REFUSALS:
                    raise
                self.mode = "auto"
                self.status.new_session()
                connected = await stack.enter_async_context(client("auto"))
            yield connected

    async def wait_gone(self) -> str:
        # An HTTP server's absence shows on the next call; a restart also on the session's GET stream,
        # which the SDK reopens with the old session id and which then meets a 404.
        await self.status.session_gone.wait()
        return SESSION_GONE

    def session_gone(self) -> bool:
        return self.status.session_gone.is_set()

    def hangs(self) -> None:
        pass  # no process of ours: the connection is dropped, the remote server is its operator's

    def answered_status(self, exc: MCPError) -> int | None:
        """The HTTP status a request was answered with when `exc` is the SDK's stand-in for it (a non-2xx
        answer without a JSON-RPC error body: INTERNAL_ERROR "Server returned an error response"), else
        None: an error the server itself sent. The status is the oldest unclaimed one the transport
        noted (`HttpStatus.claim`: concurrent error answers are claimed one each, in order)."""
        if exc.code != types.INTERNAL_ERROR or exc.message != SDK_HTTP_ERROR:
            return None
        return self.status.claim()

    def explain(self, exc: BaseException) -> str:
        leaf = _leaf(exc)
        if self.status.session_gone.is_set():  # its 404 is no wrong path: the session is what is gone
            return SESSION_GONE
        if isinstance(leaf, httpx2.ConnectError):
            return f"cannot connect to {self.target}: {_reason(leaf)}"
        if isinstance(leaf, httpx2.TimeoutException):
            return f"{self.target} did not answer in time"
        status = leaf.response.status_code if isinstance(leaf, httpx2.HTTPStatusError) else self.status.last_error
        if status is not None:
            return f"{self.target} answered HTTP {status} {_phrase(status)}{_status_hint(status)}".replace("  ", " ")
        return f"{self.target}: {_describe(leaf)}"


SDK_HTTP_ERROR = "Server returned an error response"  # mcp.client.streamable_http's stand-in for a non-2xx answer
SESSION_GONE = "the server no longer knows its session (HTTP 404 for its Mcp-Session-Id: it restarted or ended it)"
_ERA_REFUSALS = {types.UNSUPPORTED_PROTOCOL_VERSION, types.INVALID_REQUEST, types.METHOD_NOT_FOUND}


def process_spec(config: CommandSource, base_dir: Path, *, may_start_down: bool = False) -> ProcessSpec:
    """Resolve program, arguments, environment and folder; raise McprtError for what cannot work
    (`may_start_down`: a program not found yet is left unresolved, to be looked for at each start)."""
    program = command_argv(config.command)
    if not program or not program[0]:
        raise McprtError("`command` is empty")
    argv = program + [str(arg) for arg in config.args]
    cwd = (base_dir / config.cwd).resolve() if config.cwd else base_dir.resolve()
    if not cwd.is_dir():
        raise McprtError(f"cwd '{config.cwd}' is not a folder ({cwd})")
    # The server gets what an MCP host gives one: the SDK's small default set (HOME, LOGNAME, PATH,
    # SHELL, TERM, USER) plus the manifest's `env` — never mcprt's whole environment, which holds the
    # secrets of every other source and of `server.auth` (a third-party server read them all).
    # An empty value leaves the variable unset, so `NAME: ${NAME:-}` passes NAME on only when mcprt has
    # it: set but empty, some mean something else (an empty SSL_CERT_FILE loads no CA file at all).
    env = get_default_environment()
    for name, value in config.env.items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    spec = ProcessSpec(argv=argv, env=env, cwd=cwd, files=command_files(argv[1:], cwd))
    try:
        return resolved(spec)
    except McprtError:
        if not may_start_down:
            raise
        return spec  # resolved again at each start (`StdioConnector.connect`): it may be installed later


def resolved(spec: ProcessSpec) -> ProcessSpec:
    """`spec` with its program found (a path relative to its folder, or a name on its PATH); raise
    McprtError saying why it cannot be started (missing, not executable)."""
    program, cwd = spec.argv[0], spec.cwd
    if os.sep in program or (os.altsep and os.altsep in program):
        path = cwd / expand_home(program)  # `~/bin/server` as a shell would (`home_paths`); an absolute path stays
        if not path.is_file():
            raise McprtError(f"command '{program}' does not exist (looked in {cwd})")
        if not os.access(path, os.X_OK):
            raise McprtError(f"command '{program}' is not executable")
        found: str | None = str(path)
    else:
        found = shutil.which(program, path=spec.env.get("PATH"))
        if found is None:
            raise McprtError(f"command '{program}' was not found on PATH")
    return replace(spec, argv=[str(found), *spec.argv[1:]])


def _leaf(exc: BaseException) -> BaseException:
    """The first real cause inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, McprtError):  # already a sentence for people (`resolved`)
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "the server did not finish starting (initialize and tools/list) in time"
    if isinstance(exc, MCPError):
        return f"the server answered with an error: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reason(exc: httpx2.ConnectError) -> str:
    chain = exception_chain(exc)
    text = " ".join(str(e).lower() for e in chain)
    if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused (is the server running?)"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "unknown host"
    return str(exc) or "connection failed"


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return " (check the source's `auth` and `headers`)"
    if status == 404:
        return " (check the URL's path, e.g. /mcp)"
    return ""
