"""Description compaction."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from openapi_support import compile_spec

from mcprt.manifest.model import DescriptionPolicy
from mcprt.sources.openapi.text import _collapse_space, _same_text, arg_description, clean, tool_description
from mcprt.sources.sentences import _CLOSERS, _TERMINALS, SENTENCE_END as _SENTENCE_END, fit

BRIEF = DescriptionPolicy()


def test_clean_removes_markdown_and_html_noise() -> None:
    text = 'See "[Rate limits](https://docs.example.com/x#y)" and ![img](a.png) **now**<br/>&amp; <b>more</b>.'
    assert clean(text) == 'See "Rate limits" and now & more.'
    assert clean("a\n\n\n b  c\nd") == "a\n\nb c d"


def test_markup_revealed_by_unescaping_goes_and_placeholders_stay() -> None:
    """Found by the APIs.guru sweep (docs/corpus.md): AWS descriptions escape HTML inside a code block
    (`<pre><code> &lt;note&gt; &lt;p&gt; …`) or escape text twice (`&amp;amp;`); the model read `<note> <p>`
    and `&amp;`. An escaped placeholder is text, not markup: `&lt;id&gt;` stays `<id>`."""
    assert clean("<pre><code> &lt;note&gt; &lt;p&gt; Expires &lt;code&gt;GetProfile&lt;/code&gt;. &lt;/p&gt; "
                 "&lt;/note&gt;</code></pre>") == "Expires GetProfile."
    assert clean("<code>q=matchall&amp;amp;size=0</code>") == "q=matchall&size=0"
    assert clean("x &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; y") == "x bold y"
    assert clean("Use &lt;id&gt; or &amp;lt;name&amp;gt;, a &lt; b, AT&amp;T, &INS; scans.") == (
        "Use <id> or <name>, a < b, AT&T, &INS; scans.")
    assert clean('See the &lt;a href="https://x.example"&gt;guide&lt;/a&gt;.') == "See the guide."


def test_escaped_markup_in_a_description_reaches_no_tool() -> None:
    """The same kind in a whole description (tests/fixtures/specs/kinds/escaped-markup.json), every style."""
    for style in ("brief", "full"):
        tools = {op.operation.name: op.operation for op in compile_spec("kinds/escaped-markup.json",
                                                                       descriptions={"style": style}).operations}
        get, delete = tools["GetProfile"], tools["DeleteDomain"]
        assert get.input_schema["properties"]["name"]["description"] == "The profiling group, as in /profiles/<name>."
        assert get.input_schema["properties"]["query"]["description"] == (
            "A search, such as q=matchall&q.parser=structured&size=0.")
        assert delete.title == "Deletes a domain & its cases"
        assert delete.input_schema["properties"]["domainId"]["description"] == "The domain, written <domain-id> in the guide."
        if style == "full":
            assert get.description == ("Gets the aggregated profile of a profiling group.\n\nBecause aggregated profiles "
                                       "expire over time GetProfile is not idempotent.")
            assert delete.description == ("Deletes a domain & its cases.\n\nDeletes a domain.\n\nAfter deleting your "
                                          "domain you must disassociate it.")
        else:
            assert get.description == "Gets the aggregated profile of a profiling group."
            assert delete.description == "Deletes a domain & its cases. Deletes a domain."


def test_fit_ends_at_a_sentence_or_a_word() -> None:
    assert fit("Short.", 50) == "Short."
    assert fit("First sentence here. Second sentence is long.", 30) == "First sentence here."
    assert fit("one two three four five six seven", 15) == "one two three…"
    assert len(fit("x" * 100, 20)) == 20


def test_abbreviations_do_not_end_sentences() -> None:
    assert arg_description("Use a name, e.g. octocat. Then more.", BRIEF) == "Use a name, e.g. octocat."


def test_tool_description_styles() -> None:
    summary, description = "List pets", "Returns pets.\n\nNeeds the `pets:read` scope."
    assert tool_description(summary, description, BRIEF) == "List pets. Returns pets."
    assert tool_description(summary, description, DescriptionPolicy(style="summary")) == "List pets."
    assert tool_description(summary, description, DescriptionPolicy(style="full")) == (
        "List pets.\n\nReturns pets.\n\nNeeds the `pets:read` scope."
    )
    assert tool_description(None, "# Heading\n\nBody text.", BRIEF) == "Body text."
    assert tool_description("Get it", "Get it.", BRIEF) == "Get it."  # no repetition
    assert tool_description(None, None, BRIEF) == ""


# --- the faster forms give exactly what the plain patterns gave ------------------------------------

_PLAIN_SPACE = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v]*|[ \t\r\f\v]{2,}")
# the rule written plainly, the exceptions looked behind before the mark (closing quotes after a terminal, and the
# terminals other than ASCII `.!?`, which end a sentence anywhere: `sources/sentences.py`)
_PLAIN_SENTENCE_END = re.compile(rf"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bEx)(?<!\bex)[.!?][{_CLOSERS}]*(?=\s|$)"
                                 rf"|[{_TERMINALS}]+[{_CLOSERS}]*")
_TEXT = st.text(alphabet=st.sampled_from(list(" \t\r\f\v\n\u00a0\u2028.!?#-*_<>[]()&ageixtcvsEg1Σİ。！」\"")), max_size=80)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_paragraph_cleaning_equals_the_plain_patterns(text: str) -> None:
    """`clean` and the lazy paragraphs behind the brief styles, against the whole-text form:
    paragraphs split at blank lines, each with `_PLAIN_SPACE` collapsed (markup-free text: the
    markup rules are unchanged and tested above)."""
    plain = re.sub(r"[<>\[\]()&*_]", "x", text)
    paragraphs = [_PLAIN_SPACE.sub(" ", p).strip() for p in re.split(r"\n\s*\n", plain.strip())]
    assert clean(plain) == "\n\n".join(p for p in paragraphs if p)
    for paragraph in re.split(r"\n\s*\n", text):
        if "\n" not in paragraph.strip():
            continue
        assert _collapse_space(paragraph) == _PLAIN_SPACE.sub(" ", paragraph)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_sentence_ends_equal_the_plain_pattern(text: str) -> None:
    assert [m.span() for m in _SENTENCE_END.finditer(text)] == [m.span() for m in _PLAIN_SENTENCE_END.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" .,-_aAbB1Σİ\u00e9")), max_size=60),
       st.text(alphabet=st.sampled_from(list(" .,-_aAbB1Σİ\u00e9")), max_size=12))
def test_same_text_shortcut_equals_the_full_comparison(a: str, b: str) -> None:
    norm_a, norm_b = re.sub(r"\W+", "", a).lower(), re.sub(r"\W+", "", b).lower()
    assert _same_text(a, b) == (bool(norm_b) and norm_a.startswith(norm_b) and len(norm_a) <= len(norm_b) + 2)


def test_brief_description_reads_only_up_to_the_first_prose_paragraph() -> None:
    description = "# Heading\n\n---\n\nThe   first\n  prose paragraph.\n\nLater *notes* <b>here</b>."
    assert tool_description(None, description, BRIEF) == "The first prose paragraph."
    assert tool_description(None, description, DescriptionPolicy(style="summary")) == "The first prose paragraph."
    assert arg_description(description, BRIEF) == "The first prose paragraph."


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF), max_size=60))
def test_words_drops_what_the_non_word_pattern_drops(text: str) -> None:
    """`_words` (str.translate on ASCII text) is `re.sub(r"\\W+", "", text)`, ASCII or not."""
    from mcprt.sources.openapi.text import _NON_WORD, _words

    assert _words(text) == _NON_WORD.sub("", text)
    assert "".join(_words(chr(i)) for i in range(128)) == _NON_WORD.sub("", "".join(map(chr, range(128))))


@given(st.text(alphabet="-=*_ #ab\n", max_size=12))
def test_a_rule_or_heading_is_no_prose(text: str) -> None:
    """`_first_prose` skips a paragraph made only of `-=*_ ` (as `set(p) <= set("-=*_ ")` said), or a heading."""
    from mcprt.sources.openapi.text import _first_prose

    stripped = text.lstrip()
    skipped = stripped.startswith("#") or set(stripped) <= set("-=*_ ")
    assert _first_prose([text, "prose"]) == ("prose" if skipped else text)


SQUASH = ("The default value for a squash merge commit message:\n\n- `PR_BODY` - default to the pull request's body.\n"
          "- `COMMIT_MESSAGES` - default to the branch's commit messages.\n- `BLANK` - default to a blank commit message.")


def test_a_sentence_introducing_a_list_keeps_the_items() -> None:
    """Found by a new-user trial (GitHub's `squash_merge_commit_message`): cut at the colon, the argument's
    description said nothing of what its enum values mean."""
    expected = ("The default value for a squash merge commit message: PR_BODY - default to the pull request's body; "
                "COMMIT_MESSAGES - default to the branch's commit messages; BLANK - default to a blank commit message.")
    for style in ("brief", "summary"):
        assert arg_description(SQUASH, DescriptionPolicy(style=style)) == expected
        assert tool_description(None, SQUASH, DescriptionPolicy(style="brief")) == expected
    # a paragraph that does not introduce a list, or a colon before prose, is cut as before
    assert arg_description("Sort order: newest first.\n\nMore.", DescriptionPolicy()) == "Sort order: newest first."
    assert arg_description("One of:\n\nnot a list.", DescriptionPolicy()) == "One of:"


def test_an_admonition_is_an_aside_not_the_description() -> None:
    """Found by a new-user trial: GitHub's `> [!NOTE] > You can also…` replaced the paragraph that says what
    the operation does."""
    text = ("> [!NOTE]\n> GitHub's REST API considers every pull request an issue.\n\n"
            "List issues in a repository. Only open issues will be listed.")
    assert tool_description("List repository issues", text, DescriptionPolicy(style="brief")) == (
        "List repository issues. List issues in a repository. Only open issues will be listed.")
    assert arg_description(text, DescriptionPolicy()) == "List issues in a repository."
    # an admonition alone is still said, without its marks
    assert tool_description(None, "> [!WARNING]\n> Deprecated: use v2.", DescriptionPolicy()) == "Deprecated: use v2."
