"""Every RFC 6570 expression form of a resource template is matched, and each of its values is checked as its
operator allows (offerings/uri_template.py, offerings/uris.py `template_values`).

Found in the proxy/discovery pass: the matcher read one variable per expression (`{var}`, `{+var}`,
`{/var*}`…), so a Python resource `pair://{x,y}` or `search://items{?q,limit}` could not be read at all
("Resource not found"), query variables never reached the function, and a proxied server's `{x,y}` value was
checked by the segments of the whole URI only. Now templates are parsed by RFC 6570 §2 (levels 1–4: several
variables, every operator, `*` and `:N`): a value of `{+x}`/`{#x}` is a relative path, every other value
(query parameters included) one segment, each list item on its own; a value longer than its prefix allows
is no match.

Real `mcprt up` over streamable HTTP, the MCP SDK client, a Python source whose functions report the values
they were handed, and a proxied stdio server (hand-written JSON-RPC, no path rules of its own) that records
every URI it is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcprt.offerings.uri_template import MalformedTemplate, parse
from mcprt.offerings.uris import UnsafeTemplateValue, template_matcher, template_values
from tests.support.held_client import held
from tests.support.served import UpProcess, http_client, mcprt_http
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_hostile_template_operators")]  # one gateway per run

# --- the parser and matcher, one row per operator (RFC 6570 §3.2.2–§3.2.9, Appendix A) ---------------------

MATCHES = [
    ("pair://{x,y}", "pair://a,b", {"x": "a", "y": "b"}),  # §3.2.2 simple, two variables
    ("pair://{x,y}", "pair://a", {"x": "a"}),  # an undefined variable is left out of the expansion
    ("pair://{x*}", "pair://a,b,c", {"x": "a,b,c"}),  # an exploded list
    ("tree://{+dir,name}", "tree://a/b,c.txt", {"dir": "a/b", "name": "c.txt"}),  # §3.2.3 reserved
    ("page://{+path}{#section}", "page://a/b#top", {"path": "a/b", "section": "top"}),  # §3.2.4 fragment
    ("page://{+path}{#section}", "page://a/b", {"path": "a/b"}),
    ("doc://readme{.ext}", "doc://readme.md", {"ext": "md"}),  # §3.2.5 label
    ("doc://readme{.ext}", "doc://readme", {}),
    ("walk://root{/a,b}", "walk://root/one/two", {"a": "one", "b": "two"}),  # §3.2.6 path segments
    ("walk://deep{/path*}", "walk://deep/a/b/c", {"path": "a/b/c"}),
    ("matrix://m{;a,b}", "matrix://m;a=1;b=2", {"a": "1", "b": "2"}),  # §3.2.7 path-style parameters
    ("search://items{?q,limit}", "search://items?q=cats&limit=5", {"q": "cats", "limit": "5"}),  # §3.2.8 query
    ("search://items{?q,limit}", "search://items?limit=5&q=cats", {"q": "cats", "limit": "5"}),  # any order
    ("search://items{?q,limit}", "search://items?q=a%20b", {"q": "a b"}),  # decoded once
    ("search://items{?q,limit}", "search://items", {}),
    ("search://items{?q}{&page}", "search://items?q=x&page=2", {"q": "x", "page": "2"}),  # §3.2.9 continuation
    ("search://items?fixed=1{&page}", "search://items?fixed=1&page=2", {"page": "2"}),
    ("code://{id:3}", "code://abc", {"id": "abc"}),  # §2.4.1 prefix
    ("notes://{name}", "notes://plain-name", {"name": "plain-name"}),
]


@pytest.mark.parametrize(("template", "uri", "values"), MATCHES, ids=[f"{t} {u}" for t, u, _ in MATCHES])
def test_each_operator_is_read_back(template: str, uri: str, values: dict[str, str]) -> None:
    assert template_values(template, uri) == values
    assert template_matcher(template)(uri)


NO_MATCH = [
    ("code://{id:3}", "code://abcd"),  # longer than the prefix allows: no expansion of the template
    ("notes://{name}", "notes://a/b"),  # a simple value holds no raw `/`
    ("walk://root{/a,b}", "wander://root/a"),
    ("doc://readme{.ext}", "doc://readme/x"),
    ("notes://{name}", "notes://"),  # `{var}` needs a character at least
]


@pytest.mark.parametrize(("template", "uri"), NO_MATCH, ids=[f"{t} {u}" for t, u in NO_MATCH])
def test_a_uri_no_expansion_gives_does_not_match(template: str, uri: str) -> None:
    assert template_values(template, uri) is None
    assert not template_matcher(template)(uri)


# (template, URI, the variable refused, why): each operator's rule (path_segments)
STEPPING_OUT = [
    ("pair://{x,y}", "pair://ok,..%2Fetc", "y", "must not contain '/'"),
    ("pair://{x*}", "pair://ok,%2E%2E", "x", "must not be '.' or '..'"),  # each list item on its own
    ("tree://{+dir,name}", "tree://a/../b,c", "dir", "must not contain '.' or '..' as a segment"),
    ("tree://{+dir,name}", "tree:///etc,c", "dir", "must be a relative path"),
    ("page://{+path}{#section}", "page://a#..%2F..%2Fx", "section", "must not contain '.' or '..' as a segment"),
    ("doc://readme{.ext}", "doc://readme.%2E%2E", "ext", "must not be '.' or '..'"),
    ("walk://root{/a,b}", "walk://root/one/..", "b", "must not be '.' or '..'"),
    ("walk://root{/a,b}", "walk://root/one%2F..%2F..", "a", "must not contain '/'"),
    ("walk://deep{/path*}", "walk://deep/a/%2E%2E/b", "path", "must not be '.' or '..'"),
    ("matrix://m{;a,b}", "matrix://m;a=..;b=2", "a", "must not be '.' or '..'"),
    ("search://items{?q,limit}", "search://items?limit=5&q=..%2F..%2Fetc", "q", "must not contain '/'"),
    ("search://items{?q,limit}", "search://items?q=a%00", "q", "NUL"),
    ("search://items{?q}{&page}", "search://items?q=x&page=%EF%BC%8E%EF%BC%8E", "page", "must not be '.' or '..'"),
    ("code://{id:3}", "code://%2E.", "id", "must not be '.' or '..'"),
]


@pytest.mark.parametrize(("template", "uri", "variable", "why"), STEPPING_OUT, ids=[u for _, u, _, _ in STEPPING_OUT])
def test_each_value_is_checked_as_its_operator_allows(template: str, uri: str, variable: str, why: str) -> None:
    with pytest.raises(UnsafeTemplateValue) as raised:
        template_values(template, uri)
    assert f"the value of `{variable}` in the URI template {template}" in str(raised.value)
    assert why in str(raised.value)
    assert ".." not in str(raised.value).replace(template, "").split(variable)[0]  # the value is never quoted


@pytest.mark.parametrize("template", ["a://{x", "a://x}", "a://{}", "a://{x y}", "a://{?}", "a://{x:0}", "a://{x:10000}"])
def test_a_malformed_template_matches_nothing(template: str) -> None:
    with pytest.raises(MalformedTemplate):
        parse(template)
    assert template_values(template, "a://x") is None and not template_matcher(template)("a://x")


def test_lenient_reading_checks_each_piece_of_every_variable() -> None:
    """As a looser matcher reads a URI (review of hostfix, problem 1), now for several variables too."""
    with pytest.raises(UnsafeTemplateValue, match="`y`"):
        template_values("pair://{x,y}", "pair://a,b/../../etc?z", lenient=True)
    assert template_values("search://items{?q}", "search://items?q=..%2F", lenient=True) == {}  # query left out
    assert template_values("pair://{x,y}", "pair://a,b?z", lenient=True) == {"x": "a", "y": "b"}


# --- end to end: mcprt up, a Python source, a proxied server ---------------------------------------------

FUNCTIONS = '''
import json


def _said(**values):
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)


def echo(text: str) -> str:
    """Echo text back (a python source lists one tool at least)."""
    return text


def pair(x: str, y: str | None = None) -> str:
    return _said(x=x, y=y)


def tree(dir: str, name: str | None = None) -> str:
    return _said(dir=dir, name=name)


def page(path: str, section: str | None = None) -> str:
    return _said(path=path, section=section)


def doc(ext: str | None = None) -> str:
    return _said(ext=ext)


def walk(a: str | None = None, b: str | None = None) -> str:
    return _said(a=a, b=b)


def matrix(a: str | None = None, b: str | None = None) -> str:
    return _said(a=a, b=b)


def search(q: str | None = None, limit: str | None = None) -> str:
    return _said(q=q, limit=limit)


def code(id: str) -> str:
    return _said(id=id)
'''

RESOURCES = {
    "pair://{x,y}": "pair", "tree://{+dir,name}": "tree", "page://{+path}{#section}": "page",
    "doc://readme{.ext}": "doc", "walk://root{/a,b}": "walk", "matrix://m{;a,b}": "matrix",
    "search://items{?q,limit}": "search", "code://{id:3}": "code",
}

# A proxied server with multi-variable templates and no path rules of its own: it records every URI it is sent
RAW = '''
import json
import sys

SEEN = open(sys.argv[1], "a")
TEMPLATES = [{"uriTemplate": "multi://{a,b}", "name": "multi"}, {"uriTemplate": "q://s{?x,y}", "name": "q"},
             {"uriTemplate": "files://{+dir}{/name}", "name": "files"}]


def send(message):
    sys.stdout.write(json.dumps(message) + "\\n")
    sys.stdout.flush()


for line in sys.stdin:
    message = json.loads(line)
    method, ident = message.get("method"), message.get("id")
    if ident is None:
        continue
    if method == "initialize":
        result = {"protocolVersion": message["params"]["protocolVersion"], "serverInfo": {"name": "raw", "version": "1"},
                  "capabilities": {"resources": {"subscribe": True}}}
    elif method == "resources/list":
        result = {"resources": []}
    elif method == "resources/templates/list":
        result = {"resourceTemplates": TEMPLATES}
    elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        uri = message["params"]["uri"]
        SEEN.write(method + " " + uri + "\\n")
        SEEN.flush()
        result = {"contents": [{"uri": uri, "text": "GOT " + uri}]} if method == "resources/read" else {}
    elif method == "ping":
        result = {}
    else:
        send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "Method not found"}})
        continue
    send({"jsonrpc": "2.0", "id": ident, "result": result})
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("template_operators")


@pytest.fixture(scope="module")
def up(folder: Path) -> Iterator[UpProcess]:
    (folder / "ops.py").write_text(FUNCTIONS)
    (folder / "raw_server.py").write_text(RAW)
    resources = "".join(f'      "{uri}": ops:{function}\n' for uri, function in RESOURCES.items())
    (folder / "mcp.yaml").write_text(f"""version: 1
server: {{name: operators}}
sources:
  py:
    python: [ops:echo]
    resources:
{resources}  raw:
    prefix: r
    command: {script_command_yaml(folder / "raw_server.py", str(folder / "raw_seen.log"))}
""")
    with mcprt_http(folder / "mcp.yaml") as served:
        yield served


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(up: UpProcess) -> AsyncIterator[Client]:
    async with held(http_client(up.url)) as opened:
        yield opened


async def _read(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    return result.contents[0].text  # type: ignore[union-attr]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("template", "uri", "values"), [row for row in MATCHES if row[0] in RESOURCES],
                         ids=[f"{t} {u}" for t, u, _ in MATCHES if t in RESOURCES])
async def test_a_python_resource_of_each_operator_gets_its_values(client: Client, template: str, uri: str,
                                                                  values: dict[str, str]) -> None:
    assert json.loads(await _read(client, uri)) == values


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("template", "uri", "variable", "why"), [row for row in STEPPING_OUT if row[0] in RESOURCES],
                         ids=[u for t, u, _, _ in STEPPING_OUT if t in RESOURCES])
async def test_a_python_resource_is_not_handed_a_value_its_operator_refuses(
        client: Client, template: str, uri: str, variable: str, why: str) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert raised.value.error.code == -32602, raised.value.error
    assert f"the value of `{variable}` in the URI template {template}" in raised.value.error.message
    assert why in raised.value.error.message


@pytest.mark.asyncio(loop_scope="module")
async def test_a_value_longer_than_its_prefix_is_no_resource(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource("code://abcd")
    assert raised.value.error.code == -32002, raised.value.error  # resource not found, the function not called


def _raw_seen(folder: Path) -> list[str]:
    path = folder / "raw_seen.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("uri", ["r+multi://ok,..%2F..%2Fetc%2Fpasswd", "r+multi://%2E%2E,b",
                                 "r+q://s?y=..%2F..%2Fetc&x=1", "r+q://s?x=%00",
                                 "r+files://a/b/%2E%2E", "r+files://a/../../etc/passwd"])
async def test_a_proxied_multi_variable_value_is_refused_on_read_and_subscribe(client: Client, folder: Path,
                                                                             uri: str) -> None:
    for ask in (client.read_resource, client.subscribe_resource):
        with pytest.raises(MCPError) as raised:
            await ask(uri)
        assert raised.value.error.code == -32602 and "Invalid resource URI" in raised.value.error.message, \
            raised.value.error
    assert not [line for line in _raw_seen(folder) if line.split(" ", 1)[1] == uri.removeprefix("r+")]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("uri", ["r+multi://a,b", "r+q://s?y=2&x=1", "r+files://docs/a/b.txt"])
async def test_a_proxied_multi_variable_uri_is_read_and_subscribed(client: Client, folder: Path, uri: str) -> None:
    upstream = uri.removeprefix("r+")
    assert await _read(client, uri) == f"GOT {upstream}"
    await client.subscribe_resource(uri)
    await client.unsubscribe_resource(uri)
    seen = _raw_seen(folder)
    assert f"resources/read {upstream}" in seen and f"resources/subscribe {upstream}" in seen, seen
