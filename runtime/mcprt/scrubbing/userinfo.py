"""A URL's `user:password@` part hidden wherever a URL is printed.

Value scrubbing (`scrubber`) knows only the secrets the manifest declares as such; a password written
into a URL (`redis://:pw@host`, `https://admin:${PASS}@host`) is a plain string setting. RFC 3986 §3.2.1
deprecates passwords in URLs and says a URL's userinfo should not be shown as clear text."""

from __future__ import annotations

import re

# `scheme://userinfo@`: greedy up to the authority's last `@` (a password may hold an unescaped `@`)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def mask_userinfo(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`: `redis://:pw@host:6379/0` →
    `redis://***@host:6379/0`; text without a URL's userinfo comes back unchanged."""
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)
