"""Keep secrets out of logs, recorded cases, error messages and result metadata.

Redaction is by *name*: a header or query parameter whose name says it carries a credential has its
value replaced. The rule errs on the side of hiding (an `Idempotency-Key` is hidden too) because a
leaked secret costs far more than a hidden harmless value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from ..scrubbing import is_credential_name
from ..scrubbing.given import scrub  # noqa: F401 — the executor's and sources' name for it

REDACTED = "[redacted]"

# Schemes kept visible in a redacted Authorization value: "Bearer [redacted]" still helps debugging.
_AUTH_SCHEMES = frozenset({"bearer", "basic", "digest", "token", "negotiate", "aws4-hmac-sha256"})

HeaderItems = Mapping[str, str] | Iterable[tuple[str, str]]


def is_sensitive_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header/query/cookie/argument name may carry a credential (`extra`: e.g. the api-key
    name). The rule: `mcprt.scrubbing.names` (whole words: `author` is not `auth`)."""
    return is_credential_name(name, extra)


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with sensitive keys' values replaced and `secrets` scrubbed
    (the audit log, the status page and approval requests show arguments through this)."""
    secrets = tuple(secrets)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and is_sensitive_name(k) else redact_value(v, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, secrets) for v in value]
    if isinstance(value, str) and secrets:
        return scrub(value, secrets)
    return value


def redact_headers(headers: HeaderItems, *, extra: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Headers as (name, value) pairs with credential values replaced by ``[redacted]``.

    Used for every log line and recorded case that shows request or response headers. `extra` names
    more sensitive headers (the configured api-key header is one).
    """
    extra = tuple(extra)
    items = headers.items() if isinstance(headers, Mapping) else headers
    redacted: list[tuple[str, str]] = []
    for name, value in items:
        if not is_sensitive_name(name, extra):
            redacted.append((name, value))
            continue
        scheme, _, rest = value.partition(" ")
        if rest and scheme.lower() in _AUTH_SCHEMES:
            redacted.append((name, f"{scheme} {REDACTED}"))
        else:
            redacted.append((name, REDACTED))
    return redacted


def redact_url(url: str, *, extra: Iterable[str] = ()) -> str:
    """The URL without user info and with sensitive query values replaced (the fragment dropped)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(_redact_pair(pair, tuple(extra)) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_pair(pair: str, extra: tuple[str, ...]) -> str:
    name, sep, _ = pair.partition("=")
    if sep and is_sensitive_name(unquote_plus(name), extra):
        return f"{name}={REDACTED}"
    return pair


def describe_target(method: str, url: str) -> str:
    """`GET api.example.com/v1/things`: how error messages name a request (never a query string)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{method} (invalid URL)"
    host = parts.netloc.rpartition("@")[2]
    return f"{method} {host}{parts.path or '/'}"
