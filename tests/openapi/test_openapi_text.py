"""Description compaction."""

from __future__ import annotations

from mcprt.manifest.model import DescriptionPolicy
from mcprt.sources.openapi.text import arg_description, clean, fit, tool_description

BRIEF = DescriptionPolicy()


def test_clean_removes_markdown_and_html_noise() -> None:
    text = 'See "[Rate limits](https://docs.example.com/x#y)" and ![img](a.png) **now**<br/>&amp; <b>more</b>.'
    assert clean(text) == 'See "Rate limits" and now & more.'
    assert clean("a\n\n\n b  c\nd") == "a\n\nb c d"


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
