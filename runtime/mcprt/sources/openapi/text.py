"""Description compaction: what a model reads should be short, plain and end at a sentence.

API descriptions are written for humans browsing docs: markdown links, HTML, long notes about
tokens and rate limits. A tool list pays for every byte on every request, so descriptions are
cleaned (links keep their text, HTML and images go) and cut to the first paragraph, ending at a
sentence within the configured limit.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from mcprt.manifest.model import DescriptionPolicy

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.S)
_BREAK_TAG = re.compile(r"<(?:br|/p|p|/div|/li|li)\b[^>]*>", re.I)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v]*|[ \t\r\f\v]{2,}")
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bEx)(?<!\bex)[.!?](?=\s|$)")

# Limits for argument (parameter/property) descriptions, by style: they repeat per argument, so
# they are kept tighter than tool descriptions.
_ARG_LIMIT = {"brief": 160, "summary": 100}


def clean(text: str) -> str:
    """Markdown/HTML noise out, links reduced to their text, whitespace collapsed per paragraph."""
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
        text = html.unescape(text)
    paragraphs = [_SPACE.sub(" ", p).strip() for p in _PARAGRAPH.split(text.strip())]
    return "\n\n".join(p for p in paragraphs if p)


def first_paragraph(text: str) -> str:
    """The first paragraph that is prose (markdown headings and rules are skipped)."""
    for paragraph in text.split("\n\n"):
        stripped = paragraph.lstrip()
        if stripped.startswith("#") or set(stripped) <= set("-=*_ "):
            continue
        return paragraph
    return ""


def fit(text: str, limit: int) -> str:
    """`text` if it fits, else cut at the last sentence end within `limit` (or a word, with …)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= min(10, limit // 3):
        return head[: ends[-1]]
    cut = head[: limit - 1].rsplit(" ", 1)[0] if " " in head else head[: limit - 1]
    return cut.rstrip(",;:-— ") + "…"


def first_sentence(text: str) -> str:
    match = _SENTENCE_END.search(text)
    return text[: match.end()] if match else text


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…:" else text + "."


def tool_description(summary: str | None, description: str | None, policy: DescriptionPolicy) -> str:
    """The tool description: summary first, then (style `brief`) the first paragraph of the rest."""
    summ = clean(summary) if isinstance(summary, str) else ""
    desc = clean(description) if isinstance(description, str) else ""
    if policy.style == "full":
        parts = [_as_sentence(summ)] if summ else []
        if desc and not _same_text(desc, summ):
            parts.append(desc)
        return "\n\n".join(parts)
    if policy.style == "summary":
        text = summ or first_sentence(first_paragraph(desc))
        return fit(_as_sentence(text), policy.max_chars)
    paragraph = first_paragraph(desc)
    if summ and paragraph and not _same_text(paragraph, summ):
        text = f"{_as_sentence(summ)} {paragraph}"
    else:
        text = summ or paragraph
    return fit(_as_sentence(text) if text else "", policy.max_chars)


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
    text = clean(description)
    if style == "full":
        return text or None
    text = first_sentence(first_paragraph(text))
    return fit(text, min(max_chars, _ARG_LIMIT[style])) or None


def _same_text(a: str, b: str) -> bool:
    norm_a = re.sub(r"\W+", "", a).lower()
    norm_b = re.sub(r"\W+", "", b).lower()
    return bool(norm_b) and norm_a.startswith(norm_b) and len(norm_a) <= len(norm_b) + 2
