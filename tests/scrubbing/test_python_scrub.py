"""No configured secret reaches a client, mcprt's log or its audit log from a Python source, end to end: the
SDK client talks to `mcprt up` (stdio, and streamable HTTP; a handshake-era client and a 2026-07-28 one, whose
questions come in `InputRequiredResult` rounds) serving `leaky_functions.py`, whose functions send the key
they read from the environment through every channel a function has: progress and log messages (`data` and
`logger`), elicitation (form and URL mode) and sampling requests, results (text, JSON, bytes), exception text
(with `MCPRT_DEBUG=1` tracebacks), resource contents and errors, prompt messages and errors, and into mcprt's
own output: Python `logging`, `print`, the audit log. Each is scrubbed as a proxied server's are — and the same
words without the key pass unchanged, to the character."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.served import UpProcess, child_env, mcprt_http, stdio_up

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_python_scrub")]  # one shared HTTP server per run

SECRET = "wx-7f3a9c-Secret+Token/42"  # `+` and `/`: its URL- and JSON-escaped forms differ from it
SPELLINGS = (SECRET, quote(SECRET, safe=""))  # as written, and percent-encoded in a URL (`visit`)
WORDS = "using key"
FUNCTIONS = Path(__file__).with_name("leaky_functions.py")

SPEC = """\
openapi: 3.0.3
info: {title: weather, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
components: {securitySchemes: {token: {type: http, scheme: bearer}}}
security: [{token: []}]
paths:
  /now:
    get: {operationId: now, responses: {"200": {description: ok}}}
"""

MANIFEST = """\
version: 1
server:
  observability: {audit: audit.jsonl}
sources:
  weather:  # the API whose key the functions also read: so mcprt knows it as a secret
    openapi: weather.yaml
    auth: {bearer: "${WEATHER_TOKEN}"}
  kit:
    python: leaky_functions
    resources:
      "weather://note/{mode}": leaky_functions:note
      "weather://bytes/{mode}": leaky_functions:note_bytes
      "weather://broken/{mode}": leaky_functions:broken_note
    prompts: [leaky_functions:briefing, leaky_functions:broken_briefing]
"""

ENV = {"WEATHER_TOKEN": SECRET, "MCPRT_DEBUG": "1", "MCPRT_LOG_LEVEL": "debug"}


def _manifest(folder: Path) -> Path:
    shutil.copy(FUNCTIONS, folder / FUNCTIONS.name)
    (folder / "weather.yaml").write_text(SPEC, encoding="utf-8")
    path = folder / "mcp.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def served_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the HTTP server's manifest, where it writes its audit log."""
    return tmp_path_factory.mktemp("up")


@pytest.fixture(scope="module")
def up(served_folder: Path) -> Iterator[UpProcess]:
    """One `mcprt up --transport http` for the module (its stdout in `stdout.log`): each test opens its own
    session."""
    with mcprt_http(_manifest(served_folder), "--no-reload", env=child_env(**ENV),
                    stdout=served_folder / "stdout.log") as started:
        yield started


class Seen:
    """What the client was sent, by channel: the client's callbacks record into it."""

    def __init__(self) -> None:
        self.by_channel: dict[str, Any] = {}

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.by_channel["progress"] = message

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.by_channel["log"] = params.data
        self.by_channel["logger"] = params.logger

    async def elicit(self, context: Any, params: Any) -> types.ElicitResult:
        asked = params.model_dump(mode="json", by_alias=True)
        if asked.get("mode") == "url":  # the user is sent to a page: no content comes back
            self.by_channel["elicitation url"] = asked
            return types.ElicitResult(action="accept")
        self.by_channel["elicitation"] = asked
        return types.ElicitResult(action="accept", content={"ok": True})

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.by_channel["sampling"] = params.model_dump(mode="json", by_alias=True)
        return types.CreateMessageResult(role="assistant", model="m",
                                         content=types.TextContent(type="text", text="sampled"))


@asynccontextmanager
async def _client(transport: str, mode: str, seen: Seen, tmp_path: Path,
                  request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client of `mcprt up`: over stdio its own (its log in `tmp_path/stderr.log`), over HTTP a new session on
    the module's shared server (`up`, started for the first HTTP test only)."""
    callbacks: dict[str, Any] = {"logging_callback": seen.log, "elicitation_callback": seen.elicit,
                                 "sampling_callback": seen.sample}
    if mode == "auto":
        callbacks["log_level"] = "debug"  # 2026-07-28: a request's log messages are opted into per request
    with open(tmp_path / "stderr.log", "w", encoding="utf-8") as errlog:  # a stdio server's log
        if transport == "stdio":
            server: Any = stdio_client(stdio_up(_manifest(tmp_path), env=child_env(**ENV)), errlog=errlog)
        else:
            server = streamable_http_client(request.getfixturevalue("up").url)
        async with Client(server, mode=mode, **callbacks) as client:  # type: ignore[arg-type]
            assert (client.protocol_version == "2026-07-28") == (mode == "auto"), client.protocol_version
            if mode == "legacy":
                await client.set_logging_level("debug")
            yield client


async def _send_everything(client: Client, seen: Seen, mode: str) -> dict[str, Any]:
    """Every channel once with `mode` ("key": the functions add the secret to their words)."""
    got = seen.by_channel
    arguments = {"words": WORDS, "mode": mode}
    with anyio.fail_after(60):
        for tool in ("progress", "log", "elicit", "visit", "sample", "answer", "record", "blob", "fail", "refuse"):
            result = await client.call_tool(tool, arguments, progress_callback=seen.progress)
            got[f"tools/call {tool}"] = result.model_dump(mode="json", by_alias=True)
        got["resources/read note"] = (await client.read_resource(f"weather://note/{mode}")).model_dump(mode="json")
        got["resources/read bytes"] = (await client.read_resource(f"weather://bytes/{mode}")).model_dump(mode="json")
        with pytest.raises(MCPError) as broken:
            await client.read_resource(f"weather://broken/{mode}")
        got["resources/read error"] = broken.value.error.message
        got["prompts/get"] = (await client.get_prompt("briefing", {"mode": mode})).model_dump(mode="json")
        with pytest.raises(MCPError) as broken:
            await client.get_prompt("broken_briefing", {"mode": mode})
        got["prompts/get error"] = broken.value.error.message
    return got


def _blob(resource: dict[str, Any]) -> bytes:
    return base64.b64decode(resource["blob"])


def _check(got: dict[str, Any], said: str) -> None:
    """Each channel carried exactly `said` (the words, then `[redacted]` where the key was)."""
    missing = {"progress", "log", "logger", "elicitation", "elicitation url", "sampling"} - set(got)
    assert not missing, f"never reached the client (the test proves nothing for them): {missing}"
    assert got["progress"] == said
    assert got["log"] == {"note": said, said: "as a key"}
    assert got["logger"] == said.replace(WORDS, "weather")
    assert got["elicitation"]["message"] == said
    assert got["elicitation"]["requestedSchema"]["properties"]["ok"]["description"] == said
    assert got["elicitation url"]["message"] == said
    # The key, percent-encoded in the URL, is redacted; the words around it stay encoded as they were sent.
    assert got["elicitation url"]["url"] == "https://weather.example/connect?note=" + quote(said, safe="[]")
    assert got["sampling"]["systemPrompt"] == said
    assert got["sampling"]["messages"][0]["content"]["text"] == said

    def text(tool: str) -> str:
        return "\n".join(block["text"] for block in got[f"tools/call {tool}"]["content"] if block["type"] == "text")

    for tool, answered in (("progress", "reported"), ("log", "logged"), ("elicit", "accept"), ("visit", "accept"),
                           ("sample", "sampled"),
                           ("answer", said)):
        assert text(tool) == answered, got[f"tools/call {tool}"]
    assert json.loads(text("record")) == {"note": said, "notes": [said]}
    [block] = got["tools/call blob"]["content"]
    assert _blob(block["resource"]) == b"\x00\x01" + said.encode()
    assert got["tools/call fail"]["isError"] is True
    assert text("fail").startswith(f"RuntimeError: {said}\nTraceback"), text("fail")  # MCPRT_DEBUG=1: its traceback
    assert text("fail").endswith(f"RuntimeError: {said}"), text("fail")
    assert got["tools/call refuse"]["isError"] is True and text("refuse") == said
    assert got["resources/read note"]["contents"][0]["text"] == said.replace(WORDS, "the note")
    assert _blob(got["resources/read bytes"]["contents"][0]) == b"\x00\x01" + said.replace(WORDS, "the bytes").encode()
    assert got["resources/read error"] == "RuntimeError: " + said.replace(WORDS, "no note")
    messages = got["prompts/get"]["messages"]
    assert messages[0]["content"]["text"] == said.replace(WORDS, "brief me")
    assert json.loads(messages[1]["content"]["text"]) == {"key": said.replace(WORDS, "the value")}
    assert got["prompts/get error"] == "RuntimeError: " + said.replace(WORDS, "no briefing")


TRANSPORTS = [("stdio", "legacy"), ("stdio", "auto"), ("http", "legacy"), ("http", "auto")]


@pytest.mark.parametrize(("transport", "mode"), TRANSPORTS)
async def test_a_python_source_never_sends_a_configured_secret(transport: str, mode: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    seen = Seen()
    async with _client(transport, mode, seen, tmp_path, request) as client:
        got = await _send_everything(client, seen, "key")
    leaked = {channel: value for channel, value in got.items() if any(key in json.dumps(value) for key in SPELLINGS)
              or SECRET.encode() in _decoded_blobs(value)}
    assert leaked == {}, f"the secret reached the client on {sorted(leaked)}: {json.dumps(leaked)[:3000]}"
    _check(got, f"{WORDS} [redacted]")
    if transport == "stdio":  # the server has exited: its log is whole
        _no_secret_in_logs(lambda: (tmp_path / "stderr.log").read_text(encoding="utf-8"), tmp_path / "audit.jsonl")
    else:  # a shared server: what it printed is on its stdout
        up, folder = request.getfixturevalue("up"), request.getfixturevalue("served_folder")
        _no_secret_in_logs(lambda: up.log() + (folder / "stdout.log").read_text(encoding="utf-8"),
                           folder / "audit.jsonl")


@pytest.mark.parametrize(("transport", "mode"), TRANSPORTS)
async def test_what_holds_no_secret_passes_unchanged(transport: str, mode: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    seen = Seen()
    async with _client(transport, mode, seen, tmp_path, request) as client:
        got = await _send_everything(client, seen, "plain")
    _check(got, WORDS)


def _decoded_blobs(value: Any) -> bytes:
    """Every `blob` in `value`, decoded and joined (the secret would be inside the base64)."""
    if isinstance(value, dict):
        own = base64.b64decode(value["blob"]) if isinstance(value.get("blob"), str) else b""
        return own + b"".join(_decoded_blobs(item) for item in value.values())
    if isinstance(value, list):
        return b"".join(_decoded_blobs(item) for item in value)
    return b""


def _no_secret_in_logs(log: Callable[[], str], audit: Path) -> None:
    """mcprt's log (`log()`: the function's own `logging` line and `print`, and at debug its traceback) and
    the audit log's records of the failed calls (their `error`) hold `[redacted]`, never the secret."""
    said = f"{WORDS} [redacted]"
    expected = (f"weather: {said}",  # what the function logged with Python's `logging`
                f"printed: {said}",  # what it printed (scrubbing/streams.py)
                f"RuntimeError: {said}")  # the failed call's debug line, with its traceback
    deadline = time.monotonic() + 10  # a thread writes the audit log; a shared server's log is read by one
    # the audit's `error` has the call's argument values taken out too (`scrubbing.given`: `words` is one), so
    # there it reads "[redacted] [redacted]"; what matters is that the failures are recorded and the secret is not
    while not (all(line in log() for line in expected) and {"fail", "refuse"} <= _failed_saying(audit, "[redacted]")):
        missing = [line for line in expected if line not in log()]
        assert time.monotonic() < deadline, \
            f"not in the log: {missing}; in the audit: {_failed_saying(audit, '[redacted]')}"
        time.sleep(0.05)
    assert SECRET not in log(), "the secret is in mcprt's log"
    assert SECRET not in audit.read_text(encoding="utf-8"), "the secret is in the audit log"


def _failed_saying(audit: Path, said: str) -> set[str]:
    """The tools whose audit records' `error` holds `said`."""
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()] if audit.exists() else []
    return {record["tool"] for record in records if said in (record.get("error") or "")}
