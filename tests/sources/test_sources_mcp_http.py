"""A remote MCP server over streamable HTTP (the fixture server as a subprocess on 127.0.0.1) as a
`url:` source: credentials (bearer, OAuth2), headers, calls, shaping, list changes, and reconnecting
after the server restarts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from sources_support import call, eventually, http_server, json_of, running, text_of, write_manifest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.errors import ManifestError
from tests.support.tls import mutual_tls
from tests.support.upstream import forward, serve_app, serve_tcp


def remote_manifest(folder: Path, port: int, token: str = "${FIXTURE_TOKEN}", path: str = "/mcp") -> Path:
    return write_manifest(folder, f"""
        version: 1
        sources:
          remote:
            url: http://127.0.0.1:{port}{path}
            auth: {{bearer: "{token}"}}
            headers: {{X-Client: mcprt-tests}}
            tools:
              echo: {{name: say}}
              items.list:
                prune: "[].name"
    """)


async def test_a_remote_server_is_listed_called_pruned_and_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_TOKEN", "t0ken-for-tests")
    seen: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)

    with http_server("--token", "t0ken-for-tests") as (_, port):
        async with running(remote_manifest(tmp_path, port)) as (runtime, compiled):
            names = {tool["name"] for tool in compiled.toolset.list_tools()}
            assert {"say", "add", "items_list", "count", "add_tool"} <= names
            assert text_of(await call(compiled, "say", {"text": "over http"})) == "over http"
            assert text_of(await call(compiled, "client_header")) == "mcprt-tests"
            assert json_of(await call(compiled, "items_list", {"count": 3})) == ["item 0", "item 1", "item 2"]
            assert text_of(await call(compiled, "count", {"n": 2}, progress=progress)) == "counted to 2"
            assert seen == [1, 2]

            changed: list[str] = []
            runtime.on_upstream_tools_changed(changed.append)
            await call(compiled, "add_tool", {"name": "remote_extra"})
            await eventually(lambda: changed)
            rebuilt = await runtime.compile()
            assert text_of(await call(rebuilt, "remote_extra")) == "I am remote_extra"


async def test_two_auth_entries_both_reach_the_remote_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `url:` source with two `auth` entries (a bearer token the server requires, and an API key in X-Client,
    which its `client_header` tool echoes): the call gets past the token check, and the echoed key is scrubbed."""
    monkeypatch.setenv("FIXTURE_TOKEN", "t0ken-for-tests")
    monkeypatch.setenv("CLIENT_KEY", "client-key-7a1c9e3b5d")
    with http_server("--token", "t0ken-for-tests") as (_, port):
        manifest = write_manifest(tmp_path, f"""
            version: 1
            sources:
              remote:
                url: http://127.0.0.1:{port}/mcp
                auth:
                  - bearer: "${{FIXTURE_TOKEN}}"
                  - api_key: {{name: X-Client, value: "${{CLIENT_KEY}}"}}
        """)
        async with running(manifest) as (_, compiled):
            assert text_of(await call(compiled, "client_header")) == "[redacted]"


@pytest.mark.parametrize(
    ("token", "path", "expected"),
    [
        ("wrong", "/mcp", "answered HTTP 401 Unauthorized (check the source's `auth` and `headers`)"),
        ("t0ken-for-tests", "/elsewhere", "answered HTTP 404 Not Found (check the URL's path, e.g. /mcp)"),
    ],
)
async def test_a_refused_connection_is_a_diagnostic_saying_why(tmp_path: Path, token: str, path: str,
                                                               expected: str) -> None:
    with http_server("--token", "t0ken-for-tests") as (_, port):
        manifest = remote_manifest(tmp_path, port, token=token, path=path)
        with pytest.raises(ManifestError) as caught:
            async with running(manifest):
                pass
    [diagnostic] = caught.value.errors  # (the test token is literal: a warning rides along)
    assert (diagnostic.line, diagnostic.col) == (4, 10)
    assert diagnostic.message == f"source 'remote': http://127.0.0.1:{port}{path} {expected}"
    assert "t0ken" not in diagnostic.message and "wrong" not in diagnostic.message


async def test_nothing_listening_is_a_diagnostic(tmp_path: Path) -> None:
    with http_server() as (process, port):
        pass  # started and stopped: the port is free now
    with pytest.raises(ManifestError) as caught:
        async with running(remote_manifest(tmp_path, port, token="x")):
            pass
    assert caught.value.diagnostics[0].message.startswith(
        f"source 'remote': cannot connect to http://127.0.0.1:{port}/mcp: "
    )


async def test_the_source_reconnects_when_the_server_comes_back(tmp_path: Path) -> None:
    with http_server() as (first, port):
        manifest = remote_manifest(tmp_path, port, token="unused")
        async with running(manifest) as (_, compiled):
            assert text_of(await call(compiled, "say", {"text": "one"})) == "one"
            first.kill()
            first.wait()
            await asyncio.sleep(0.5)  # its kept-alive connection is seen closed: the call connects anew, refused
            down = await call(compiled, "say", {"text": "two"})
            # Whether the SDK notices the dead server before this call (its stream ended) or through this
            # call's refused POST is a race; either way the call was never sent, and is said to be: a trial was
            # told "the upstream may or may not have acted on it" for a connection refused.
            restarting = "source 'remote' is restarting (attempt 1); try again in a few seconds"
            assert text_of(down) in (restarting, f"say: cannot connect to http://127.0.0.1:{port}/mcp: connection "
                                                 "refused (is the server running?). The call was not sent, so it did not run: it is safe to "
                                                 f"try again later ({restarting}).")
            with http_server(port=port):

                async def served() -> bool:
                    return not (await call(compiled, "say", {"text": "three"})).get("isError")

                await eventually(served, timeout=15, interval=0.2)


async def test_a_call_that_ran_before_the_server_died_is_never_said_not_to_have_run(tmp_path: Path) -> None:
    # The server (resumable SSE) runs the call, starts answering, and dies: the SDK's GET resuming the stream
    # is refused in the call's context. That refusal was taken for the call's own: "not sent, so it did not
    # run: safe to try again" for a call that ran (a charge repeated). Only the call's POST tells.
    mark = tmp_path / "ran"
    with http_server("--resumable") as (_, port):
        manifest = remote_manifest(tmp_path, port, token="unused")
        async with running(manifest) as (_, compiled):
            answer = text_of(await call(compiled, "crash", {"mark": str(mark)}))
    assert mark.read_text() == "ran\n"
    assert "did not run" not in answer and "safe to try again" not in answer
    assert answer.startswith("crash: the connection to server 'remote' ended before it answered. The upstream may "
                             "or may not have acted on it"), answer


async def test_oauth2_client_credentials_reach_the_remote_server(tmp_path: Path) -> None:
    grants: list[str] = []

    async def token(request: Request) -> JSONResponse:
        grants.append((await request.form())["grant_type"])  # type: ignore[arg-type]
        return JSONResponse({"access_token": "issued-t0ken", "token_type": "bearer", "expires_in": 3600})

    with serve_app(Starlette(routes=[Route("/token", token, methods=["POST"])])) as issuer, \
            http_server("--token", "issued-t0ken") as (_, port):
        manifest = write_manifest(tmp_path, f"""
            version: 1
            sources:
              remote:
                url: http://127.0.0.1:{port}/mcp
                auth:
                  oauth2: {{token_url: "{issuer}/token", client_id: mcprt, client_secret: s3cret}}
        """)
        async with running(manifest) as (_, compiled):
            assert text_of(await call(compiled, "echo", {"text": "with a token"})) == "with a token"
    assert grants == ["client_credentials"]  # fetched once, reused for every request


async def test_a_server_refusing_the_handshake_era_is_reached_in_the_2026_era(tmp_path: Path) -> None:
    with http_server("--modern-only") as (_, port):
        async with running(remote_manifest(tmp_path, port, token="unused")) as (runtime, compiled):
            source = runtime.pool.running["remote"]
            assert source._client.protocol_version == "2026-07-28"  # noqa: SLF001
            assert text_of(await call(compiled, "say", {"text": "modern"})) == "modern"

            changed: list[str] = []
            runtime.on_upstream_tools_changed(changed.append)
            await call(compiled, "add_tool", {"name": "modern_extra"})
            await eventually(lambda: changed)  # through subscriptions/listen


async def test_a_handshake_era_server_is_reached_in_the_handshake_era(tmp_path: Path) -> None:
    with http_server() as (_, port):
        async with running(remote_manifest(tmp_path, port, token="unused")) as (runtime, _):
            assert runtime.pool.running["remote"]._client.protocol_version == "2025-11-25"  # noqa: SLF001


async def test_oauth2_a_refused_token_is_renewed_once_through_the_shared_flow(tmp_path: Path) -> None:
    """The url: transport drives the executor's flow: stamp → 401 → renew → resend once."""
    issued: list[str] = []

    async def token(request: Request) -> JSONResponse:
        issued.append(f"t0ken-{len(issued) + 1}")
        return JSONResponse({"access_token": issued[-1], "token_type": "bearer", "expires_in": 3600})

    with serve_app(Starlette(routes=[Route("/token", token, methods=["POST"])])) as issuer, \
            http_server("--token", "t0ken-2") as (_, port):
        manifest = write_manifest(tmp_path, f"""
            version: 1
            sources:
              remote:
                url: http://127.0.0.1:{port}/mcp
                auth:
                  oauth2: {{token_url: "{issuer}/token", client_id: mcprt, client_secret: s3cret}}
        """)
        async with running(manifest) as (_, compiled):
            assert text_of(await call(compiled, "echo", {"text": "renewed"})) == "renewed"
    assert issued == ["t0ken-1", "t0ken-2"]  # the refused token was replaced once, then reused


async def test_oauth2_token_responses_are_capped_like_the_http_executor(tmp_path: Path) -> None:
    """A token endpoint answering megabytes is not read whole (the executor's 1 MB token cap)."""
    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "issued-t0ken", "token_type": "bearer", "padding": "x" * 2_000_000})

    with serve_app(Starlette(routes=[Route("/token", token, methods=["POST"])])) as issuer, \
            http_server("--token", "issued-t0ken") as (_, port):
        manifest = write_manifest(tmp_path, f"""
            version: 1
            sources:
              remote:
                url: http://127.0.0.1:{port}/mcp
                startup_timeout: 20s
                auth:
                  oauth2: {{token_url: "{issuer}/token", client_id: mcprt, client_secret: s3cret}}
        """)
        with pytest.raises(ManifestError) as caught:
            async with running(manifest):
                pass
    message = str(caught.value)
    assert "source 'remote'" in message and "OAuth2 token endpoint" in message, message
    assert "s3cret" not in message and "issued-t0ken" not in message


async def test_a_wrong_ssl_cert_file_leaves_a_plain_http_server_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trust store is for https: a wrong SSL_CERT_FILE used to fail an http `url:` source at open
    ("FileNotFoundError"); an https one gets an error naming the variable (outbound/tls.py)."""
    monkeypatch.setenv("FIXTURE_TOKEN", "t0ken-for-tests")
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with http_server("--token", "t0ken-for-tests") as (_, port):
        async with running(remote_manifest(tmp_path, port)) as (_, compiled):
            assert text_of(await call(compiled, "say", {"text": "no store needed"})) == "no store needed"


@contextlib.contextmanager
def _mutual_tls_front(folder: Path, backend_port: int) -> Iterator[tuple[int, Path]]:
    """An HTTPS front on 127.0.0.1 for the plain-http fixture server on `backend_port`: its certificate is
    signed by no public CA, and it refuses clients without the certificate `folder/client` holds (mutual
    TLS, as a service behind a private CA asks). Yields (port, folder): `server/cert.pem` is the CA to
    trust, `client/cert.pem` + `client/key.pem` the client certificate."""
    context = mutual_tls(folder, ssl.CERT_REQUIRED)[0]

    def front(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            forward(tls, backend_port)

    with serve_tcp(front) as (_, port):
        yield port, folder


@pytest.mark.parametrize("tls", ["", "{ca_file: server/cert.pem}", "{ca_file: nowhere/ca.pem}",
                                 "{ca_file: server/cert.pem, cert_file: client/cert.pem, key_file: client/key.pem}"])
async def test_a_url_source_behind_a_private_ca_and_mutual_tls_takes_the_sources_tls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: str) -> None:
    """`url:` sources had no `tls:` (OpenAPI sources have it): an MCP server behind a private CA or asking
    for a client certificate could not be reached. The same `tls:` now applies, read by the same code."""
    monkeypatch.setenv("SSL_CERT_FILE", "")
    monkeypatch.setenv("SSL_CERT_DIR", "")
    with http_server() as (_, backend), _mutual_tls_front(tmp_path, backend) as (port, folder):
        manifest = write_manifest(folder, f"""
            version: 1
            sources:
              remote:
                url: https://127.0.0.1:{port}/mcp
        """ + (f"        tls: {tls}\n" if tls else ""))
        if "client/key.pem" not in tls:
            with pytest.raises(ManifestError) as caught:
                async with running(manifest):
                    pass
            message = caught.value.errors[0].message
            if "nowhere" in tls:  # a file the manifest names is missing: said at its key, at load
                assert f"no such file: {folder / 'nowhere/ca.pem'}" in message, message
            elif tls:  # trusted now (no verification failure); the server refuses it without a client certificate
                # (TLS 1.3: the refusal comes after the handshake, as an alert or as the connection closing)
                assert "verif" not in message.lower(), message
                assert "ReadError" in message or "certificate required" in message, message
            else:
                assert "certificate verify failed" in message or "verification failed" in message, message
            return
        async with running(manifest) as (_, compiled):
            assert text_of(await call(compiled, "echo", {"text": "over mutual TLS"})) == "over mutual TLS"
