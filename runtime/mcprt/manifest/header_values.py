"""The headers a manifest sets on every request (`sources.*.headers`), checked where they are written.

An HTTP field value is visible ASCII, space and tab (RFC 9110 §5.5: other octets are "obs-text", which senders
must not generate, and no client of mcprt's encodes them): a value holding `ö` passed `validate` and then failed
every call with a message naming no header (trial_i18n fault 10). The check quotes no part of the value, which may
come from a secret variable; the header's name is the manifest's own.
"""

from __future__ import annotations

import re

FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.1 field-name = token
FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")  # RFC 9110 §5.5, less obs-text (outbound/wire.py sends by it too)


def check_header_value(value: str) -> str:
    """`value` unchanged when an HTTP request can carry it as a header value; else ValueError saying why,
    quoting none of it."""
    if FIELD_VALUE.fullmatch(value):
        return value
    if not value.isascii():
        raise ValueError("the value holds a character outside ASCII, which an HTTP header value cannot carry "
                         "(RFC 9110 §5.5): every call would fail; percent-encode it, or send it in a form the API "
                         "documents (RFC 8187's UTF-8''… for a parameter)")
    raise ValueError("the value holds a control character (a line break, NUL …), which an HTTP header value cannot "
                     "carry (RFC 9110 §5.5)")


def check_header_names(headers: dict[str, str]) -> dict[str, str]:
    """`headers` unchanged when every name is an HTTP field name (a token, RFC 9110 §5.1); else ValueError naming it."""
    for name in headers:
        if not FIELD_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an HTTP header name: use ASCII letters, digits and "
                             "!#$%&'*+-.^_`|~ (RFC 9110 §5.1)")
    return headers
