"""A proxied server's JSON-RPC error (`message`, `data`) fit to relay to a client and to log.

JSON-RPC 2.0 §5.1: an error has a `message` string and optional `data` of any shape; a server puts what it
likes in both (a driver's exception text quoting a DSN, a "retry with key sk_live_…" hint). mcprt relays
both (`server/upstream_errors.py`) and logs the message (`error_message`), so both go through ONE rule for
their text: a review found the message scrubbed of configured secrets only while `data` strings also had
URL credentials masked, and neither hid a literal credential that no key name marked.

`scrub_error_text` — every string: configured secrets (`SECRETS.scrub_text`), every URL's userinfo and
credential query parameters (`mask_url_credentials`), and each word that is a credential written literally
(`literal.is_literal_credential`: a token-like word `sk_live_51Hq…`, or `name=value`/`name:value` whose
name says credential or whose value reads as a token) replaced by `[redacted]`.
`scrub_error_data` — `data` at any depth: each string through `scrub_error_text`, and the value of every
key named like a credential (`is_credential_name`) `[redacted]`. MCP's own data keys (`elicitations`,
`url`, `elicitationId`, `uri`, `message`) are no credential names, and the identifiers among them
(`elicitationId`, `url`, `uri`, `taskId`) get URL credentials masked only, so the data a client acts on
stays whole.
"""

from __future__ import annotations

import re
from typing import Any

from .literal import is_literal_credential
from .names import is_credential_name
from .scrubber import REDACTED, SECRETS
from .userinfo import mask_url_credentials

# A word of prose: up to whitespace, a quote, a bracket, a comma or a semicolon (`key "sk_…",` → `sk_…`)
_WORD = re.compile(r"[^\s\"'`<>()\[\]{},;]+")
# `name=value` or `name:value` inside one word (`api_key=…`, `token:…`); the first separator splits
_PAIR = re.compile(r"(?P<name>[^=:]+)(?P<sep>[=:])(?P<value>.+)")


def _word(match: re.Match[str]) -> str:
    word = match.group(0)
    if "://" in word or "${" in word:  # a URL (mask_url_credentials' part) or a variable's name
        return word
    if is_literal_credential("", word):
        return REDACTED
    pair = _PAIR.fullmatch(word)
    if pair is not None and is_literal_credential(pair.group("name"), pair.group("value")):
        return pair.group("name") + pair.group("sep") + REDACTED
    return word


def scrub_error_text(text: str) -> str:
    """`text` (an upstream error's `message`, or a string in its `data`) without configured secrets, URL
    credentials or literal credentials (module docstring); text with none comes back equal."""
    if SECRETS:
        text = SECRETS.scrub_text(text)
    return _WORD.sub(_word, mask_url_credentials(text))


def scrub_error_data(data: Any) -> Any:
    """An upstream's JSON-RPC error `data` fit to relay (module docstring): configured secrets scrubbed from
    every value (`Scrubber.scrub_value`), credential-named keys' values and credential-looking text
    `[redacted]`. None stays None."""
    if data is None:
        return None
    if SECRETS:
        data = SECRETS.scrub_value(data)
    return _hide_secret_looking(data)


# Identifiers a client matches on or follows (MCP: an elicitation's `elicitationId` and `url`, a resource's
# `uri`, a task's `taskId`): an opaque id often reads as a token (a UUID, `a1b2…`), so the word rule would
# break the -32042 a client acts on; URL credentials are still masked in them (configured secrets too, above)
_IDENTIFIER_KEYS = frozenset({"elicitationId", "url", "uri", "taskId"})


def _hide_secret_looking(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_error_text(value)
    if isinstance(value, dict):
        return {key: REDACTED if isinstance(key, str) and is_credential_name(key) and value[key] is not None
                else mask_url_credentials(value[key]) if key in _IDENTIFIER_KEYS and isinstance(value[key], str)
                else _hide_secret_looking(value[key]) for key in value}
    if isinstance(value, list):
        return [_hide_secret_looking(item) for item in value]
    return value
