"""The HTTP executor tests' upstream: a real starlette app on 127.0.0.1, and its helpers.

The upstream records what it saw (headers, token fetches, bytes streamed) in a `Recorder`, so tests
assert on what actually crossed the wire rather than on what the client meant to send.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import zlib
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

CLIENT_ID = "mcprt-client"
CLIENT_SECRET = "s3cret-client-value"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BIG_BODY_BYTES = 50 * 1024 * 1024
BIG_CHUNK = 64 * 1024


@dataclass
class Recorder:
    """What the upstream saw; shared between the server thread and the test."""

    hits: Counter[str] = field(default_factory=Counter)
    token_fetches: int = 0
    token_forms: list[dict[str, str]] = field(default_factory=list)
    token_lifetime: float = 3600
    revoked: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)
    big_bytes_sent: int = 0
    big_finished: bool = False
    # What /echo and /protected received, as the upstream saw it: tests read credentials here, since
    # the reflected copy in a response is scrubbed by mcprt before anyone sees it.
    seen: list[dict] = field(default_factory=list)
    presented: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.token_fetches = 0
            self.token_forms.clear()
            self.token_lifetime = 3600
            self.revoked.clear()
            self.issued.clear()
            self.big_bytes_sent = 0
            self.big_finished = False
            self.seen.clear()
            self.presented.clear()


@dataclass
class Upstream:
    base: str  # http://127.0.0.1:PORT
    recorder: Recorder

    @property
    def other_host(self) -> str:
        """The same server under another host name: a different origin for redirect tests."""
        return self.base.replace("127.0.0.1", "localhost")

    def url(self, path: str) -> str:
        return self.base + path


@functools.cache
def gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped (about 50 kB), built without ever holding the 50 MB."""
    squeezer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    block = b"0" * (1024 * 1024)
    parts = [squeezer.compress(block) for _ in range(BIG_BODY_BYTES // len(block))]
    return b"".join(parts) + squeezer.flush()


def build_app(rec: Recorder) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        echoed = {
            "method": request.method,
            "host": request.headers.get("host"),
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "cookies": dict(request.cookies),
            "body": body.decode("utf-8", "replace"),
        }
        with rec.lock:
            rec.seen.append(echoed)
        return JSONResponse(echoed)

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        return JSONResponse({"error": f"status {code}", "code": code}, status_code=code)

    async def invalid_json(request: Request) -> Response:
        return Response(b"{not json", media_type="application/json")

    async def text(request: Request) -> Response:
        return Response("café au lait".encode("iso-8859-1"), media_type="text/plain; charset=iso-8859-1")

    async def xml(request: Request) -> Response:
        return Response("<a>ünï</a>".encode(), media_type="application/xml")

    async def binary(request: Request) -> Response:
        return Response(PNG, media_type="image/png")

    async def empty(request: Request) -> Response:
        return Response(status_code=204)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("delay", "2")))
        return JSONResponse({"slow": True})

    async def drip(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"x"
                await asyncio.sleep(0.05)

        return StreamingResponse(chunks(), media_type="text/plain")

    async def flaky(request: Request) -> Response:
        """Fails `fail` times with `code` (per `key`), then succeeds."""
        key = request.query_params.get("key", "flaky")
        fail = int(request.query_params.get("fail", "2"))
        code = int(request.query_params.get("code", "503"))
        with rec.lock:
            rec.hits[key] += 1
            seen = rec.hits[key]
        if seen <= fail:
            headers = {}
            if "retry_after" in request.query_params:
                headers["Retry-After"] = request.query_params["retry_after"]
            return JSONResponse({"error": "try later", "seen": seen}, status_code=code, headers=headers)
        return JSONResponse({"ok": True, "seen": seen})

    async def big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            chunk = b"[" + b'"xxxxxxxxxxxxxx",' * (BIG_CHUNK // 17 - 1)
            sent = 0
            while sent < BIG_BODY_BYTES:
                # uvicorn silently drops writes after the client went away: stop as a real server would.
                if await request.is_disconnected():
                    return
                yield chunk
                sent += len(chunk)
                with rec.lock:
                    rec.big_bytes_sent = sent
            with rec.lock:
                rec.big_finished = True

        return StreamingResponse(chunks(), media_type=request.query_params.get("type", "application/json"))

    async def compressed(request: Request) -> Response:
        """`?enc=gzip|deflate|raw-deflate|br|broken`, a JSON body or (`bomb=1`) 50 MB of zeros as text."""
        encoding = request.query_params.get("enc", "gzip")
        if request.query_params.get("bomb"):
            return Response(gzip_bomb(), media_type="text/plain", headers={"Content-Encoding": "gzip"})
        else:
            plain, media_type = b'{"compressed": true, "pad": "' + b"z" * 5000 + b'"}', "application/json"
        if encoding == "gzip":
            data = gzip.compress(plain)
        elif encoding == "deflate":
            data = zlib.compress(plain)
        elif encoding == "raw-deflate":
            squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            data, encoding = squeezer.compress(plain) + squeezer.flush(), "deflate"
        else:
            data = b"\x1f\x8b not really gzip at all"
            encoding = "gzip" if encoding == "broken" else encoding
        return Response(data, media_type=media_type, headers={"Content-Encoding": encoding})

    async def redirect(request: Request) -> Response:
        code = int(request.query_params.get("status", "302"))
        return RedirectResponse(request.query_params["to"], status_code=code)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    async def token(request: Request) -> Response:
        """OAuth2 token endpoint: client_secret_basic on /token, client_secret_post on /token-form."""
        form = dict(await request.form())
        form_only = request.url.path == "/token-form"
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if form_only and auth:
            return JSONResponse({"error": "invalid_client", "error_description": "use the form"}, status_code=401)
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client", "error_description": "bad client"}, status_code=401)
        await asyncio.sleep(0.05)  # long enough for concurrent callers to pile up on the lock
        with rec.lock:
            rec.token_fetches += 1
            issued = f"tok-{rec.token_fetches}"
            rec.issued.append(issued)
            rec.token_forms.append({k: str(v) for k, v in form.items() if k != "client_secret"})
            lifetime = rec.token_lifetime
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": lifetime})

    async def protected(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        presented = auth.removeprefix("Bearer ")
        with rec.lock:
            valid = auth.startswith("Bearer ") and presented in rec.issued and presented not in rec.revoked
        if not valid:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        with rec.lock:
            rec.presented.append(presented)
        return JSONResponse({"ok": True, "token": presented})

    async def revoke(request: Request) -> Response:
        with rec.lock:
            rec.revoked.update(rec.issued)
        return PlainTextResponse("revoked")

    async def always_401(request: Request) -> Response:
        return JSONResponse({"error": "nope"}, status_code=401)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    return Starlette(
        routes=[
            Route("/echo", echo, methods=methods),
            Route("/status/{code}", status, methods=methods),
            Route("/invalid-json", invalid_json),
            Route("/text", text),
            Route("/xml", xml),
            Route("/binary", binary),
            Route("/empty", empty, methods=methods),
            Route("/slow", slow),
            Route("/drip", drip),
            Route("/flaky", flaky, methods=methods),
            Route("/big", big),
            Route("/compressed", compressed),
            Route("/redirect", redirect, methods=methods),
            Route("/loop", loop),
            Route("/token", token, methods=["POST"]),
            Route("/token-form", token, methods=["POST"]),
            Route("/protected", protected),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/always-401", always_401),
        ]
    )


