"""Size limits that shorten by structure, never by cutting text mid-way.

A model shown JSON cut at byte N invents what the cut hid. So a value over its limit loses whole
array items from the end (replaced by one marker string, `"… 970 more items omitted"`), and long
strings end at a word boundary with `"… (1234 more chars)"`. Every omission is visible in the
value itself and described in the returned notes — except, on request, the list-item and key markers
(structuredContent must conform to the tool's outputSchema; the notes alone say what was dropped).

How the budget is spent, top-down:
  - array: keep as many items from the start as fit, shortened where that lets them fit: each item
    has a *floor*, its size with its long texts (strings over `_LONG_TEXT` bytes, at any depth) cut
    to `_SMALL` bytes and all else whole, and the most items whose floors fit the budget are kept,
    the budget beyond their floors shared among them smallest want first (an item that fits whole
    stays whole; in the others only the long texts are cut, the longest most). A list of 20 issues with 3 KB bodies under an 8 KB limit keeps 20 issues
    with shortened bodies, not 2 whole ones and the rest dropped (shapeleft, fault 2). When no item
    more fits even at its floor and a large share of the budget is left, the next item is kept
    shortened as the budget allows (its first keys). The rest become the marker string (a string,
    not an object, so it is never mistaken for an item of a list of objects). The notes of the kept
    items' shortening are one per place in the item (`$.items[*].body: text shortened in 20 of 20
    items`), not one per item.
  - object: keys are kept; the budget left after keys and small values is shared among the large
    values smallest-first ("water filling"), so the longest values are shortened most. An object
    with too many keys to show keeps its first keys and gets a `"…": "N more keys omitted"` entry.
  - string: cut at a word boundary (in a script without spaces, a sentence end: `。`), never inside a grapheme
    cluster (`sources/sentences.py`, the rule descriptions are cut by too), marker appended.
  - number, boolean, null: kept as they are.

Sizes are the compact JSON encoding in UTF-8 bytes (`separators=(",", ":")`,
`ensure_ascii=False`), measured with the C encoder, each node at most once, and only on the path
that is being shortened; kept parts are summed, not re-serialized. A 10 MB value costs about one
`json.dumps` of it plus work proportional to what is kept.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from pydantic_core import PydanticSerializationError, to_json

from ..sources.sentences import grapheme_end, last_sentence_end

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, default=str).encode

# Byte patterns found in pydantic-core's JSON only where it writes a float below 1e-4 other than
# the standard encoder would (`0.00001` for 1e-05, `2.5e-7` for 2.5e-07), or in a text that holds
# them (a false alarm: that value is written by the standard encoder). Literal patterns: `re`
# finds them faster than `bytes.__contains__` does for a needle starting with a common letter.
_SMALL_FLOAT_DECIMAL = re.compile(rb"\.0000")
_SMALL_FLOAT_EXPONENT = re.compile(rb"e-")
_SUMMED_KEYS = 64  # objects up to this wide are measured as the sum of their parts (a list, or a
# wider object, in one C-encoder call: summing a million small parts in Python would cost more)
_SMALL = 48  # values at most this big are not worth shortening inside an object
_LONG_TEXT = 256  # strings longer than this (bytes) are what a list cuts to keep more of its items (`_fit_items`)
_MIN_TEXT = 16  # fewer kept characters than this and a string becomes its marker alone
_MAX_NOTES = 12
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MORE_KEYS = "…"


def compact_json(value: Any) -> str:
    """The compact JSON text of a JSON value (`separators=(",", ":")`, `ensure_ascii=False`),
    character for character what the standard library's encoder writes, 2-4× faster.

    `value` is a JSON value: dicts with str keys, lists, str, int, float, bool, None (what a JSON
    parser, JMESPath or pydantic's `to_jsonable_python` gives). It is written by pydantic-core's
    encoder, which agrees with the standard library on everything but two cases, each sent to
    the standard encoder instead: a lone surrogate (pydantic-core refuses it), and floats below
    1e-4 (`1e-05`/`2.5e-07` there, `0.00001`/`2.5e-7` here; found by the two byte patterns only
    those produce, `.0000` and `e-`, at the price of a false alarm when a text holds one). Other
    Python types (dates, enums, sets) are not JSON values: pydantic-core would write them its way.
    NaN and ±Infinity are written as `NaN`/`Infinity` as the standard encoder does, and integers
    beyond 64 bits exactly.
    """
    data = _fast_json(value)
    return _ENCODE(value) if data is None else data.decode("utf-8")


def json_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON encoding of `value` (a JSON value, see `compact_json`)."""
    data = _fast_json(value)
    return utf8_length(_ENCODE(value)) if data is None else len(data)


def _fast_json(value: Any) -> bytes | None:
    """pydantic-core's compact JSON of `value`, or None where it would differ from `_ENCODE`'s."""
    try:
        data = to_json(value, inf_nan_mode="constants")
    except (ValueError, TypeError, PydanticSerializationError):  # a lone surrogate, an unknown type
        return None
    if _SMALL_FLOAT_DECIMAL.search(data) is not None or _SMALL_FLOAT_EXPONENT.search(data) is not None:
        return None
    return data


def parse_json_container(text: str) -> Any:
    """`text` parsed when it is a JSON object or array, else None (a cheap first-character test spares
    parsing prose; JSON starting with `{` or `[` never parses to None)."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8; a lone surrogate (a JSON `\\ud800` escape decodes to one) counts
    its 3 bytes rather than raising, so a size is never the reason a result fails."""
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))


class Shortened(list[str]):
    """The notes of one shortening (`$.items: 3 of 50 items omitted`, at most `_MAX_NOTES` and a count
    of the rest), and `items_omitted`: whether the page's own entries were dropped — items of the value
    when it is a list, else items or keys of a list or map directly in it (`data`, `entries` by id), the
    one beside a cursor. A nested list cut (`$.items[0].tags`) loses no page entry: the next page would
    not bring it back."""

    items_omitted: bool = False


def shorten_to_fit(
    value: Any, max_bytes: int, *, item_markers: bool = True, key_markers: bool = True
) -> tuple[Any, Shortened]:
    """`value` shortened by structure until its compact JSON fits `max_bytes`, plus notes (`Shortened`).

    The input is never mutated; unchanged subtrees are shared with it. When even the markers do
    not fit (a tiny limit, a huge number), the result is as small as the rules allow and may
    still be over: callers check `json_size` if they need a hard bound.

    `item_markers=False` leaves no marker string in shortened arrays and no marker key in shortened
    objects (the notes still count what was dropped): for values a template iterates over, where a stray
    string among objects would break `{{ item.field }}`. `key_markers=False` leaves no `"…"` entry in an
    object shortened to its first keys: for structuredContent, which must conform to the tool's
    outputSchema (a typed `additionalProperties` refuses a marker string).
    """
    shortener = _Shortener(item_markers, key_markers)
    shortener.page_entries = {id(value)} if isinstance(value, list) else \
        {id(child) for child in value.values() if isinstance(child, (list, dict))} if isinstance(value, dict) else set()
    if shortener.size(value) <= max_bytes:
        return value, Shortened()
    shortened = shortener.fit(value, max(max_bytes, 0), "$")
    return shortened, shortener.summary()


def shorten_text(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes at a line end, else a word end, with a marker.

    Never inside a word while the kept part holds a boundary (shaping trial, fault 8: a CSV's header was cut to
    `id,sta`, a corrupted column name): at the last line end when it keeps at least half of the room (a CSV's
    or a log's whole lines), else at the last space when that keeps at least half; only a text whose last half
    of the room is one token (a URL, base64, a minified value) is cut inside it — a boundary near the start
    would throw the room away (review of shapefix, problem 6: `Token: ` + 3,000 letters at 1,000 bytes kept 7).
    The marker says how many characters (and lines) were omitted, in few bytes (the limit
    is what the model receives: the marker and the note took ~100 of a 120-byte limit). A limit smaller than
    the marker itself gives the marker alone.
    """
    data = text.encode("utf-8", errors="surrogatepass")  # measured as `utf8_length` measures it
    if len(data) <= max_bytes:
        return text
    marker = _text_marker(len(text), text.count("\n") + 1)
    room = max_bytes - len(marker.encode("utf-8"))
    if room <= 0:
        return _text_marker(len(text), text.count("\n") + 1, all_of_it=True)
    kept = data[:room].decode("utf-8", errors="ignore")
    kept = kept[:grapheme_end(text, len(kept))]  # never inside a character as the reader sees it (UAX #29)
    if not text[len(kept):len(kept) + 1].isspace():  # the cut is inside a word: go back to a boundary
        newline = kept.rfind("\n")
        space = _last_space(kept)
        if newline >= len(kept) // 2:
            kept = kept[:newline]
        elif space >= len(kept) // 2:
            kept = kept[:space]
        elif (end := last_sentence_end(kept)) >= len(kept) // 2:  # a script without spaces: `。`, `！`…
            kept = kept[:end]
    kept = kept.rstrip()
    omitted_chars = len(text) - len(kept)
    omitted_lines = text.count("\n", len(kept))
    return kept + _text_marker(omitted_chars, omitted_lines)


def _text_marker(chars: int, lines: int, all_of_it: bool = False) -> str:
    if all_of_it:
        return f"… ({chars} chars omitted)"
    if lines:
        return f"\n… ({lines} more lines, {chars} chars)"
    return f" … ({chars} more chars)"


def _last_space(text: str) -> int:
    match = re.search(r"\s\S*$", text)
    return match.start() if match else -1


class _Note(NamedTuple):
    """One shortening note as recorded: the JSON path of the place, the kind of shortening (what `_grouped` groups
    on, so a rewording of `text` cannot change the grouping), and the note's text (`{place}: …`)."""

    place: str
    kind: str
    text: str


def _grouped(notes: list[_Note], path: str, count: int) -> list[_Note]:
    """The notes of shortening `count` items of the list at `path`, one per place in the items and kind of
    shortening: `$.items[3].body: text shortened from 4000 to 311 characters` for several items becomes
    `$.items[*].body: text shortened in 17 of 20 items`. A place shortened in one item only keeps its note; a
    grouped note's kind is its whole text, so an outer list groups it only with notes saying the same."""
    item = re.compile(re.escape(path) + r"\[\d+\]")
    groups: dict[tuple[str, str], list[_Note]] = {}
    for note in notes:
        groups.setdefault((item.sub(f"{path}[*]", note.place, count=1), note.kind), []).append(note)
    found: list[_Note] = []
    for (place, kind), alike in groups.items():
        if len(alike) == 1:
            found.append(alike[0])
        else:
            what = f"{kind} in {len(alike)} of {count} items"
            found.append(_Note(place, what, f"{place}: {what}"))
    return found


_INDEX = re.compile(r"\[\d+\]")


def by_place(notes: list[str]) -> list[str]:
    """`notes` (`$.rows[0][1].kind: omitted (…)`) with the ones that say the same of places differing only in
    list indices made one, `$.rows[*][*].kind: omitted (…) in 3 places`: the notes count against the limit."""
    groups: dict[tuple[str, str], list[str]] = {}
    for note in notes:
        place, _, what = note.partition(": ")
        groups.setdefault((_INDEX.sub("[*]", place), what), []).append(note)
    return [found[0] if len(found) == 1 else f"{place}: {what} in {len(found)} places"
            for (place, what), found in groups.items()]


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _is_table(obj: dict[str, Any]) -> bool:
    """Whether `obj` is a table as `mcprt init` suggests one (`authoring/table.py`): `{"columns": [names],
    "rows": [[one value per column], …]}`."""
    heads, rows = obj.get("columns"), obj.get("rows")
    return set(obj) == {"columns", "rows"} and isinstance(heads, list) and isinstance(rows, list) \
        and all(isinstance(name, str) for name in heads) \
        and all(isinstance(row, list) and len(row) == len(heads) for row in rows)


class _Shortener:
    """One shortening pass: remembers sizes (by identity, holding each node so ids stay unique)."""

    def __init__(self, item_markers: bool = True, key_markers: bool = True) -> None:
        self._item_markers = item_markers
        self._key_markers = key_markers
        self._sizes: dict[int, tuple[Any, int]] = {}
        self._notes: list[_Note] = []
        self._items_omitted = False
        self.page_entries: set[int] = set()  # ids of the lists/maps whose loss is a page's (`Shortened`)
        self._table_rows: set[int] = set()  # ids of tables' `rows` lists met (`_fit_object`)

    # -- bookkeeping ---------------------------------------------------------------------------

    def size(self, node: Any) -> int:
        if node is None or isinstance(node, bool):
            return 4 if node is not False else 5
        entry = self._sizes.get(id(node))
        if entry is not None:
            return entry[1]
        if isinstance(node, dict) and len(node) <= _SUMMED_KEYS:
            # summing children measures them for the descent that follows, in the same pass
            measured = 2 + max(len(node) - 1, 0) + sum(self._key_size(key) + self.size(child) for key, child in node.items())
        else:
            measured = utf8_length(_ENCODE(node))
        self._sizes[id(node)] = (node, measured)
        return measured

    def _key_size(self, key: Any) -> int:
        """A key's encoded size plus its colon (non-string keys are written as strings by json)."""
        if isinstance(key, str):
            return self.size(key) + 1
        return utf8_length(_ENCODE({key: 0})) - 3

    def _known(self, node: Any, size: int) -> Any:
        self._sizes[id(node)] = (node, size)
        return node

    def _note(self, place: str, kind: str, detail: str | None = None) -> None:
        """Record that `place` was shortened, by `kind` (`text shortened`, `items omitted`); `detail`: the note's
        wording after the place when it says more than the kind. Every note is kept until `summary`: a list groups
        its items' notes (`_grouped`) after fitting them; they are bounded by the items kept, so by the budget."""
        self._notes.append(_Note(place, kind, f"{place}: {detail or kind}"))

    def summary(self) -> Shortened:
        notes = [note.text for note in self._notes[:_MAX_NOTES]]
        more_notes = len(self._notes) - len(notes)
        more = [f"… and {more_notes} more places shortened"] if more_notes else []
        summary = Shortened([*notes, *more])
        summary.items_omitted = self._items_omitted
        return summary

    # -- shortening ----------------------------------------------------------------------------

    def fit(self, node: Any, budget: int, path: str) -> Any:
        if self.size(node) <= budget:
            return node
        if isinstance(node, str):
            return self._fit_string(node, budget, path)
        if isinstance(node, list):
            return self._fit_list(node, budget, path)
        if isinstance(node, dict):
            return self._fit_object(node, budget, path)
        return node  # numbers, booleans, null: nothing sensible to cut

    def _fit_string(self, text: str, budget: int, path: str) -> str:
        size = self.size(text)
        bytes_per_char = max(size - 2, 1) / max(len(text), 1)
        marker_bytes = len(f" … ({len(text)} more chars)".encode("utf-8"))
        keep = int((budget - 2 - marker_bytes) / bytes_per_char)
        for _ in range(8):
            if keep < _MIN_TEXT:
                break
            cut = text[:grapheme_end(text, keep)]  # never inside a character as the reader sees it (UAX #29)
            space = _last_space(cut)
            if space >= keep * 7 // 10:
                cut = cut[:space]
            elif (end := last_sentence_end(cut)) >= keep * 7 // 10:  # a script without spaces: `。`, `！`…
                cut = cut[:end]
            cut = cut.rstrip()
            shortened = f"{cut} … ({len(text) - len(cut)} more chars)"
            shortened_size = utf8_length(_ENCODE(shortened))
            if shortened_size <= budget:
                self._note(path, "text shortened", f"text shortened from {len(text)} to {len(cut)} characters")
                return self._known(shortened, shortened_size)
            keep = min(keep - 1, int(keep * budget / shortened_size))
        marker = f"… ({len(text)} chars omitted)"
        self._note(path, "text omitted", f"text of {len(text)} characters omitted")
        return self._known(marker, utf8_length(_ENCODE(marker)))

    def _fit_list(self, items: list[Any], budget: int, path: str) -> list[Any]:
        total = len(items)
        # a table's `rows` (`_table_rows`): a row's values are read by position against `columns`, so a row is
        # kept whole or dropped, never cut short (its long texts may be cut: `_fit_items`)
        whole_rows = id(items) in self._table_rows
        reserve = len(_ENCODE(f"… {total} more items omitted").encode("utf-8")) + 1 if self._item_markers else 0
        room = budget - 2 - reserve
        kept: list[Any] = []
        used = 0
        for item in items:
            cost = self.size(item) + (1 if kept else 0)
            if used + cost > room:
                break
            kept.append(item)
            used += cost
        if len(kept) < total:
            floors: list[int] = []
            floored = len(kept) - 1  # the separators between the items kept
            for item in items:  # the most items from the start that fit at their floors
                floor = self._floor(item)
                if floored + floor + 1 > room:
                    break
                floors.append(floor)
                floored += floor + 1
            if len(floors) > len(kept):
                kept, used = self._fit_items(items[:len(floors)], floors, room - floored, path)
            else:
                left = room - used - (1 if kept else 0)
                if not whole_rows and left >= _SMALL and (not kept or left >= max(256, budget // 4)):
                    partial = self.fit(items[len(kept)], left, _child_path(path, len(kept)))
                    partial_size = self.size(partial)
                    if partial_size <= left:
                        kept.append(partial)
                        used += partial_size + (1 if len(kept) > 1 else 0)
        dropped = total - len(kept)
        if not dropped:
            return self._known(kept, used + 2)
        marker = f"… {dropped} more items omitted"
        marker_size = utf8_length(_ENCODE(marker))
        self._items_omitted |= id(items) in self.page_entries
        self._note(path, "items omitted", f"{dropped} of {total} items omitted")
        if not self._item_markers:
            return self._known(kept, used + 2)
        kept.append(marker)
        return self._known(kept, used + marker_size + (1 if len(kept) > 1 else 0) + 2)

    def _long_texts(self, node: Any, found: list[tuple[tuple[Any, ...], str]], at: tuple[Any, ...] = ()) -> None:
        """The strings in `node` longer than `_LONG_TEXT` bytes (an issue's `body`, a comment's text), by their
        path from it (keys and indices): the part of an item a list shortens to keep it (`_fit_items`)."""
        if isinstance(node, str):
            if self.size(node) > _LONG_TEXT:
                found.append((at, node))
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (str, list, dict)) and self.size(value) > _LONG_TEXT:
                    self._long_texts(value, found, (*at, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, (str, list, dict)) and self.size(value) > _LONG_TEXT:
                    self._long_texts(value, found, (*at, index))

    def _floor(self, node: Any) -> int:
        """The least `node` takes with its long texts (`_long_texts`) cut to `_SMALL` bytes each (their first
        words and a marker) and everything else whole; its size when it has none."""
        found: list[tuple[tuple[Any, ...], str]] = []
        self._long_texts(node, found)
        return self.size(node) - sum(self.size(text) - _SMALL for _, text in found)

    def _fit_items(self, items: list[Any], floors: list[int], extra: int, path: str) -> tuple[list[Any], int]:
        """`items` (each fits at its floor, `extra` bytes to spare beyond them), each given its floor and a share
        of `extra` (water filling, smallest want first: an item that fits whole stays whole) by shortening its
        long texts only; (the items, the bytes they and their separators take). Their notes are grouped by place
        (`_grouped`)."""
        first_note = len(self._notes)
        fitted: list[Any] = list(items)
        order = sorted(range(len(items)), key=lambda index: self.size(items[index]) - floors[index])
        for rank, index in enumerate(order):
            want = self.size(items[index]) - floors[index]
            give = min(want, max(extra, 0) // (len(order) - rank))
            child = self._shorten_texts(items[index], floors[index] + give, _child_path(path, index))
            fitted[index] = child
            extra -= self.size(child) - floors[index]
        self._notes[first_note:] = _grouped(self._notes[first_note:], path, len(items))
        return fitted, sum(self.size(child) for child in fitted) + len(fitted) - 1

    def _shorten_texts(self, item: Any, budget: int, path: str) -> Any:
        """`item` within `budget` by cutting its long texts only, the room beyond the rest of it shared among
        them smallest first (the longest cut most); the item itself when it fits."""
        size = self.size(item)
        if size <= budget:
            return item
        found: list[tuple[tuple[Any, ...], str]] = []
        self._long_texts(item, found)
        room = budget - (size - sum(self.size(text) for _, text in found))
        cut: dict[tuple[Any, ...], str] = {}
        found.sort(key=lambda entry: self.size(entry[1]))
        for rank, (at, text) in enumerate(found):
            share = room // (len(found) - rank)
            place = path
            for key in at:
                place = _child_path(place, key)
            cut[at] = self.fit(text, share, place)
            room -= self.size(cut[at])
        return self._rebuilt(item, cut, ())

    def _rebuilt(self, node: Any, cut: dict[tuple[Any, ...], str], at: tuple[Any, ...]) -> Any:
        """`node` with the strings at the paths of `cut` replaced, copied only along those paths."""
        if at in cut:
            return cut[at]
        depth = len(at)
        below = {path[depth] for path in cut if len(path) > depth and path[:depth] == at}
        if not below:
            return node
        if isinstance(node, dict):
            rebuilt: Any = {key: self._rebuilt(value, cut, (*at, key)) if key in below else value
                            for key, value in node.items()}
        else:
            rebuilt = [self._rebuilt(value, cut, (*at, index)) if index in below else value
                       for index, value in enumerate(node)]
        return self._known(rebuilt, utf8_length(_ENCODE(rebuilt)))

    def _fit_object(self, obj: dict[str, Any], budget: int, path: str) -> dict[str, Any]:
        if _is_table(obj):
            self._table_rows.add(id(obj["rows"]))  # held by `obj`, so the id stays its own for the pass
        keys = list(obj)
        key_costs = {key: self._key_size(key) for key in keys}
        overhead = 2 + max(len(keys) - 1, 0) + sum(key_costs.values())
        large = [key for key in keys if isinstance(obj[key], (str, list, dict)) and self.size(obj[key]) > _SMALL]
        large_keys = set(large)
        fixed = overhead + sum(self.size(obj[key]) for key in keys if key not in large_keys)
        if fixed + _SMALL * len(large) > budget:
            return self._fit_object_prefix(obj, budget, path)
        remaining = budget - fixed
        replaced: dict[str, Any] = {}
        large.sort(key=lambda key: self.size(obj[key]))
        for index, key in enumerate(large):
            share = remaining // (len(large) - index)
            child = self.fit(obj[key], share, _child_path(path, key))
            replaced[key] = child
            remaining -= self.size(child)
        result = {key: replaced.get(key, obj[key]) for key in keys}
        size = overhead + sum(self.size(value) for value in result.values())
        return self._known(result, size)

    def _fit_object_prefix(self, obj: dict[str, Any], budget: int, path: str) -> dict[str, Any]:
        """An object too wide for its budget: its first keys, then a marker entry."""
        total = len(obj)
        marker_key = _MORE_KEYS if _MORE_KEYS not in obj else f"{_MORE_KEYS}(mcprt)"
        reserve = self.size(marker_key) + 1 + len(_ENCODE(f"{total} more keys omitted").encode("utf-8")) + 1
        if not self._key_markers:
            reserve = 0
        room = budget - 2 - reserve
        kept: dict[str, Any] = {}
        used = 0
        for key, value in obj.items():
            cost = self._key_size(key) + self.size(value) + (1 if kept else 0)
            if used + cost > room:
                break
            kept[key] = value
            used += cost
        dropped = total - len(kept)
        self._items_omitted |= dropped > 0 and id(obj) in self.page_entries  # a page keyed by id lost entries
        self._note(path, "keys omitted", f"{dropped} of {total} keys omitted")
        if not self._key_markers or not self._item_markers:
            # No marker key: a string value would break an outputSchema's `additionalProperties`
            # (e.g. {type: integer}); the note counts what was dropped.
            return self._known(kept, used + 2)
        marker = f"{dropped} more keys omitted"
        kept[marker_key] = marker
        size = used + (1 if len(kept) > 1 else 0) + self.size(marker_key) + 1 + utf8_length(_ENCODE(marker)) + 2
        return self._known(kept, size)
