"""A resource template variable cannot step out of its place, whichever source serves the template.

Found by a pentest trial: `docs://..%2F..%2F..%2Fetc%2Fpasswd` read /etc/passwd through a Python resource
`docs://{path}` whose function joined the value to its folder, because the variable was matched as one
segment and then percent-decoded. The rule (`mcprt.path_segments`, the one OpenAPI path parameters follow):
a `{var}` value holds no `/` or `\\` and is not `.`/`..`, a `{+var}` value is a relative path with no
`.`/`..` segment, neither holds NUL — in any form a reader may decode it to. A refused URI is -32602
(invalid params) naming the variable, and never reaches the function or the proxied server.

Real `mcprt up` over streamable HTTP, the MCP SDK client, a Python source and a proxied stdio MCP server
(the SDK's MCPServer) that reports every value it was handed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support.held_client import held
from tests.support.served import UpProcess, http_client, mcprt_http
from tests.support.zygote import script_command_yaml

RAW_SERVER = Path(__file__).parents[1] / "support" / "raw_resource_server.py"

pytestmark = [pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]  # subscribe: 2025-11-25

PYTHON_RESOURCES = '''
from pathlib import Path

DOCS = Path(__file__).parent / "docs"


def doc(path: str) -> str:
    """A document of the docs folder (the usual pattern: the value joined to a base directory)."""
    return (DOCS / path).read_text()


def echo(text: str) -> str:
    """Echo text back (a python source lists one tool at least)."""
    return text


def seen(path: str) -> str:
    """The value the function was handed."""
    return repr(path)
'''

PROXIED = '''
from mcp.server import MCPServer

server = MCPServer("notes", log_level="CRITICAL")
SEEN = []


@server.resource("notes://{name}")
def note(name: str) -> str:
    SEEN.append(name)
    return "name=" + repr(name)


@server.resource("seen://all")
def seen() -> str:
    return repr(SEEN)


server.run("stdio")
'''


# The resource templates listed by a proxied server with no path security of its own (review of hostfix,
# problem 1; `tests/support/raw_resource_server.py`): it reads every URI it is sent, and records each.
RAW_TEMPLATES = [{"uriTemplate": "raw://{name}", "name": "raw"},
                 {"uriTemplate": "rawfile:///{+path}", "name": "rawfile"}]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resource_paths")


@pytest.fixture(scope="module")
def up(folder: Path) -> Iterator[UpProcess]:
    (folder / "docs").mkdir()
    (folder / "docs" / "readme.txt").write_text("hello doc\n")
    (folder / "secret.txt").write_text("outside the docs folder\n")
    (folder / "pyres.py").write_text(PYTHON_RESOURCES)
    (folder / "notes_server.py").write_text(PROXIED)
    (folder / "raw_templates.json").write_text(json.dumps(RAW_TEMPLATES))
    (folder / "mcp.yaml").write_text(f"""version: 1
server: {{name: paths}}
sources:
  py:
    python: [pyres:echo]
    resources:
      "docs://{{path}}": pyres:doc
      "files://{{path}}": pyres:seen
      "tree://{{+path}}": pyres:seen
      "walk://root{{/path*}}": pyres:seen
  notes:
    command: {script_command_yaml(folder / "notes_server.py")}
  raw:
    prefix: r
    command: {script_command_yaml(RAW_SERVER, str(folder / "raw_seen.log"), str(folder / "raw_templates.json"))}
""")
    with mcprt_http(folder / "mcp.yaml") as served:
        yield served


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(up: UpProcess) -> AsyncIterator[Client]:
    async with held(http_client(up.url)) as opened:
        yield opened


async def _text(client: Client, uri: str) -> str:
    result = await client.read_resource(uri)
    return result.contents[0].text  # type: ignore[union-attr]


async def _refusal(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    return raised.value


async def test_a_plain_value_is_read(client: Client) -> None:
    assert await _text(client, "docs://readme.txt") == "hello doc\n"
    assert await _text(client, "files://a%20b.txt") == "'a b.txt'"  # decoded once, as RFC 6570 encodes it
    assert await _text(client, "files://..a") == "'..a'"  # dots inside a name are no dot segment
    assert await _text(client, "tree://a/b/c.txt") == "'a/b/c.txt'"  # a reserved `{+var}` may hold `/`
    assert await _text(client, "walk://root/a/b") == "'a/b'"  # `{/var*}`: segments, each checked


# (the URI, the part of the message saying why): every form that would carry `/`, `\`, a dot segment or NUL
STEPPING_OUT = [
    ("docs://..%2F..%2F..%2Fetc%2Fpasswd", "must not contain '/'"),
    ("docs://..%2f..%2fsecret.txt", "must not contain '/'"),
    ("docs://%2Fetc%2Fhostname", "must not contain '/'"),
    ("docs://..%252F..%252Fsecret.txt", "must not contain '/'"),  # decoded twice by a careless reader
    ("docs://%2E%2E", "must not be '.' or '..'"),
    ("docs://%2e", "must not be '.' or '..'"),
    ("docs://..", "must not be '.' or '..'"),
    ("docs://..%5Csecret.txt", "must not contain '/' or '\\'"),
    ("docs://..\\secret.txt", "must not contain '/' or '\\'"),
    ("docs://readme.txt%00.png", "NUL"),
    ("docs://..%EF%BC%8Fsecret.txt", "must not contain '/'"),  # U+FF0F FULLWIDTH SOLIDUS, NFKC '/'
    ("docs://..%E2%88%95secret.txt", None),  # U+2215 DIVISION SLASH: no slash under NFKC, one file name
    ("files://a%2F..%2F..%2Fetc%2Fpasswd", "must not contain '/'"),
    ("files://%EF%BC%8E%EF%BC%8E", "must not be '.' or '..'"),  # fullwidth full stops, NFKC '..'
    ("tree://a/../../secret.txt", "must not contain '.' or '..' as a segment"),
    ("tree://a/%2E%2E/secret.txt", "must not contain '.' or '..' as a segment"),
    ("tree:///etc/passwd", "must be a relative path"),
    ("tree://%2Fetc/passwd", "must be a relative path"),
    ("tree://a\\..\\secret.txt", "must not contain '\\'"),
    ("tree://a%00", "NUL"),
    ("walk://root/a/../b", "must not be '.' or '..'"),
    ("walk://root/a/%2E%2E/b", "must not be '.' or '..'"),
    ("walk://root/a%2F..%2F..%2Fb", "must not contain '/'"),
]


@pytest.mark.parametrize(("uri", "why"), STEPPING_OUT, ids=[uri for uri, _ in STEPPING_OUT])
async def test_a_python_template_variable_cannot_step_out(client: Client, uri: str, why: str | None) -> None:
    if why is None:  # no separator in any reading: one (missing) file in the folder, not a climb out of it
        error = await _refusal(client, uri)
        assert "No such file" in error.error.message and "passwd" not in error.error.message
        return
    error = await _refusal(client, uri)
    assert error.error.code == -32602, error.error
    variable = "path"
    assert f"the value of `{variable}` in the URI template" in error.error.message and why in error.error.message


@pytest.mark.parametrize("uri", ["notes://..%2F..%2Fetc%2Fpasswd", "notes://%2E%2E", "notes://a%5Cb",
                                 "notes://a%00b", "notes://%EF%BC%8F"])
async def test_a_proxied_template_variable_is_refused_before_the_server_sees_it(client: Client, uri: str) -> None:
    error = await _refusal(client, uri)
    assert error.error.code == -32602 and "the value of `name` in the URI template notes://{name}" in error.error.message
    assert await _text(client, "notes://plain-name") == "name='plain-name'"
    handed = await _text(client, "seen://all")
    assert "/" not in handed and ".." not in handed and "\\" not in handed, handed  # only plain names got through


# Review of hostfix, problem 1: a URI that did not fully match mcprt's pattern of a listed template (a `?x` or
# `#x` after it, a raw `/` in a `{var}` value) was passed on unchecked, on read and subscribe alike; a server
# whose matcher is looser (FastMCP 1.x reads `{name}` as `[^/]+`) took the climbing value. Now each listed
# template is matched leniently too, and a URI matching none has every segment checked.
BYPASSES = [
    "r+raw://..%2F..%2Fetc%2Fpasswd?x",
    "r+raw://..%2F..%2Fetc%2Fpasswd#x",
    "r+raw://%2E%2E?",
    "r+raw://..%5C..%5Cx?q",
    "r+raw://a/../../etc/passwd",
    "r+raw://../etc/passwd",
    "r+rawfile:////etc/passwd?x",
    "r+rawfile:///a/..%2F..%2Fetc#x",
    "r+rawfile:///a/../../etc/passwd?v=1",
    "r+unlisted://host/a/../../etc/passwd",  # matches no template: its segments are checked
    "r+unlisted://host/..%2F..%2Fetc%2Fpasswd",
    "r+unlisted://%2E%2E/x",
]


def _raw_seen(folder: Path) -> str:
    """What reached the raw server: a line `method uri` per request."""
    path = folder / "raw_seen.log"
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("uri", BYPASSES)
async def test_a_uri_that_only_loosely_matches_never_reaches_the_proxied_server(client: Client, folder: Path,
                                                                               uri: str) -> None:
    error = await _refusal(client, uri)
    assert error.error.code == -32602 and "Invalid resource URI" in error.error.message, error.error
    with pytest.raises(MCPError) as subscribed:
        await client.subscribe_resource(uri)
    assert subscribed.value.error.code == -32602, subscribed.value.error
    upstream = uri.removeprefix("r+")
    seen = _raw_seen(folder)
    assert not [line for line in seen.splitlines() if line.split(" ", 1)[1] == upstream], seen


@pytest.mark.parametrize(("uri", "upstream"), [
    ("r+raw://plain-name", "raw://plain-name"),
    ("r+raw://plain-name?v=2", "raw://plain-name?v=2"),  # a query is no segment
    ("r+rawfile:///docs/a.txt#top", "rawfile:///docs/a.txt#top"),
    ("r+unlisted://host/a/b.txt", "unlisted://host/a/b.txt"),  # MCP lets a server serve resources it lists not
])
async def test_a_safe_uri_of_the_proxied_server_still_reaches_it(client: Client, folder: Path, uri: str,
                                                                 upstream: str) -> None:
    assert await _text(client, uri) == f"GOT {upstream}"
    assert f"resources/read {upstream}" in _raw_seen(folder).splitlines()


async def test_the_server_keeps_serving_after_refusals(client: Client, up: UpProcess) -> None:
    await _refusal(client, "docs://..%2Fsecret.txt")
    assert await _text(client, "docs://readme.txt") == "hello doc\n"
    assert "outside the docs folder" not in up.log()
    assert json.loads(json.dumps(up.health()))["status"] in ("ok", "degraded")
