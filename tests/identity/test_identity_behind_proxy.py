"""mcprt as an OAuth resource server behind a TLS-terminating reverse proxy: a real HAProxy (TLS on
127.0.0.1, `X-Forwarded-Proto: https`, connecting to mcprt from 127.0.0.2 — another address than the loopback
one mcprt trusts by default, standing in for a proxy on another host), a real authorization server
(oidc-provider) and the MCP SDK client's whole OAuth flow through the proxy.

A trial: with `audience:`/`public_url: https://…` set, the 401's `resource_metadata=` said `http://…`
(X-Forwarded-Proto was believed from 127.0.0.1 only, and only uvicorn's undocumented FORWARDED_ALLOW_IPS
changed that), so every spec-following client failed discovery. Now a public URL makes every advertised URL,
whatever the request's headers say, and `server.http.trusted_proxies` / `MCPRT_TRUSTED_PROXIES` say whose
forwarded headers are believed.
"""

from __future__ import annotations

import html
import re
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.identity.identity_support import who_source
from tests.support.components import binary, free_port, stop_process, wait_port
from tests.support.oidc import AuthServer, authorization_response
from tests.support.served import child_env, mcprt_http, text_of
from tests.support.tls import self_signed

pytestmark = pytest.mark.xdist_group("oidc")

OPS_TOKEN = "ops-token-behind-the-proxy-0123456789"  # a static token of the prefix test's server
PROXY_SOURCE = "127.0.0.2"  # where HAProxy connects to mcprt from: not a loopback address mcprt trusts unasked

HAPROXY_TLS = """\
global
    maxconn 200
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend tls
    bind 127.0.0.1:{port} ssl crt {pem}
    http-request set-header X-Forwarded-Proto https
{rules}    default_backend mcprt
backend mcprt
    server m 127.0.0.1:{backend} source {source}
"""


@dataclass
class Proxy:
    port: int
    ca: Path

    def url(self, path: str = "/mcp") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


# What README "Behind a proxy" tells an operator serving mcprt at https://gw.example.com/tools/mcp to route: the
# prefix's paths with `/tools` stripped, and the endpoint's RFC 9728 §3.1 metadata path as it is; nothing else.
STRIP_TOOLS = """\
    acl prefixed path_beg /tools/
    acl metadata path /.well-known/oauth-protected-resource/tools/mcp
    http-request deny deny_status 404 if !prefixed !metadata
    http-request replace-path /tools(/.*) \\1 if prefixed
"""


@contextmanager
def tls_proxy(folder: Path, port: int, backend: int, rules: str = "") -> Iterator[Proxy]:
    """HAProxy terminating TLS on 127.0.0.1:`port` (a certificate for 127.0.0.1 made here) in front of mcprt on
    `backend`, adding `X-Forwarded-Proto: https` and connecting from PROXY_SOURCE; `rules`: more of its
    frontend's lines (`STRIP_TOOLS`)."""
    cert, key = self_signed(folder, addresses=["127.0.0.1"])
    pem = folder / "haproxy.pem"
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    config = folder / "haproxy.cfg"
    config.write_text(HAPROXY_TLS.format(port=port, pem=pem, backend=backend, source=PROXY_SOURCE, rules=rules))
    exe = binary("haproxy", "/usr/sbin")
    check = subprocess.run([exe, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen([exe, "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        yield Proxy(port, cert)
    finally:
        stop_process(process)


def manifest(folder: Path, issuer: str, extra_server: str = "", extra_auth: str = "") -> Path:
    lines = ["version: 1", "server:", "  name: behind-proxy", *([extra_server] if extra_server else []),
             "  auth:", *([extra_auth] if extra_auth else []),
             "    oauth:", f"      issuer: {issuer}", "      scopes: [mcp:tools]", "      algorithms: [ES256]",
             "sources:", *who_source(folder)]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def challenge_of(response: httpx.Response) -> str:
    assert response.status_code == 401, (response.status_code, response.text)
    return response.headers["www-authenticate"]


def metadata_of(url: str) -> str:
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    return f'Bearer resource_metadata="{scheme}://{host}/.well-known/oauth-protected-resource/{path}", scope="mcp:tools"'


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


async def sdk_oauth_call(url: str, context: ssl.SSLContext, user: str) -> str:
    """The SDK client's whole flow at `url` (401 → RFC 9728 → RFC 8414 → registration → PKCE with `resource`),
    the user logging in on the provider's pages; the `echo` tool's text."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import OAuthClientMetadata

    callback = "http://127.0.0.1:9/sdk-callback"
    answered: dict[str, str] = {}

    async def redirect(authorize: str) -> None:
        answered.update(await anyio.to_thread.run_sync(authorization_response, authorize, callback, user))

    async def back() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=answered["code"], state=answered.get("state"), iss=answered.get("iss"))

    provider = OAuthClientProvider(
        url,
        OAuthClientMetadata(client_name="proxy tests", redirect_uris=[callback], grant_types=["authorization_code"],
                            response_types=["code"]),
        MemoryStorage(),
        redirect_handler=redirect,
        callback_handler=back,
    )
    async with httpx2.AsyncClient(auth=provider, verify=context, timeout=httpx2.Timeout(30, read=60)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            result = await client.call_tool("echo", {"text": "hi"})
    assert not result.is_error, text_of(result)
    return text_of(result)


async def test_a_trusted_proxys_forwarded_scheme_makes_the_advertised_urls_https(idp: AuthServer, tmp_path: Path) -> None:
    """`server.http.trusted_proxies` names the proxy: its X-Forwarded-Proto is believed, discovery says https://,
    and the SDK client's OAuth flow completes through it."""
    port = free_port()
    with mcprt_http(manifest(tmp_path, idp.issuer, f"  http: {{trusted_proxies: [{PROXY_SOURCE}]}}"),
                    env=child_env()) as up, tls_proxy(tmp_path, port, port_of(up.url)) as proxy:
        through = httpx.post(proxy.url(), json={}, verify=proxy.context(), timeout=30)
        assert challenge_of(through) == metadata_of(proxy.url())
        document = httpx.get(proxy.url("/.well-known/oauth-protected-resource/mcp"), verify=proxy.context(),
                             timeout=30).json()
        assert document["resource"] == proxy.url()
        text = await sdk_oauth_call(proxy.url(), proxy.context(), "ivy")
        assert text.startswith("oauth|ivy|") and text.endswith("|hi"), text
        # straight to mcprt (no proxy, from 127.0.0.1): its own scheme, as before
        assert challenge_of(httpx.post(up.url, json={}, timeout=30)) == metadata_of(up.url)


def test_an_untrusted_proxys_forwarded_scheme_is_not_believed_and_the_env_setting_trusts_it(
        idp: AuthServer, tmp_path: Path) -> None:
    """Without the proxy named, its X-Forwarded-Proto is ignored (any client could send one); MCPRT_TRUSTED_PROXIES
    (a CIDR network here) adds it, as the README's operating guide says."""
    port = free_port()
    with mcprt_http(manifest(tmp_path, idp.issuer), env=child_env()) as up, \
            tls_proxy(tmp_path, port, port_of(up.url)) as proxy:
        through = httpx.post(proxy.url(), json={}, verify=proxy.context(), timeout=30)
        assert challenge_of(through) == metadata_of(proxy.url().replace("https://", "http://"))
    port = free_port()
    with mcprt_http(manifest(tmp_path, idp.issuer), env=child_env(MCPRT_TRUSTED_PROXIES="10.1.2.3, 127.0.0.0/30")) as up, \
            tls_proxy(tmp_path, port, port_of(up.url)) as proxy:
        through = httpx.post(proxy.url(), json={}, verify=proxy.context(), timeout=30)
        assert challenge_of(through) == metadata_of(proxy.url())


async def test_a_public_url_makes_every_advertised_url_whatever_the_headers_say(idp: AuthServer, tmp_path: Path) -> None:
    """With `public_url` and no trusted proxy, the 401's `resource_metadata`, the metadata's `resource` and the
    audience tokens must carry are the public endpoint's — through the proxy, straight to mcprt, and with a
    forged X-Forwarded-Proto alike — and the SDK client's flow through the proxy completes."""
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    with mcprt_http(manifest(tmp_path, idp.issuer, f"  public_url: {public}"), env=child_env()) as up, \
            tls_proxy(tmp_path, port, port_of(up.url)) as proxy:
        assert proxy.url() == f"{public}/mcp"
        expected = metadata_of(proxy.url())
        assert challenge_of(httpx.post(proxy.url(), json={}, verify=proxy.context(), timeout=30)) == expected
        assert challenge_of(httpx.post(up.url, json={}, timeout=30)) == expected
        forged = httpx.post(up.url, json={}, headers={"x-forwarded-proto": "gopher", "host": "localhost"}, timeout=30)
        assert challenge_of(forged) == expected
        for base in (up.base, f"https://127.0.0.1:{port}"):
            document = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp", verify=proxy.context(),
                                 timeout=30).json()
            assert document["resource"] == f"{public}/mcp"
        # the audience is the public endpoint: its token works straight too, one for mcprt's own address not
        assert (await sdk_oauth_call(proxy.url(), proxy.context(), "jon")).startswith("oauth|jon|")
        good = idp.client_credentials(f"{public}/mcp")
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        accept = {"accept": "application/json, text/event-stream"}
        assert httpx.post(up.url, json=init, headers={**accept, "authorization": f"Bearer {good}"},
                          timeout=30).status_code == 200
        other = idp.client_credentials(up.url)
        refused = httpx.post(up.url, json=init, headers={**accept, "authorization": f"Bearer {other}"}, timeout=30)
        assert refused.status_code == 401 and "(aud)" in refused.headers["www-authenticate"]


async def test_a_public_url_with_a_path_is_every_advertised_url_behind_a_prefix_stripping_proxy(
        idp: AuthServer, tmp_path: Path) -> None:
    """`public_url: https://…/tools` behind a real HAProxy that strips `/tools` and forwards only what README "Behind
    a proxy" says (`STRIP_TOOLS`): the SDK client's discovery (401 → `resource_metadata` → the metadata, whose
    `resource` is the URL it used) and OAuth flow complete; the status page's links and forms, the sign-in form,
    `/status.json`'s endpoint, the approvals page's forms and the redirects after a form post all carry the prefix
    and work through the proxy."""
    port = free_port()
    # a static token too: the status page's sign-in (its cookie) is for static tokens
    served = manifest(tmp_path, idp.issuer, f"  public_url: https://127.0.0.1:{port}/tools",
                      '    tokens: {ops: "${OPS_TOKEN}"}')
    served.write_text(served.read_text() + "policy: {}\n")  # the pause forms need a policy
    with mcprt_http(served, env=child_env(OPS_TOKEN=OPS_TOKEN)) as up, tls_proxy(tmp_path, port, port_of(up.url), STRIP_TOOLS) as proxy:
        endpoint, verify = proxy.url("/tools/mcp"), proxy.context()
        challenge = challenge_of(httpx.post(endpoint, json={}, verify=verify, timeout=30))
        assert challenge == metadata_of(endpoint)
        where = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
        assert where == proxy.url("/.well-known/oauth-protected-resource/tools/mcp")
        document = httpx.get(where, verify=verify, timeout=30)
        assert document.status_code == 200 and document.json()["resource"] == endpoint, document.text
        # the proxy forwards nothing outside the prefix but that path: the metadata needs nothing more
        assert httpx.get(proxy.url("/.well-known/oauth-protected-resource"), verify=verify,
                         timeout=30).status_code == 404
        assert (await sdk_oauth_call(endpoint, verify, "kim")).startswith("oauth|kim|")

        def get(path: str, **options: Any) -> httpx.Response:
            return httpx.get(proxy.url(path), verify=verify, timeout=30, **options)

        bearer = {"authorization": f"Bearer {idp.client_credentials(endpoint)}"}
        refused = get("/tools/status.json")
        assert challenge_of(refused) == metadata_of(endpoint)
        assert get("/tools/status.json", headers=bearer).json()["server"]["endpoint"] == endpoint
        sign_in = get("/tools/status?all=1")
        assert sign_in.status_code == 401
        assert _addresses(sign_in.text) == ["/tools/status/login", "/tools/status?all=1"], sign_in.text
        for page in ("/tools/status", "/tools/status?all=1", "/tools/status/approvals"):
            answer = get(page, headers=bearer)
            assert answer.status_code == 200, (page, answer.text[:300])
            addresses = _addresses(answer.text)
            assert addresses and all(a.startswith("/tools/") for a in addresses), (page, addresses)
            for link in re.findall(r'href="(/[^"]*)"', answer.text):  # each link answers through the proxy
                assert get(html.unescape(link), headers=bearer).status_code == 200, link
        origin = {"origin": f"https://127.0.0.1:{port}", **bearer}
        for action, back in (("/tools/policy/pause", "/tools/status?all=1"),
                             ("/tools/policy/resume", "/tools/status/approvals")):
            posted = httpx.post(proxy.url(action), data={"target": "all", "back": back}, headers=origin,
                                verify=verify, timeout=30)
            assert posted.status_code == 303 and posted.headers["location"] == back, (posted.status_code, posted.text)
            assert get(back, headers=bearer).status_code == 200
        # the form's own page when `back` names no page of ours: the approvals page, under the prefix
        posted = httpx.post(proxy.url("/tools/policy/pause"), data={"target": "all", "back": "https://evil.example/"},
                            headers=origin, verify=verify, timeout=30)
        assert posted.headers["location"] == "/tools/status/approvals", posted.headers
        # a trailing slash is redirected to the page under the prefix (Starlette's own redirect dropped it:
        # `/tools/status/` → `https://…/status`, which the proxy refuses), the query kept
        for asked, moved in (("/tools/status/", "/tools/status"), ("/tools/status/approvals/?all=1",
                                                                   "/tools/status/approvals?all=1"),
                             ("/tools/status.json/", "/tools/status.json"), ("/tools/mcp/", "/tools/mcp")):
            answer = get(asked, headers=bearer)
            assert (answer.status_code, answer.headers.get("location")) == (307, moved), (asked, answer.headers)
        assert get("/tools/status/", headers=bearer, follow_redirects=True).status_code == 200
        assert get("/tools/nothing/", headers=bearer).status_code == 404  # no route either way: no redirect
        # the sign-in cookie is the prefix's alone (RFC 6265 §5.1.4): another app on the gateway's host gets none
        signed = httpx.post(proxy.url("/tools/status/login"), data={"token": OPS_TOKEN, "back": "/tools/status?all=1"},
                            headers={"origin": f"https://127.0.0.1:{port}"}, verify=verify, timeout=30)
        assert signed.status_code == 303 and signed.headers["location"] == "/tools/status?all=1", signed.text
        cookie = signed.headers["set-cookie"]
        assert "; Path=/tools/;" in cookie or cookie.endswith("; Path=/tools/"), cookie
        with httpx.Client(base_url=proxy.url(""), verify=verify, timeout=30) as browser:
            browser.cookies.extract_cookies(signed)
            assert browser.get("/tools/status?all=1").status_code == 200  # the cookie alone signs the page in
            assert not browser.cookies.jar or all(c.path == "/tools/" for c in browser.cookies.jar)


def _addresses(page: str) -> list[str]:
    """Every address a page's links and forms (and the sign-in form's `back`) lead to, unescaped; not `#…`."""
    found = re.findall(r'(?:href|action)="([^"#][^"]*)"', page)
    found += re.findall(r'name="back" value="([^"]*)"', page)
    return sorted(dict.fromkeys(html.unescape(a) for a in found))
