"""The check every upstream URL of the manifest passes at load: an absolute http(s) URL, no userinfo.

A `base_url: notaurl` or `ftp://x` used to load ("ok — 3 tools") and fail every call a second later;
checked here it is an error at its line (after `${VAR}` substitution: the loader names the variable and
leaves a value from the environment out of the message).

Userinfo (`https://user:pass@host`) is refused rather than sent: a password in a URL travels into every
place the URL is shown (results' `url`, recorded cases, logs, errors) and into the `Authorization: Basic`
header an HTTP client derives from it, none of which the scrubber knows to be secret. The manifest's
`auth: {basic: …}` sends the same header with the password treated as a secret (RFC 3986 §3.2.1
deprecates `user:password` in URLs for the same reason).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from .envvars import REPLAY_PLACEHOLDER

# What a replay placeholder is checked as: a digit string is valid as a host, a port and a path segment,
# so a placeholder in any of those positions (`http://127.0.0.1:${PORT}/v1`) passes, while what the author
# wrote around it (scheme, `user@`) is still checked. The replay sends nothing to that URL: it keeps only its
# path (sources/openapi/replay.py), and `validate --offline` compiles without calling.
_PLACEHOLDER_STAND_IN = "0"


def check_upstream_url(value: str) -> str:
    """`value` unchanged when it is an absolute `http://` or `https://` URL with a host and no userinfo;
    else ValueError saying which part is wrong (quoting no part of the value). A replay's placeholder for
    an unset variable (`envvars.REPLAY_PLACEHOLDER`) is checked as `_PLACEHOLDER_STAND_IN`."""
    checked = value.replace(REPLAY_PLACEHOLDER, _PLACEHOLDER_STAND_IN)
    try:
        parts = urlsplit(checked.strip())
        port = parts.port  # ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        del exc  # its text quotes the port, which may come from a secret variable
        raise ValueError("not a valid URL (its port is not a number from 0 to 65535, or a [ is unclosed); "
                         "expected an absolute http:// or https:// URL") from None
    del port
    if parts.scheme.lower() not in ("http", "https"):
        # No part of the value is quoted: it may come from a variable holding a secret.
        got = "another scheme" if parts.scheme else "no scheme"
        raise ValueError(f"expected an absolute http:// or https:// URL, got {got}")
    refuse_userinfo(parts.netloc)
    if not parts.hostname:
        raise ValueError("expected an absolute http:// or https:// URL with a host, got none after '//'")
    return value


def refuse_userinfo(netloc: str) -> None:
    """ValueError when a URL's authority (`urlsplit(url).netloc`) holds userinfo (`user:pass@`), quoting
    none of it: the one check every upstream URL gets, the manifest's and an API description's server."""
    if "@" in netloc:
        raise ValueError("a user name or password in the URL is not allowed (it would be shown wherever the URL "
                         "is, and sent unredacted); put the credentials in this source's `auth: {basic: {username: "
                         "…, password: ${VAR}}}` instead")


# A manifest string holding an upstream URL (`base_url`, a `url:` source's endpoint). Its JSON Schema stays
# a plain string: the file as written may hold `${BASE_URL}`, which only the loader resolves.
UpstreamUrl = Annotated[str, AfterValidator(check_upstream_url)]
