"""Where descriptions and results are cut, in every script (trial_i18n faults 6 and 7).

Sentence ends were only `.!?` before a space, so Japanese text was cut mid-sentence and `取得します。` got a stray
ASCII `.`; cuts split grapheme clusters (`👨‍👩‍👧‍👦` kept as a lone `👨`). One rule (`sources/sentences.py`) for
descriptions and results: Unicode sentence terminals, no `.` after a script written without one, and never a cut
inside an extended grapheme cluster (UAX #29). Served through `mcprt up` to the SDK client, with the trial's inputs."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import regex

from mcprt.sources.sentences import _TERMINALS, as_sentence, first_sentence, fit, grapheme_end
from tests.support.served import http_client, mcprt_http

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme cluster of 7 code points
LONG_JP = "これはとても長い説明です。" * 40
# the trial's desc/api.yaml, with max_chars 100
API = f'''openapi: 3.0.3
info: {{title: t, version: "1"}}
servers: [{{url: "http://127.0.0.1:9"}}]
paths:
  /a: {{get: {{operationId: opA, summary: "取得します。", responses: {{"200": {{description: ok}}}}}}}}
  /b: {{get: {{operationId: opB, summary: "Größe?", responses: {{"200": {{description: ok}}}}}}}}
  /c: {{get: {{operationId: opC, description: "{LONG_JP}", responses: {{"200": {{description: ok}}}}}}}}
  /d: {{get: {{operationId: opD, description: "{FAMILY * 200}", responses: {{"200": {{description: ok}}}}}}}}
  /e: {{get: {{operationId: opE, summary: "שלום עולם", responses: {{"200": {{description: ok}}}}}}}}
  /f: {{get: {{operationId: opF, summary: "¿Qué tal? ¡Hola!", responses: {{"200": {{description: ok}}}}}}}}
  /g: {{get: {{operationId: opG, summary: "ユーザーを取得する", responses: {{"200": {{description: ok}}}}}}}}
  /h: {{get: {{operationId: opH, summary: "मौसम देखें।", responses: {{"200": {{description: ok}}}}}}}}
'''
TOOLS = f'''
def records() -> list[dict]:
    return [{{"id": i, "text": "説明文です。" * 100}} for i in range(3)]

def family() -> str:
    return {FAMILY!r} * 3000

def accents() -> str:
    return "e\\u0301" * 2000

def flags() -> str:
    return "🇯🇵🇩🇪" * 1000
'''


def _manifest(folder: Path) -> Path:
    (folder / "api.yaml").write_text(API, encoding="utf-8")
    (folder / "cuts.py").write_text(TOOLS, encoding="utf-8")
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\ndefaults: {descriptions: {max_chars: 100}}\nsources:\n  api: {openapi: api.yaml}\n"
                        "  py:\n    python: cuts\n    tools:\n      records: {max_result_bytes: 3000}\n"
                        "      family: {max_result_bytes: 1001}\n      accents: {max_result_bytes: 1001}\n"
                        "      flags: {max_result_bytes: 1001}\n", encoding="utf-8")
    return manifest


def _whole_clusters(kept: str, sent: str) -> bool:
    """Whether `kept` is a run of whole grapheme clusters of `sent` from its start."""
    return regex.findall(r"\X", kept) == regex.findall(r"\X", sent)[: len(regex.findall(r"\X", kept))]


async def test_descriptions_and_results_end_at_unicode_boundaries(tmp_path: Path) -> None:
    with mcprt_http(_manifest(tmp_path), "--no-reload") as up:
        async with http_client(up.url) as client:
            described = {t.name: t.description for t in (await client.list_tools()).tools}
            assert described["opA"] == "取得します。"  # no `.` after `。`
            assert described["opG"] == "ユーザーを取得する"  # nor after Japanese without one
            assert described["opB"] == "Größe?" and described["opF"] == "¿Qué tal? ¡Hola!"
            assert described["opE"] == "שלום עולם."  # a script that ends sentences with `.`
            assert described["opH"] == "मौसम देखें।"  # the danda is a sentence terminal
            assert described["opC"] == "これはとても長い説明です。" * 7  # at the last `。` within 100 characters
            assert described["opD"] == FAMILY * 14 + "…" and len(described["opD"]) <= 100

            result = await client.call_tool("records", {})
            texts = [item["text"] for item in json.loads(result.content[0].text)]  # the note is another block
            for text in texts:
                kept, _, marker = text.partition(" … (")
                assert kept.endswith("。") and set(kept.split("。")[:-1]) == {"説明文です"}, text
                assert marker.endswith("more chars)")
            for tool, sent in [("family", FAMILY * 3000), ("accents", "e\u0301" * 2000), ("flags", "🇯🇵🇩🇪" * 1000)]:
                result = await client.call_tool(tool, {})
                kept, _, marker = result.content[0].text.partition(" … (")
                assert kept and _whole_clusters(kept, sent), (tool, kept[-10:])
                assert marker == f"{len(sent) - len(kept)} more chars)"


def test_the_terminals_are_unicodes_sentence_terminals() -> None:
    """The class written out in `sentences.py` is `regex`'s \\p{Sentence_Terminal} of the Basic Multilingual Plane
    less ASCII `.!?` (treated apart): a Unicode update that adds terminals shows here."""
    ours = regex.compile(f"[{_TERMINALS}]")
    theirs = regex.compile(r"\p{Sentence_Terminal}")
    for code in range(0x10000):
        ch = chr(code)
        assert bool(ours.match(ch)) == (bool(theirs.match(ch)) and ch not in ".!?"), hex(code)


@pytest.mark.parametrize(("text", "sentence"), [
    ("取得します。", "取得します。"), ("ユーザーを取得する", "ユーザーを取得する"), ("「はい。」", "「はい。」"),
    ("Done", "Done."), ('He said "done."', 'He said "done."'), ("검색합니다", "검색합니다."),  # Korean ends with `.`
    ("นี่คือ", "นี่คือ"), ("هل هو متاح؟", "هل هو متاح؟"), ("List:", "List:"), ("全角：", "全角："),
    # review of fixi2, item 3: an ASCII word or number closing CJK text is of that text (no stray `.`)
    ("ユーザーを取得するAPI", "ユーザーを取得するAPI"), ("ユーザーID", "ユーザーID"), ("バージョン2", "バージョン2"),
    ("Get the user ID", "Get the user ID."), ("ユーザー ID", "ユーザー ID."),
])
def test_as_sentence_adds_a_stop_only_where_the_script_uses_one(text: str, sentence: str) -> None:
    assert as_sentence(text) == sentence


def test_a_cut_never_splits_a_cluster_in_any_position() -> None:
    """Every cut position of texts mixing clusters: `grapheme_end` is the last cluster boundary at or before it."""
    text = "a" + FAMILY + "e\u0301" + "🇯🇵🇩🇪" + "\r\n" + "한국어" + unicodedata.normalize("NFD", "한") + "x"
    bounds = [0]
    for cluster in regex.findall(r"\X", text):
        bounds.append(bounds[-1] + len(cluster))
    for end in range(len(text) + 1):
        assert grapheme_end(text, end) == max(b for b in bounds if b <= end), end
    assert fit("説明" * 80, 100) == "説明" * 49 + "説…"  # no space and no terminal: a character boundary


@pytest.mark.parametrize(("text", "first"), [
    # review of fixi2, item 4: the full-width and small full stops (UAX #29 ATerm) are no break before a digit (SB6)
    ("版本３．５が必要です。次に", "版本３．５が必要です。"), ("版本3﹒5です。次", "版本3﹒5です。"), ("1․2です。次", "1․2です。"),
    ("終わり．次に", "終わり．"), ("終わり。5つ目", "終わり。"),
])
def test_a_full_stop_before_a_digit_ends_no_sentence(text: str, first: str) -> None:
    assert first_sentence(text) == first


def test_a_cluster_longer_than_the_window_is_never_split() -> None:
    """Review of fixi2, item 5: a run of combining marks longer than the 64 characters looked at (Zalgo text) was
    cut inside (`grapheme_end` gave 16 for 80); the boundaries of `a` + 100 × U+0301 + `b` are 0, 101, 102."""
    text = "a" + "\u0301" * 100 + "b"
    assert [grapheme_end(text, end) for end in (1, 16, 80, 100, 101, 102)] == [0, 0, 0, 0, 101, 102]
    assert grapheme_end("xy " + text, 83) == 3
    assert fit("xy " + text + " more words here", 90) == "xy…"
