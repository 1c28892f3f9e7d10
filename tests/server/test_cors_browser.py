"""Browser-based MCP clients (CORS) in headless Chromium (Debian's /usr/bin/chromium through Playwright):
a page on an origin `server.http.allowed_origins` lists initializes a session and calls a tool with its
bearer token; a page on another origin cannot (the oauth trial, fault 5: the preflight got 401 and no
answer carried CORS headers, so no browser client could connect). The answers' headers are checked too."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.served import UpProcess, child_env, mcprt_http
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("cors-browser")  # its `mcprt up` once per run, not once per worker

CHROMIUM = Path("/usr/bin/chromium")
POLICY_TOOLS = Path(__file__).parents[1] / "policy" / "policy_tools.py"
TOKEN = "tok-browser-0123456789"

# What a browser MCP client does: initialize, initialized, tools/call — each a cross-origin fetch.
CLIENT_JS = """
async ([url, token]) => {
  const out = {};
  const base = {'content-type': 'application/json', 'accept': 'application/json, text/event-stream',
                'mcp-protocol-version': '2025-06-18'};
  const init = {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18',
                capabilities: {}, clientInfo: {name: 'page', version: '1'}}};
  try {
    const r = await fetch(url, {method: 'POST', headers: base, body: JSON.stringify(init)});
    out.noauth = {status: r.status, challenge: r.headers.get('www-authenticate')};
  } catch (e) { out.noauth = String(e); }
  try {
    const headers = {...base, authorization: 'Bearer ' + token};
    const opened = await fetch(url, {method: 'POST', headers, body: JSON.stringify(init)});
    out.init = opened.status;
    headers['mcp-session-id'] = opened.headers.get('mcp-session-id');
    out.session = headers['mcp-session-id'];
    await fetch(url, {method: 'POST', headers, body: JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'})});
    const called = await fetch(url, {method: 'POST', headers, body: JSON.stringify(
      {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'add', arguments: {a: 2, b: 3}}})});
    out.call = {status: called.status, body: await called.text()};
  } catch (e) { out.auth = String(e); }
  return out;
}
"""


@dataclass
class Served:
    up: UpProcess
    allowed: str  # the page origin allowed_origins lists
    other: str  # another page origin (loopback too, so only CORS stands between it and the answers)


def page_app() -> Starlette:
    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>client</title><p>an MCP client page</p>")

    return Starlette(routes=[Route("/", page)])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run .ci/install-system-packages")
    folder = tmp_path_factory.mktemp("cors")
    shutil.copy(POLICY_TOOLS, folder)
    with serve_app(page_app()) as allowed_base, serve_app(page_app()) as other_base:
        allowed = allowed_base.replace("127.0.0.1", "localhost")
        other = other_base.replace("127.0.0.1", "localhost")
        (folder / "mcp.yaml").write_text(
            "version: 1\nserver:\n"
            f"  http: {{allowed_origins: [\"{allowed}\"]}}\n"
            '  auth: {tokens: {web: "${WEB_TOKEN}"}}\n'
            "sources:\n  ops:\n    python: policy_tools\n")
        with mcprt_http(folder / "mcp.yaml", env=child_env(WEB_TOKEN=TOKEN)) as up:
            yield Served(up, allowed, other)


async def run_client_page(origin: str, url: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        try:
            page = await browser.new_page()
            await page.goto(origin + "/")
            return await page.evaluate(CLIENT_JS, [url, TOKEN])
        finally:
            await browser.close()


async def test_a_page_on_an_allowed_origin_initializes_and_calls_a_tool(served: Served) -> None:
    out = await run_client_page(served.allowed, served.up.url)
    # the 401 and its challenge are readable: a browser client can start OAuth discovery from it
    assert out["noauth"] == {"status": 401, "challenge": 'Bearer realm="mcprt"'}, out
    assert out["init"] == 200 and out["session"], out
    assert out["call"]["status"] == 200 and '"text":"5"' in out["call"]["body"].replace(" ", ""), out
    assert "call tool=add" in served.up.wait_log("call tool=add")  # what the other origin's page must not cause


async def test_a_page_on_another_origin_cannot_read_or_send(served: Served) -> None:
    calls = served.up.log().count("call tool=add")
    out = await run_client_page(served.other, served.up.url)
    assert out["noauth"] == "TypeError: Failed to fetch", out  # the 401 is not readable
    assert out["auth"] == "TypeError: Failed to fetch", out  # its preflight was refused: nothing sent
    assert "init" not in out
    assert served.up.log().count("call tool=add") == calls


def preflight(served: Served, origin: str, headers: str = "authorization,content-type,mcp-protocol-version",
              host: str | None = None) -> httpx.Response:
    extra = {"host": host} if host else {}
    return httpx.options(served.up.url, headers={"origin": origin, "access-control-request-method": "POST",
                                                 "access-control-request-headers": headers, **extra}, timeout=10)


def test_the_preflight_of_an_allowed_origin_needs_no_token_and_allows_the_mcp_headers(served: Served) -> None:
    answer = preflight(served, served.allowed, "authorization,content-type,mcp-session-id,mcp-protocol-version,"
                                               "last-event-id,mcp-method,mcp-name,mcp-param-region")
    assert answer.status_code == 204, answer.text
    assert answer.headers["access-control-allow-origin"] == served.allowed
    assert answer.headers["vary"] == "Origin"
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert allowed >= {"authorization", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id",
                       "mcp-method", "mcp-name", "mcp-param-region"}
    assert "access-control-allow-credentials" not in answer.headers  # bearer tokens, never cookies
    assert "x-anything" not in preflight(served, served.allowed, "x-anything").headers["access-control-allow-headers"]


def test_refusals_to_an_allowed_origin_are_readable_and_expose_the_challenge(served: Served) -> None:
    refused = httpx.post(served.up.url, json={}, headers={"origin": served.allowed}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == served.allowed
    exposed = {h.strip().lower() for h in refused.headers["access-control-expose-headers"].split(",")}
    assert {"mcp-session-id", "www-authenticate"} <= exposed
    # the Host check still holds for a preflight (DNS rebinding)
    assert preflight(served, served.allowed, host="attacker.example").status_code == 421


@pytest.mark.parametrize("origin", ["other", "http://evil.example", "null"])
def test_no_other_origin_gets_cors_headers(served: Served, origin: str) -> None:
    origin = served.other if origin == "other" else origin
    answer = preflight(served, origin)
    # a loopback origin passes the Origin check (it may send) and meets the token check; others are refused
    assert answer.status_code == (401 if origin == served.other else 403), answer.text
    assert not any(name.startswith("access-control-") for name in answer.headers)
    posted = httpx.post(served.up.url, json={}, headers={"origin": origin, "authorization": f"Bearer {TOKEN}"},
                        timeout=10)
    assert not any(name.startswith("access-control-") for name in posted.headers)
