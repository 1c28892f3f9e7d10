"""Words for tool search: split identifiers, stem lightly, and fold synonyms onto one term.

Documents (tool names, summaries, tags, paths) and queries go through the same `terms()`, so a
synonym or stemming choice can never match one side and miss the other. The rules are small on
purpose: API vocabularies are narrow, and a model's query is a short imperative ("merge a pull
request", "list my repos"), so folding the few ways people name the same action or object
(`remove`/`delete`, `PR`/`pull request`, `repo`/`repository`) matters more than linguistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})")  # HTTPServer → HTTP Server; PRs stays
_WORD = re.compile(r"[a-z0-9]+")
_VOWEL = re.compile(r"[aeiouy]")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")

STOPWORDS = frozenset(
    """a an the to for of in on at by with from into onto and or is are be been this that these those it its as
    via using use please i want need how do does can could would should some any all every which what who whose
    there their them they you your we our us per about detail details info information specific
    given particular certain single have has had am was were did done s""".split()
)  # "s": what is left of a possessive ("a customer's address" splits into customer, s)

# A query opening with one of these is a question: it asks to read, not to make something (see
# `question_kind`). "Who" asks for people, so it also means the API's words for them.
_WH_WORDS = frozenset({"who", "whom", "whose", "what", "which", "where", "when", "how"})
_YES_NO_WORDS = frozenset({"is", "are", "was", "were", "has", "have", "had", "does", "do", "did", "can", "could"})
PERSON_WORDS = frozenset({"who", "whom", "whose"})
AGENT_SUFFIXES = ("er", "or", "ee")  # follower, contributor, assignee, stargazer (see index.agent_nouns)

# Multi-word phrases (after stemming) folded into one term; checked before single words.
_PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("pull", "request"): ("pull",),
    ("merg", "request"): ("pull",),
    ("get", "all"): ("list",),
    ("open", "a"): ("creat",),
    ("open", "an"): ("creat",),
    ("show", "all"): ("list",),
    ("current", "user"): ("authenticat", "user"),
    ("log", "in"): ("authenticat",),
    ("sign", "in"): ("authenticat",),
}

_PHRASE_STARTS = frozenset(first for first, _ in _PHRASES)  # most words start none: skip the pair look-up

# Single (stemmed) words and what they fold into (one or several terms).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    # objects
    "pr": ("pull",),
    "prs": ("pull",),
    "repository": ("repo",),
    "repositori": ("repo",),
    "organization": ("org",),
    "organisation": ("org",),
    "webhook": ("hook",),
    "protection": ("protect",),
    "invit": ("invitation",),
    "assign": ("assigne",),
    "snippet": ("gist",),
    "folder": ("directory",),
    "referenc": ("ref",),
    "favorit": ("star",),
    "favourit": ("star",),
    "ci": ("workflow",),
    "my": ("authenticat",),
    "me": ("authenticat",),
    "mine": ("authenticat",),
    "myself": ("authenticat",),
    # actions
    "remov": ("delet",),
    "destroy": ("delet",),
    "eras": ("delet",),
    "add": ("creat",),
    "new": ("creat",),
    "make": (),  # a light verb: "make a new label" creates (via "new"), "make a repo private" changes (VERB_ACTIONS)
    "fetch": ("get",),
    "retriev": ("get",),
    "read": ("get",),
    "show": ("get",),
    "view": ("get",),
    "look": ("get",),
    "find": ("search",),
    "query": ("search",),
    "edit": ("updat",),
    "set": ("updat",),
    "modify": ("updat",),
    "modifi": ("updat",),
    "chang": ("updat",),
    "renam": ("updat",),
    "enumerat": ("list",),
    "trigger": ("dispatch",),
    "unstar": ("delet", "star"),
    "unfollow": ("delet", "follow"),
    "unblock": ("delet", "block"),
    "unassign": ("delet", "assigne"),
    "rerun": ("re", "run"),
}

# A query word's other name, searched beside it (query side only): either one found counts as the word
# found. A branch is a git reference (GitHub's "Delete a reference" deletes a branch), a profile is the
# user it describes. Unlike `_SYNONYMS`, the word keeps its own term: "list branches" still means branches.
QUERY_ALTERNATIVES: dict[str, str] = {"branch": "ref", "profil": "user"}

# The action an imperative's verb asks for when the verb is no action word itself: closing, reopening,
# archiving or renaming a thing changes it (an update: PATCH/PUT, RFC 9110 §9.3.4 and RFC 5789), and
# "make X private" does too. The verb stays a search word ("close a dispute" may be its own operation);
# this only says which HTTP methods carry it out (see `QueryForm.action` and index.METHOD_ACTIONS).
VERB_ACTIONS: dict[str, str] = {
    "clos": "updat", "reopen": "updat", "archiv": "updat", "unarchiv": "updat", "make": "updat",
    "renam": "updat", "replac": "updat", "patch": "updat", "drop": "delet", "open": "creat",
}
ACTION_TERMS = frozenset({"list", "get", "creat", "updat", "delet", "search"})  # canonical verbs (see _SYNONYMS)

_DOUBLE_KEEP = frozenset("lsz")


def split_identifier(text: str) -> list[str]:
    """Lower-case words of any text or identifier: snake_case, kebab-case, camelCase, /paths/{x}."""
    return _WORD.findall(_CAMEL.sub(" ", text).lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper (plurals, -ing, -ed, final -e): enough to meet 'starred' with 'star'."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ment") and len(word) >= 9:  # deployment → deploy (not comment)
        return word[:-4]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and _VOWEL.search(word[: -len(suffix)]):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _DOUBLE_KEEP and not _VOWEL.match(word[-1]):
                word = word[:-1]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str, *, drop_placeholders: bool = False) -> list[str]:
    """The search terms of a text, in order: split, stemmed, phrases and synonyms folded, stopwords out."""
    if drop_placeholders:
        text = _PLACEHOLDER.sub(" ", text)
    words = split_identifier(text)
    stems = [stem(word) for word in words]
    out: list[str] = []
    i, last = 0, len(stems) - 1
    while i <= last:
        word = stems[i]
        if word in _PHRASE_STARTS and i < last and (word, stems[i + 1]) in _PHRASES:
            out.extend(_PHRASES[word, stems[i + 1]])
            i += 2
            continue
        if words[i] not in STOPWORDS:
            out.extend(_SYNONYMS.get(word, (word,)))
        i += 1
    return out



@dataclass(frozen=True, slots=True)
class QueryForm:
    """What the grammar of a query says beyond its words.

    question: `"wh"` ("who starred a repo"), `"yes-no"` ("is a branch protected"), or None for an
    imperative ("star a repo") or a bare noun phrase. Only the first word decides: English fronts
    the wh-word or the auxiliary, and a model's search query is one short sentence.
    people: the query asks who, so the answer is people (members, users …).
    agents: the people asked for do what the query's verb says ("who follows me" → followers,
    "who starred a repo" → stargazers): "who" is the subject. After do-support ("who does a user
    follow") "who" is the object, and the answer is the people the subject acts on, not its agents.
    first_person: the asker says "I" ("which teams am I on"), as "my"/"me" do elsewhere.
    action: the canonical action (`ACTION_TERMS`) an imperative's verb asks for — its first word
    that is no stop-word: "close an issue" → updat (`VERB_ACTIONS`), "remove a label" → delet,
    "make a new label" → creat ("new" makes "make" create). None for questions and verbless queries.
    identity: "who am I": the asker asks who they are, one thing to read (the authenticated user),
    not a list of people. "am" goes with "I" only, so it marks the question.
    """

    question: str | None
    people: bool
    agents: bool
    first_person: bool
    action: str | None = None
    identity: bool = False
    verb: str | None = None  # the stemmed verb `action` came from when it is in VERB_ACTIONS ("clos")


def query_form(text: str) -> QueryForm:
    words = split_identifier(text)
    question = None
    if words and words[0] in _WH_WORDS:
        question = "wh"
    elif words and words[0] in _YES_NO_WORDS:
        question = "yes-no"
    present = set(words)
    people = bool(PERSON_WORDS & present)
    agents = False
    if people:
        at = next(i for i, word in enumerate(words) if word in PERSON_WORDS)
        agents = words[at + 1 : at + 2] not in (["do"], ["does"], ["did"])
    action, verb = _verb_action(words) if question is None else (None, None)
    return QueryForm(question, people, agents, "i" in present, action, words[:2] == ["who", "am"], verb)


def _verb_action(words: list[str]) -> tuple[str | None, str | None]:
    """The action the first word that is no stop-word asks for, and that word when VERB_ACTIONS gave it."""
    first = next((word for word in words if word not in STOPWORDS), None)
    if first is None:
        return None, None
    stemmed = stem(first)
    if stemmed == "make" and "new" in words:
        return "creat", None
    if stemmed in VERB_ACTIONS:
        return VERB_ACTIONS[stemmed], stemmed
    folded = _SYNONYMS.get(stemmed, (stemmed,))
    return (folded[0] if folded and folded[0] in ACTION_TERMS else None), None  # "unstar" → delet, star
