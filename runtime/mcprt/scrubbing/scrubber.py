"""The value scrubber: which forms a secret takes on the wire, and replacing them fast.

Cost matters: every call's result passes through `scrub_bytes`/`scrub_text`. With no secret
configured that is one attribute test; with secrets it is one substring search per form (C speed,
about 20 µs for 100 KB and a dozen forms), and text is only rebuilt when a form is actually found.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4  # shorter values would redact ordinary words; an empty secret is refused at load
MAX_DYNAMIC = 64  # runtime-issued values (OAuth2 tokens) kept; older ones have expired long ago


def secret_forms(secret: str) -> set[str]:
    """Every form in which `secret` may appear in text mcprt handles.

    Raw; percent-encoded (RFC 3986, upper- and lower-case hex) and form-encoded
    (application/x-www-form-urlencoded, `+` for space); JSON-string escaped (with and without
    `\\uXXXX` for non-ASCII); base64 and base64url with and without padding (RFC 4648 §4, §5) —
    a basic-auth `user:password` is registered as a secret of its own, so its encoding is one too.
    """
    if len(secret) < MIN_SECRET_CHARS:
        return set()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="/")}
    forms |= {_lower_hex(f) for f in list(forms) if "%" in f}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    raw = secret.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode("ascii")
        forms |= {full, full.rstrip("=")}
        for shift in (0,):  # other alignments: their cost (a search each) outweighs a case the
            # registered pairs (basic `user:password`, OAuth2 client basic) already cover
            # The secret preceded by `shift` bytes: keep only the base64 characters made of the
            # secret's bits alone, which are the same whatever surrounds it.
            encoded = encode(b"\0" * shift + raw).decode("ascii")
            core = encoded[-(-8 * shift // 6): (8 * (shift + len(raw))) // 6]
            if len(core) >= 8:
                forms.add(core)
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _lower_hex(text: str) -> str:
    return _PERCENT.sub(lambda m: m.group().lower(), text)


class Scrubber:
    """A set of secrets and their forms; thread-safe to extend, lock-free to read."""

    def __init__(self) -> None:
        self._static: set[str] = set()
        self._dynamic: list[str] = []
        self._lock = threading.Lock()
        self._text: tuple[str, ...] = ()  # forms, longest first (a longer form hides a shorter one)
        self._bytes: tuple[bytes, ...] = ()

    def __bool__(self) -> bool:
        return bool(self._text)

    def add(self, *secrets: str | None) -> None:
        """Register configured secret values (for the life of the process)."""
        new = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS} - self._static
        if new:
            with self._lock:
                self._static |= new
                self._rebuild()

    def add_issued(self, value: str) -> None:
        """Register a value obtained at run time (an OAuth2 access token); the oldest are forgotten."""
        if not value or len(value) < MIN_SECRET_CHARS or value in self._dynamic:
            return
        with self._lock:
            self._dynamic = [value, *self._dynamic[: MAX_DYNAMIC - 1]]
            self._rebuild()

    def _rebuild(self) -> None:
        forms: set[str] = set()
        for secret in (*self._static, *self._dynamic):
            forms |= secret_forms(secret)
        # A form containing another is found through the shorter one (one search fewer per call):
        # replacing the shorter leaves at most a partial base64 character of the longer.
        kept: list[str] = []
        for form in sorted(forms, key=len):
            if not any(k in form for k in kept):
                kept.append(form)
        ordered = tuple(sorted(kept, key=len, reverse=True))
        self._text = ordered
        self._bytes = tuple(f.encode() for f in ordered)

    def clear(self) -> None:
        """Forget everything (tests only)."""
        with self._lock:
            self._static, self._dynamic = set(), []
            self._rebuild()

    def found_in(self, text: str) -> bool:
        """Whether any form of any secret occurs in `text`."""
        return any(form in text for form in self._text)

    def scrub_text(self, text: str) -> str:
        """`text` with every form of every secret replaced by ``[redacted]``."""
        for form in self._text:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """The same for raw bytes (an upstream body before decoding; UTF-8 forms)."""
        for form in self._bytes:
            if form in data:
                data = data.replace(form, REDACTED.encode())
        return data

    def scrub_value(self, value: Any) -> Any:
        """A JSON-like value with secrets scrubbed from every string (keys included); unchanged
        objects are returned as they are (no copy when nothing is found)."""
        if not self._text:
            return value
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            changed = False
            out: dict[Any, Any] = {}
            for k, v in value.items():
                nk = self.scrub_text(k) if isinstance(k, str) else k
                nv = self.scrub_value(v)
                changed = changed or nk is not k or nv is not v
                out[nk] = nv
            return out if changed else value
        if isinstance(value, list):
            items = [self.scrub_value(v) for v in value]
            return items if any(a is not b for a, b in zip(items, value)) else value
        return value

    def scrub_all(self, texts: Iterable[str]) -> list[str]:
        return [self.scrub_text(t) for t in texts]


SECRETS = Scrubber()
