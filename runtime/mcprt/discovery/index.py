"""An in-memory ranked search over tools: BM25F over name, operationId, summary, tags, path, description.

Why BM25F: a tool's fields say different things with different reliability. A word in the
summary ("Merge a pull request") or the operationId (`pulls/merge`) is strong evidence; the same
word in a long description is weak. BM25F weighs term frequency per field, normalises each field
by its length and saturates repeated words. A written summary is searched with the first sentence
of the description beside it (weakly: it often names the thing in other words). Four adjustments
on top, each for a failure seen on GitHub's description:
- coverage: a tool matching every word of the query beats one matching the rarest word only;
- precision: a tool whose summary the query explains entirely ("List teams") beats a more
  specific one ("List child teams") for "list teams in an organization";
- verbs: when the query says "get", a summary beginning "Create or update …" ranks lower, and a
  query without a verb ("fork a repository", "comment on an issue") means making one;
- questions (`text.query_form`): one without an action word reads — a wh-question lists, a
  yes/no question checks, unsafe methods rank lower; "who" asks for people and, as the subject,
  for the verb's agents (starred → stargazers); "I" is the authenticated user. Measured on the
  natural questions of tests/discovery/natural_questions.py (`bench/discovery_quality.py`);
- methods: an order's verb says which HTTP methods can do it (`text.VERB_ACTIONS`, `method_actions`):
  "close an issue" is an update, so `Create an issue` (POST to the collection) ranks lower; the
  resource the path acts on (`resource_terms`) counts when the query names it, one-word argument
  names are a field (`private` of `Update a repository`), and a few query words also search
  another name (`text.QUERY_ALTERNATIVES`: branch → ref). Measured on the agent requests of
  tests/discovery/agent_requests.py (`bench/discovery_requests.py`).
Everything is precomputed when the index is built, so a query is a few dictionary lookups and
additions: well under a millisecond for GitHub's 1,223 operations.
"""

from __future__ import annotations

import bisect
import difflib
import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..sources.sentences import first_sentence, fit, grapheme_end
from ..toolset.tool import Tool
from .text import ACTION_TERMS, AGENT_SUFFIXES, QUERY_ALTERNATIVES, query_form, split_identifier, terms

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
    "arguments": (0.8, 0.0),  # what a write can set: "make a repository private" → `private` of Update a repository
    "description": (0.3, 0.75),
    "gloss": (0.3, 0.5),  # the description's first sentence beside a written summary
}
K1 = 3.0  # saturation: high, because a word present in several fields adds up to a large weight
PRECISION_WEIGHT = 0.4  # share of the score that depends on how much of the summary the query explains
DESCRIPTION_CHARS = 300  # only the head of a description: the rest is mostly detail and noise
FUZZY_WEIGHT = 0.6  # a query word matched only by prefix or spelling counts this much
IMPLIED_CREATE_WEIGHT = 0.5  # "fork a repository" ≈ "create a fork"
ACTIONS = ACTION_TERMS  # canonical verbs (see text.py)
_KINDRED = (frozenset({"list", "get"}), frozenset({"creat", "updat"}))  # "set X" may be "Create or update X"
ACTION_MISMATCH = 0.8  # "get the contents of a file" should not open with "Create or update file contents"
# A question with no action word ("who starred a repo", "is the branch protected") asks to read: the
# operations that answer it use a safe method (RFC 9110 §9.2.1), and it means listing (wh-) or checking
# (yes/no) what it names; an unsafe operation ranks lower rather than vanishing.
IMPLIED_READ: dict[str, dict[str, float]] = {"wh": {"list": 0.5, "get": 0.25},
                                             "yes-no": {"check": 0.5, "get": 0.25},
                                             "identity": {"get": 0.5}}  # "who am I": one user, read
UNSAFE_FOR_QUESTION = 0.6
IDENTITY_PATH_SEGMENTS = frozenset({"me", "whoami"})  # `/me`, `/v1/whoami`: the caller's own record
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PEOPLE_TERMS = ("user", "member", "peopl")  # "who …": the nouns APIs use for people
PEOPLE_WEIGHT = 0.3
AGENT_WEIGHT = 0.8  # "who follows" → followers, "who contributed" → contributors
FIRST_PERSON_WEIGHT = 0.5  # "which teams am I on" → "… for the authenticated user"
VERB_WORD_WEIGHT = 0.6  # "archive a repository" is mostly about changing it, less about archives
VERB_ACTION_WEIGHT = 0.5  # "close an issue": the verb's action (updat) as an implied word
METHOD_MISMATCH = 0.6  # "close an issue" asks for PATCH/PUT: a POST that creates one ranks lower
_READS = frozenset({"get", "list", "search"})
RESOURCE_MATCH = 1.3  # the query names what the operation acts on (`resource_terms`), not a thing near it
_METHOD_TERMS = {"get": ("get",), "post": ("creat",), "put": ("updat",), "patch": ("updat",), "delete": ("delet",)}


@dataclass(frozen=True, slots=True)
class Hit:
    tool: Tool
    score: float
    summary: str


@dataclass(frozen=True, slots=True)
class _Query:
    """A query as the ranking uses it (`SearchIndex._analyse`)."""

    weights: dict[str, float]  # its terms (and near spellings, and agent nouns) → weight
    boosts: dict[str, float]  # terms its form implies: they only raise tools its words found
    alternatives: dict[str, str]  # a term searched as another name of a query term → that term
    reading: bool  # a question without an action word
    action: str | None  # what its verb asks for (`QueryForm.action`)
    identity: bool  # "who am I"


def one_line_summary(tool: Tool, limit: int = 120) -> str:
    """The operation's summary, else the first sentence of its description, on one short line."""
    text = (tool.operation.meta.summary or tool.title or tool.operation.title or "").strip()
    if not text:
        text = first_sentence(tool.description.strip()) if tool.description else ""
    return fit(" ".join(text.split()), limit)  # the one cut descriptions get (`sources/sentences.py`)


def tool_fields(tool: Tool) -> dict[str, str]:
    """The text of each searchable field of a tool."""
    meta = tool.operation.meta
    summary = one_line_summary(tool, limit=400)
    description = " ".join((tool.description or "").split())
    if summary and description.startswith(summary.rstrip("…")):
        description = description[len(summary) :].lstrip(" .")
    gloss = ""
    if meta.summary:
        # A written summary says it better than a long description, whose detail is mostly noise;
        # but the description's first sentence often names the thing in other words ("Lists the
        # people that have starred the repository" beside the summary "List stargazers").
        gloss = first_sentence(description) if description else ""
        gloss = gloss[:grapheme_end(gloss, DESCRIPTION_CHARS)]
        description = ""
    return {
        "name": tool.name,
        "operation": meta.operation_id or tool.operation.key,
        "summary": summary,
        "lead": summary,
        "tags": " ".join(meta.tags),
        "path": meta.path,
        "method": meta.method.lower(),
        "extra": " ".join(meta.words),
        "arguments": " ".join(_argument_names(tool.input_schema)),
        "description": description[:DESCRIPTION_CHARS],
        "gloss": gloss,
    }


def _argument_names(schema: Mapping[str, object] | None) -> list[str]:
    """The one-word top-level argument names of an input schema (JSON Schema `properties`): `private`,
    `address`, not `address_city` (a compound names a detail, and its words would match everywhere)."""
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return []
    return [name for name in properties if isinstance(name, str) and len(split_identifier(name)) == 1]


def _field_terms(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """The terms of each field of a tool (the summary's words are found once: three uses need them)."""
    summary = terms(fields["summary"])
    out = {}
    for field, text in fields.items():
        if field == "summary":
            out[field] = summary
        elif field == "lead":  # the summary's verb and object: "Create a release" → creat, releas
            out[field] = summary[:2]
        elif field == "method":
            out[field] = list(_METHOD_TERMS.get(text, ()))
        else:
            out[field] = terms(text, drop_placeholders=field == "path")
    return out


def method_actions(method: str, path: str) -> frozenset[str]:
    """The canonical actions (`text.ACTION_TERMS`) an operation's HTTP method can carry out.

    GET/HEAD read (RFC 9110 §9.3.1-2). PUT creates or replaces (§9.3.4); PATCH updates (RFC 5789);
    DELETE deletes (§9.3.5). POST (§9.3.3) depends on its target: on a collection
    (`/repos/{owner}/{repo}/issues`) it creates; on an item (a path ending in a parameter,
    `/v1/customers/{customer}`: Stripe's and other RPC-style APIs' update) it updates; on an item's
    sub-resource or action (`/issues/{issue_number}/labels`, `/invoices/{invoice}/void`) it may
    do either. An unknown method says nothing (every action).
    """
    method = method.upper()
    if method in ("GET", "HEAD"):
        return _READS
    if method == "PUT":
        return frozenset({"creat", "updat"})
    if method == "PATCH":
        return frozenset({"updat"})
    if method == "DELETE":
        return frozenset({"delet"})
    if method == "POST":
        segments = [segment for segment in path.split("/") if segment]
        if segments and segments[-1].startswith("{"):
            return frozenset({"updat"})
        if any(segment.startswith("{") for segment in segments):
            return frozenset({"creat", "updat"})
        return frozenset({"creat"})
    return ACTIONS


def resource_terms(path: str) -> frozenset[str]:
    """The terms of the resource an operation acts on: the head noun (last word) of its path's last
    literal segment — `/repos/{owner}/{repo}/git/refs/{ref}` → ref, `/v1/customers/{customer}` →
    customer, `/branches/{branch}/protection` → protect. "delete a branch" is about a ref, not about
    branch protection, though both paths name branches."""
    literal = [segment for segment in path.split("/") if segment and not segment.startswith("{")]
    return frozenset(terms(split_head(literal[-1]))) if literal else frozenset()


def split_head(segment: str) -> str:
    """The last word of a path segment (`deployment-branch-policies` → `policies`)."""
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", segment) if part]
    return parts[-1] if parts else segment


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
        self._unsafe: list[bool] = [tool.operation.meta.method.upper() in UNSAFE_METHODS for tool in self.tools]
        self._resources: list[frozenset[str]] = [resource_terms(tool.operation.meta.path) for tool in self.tools]
        self._methods: list[frozenset[str]] = [method_actions(tool.operation.meta.method, tool.operation.meta.path)
                                               for tool in self.tools]
        self._idf: dict[str, float] = {}
        per_doc: list[dict[str, Counter[str]]] = []
        lengths: dict[str, list[int]] = {field: [] for field in FIELDS}
        for tool in self.tools:
            found = _field_terms(tool_fields(tool))
            counted = {field: Counter(words) for field, words in found.items()}
            per_doc.append(counted)
            self._summary_terms.append(frozenset(counted["summary"]))
            lead = found["lead"]
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
        self._by_doc: dict[str, dict[int, float]] = {}

    def __len__(self) -> int:
        return len(self.tools)

    def _analyse(self, query: str) -> _Query:
        """The query's weighted terms; the terms its form implies (they only raise tools the words found:
        an implied "list" alone is no evidence, and skipping its long posting list keeps questions
        fast); whether it only asks to read (a question without an action word); and the action its
        verb asks for (`QueryForm.action`)."""
        weights: dict[str, float] = {}
        words = terms(query)
        form = query_form(query)
        if not words:
            words = self.pronoun_terms(query)
        for term in words:
            if term in self._postings:
                weights[term] = max(weights.get(term, 0.0), 1.0)
                continue
            for near in self._near(term):
                weights[near] = max(weights.get(near, 0.0), FUZZY_WEIGHT)
        if not weights:
            return _Query({}, {}, {}, False, None, False)
        if form.verb in weights:  # "close": mostly it says which method; as a word, it may name an action
            weights[form.verb] = VERB_WORD_WEIGHT  # type: ignore[index]
        alternatives: dict[str, str] = {}
        for term in list(weights):
            other = QUERY_ALTERNATIVES.get(term)
            if other is not None and other in self._postings and other not in weights:
                weights[other] = weights[term]
                alternatives[other] = term
        actionless = not ACTIONS & set(words) and form.action is None
        reading = form.question is not None and actionless
        implied: dict[str, float] = {}
        if form.action is not None:
            implied[form.action] = VERB_ACTION_WEIGHT
        if reading:
            implied.update(IMPLIED_READ["identity" if form.identity else form.question])  # type: ignore[index]
        elif actionless:
            # "fork a repository", "comment on an issue": no action word, so the noun is used as a verb
            implied["creat"] = IMPLIED_CREATE_WEIGHT
        if form.people:
            implied.update(dict.fromkeys(PEOPLE_TERMS, PEOPLE_WEIGHT))
        if form.first_person:
            implied["authenticat"] = FIRST_PERSON_WEIGHT
        if form.agents:
            for term in words:  # "who follows" asks for the followers, "who starred" for the stargazers
                for noun in self._agent_nouns(term):
                    weights.setdefault(noun, AGENT_WEIGHT)
        # implied words never go fuzzy: they are the index's own
        boosts = {term: w for term, w in implied.items() if term in self._postings and term not in weights}
        return _Query(weights, boosts, alternatives, reading, form.action, form.identity)

    @staticmethod
    def pronoun_terms(query: str) -> list[str]:
        """The terms of a query made only of stop-words that still mean something: "who am I" asks for
        the authenticated user ("I" is the authenticated user; "who" asks for a user)."""
        form = query_form(query)
        if not form.first_person:
            return []
        return ["authenticat", "user"] if form.people else ["authenticat"]

    def _about_the_caller(self, doc: int) -> bool:
        """Whether an operation can answer "who am I": a safe method (RFC 9110 §9.2.1) reading the
        authenticated user, as its words say ("Get the authenticated user") or its path (`/me`, `/whoami`).
        Any other operation is no answer, however many of the query's implied words it has (Petstore's
        "Create a pet" is not who the caller is): the search then says that nothing matches."""
        if self._unsafe[doc]:
            return False
        if "authenticat" in self._postings and doc in self._parts("authenticat"):
            return True
        path = self.tools[doc].operation.meta.path or ""
        return not IDENTITY_PATH_SEGMENTS.isdisjoint(path.lower().strip("/").split("/"))

    def _parts(self, term: str) -> dict[int, float]:
        """A term's postings by tool, for the few implied terms (built on first use)."""
        parts = self._by_doc.get(term)
        if parts is None:
            parts = self._by_doc[term] = dict(self._postings[term])
        return parts

    def _agent_nouns(self, term: str) -> list[str]:
        """Words of the index naming who does `term`: the term plus more letters ending like an agent
        noun (follow → follower, contribut → contributor, star → stargazer). Short terms are left
        alone: with two or three letters the prefix says too little."""
        if len(term) < 4 or term in ACTIONS:
            return []
        start = bisect.bisect_left(self._vocabulary, term)
        out = []
        for word in self._vocabulary[start:]:
            if not word.startswith(term):
                break
            if word != term and word.endswith(AGENT_SUFFIXES):
                out.append(word)
        return out

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
        found = self._analyse(query)
        weights, boosts = found.weights, found.boosts
        if not weights:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            primary = found.alternatives.get(term)
            among = self._parts(primary) if primary is not None else None
            for doc, part in self._postings[term]:
                scores[doc] += weight * part
                if among is None or doc not in among:  # a word found by either name is found once
                    matched[doc] += weight
        for term, weight in boosts.items():
            parts = self._parts(term)
            for doc in scores:
                part = parts.get(doc)
                if part is not None:
                    scores[doc] += weight * part
                    matched[doc] += weight
        wanted = set(sources) if sources else None
        asked = _compatible_actions(ACTIONS & (weights.keys() | boosts.keys()) | ({found.action} - {None}))
        if found.identity:
            asked = {"get"}  # "who am I" asks for one user: a list of users is no answer
        total = sum(w for t, w in weights.items() if t not in found.alternatives) + sum(boosts.values())
        every = {**boosts, **weights}
        nouns = weights.keys() - ACTIONS
        ranked = []
        for doc, score in scores.items():
            if wanted is not None and self.tools[doc].source not in wanted:
                continue
            if found.identity and not self._about_the_caller(doc):
                continue
            coverage = matched[doc] / total  # favour tools that match every word of the query
            precision = self._explained(doc, every)  # … and whose summary the query explains
            score *= (0.5 + 0.5 * coverage) * (1 - PRECISION_WEIGHT + PRECISION_WEIGHT * precision)
            action = self._actions[doc]
            if asked and action is not None and action not in asked:
                score *= ACTION_MISMATCH
            if found.reading and self._unsafe[doc]:
                score *= UNSAFE_FOR_QUESTION
            if found.action is not None and found.action not in self._methods[doc]:
                score *= METHOD_MISMATCH
            if not self._resources[doc].isdisjoint(nouns):
                score *= RESOURCE_MATCH
            ranked.append((-score, len(self.summaries[doc]), self.tools[doc].name, doc))
        best = heapq.nsmallest(limit, ranked)
        return [Hit(self.tools[doc], -neg, self.summaries[doc]) for neg, _, _, doc in best]
