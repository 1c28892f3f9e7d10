"""What the hostile-input tests share: a reflecting upstream, CLI runs with time and memory bounds.

Every run is a real subprocess (`python -m mcprt …`) on loopback. `run_cli` bounds its time with a
timeout and reports the child's peak resident memory (`VmHWM`, sampled from /proc until it exits),
so each test can assert "within T seconds and M MB" the way the issue asks.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.served import child_env

# Secrets with characters every escaping changes: `/` and `+` (percent/form), `=` (base64-like).
BEARER = "zz/bearer+Tok=4711"
BASIC_PASSWORD = "pw/basic+Secret=99"
PROJECT_KEY = "pk/project+Key=0815"  # the #12 example: an api key in a header called `project_id`
QUERY_KEY = "qk/query+Key=1234"
COOKIE_KEY = "ck/cookie+Key=5678"
CLIENT_SECRET = "zz/secret+Client=777"
ISSUED_TOKEN = "at/issued+Token=31337"
ALL_SECRETS = {
    "BEARER_TOKEN": BEARER, "BASIC_PASSWORD": BASIC_PASSWORD, "PROJECT_KEY": PROJECT_KEY,
    "QUERY_KEY": QUERY_KEY, "COOKIE_KEY": COOKIE_KEY, "CLIENT_SECRET": CLIENT_SECRET,
}


def forms_of(secret: str) -> list[str]:
    """The forms a leak would take (independent of the code under test: spelled out here)."""
    from urllib.parse import quote, quote_plus
    return [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
            base64.b64encode(secret.encode()).decode()]


def leaks(text: str, secrets: list[str] | None = None) -> list[str]:
    """Which secret forms occur in `text` (empty: none)."""
    found = []
    for secret in secrets if secrets is not None else [*ALL_SECRETS.values(), ISSUED_TOKEN]:
        found += [f for f in forms_of(secret) if f in text]
    return found


async def _echo(request: Request) -> JSONResponse:
    """Reflect everything a request carried, the way an echo/debug endpoint does."""
    body = (await request.body()).decode("latin-1")
    return JSONResponse({
        "url": str(request.url),
        "query": request.url.query,
        "headers": dict(request.headers),
        "cookies": dict(request.cookies),
        "body": body,
        "authorization_b64_decoded": _decode_basic(request.headers.get("authorization", "")),
    })


def _decode_basic(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(rest).decode()
    except ValueError:
        return ""


async def _token(request: Request) -> JSONResponse:
    """A token endpoint: issues ISSUED_TOKEN to the right secret; otherwise quotes the form it got
    back in its error (as some real servers do), URL-encoded."""
    form = (await request.body()).decode()
    pairs = dict(parse_qsl(form))
    auth = _decode_basic(request.headers.get("authorization", ""))
    secret = pairs.get("client_secret") or auth.partition(":")[2]
    from urllib.parse import unquote_plus
    if unquote_plus(secret) == CLIENT_SECRET:
        return JSONResponse({"access_token": ISSUED_TOKEN, "token_type": "Bearer", "expires_in": 3600})
    return JSONResponse({"error": "invalid_client",
                         "error_description": f"bad client credentials in {form} / {auth}"}, status_code=401)


async def _deep(request: Request) -> Response:
    """JSON nested `n` levels: arrays (`kind=list`) or objects (`kind=dict`)."""
    n = int(request.query_params.get("n", "990"))
    if request.query_params.get("kind") == "dict":
        body = '{"a":' * n + "1" + "}" * n
    else:
        body = "[" * n + "1" + "]" * n
    return Response(body, media_type="application/json")


def gzip_bomb(size: int = 200_000_000) -> bytes:
    """`size` NUL bytes gzipped (about 200 KB), built without holding them."""
    squeezer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    return b"".join(squeezer.compress(block) for _ in range(size >> 20)) + squeezer.flush()


_BOMB: list[bytes] = []


async def _bomb(request: Request) -> Response:
    if not _BOMB:
        _BOMB.append(gzip_bomb())
    return Response(_BOMB[0], media_type="text/plain", headers={"Content-Encoding": "gzip"})


def echo_app() -> Starlette:
    return Starlette(routes=[
        Route("/echo", _echo, methods=["GET", "POST"]),
        Route("/token", _token, methods=["POST"]),
        Route("/deep", _deep),
        Route("/bomb", _bomb),
    ])


ECHO_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "echo", "version": "1"},
    "paths": {
        "/echo": {"get": {
            "operationId": "echo",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "what the request carried"}},
        }},
        "/deep": {"get": {
            "operationId": "deep",
            "parameters": [{"name": "n", "in": "query", "schema": {"type": "integer"}},
                           {"name": "kind", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "deeply nested JSON"}},
        }},
        "/bomb": {"get": {"operationId": "bomb", "responses": {"200": {"description": "a gzip bomb"}}}},
    },
}


def echo_manifest(folder: Path, base: str, *, oauth_secret_var: str = "CLIENT_SECRET") -> Path:
    """A manifest with one echo source per kind of credential, all on the reflecting upstream."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "echo.json").write_text(json.dumps(ECHO_SPEC))
    sources = {
        "bearer": 'auth: {bearer: "${BEARER_TOKEN}"}',
        "basic": 'auth: {basic: {username: alice, password: "${BASIC_PASSWORD}"}}',
        "project": 'auth: {api_key: {in: header, name: project_id, value: "${PROJECT_KEY}"}}',
        "query": 'auth: {api_key: {in: query, name: api_key, value: "${QUERY_KEY}"}}',
        "cookie": 'auth: {api_key: {in: cookie, name: sid, value: "${COOKIE_KEY}"}}',
        "oauth": (f'auth: {{oauth2: {{token_url: "{base}/token", client_id: "cli/ent", '
                  f'client_secret: "${{{oauth_secret_var}}}"}}}}'),
    }
    lines = ["version: 1", "sources:"]
    for name, auth in sources.items():
        lines += [f"  {name}:", "    openapi: echo.json", f"    base_url: {base}", f"    prefix: {name}_",
                  f"    {auth}"]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_cli(*args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> CliRun:
    """`python -m mcprt ARGS` to completion; its time, peak memory and output. A hang fails the test."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "mcprt", *args], cwd=cwd, env=env or child_env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _peak_mb(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"mcprt {' '.join(args)} did not finish within {timeout}s\n{stderr[-3000:]}") from None
    finally:
        done.set()
        sampler.join()
    return CliRun(process.returncode, stdout, stderr, time.monotonic() - started, peak[0])
