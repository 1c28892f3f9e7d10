"""Description compaction: what a model reads should be short, plain and end at a sentence.

API descriptions are written for humans browsing docs: markdown links, HTML, long notes about
tokens and rate limits. A tool list pays for every byte on every request, so descriptions are
cleaned (links keep their text, HTML and images go) and cut to the first paragraph, ending at a
sentence within the configured limit. GitHub's admonitions (`> [!NOTE]`) are skipped as asides, and a
paragraph that introduces a list with a colon keeps the list's items, compacted (`_lead`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from mcprt.manifest.model import DescriptionPolicy

from ..sentences import as_sentence, first_sentence, fit

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.S)
_BREAK_TAG = re.compile(r"<(?:br|/p|p|/div|/li|li)\b[^>]*>", re.I)
# Markup that unescaping revealed (`&lt;p&gt;`, AWS's `&lt;note&gt;` inside `<pre><code>`): only what is surely
# markup goes — an HTML element or AWS documentation tag, a closing or self-closing tag, a tag with an
# attribute — so an escaped placeholder such as `&lt;id&gt;` stays the text `<id>` it stands for.
_MARKUP_NAMES = ("a|abbr|b|big|blockquote|br|center|cite|code|dd|del|div|dl|dt|em|font|h[1-6]|hr|i|img|ins|kbd|"
                 "li|ol|p|pre|q|s|samp|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|var|"
                 "note|important|para|fullname|ph|xref|ulink|emphasis|literal|programlisting|title")
_REVEALED_TAG = re.compile(rf"</?(?:{_MARKUP_NAMES})(?:\s[^<>]*)?/?>|</[A-Za-z][\w:-]*\s*>|<[A-Za-z][\w:-]*\s*/>|"
                           r"<[A-Za-z][\w:-]*\s[^<>]*=[^<>]*>", re.I)
# A character reference left after one unescape: the text was escaped twice (`&amp;amp;`, `&amp;lt;p&amp;gt;`).
_REFERENCE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_PARAGRAPH = re.compile(r"\n\s*\n")
_NON_WORD = re.compile(r"\W+")
# ASCII characters `\W` matches, deleted by `str.translate` (a C loop, ~2× faster than the regex on
# an ASCII description; `_words` keeps the regex for other text, where `\W` is Unicode's).
_ASCII_NON_WORD = dict.fromkeys(i for i in range(128) if not (chr(i).isalnum() or chr(i) == "_"))
_BLANKS = " \t\r\f\v"
_BLANK_RUN = re.compile(r"[ \t\r\f\v]{2,}")

# Limits for argument (parameter/property) descriptions, by style: they repeat per argument, so
# they are kept tighter than tool descriptions.
_ARG_LIMIT = {"brief": 160, "summary": 100}


def clean(text: str) -> str:
    """Markdown/HTML noise out, links reduced to their text, whitespace collapsed per paragraph."""
    return "\n\n".join(_paragraphs(text))


def _paragraphs(text: str) -> Iterator[str]:
    """The non-empty paragraphs of `clean(text)`, in order, each cleaned only when reached."""
    if "<" in text:
        text = _BREAK_TAG.sub("\n", text)
        text = _TAG.sub("", text)
    if "](" in text or "][" in text:
        text = _IMAGE.sub("", text)
        text = _LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
    if "**" in text or "__" in text:
        text = _BOLD.sub(r"\2", text)
    if "&" in text:
        text = _unescape(text)
    for paragraph in _PARAGRAPH.split(text.strip()):
        paragraph = _collapse_space(paragraph).strip()
        if paragraph:
            yield paragraph


def _unescape(text: str) -> str:
    """Character references resolved — twice when the text was escaped twice — and the markup that
    resolving revealed removed as `_paragraphs` removes markup (line-breaking tags become line breaks)."""
    text = html.unescape(text)
    if "&" in text and _REFERENCE.search(text):
        text = html.unescape(text)
    if "<" in text:
        text = _REVEALED_TAG.sub(lambda m: "\n" if _BREAK_TAG.fullmatch(m.group()) else "", text)
    return text


def _collapse_space(paragraph: str) -> str:
    """Each line break with the blanks around it, and each run of 2+ blanks, become one space.

    What `re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*|[ \t\r\f\v]{2,}", " ", paragraph)` gives (a test checks
    the two agree) in a fifth of the time: that pattern is tried at every position of every description. A paragraph holds no two line
    breaks with only whitespace between them (`_PARAGRAPH` split there), so line by line is the same."""
    if "\n" in paragraph:
        lines = paragraph.split("\n")
        last = len(lines) - 1
        paragraph = " ".join(
            (line if index == 0 else line.lstrip(_BLANKS)).rstrip(_BLANKS) if index < last
            else (line if index == 0 else line.lstrip(_BLANKS))
            for index, line in enumerate(lines)
        )
    if "  " in paragraph or "\t" in paragraph or "\r" in paragraph or "\f" in paragraph or "\v" in paragraph:
        paragraph = _BLANK_RUN.sub(" ", paragraph)
    return paragraph


def first_paragraph(text: str) -> str:
    """The first paragraph that is prose (markdown headings and rules are skipped)."""
    return _first_prose(text.split("\n\n"))


def _first_prose(paragraphs: Iterable[str]) -> str:
    return _lead(paragraphs)[0]


# GitHub's admonitions (`> [!NOTE]`, `[!TIP]`, `[!IMPORTANT]`, `[!WARNING]`, `[!CAUTION]`) are asides: GitHub's
# descriptions put one before the paragraph that says what the operation does ("> [!NOTE] > You can also…").
_ADMONITION = re.compile(r">\s*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)
_QUOTE_MARK = re.compile(r"(?:^|\s)>\s+")
# A list's items once `_paragraphs` joined its lines: `- ` (or `* `, `+ `) at the start or after an item's end
# (`.`, `;`), so a ` - ` inside an item (`` `PR_BODY` - default to … ``) is not an item start.
_LIST_ITEM = re.compile(r"(?:^|(?<=[.;!?])\s)[-*+]\s+(?=\S)")


def _lead(paragraphs: Iterable[str]) -> tuple[str, str]:
    """(the first prose paragraph, the list right after it, compacted, when the paragraph introduces it
    with a `:`; else ""). Headings and rules are skipped, and so are admonitions — the first one is the
    paragraph only when nothing else is prose. Cut at the colon, "The default value for a squash merge
    commit message:" said nothing of what `PR_BODY`, `COMMIT_MESSAGES` and `BLANK` mean."""
    aside = ""
    iterator = iter(paragraphs)
    for paragraph in iterator:
        stripped = paragraph.lstrip()
        # a heading, or a rule / blank made only of `-=*_ ` (`strip` stops at any other character,
        # without building a set of every character of the paragraph)
        if stripped.startswith("#") or not stripped.strip("-=*_ "):
            continue
        if stripped.startswith(">") and _ADMONITION.match(stripped):
            aside = aside or _QUOTE_MARK.sub(" ", _ADMONITION.sub("", stripped, count=1)).strip()
            continue
        if paragraph.rstrip().endswith(":"):
            return paragraph, _compact_list(next(iterator, ""))
        return paragraph, ""
    return aside, ""


def _compact_list(paragraph: str) -> str:
    """A markdown list paragraph as one line, `a; b; c.` (code marks and item periods dropped); "" when
    `paragraph` is not a list."""
    text = paragraph.strip()
    if text[:1] not in ("-", "*", "+") or not _LIST_ITEM.match(text):
        return ""
    items = [item.strip().rstrip(".;").replace("`", "") for item in _LIST_ITEM.split(text)]
    return "; ".join(item for item in items if item) + "."


def tool_description(summary: str | None, description: str | None, policy: DescriptionPolicy) -> str:
    """The tool description: summary first, then (style `brief`) the first paragraph of the rest."""
    summ = clean(summary) if isinstance(summary, str) else ""
    if policy.style == "full":
        desc = clean(description) if isinstance(description, str) else ""
        parts = [as_sentence(summ)] if summ else []
        if desc and not _same_text(desc, summ):
            parts.append(desc)
        return "\n\n".join(parts)
    # `first_paragraph(clean(description))`, cleaning only the paragraphs up to the first prose one
    paragraph, listed = _lead(_paragraphs(description)) if isinstance(description, str) else ("", "")
    if listed:
        paragraph = f"{paragraph.rstrip()} {listed}"
    if policy.style == "summary":
        text = summ or first_sentence(paragraph)
        return fit(as_sentence(text), policy.max_chars)
    if summ and paragraph and not _same_text(paragraph, summ):
        text = f"{as_sentence(summ)} {paragraph}"
    else:
        text = summ or paragraph
    return fit(as_sentence(text) if text else "", policy.max_chars)


def arg_description(description: object, policy: DescriptionPolicy) -> str | None:
    """A parameter or property description: its first sentence (style `full`: cleaned only).

    Argument descriptions repeat in every tool that has the argument, so they carry the one
    sentence that says what the value is; the notes after it belong to the documentation.
    """
    if not isinstance(description, str) or not description.strip():
        return None
    return _arg_description(description, policy.style, policy.max_chars)


@lru_cache(maxsize=8192)
def _arg_description(description: str, style: str, max_chars: int) -> str | None:
    if style == "full":
        return clean(description) or None
    paragraph, listed = _lead(_paragraphs(description))
    text = first_sentence(paragraph)
    if listed and text == paragraph:  # the one sentence introduces a list: its items are the meanings (enum values)
        return fit(f"{text.rstrip()} {listed}", max_chars) or None
    return fit(text, min(max_chars, _ARG_LIMIT[style])) or None


def _same_text(a: str, b: str) -> bool:
    """Whether `a` says no more than `b`: its letters and digits are `b`'s plus at most two."""
    norm_b = _words(b).lower()
    if not norm_b:
        return False
    room = len(norm_b) + 2
    # A long `a` (a paragraph against a summary) is mostly decided by a prefix: when the prefix
    # alone has more than `room` word characters, the whole has too (lower() maps each character
    # to a fixed number of characters, wherever it stands).
    if len(a) > 4 * room and len(_words(a[: 4 * room]).lower()) > room:
        return False
    norm_a = _words(a).lower()
    return norm_a.startswith(norm_b) and len(norm_a) <= room


def _words(text: str) -> str:
    """`text` without the characters `\\W` matches (`re.sub(r"\\W+", "", text)`)."""
    return text.translate(_ASCII_NON_WORD) if text.isascii() else _NON_WORD.sub("", text)
