"""Access token validation: JWTs locally (RFC 9068 / RFC 7519), opaque tokens by introspection (RFC 7662).

What a JWT must satisfy, in this order (the first failure is the reason given):
1. three base64url parts with a JSON header whose `alg` is on the allow-list — never `none`, never
   HMAC (a resource server holds only public keys; RFC 8725 §2.1, §3.1) — and a JSON payload;
2. in that (not yet verified) payload: `iss` equal to the configured issuer, `aud` naming this
   resource (RFC 8707, RFC 9068 §4), `exp` in the future, `nbf`/`iat` not in the future — all with
   `clock_skew` tolerance;
3. a signature that verifies with the issuer's published key (`kid`), fetched by `KeySource`.

Steps 1–2 cost no network: a token of another issuer, an expired or malformed one is turned away
without asking the issuer for keys (each unknown `kid` could otherwise cost a key-set fetch), and
with its real reason. Rejecting on claims nobody has verified is safe — whoever wrote them gains
nothing by being turned away; accepting on them never is, so nothing is accepted before step 3.

Errors are `TokenRejected` with a short description safe to return in `WWW-Authenticate`
(RFC 6750 §3: `error_description`); it never echoes the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Collection, Mapping
from typing import Any

from .discovery import KeySource, UnknownKey

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


class TokenRejected(Exception):
    """The presented access token is not acceptable here (answered with 401 invalid_token)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def looks_like_jwt(token: str) -> bool:
    """A JWS compact serialization: three dot-separated base64url parts (RFC 7515 §7.1)."""
    return token.count(".") == 2


def _b64json(part: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenRejected(f"the token's {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise TokenRejected(f"the token's {what} is not a JSON object")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read before anything is trusted (only to choose the algorithm and key)."""
    return _b64json(token.split(".", 1)[0], "header")


async def verify_jwt(
    token: str,
    *,
    keys: KeySource,
    issuer: str,
    audience: str,
    algorithms: Collection[str],
    clock_skew: float,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a JWT access token that passes every check above; else TokenRejected.

    Raises `discovery.KeysUnavailable` when the issuer's keys cannot be fetched (not the caller's fault).
    """
    from joserfc import jwt
    from joserfc.errors import JoseError

    header = unverified_header(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise TokenRejected("unsigned tokens (alg none) are not accepted")
    if alg in HMAC_ALGORITHMS:
        raise TokenRejected(f"symmetric signatures ({alg}) are not accepted; the issuer must sign with a public key")
    if alg not in algorithms:
        raise TokenRejected(f"the signing algorithm {shown(alg, 20)} is not allowed here")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRejected("the token's key id (kid) is not a string")
    check_claims(_b64json(token.split(".")[1], "payload"), issuer=issuer, audience=audience, clock_skew=clock_skew, now=now)
    try:
        key = await keys.key_for(kid, alg)
    except UnknownKey:
        raise TokenRejected("the token is signed with a key the issuer does not publish") from None
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except JoseError:
        raise TokenRejected("the token's signature is not valid") from None
    except (ValueError, TypeError):
        raise TokenRejected("the token is malformed") from None
    claims = decoded.claims
    # the verified claims, checked again: the payload decoded by joserfc is the one that counts
    check_claims(claims, issuer=issuer, audience=audience, clock_skew=clock_skew, now=now)
    return claims


def check_claims(
    claims: Mapping[str, Any], *, issuer: str | None, audience: str, clock_skew: float, now: float | None = None
) -> None:
    """`iss`, `aud`, `exp`, `nbf`, `iat` (RFC 7519 §4.1, RFC 9068 §4); `issuer=None` skips `iss`
    (introspection answers need not carry it). Raises TokenRejected naming the first claim that fails
    (a wrong issuer: the one received and the one expected)."""
    moment = time.time() if now is None else now
    if issuer is not None and claims.get("iss") != issuer:
        given = claims.get("iss")
        named = f"by {shown(given)}" if isinstance(given, str) else "without an issuer (iss)"
        raise TokenRejected(f"the token was issued {named}, not by the accepted issuer {shown(issuer)}")
    if audience not in _audiences(claims.get("aud")):
        raise TokenRejected("the token is not intended for this resource (aud)")
    exp = claims.get("exp")
    if not _is_number(exp):
        raise TokenRejected("the token has no expiry (exp)")
    if moment > float(exp) + clock_skew:
        raise TokenRejected("the token has expired")
    nbf = claims.get("nbf")
    if nbf is not None and (not _is_number(nbf) or float(nbf) > moment + clock_skew):
        raise TokenRejected("the token is not valid yet (nbf)")
    iat = claims.get("iat")
    if iat is not None and (not _is_number(iat) or float(iat) > moment + clock_skew):
        raise TokenRejected("the token was issued in the future (iat)")


# RFC 6750 §3: `error_description` may hold only %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\\`, no
# control or non-ASCII characters), so it never needs escaping inside the header's quoted string.
_OUTSIDE_RFC6750 = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def description_text(text: str) -> str:
    """`text` within the RFC 6750 §3 `error_description` character set: every other character
    (control, non-ASCII, `"`, `\\`) becomes `?`, one for one, so the length never grows."""
    return _OUTSIDE_RFC6750.sub("?", text)


def shown(value: str, limit: int = 60) -> str:
    """A value someone else chose (a token's `iss` or `alg`, a configured issuer) as a description
    may quote it: in `'…'`, within the RFC 6750 §3 set, a `'` inside turned to `?` (so the quotes
    always enclose it, also in a `key=value` log line), cut AFTER that at `limit` characters (+`...`).
    At most `limit + 5` characters."""
    safe = description_text(value).replace("'", "?")
    return "'" + (safe if len(safe) <= limit else safe[:limit] + "...") + "'"


def _audiences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def granted_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from `scope` (RFC 8693 §4.2, RFC 9068: space-separated) or `scp` (a list, Entra/Okta)."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return frozenset(found)
