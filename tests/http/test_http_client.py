"""The executor's HTTP client (aiohttp since #22): it sends what the plan built, byte for byte; keeps
nothing between callers; refuses what it cannot verify; and its pools close without a warning."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import socket
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.http.http_support import Upstream

from mcprt.contracts import CallContext
from mcprt.errors import ToolCallError
from mcprt.outbound import BuiltRequest, HttpUpstream
from tests.support.cli import mcprt_cli
from tests.support.tls import mutual_tls, self_signed, server_context
from tests.support.upstream import read_request_head, serve_app, serve_tcp

OK_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"


def ctx(timeout: float = 10.0) -> CallContext:
    return CallContext(tool="t", timeout=timeout, max_response_bytes=1_000_000)


def get(url: str) -> BuiltRequest:
    return BuiltRequest(method="GET", url=url, idempotent=True)


@pytest.fixture
async def client() -> AsyncIterator[HttpUpstream]:
    http = HttpUpstream(source="test", auth=None, headers={}, retries=0)
    yield http
    await http.aclose()


async def test_the_request_line_is_the_url_the_plan_encoded(client: HttpUpstream) -> None:
    """No re-encoding, no normalizing: `%2F` stays an escaped slash, `%7E` stays escaped, dot
    segments stay (they may be data in a path parameter), the query is sent as built."""
    lines: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        lines.append(read_request_head(conn).split(b"\r\n", 1)[0])
        conn.sendall(OK_JSON)

    path = "/files/a%2Fb/%7Eme/./x/../y?q=%20a+b&k=%2F&e="
    with serve_tcp(handler) as (host, port):
        result = await client.send(get(f"http://{host}:{port}{path}"), ctx())
    assert result.status == 200 and result.body == {"ok": True}
    assert lines == [f"GET {path} HTTP/1.1".encode()]


async def test_a_redirect_to_a_location_with_spaces_is_sent_percent_encoded(upstream: Upstream,
                                                                           client: HttpUpstream) -> None:
    lines: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        head = read_request_head(conn)
        lines.append(head.split(b"\r\n", 1)[0])
        if len(lines) == 1:
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /a b/\xc3\xbc\r\nContent-Length: 0\r\n\r\n")
            head = read_request_head(conn)  # the same connection, kept alive
            lines.append(head.split(b"\r\n", 1)[0])
        conn.sendall(OK_JSON)

    with serve_tcp(handler) as (host, port):
        result = await client.send(get(f"http://{host}:{port}/start"), ctx())
    assert result.status == 200 and result.meta["redirects"] == 1
    assert lines == [b"GET /start HTTP/1.1", b"GET /a%20b/%C3%BC HTTP/1.1"]


async def test_a_cookie_one_caller_was_given_never_reaches_another() -> None:
    seen: list[str | None] = []

    async def login(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"Set-Cookie": "sid=alice-session; Path=/"})

    async def whoami(request: Request) -> JSONResponse:
        seen.append(request.headers.get("cookie"))
        return JSONResponse({"cookie": request.headers.get("cookie")})

    http = HttpUpstream(source="shared", auth=None, headers={}, retries=0)
    try:
        with serve_app(Starlette(routes=[Route("/login", login), Route("/whoami", whoami)])) as base:
            assert (await http.send(get(f"{base}/login"), ctx())).status == 200
            result = await http.send(get(f"{base}/whoami"), ctx())
    finally:
        await http.aclose()
    assert seen == [None] and result.body == {"cookie": None}


async def test_many_calls_in_flight_share_one_pool(upstream: Upstream, client: HttpUpstream) -> None:
    results = await asyncio.gather(*(client.send(get(upstream.url(f"/echo?n={n}")), ctx()) for n in range(32)))
    assert sorted(r.body["query"] for r in results) == sorted(f"n={n}" for n in range(32))


# --- TLS --------------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    return server_context(*self_signed(tmp_path, addresses=["127.0.0.1"]))


@pytest.mark.parametrize("verify", [True, False])
async def test_an_untrusted_certificate_is_refused_unless_verification_is_off(tmp_path: Path, verify: bool) -> None:
    server_context = _self_signed(tmp_path)

    def handler(conn: socket.socket) -> None:
        with server_context.wrap_socket(conn, server_side=True) as tls:
            read_request_head(tls)
            tls.sendall(OK_JSON)

    http = HttpUpstream(source="tls", auth=None, headers={}, retries=0, verify=verify)
    try:
        with serve_tcp(handler) as (host, port):
            url = f"https://{host}:{port}/secure"
            if verify:
                with pytest.raises(ToolCallError) as caught:
                    await http.send(get(url), ctx())
                assert str(caught.value) == (
                    "cannot connect to upstream: TLS certificate verification failed (self-signed certificate); "
                    "to trust a private CA, give the source `tls: {ca_file: ca.pem}` or set SSL_CERT_FILE (or "
                    f"SSL_CERT_DIR) for the mcprt process (GET {host}:{port}/secure)"
                )
            else:
                assert (await http.send(get(url), ctx())).body == {"ok": True}
    finally:
        await http.aclose()


async def test_a_failed_handshake_is_retried_unlike_a_failed_verification(tmp_path: Path) -> None:
    """A handshake cut by the server (a proxy restarting: the first connection answers in plain text)
    may pass next time, so an idempotent call is retried; only an untrusted certificate is certain to fail
    again (test_an_untrusted_certificate_fails_at_once_saying_how_to_trust_a_ca)."""
    from mcprt.outbound.tls import client_context

    cert, key = self_signed(tmp_path, addresses=["127.0.0.1"])
    context = server_context(cert, key)
    connections: list[int] = []

    def handler(conn: socket.socket) -> None:
        connections.append(1)
        if len(connections) == 1:
            with conn:
                conn.recv(4096)  # the ClientHello
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        with context.wrap_socket(conn, server_side=True) as tls:
            read_request_head(tls)
            tls.sendall(OK_JSON)

    http = HttpUpstream(source="tls", auth=None, headers={}, retries=2, tls=client_context(ca_file=cert))
    try:
        with serve_tcp(handler) as (host, port):
            result = await http.send(get(f"https://{host}:{port}/secure"), ctx())
    finally:
        await http.aclose()
    assert result.body == {"ok": True} and len(connections) == 2


@dataclass(frozen=True)
class TlsUpstream:
    """An HTTPS upstream on 127.0.0.1 with a certificate of its own (no public CA signed it) that asks for a
    client certificate, optionally (mutual TLS): it answers `{"client": <the client certificate's CN or null>}`."""

    base: str
    ca: Path  # the server's certificate: the only CA that trusts it
    client_cert: Path
    client_key: Path
    folder: Path


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsUpstream]:
    folder = tmp_path_factory.mktemp("tls")
    context, cert, client_cert, client_key = mutual_tls(folder, ssl.CERT_OPTIONAL)

    spec = {"openapi": "3.0.3", "info": {"title": "k8s", "version": "1"}, "paths": {"/api/v1/pods": {"get": {
        "operationId": "list_pods", "responses": {"200": {"description": "ok"}}}}}}

    def handler(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            head = read_request_head(tls)
            peer = tls.getpeercert()
            subject = dict(item for rdn in peer["subject"] for item in rdn) if peer else {}
            body = json.dumps({"client": subject.get("commonName")}).encode()
            if head.startswith(b"GET /openapi.json ") and subject:  # the description: to the client certificate only
                body = json.dumps(spec).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    (folder / "k8s.json").write_text(json.dumps(spec))
    with serve_tcp(handler) as (host, port):
        yield TlsUpstream(f"https://{host}:{port}", cert, client_cert, client_key, folder)


def _call_list_pods(upstream: TlsUpstream, tls: str = "", env: dict[str, str] | None = None,
                    ) -> subprocess.CompletedProcess[str]:
    """`mcprt call --offline list_pods` on a manifest naming the TLS upstream, `tls` its `tls:` line (flow)."""
    manifest = upstream.folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  k8s:\n    openapi: k8s.json\n"
                        f"    base_url: {upstream.base}\n" + (f"    tls: {tls}\n" if tls else ""))
    return mcprt_cli("call", "--offline", str(manifest), "list_pods",
                     env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", **(env or {})})


def test_an_untrusted_certificate_fails_at_once_saying_how_to_trust_a_ca(tls_upstream: TlsUpstream) -> None:
    """Verification is deterministic: not retried (no "after 3 attempts"), and the error names the fix."""
    done = _call_list_pods(tls_upstream)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TLS certificate verification failed (self-signed certificate); to trust a private CA, give the " \
           "source `tls: {ca_file: ca.pem}` or set SSL_CERT_FILE" in done.stdout
    assert "attempts" not in done.stdout


@pytest.mark.parametrize("trust", ["SSL_CERT_FILE", "SSL_CERT_DIR", "ca_file", "ca_file over SSL_CERT_FILE"])
def test_a_private_ca_is_trusted_from_the_manifest_or_the_standard_variables(
    tls_upstream: TlsUpstream, trust: str
) -> None:
    env: dict[str, str] = {}
    tls = ""
    if trust == "SSL_CERT_FILE":
        env["SSL_CERT_FILE"] = str(tls_upstream.ca)
    elif trust == "SSL_CERT_DIR":  # OpenSSL finds a CA in a directory by its subject hash: `openssl rehash`
        hashed = tls_upstream.folder / "hashed"
        hashed.mkdir(exist_ok=True)
        (hashed / tls_upstream.ca.name).write_bytes(tls_upstream.ca.read_bytes())
        subprocess.run(["openssl", "rehash", str(hashed)], check=True, capture_output=True)
        env["SSL_CERT_DIR"] = str(hashed)
    else:
        tls = "{ca_file: server/cert.pem}"
        if trust == "ca_file over SSL_CERT_FILE":
            env["SSL_CERT_FILE"] = str(tls_upstream.client_cert)  # a CA that would not trust the upstream
    done = _call_list_pods(tls_upstream, tls, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"client": null' in done.stdout or '"client":null' in done.stdout


def test_a_client_certificate_is_presented_for_mutual_tls(tls_upstream: TlsUpstream) -> None:
    done = _call_list_pods(tls_upstream, "{ca_file: server/cert.pem, cert_file: client/cert.pem, "
                                         "key_file: client/key.pem}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mcprt-client" in done.stdout


def test_the_description_is_downloaded_with_the_sources_tls(tls_upstream: TlsUpstream, tmp_path: Path) -> None:
    """The `openapi:` download used httpx's defaults whatever the source's `tls:` said: a private API serving
    its description from its own host (Kubernetes' /openapi/v3), behind a private CA and mutual TLS, could
    not be loaded at all. The source's `tls:` now applies to its description too."""
    manifest = tls_upstream.folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  k8s:\n"
                        f"    openapi: {tls_upstream.base}/openapi.json\n    base_url: {tls_upstream.base}\n"
                        "    tls: {ca_file: server/cert.pem, cert_file: client/cert.pem, key_file: client/key.pem}\n")
    done = mcprt_cli("call", str(manifest), "list_pods",
                     env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "MCPRT_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mcprt-client" in done.stdout


def test_a_description_on_another_host_is_downloaded_with_the_default_trust(
        tls_upstream: TlsUpstream, tmp_path: Path) -> None:
    """The source's `tls:` was applied to every description download: a vendor's description on a public
    host (the API internal, behind `ca_file`) failed certificate verification (`ca_file` replaces the
    default store), and the API's client certificate was offered to the third-party host. Now the source's
    `tls:` applies only where the URL has `base_url`'s origin; another host gets the default trust."""
    (tmp_path / "public").mkdir()
    cert, key = self_signed(tmp_path / "public", addresses=["127.0.0.1"])
    context = server_context(cert, key)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(tls_upstream.client_cert)  # it would accept the client certificate: none comes
    shown: list[object] = []
    body = (tls_upstream.folder / "k8s.json").read_bytes()

    def public(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            read_request_head(tls)
            shown.append(tls.getpeercert())
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    with serve_tcp(public) as (host, port):
        manifest = tls_upstream.folder / "vendor.yaml"
        manifest.write_text("version: 1\nsources:\n  k8s:\n"
                            f"    openapi: https://{host}:{port}/openapi.json\n    base_url: {tls_upstream.base}\n"
                            "    tls: {ca_file: server/cert.pem, cert_file: client/cert.pem, key_file: client/key.pem}\n")
        done = mcprt_cli("call", str(manifest), "list_pods",
                         env={"SSL_CERT_FILE": str(cert), "SSL_CERT_DIR": "", "MCPRT_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mcprt-client" in done.stdout  # the API still gets the source's tls: (its client certificate)
    assert shown and not any(shown), shown  # the public host was offered no client certificate


def test_a_missing_tls_file_is_a_load_error_at_its_key(tls_upstream: TlsUpstream) -> None:
    done = _call_list_pods(tls_upstream, "{ca_file: nowhere/ca.pem}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mcp.yaml:6:" in done.stderr and "no such file" in done.stderr and "nowhere/ca.pem" in done.stderr


def test_an_encrypted_key_file_is_a_load_error_never_a_prompt(tls_upstream: TlsUpstream) -> None:
    """OpenSSL asks for an encrypted key's passphrase on the terminal; mcprt refuses at load instead."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(tls_upstream.client_key.read_bytes(), password=None)
    (tls_upstream.folder / "client" / "encrypted.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    done = _call_list_pods(tls_upstream, "{ca_file: server/cert.pem, cert_file: client/cert.pem, "
                                         "key_file: client/encrypted.pem}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the private key is encrypted; give an unencrypted one" in done.stderr, done.stderr


def test_a_rotated_ca_file_is_read_again(tmp_path: Path) -> None:
    """A cluster's `ca.crt` renewed in place: the next context (the source reopens when a watched tls file
    changes) trusts the new CA, not the cached old one."""
    from mcprt.outbound.tls import client_context

    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old, _ = self_signed(tmp_path / "old", names=["old-ca"])
    new, _ = self_signed(tmp_path / "new", names=["new-ca", "longer-name-so-the-size-differs"])
    ca = tmp_path / "ca.pem"
    ca.write_bytes(old.read_bytes())
    first = client_context(ca_file=ca)
    ca.write_bytes(new.read_bytes())
    second = client_context(ca_file=ca)
    assert second is not first  # made again from the new file (before: the cached context of the old one)
    assert client_context(ca_file=ca) is second  # unchanged: still made once


@pytest.fixture(scope="module")
def plain_upstream(tls_upstream: TlsUpstream) -> Iterator[str]:
    """A plain-http twin of `tls_upstream` (same description): its base URL."""

    def handler(conn: socket.socket) -> None:
        with conn:
            read_request_head(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: 11\r\n\r\n{\"ok\":true}")

    with serve_tcp(handler) as (host, port):
        yield f"http://{host}:{port}"


MISSING_BUNDLE = "/nonexistent/ca.pem"


def test_a_wrong_ssl_cert_file_leaves_plain_http_alone(tls_upstream: TlsUpstream, plain_upstream: str) -> None:
    """SSL_CERT_FILE is read for https only: an http source calls as before."""
    done = _call_list_pods(dataclasses.replace(tls_upstream, base=plain_upstream), env={"SSL_CERT_FILE": MISSING_BUNDLE})
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"ok": true' in done.stdout or '"ok":true' in done.stdout


@pytest.mark.parametrize("tls", ["", "{cert_file: client/cert.pem, key_file: client/key.pem}"])
def test_a_wrong_ssl_cert_file_is_a_load_error_naming_it(tls_upstream: TlsUpstream, tls: str) -> None:
    """For an https source the environment's store is loaded at open: a path that is not one is an error
    naming the variable (not the source's own files, not a traceback); validate reports it too."""
    done = _call_list_pods(tls_upstream, tls, {"SSL_CERT_FILE": MISSING_BUNDLE})
    checked = mcprt_cli("validate", "--offline", str(tls_upstream.folder / "mcp.yaml"),
                        env={"SSL_CERT_FILE": MISSING_BUNDLE, "SSL_CERT_DIR": ""})
    for ran in (done, checked):
        assert ran.returncode == 2, ran.stdout + ran.stderr
        assert f"the CA bundle the environment names cannot be loaded (SSL_CERT_FILE={MISSING_BUNDLE}: No such " \
               "file or directory)" in ran.stderr, ran.stderr
        assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
        assert "client/cert.pem" not in ran.stderr


async def test_a_wrong_ssl_cert_file_fails_an_https_hop_of_an_http_source_clearly(
    tls_upstream: TlsUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An http source redirected to https reads the store at that hop: a wrong SSL_CERT_FILE is the call's
    error naming it (not an internal error), and its plain-http calls keep working."""
    monkeypatch.setenv("SSL_CERT_FILE", MISSING_BUNDLE)
    target = f"{tls_upstream.base}/api/v1/pods".encode()

    def handler(conn: socket.socket) -> None:
        with conn:
            head = read_request_head(conn)
            if b"/plain" in head.split(b"\r\n", 1)[0]:
                conn.sendall(OK_JSON)
            else:
                conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + target + b"\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    http = HttpUpstream(source="plain", auth=None, headers={}, retries=0)
    try:
        with serve_tcp(handler) as (host, port):
            assert (await http.send(get(f"http://{host}:{port}/plain"), ctx())).body == {"ok": True}
            with pytest.raises(ToolCallError) as caught:
                await http.send(get(f"http://{host}:{port}/moved"), ctx())
    finally:
        await http.aclose()
    assert f"the CA bundle the environment names cannot be loaded (SSL_CERT_FILE={MISSING_BUNDLE}" in str(caught.value)


@pytest.fixture(scope="module")
def public_token_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An OAuth2 token endpoint over https whose certificate another CA signed than the upstream's (a
    public identity provider): its URL and that certificate (the store SSL_CERT_FILE names)."""
    folder = tmp_path_factory.mktemp("idp")
    cert, key = self_signed(folder, addresses=["127.0.0.1"])
    context = server_context(cert, key)
    context.verify_mode = ssl.CERT_OPTIONAL  # so a client certificate offered here would be seen
    context.load_verify_locations(cert)
    offered: list[bool] = []

    def handler(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            data = read_request_head(tls)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:  # the form, read whole: closing on unread bytes would reset
                body += tls.recv(4096)
            offered.append(bool(tls.getpeercert()))
            body = json.dumps({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 300}).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    with serve_tcp(handler) as (host, port):
        yield f"https://{host}:{port}/token", cert
    assert not any(offered), "the source's client certificate was offered to the token endpoint"


def test_token_requests_keep_the_default_trust_not_the_sources_ca(
    tls_upstream: TlsUpstream, public_token_endpoint: tuple[str, Path]
) -> None:
    """`tls:` is for the source's API: its private CA does not replace the store token requests check the
    identity provider against (SSL_CERT_FILE here), and its client certificate is not offered there."""
    token_url, idp_ca = public_token_endpoint
    tls = ("{ca_file: server/cert.pem, cert_file: client/cert.pem, key_file: client/key.pem}\n"
           f"    auth: {{oauth2: {{token_url: {token_url}, client_id: mcprt, client_secret: \"${{CLIENT_SECRET}}\"}}}}")
    done = _call_list_pods(tls_upstream, tls, {"SSL_CERT_FILE": str(idp_ca), "CLIENT_SECRET": "s3cret-value-long"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mcprt-client" in done.stdout  # the API still saw the client certificate


# --- what cannot be sent ------------------------------------------------------------------------------


async def test_a_non_http_scheme_is_a_clear_error(client: HttpUpstream) -> None:
    with pytest.raises(ToolCallError) as caught:
        await client.send(get("ftp://127.0.0.1/pub/file"), ctx())
    assert str(caught.value) == "the URL scheme is not http or https (GET 127.0.0.1/pub/file)"


async def test_an_unknown_host_name_is_a_clear_error(client: HttpUpstream) -> None:
    # RFC 6761 §6.4: names under .invalid never resolve.
    with pytest.raises(ToolCallError) as caught:
        await client.send(get("http://no-such-host.invalid/x"), ctx())
    assert str(caught.value) == "cannot connect to upstream: host name not found (GET no-such-host.invalid/x)"


@pytest.mark.parametrize("name", ["X Name", "X-Name:", "Caf\u00e9"])
async def test_a_header_name_that_is_not_a_token_is_refused(upstream: Upstream, client: HttpUpstream,
                                                            name: str) -> None:
    with pytest.raises(ToolCallError, match=r"\(GET .*/echo\)$"):
        await client.send(BuiltRequest(method="GET", url=upstream.url("/echo"), headers=[(name, "v")]), ctx())
    assert upstream.recorder.hits["/echo"] == 0


# --- pools close cleanly --------------------------------------------------------------------------------


def _run_quietly(coroutine_factory, caplog: pytest.LogCaptureFixture) -> list[str]:  # type: ignore[no-untyped-def]
    """Run on a fresh loop; what warnings and asyncio error reports said about clients or pools."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        coroutine_factory()
        gc.collect()
    said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return [s for s in said if "session" in s.lower() or "connector" in s.lower() or "connection" in s.lower()]


def test_a_closed_upstream_leaves_no_unclosed_session(_upstream_server: Upstream,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    async def life() -> None:
        http = HttpUpstream(source="s", auth=None, headers={}, retries=0)
        for _ in range(3):
            assert (await http.send(get(_upstream_server.url("/echo")), ctx())).status == 200
        await http.aclose()

    assert _run_quietly(lambda: asyncio.run(life()), caplog) == []


def test_a_pool_left_in_a_finished_loop_is_dropped_without_a_report(_upstream_server: Upstream,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    http = HttpUpstream(source="s", auth=None, headers={}, retries=0)

    async def call() -> int:
        return (await http.send(get(_upstream_server.url("/echo")), ctx())).status

    async def last_life() -> int:
        try:
            return await call()
        finally:
            await http.aclose()

    def lives() -> None:
        assert asyncio.run(call()) == 200  # its loop ends with the pool open
        assert asyncio.run(last_life()) == 200

    assert _run_quietly(lives, caplog) == []


async def test_a_long_response_header_is_accepted_and_an_endless_one_is_not(client: HttpUpstream) -> None:
    """12 KB of `Link` header (long pagination links) is an answer; 1 MB of header is refused, and the
    error names the 16 KB header limit (it said "malformed HTTP response": the response was well formed)."""
    def handler(conn: socket.socket) -> None:
        path = read_request_head(conn).split(b" ")[1]
        size = 12_000 if path == b"/long" else 1_000_000
        conn.sendall(b"HTTP/1.1 200 OK\r\nLink: <" + b"x" * size + b">\r\n" + OK_JSON.split(b"\r\n", 1)[1])

    with serve_tcp(handler) as (host, port):
        assert (await client.send(get(f"http://{host}:{port}/long"), ctx())).body == {"ok": True}
        with pytest.raises(ToolCallError) as caught:
            await client.send(get(f"http://{host}:{port}/endless"), ctx())
    assert str(caught.value) == ("upstream sent a response header longer than the 16 KB limit (16,384 bytes); "
                                 f"the response was not read (GET {host}:{port}/endless)")


def test_a_cli_call_closes_its_pool_before_exit(_upstream_server: Upstream, tmp_path: Path) -> None:
    """`mcprt call` sends through the source's pool and closes it: with every ResourceWarning shown,
    nothing on stderr says a session, connector or connection was left open. A real process: what it
    leaves open is reported at its exit, and PYTHONWARNINGS is read only when a process starts."""
    import json

    from tests.support.cli import mcprt_process

    spec = {"openapi": "3.0.3", "info": {"title": "echo", "version": "1"},
            "paths": {"/echo": {"get": {"operationId": "echo", "parameters": [
                {"name": "word", "in": "query", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "echo.json").write_text(json.dumps(spec))
    (tmp_path / "mcp.yaml").write_text(
        f"version: 1\nserver: {{name: echo}}\nsources:\n  up: {{openapi: echo.json, base_url: '{_upstream_server.base}'}}\n"
    )
    done = mcprt_process("call", str(tmp_path / "mcp.yaml"), "echo", "--args", '{"word": "hi"}',
                         env={"PYTHONWARNINGS": "always::ResourceWarning"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "word=hi" in done.stdout
    assert not [line for line in done.stderr.splitlines() if "nclosed" in line], done.stderr


async def test_a_failed_call_carries_no_credential_anywhere_in_its_exception(client: HttpUpstream) -> None:
    """aiohttp's exceptions hold the request as sent (credential stamped): none may ride along on
    the error mcprt raises, not even as its context or in its traceback's frames."""
    from mcprt.manifest.model import OutboundAuth

    secret = "bearer-value-never-in-errors"
    http = HttpUpstream(source="s", auth=OutboundAuth.model_validate({"bearer": secret}), headers={}, retries=0)

    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":")  # closes mid-body

    try:
        with serve_tcp(handler) as (host, port):
            with pytest.raises(ToolCallError) as caught:
                await http.send(get(f"http://{host}:{port}/x"), ctx())
    finally:
        await http.aclose()
    error = caught.value
    assert str(error) == f"upstream closed the connection before the response was complete (GET {host}:{port}/x)"
    assert error.__context__ is None and error.__cause__ is None
    frames = []
    tb = error.__traceback__
    while tb is not None:
        if "mcprt" in tb.tb_frame.f_code.co_filename and "tests" not in tb.tb_frame.f_code.co_filename:
            frames.append(repr(tb.tb_frame.f_locals))
        tb = tb.tb_next
    assert frames and secret not in " ".join(frames)


def test_a_reload_that_retires_a_source_closes_its_pool(_upstream_server: Upstream, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A source dropped by a reload has its session closed (`Runtime.apply` → `close_retired`), the
    kept one keeps serving, and shutdown closes the rest without a warning. (The collector cannot
    be the witness for the retired one: the first compile's objects are frozen, `gc.freeze`.)"""
    import json

    from mcprt.pipeline import Runtime
    from mcprt.settings import Settings
    from mcprt.toolset.invoke import call_tool

    spec = {"openapi": "3.0.3", "info": {"title": "echo", "version": "1"},
            "paths": {"/echo": {"get": {"operationId": "echo", "responses": {"200": {"description": "ok"}}}}}}
    (tmp_path / "one.json").write_text(json.dumps(spec))
    spec["paths"]["/echo"]["get"]["operationId"] = "echo_too"
    (tmp_path / "two.json").write_text(json.dumps(spec))
    manifest = tmp_path / "mcp.yaml"
    one = f"  one: {{openapi: one.json, base_url: '{_upstream_server.base}'}}\n"
    two = f"  two: {{openapi: two.json, base_url: '{_upstream_server.base}'}}\n"
    manifest.write_text(f"version: 1\nserver: {{name: t}}\nsources:\n{one}{two}")

    async def life() -> None:
        runtime = Runtime(manifest, Settings(cache_dir=tmp_path / "cache", reload=False))
        await runtime.start()
        try:
            assert runtime.holder is not None
            tools = list(runtime.holder.current)
            assert len(tools) == 2
            for tool in tools:
                assert not (await call_tool(tool, {})).is_error
            manifest.write_text(f"version: 1\nserver: {{name: t}}\nsources:\n{one}")
            compiled = await runtime.compile()
            [retired] = compiled.sync.retired
            assert retired.name == "two" and retired.upstream().pooled
            await runtime.apply(compiled)
            assert not retired.upstream().pooled
            [kept] = list(runtime.holder.current)
            assert not (await call_tool(kept, {})).is_error
        finally:
            await runtime.aclose()

    assert _run_quietly(lambda: asyncio.run(life()), caplog) == []
