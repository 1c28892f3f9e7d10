"""Scrubbing a message of values known only at the time: a source's credentials, a call's own arguments.

`SECRETS` holds what every line is scrubbed of; these functions add values a caller names (each call's
differ, so they are not registered process-wide) and then apply `SECRETS` too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from .scrubber import REDACTED, SECRETS, Scrubber

MIN_ARGUMENT_SCRUBBED = 4
"""Characters below which an argument string is an ordinary word (`id`, `en`), not data to hide."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` without any form (raw, URL-, form-, base64-, JSON-escaped) of the given secrets nor
    of any secret registered process-wide (last line of defence for messages).

    The one scrubber (`scrubbing.Scrubber`, one pass over the text for every form of every secret),
    over the given secrets, then over the registered ones."""
    given = _scrubber_for(frozenset(s for s in secrets if s))
    return SECRETS.scrub_text(given.scrub_text(text) if given else text)


MAX_ARGUMENT_LEAVES = 1000
"""Leaf values of one call's arguments looked for in its error text at most (`without_argument_values`)."""


def without_argument_values(text: str, arguments: Mapping[str, Any] | None, secrets: Iterable[str] = ()) -> str:
    """`text` (a call's error, as the model read it) for an operator's eyes — a call's log line, an audit
    record without `audit_arguments`, the status page's source summary: every leaf value of the arguments,
    however nested (a string of `MIN_ARGUMENT_SCRUBBED` characters or more, a number whose text is that
    long), in its raw, JSON-escaped and URL-encoded forms, and every form of `secrets` and of every
    registered secret, replaced by `[redacted]`. An error may quote what the model sent (`… must not
    contain '/' ('hidden/secret.txt')`, a URL holding a path value, a tool's own `bad items [...]`), and
    those records carry no argument value.

    Cheap on purpose (it runs on the event loop for every failed call): plain substring replacements of
    the forms that fit in `text`, longest first, over at most `MAX_ARGUMENT_LEAVES` leaves; no scrubber is
    built per call (a 2 KB argument took seconds to build one for)."""
    forms = sorted(_argument_forms(arguments, len(text)), key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return scrub(text, secrets)


def _argument_forms(arguments: Mapping[str, Any] | None, longest: int) -> set[str]:
    """The forms (`without_argument_values`) of the leaf values of `arguments` no longer than `longest`."""
    forms: set[str] = set()
    stack: list[Any] = list((arguments or {}).values())
    leaves = 0
    while stack and leaves < MAX_ARGUMENT_LEAVES:
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.values())
            continue
        if isinstance(value, (list, tuple)):
            stack.extend(value)
            continue
        leaves += 1
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        raw = value if isinstance(value, str) else repr(value)
        if len(raw) < MIN_ARGUMENT_SCRUBBED or len(raw) > longest:
            continue
        for form in (raw, json.dumps(raw)[1:-1], quote(raw, safe=""), quote(raw, safe="/"), quote_plus(raw)):
            if len(form) <= longest:
                forms.add(form)
    return forms


@functools.lru_cache(maxsize=32)
def _scrubber_for(secrets: frozenset[str]) -> Scrubber:
    """A scrubber over `secrets`, kept: a source's credentials repeat from message to message (the
    audit log scrubs every argument string), and building the search costs more than one scan."""
    scrubber = Scrubber()
    scrubber.add(*secrets)
    return scrubber
