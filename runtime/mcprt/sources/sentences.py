"""Where text may be cut: sentence ends, word ends and grapheme clusters — for descriptions and results alike.

One place for the rule, so a description cut to `max_chars` (OpenAPI, Python, …) and a result string cut to
`max_result_bytes` (`shaping/limits.py`) end the same way whatever source or script they came from. It imports
nothing of mcprt, so any layer may use it without loading another's modules.

- A sentence ends at a Unicode sentence terminal (`Sentence_Terminal`, UAX #29 §5: `.` `!` `?`, `。` `！` `？` `｡` `．`,
  `؟` `۔` `।` `॥` `።` …). The ASCII `.!?` end one only before whitespace or the end of the text (`e.g.`, `3.5`,
  `example.com` do not); the others end one wherever they are, since the scripts that use them (Chinese, Japanese)
  put no space after a sentence. Closing quotes and brackets after a terminal belong to the sentence (`「はい。」`).
- A text with no terminal at its end gets an ASCII `.` (`as_sentence`) unless its last character is of a script
  written without one (`_unspaced`: CJK ideographs, kana, full-width forms, Thai, Lao, Myanmar, Khmer), nor when an
  ASCII word or number follows such a character: `取得します。`, `ユーザーを取得する` and `ユーザーを取得するAPI` stay
  as they are (a `.` there is a stray mark, not punctuation). The full stops `．` `﹒` `․` (UAX #29 ATerm) end no
  sentence before a digit (`３．５`).
- A cut never falls inside an extended grapheme cluster (UAX #29 §3: `👨‍👩‍👧‍👦`, `é` as e + U+0301, a flag's two
  regional indicators): what is kept shows the characters the upstream sent. Words of scripts without spaces are
  cut at such a boundary (there is no space to go back to).
"""

from __future__ import annotations

import re
import unicodedata

# The Unicode Sentence_Terminal characters of the Basic Multilingual Plane (PropList.txt; `regex`'s
# \p{Sentence_Terminal}, a test checks the two agree) but ASCII `.!?`, which `SENTENCE_END` treats apart. The 80 beyond
# it (Brahmi, Chakma, Sharada… historic and minority scripts) are left out: characters above U+FFFF in the class made
# each search of English text 1.6× slower again in `re` (5,200 characters: 33 µs with ASCII marks only, 45 µs with
# this class, 75 µs with those added; best of 30 runs).
_TERMINALS = (
    "\u0589\u061d-\u061f\u06d4\u0700-\u0702\u07f9\u0837\u0839\u083d-\u083e\u0964-\u0965\u104a-\u104b\u1362"
    "\u1367-\u1368\u166e\u1735-\u1736\u17d4-\u17d5\u1803\u1809\u1944-\u1945\u1aa8-\u1aab\u1b4e-\u1b4f\u1b5a-\u1b5b"
    "\u1b5e-\u1b5f\u1b7d-\u1b7f\u1c3b-\u1c3c\u1c7e-\u1c7f\u2024\u203c-\u203d\u2047-\u2049\u2cf9-\u2cfb\u2e2e\u2e3c"
    "\u2e53-\u2e54\u2e60-\u2e61\u3002\ua4ff\ua60e-\ua60f\ua6f3\ua6f7\ua876-\ua877\ua8ce-\ua8cf\ua92f\ua9c8-\ua9c9"
    "\uaa5d-\uaa5f\uaaf0-\uaaf1\uabeb\ufe12\ufe15-\ufe16\ufe52\ufe56-\ufe57\uff01\uff0e\uff1f\uff61"
)
# closing quotes and brackets a sentence may end with after its terminal (`"Done."`, `「はい。」`, `（例。）`)
_CLOSERS = "\"')\\]}\u2019\u201d\u00bb\u300d\u300f\u3011\u3015\u3017\u3019\u301b\uff09\uff3d\uff5d\uff63"
# A sentence ends at . ! or ? before whitespace, except after e.g, i.e, etc, vs, Ex, ex; or at any other terminal.
# The end mark (one class of every terminal) is matched first and the rest looked at behind and after it: the engine
# then tries the lookarounds only at marks, not at every position (about 3× faster on descriptions than the
# exceptions first; an alternation of the two kinds of mark scanned every position twice, same matches).
# The ATerm marks of UAX #29 (`\u2024` `\ufe52` `\uff0e`: full-width and small full stops) are full stops as `.` is:
# no break before a digit (rule SB6: `版本３．５`), as elsewhere the terminals end a sentence wherever they are.
_ATERMS = "\u2024\ufe52\uff0e"
SENTENCE_END = re.compile(
    rf"[.!?{_TERMINALS}](?:(?<=[{_TERMINALS}])(?!(?<=[{_ATERMS}])[0-9\uff10-\uff19])[{_TERMINALS}]*[{_CLOSERS}]*"
    rf"|(?<!\be\.g.)(?<!\bi\.e.)(?<!\betc.)(?<!\bvs.)(?<!\bEx.)(?<!\bex.)[{_CLOSERS}]*(?=\s|$))"
)
# what may end a text that is left as it is by `as_sentence`: a terminal, a colon (a list follows), an ellipsis
_ENDED = re.compile(rf"(?:[.!?:\u2026\uff1a{_TERMINALS}])[{_CLOSERS}]*\Z")


def fit(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else cut at the last sentence end within `limit`
    (or at a word, ending with …; in a script without spaces at a grapheme cluster), so the result has at
    most `limit` characters."""
    if len(text) <= limit:
        return text
    head = text[:grapheme_end(text, limit)]
    ends = [m.end() for m in SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= min(10, limit // 3):
        return head[: ends[-1]]
    room = grapheme_end(text, limit - 1)
    cut = head[:room]
    space = cut.rfind(" ")
    if space > 0 and (space >= room * 7 // 10 or not _unspaced(cut[room - 1])):
        cut = cut[:space]  # a word end; in a script without spaces, only one near the limit (else a character)
    return cut.rstrip(",;:-—、，： ") + "…"


def first_sentence(text: str) -> str:
    """`text` up to and including its first sentence end (all of it when it has none)."""
    match = SENTENCE_END.search(text)
    return text[: match.end()] if match else text


def last_sentence_end(text: str) -> int:
    """The index just after the last sentence end in `text` (`SENTENCE_END`), -1 when it has none."""
    end = -1
    for match in SENTENCE_END.finditer(text):
        end = match.end()
    return end


def as_sentence(text: str) -> str:
    """`text` stripped, ending as a sentence: a `.` added unless it ends with a terminal, a colon or an ellipsis
    (closing quotes after them allowed), or with a character of a script written without a `.` (`_unspaced`), an
    ASCII word or number right after one counting as of that script (`…取得するAPI`)."""
    text = text.strip()
    if not text or _ENDED.search(text):
        return text
    # an ASCII word or number closing a text of such a script (`ユーザーを取得するAPI`, `バージョン2`) is no English
    # sentence's end: the character before it decides
    letters = _TRAILING_ASCII_WORD.sub("", text)
    if letters and _unspaced(letters[-1]):
        return text
    return text + "."


_TRAILING_ASCII_WORD = re.compile(r"[A-Za-z0-9]+\Z")


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with a sentence terminal, a colon or an ellipsis (closing quotes after them allowed)."""
    return bool(_ENDED.search(text))


def _unspaced(ch: str) -> bool:
    """Whether `ch` is of a script written without spaces or a `.` between sentences: CJK ideographs, kana and
    full-width forms (East Asian Width W or F, but Hangul: Korean has spaces and `.`), Thai, Lao, Myanmar, Khmer."""
    code = ord(ch)
    if code < 0x0E00:
        return False
    if 0x0E00 <= code <= 0x0EFF or 0x1000 <= code <= 0x109F or 0x1780 <= code <= 0x17FF:
        return True
    return unicodedata.east_asian_width(ch) in ("W", "F") and not 0xAC00 <= code <= 0xD7A3 \
        and not 0x1100 <= code <= 0x11FF and not 0x3130 <= code <= 0x318F


_AROUND = 64  # the characters looked at on each side of a cut for its grapheme cluster (UAX #29)


def grapheme_end(text: str, end: int) -> int:
    """The largest index ≤ `end` at which `text` may be cut without splitting an extended grapheme cluster
    (Unicode UAX #29 §3, `regex`'s `\\X`): `end` itself when it is a boundary. Looks at `_AROUND` characters on
    each side (a regional-indicator run — flags — from its start; further back only while a cluster is longer than
    that), so a cut costs the same in any length of text;
    between two ASCII characters (but CR LF) every index is a boundary, and `regex` is not imported."""
    if end <= 0 or end >= len(text):
        return max(0, min(end, len(text)))
    before, after = text[end - 1], text[end]
    if before < "\x80" and after < "\x80" and not (before == "\r" and after == "\n"):
        return end
    import regex  # a dependency already (schema/ecma_regex.py); only cuts next to non-ASCII text pay its import

    start = end
    while True:
        start = max(0, start - _AROUND)
        while start > 0 and "\U0001f1e6" <= text[start - 1] <= "\U0001f1ff":  # a flag pair counts from its run's start
            start -= 1
        best = start
        for match in regex.finditer(r"\X", text, pos=start, endpos=min(len(text), end + _AROUND)):
            if match.end() > end:
                break
            best = match.end()
        # no boundary after `start` up to `end`: `start` itself may be inside the cluster (a run of combining marks
        # longer than the window, Zalgo text), so look further back: the cost is bounded by the cluster's length
        if best > start or start == 0:
            return best
