"""`url:` proxied servers and redirects: the SDK's HTTP client goes through mcprt's outbound SSRF guard
(mcprt.outbound.redirects), as OpenAPI upstreams do. A redirect within the endpoint's origin is
followed; one to another origin may reach only public addresses or the range the server answered
from — a redirect from 127.0.0.1 to 10.255.255.1 or 169.254.169.254 is refused without connecting."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import anyio
import httpx2
import pytest

from mcprt.manifest.model import UrlSource
from mcprt.sources.mcp.http import HttpStatus, make_http_client
from tests.proxy.test_proxy_malformed import ECHO, OBJECT, http_upstream, manifest_for, write
from tests.support.served import child_env, http_client, launch_command, mcprt_http, text_of

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def scenario_redirecting(tmp: Path, to: str) -> Path:
    return write(tmp / "scenario.json", {"tools": [ECHO, {"name": "announce", "inputSchema": OBJECT}],
                                         "redirect": {"from": "/old", "to": to}})


def test_a_redirect_within_the_origin_is_followed(tmp_path: Path) -> None:
    scenario = scenario_redirecting(tmp_path, "/mcp")
    with http_upstream(scenario) as port, \
            mcprt_http(manifest_for(tmp_path, scenario, url=f"http://127.0.0.1:{port}/old"), "--no-reload",
                       startup_timeout=60) as up:
        async def check() -> str:
            async with http_client(up.url) as client:
                assert {t.name for t in (await client.list_tools()).tools} == {"echo", "announce"}
                return text_of(await client.call_tool("echo", {"text": "through the redirect"}))

        assert anyio.run(check) == "through the redirect"


@pytest.mark.parametrize("host", ["10.255.255.1", "169.254.169.254"])
def test_a_redirect_to_another_private_address_is_refused_at_start(tmp_path: Path, host: str) -> None:
    with http_upstream(scenario_redirecting(tmp_path, f"http://{host}:9/mcp")) as port:
        manifest = manifest_for(tmp_path, tmp_path / "scenario.json", url=f"http://127.0.0.1:{port}/old")
        started = time.monotonic()
        done = subprocess.run(launch_command(manifest, "--transport", "http", "--port", "0", "--no-reload"),
                              capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=120)
        assert done.returncode == 2, done.stderr
        assert f"{manifest}:4:" in done.stderr and "source 'bad'" in done.stderr, done.stderr
        assert f"Redirect to http://{host}:9/mcp not followed" in done.stderr, done.stderr  # the SDK's own rule
        assert "Traceback" not in done.stderr
        assert time.monotonic() - started < 60  # refused, not left to time out connecting


async def _post(client: httpx2.AsyncClient, url: str) -> httpx2.Response:
    return await client.post(url, content=json.dumps(INITIALIZE), headers=HEADERS, follow_redirects=True)


@pytest.mark.parametrize("host, allowed", [("10.255.255.1", False), ("169.254.169.254", False),
                                           ("localhost", True)])
def test_the_url_source_client_holds_any_redirect_to_the_guard(tmp_path: Path, host: str, allowed: bool) -> None:
    """Even a caller that follows redirects across origins (the SDK 2.3 does not) cannot leave the range the
    server answered from: 127.0.0.1 may send it to `localhost` (loopback too), not to a private or
    link-local address — the guard refuses before connecting."""
    with http_upstream(scenario_redirecting(tmp_path, "/mcp")) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        write(tmp_path / "scenario.json", {"tools": [ECHO], "redirect": {"from": "/old",
                                                                          "to": f"http://{host}:{port}/mcp"}})

        async def check() -> str:
            async with make_http_client(UrlSource(url=url), HttpStatus()) as client:
                assert (await _post(client, url)).status_code == 200  # the configured origin answers from loopback
                try:
                    with anyio.fail_after(30):
                        response = await _post(client, f"http://127.0.0.1:{port}/old")
                except httpx2.ConnectError as exc:
                    return f"refused: {exc}"
                return f"answered {response.status_code} from {response.url.host}"

        outcome = anyio.run(check)
        if allowed:
            assert outcome == f"answered 200 from {host}", outcome
        else:
            assert outcome.startswith(f"refused: upstream redirected to {host}, a "), outcome
            assert "not followed" in outcome
