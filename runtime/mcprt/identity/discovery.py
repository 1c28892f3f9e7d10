"""The authorization server's signing keys: metadata discovery and a JWK Set cache.

- The JWK Set URL is `server.auth.oauth.jwks_url`, or `jwks_uri` from the issuer's metadata, looked up
  as RFC 8414 §3.1 says (`/.well-known/oauth-authorization-server` inserted before the issuer's path),
  then by OpenID Connect Discovery 1.0 §4 (`/.well-known/openid-configuration`, inserted and appended).
  The document's `issuer` must equal the configured one (RFC 8414 §3.3), else it is not used.
- Both documents are kept as long as their `Cache-Control: max-age` (or `Expires`) allows, bounded to
  [`MIN_TTL_S`, `MAX_TTL_S`]; an expired JWK Set is revalidated with its `ETag`.
- A token naming a key id the cached set lacks (the issuer rotated its keys) refreshes the set at once,
  at most once per `unknown_kid_refresh()` seconds, so a flood of made-up key ids cannot hammer the issuer.

httpx and joserfc are imported on first use: listing tools never loads them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..observability.log import log_event
from ..settings import env_limit

if TYPE_CHECKING:
    import httpx

DEFAULT_TTL_S = 300.0  # when the server sends no caching headers
MIN_TTL_S = 0.0
MAX_TTL_S = 86_400.0
UNKNOWN_KID_REFRESH_S = 5.0  # default of MCPRT_UNKNOWN_KID_REFRESH
FETCH_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 1_000_000


def unknown_kid_refresh() -> float:
    """Seconds that must pass after a JWK Set fetch before a token naming an unknown key id fetches it
    again (`MCPRT_UNKNOWN_KID_REFRESH`, a positive number of at least 1, default `UNKNOWN_KID_REFRESH_S`). Right after
    the issuer rotates its keys, tokens signed with the new key are refused (401) for at most this
    long; a shorter value shortens that window, a longer one asks the issuer less under a flood. A value
    under 1 s (`envcheck.MINIMUMS`) is taken as 1 s, with a warning at start-up: a very small one would
    let a flood of tokens naming made-up key ids through to the issuer, one JWK Set fetch per interval."""
    return env_limit("MCPRT_UNKNOWN_KID_REFRESH", UNKNOWN_KID_REFRESH_S)


class KeysUnavailable(Exception):
    """The issuer's metadata or JWK Set could not be fetched or used (a server-side problem: 503)."""


class UnknownKey(Exception):
    """The token names a key the issuer does not publish (even after a refresh)."""


@dataclass(slots=True)
class _Cached:
    value: Any
    fetched: float  # time.monotonic()
    expires: float  # time.monotonic()
    etag: str | None = None


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be: RFC 8414 §3.1, then OIDC Discovery (inserted, appended)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(well_known: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, well_known, "", ""))

    urls = [at(f"/.well-known/oauth-authorization-server{path}"), at(f"/.well-known/openid-configuration{path}")]
    if path:
        urls.append(at(f"{path}/.well-known/openid-configuration"))
    return list(dict.fromkeys(urls))


def cache_lifetime(headers: httpx.Headers, now: float | None = None) -> float:
    """Seconds a response may be reused: `max-age` (RFC 9111 §5.2.2.1), else `Expires`, else the default.
    `no-store`/`no-cache` mean 0 (revalidate next time)."""
    directives = {
        d.strip().split("=", 1)[0].lower(): (d.split("=", 1)[1].strip('" ') if "=" in d else "")
        for d in headers.get("cache-control", "").split(",") if d.strip()
    }
    if "no-store" in directives or "no-cache" in directives:
        return MIN_TTL_S
    if "max-age" in directives:
        try:
            return _bounded(float(directives["max-age"]))
        except ValueError:
            pass
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError):
            return MIN_TTL_S  # an invalid Expires means "already expired" (RFC 9111 §5.3)
        return _bounded(when - (now if now is not None else time.time()))
    return DEFAULT_TTL_S


def _bounded(seconds: float) -> float:
    return max(MIN_TTL_S, min(MAX_TTL_S, seconds))


class KeySource:
    """The issuer's current public keys, fetched lazily and cached per HTTP caching rules."""

    def __init__(self, issuer: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self._jwks_url = jwks_url
        self._metadata: _Cached | None = None
        self._jwks: _Cached | None = None
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.jwks_fetches = 0  # how many times the JWK Set was downloaded (observable for tests)

    async def key_for(self, kid: str | None, alg: str) -> Any:
        """The joserfc key with id `kid` (or the only key usable for `alg` when the token names none).

        Raises UnknownKey when the issuer does not publish it, KeysUnavailable when it cannot be asked.
        """
        keys = await self._key_set(force=False)
        key = _select(keys, kid, alg)
        if key is not None:
            return key
        if self._jwks is not None and time.monotonic() - self._jwks.fetched < unknown_kid_refresh():
            raise UnknownKey(kid)
        keys = await self._key_set(force=True)
        key = _select(keys, kid, alg)
        if key is None:
            raise UnknownKey(kid)
        return key

    async def metadata(self) -> dict[str, Any]:
        """The issuer's authorization server metadata (RFC 8414 / OIDC Discovery), cached."""
        cached = self._metadata
        if cached is not None and time.monotonic() < cached.expires:
            return cached.value
        problems: list[str] = []
        for url in metadata_urls(self.issuer):
            try:
                response = await self._get(url)
            except KeysUnavailable as exc:
                problems.append(str(exc))
                continue
            if response.status_code != 200:
                problems.append(f"{url} answered HTTP {response.status_code}")
                continue
            document = _json_object(response, url)
            if document.get("issuer") != self.issuer:
                # RFC 8414 §3.3: metadata naming another issuer must not be used.
                problems.append(f"{url} names issuer {str(document.get('issuer'))[:200]!r}, not {self.issuer!r}")
                continue
            now = time.monotonic()
            self._metadata = _Cached(document, now, now + cache_lifetime(response.headers))
            return document
        raise KeysUnavailable("no usable authorization server metadata for " + self.issuer + ": " + "; ".join(problems))

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.aclose()

    # --- internals --------------------------------------------------------------------------------

    async def _key_set(self, *, force: bool) -> Any:
        cached = self._jwks
        if cached is not None and not force and time.monotonic() < cached.expires:
            return cached.value
        async with self._loop_lock():
            cached, now = self._jwks, time.monotonic()
            # Another waiter may have fetched while this one queued: use that set.
            if cached is not None and not force and now < cached.expires:
                return cached.value
            if cached is not None and force and now - cached.fetched < unknown_kid_refresh():
                return cached.value
            return await self._fetch_key_set(cached)

    async def _fetch_key_set(self, cached: _Cached | None) -> Any:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        url = self._jwks_url or await self._jwks_uri()
        headers = {"If-None-Match": cached.etag} if cached is not None and cached.etag else {}
        response = await self._get(url, headers)
        now = time.monotonic()
        if response.status_code == 304 and cached is not None:
            cached.fetched, cached.expires = now, now + cache_lifetime(response.headers)
            return cached.value
        if response.status_code != 200:
            raise KeysUnavailable(f"the JWK Set at {url} answered HTTP {response.status_code}")
        document = _json_object(response, url)
        # Keep only public signing keys: a symmetric ("oct") key in a JWK Set is never used here.
        usable = [k for k in document.get("keys", []) if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP")
                  and k.get("use", "sig") == "sig"]
        try:
            keys = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as exc:
            raise KeysUnavailable(f"the JWK Set at {url} holds an unusable key ({type(exc).__name__})") from None
        self.jwks_fetches += 1
        self._jwks = _Cached(keys, now, now + cache_lifetime(response.headers), response.headers.get("etag"))
        log_event("fetched the issuer's signing keys", logging.INFO, url=url, keys=len(usable))
        return keys

    async def _jwks_uri(self) -> str:
        document = await self.metadata()
        uri = document.get("jwks_uri")
        if not isinstance(uri, str) or not uri:
            raise KeysUnavailable(f"the metadata of {self.issuer} has no jwks_uri; set server.auth.oauth.jwks_url")
        return uri

    async def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        import httpx

        try:
            response = await self._http().get(url, headers={"Accept": "application/json", **(headers or {})})
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"cannot reach {url}: {type(exc).__name__}") from None
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise KeysUnavailable(f"{url} answered with more than {MAX_DOCUMENT_BYTES} bytes")
        return response

    def _http(self) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False)
            self._client_loop = loop
        return self._client

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock


def _select(keys: Any, kid: str | None, alg: str) -> Any:
    """The key with `kid`; without a kid, the only key whose type fits `alg` (else None)."""
    candidates = [k for k in keys.keys if (kid is None or k.kid == kid) and _fits(k, alg)]
    if kid is not None:
        return candidates[0] if candidates else None
    return candidates[0] if len(candidates) == 1 else None


def _fits(key: Any, alg: str) -> bool:
    declared = key.get("alg") if hasattr(key, "get") else None
    if declared and declared != alg:
        return False
    family = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}.get(alg[:2])
    return key.key_type == family


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        document = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise KeysUnavailable(f"{url} did not answer with JSON") from None
    if not isinstance(document, dict):
        raise KeysUnavailable(f"{url} did not answer with a JSON object")
    return document
