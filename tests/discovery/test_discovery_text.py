"""Words for search: identifiers split, light stemming, synonyms folded identically on both sides."""

from __future__ import annotations

import pytest

from mcprt.discovery.text import QueryForm, query_form, split_identifier, stem, terms


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("issues/list-for-repo", ["issues", "list", "for", "repo"]),
        ("list_for_repo", ["list", "for", "repo"]),
        ("getAuthenticatedUser", ["get", "authenticated", "user"]),
        ("HTTPServerError", ["http", "server", "error"]),
        ("list PRs", ["list", "prs"]),
        ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", ["repos", "owner", "repo", "pulls", "pull", "number",
                                                            "merge"]),
    ],
)
def test_identifiers_split_into_words(text: str, words: list[str]) -> None:
    assert split_identifier(text) == words


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("starred", "star"),
        ("branches", "branch"),
        ("repositories", "repository"),
        ("caches", "cache"),
        ("created", "create"),
        ("running", "run"),
        ("deployments", "deploy"),
        ("statuses", "status"),
        ("merged", "merge"),
    ],
)
def test_inflections_meet(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_short_words_and_comment_are_left_alone() -> None:
    assert stem("pr") == "pr"
    assert stem("comment") != stem("com")
    assert stem("string") == "string"  # not "str"


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("merge a PR", "Merge a pull request"),
        ("remove a repository", "Delete a repo"),
        ("add a label", "Create a label"),
        ("get all issues", "List issues"),
        ("new webhook", "Create a hook"),
        ("unstar a repository", "Delete star repo"),
    ],
)
def test_synonyms_fold_the_same_way_for_queries_and_documents(query: str, document: str) -> None:
    assert terms(query) == terms(document)


def test_stopwords_go_and_path_placeholders_can_be_dropped() -> None:
    assert terms("list the issues of a repository") == ["list", "issu", "repo"]
    assert terms("/repos/{owner}/{repo}/issues", drop_placeholders=True) == ["repo", "issu"]
    assert terms("the of a to") == []


@pytest.mark.parametrize(
    ("query", "question", "people", "agents", "first_person"),
    [
        ("who starred a repo", "wh", True, True, False),
        ("who does a user follow", "wh", True, False, False),  # do-support: "who" is the object
        ("which teams am I on", "wh", False, False, True),
        ("is the main branch protected", "yes-no", False, False, False),
        ("star a repo", None, False, False, False),
        ("list issues I opened", None, False, False, True),
    ],
)
def test_the_form_of_a_query(query: str, question: str | None, people: bool, agents: bool,
                             first_person: bool) -> None:
    form = query_form(query)
    assert (form.question, form.people, form.agents, form.first_person) == (question, people, agents, first_person)


@pytest.mark.parametrize(
    ("query", "action", "verb"),
    [
        ("close an issue", "updat", "clos"),  # closing changes a thing: PATCH/PUT, not a create
        ("reopen a closed issue", "updat", "reopen"),
        ("make a repository private", "updat", "make"),
        ("make a new label", "creat", None),  # "new" makes "make" create
        ("remove a label from an issue", "delet", None),
        ("please delete a branch", "delet", None),  # stop-words before the verb are skipped
        ("open a new issue", "creat", "open"),
        ("unstar a repo", "delet", None),
        ("show my profile", "get", None),
        ("list issues I opened", "list", None),
        ("who starred a repo", None, None),  # a question has no imperative verb
        ("repository topics", None, None),  # nor has a noun phrase
    ],
)
def test_an_imperative_verb_says_its_action(query: str, action: str | None, verb: str | None) -> None:
    form = query_form(query)
    assert (form.action, form.verb) == (action, verb)


def test_who_am_i_is_an_identity_question_of_the_asker() -> None:
    assert query_form("who am I").identity and query_form("who am I logged in as").identity
    assert not query_form("who is in a team").identity
    assert terms("who am I") == []  # only stop-words: the index reads them as the authenticated user
    assert query_form("who am I") == QueryForm("wh", True, True, True, None, True, None)


def test_auxiliaries_are_stopwords_and_a_folder_is_a_directory() -> None:
    assert terms("what tags does a repo have") == ["tag", "repo"]
    assert terms("files in a folder") == terms("files in a directory")
