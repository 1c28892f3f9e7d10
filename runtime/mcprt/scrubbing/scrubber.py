"""The value scrubber: which forms a secret takes on the wire, and replacing them fast.

Cost matters: every call's result passes through `scrub_bytes`/`scrub_text`. With no secret
configured that is one attribute test; with secrets it is one multi-pattern pass over the body
whatever the number of secrets and forms (about 15 µs for 100 KB; `bench/scrubbing.py`), a length
check first (nothing shorter than the shortest form is searched), and text is only rebuilt when a
form is actually found.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from bisect import bisect_left
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from ..schema.keywords import NAMED_SCHEMAS

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4  # shorter values would redact ordinary words; an empty secret is refused at load
# Tokens obtained at run time (client-credentials, RFC 8693 exchanged, renewed) are scrubbed for their whole life:
# until they expire plus this margin (the token endpoint's clock and ours differ; a token without `expires_in`
# is kept until the cap below). A count alone was not enough: with one exchanged token per user, the 65th user's
# token pushed out the first's while it was still in use, and an upstream echoing it handed it to the model.
ISSUED_KEPT_AFTER_EXPIRY_S = 300.0
MAX_ISSUED = 20_000  # tokens kept at most (memory); past it, those that expire first are forgotten first
# The issued tokens are searched in segments, each its own index, so that registering one never builds the
# search of thousands: a build holds the GIL (the automaton is built by one call into the extension), so a
# thread would not help — at 20,000 tokens one build of all held every session 0.7-1.7 s (review of authfix1,
# problem 1). The newest (fewer than this many) are rebuilt on every registration; when they fill up they are
# sealed, and sealed segments of about the same size are merged (64, 128, … tokens, expired ones left out) up
# to `SEGMENT_TOKENS`: the largest build is bounded (512 tokens' 2,048 forms: ~3.6 ms CPU; 1,024 took ~10 ms),
# and a 20,000-token registry is ~40 segments, searched one after the other: scrubbing 100 KB then takes ~11 ms
# CPU where one index took ~1-5 ms — the price of never holding every session for a rebuild (`bench/scrubbing.py`).
NEWEST_ISSUED = 64
SEGMENT_TOKENS = 512
# Base64 payloads longer than this in all (characters, ~750 KB decoded) are scrubbed off the event loop by the
# `_async` scrubs: decoding, searching and re-encoding 10 MB took ~21 ms (`bench/scrubbing.py`), holding
# every session; a thread costs ~0.1 ms, more than the scrub of a small payload.
LARGE_BASE64_CHARS = 1_000_000


class _LargeBase64(Exception):
    """An inline scrub met base64 payloads longer than `LARGE_BASE64_CHARS` in all: to be done in a thread."""


class _Budget:
    """The base64 characters an inline scrub may still decode on the event loop. Counted over the whole
    value, not per payload: a result of 14 images just under a megabyte each held the loop 136 ms
    (review of prunedepth, problem 2)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = LARGE_BASE64_CHARS


def secret_forms(secret: str) -> set[str]:
    """Every form in which `secret` may appear in text mcprt handles (`_forms`; a new set each call)."""
    return set(_forms(secret))


# Remembered: the escaped forms are built a character at a time (4 ms for a 1 KB token that needs escapes). An
# issued token's forms are kept with it besides (`Scrubber._token_forms`): past 1,024 tokens this cache forgets.
@lru_cache(maxsize=1024)
def _forms(secret: str) -> frozenset[str]:
    """Every form in which `secret` may appear in text mcprt handles: the wire forms (`_wire_forms`) of each
    Unicode normal form of it (`_normal_forms`) and, for a hex secret, of its lower- and upper-case spelling
    (`_case_forms`)."""
    if len(secret) < MIN_SECRET_CHARS:
        return frozenset()
    forms: set[str] = set()
    for variant in _normal_forms(secret) | _case_forms(secret):
        forms |= _wire_forms(variant)
    return frozenset(forms)


def _normal_forms(secret: str) -> set[str]:
    """`secret` as written and in each Unicode normal form (NFC, NFD, NFKC, NFKD: UAX #15). An upstream that
    normalises what it echoes (macOS file systems' NFD, Java's `Normalizer`, search back ends' NFKC) sends the
    same secret in other code points: the i18n trial's `Schlüssel-日本-…` came back NFD (`u` + U+0308) and reached
    the model unscrubbed. ASCII text is its own normal form in all four: one variant, no cost."""
    if secret.isascii():
        return {secret}
    return {secret, *(unicodedata.normalize(form, secret) for form in ("NFC", "NFD", "NFKC", "NFKD"))}


# A secret that is hex digits, in groups joined by `-` (an API key `9F8E7D6C…`, a UUID token): a value whose case
# does not matter (RFC 4648 §8 base16 and RFC 9562 §4 UUIDs are read in either case), which an upstream may echo
# lower- or upper-cased (Java's `UUID.toString`, a hex digest printed with `%x`). With a letter in it: digits alone
# have no case.
_HEX = re.compile(r"[0-9a-fA-F]+(?:-[0-9a-fA-F]+)*")
_HEX_LETTER = re.compile(r"[a-fA-F]")


def _case_forms(secret: str) -> set[str]:
    """A hex secret's lower- and upper-case spellings (`_HEX`); none for any other secret: case folds of other
    text are not the same secret to the upstream, and would redact more than the secret."""
    if _HEX.fullmatch(secret) and _HEX_LETTER.search(secret):
        return {secret.lower(), secret.upper()}
    return set()


def _wire_forms(secret: str) -> frozenset[str]:
    """Every form in which the code points of `secret` may appear in text mcprt handles.

    Raw; percent-encoded (RFC 3986, upper- and lower-case hex) and form-encoded
    (application/x-www-form-urlencoded, `+` for space); JSON-string escaped as the common encoders
    write it (`_json_escaped_forms`); HTML/XML-escaped (`_html_escaped_forms`, an HTML error page
    quoting a header); base64 and base64url with and without padding (RFC 4648 §4, §5) —
    a basic-auth `user:password` is registered as a secret of its own, so its encoding is one too.
    """
    if len(secret) < MIN_SECRET_CHARS:
        return frozenset()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="/")}
    forms |= {_lower_hex(f) for f in list(forms) if "%" in f}
    forms |= _json_escaped_forms(secret)
    forms |= _html_escaped_forms(secret)
    raw = secret.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode("ascii")
        forms |= {full, full.rstrip("=")}
        for shift in (0, 1, 2):  # every alignment: the secret inside a longer encoded value
            # (`Basic base64(user:secret)` of a pair nobody registered, `base64("Bearer " + secret)`).
            # The secret preceded by `shift` bytes: keep only the base64 characters made of the
            # secret's bits alone, which are the same whatever surrounds it.
            encoded = encode(b"\0" * shift + raw).decode("ascii")
            core = encoded[-(-8 * shift // 6): (8 * (shift + len(raw))) // 6]
            if len(core) >= 8:
                forms.add(core)
    return frozenset(f for f in forms if len(f) >= MIN_SECRET_CHARS)


# Characters JSON encoders escape beyond what RFC 8259 §7 requires, each as `\uXXXX`: Go's
# encoding/json (HTML-safe by default, plus U+2028/U+2029) and .NET's System.Text.Json (its default
# JavaScriptEncoder, upper-case hex). An upstream written in either that echoes a credential with
# `&`, `<` or `+` in it wrote a form the scrubber did not know.
_JSON_EXTRA_ESCAPES = ("", "<>&\u2028\u2029", "\"&'<>+`")


def _json_escaped_forms(secret: str) -> set[str]:
    """`secret` inside a JSON string as Python, JavaScript, PHP (`\\/` for `/`, its default), Go,
    .NET and Java encoders write it: each set of extra `\\uXXXX` escapes, with and without `\\/`,
    non-ASCII kept or escaped, in lower- and upper-case hex."""
    if _JSON_AS_IS.fullmatch(secret):  # nothing any encoder escapes (a JWT, most tokens): one form, made fast
        return {secret}
    forms: set[str] = set()
    for extra in _JSON_EXTRA_ESCAPES:
        for slash in (False, True):
            for ascii_only in (False, True):
                for upper in (False, True):
                    forms.add(_json_escape(secret, extra, slash, ascii_only, upper))
    return forms


_JSON_AS_IS = re.compile(r"[ !#-%(-*,-.0-;=?-\[\]-_a-~]*")  # printable ASCII but " & ' + / < > \\ `
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_escape(text: str, extra: str, slash: bool, ascii_only: bool, upper: bool) -> str:
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in extra or code < 0x20 and char not in _JSON_SHORT or ascii_only and code > 0x7E:
            units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
            out.extend(("\\u%04X" if upper else "\\u%04x") % unit for unit in units)
        elif char in _JSON_SHORT:
            out.append(_JSON_SHORT[char])
        elif char == "/" and slash:
            out.append("\\/")
        else:
            out.append(char)
    return "".join(out)


def _html_escaped_forms(secret: str) -> set[str]:
    """`secret` HTML/XML-escaped (`&amp;`, `&lt;`, `&gt;`; quotes as named, decimal or hex
    references, or left alone as inside element text)."""
    if not any(c in secret for c in "&<>\"'"):
        return set()
    base = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    quotes = (('"', "'"), ("&quot;", "&#x27;"), ("&quot;", "&#39;"), ("&#34;", "&#39;"), ("&quot;", "&apos;"))
    return {base.replace('"', dq).replace("'", sq) for dq, sq in quotes}


_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _lower_hex(text: str) -> str:
    return _PERCENT.sub(lambda m: m.group().lower(), text)


class Scrubber:
    """A set of secrets and their forms, searched in one pass; thread-safe to extend, lock-free to read.

    The forms are compiled into one Aho-Corasick automaton over UTF-8 bytes (`ahocorasick_rs`, a
    Rust extension): a 100 KB body is scanned once, whatever the number of forms (about 15 µs,
    where one `bytes.find` per form took about 20 µs *each*). Text is searched as its UTF-8
    encoding (faster than the library's own `str` search) and only rebuilt when a form is found.
    Overlapping matches are all reported and merged, so where forms of two secrets overlap, or a
    form contains another, the whole union becomes one ``[redacted]``: no part of any form is left.
    """

    def __init__(self) -> None:
        self._static: set[str] = set()
        # issued token → the `time.monotonic()` until which it is scrubbed (inf: its lifetime is unknown)
        self._issued: dict[str, float] = {}
        # issued token → its forms, computed once: a merge of segments must not compute them again (a tuple of
        # strings, which the cyclic GC stops tracking: 20,000 sets made each full collection ~30 ms longer)
        self._token_forms: dict[str, tuple[str, ...]] = {}
        self._newest: list[str] = []  # issued tokens not yet sealed, oldest first
        self._segments: list[_Segment] = []  # sealed issued tokens, larger (older) first
        self._swept = 0  # the segment whose expired tokens the next seal looks at (`_sweep`)
        self._lock = threading.Lock()
        self._static_index: _Index | None = None
        self._newest_index: _Index | None = None
        self._index: _Index | _Indexes | None = None  # replaced whole on every change: readers need no lock

    def __bool__(self) -> bool:
        return self._index is not None

    def add(self, *secrets: str | None) -> None:
        """Register configured secret values (for the life of the process)."""
        new = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS} - self._static
        if new:
            with self._lock:
                self._static |= new
                self._static_index = _index_of(self._static)
                self._combine()

    def add_issued(self, value: str, lifetime: float | None = None) -> None:
        """Register a value obtained at run time (an OAuth access token: client-credentials, exchanged, renewed),
        scrubbed while it may be used: `lifetime` seconds from now (its `expires_in`, RFC 6749 §5.1) plus
        `ISSUED_KEPT_AFTER_EXPIRY_S`; None: as long as `MAX_ISSUED` allows. Registering a known value again
        only extends its time. Holds the caller for one bounded build (`SEGMENT_TOKENS`), whatever the count."""
        if not value or len(value) < MIN_SECRET_CHARS:
            return
        now = time.monotonic()
        until = float("inf") if lifetime is None else now + lifetime + ISSUED_KEPT_AFTER_EXPIRY_S
        forms = tuple(_forms(value))
        with self._lock:
            known = self._issued.get(value)
            if known is not None:
                self._issued[value] = max(known, until)
                if until <= known or value in self._newest:
                    return
                # its segment may be dropped by its older time (`_cap`): searched again among the newest
            else:
                self._issued[value] = until
            self._token_forms[value] = forms
            self._newest.append(value)
            if len(self._newest) >= NEWEST_ISSUED:
                self._seal(now)
            else:
                self._newest_index = self._index_for(self._newest)
            self._combine()

    def _seal(self, now: float) -> None:
        """The newest into a segment of their own, merged with the last while it is no larger and the sum fits
        `SEGMENT_TOKENS` (a binary counter: each token is rebuilt log2(512/64) = 3 times), expired ones left out."""
        tokens = self._alive(self._newest, now)
        self._newest, self._newest_index = [], None
        while (self._segments and len(self._segments[-1].tokens) <= len(tokens)
               and len(self._segments[-1].tokens) + len(tokens) <= SEGMENT_TOKENS):
            tokens = self._alive(self._segments.pop().tokens, now) + tokens
        if tokens:
            self._segments.append(self._segment(tokens))
        self._sweep(now)
        self._cap()

    def _sweep(self, now: float) -> None:
        """One segment a seal (in turn): rebuilt without its expired tokens when they are half of it or more."""
        if not self._segments:
            return
        self._swept = (self._swept + 1) % len(self._segments)
        tokens = self._segments[self._swept].tokens
        alive = [t for t in tokens if self._issued.get(t, 0.0) > now]
        if len(alive) * 2 <= len(tokens):
            alive = self._alive(tokens, now)
            if alive:
                self._segments[self._swept] = self._segment(alive)
            else:
                del self._segments[self._swept]

    def _cap(self) -> None:
        """Past `MAX_ISSUED`: the segment whose tokens all expire first is forgotten (memory), a whole one at a
        time so that nothing is rebuilt; a token registered again since keeps its newer registration."""
        while len(self._issued) > MAX_ISSUED and len(self._segments) > 1:
            first = min(range(len(self._segments)), key=lambda i: self._segments[i].latest)
            dropped = self._segments.pop(first)
            for token in dropped.tokens:
                if self._issued.get(token, float("inf")) <= dropped.latest:
                    del self._issued[token], self._token_forms[token]

    def _alive(self, tokens: list[str], now: float) -> list[str]:
        """`tokens` still to be scrubbed; the others are forgotten."""
        alive = []
        for token in tokens:
            if self._issued.get(token, 0.0) > now:
                alive.append(token)
            elif token in self._issued:
                del self._issued[token], self._token_forms[token]
        return alive

    def _segment(self, tokens: list[str]) -> _Segment:
        return _Segment(tokens, self._index_for(tokens), max(self._issued[t] for t in tokens))

    def _index_for(self, tokens: list[str]) -> _Index | None:
        forms: set[str] = set()
        for token in tokens:
            forms.update(self._token_forms[token])
        return _Index(forms, often=True) if forms else None

    def _combine(self) -> None:
        found = [self._static_index, *(s.index for s in self._segments), self._newest_index]
        parts = [i for i in found if i is not None]
        self._index = None if not parts else parts[0] if len(parts) == 1 else _Indexes(parts)

    def clear(self) -> None:
        """Forget everything (tests only)."""
        with self._lock:
            self._static, self._issued, self._token_forms, self._newest, self._segments = set(), {}, {}, [], []
            self._static_index = self._newest_index = None
            self._combine()

    def saved(self) -> tuple[frozenset[str], dict[str, float]]:
        """What is registered, for `restore` (tests that register values put the registry back as it was)."""
        return frozenset(self._static), dict(self._issued)

    def restore(self, saved: tuple[frozenset[str], dict[str, float]]) -> None:
        """Register exactly what `saved()` returned (issued values with their times)."""
        static, issued = saved
        with self._lock:
            self._static, self._issued, self._newest = set(static), dict(issued), []
            self._token_forms = {token: tuple(_forms(token)) for token in self._issued}
            self._static_index, self._newest_index = _index_of(self._static), None
            tokens = list(self._issued)
            self._segments = [self._segment(tokens[i:i + SEGMENT_TOKENS])
                              for i in range(0, len(tokens), SEGMENT_TOKENS)]
            self._combine()

    def found_in(self, text: str) -> bool:
        """Whether any form of any secret occurs in `text`."""
        index = self._index
        if index is None or len(text) < index.shortest_chars:
            return False
        return bool(index.spans(text.encode("utf-8", "surrogatepass")))

    def scrub_text(self, text: str) -> str:
        """`text` with every form of every secret replaced by ``[redacted]``."""
        index = self._index
        if index is None or len(text) < index.shortest_chars:
            return text
        if "\\u" in text or "\\/" in text:
            # The escapes decoded, the copy holds every plain form too: searched instead of the raw text, where a
            # secret of hex digits may be found inside an escape (`0000` in `\\u0000`) and break it
            escaped = _scrub_escaped(index, text)
            if escaped is not None:
                return escaped
        data = text.encode("utf-8", "surrogatepass")
        spans = index.spans(data)
        # Forms are whole UTF-8 sequences, so a match never starts or ends inside a character.
        return _replace(data, spans).decode("utf-8", "surrogatepass") if spans else text

    @property
    def longest_bytes(self) -> int:
        """The UTF-8 length of the longest form of any secret (0 when none is configured): text written in
        pieces must keep back one byte less than this for a form still being written to be found whole."""
        index = self._index
        return 0 if index is None else index.longest_bytes

    def scrub_settled(self, text: str) -> tuple[str, str]:
        """Text written in pieces (a stream): `(head, tail)`, `head` scrubbed and final, `tail` raw, to be
        searched again with what follows. `tail` is what a form could still be completing: the end of
        `text` from where it reads as the beginning of a form, within the last (longest form − 1) bytes
        and after the last line end (``\n`` or ``\r``), or from the start of a found form reaching into
        it. `(text, "")` when nothing is configured."""
        index = self._index
        if index is None:
            return text, ""
        data = text.encode("utf-8", "surrogatepass")
        cut = max(len(data) - (index.longest_bytes - 1), data.rfind(b"\n") + 1, data.rfind(b"\r") + 1, 0)
        cut = index.begins_form(data, cut)  # a form begins with a whole character: never inside one
        spans = index.spans(data)
        if not spans:  # the common case: no decoding of what is written
            tail = data[cut:].decode("utf-8", "surrogatepass")
            return text[:len(text) - len(tail)], tail
        for start, end in spans:
            if start < cut < end:  # a form found across the cut stays whole in the tail (forms are whole characters)
                cut = start
                break
        head = _replace(data[:cut], [s for s in spans if s[1] <= cut])
        return head.decode("utf-8", "surrogatepass"), data[cut:].decode("utf-8", "surrogatepass")

    def scrub_bytes(self, data: bytes) -> bytes:
        """The same for raw bytes (an upstream body before decoding; UTF-8 forms)."""
        index = self._index
        if index is None:
            return data
        spans = index.spans(data)
        return _replace(data, spans) if spans else data

    def scrub_base64(self, encoded: str) -> str:
        """A base64 payload (RFC 4648 §4: an MCP resource's `blob`, an image's or audio's `data`) whose
        *decoded bytes* hold no configured secret: every form of every secret found in them, at any
        byte offset, is overwritten with the bytes of ``[redacted]`` and the result re-encoded, as the
        HTTP executor overwrites a binary body (`scrub_bytes`). Searching the decoded bytes is exact,
        where the base64 text of a secret differs with its offset (three encodings) and a replacement
        inside the text would make it invalid base64. Text that is not base64 is scrubbed as text, and
        so is what comes out (a secret that is itself base64 text). `encoded` itself when nothing is found."""
        index = self._index
        if index is None or not encoded:
            return encoded
        try:
            raw = _b64decode(encoded)  # not validated: line breaks and other non-alphabet characters are skipped
        except (binascii.Error, ValueError):  # bad padding, non-ASCII: not base64
            return self.scrub_text(encoded)
        spans = index.spans(raw)
        if spans:
            encoded = _b64encode(_replace(raw, spans))
        return self.scrub_text(encoded)

    def scrub_parsed(self, value: Any) -> Any:
        """A value parsed from an upstream's body (JSON, a line of NDJSON) with every decoded string, keys and
        values, scrubbed (`scrub_text`): what the model is sent. The raw body's scrub (`scrub_bytes`) knows a
        fixed list of escaped forms; JSON lets an encoder escape *any* character as `\\uXXXX` (RFC 8259 §7),
        so `c2VjcmV0\\u003d` (Gson's default for `=`) or `\\u0071k-123` passed it and reached the model in
        clear once decoded. Unchanged values are returned as they are.

        Cost: the walk takes ~30 ms per MB of JSON (one `scrub_text` per string), so the value is first written
        once as canonical JSON (`pydantic_core.to_json`: only `"`, `\\` and control characters escaped, which
        the secrets' forms include) and searched in one pass (~3 ms per MB); only when a form is found there
        is it walked. A value JSON cannot write (not from a parser) is walked."""
        index = self._index
        if index is None or isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, str):
            return self.scrub_text(value)
        try:
            from pydantic_core import to_json  # the parser mcprt reads upstream JSON with (outbound.decoding)

            probe = to_json(value)
        except (TypeError, ValueError):
            probe = None
        if probe is not None and not index.spans(probe):
            return value
        return self._scrub_strings(value)

    def _scrub_strings(self, value: Any) -> Any:
        """Every string of a JSON-like value scrubbed as text, keys included (no base64 reading: parsed data)."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            out = {self.scrub_text(k) if isinstance(k, str) else k: self._scrub_strings(v) for k, v in value.items()}
            unchanged = len(out) == len(value) and all(a is b and out[a] is value[b] for a, b in zip(out, value))
            return value if unchanged else out
        if isinstance(value, list):
            items = [self._scrub_strings(v) for v in value]
            return value if all(a is b for a, b in zip(items, value)) else items
        return value

    def scrub_value(self, value: Any) -> Any:
        """A JSON-like value with secrets scrubbed from every string (keys included): an upstream's
        data. Unchanged objects are returned as they are (no copy when nothing is found)."""
        return value if self._index is None else self._scrub(value, prose_only=False)

    async def scrub_value_async(self, value: Any) -> Any:
        """`scrub_value` for a caller on the event loop: in a worker thread (`asyncio.to_thread`) when
        `value` holds base64 payloads of more than `LARGE_BASE64_CHARS` characters in all, inline otherwise."""
        return value if self._index is None else await self._scrub_async(value, prose_only=False)

    async def scrub_prose_async(self, value: Any) -> Any:
        """`scrub_prose` for a caller on the event loop, a large base64 payload off it (`scrub_value_async`)."""
        return value if self._index is None else await self._scrub_async(value, prose_only=True)

    async def _scrub_async(self, value: Any, *, prose_only: bool) -> Any:
        try:  # inline first: nearly every value is small, and finding out costs no second walk
            return self._scrub(value, prose_only=prose_only, budget=_Budget())
        except _LargeBase64:  # nothing was changed in place: the scrub builds new objects
            return await asyncio.to_thread(self._scrub, value, prose_only=prose_only)

    def scrub_prose(self, value: Any) -> Any:
        """A protocol message (a listing, a resources/read or prompts/get result, a notification's or a
        relayed request's params, a JSON-RPC error) with secrets scrubbed from its prose and data only:
        the string values of `PROSE_KEYS` and `SHOWN_KEYS` (a log message's `logger`, a URL-mode
        elicitation's `url`), the whole values of `VALUE_KEYS` (log and error `data`,
        completion `values`, a schema's `default`, `examples`, `example`, `const`, `enum` and
        `enumNames`) and the string values of `ARGUMENT_KEYS` (a sampling message's tool use `input`
        and tool result `structuredContent`), at any depth. Keys, names, URIs and `required` entries are
        identifiers a client matches on: a secret that is also a word (`admin`, `type`) must not rename
        a tool or a schema property, and a resource's `uri` stays as the server wrote it. Inside a
        schema's name maps (`properties`, `$defs`, …) keys are names, so a property called `default` is
        still a schema. An `enum` keeps its values unique (two
        scrubbed to ``[redacted]`` are one), so a schema stays valid, and a sibling `enumNames` stays
        parallel to it (`_unique_enum`). Unchanged objects are returned as they are (no copy when
        nothing is found)."""
        return value if self._index is None else self._scrub(value, prose_only=True)

    def _scrub(self, value: Any, *, prose_only: bool, key: Any = None, keys: bool = True,
               budget: _Budget | None = None) -> Any:
        """`keys=False`: a tool call's arguments, whose keys are names the tool matches on. `budget`: on the
        event loop, so base64 payloads past `LARGE_BASE64_CHARS` in all raise `_LargeBase64` instead."""
        if isinstance(value, str):
            if key in BASE64_KEYS:  # binary content: its decoded bytes are searched
                return self._base64(value, budget)
            return self.scrub_text(value) if not prose_only or key in _TEXT_KEYS or key in _DATA_KEYS else value
        if prose_only and key in VALUE_KEYS:  # data, not protocol structure: every string, keys included
            return self._scrub(value, prose_only=False, budget=budget)
        if prose_only and key in ARGUMENT_KEYS:  # data, but its keys are argument names
            return self._scrub(value, prose_only=False, keys=False, budget=budget)
        if isinstance(value, dict):
            names = prose_only and key in NAMED_SCHEMAS  # keys here name properties or definitions
            changed = False
            out: dict[Any, Any] = {}
            kind = value.get("type")
            binary = not names and isinstance(kind, str) and kind in _BINARY_BLOCKS  # an image's or audio's base64 `data`
            for k, v in value.items():
                nk = self.scrub_text(k) if isinstance(k, str) and not prose_only and keys else k
                if binary and k == "data" and isinstance(v, str):
                    nv = self._base64(v, budget)
                else:
                    nv = self._scrub(v, prose_only=prose_only, key=None if names else k, keys=keys, budget=budget)
                changed = changed or nk is not k or nv is not v
                out[nk] = nv
            if not changed:
                return value
            return _unique_enum(out, value) if prose_only and not names else out
        if isinstance(value, list):
            items = [self._scrub(v, prose_only=prose_only, keys=keys, budget=budget) for v in value]
            return items if any(a is not b for a, b in zip(items, value)) else value
        return value

    def _base64(self, encoded: str, budget: _Budget | None) -> str:
        if budget is not None:
            budget.left -= len(encoded)
            if budget.left < 0:
                raise _LargeBase64
        return self.scrub_base64(encoded)

    def scrub_all(self, texts: Iterable[str]) -> list[str]:
        return [self.scrub_text(t) for t in texts]


# The MCP fields that are prose written for a reader (MCP 2025-11-25 schema: Tool/Resource/Prompt
# `description` and `title`, TextContent and TextResourceContents `text`, `instructions`; a progress
# notification's and an elicitation request's and a JSON-RPC error's `message`, a task's
# `statusMessage`, a sampling request's `systemPrompt`).
PROSE_KEYS = frozenset({"description", "title", "text", "instructions", "message", "statusMessage", "systemPrompt"})
# The MCP string fields that are not prose but no identifier a client matches on either, and that a person
# sees (MCP 2025-11-25 and 2026-07-28 schemas): a log message's `logger` (LoggingMessageNotification: free text
# naming where the message came from, shown beside its `data`), and a URL-mode elicitation's `url`
# (ElicitRequestURLParams: shown to the user and opened in their browser, so a secret in it reaches the page
# it opens and the browser's history; a redacted URL no longer works, which is right, since it would have
# carried the secret). `url` is no other string field of MCP: a client capability's `url` is an object, and a
# resource's `uri` (which clients match on) is not scrubbed.
SHOWN_KEYS = frozenset({"logger", "url"})
_TEXT_KEYS = PROSE_KEYS | SHOWN_KEYS
# The fields whose whole value is data a client is shown, scrubbed as an upstream's data is (keys
# included): a log message's and a JSON-RPC error's `data` (any JSON), completion `values`, the
# JSON Schema keywords holding instance values (2020-12 validation §6.1.2-3, meta-data §9.2, §9.5;
# OpenAPI 3.0's `example`), which an API description may fill with a real credential, and an
# elicitation schema's `enumNames` (MCP 2025-11-25 LegacyTitledEnumSchema: the labels shown for `enum`).
VALUE_KEYS = frozenset({"data", "values", "default", "examples", "example", "const", "enum", "enumNames"})
# The fields whose values are data but whose keys are names a tool matches on (MCP 2025-11-25
# sampling content: a `tool_use` block's `input` arguments, a `tool_result` block's `structuredContent`):
# every string value is scrubbed, no key.
ARGUMENT_KEYS = frozenset({"input", "structuredContent"})
_DATA_KEYS = VALUE_KEYS | ARGUMENT_KEYS
# Binary content, base64-encoded (MCP 2025-11-25): BlobResourceContents `blob` (a resources/read result, an
# embedded resource in a tool result or a prompt), and ImageContent/AudioContent `data` (`_BINARY_BLOCKS`,
# told apart from a log message's `data` by the block's `type`). Scrubbed as the bytes they encode
# (`Scrubber.scrub_base64`), wherever they are: a tool result, a resource read, a prompt, a sampling message.
BASE64_KEYS = frozenset({"blob"})
_BINARY_BLOCKS = frozenset({"image", "audio"})


def _unique_enum(scrubbed: dict[Any, Any], sent: dict[Any, Any]) -> dict[Any, Any]:
    """A scrubbed schema whose `enum` has no repeats (JSON Schema 2020-12 validation §6.1.2: its elements
    SHOULD be unique; two values scrubbed to ``[redacted]`` are one), keeping the first of each. A sibling
    `enumNames` (MCP 2025-11-25 LegacyTitledEnumSchema: one label per `enum` entry, by position) loses the
    labels of the same entries, so each value keeps its own label. `scrubbed` itself when nothing repeats."""
    values, labels = scrubbed.get("enum"), scrubbed.get("enumNames")
    if not isinstance(values, list) or values is sent.get("enum"):
        return scrubbed
    first = [i for i, item in enumerate(values) if item not in values[:i]]
    if len(first) == len(values):
        return scrubbed
    out = {**scrubbed, "enum": [values[i] for i in first]}
    if isinstance(labels, list) and len(labels) == len(values):
        out["enumNames"] = [labels[i] for i in first]
    return out

SECRETS = Scrubber()


class _Index:
    """One compiled search over a fixed set of forms.

    The automata hold each form's last `ANCHOR_BYTES` bytes, not the whole form: a build costs about its
    patterns' bytes, and a token's forms are ~60 bytes (20,000 tokens' 80,000 forms: 741 ms to build whole,
    46 ms as 12-byte anchors, CPU). An anchor found is only a candidate: the forms ending with it are compared
    in place (`bytes.startswith`), so the spans are exactly those of the whole forms.

    Two automata, because the library's fastest scan (SIMD "Teddy" candidates, up to 64 patterns)
    exists only for leftmost matching: `_probes` (groups of at most 64 anchors) answer "is any form
    here?" for every body, and only when one is, `_exact` (all anchors, standard semantics) lists
    every match, overlapping ones included. Measured on a 100 KB JSON body with 48 forms: 2 µs
    for the probe, 150 µs for the overlapping scan; ~20 µs for each `bytes.find` it replaces. Past a few
    groups there is no probe: it would be a second automaton as large as `_exact` and no faster.
    """

    __slots__ = ("_probes", "_exact", "_ending", "shortest_bytes", "shortest_chars", "longest_bytes", "forms",
                 "first_bytes")

    PROBE_GROUP = 64  # the most patterns the packed (SIMD) searcher takes
    MOST_GROUPS = 4
    ANCHOR_BYTES = 12  # a token's forms end in high-entropy bytes: 78,645 distinct anchors of 80,000 forms

    def __init__(self, forms: set[str], *, often: bool = False) -> None:
        """`often`: rebuilt often (issued tokens): automata quick to build (~0.5 ms for 256 forms, where the
        default's DFA took ~10 ms) and about as quick to search."""
        from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind  # loaded once secrets exist

        how = Implementation.ContiguousNFA if often else None

        encoded = sorted(f.encode("utf-8", "surrogatepass") for f in forms)
        ending: dict[bytes, list[bytes]] = {}
        cut = -self.ANCHOR_BYTES
        for form in encoded:
            anchor = form[cut:]
            if anchor in ending:
                ending[anchor].append(form)
            else:
                ending[anchor] = [form]
        anchors = list(ending)
        self._ending = [tuple(ending[a]) for a in anchors]  # by anchor index: the forms that end with it
        # Past a few groups, one automaton over all answers faster than many packed ones (8,000 forms: 0.8 ms
        # per 100 KB, where 125 groups took 18 ms).
        group = self.PROBE_GROUP
        self._probes = tuple(BytesAhoCorasick(anchors[i:i + group], matchkind=MatchKind.LeftmostLongest,
                                              implementation=how) for i in range(0, len(anchors), group)
                             ) if len(anchors) <= group * self.MOST_GROUPS else ()
        self._exact = BytesAhoCorasick(anchors, implementation=how)
        self.shortest_bytes = min(map(len, encoded))
        self.shortest_chars = min(map(len, forms))
        self.longest_bytes = max(map(len, encoded))
        self.forms = encoded  # sorted: whether bytes begin a form is one bisection (`begins_form`)
        self.first_bytes = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in sorted({f[0] for f in encoded})) + b"]")

    def begins_form(self, data: bytes, start: int) -> int:
        """The first offset from `start` at which the rest of `data` is the beginning of a form (a form
        still being written); `len(data)` when there is none."""
        forms, first = self.forms, self.first_bytes
        found = first.search(data, start)
        while found is not None:
            rest = data[found.start():]
            i = bisect_left(forms, rest)
            if i < len(forms) and forms[i].startswith(rest):
                return found.start()
            found = first.search(data, found.start() + 1)
        return len(data)

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        """Where forms occur in `data`: merged, sorted `(start, end)` byte offsets; [] when none."""
        if len(data) < self.shortest_bytes:  # too short to hold any form: no search at all
            return []
        if self._probes and not any(probe.find_matches_as_indexes(data) for probe in self._probes):
            return []
        ending, found = self._ending, []
        for anchor, _, end in self._exact.find_matches_as_indexes(data, overlapping=True):
            for form in ending[anchor]:
                start = end - len(form)
                if start >= 0 and data.startswith(form, start):
                    found.append((start, end))
        return _merged(found)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` sorted, the overlapping or touching ones joined: one redaction, no part of any form left."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _index_of(secrets: Iterable[str], *, often: bool = False) -> _Index | None:
    forms: set[str] = set()
    for secret in secrets:
        forms |= _forms(secret)
    return _Index(forms, often=often) if forms else None


class _Segment:
    """Issued tokens searched as one index (`Scrubber._seal`); `latest`: when the last of them expires."""

    __slots__ = ("tokens", "index", "latest")

    def __init__(self, tokens: list[str], index: _Index | None, latest: float) -> None:
        self.tokens, self.index, self.latest = tokens, index, latest


class _Indexes:
    """Several `_Index`es searched as one (the configured secrets', the issued tokens' segments and newest)."""

    __slots__ = ("_parts", "shortest_bytes", "shortest_chars", "longest_bytes")

    def __init__(self, parts: list[_Index]) -> None:
        self._parts = tuple(parts)
        self.shortest_bytes = min(p.shortest_bytes for p in parts)
        self.shortest_chars = min(p.shortest_chars for p in parts)
        self.longest_bytes = max(p.longest_bytes for p in parts)

    def begins_form(self, data: bytes, start: int) -> int:
        return min(p.begins_form(data, start) for p in self._parts)

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        found = [span for part in self._parts for span in part.spans(data)]
        return _merged(found) if found else []  # across indexes too: one redaction


# A JSON escape (RFC 8259 §7): a surrogate pair, one `\uXXXX`, or a two-character escape
_JSON_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
                          r"|\\u([0-9a-fA-F]{4})|\\([\"\\/bfnrt])")
_SHORT_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _scrub_escaped(index: _Index | _Indexes, text: str) -> str | None:
    """`text` with every secret spelled with JSON escapes redacted, whatever its mix of escaped and plain
    characters (`c2VjcmV0\\u003d=`, `\\u0071k-123`, `a\\/b/c`): the escapes are decoded into a copy, the
    copy searched, and each span found is redacted in `text` over the escapes that spelled it. The listed
    forms (`_json_escaped_forms`) are the spellings of whole encoders; an encoder may escape any character
    (Gson's `=` as `\\u003d`), and one escaping only some is no form on any list. Only called when `text`
    holds `\\u` or `\\/`: decoding is one regex pass, the search one more. None: `text` holds no JSON escape."""
    decoded: list[str] = []
    marks: list[tuple[int, int, int]] = []  # (decoded index of an escape's character, its raw start, raw end)
    at = length = 0
    for match in _JSON_ESCAPE.finditer(text):
        high, low, unit, short = match.groups()
        if high is not None:
            char = chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
        elif unit is not None:
            char = chr(int(unit, 16))
        else:
            char = _SHORT_ESCAPES.get(short, short)
        length += match.start() - at
        decoded += (text[at:match.start()], char)
        marks.append((length, match.start(), match.end()))
        length += 1
        at = match.end()
    if not marks:
        return None
    decoded.append(text[at:])
    plain = "".join(decoded)
    data = plain.encode("utf-8", "surrogatepass")
    spans = index.spans(data)
    if not spans:
        return text
    firsts = [mark[0] for mark in marks]

    def raw(position: int, end: bool) -> int:
        """The offset in `text` where the decoded character at `position` begins (or ends, `end`)."""
        i = bisect_left(firsts, position + 1) - 1  # the last escape at or before `position`
        if i < 0:
            return position + end
        first, start, stop = marks[i]
        if first == position:
            return stop if end else start
        return stop + (position - first - 1) + end

    ascii_only = len(data) == len(plain)
    out: list[str] = []
    at = 0
    for start, stop in spans:
        if not ascii_only:  # byte offsets to character offsets (forms are whole characters)
            start = len(data[:start].decode("utf-8", "surrogatepass"))
            stop = len(data[:stop].decode("utf-8", "surrogatepass"))
        begin, finish = raw(start, False), raw(stop - 1, True)
        if begin < at:  # touching an earlier span once mapped back: one redaction
            begin = at
        out += (text[at:begin], REDACTED)
        at = finish
    out.append(text[at:])
    return "".join(out)


_REDACTED_BYTES = REDACTED.encode()
# base64 characters decoded per call (a multiple of 4). binascii holds the GIL for a whole call: decoding
# 10 MB in one took 17-50 ms, and the event loop waited that long although a worker thread did it. A piece
# takes well under a millisecond; the search (`ahocorasick_rs`) lets the GIL go by itself.
_BASE64_PIECE = 1 << 18


def _b64decode(encoded: str) -> bytes:
    """`base64.b64decode(encoded)`, a large payload a piece at a time (`_BASE64_PIECE`). Pieces are exact
    only where every character is of the alphabet (checked per piece: `strict_mode`), the length is whole
    quads, and no `=` comes before the last two characters: `b64decode` stops at padding, where a piece
    ending in `=` would be checked only up to its own end and decoding would go on past it (review of
    prunedepth: two payloads joined at a piece boundary decoded to 393,339 bytes, not 196,607). Anything
    else — line breaks, inner padding, a partial quad — is decoded in one call, as before."""
    if len(encoded) <= _BASE64_PIECE or len(encoded) % 4 or encoded.find("=", 0, len(encoded) - 2) != -1:
        return base64.b64decode(encoded)
    try:
        return b"".join(binascii.a2b_base64(encoded[at:at + _BASE64_PIECE], strict_mode=True)
                        for at in range(0, len(encoded), _BASE64_PIECE))
    except (binascii.Error, ValueError):  # its pieces are not whole quads, or it is not base64 at all
        return base64.b64decode(encoded)


def _b64encode(raw: bytes) -> str:
    """`base64.b64encode(raw)` as text, a piece at a time (3 bytes → 4 characters: the pieces join exactly)."""
    step = _BASE64_PIECE // 4 * 3
    view = memoryview(raw)
    return "".join(binascii.b2a_base64(view[at:at + step], newline=False).decode("ascii")
                   for at in range(0, len(raw), step)) if raw else ""


def _replace(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    parts: list[bytes] = []
    at = 0
    for start, end in spans:
        parts += (data[at:start], _REDACTED_BYTES)
        at = end
    parts.append(data[at:])
    return b"".join(parts)
