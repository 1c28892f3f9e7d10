"""An in-memory ranked search over tools: BM25F over name, operationId, summary, tags, path, description.

Why BM25F: a tool's fields say different things with different reliability. A word in the
summary ("Merge a pull request") or the operationId (`pulls/merge`) is strong evidence; the same
word in a long description is weak. BM25F weighs term frequency per field, normalises each field
by its length and saturates repeated words. Three adjustments on top, each for a failure seen on
GitHub's description:
- coverage: a tool matching every word of the query beats one matching the rarest word only;
- precision: a tool whose summary the query explains entirely ("List teams") beats a more
  specific one ("List child teams") for "list teams in an organization";
- verbs: when the query says "get", a summary beginning "Create or update …" ranks lower, and a
  query without a verb ("fork a repository", "comment on an issue") means making one.
Everything is precomputed when the index is built, so a query is a few dictionary lookups and
additions: well under a millisecond for GitHub's 1,223 operations.
"""

from __future__ import annotations

import difflib
import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..toolset.tool import Tool
from .text import terms

# Field → (weight, length normalisation b). Tuned on the GitHub query table in tests/discovery.
FIELDS: dict[str, tuple[float, float]] = {
    "name": (2.0, 0.75),
    "operation": (2.0, 0.75),
    "summary": (3.0, 0.75),
    "lead": (2.0, 0.0),
    "tags": (1.5, 0.0),
    "path": (1.0, 0.4),
    "method": (0.4, 0.0),
    "extra": (0.5, 0.3),
    "description": (0.3, 0.75),
}
K1 = 3.0  # saturation: high, because a word present in several fields adds up to a large weight
PRECISION_WEIGHT = 0.4  # share of the score that depends on how much of the summary the query explains
DESCRIPTION_CHARS = 300  # only the head of a description: the rest is mostly detail and noise
FUZZY_WEIGHT = 0.6  # a query word matched only by prefix or spelling counts this much
IMPLIED_CREATE_WEIGHT = 0.5  # "fork a repository" ≈ "create a fork"
ACTIONS = frozenset({"list", "get", "creat", "updat", "delet", "search"})  # canonical verbs (see text.py)
_KINDRED = (frozenset({"list", "get"}), frozenset({"creat", "updat"}))  # "set X" may be "Create or update X"
ACTION_MISMATCH = 0.8  # "get the contents of a file" should not open with "Create or update file contents"
_METHOD_TERMS = {"get": ("get",), "post": ("creat",), "put": ("updat",), "patch": ("updat",), "delete": ("delet",)}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class Hit:
    tool: Tool
    score: float
    summary: str


def one_line_summary(tool: Tool, limit: int = 120) -> str:
    """The operation's summary, else the first sentence of its description, on one short line."""
    text = (tool.operation.meta.summary or tool.title or tool.operation.title or "").strip()
    if not text:
        text = _SENTENCE_END.split(tool.description.strip(), maxsplit=1)[0] if tool.description else ""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text


def tool_fields(tool: Tool) -> dict[str, str]:
    """The text of each searchable field of a tool."""
    meta = tool.operation.meta
    summary = one_line_summary(tool, limit=400)
    description = ""
    if not meta.summary:  # a written summary says it better; a long description mostly adds noise
        description = " ".join((tool.description or "").split())
        if summary and description.startswith(summary.rstrip("…")):
            description = description[len(summary) :]
    return {
        "name": tool.name,
        "operation": meta.operation_id or tool.operation.key,
        "summary": summary,
        "lead": summary,
        "tags": " ".join(meta.tags),
        "path": meta.path,
        "method": meta.method.lower(),
        "extra": " ".join(meta.words),
        "description": description[:DESCRIPTION_CHARS],
    }


def _field_terms(field: str, text: str) -> list[str]:
    if field == "method":
        return list(_METHOD_TERMS.get(text, ()))
    if field == "lead":  # the summary's verb and object: "Create a release" → creat, releas
        return terms(text)[:2]
    return terms(text, drop_placeholders=field == "path")


def _compatible_actions(actions: set[str]) -> set[str]:
    """Kindred verbs stand in for each other ("get the issues" may well mean "List issues")."""
    out = set(actions)
    for group in _KINDRED:
        if actions & group:
            out |= group
    return out


class SearchIndex:
    """Ranked search over a fixed list of tools; build once per ToolSet, query many times."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.tools: list[Tool] = list(tools)
        self.summaries: list[str] = [one_line_summary(tool) for tool in self.tools]
        self._summary_terms: list[frozenset[str]] = []
        self._summary_idf: list[float] = []
        self._actions: list[str | None] = []  # the canonical verb a summary begins with, if any
        self._idf: dict[str, float] = {}
        per_doc: list[dict[str, Counter[str]]] = []
        lengths: dict[str, list[int]] = {field: [] for field in FIELDS}
        for tool in self.tools:
            fields = tool_fields(tool)
            counted = {field: Counter(_field_terms(field, text)) for field, text in fields.items()}
            per_doc.append(counted)
            self._summary_terms.append(frozenset(counted["summary"]))
            lead = _field_terms("lead", fields["summary"])
            self._actions.append(lead[0] if lead and lead[0] in ACTIONS else None)
            for field in FIELDS:
                lengths[field].append(sum(counted[field].values()))
        average = {field: (sum(v) / len(v) if v and sum(v) else 1.0) for field, v in lengths.items()}
        weighted: dict[str, dict[int, float]] = defaultdict(dict)
        for doc, counted in enumerate(per_doc):
            totals: dict[str, float] = defaultdict(float)
            for field, (weight, b) in FIELDS.items():
                norm = 1 - b + b * lengths[field][doc] / average[field]
                for term, tf in counted[field].items():
                    totals[term] += weight * tf / norm
            for term, tfw in totals.items():
                weighted[term][doc] = tfw * (K1 + 1) / (K1 + tfw)
        n = len(self.tools)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for term, docs in weighted.items():
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            self._idf[term] = idf
            self._postings[term] = [(doc, idf * part) for doc, part in docs.items()]
        self._summary_idf = [sum(self._idf[t] for t in summary) for summary in self._summary_terms]
        self._vocabulary = sorted(self._postings)
        self._fuzzy: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.tools)

    def query_terms(self, query: str) -> dict[str, float]:
        """Each distinct query term with its weight; unknown words fall back to prefix or spelling matches."""
        weights: dict[str, float] = {}
        words = terms(query)
        for term in words:
            if term in self._postings:
                weights[term] = max(weights.get(term, 0.0), 1.0)
                continue
            for near in self._near(term):
                weights[near] = max(weights.get(near, 0.0), FUZZY_WEIGHT)
        if weights and not ACTIONS & set(words) and "creat" in self._postings:
            # "fork a repository", "comment on an issue": no action word, so the noun is used as a verb
            weights.setdefault("creat", IMPLIED_CREATE_WEIGHT)
        return weights

    def _near(self, term: str) -> tuple[str, ...]:
        if term not in self._fuzzy:
            found: list[str] = []
            if len(term) >= 4:
                found = [v for v in self._vocabulary if v.startswith(term)][:3]
            if not found and len(term) >= 4:
                found = difflib.get_close_matches(term, self._vocabulary, n=2, cutoff=0.8)
            self._fuzzy[term] = tuple(found)
        return self._fuzzy[term]

    def _explained(self, doc: int, weights: Mapping[str, float]) -> float:
        """Share of the summary's information (idf) that the query's words account for."""
        total = self._summary_idf[doc]
        if not total:
            return 0.0
        return sum(self._idf[term] for term in self._summary_terms[doc] if term in weights) / total

    def search(self, query: str, *, limit: int = 10, sources: Sequence[str] | None = None) -> list[Hit]:
        """The best `limit` tools for `query`, best first (optionally only from some sources)."""
        weights = self.query_terms(query)
        if not weights:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            for doc, part in self._postings[term]:
                scores[doc] += weight * part
                matched[doc] += weight
        wanted = set(sources) if sources else None
        asked = _compatible_actions(ACTIONS & weights.keys())
        total = sum(weights.values())
        ranked = []
        for doc, score in scores.items():
            if wanted is not None and self.tools[doc].source not in wanted:
                continue
            coverage = matched[doc] / total  # favour tools that match every word of the query
            precision = self._explained(doc, weights)  # … and whose summary the query explains
            score *= (0.5 + 0.5 * coverage) * (1 - PRECISION_WEIGHT + PRECISION_WEIGHT * precision)
            action = self._actions[doc]
            if asked and action is not None and action not in asked:
                score *= ACTION_MISMATCH
            ranked.append((-score, len(self.summaries[doc]), self.tools[doc].name, doc))
        best = heapq.nsmallest(limit, ranked)
        return [Hit(self.tools[doc], -neg, self.summaries[doc]) for neg, _, _, doc in best]
