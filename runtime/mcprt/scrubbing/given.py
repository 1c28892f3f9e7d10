"""Scrubbing a message of values known only at the time: a source's credentials, a call's own arguments.

`SECRETS` holds what every line is scrubbed of; these functions add values a caller names (each call's
differ, so they are not registered process-wide) and then apply `SECRETS` too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .scrubber import SECRETS, Scrubber

MIN_ARGUMENT_SCRUBBED = 4
"""Characters below which an argument string is an ordinary word (`id`, `en`), not data to hide."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` without any form (raw, URL-, form-, base64-, JSON-escaped) of the given secrets nor
    of any secret registered process-wide (last line of defence for messages).

    The one scrubber (`scrubbing.Scrubber`, one pass over the text for every form of every secret),
    over the given secrets, then over the registered ones."""
    given = _scrubber_for(frozenset(s for s in secrets if s))
    return SECRETS.scrub_text(given.scrub_text(text) if given else text)


def without_argument_values(text: str, arguments: Mapping[str, Any] | None, secrets: Iterable[str] = ()) -> str:
    """`text` (a call's error, as the model read it) for an operator's eyes — a call's log line, the status
    page's source summary: every form of each top-level string argument of `MIN_ARGUMENT_SCRUBBED` characters
    or more, of `secrets` and of every registered secret replaced by `[redacted]`. An error may quote what the
    model sent (`… must not contain '/' ('hidden/secret.txt')`, a URL holding a path value), and those lines
    carry no argument value."""
    values = [v for v in (arguments or {}).values() if isinstance(v, str) and len(v) >= MIN_ARGUMENT_SCRUBBED]
    return scrub(text, (*secrets, *values))


@functools.lru_cache(maxsize=32)
def _scrubber_for(secrets: frozenset[str]) -> Scrubber:
    """A scrubber over `secrets`, kept: a source's credentials repeat from message to message (the
    audit log scrubs every argument string), and building the search costs more than one scan."""
    scrubber = Scrubber()
    scrubber.add(*secrets)
    return scrubber
