"""A URL's `user:password@` part, and a credential in its query, hidden wherever a URL is printed.

Value scrubbing (`scrubber`) knows only the secrets the manifest declares as such; a password written
into a URL (`redis://:pw@host`, `https://admin:${PASS}@host`) is a plain string setting. RFC 3986 §3.2.1
deprecates passwords in URLs and says a URL's userinfo should not be shown as clear text. A token in a
query parameter (`?access_token=…`, RFC 6750 §2.3) is a credential the same way (`mask_url_credentials`)."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from .literal import is_literal_credential

# `scheme://userinfo@`: greedy up to the authority's last `@` (a password may hold an unescaped `@`)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def mask_userinfo(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`: `redis://:pw@host:6379/0` →
    `redis://***@host:6379/0`; text without a URL's userinfo comes back unchanged."""
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)


# A URL in text: up to whitespace, a quote or an angle bracket (a URL shown inside JSON ends at its quote)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*")
_PAIR = re.compile(r"(?P<lead>^|[&;])(?P<name>[^=&;#]*)=(?P<value>[^&;#]*)")


def mask_url_credentials(text: str) -> str:
    """`text` with every URL's userinfo masked (`mask_userinfo`) and the value of each query parameter that
    holds a credential (`literal.is_literal_credential`: by its name or its value) replaced by `***`:
    `https://proxy.example/?access_token=ghp_…&page=2` → `https://proxy.example/?access_token=***&page=2`.
    A `${VAR}` reference stays: it names the variable, not its value."""
    return _URL.sub(lambda m: _mask_query(m.group(0)), mask_userinfo(text))


def _mask_query(url: str) -> str:
    head, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = rest.partition("#")

    def pair(m: re.Match[str]) -> str:
        value = m.group("value")
        hidden = value and "${" not in value and is_literal_credential(unquote_plus(m.group("name")),
                                                                        unquote_plus(value))
        return f"{m.group('lead')}{m.group('name')}={'***' if hidden else value}"

    return f"{head}?{_PAIR.sub(pair, query)}{hash_mark}{fragment}"
