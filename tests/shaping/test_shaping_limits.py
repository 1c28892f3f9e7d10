"""Structural shortening: whole items, word-boundary strings, visible markers, never mid-value cuts."""

from __future__ import annotations

import copy
import json
import re

import pytest

from mcprt.shaping import json_size, shorten_text, shorten_to_fit

ITEMS_MARKER = re.compile(r"^… (\d+) more items omitted$")
CHARS_MARKER = re.compile(r" … \((\d+) more chars\)$")


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_json_size_is_compact_utf8():
    value = {"a": [1, "é", None, True]}
    assert json_size(value) == len(_compact(value).encode("utf-8"))


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2, 3], "short", 42, None, True, [], {}])
def test_small_values_are_returned_as_they_are(value):
    shortened, notes = shorten_to_fit(value, 1000)
    assert shortened is value
    assert notes == []


@pytest.mark.parametrize("value", [10**200, 3.14159, True, None])
def test_scalars_cannot_shrink_and_are_kept(value):
    shortened, _ = shorten_to_fit(value, 1)
    assert shortened == value


def test_array_keeps_whole_items_from_the_start(issues):
    shortened, notes = shorten_to_fit(issues, 20_000)
    assert json_size(shortened) <= 20_000
    *kept, marker = shortened
    match = ITEMS_MARKER.match(marker)
    assert match, marker
    assert len(kept) + int(match.group(1)) == 30
    assert kept == issues[: len(kept)]  # whole items, unchanged, in order
    assert notes == [f"$: {match.group(1)} of 30 items omitted"]


def test_input_is_never_mutated(issues):
    before = copy.deepcopy(issues)
    shorten_to_fit(issues, 3_000)
    shorten_to_fit({"data": issues}, 5_000)
    assert issues == before


@pytest.mark.parametrize("limit", [300, 1_000, 4_000, 10_000, 50_000, 120_000])
def test_github_issues_fit_every_limit(issues, limit):
    shortened, notes = shorten_to_fit({"total_count": 30, "items": issues}, limit)
    assert json_size(shortened) <= limit
    assert shortened["total_count"] == 30
    assert notes


def test_nested_arrays_drop_items_at_each_level():
    value = {"groups": [[f"item {g}-{i}" for i in range(200)] for g in range(3)]}
    shortened, notes = shorten_to_fit(value, 1_500)
    assert json_size(shortened) <= 1_500
    groups = shortened["groups"]
    inner = [group for group in groups if isinstance(group, list)]
    assert inner, groups
    for group in inner:
        *items, marker = group
        assert ITEMS_MARKER.match(marker)
        assert items == [f"item {groups.index(group)}-{i}" for i in range(len(items))]
    assert any("$.groups[0]" in note for note in notes)


def test_long_string_is_cut_at_a_word_with_a_count():
    words = " ".join(f"word{i}" for i in range(2_000))
    shortened, notes = shorten_to_fit(words, 500)
    assert json_size(shortened) <= 500
    match = CHARS_MARKER.search(shortened)
    assert match
    kept = shortened[: match.start()]
    assert words.startswith(kept) and words[len(kept)] == " "  # ended on a word boundary
    assert len(kept) + int(match.group(1)) == len(words)
    assert notes == [f"$: text shortened from {len(words)} to {len(kept)} characters"]


def test_the_longest_fields_are_shortened_most():
    value = {"id": 7, "title": "A short title", "summary": "s " * 300, "body": "b " * 5_000}
    shortened, notes = shorten_to_fit(value, 2_000)
    assert json_size(shortened) <= 2_000
    assert shortened["id"] == 7 and shortened["title"] == "A short title"
    assert shortened["summary"] == value["summary"]  # fits in its share, untouched
    assert CHARS_MARKER.search(shortened["body"])
    assert [note.split(":")[0] for note in notes] == ["$.body"]


def test_strings_with_escapes_and_multibyte_characters_fit():
    value = {"text": ('é"\\\n' * 3_000) + " end"}
    shortened, _ = shorten_to_fit(value, 700)
    assert json_size(shortened) <= 700
    assert CHARS_MARKER.search(shortened["text"])


def test_an_item_too_big_alone_is_kept_shortened_and_the_next_one_kept_too():
    value = [{"id": 1, "content": "x " * 10_000}, {"id": 2, "content": "y"}]
    shortened, notes = shorten_to_fit(value, 1_000)
    assert json_size(shortened) <= 1_000
    assert shortened[0]["id"] == 1
    assert CHARS_MARKER.search(shortened[0]["content"])
    assert shortened[1] == {"id": 2, "content": "y"}  # it fits beside the first once that is shortened
    assert notes == ["$[0].content: text shortened from 20000 to " + notes[0].rsplit(" to ", 1)[1]]


def _issues_with_bodies(count: int) -> list[dict[str, object]]:
    """Issues as a tracker lists them: short fields, a user, labels, and a long markdown body each."""
    paragraph = ("The export job fails when a project has more than 10,000 rows; the worker logs a timeout after "
                 "30 s and the UI shows a spinner forever. Steps: open Reports, choose Export, pick CSV. ")
    return [{"id": 5000 + i, "number": 100 + i, "title": f"Export times out for large project #{i}",
             "state": "open" if i % 3 else "closed", "user": {"login": f"dev{i}", "id": 900 + i},
             "labels": [{"name": "bug"}, {"name": "export"}], "comments": i % 5,
             "html_url": f"https://tracker.example.com/acme/reports/issues/{100 + i}",
             "body": paragraph * (8 + i % 7)} for i in range(count)]


@pytest.mark.parametrize("limit", [4_000, 8_000, 20_000])
def test_a_list_over_the_limit_keeps_its_items_shortened_rather_than_dropping_them(limit):
    """Shapeleft, fault 2: 30 issues with 1.5-2.5 KB bodies under an 8 KB limit kept 3 whole issues and dropped
    27, though every issue fits with its body shortened. Now the most items that fit with their long texts cut
    are kept, each short field whole, and one note per place says what was cut."""
    issues = _issues_with_bodies(30)
    shortened, notes = shorten_to_fit({"total_count": 30, "items": issues}, limit)
    assert json_size(shortened) <= limit
    items = shortened["items"]
    whole_fit = 0
    used = 0
    for issue in issues:  # the old rule: whole items from the start
        used += json_size(issue) + 1
        if used > limit:
            break
        whole_fit += 1
    kept = [item for item in items if isinstance(item, dict)]
    assert len(kept) > 2 * max(whole_fit, 1)
    for item, issue in zip(kept, issues):
        assert {k: v for k, v in item.items() if k != "body"} == {k: v for k, v in issue.items() if k != "body"}
        body = item["body"]
        if body != issue["body"]:
            match = CHARS_MARKER.search(body)
            assert match and issue["body"].startswith(body[:match.start()])
    dropped = 30 - len(kept)
    assert notes[0] == f"$.items[*].body: text shortened in {len(kept)} of {len(kept)} items"
    assert notes[1:] == ([f"$.items: {dropped} of 30 items omitted"] if dropped else [])
    if dropped:  # none fits more: the next issue alone, at its floor, would pass the limit
        assert ITEMS_MARKER.match(items[-1])


def test_items_without_long_texts_are_kept_whole_or_dropped():
    """Only long texts are cut to keep an item: an item's URLs and titles are never shortened for it."""
    rows = [{"id": i, "url": f"https://tracker.example.com/acme/reports/issues/{i}", "title": "t" * 200}
            for i in range(100)]
    shortened, notes = shorten_to_fit(rows, 3_000)
    *kept, marker = shortened
    assert kept == rows[:len(kept)] and ITEMS_MARKER.match(marker)
    assert notes == [f"$: {100 - len(kept)} of 100 items omitted"]


def test_an_object_with_too_many_keys_keeps_the_first():
    value = {f"key{i:04d}": i for i in range(2_000)}
    shortened, notes = shorten_to_fit(value, 500)
    assert json_size(shortened) <= 500
    *kept, marker_key = shortened
    assert kept == [f"key{i:04d}" for i in range(len(kept))]
    assert shortened[marker_key] == f"{2_000 - len(kept)} more keys omitted"
    assert notes == [f"$: {2_000 - len(kept)} of 2000 keys omitted"]


def test_notes_are_capped():
    value = {f"field{i}": "word " * 400 for i in range(40)}
    shortened, notes = shorten_to_fit(value, 8_000)
    assert json_size(shortened) <= 8_000
    assert len(notes) == 13
    assert notes[-1] == "… and 28 more places shortened"


def test_a_ten_megabyte_value_fits_and_keeps_its_head(issues):
    big = {"total_count": 3_000, "items": issues * 100}
    assert json_size(big) > 10_000_000
    shortened, notes = shorten_to_fit(big, 100_000)
    assert json_size(shortened) <= 100_000
    assert shortened["items"][0] == issues[0]
    assert ITEMS_MARKER.match(shortened["items"][-1])


# --- text --------------------------------------------------------------------------------------


def test_short_text_is_unchanged():
    assert shorten_text("hello", 5) == "hello"


def test_text_is_cut_at_a_line_boundary():
    text = "".join(f"line {i}: some words here\n" for i in range(100))
    shortened = shorten_text(text, 300)
    assert len(shortened.encode()) <= 300
    kept, marker = shortened.rsplit("\n", 1)
    assert text.startswith(kept + "\n")
    assert re.fullmatch(r"… \((\d+) more lines, (\d+) chars\)", marker)
    omitted = int(re.search(r", (\d+) chars", marker).group(1))
    assert len(kept) + omitted == len(text)


def test_a_single_long_line_is_cut_at_a_word():
    text = " ".join(["alpha"] * 500)
    shortened = shorten_text(text, 200)
    assert len(shortened.encode()) <= 200
    kept, marker = shortened.split(" … (")
    assert kept.endswith("alpha") and text.startswith(kept)
    assert marker == f"{len(text) - len(kept)} more chars)"


@pytest.mark.parametrize("limit", range(40, 140, 7))
def test_text_is_never_cut_inside_a_token_while_a_boundary_is_kept(limit: int) -> None:
    """Shaping trial, fault 8: a 270-byte CSV at a 120-byte limit came back as `id,sta` and a marker; the kept
    text now ends at a line (whole rows) or a word, for every limit, and the marker stays short."""
    csv = "id,status\n" + "\n".join(f"{i},{['open', 'paid', 'shipped'][i % 3]}" for i in range(1, 31))
    shortened = shorten_text(csv, limit)
    assert len(shortened.encode()) <= limit
    kept = shortened.rsplit("\n… (", 1)[0] if "\n… (" in shortened else ""
    assert kept == "" or csv.startswith(kept + "\n"), shortened  # whole lines only
    if limit >= 60:
        assert kept.startswith("id,status\n"), shortened
    marker = shortened[len(kept):]
    assert len(marker.encode()) <= 32, marker  # was 48 bytes


@pytest.mark.parametrize(("text", "limit"), [("Token: " + "A" * 3000, 1000), ("a https://x.io/" + "p" * 2000, 500)])
def test_a_long_token_after_an_early_space_is_cut_inside_not_thrown_away(text: str, limit: int) -> None:
    """Review of shapefix, problem 6: any earlier space was taken as the cut, so `Token: ` + 3,000 letters at
    1,000 bytes kept 7 characters of them (`a` + a URL at 500: 1). A boundary is used only if it keeps half."""
    shortened = shorten_text(text, limit)
    assert len(shortened.encode()) <= limit
    kept = shortened.split(" … (")[0]
    assert text.startswith(kept) and len(kept) >= limit * 0.9, shortened


def test_multibyte_text_is_never_split_inside_a_character():
    text = "日本語のテキスト" * 500
    shortened = shorten_text(text, 301)
    assert len(shortened.encode("utf-8")) <= 301
    assert shortened.split(" … (")[0] in text


def test_a_tiny_limit_leaves_only_the_marker():
    assert shorten_text("x" * 1000, 10) == "… (1000 chars omitted)"


@pytest.mark.parametrize(
    "value",
    [{}, {"a": {}}, {1: "x", None: [1]}, {"k": {"n": {"m": ["é", 1.5, None, False]}}}, {f"k{i}": {} for i in range(100)}],
)
def test_sizes_summed_from_parts_match_the_encoder(value):
    limit = json_size(value) - 1
    shortened, _ = shorten_to_fit(value, json_size(value))
    assert shortened is value  # exactly at the limit: measured right, nothing cut
    if limit > 2:
        assert shorten_to_fit(value, limit)[0] is not value


@pytest.mark.parametrize("item_markers", [True, False])
def test_a_tables_rows_are_kept_whole_or_dropped_never_cut_short(item_markers: bool) -> None:
    """A table (`{columns, rows}`, the form `init` suggests for a result's list of records) over the limit: each
    row kept has a value for every column (its long texts may be cut), the rest are dropped whole — never a row
    cut mid-way with the marker (or nothing) where `state`, `user`, `labels` were (the review's 700-byte case)."""
    columns = ["number", "title", "state", "user", "labels"]
    table = {"columns": columns,
             "rows": [[n, f"title number {n} " + "x" * 220, "open", "octocat", ["bug", "ui"]] for n in range(1, 13)]}
    fitted, notes = shorten_to_fit(table, 900, item_markers=item_markers)  # titles under 256 B: no text cut
    assert json_size(fitted) <= 900 and fitted["columns"] == columns
    rows = [row for row in fitted["rows"] if isinstance(row, list)]
    assert rows and all(len(row) == len(columns) for row in rows), fitted
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    assert all(row[2:] == ["open", "octocat", ["bug", "ui"]] for row in rows), fitted
    assert len(rows) < 12 and any("items omitted" in note for note in notes)
    markers = [row for row in fitted["rows"] if not isinstance(row, list)]
    assert markers == ([f"… {12 - len(rows)} more items omitted"] if item_markers else [])
