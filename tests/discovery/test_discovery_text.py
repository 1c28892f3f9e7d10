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
    assert query_form(query) == QueryForm(question, people, agents, first_person)


def test_auxiliaries_are_stopwords_and_a_folder_is_a_directory() -> None:
    assert terms("what tags does a repo have") == ["tag", "repo"]
    assert terms("files in a folder") == terms("files in a directory")
