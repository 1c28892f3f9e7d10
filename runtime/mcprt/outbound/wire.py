"""What may go on the wire as a request head, checked before aiohttp sends it.

aiohttp writes header values as UTF-8 and a URL marked as already encoded exactly as given; h11 (under
httpx) refused both. These checks keep the refusals, with messages that never quote the offending
value (a header may carry a credential): a header name must be an RFC 9110 §5.1 token, a value
printable ASCII or tab (§5.5: CR, LF and NUL must never appear; non-ASCII is refused rather than
guessed at), and a URL is sent as the request plan encoded it unless it holds characters a request
line cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from yarl import URL

from ..errors import ToolCallError
from ..manifest.header_values import FIELD_NAME, FIELD_VALUE  # one grammar for what validate and a call accept
# RFC 3986 §2: unreserved, reserved and '%' (escapes are the plan's, already made).
_PLAIN_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def check_headers(headers: Iterable[tuple[str, str]], target: Callable[[], str]) -> None:
    """Raise ToolCallError (naming `target()`, never a value) for a header that cannot be sent."""
    for name, value in headers:
        if FIELD_NAME.fullmatch(name) and FIELD_VALUE.fullmatch(value):
            continue
        if not (name.isascii() and value.isascii()):  # the name, never the value (it may be a credential)
            raise ToolCallError(f"the header {name!r} of the request is not ASCII text and cannot be sent (RFC 9110 "
                                f"§5.5) ({target()})")
        raise ToolCallError(f"the request could not be sent: the header {name!r} is not valid HTTP ({target()})")


def wire_url(url: str) -> URL:
    """The URL to send: as the plan percent-encoded it (aiohttp must not re-encode or normalize
    `%2F`, `%7E` or dot segments), or, when it holds characters a request line cannot carry (a
    redirect's `Location` may), encoded by yarl the way a browser would."""
    return URL(url, encoded=True) if _PLAIN_URL.fullmatch(url) else URL(url)
