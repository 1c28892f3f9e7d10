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

RAW_SERVER = Path(__file__).parents[1] / "support" / "raw_resource_server.py"

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
    # review of proxyleft #2: a reserved value may hold `?` and `#` (§3.2.3), unless a query expression follows
    ("secret://{+path}", "secret://x?y=1", {"path": "x?y=1"}),
    ("secret://{+path}", "secret://a#b", {"path": "a#b"}),
    ("both://{+path}{?q}", "both://a/b?q=1", {"path": "a/b", "q": "1"}),
    ("search://items{?q,limit}", "search://items?q=cats#f", {"q": "cats"}),  # a fragment after the query
    ("s://{id}{?q}", "s://x?q=1#f", {"id": "x", "q": "1"}),
    ("seg://r{/name}", "seg://r/hostname", {"name": "hostname"}),
    ("label://r{.ext}", "label://r.txt", {"ext": "txt"}),
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

# review of proxyleft #1, #3: a non-exploded `/` or `.` variable is one item (`{/x}` of ["a","b"] is `/a,b`)
ONE_ITEM = [
    ("docs://r{/x}", "docs://r//etc/passwd"),
    ("seg://r{/name}", "seg://r//etc/hostname"),
    ("seg://r{/name}", "seg://r/a/b"),
    ("w://{/a,b}", "w:///x//etc"),
    ("doc://r{.x}", "doc://r..."),
    ("doc://r{.x}", "doc://r.."),
    ("label://r{.ext}", "label://r..."),
    ("label://r{.ext}", "label://r.."),
]
NO_MATCH += ONE_ITEM


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
    # review of proxyleft #1, #3: empty items joined to an absolute path or to `..`
    ("walk://deep{/path*}", "walk://deep//etc/passwd", "path", "must not hold an empty item"),
    ("walk://d{/p*}", "walk://d//etc/passwd", "p", "must not hold an empty item"),
    ("walk://deep{/path*}", "walk://deep/a//b", "path", "must not hold an empty item"),
    ("walk://root{/a,b}", "walk://root/", "a", "must not hold an empty item"),
    ("walk://root{/a,b}", "walk://root/one/", "b", "must not hold an empty item"),
    ("doc://readme{.ext}", "doc://readme.", "ext", "must not hold an empty item"),
    ("dots://r{.x*}", "dots://r...", "x", "must not hold an empty item"),
    ("secret://{+path}", "secret://a?/../../etc", "path", "must not contain '.' or '..' as a segment"),
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


@pytest.mark.parametrize(("template", "uri"), ONE_ITEM, ids=[f"{t} {u}" for t, u in ONE_ITEM])
def test_a_looser_server_reading_of_a_non_expansion_is_refused(template: str, uri: str) -> None:
    """What is no expansion of mcprt's reading is refused as a looser server would read it (`..`, `/etc`)."""
    if uri == "seg://r/a/b":  # a looser server reads `a/b`: a relative path of good segments
        assert template_values(template, uri, lenient=True) == {"name": "a/b"}
        return
    with pytest.raises(UnsafeTemplateValue, match="must not hold an empty item"):
        template_values(template, uri, lenient=True)


QUERIES = [  # review of proxyleft #6: a proxied server gets the URI, not a path; a function gets the values
    ("search://items{?q,limit}", "search://items?q=2024/01", {"q": "2024/01"}),
    ("search://items{?q,limit}", "search://items?q=..", {"q": ".."}),
    ("search://items{?q}{&page}", "search://items?q=x&page=a%2Fb", {"q": "x", "page": "a/b"}),
    ("s://i{?q}", "s://i?q=a/b", {"q": "a/b"}),
    ("s://i{?q}", "s://i?q=..", {"q": ".."}),
    ("search://{?q}", "search://?q=2024/01", {"q": "2024/01"}),
]


@pytest.mark.parametrize(("template", "uri", "values"), QUERIES, ids=[u for _, u, _ in QUERIES])
def test_a_query_value_is_a_segment_only_for_a_function(template: str, uri: str, values: dict[str, str]) -> None:
    assert template_values(template, uri, for_function=False) == values
    with pytest.raises(UnsafeTemplateValue):
        template_values(template, uri)
    with pytest.raises(UnsafeTemplateValue, match="NUL"):
        template_values(template, uri + "%00", for_function=False)


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


def seg(name: str) -> str:  # joins `name` to a folder, as a file server would
    return _said(name=name)


def deep(path: str) -> str:
    return _said(path=path)


def label(ext: str) -> str:
    return _said(ext=ext)
'''

RESOURCES = {
    "pair://{x,y}": "pair", "tree://{+dir,name}": "tree", "page://{+path}{#section}": "page",
    "doc://readme{.ext}": "doc", "walk://root{/a,b}": "walk", "matrix://m{;a,b}": "matrix",
    "search://items{?q,limit}": "search", "code://{id:3}": "code", "seg://r{/name}": "seg",
    "walk://deep{/path*}": "deep", "label://r{.ext}": "label",
}

# A proxied server with multi-variable templates and no path rules of its own: it records every URI it is sent
# (`tests/support/raw_resource_server.py`)
RAW_TEMPLATES = [{"uriTemplate": "multi://{a,b}", "name": "multi"}, {"uriTemplate": "q://s{?x,y}", "name": "q"},
                 {"uriTemplate": "files://{+dir}{/name}", "name": "files"},
                 {"uriTemplate": "seg://r{/name}", "name": "seg"},
                 {"uriTemplate": "walk://d{/p*}", "name": "walk"}, {"uriTemplate": "w://{/a,b}", "name": "w"},
                 {"uriTemplate": "label://r{.ext}", "name": "label"}, {"uriTemplate": "secret://{+path}", "name": "secret"},
                 {"uriTemplate": "hidden://{name}", "name": "hidden"}]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("template_operators")


@pytest.fixture(scope="module")
def up(folder: Path) -> Iterator[UpProcess]:
    (folder / "ops.py").write_text(FUNCTIONS)
    (folder / "raw_templates.json").write_text(json.dumps(RAW_TEMPLATES))
    resources = "".join(f'      "{uri}": ops:{function}\n' for uri, function in RESOURCES.items())
    (folder / "mcp.yaml").write_text(f"""version: 1
server: {{name: operators}}
sources:
  py:
    python: [ops:echo]
    resources:
{resources}  raw:
    prefix: r
    command: {script_command_yaml(RAW_SERVER, str(folder / "raw_seen.log"), str(folder / "raw_templates.json"))}
    resources:
      "secret://{{+path}}": {{enabled: false}}
      "hidden://{{name}}": {{enabled: false}}
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
@pytest.mark.parametrize("uri", ["r+multi://ok,..%2F..%2Fetc%2Fpasswd", "r+multi://%2E%2E,b", "r+q://s?x=%00",
                                 "r+files://a/b/%2E%2E", "r+files://a/../../etc/passwd",
                                 # review of proxyleft #1, #3 (a looser server reads `/etc/hostname`, `..`)
                                 "r+seg://r//etc/hostname", "r+walk://d//etc/passwd", "r+w:///x//etc",
                                 "r+label://r...", "r+label://r..", "r+label://r.", "r+seg://r/"])
async def test_a_proxied_multi_variable_value_is_refused_on_read_and_subscribe(client: Client, folder: Path,
                                                                             uri: str) -> None:
    for ask in (client.read_resource, client.subscribe_resource):
        with pytest.raises(MCPError) as raised:
            await ask(uri)
        assert raised.value.error.code == -32602 and "Invalid resource URI" in raised.value.error.message, \
            raised.value.error
    assert not [line for line in _raw_seen(folder) if line.split(" ", 1)[1] == uri.removeprefix("r+")]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("uri", ["r+multi://a,b", "r+q://s?y=2&x=1", "r+files://docs/a/b.txt",
                                 # review of proxyleft #6: a query is no path to a proxied server
                                 "r+q://s?x=2024/01", "r+q://s?y=..%2F..%2Fetc&x=1"])
async def test_a_proxied_multi_variable_uri_is_read_and_subscribed(client: Client, folder: Path, uri: str) -> None:
    upstream = uri.removeprefix("r+")
    assert await _read(client, uri) == f"GOT {upstream}"
    await client.subscribe_resource(uri)
    await client.unsubscribe_resource(uri)
    seen = _raw_seen(folder)
    assert f"resources/read {upstream}" in seen and f"resources/subscribe {upstream}" in seen, seen


# review of proxyleft #1, #3: what the Python function would have been handed (`/etc/hostname`, `..`, `.`)
NEVER_HANDED = [("seg://r//etc/hostname", -32602), ("walk://deep//etc/passwd", -32602), ("label://r...", -32602),
                ("label://r..", -32602), ("label://r.", -32602), ("seg://r/", -32602), ("seg://r/a/b", -32002)]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("uri", "code"), NEVER_HANDED, ids=[u for u, _ in NEVER_HANDED])
async def test_a_python_resource_is_never_handed_an_absolute_path_or_dot(client: Client, uri: str, code: int) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert raised.value.error.code == code, raised.value.error


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("uri", ["r+secret://x", "r+secret://x?y=1", "r+secret://a#b", "r+secret://a/b?c#d"])
async def test_a_turned_off_reserved_template_stays_off_with_a_query_or_fragment(client: Client, folder: Path,
                                                                                  uri: str) -> None:
    """Review of proxyleft #2: `{+path}` read `[^?#]+`, so `secret://x?y=1` matched no turned-off template and
    was passed on as an unlisted URI; a reserved expansion may hold `?` and `#` (RFC 6570 §3.2.3)."""
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert raised.value.error.code == -32002, raised.value.error
    assert not [line for line in _raw_seen(folder) if "secret://" in line]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("uri", ["r+hidden://a", "r+hidden://a/b", "r+hidden://a?x=1", "r+hidden://a#f"])
async def test_a_turned_off_template_stays_off_as_a_looser_server_reads_it(client: Client, folder: Path,
                                                                           uri: str) -> None:
    """A server with a looser matcher than RFC 6570's reads `hidden://a/b` as `hidden://{name}`: a turned-off
    template is matched leniently too (offerset `_withheld`), so such a URI is not passed on as unlisted."""
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert raised.value.error.code == -32002, raised.value.error
    assert not [line for line in _raw_seen(folder) if "hidden://" in line]
