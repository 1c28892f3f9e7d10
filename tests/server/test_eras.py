"""Every answer a handshake-era client gets is what its negotiated protocol version defines.

The SDK shapes every handshake-era result with its 2025-11-25 models, so a 2024-11-05 client was
sent `title` and `annotations` in tools/list, `structuredContent`, `resource_link` and `audio`
blocks, `icons`, `_meta` on tools and blocks: fields its version's schema does not have. Raw JSON-RPC
clients of each version (stdio and streamable HTTP) call a proxied SDK server offering all of them,
and every response is validated against that version's official schema (tests/fixtures/mcp-schema)
with fields the schema does not define refused — a check of the kind, not of one field. Content an
older client cannot receive must arrive degraded to text, not vanish.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.mcp_schema import check, check_notification
from tests.support.served import UpProcess, child_env, launch_command, mcprt_http
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.xdist_group("test_eras")  # one started HTTP server per run, not one per worker
VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

SERVER = '''
import base64
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import (Annotations, AudioContent, Completion, EmbeddedResource, Icon, ImageContent, ResourceLink,
                       TextContent, TextResourceContents, ToolAnnotations)
from pydantic import BaseModel

app = MCPServer("eras")
ICON = [Icon(src="https://example.com/icon.png", mime_type="image/png")]


class Weather(BaseModel):
    city: str
    degrees: int


@app.tool(title="Weather now", annotations=ToolAnnotations(title="Weather", read_only_hint=True), icons=ICON,
          meta={"example.com/x": 1})
def weather(city: str) -> Weather:
    """Structured output, so an outputSchema and structuredContent."""
    return Weather(city=city, degrees=21)


@app.tool(title="All kinds")
def kinds() -> list:
    """Every content block type, with _meta and annotations from later versions."""
    return [
        TextContent(type="text", text="plain", annotations=Annotations(audience=["user"], last_modified="2025-01-01T00:00:00Z"),
                    _meta={"example.com/x": 1}),
        ImageContent(type="image", data=base64.b64encode(b"png!").decode(), mime_type="image/png"),
        AudioContent(type="audio", data=base64.b64encode(b"wav!wav!").decode(), mime_type="audio/wav"),
        ResourceLink(type="resource_link", uri="file:///data/report.txt", name="report", mime_type="text/plain",
                     description="The monthly report", icons=ICON),
        EmbeddedResource(type="resource", resource=TextResourceContents(uri="file:///a.txt", text="a",
                                                                         _meta={"example.com/x": 1})),
    ]


@app.tool()
async def slow(ctx: Context) -> str:
    """Reports progress with a message (a 2025-03-26 field)."""
    await ctx.report_progress(1, 2, "half way")
    return "done"


@app.tool()
async def chatty(ctx: Context) -> str:
    """Logs a line and tells the subscribers of the notes that they changed."""
    await ctx.info("a log line")
    await ctx.session.send_resource_updated("file:///notes.txt")
    return "chatted"


@app.completion()
async def complete(ref, argument, context):
    return Completion(values=["Ada", "Alan"], total=2, has_more=False)


@app.resource("file:///notes.txt", title="Notes", icons=ICON, mime_type="text/plain",
              annotations=Annotations(priority=0.5, last_modified="2025-01-01T00:00:00Z"))
def notes() -> str:
    return "the notes"


@app.resource("file:///docs/{name}", title="A doc", icons=ICON)
def doc(name: str) -> str:
    return f"doc {name}"


@app.prompt(title="Greeting", icons=ICON)
def greet(name: str) -> str:
    """Greets someone."""
    return f"Hello {name}"


@app.prompt(title="Linked")
def linked() -> list:
    """A message that is a resource link (with icons, a 2025-11-25 field)."""
    return [UserMessage(content=ResourceLink(type="resource_link", uri="file:///data/report.txt", name="report",
                                             icons=ICON))]


app.run()
'''


REQUESTS = [
    ("tools/list", {}),
    ("tools/call", {"name": "weather", "arguments": {"city": "Oslo"}}),
    ("tools/call", {"name": "kinds", "arguments": {}}),
    ("resources/list", {}),
    ("resources/templates/list", {}),
    ("resources/read", {"uri": "file:///notes.txt"}),
    ("prompts/list", {}),
    ("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}),
    ("tools/call", {"name": "slow", "arguments": {}, "_meta": {"progressToken": "p"}}),
    ("prompts/get", {"name": "linked", "arguments": {}}),
    ("completion/complete", {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}}),
    ("logging/setLevel", {"level": "debug"}),
    ("resources/subscribe", {"uri": "file:///notes.txt"}),
    ("tools/call", {"name": "chatty", "arguments": {}}),
]


def manifest(tmp_path: Path) -> Path:
    (tmp_path / "eras_server.py").write_text(SERVER, encoding="utf-8")
    path = tmp_path / "mcp.yaml"
    path.write_text(f'version: 1\nsources:\n  up:\n    command: {script_command_yaml("eras_server.py")}\n', encoding="utf-8")
    return path


def initialize(version: str) -> dict[str, Any]:
    return {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}


Exchange = tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]  # (method, response)s, notifications


def exchange_stdio(path: Path, version: str) -> Exchange:
    process = subprocess.Popen(launch_command(path, "--no-reload"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=child_env(), cwd=str(path.parent))
    assert process.stdin is not None and process.stdout is not None
    notes: list[dict[str, Any]] = []

    def ask(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}) + "\n")
        process.stdin.flush()
        while True:
            message = json.loads(process.stdout.readline())
            if message.get("id") == request_id:
                return message
            notes.append(message)

    try:
        answers = [("initialize", ask(0, "initialize", initialize(version)))]
        process.stdin.write('{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        answers += [(method, ask(n, method, params)) for n, (method, params) in enumerate(REQUESTS, 1)]
        return answers, notes
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def http_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """One `mcprt up --transport http` shared by the HTTP cases: each opens its own session with its
    own version (what a session is sent, its log level and subscriptions are per session)."""
    with mcprt_http(manifest(tmp_path_factory.mktemp("eras")), "--no-reload") as up:
        yield up


def exchange_http(up: UpProcess, version: str) -> Exchange:
    notes: list[dict[str, Any]] = []
    with httpx.Client(timeout=30) as http:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

        def post(body: dict[str, Any]) -> httpx.Response:
            return http.post(up.url, json=body, headers=headers)

        def answer(response: httpx.Response) -> dict[str, Any]:
            assert response.status_code == 200, response.text
            if response.headers["content-type"].startswith("application/json"):
                return response.json()
            events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
            notes.extend(event for event in events if "id" not in event)
            return next(event for event in events if "id" in event)

        first = post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize(version)})
        answers = [("initialize", answer(first))]
        headers["Mcp-Session-Id"] = first.headers["mcp-session-id"]
        headers["MCP-Protocol-Version"] = version
        assert post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
        for n, (method, params) in enumerate(REQUESTS, 1):
            answers.append((method, answer(post({"jsonrpc": "2.0", "id": n, "method": method, "params": params}))))
        return answers, notes


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_every_answer_is_what_the_negotiated_version_defines(transport: str, version: str, tmp_path: Path,
                                                             request: pytest.FixtureRequest) -> None:
    if transport == "stdio":  # its own process: one client per stdio server
        answers, notes = exchange_stdio(manifest(tmp_path), version)
    else:
        answers, notes = exchange_http(request.getfixturevalue("http_up"), version)
    # The SDK server advertises no resource subscriptions, so no era may subscribe (MCP: `resources.subscribe`
    # is a capability): the answer is Method not found, saying why, not a success with no updates ever sent.
    (refused,) = [response for method, response in answers if method == "resources/subscribe"]
    assert refused["error"]["code"] == -32601 and "resources.subscribe is not advertised" in refused["error"]["message"]
    results = [check(version, method, response) for method, response in answers if method != "resources/subscribe"]
    for note in notes:
        check_notification(version, note)
    assert "notifications/message" in {note.get("method") for note in notes}
    linked = results[10]["messages"][0]["content"]
    if version in ("2024-11-05", "2025-03-26"):
        assert linked["type"] == "text" and "file:///data/report.txt" in linked["text"], linked
    else:
        assert linked["type"] == "resource_link" and ("icons" in linked) == (version == "2025-11-25"), linked
    assert results[11]["completion"]["values"] == ["Ada", "Alan"]
    assert results[0]["protocolVersion"] == version
    # What an older client cannot receive degrades to text; nothing vanishes.
    kinds = results[3]["content"]
    assert len(kinds) == 5
    texts = [block.get("text", "") for block in kinds if block["type"] == "text"]
    if version == "2024-11-05":
        assert any("audio/wav" in text for text in texts), kinds
    else:
        assert any(block["type"] == "audio" for block in kinds)
    if version in ("2024-11-05", "2025-03-26"):
        assert any("file:///data/report.txt" in text and "The monthly report" in text for text in texts), kinds
        assert json.loads(results[2]["content"][0]["text"]) == {"city": "Oslo", "degrees": 21}
    else:
        assert any(block["type"] == "resource_link" for block in kinds)
        assert results[2]["structuredContent"] == {"city": "Oslo", "degrees": 21}
    tools = {tool["name"]: tool for tool in results[1]["tools"]}
    assert ("title" in tools["weather"]) == (version >= "2025-06-18")
    assert ("annotations" in tools["weather"]) == (version >= "2025-03-26")
    (progress,) = [note["params"] for note in notes if note.get("method") == "notifications/progress"]
    assert progress["progressToken"] == "p" and progress["progress"] == 1
    assert progress.get("message") == (None if version == "2024-11-05" else "half way")  # 2025-03-26's field
