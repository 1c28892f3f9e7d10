"""`mcprt up` over stdio: the handshake and the first tools/list answered before the SDK is loaded.

Importing the MCP SDK costs about 0.8 s of CPU (its pydantic type modules for every protocol
version), more than compiling a large description. A stdio client's first messages are almost
always `initialize`, `notifications/initialized` and `tools/list`, whose answers depend only on
the compiled tool set and the manifest's `server:` block. So `answer_early()` reads the wire
before the SDK exists and answers exactly these, as the SDK server would (a test compares the
two on every handshake-era protocol version); the SDK is imported right after, and everything
the early phase consumed is handed over (`Handoff.replay`):

- `initialize` is answered here and replayed to the SDK under a private id whose response is not
  written (`StdioWire.drop_response_id`), so the SDK's session state (client capabilities,
  negotiated version) is the same as if it had answered;
- `notifications/initialized` is replayed; `ping` and `tools/list` (first page, no params) are
  answered here and not replayed (they change no state);
- anything else (another method, a response, a notification, JSON the SDK should judge, a
  protocol version this module does not know, `_meta` or extra params) ends the early phase before
  it is answered: the SDK answers it as usual.

Only the simple case is answered early (`eligible()`): nothing that would observe the request
(traces, the stdio metrics listener), no resources/prompts/completions (their capabilities are the
SDK's to derive) and no tool carrying upstream fields the SDK's per-version sieve may drop.
Spec: MCP lifecycle (basic/lifecycle: initialize, version negotiation), tools/list
(server/tools), ping (basic/utilities/ping).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..identity.principal import STDIO
from ..scrubbing import SECRETS
from .eras import shape_result

if TYPE_CHECKING:
    from ..manifest.model import ServerConfig
    from ..toolset.toolset import ToolSet
    from .stdio import StdioWire
    from .stop_signals import PendingSignals

# mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS (not imported: that loads the SDK's types; a test
# keeps the two equal). A client asking for any other version is answered by the SDK.
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
HANDOFF_ID = "mcprt-early-initialize"  # the replayed initialize's id (a string no client's counter makes)
IDLE_HANDOFF_S = 1.0  # a client quiet this long after the handshake gets the SDK anyway (notifications)
_INITIALIZE_KEYS = frozenset({"protocolVersion", "capabilities", "clientInfo"})

log = logging.getLogger("mcprt")


@dataclass
class Handoff:
    """What the early phase leaves for the SDK: the lines to replay first, in order; `stopped`
    when stdin closed or a signal asked to stop (nothing to serve)."""

    replay: list[str] = field(default_factory=list)
    stopped: bool = False
    answered: list[str] = field(default_factory=list)  # methods answered here, for the log


def server_instructions(configured: str | None, toolset: ToolSet) -> str | None:
    """The manifest's instructions, then what the tool set asks to add (discovery mode's hint), with every
    configured secret redacted as tool descriptions are (review of shapeleft, problem 3: a bearer token pasted
    into `server.instructions` reached every client at initialize as it was)."""
    hint = toolset.instructions
    joined = (f"{configured.rstrip()}\n\n{hint}" if configured else hint) if hint else configured
    return SECRETS.scrub_text(joined) if joined and SECRETS else joined


def eligible(toolset: ToolSet, *, observed: bool) -> bool:
    """Whether `answer_early` may answer for this tool set (see the module docstring).

    `observed`: traces or the stdio metrics listener are on (they time every request).
    """
    if observed:
        return False
    offers = toolset.offers
    if offers is not None and (offers.has_resources or offers.has_prompts or offers.completions):
        return False
    return not any(tool.operation.extra for tool in toolset.listed)


def initialize_result(config: ServerConfig, toolset: ToolSet, version: str) -> dict[str, Any]:
    """The `initialize` result the SDK server gives for a tool set without resources or prompts:
    tools with `listChanged` (stdio can always notify), logging (`logging/setLevel` is served)."""
    result: dict[str, Any] = {
        "capabilities": {"logging": {}, "tools": {"listChanged": True}},
        "protocolVersion": version,
        "serverInfo": {"name": config.name, "version": __version__},
    }
    instructions = server_instructions(config.instructions, toolset)
    if instructions is not None:
        result["instructions"] = instructions
    return result


def _dumps(value: Any) -> bytes:
    """Compact JSON, UTF-8 (as the SDK writes); orjson when it can encode the value, else `json`
    (a lone surrogate, which UTF-8 cannot carry, as its `\\u` escape)."""
    try:
        import orjson

        return orjson.dumps(value)
    except (ImportError, TypeError):  # orjson.JSONEncodeError is a TypeError (e.g. an int above 64 bits)
        pass
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _response(request_id: Any, result_json: bytes) -> bytes:
    return b'{"jsonrpc":"2.0","id":' + _dumps(request_id) + b',"result":' + result_json + b"}\n"


def request_id(message: dict[str, Any]) -> Any:
    """The id of a well-formed request (str or int, JSON-RPC 2.0 §4), else None."""
    rid = message.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return None
    return rid


def _parse(line: str) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return None
    return message


def _plain_initialize(message: dict[str, Any]) -> str | None:
    """The requested version when `initialize` is one this module may answer, else None."""
    params = message.get("params")
    if request_id(message) is None or not isinstance(params, dict) or not _INITIALIZE_KEYS.issuperset(params):
        return None
    version, capabilities, client = params.get("protocolVersion"), params.get("capabilities"), params.get("clientInfo")
    if version not in HANDSHAKE_VERSIONS or not isinstance(capabilities, dict):
        return None
    if not all(isinstance(v, dict) for v in capabilities.values()):
        return None
    if not isinstance(client, dict) or not isinstance(client.get("name"), str) \
            or not isinstance(client.get("version"), str):
        return None
    return version


class _Listing:
    """The tools/list result bytes, serialized once (the early phase serves one client, one version)."""

    def __init__(self, toolset: ToolSet) -> None:
        self._toolset = toolset
        self._json: bytes | None = None

    def result_json(self, version: str) -> bytes:
        if self._json is None:  # shaped for the negotiated version, as the SDK path's answer is (eras.py)
            self._json = _dumps(shape_result("tools/list", version, {"tools": self._toolset.list_tools_for(STDIO)}))
        return self._json


async def answer_early(wire: StdioWire, config: ServerConfig, current: Callable[[], ToolSet],
                       signals: PendingSignals) -> Handoff:
    """Answer the handshake and the first tools/list on `wire` (see the module docstring); returns
    once the SDK is needed, with what it must replay, or when the client left (`stopped`).

    A caught SIGINT/SIGTERM ends it as a stop, SIGHUP as a hand-over (the server then reloads).
    """
    toolset = current()
    listing = _Listing(toolset)
    handoff = Handoff()
    initialize: dict[str, Any] | None = None
    initialized = False

    def replay(*extra: str) -> Handoff:
        if initialize is not None:
            handoff.replay.append(json.dumps({**initialize, "id": HANDOFF_ID}))
            wire.drop_response_id = HANDOFF_ID
        if initialized:
            handoff.replay.append(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        handoff.replay.extend(extra)
        return handoff

    while True:
        line = await _next_line(wire, signals, idle=IDLE_HANDOFF_S if initialize is not None else None)
        if line is None:  # EOF or SIGINT/SIGTERM
            handoff.stopped = True
            return handoff
        if line == "":  # idle, or SIGHUP: the SDK takes over
            return replay()
        message = _parse(line)
        method = message.get("method") if message is not None else None
        if message is None or current() is not toolset:
            return replay(line)
        if initialize is None:
            version = _plain_initialize(message) if method == "initialize" else None
            if version is None:
                return replay(line)
            await wire.send(_response(message["id"], _dumps(initialize_result(config, toolset, version))))
            initialize = message
            handoff.answered.append("initialize")
        elif method == "notifications/initialized" and "id" not in message and not initialized:
            initialized = True
        elif method == "ping" and request_id(message) is not None and not message.get("params"):
            await wire.send(_response(message["id"], b"{}"))
            handoff.answered.append("ping")
        elif method == "tools/list" and initialized and request_id(message) is not None \
                and not message.get("params"):
            await wire.send(_response(message["id"], listing.result_json(initialize["params"]["protocolVersion"])))
            handoff.answered.append("tools/list")
            return replay()  # load the SDK now, while the client reads the list
        else:
            return replay(line)


async def _next_line(wire: StdioWire, signals: PendingSignals, idle: float | None) -> str | None:
    """The next line; None at EOF or on SIGINT/SIGTERM; "" after `idle` seconds or on SIGHUP."""
    if signals.fired.is_set():
        return None if signals.stop else ""
    reading = asyncio.ensure_future(wire.lines.__anext__())
    fired = asyncio.ensure_future(signals.fired.wait())
    try:
        done, _ = await asyncio.wait({reading, fired}, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
    finally:
        fired.cancel()
    if reading in done:
        try:
            return reading.result()
        except StopAsyncIteration:
            return None
    reading.cancel()  # the queue keeps the line for the SDK: a cancelled get() takes nothing
    try:
        line = await reading
    except asyncio.CancelledError:
        line = None
    except StopAsyncIteration:
        return None
    if line is not None:  # it arrived just as the wait ended: not lost, answered now
        return line
    if signals.fired.is_set():
        return None if signals.stop else ""
    return ""
