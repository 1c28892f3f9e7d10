"""The shared test helpers themselves: they start, answer, and stop."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.upstream import read_request_head, reset, serve_app, serve_tcp


async def _hello(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("hello")


APP = Starlette(routes=[Route("/", _hello)])


def test_serve_app_sync() -> None:
    with serve_app(APP) as base:
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(base + "/").text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/")


async def test_serve_app_from_async_test() -> None:
    with serve_app(APP) as base:
        async with httpx.AsyncClient() as client:
            assert (await client.get(base + "/")).text == "hello"


def test_serve_tcp_reset() -> None:
    def handler(conn: socket.socket) -> None:
        read_request_head(conn)
        reset(conn)

    with serve_tcp(handler) as (host, port):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(f"http://{host}:{port}/")
