"""A real OAuth token endpoint and the API it protects, on 127.0.0.1, counting every token request.

- `POST /token`: the client-credentials grant (RFC 6749 §4.4, client authenticated with HTTP basic)
  and the token-exchange grant (RFC 8693, one token per `subject_token`). Issues `tok-<n>-<random>`
  with `expires_in` = `Issuer.expires_in`, after `Issuer.delay` seconds (so a burst really overlaps).
- `GET /whoami`: 200 with the replica that called (`X-Replica`) and — like a careless API — the
  Authorization header it received, for a token issued and not revoked; 401 otherwise.
- `GET /openapi.json`: the description of `whoami`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "replica-client", "replica-client-secret-0123456789"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "protected", "version": "1"},
    "paths": {"/whoami": {"get": {"operationId": "whoami", "summary": "Who the API thinks is calling.",
                                  "responses": {"200": {"description": "the caller"}}}}},
}


@dataclass
class Issuer:
    """What the endpoint did; the test reads and steers it (the server runs in another thread)."""

    expires_in: int = 300
    delay: float = 0.3
    requests: list[dict[str, str]] = field(default_factory=list)  # every token request's form
    issued: dict[str, str | None] = field(default_factory=dict)  # token → subject token (None: client's own)
    revoked: set[str] = field(default_factory=set)
    api_calls: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def token_requests(self) -> int:
        with self.lock:
            return len(self.requests)

    def grants(self, grant: str) -> list[dict[str, str]]:
        with self.lock:
            return [r for r in self.requests if r.get("grant_type") == grant]

    def revoke_all(self) -> None:
        with self.lock:
            self.revoked |= set(self.issued)


def token_app(issuer: Issuer) -> Starlette:
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    async def token(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        with issuer.lock:
            issuer.requests.append(form)
            number = next(issuer.counter)
        if form.get("grant_type") not in ("client_credentials", EXCHANGE):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        await asyncio.sleep(issuer.delay)
        issued = f"tok-{number}-{secrets.token_hex(12)}"
        with issuer.lock:
            issuer.issued[issued] = form.get("subject_token")
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": issuer.expires_in})

    async def whoami(request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization", "")
        presented = authorization.removeprefix("Bearer ")
        with issuer.lock:
            issuer.api_calls.append({"replica": request.headers.get("x-replica", ""), "token": presented})
            valid = presented in issuer.issued and presented not in issuer.revoked
        if not valid:
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse({"replica": request.headers.get("x-replica"), "authorization": authorization})

    async def spec(request: Request) -> JSONResponse:
        return JSONResponse(SPEC)

    return Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/whoami", whoami),
                             Route("/openapi.json", spec)])
