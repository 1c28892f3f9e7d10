"""The OAuth tests' world: oidc-provider (tests/support/oidc.py), an upstream API with its own RFC 8693
token-exchange endpoint, and the manifest putting `mcprt up` in front of both.

oidc-provider has no RFC 8693 grant built in, so the exchange endpoint lives in the upstream (as it
would at a company whose API gateway issues its own tokens): it authenticates mcprt as a client,
verifies the `subject_token` against the authorization server's published keys (signature, issuer,
audience = mcprt), and issues an opaque token that only this upstream accepts.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.identity.identity_support import who_source

EXCHANGE_SECRET = "exchange-secret-0123456789"
CI_TOKEN = "ci-token-for-oauth-tests-0123"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

API_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "people", "version": "1"},
    "paths": {"/whoami": {"get": {"operationId": "whoami", "summary": "Who the API thinks is calling.",
                                  "responses": {"200": {"description": "the caller"}}}},
              # an API that echoes credentials (a debugging endpoint, a request log): what it got, and what
              # every earlier request got, other callers' included
              "/echo-auth": {"get": {"operationId": "echoAuth", "summary": "The Authorization headers received.",
                                     "responses": {"200": {"description": "this one and the earlier ones"}}}}},
}


@dataclass
class Upstream:
    """What the upstream saw: every API request's headers, every exchange it performed."""

    issuer: str = ""
    resource: str = ""  # mcprt's resource identifier: subject tokens must be for it
    api_requests: list[dict[str, str]] = field(default_factory=list)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)  # exchanged token → subject
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    revoke_next: bool = False  # the next echoAuth call answers 401 (its token revoked): mcprt exchanges again

    def seen_tokens(self) -> list[str]:
        return [r.get("authorization", "") for r in self.api_requests]


def upstream_app(state: Upstream) -> Starlette:
    async def token(request: Request) -> JSONResponse:
        form = dict(await request.form())
        expected = "Basic " + base64.b64encode(f"mcprt:{EXCHANGE_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != GRANT or form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        claims = await verified_claims(state, str(form.get("subject_token", "")))
        if claims is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        # a token is ASCII (RFC 6750 §2.1 b64token), whatever the user is called (`zoë`)
        issued = f"exchanged-{quote(claims['sub'], safe='')}-{next(state.counter)}"
        state.issued[issued] = claims["sub"]
        state.exchanges.append({k: str(v) for k, v in form.items()})
        return JSONResponse({"access_token": issued, "issued_token_type": ACCESS_TOKEN_TYPE,
                             "token_type": "Bearer", "expires_in": 300})

    async def whoami(request: Request) -> JSONResponse:
        state.api_requests.append(dict(request.headers))
        authorization = request.headers.get("authorization", "")
        subject = state.issued.get(authorization.removeprefix("Bearer "))
        if subject is None:
            return JSONResponse({"error": "unknown token"}, status_code=401)
        return JSONResponse({"subject": subject, "email": request.headers.get("x-user-email")})

    async def echo_auth(request: Request) -> JSONResponse:
        earlier = [r.get("authorization", "") for r in state.api_requests]
        state.api_requests.append(dict(request.headers))
        if state.revoke_next:
            state.revoke_next = False
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"seen_auth": request.headers.get("authorization", ""), "earlier": earlier})

    async def spec(request: Request) -> JSONResponse:
        return JSONResponse(API_SPEC)

    return Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/whoami", whoami), Route("/echo-auth", echo_auth),
                             Route("/openapi.json", spec)])


async def verified_claims(state: Upstream, token: str) -> dict[str, Any] | None:
    """The claims of a subject token signed by the authorization server for mcprt, else None."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    async with httpx.AsyncClient() as client:
        keys = KeySet.import_key_set((await client.get(f"{state.issuer}/jwks")).json())
    try:
        claims = jwt.decode(token, keys, algorithms=["ES256"]).claims
    except (JoseError, ValueError):
        return None
    if claims.get("iss") != state.issuer or claims.get("aud") != state.resource:
        return None
    return claims


INTROSPECTION = """\
      introspection:
        url: {issuer}/token/introspection
        client_id: svc
        client_secret: "${{INTROSPECTION_SECRET}}"
"""


def oauth_manifest(folder: Path, *, issuer: str, upstream: str, stateless: bool = False,
                   extra: str = "") -> Path:
    """mcprt in front of `issuer`: scopes mcp:tools, a static ci-bot token too, the `who` tool and
    the upstream's `whoami` behind token exchange + forward_claims."""
    (folder / "people.json").write_text(json.dumps(API_SPEC))
    lines = [
        "version: 1",
        "server:",
        "  name: oauth-demo",
        f"  http: {{stateless: {str(stateless).lower()}}}",
        "  auth:",
        '    tokens: {ci-bot: "${CI_TOKEN}"}',
        "    oauth:",
        f"      issuer: {issuer}",
        "      scopes: [mcp:tools]",
        "      clock_skew: 1s",
        "      algorithms: [ES256]",
        *([extra.rstrip("\n")] if extra else []),
        "sources:",
        *who_source(folder),
        "  people:",
        "    openapi: people.json",
        f"    base_url: {upstream}",
        "    auth:",
        "      token_exchange:",
        f"        token_url: {upstream}/token",
        "        client_id: mcprt",
        '        client_secret: "${EXCHANGE_SECRET}"',
        "        audience: people-api",
        "      forward_claims: {X-User-Email: email}",
    ]
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def forged(token: str, header: dict[str, Any], signature: str = "") -> str:
    """`token`'s payload under another header (e.g. alg none), with `signature`."""
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.{token.split('.')[1]}.{signature}"


ELSEWHERE = "https://elsewhere.example"


def foreign_token(resource: str, issuer: str = ELSEWHERE) -> str:
    """A well-formed ES256 access token for `resource` from another issuer (its own key, a `kid` the
    tests' authorization server does not publish): what a second authorization server would issue."""
    from joserfc import jwt
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", parameters={"kid": "elsewhere-1"})
    now = int(time.time())
    claims = {"iss": issuer, "aud": resource, "sub": "svc", "client_id": "svc", "scope": "mcp:tools",
              "iat": now, "exp": now + 300}
    return jwt.encode({"alg": "ES256", "kid": "elsewhere-1"}, claims, key)


def unverified(token: str, part: int = 1) -> dict[str, Any]:
    raw = token.split(".")[part]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
