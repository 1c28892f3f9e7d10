"""Search over GitHub's 1,223 real operations, compiled by the real OpenAPI source.

Each typical task must find its operation in the top 3; the held-out paraphrases are held to a
rate. The listing a model reads first must stay small.
"""

from __future__ import annotations

import json

import pytest

from mcprt.discovery import SearchIndex
from mcprt.pipeline import Compiled
from tests.discovery.discovery_support import toolset_of
from tests.discovery.github_queries import PARAPHRASES, TASKS
from tests.support.github_spec import github_operations, load_github_spec

# Every module compiling GitHub's description (`github_discovery`, `github_cache`: session fixtures of
# tests/discovery/conftest.py) runs on one worker, so the session compiles it once per run, not once per worker.
pytestmark = pytest.mark.xdist_group("github_discovery")


def rank_of(index: SearchIndex, query: str, operation_id: str, limit: int = 10) -> int | None:
    keys = [hit.tool.operation.key for hit in index.search(query, limit=limit)]
    return keys.index(operation_id) + 1 if operation_id in keys else None


@pytest.fixture(scope="module")
def index(github_discovery: Compiled) -> SearchIndex:
    return SearchIndex([tool for tool in github_discovery.toolset if tool.expose == "discovery"])


def test_the_table_has_real_operations(github_discovery: Compiled) -> None:
    keys = {tool.operation.key for tool in github_discovery.toolset}
    assert len(keys) == 1223
    missing = [op for _, op in TASKS + PARAPHRASES if op not in keys]
    assert not missing
    assert len(TASKS) >= 20


@pytest.mark.parametrize(("query", "operation_id"), TASKS, ids=[q for q, _ in TASKS])
def test_a_typical_task_finds_its_operation_in_the_top_3(index: SearchIndex, query: str, operation_id: str) -> None:
    rank = rank_of(index, query, operation_id)
    top = [hit.tool.operation.key for hit in index.search(query, limit=3)]
    assert rank is not None and rank <= 3, f"{query!r}: {operation_id} ranked {rank}; top 3: {top}"


def test_most_tasks_are_first(index: SearchIndex) -> None:
    firsts = sum(rank_of(index, query, op) == 1 for query, op in TASKS)
    assert firsts / len(TASKS) >= 0.85


def test_held_out_paraphrases_mostly_find_their_operation(index: SearchIndex) -> None:
    ranks = {query: rank_of(index, query, op) for query, op in PARAPHRASES}
    top3 = sum(1 for r in ranks.values() if r is not None and r <= 3)
    top1 = sum(1 for r in ranks.values() if r == 1)
    assert top3 / len(PARAPHRASES) >= 0.90, ranks
    assert top1 / len(PARAPHRASES) >= 0.80, ranks


def test_the_index_ranks_the_same_on_operations_built_straight_from_the_document() -> None:
    """The ranking depends on the document, not on how the compiler phrases descriptions."""
    toolset = toolset_of({"github": github_operations(load_github_spec())})
    index = SearchIndex([tool for tool in toolset if tool.expose == "discovery"])
    assert all((rank_of(index, q, op) or 99) <= 3 for q, op in TASKS)


def test_discovery_lists_under_20_kb(github_discovery: Compiled) -> None:
    toolset = github_discovery.toolset
    listing = toolset.list_result_json()
    assert len(listing.encode()) <= 20_000
    names = [tool["name"] for tool in json.loads(listing)["tools"]]
    assert names == ["search_tools", "describe_tools", "call_tool"]
    assert len(toolset) == 1223  # every operation is still callable


def test_the_search_description_tells_the_model_when_and_how(github_discovery: Compiled) -> None:
    description = github_discovery.toolset.get("search_tools").description
    assert "1,223 github operations" in description
    assert "repos" in description and "issues" in description and "pulls" in description  # areas
    assert description.index("search_tools") < description.index("describe_tools") < description.index("call_tool")


def test_words_fold_onto_the_same_operation(index: SearchIndex) -> None:
    """Synonyms and spellings of one task reach the same operation."""
    same = ["delete a repository", "remove a repository", "delete repo", "destroy a repo"]
    assert {index.search(q, limit=1)[0].tool.operation.key for q in same} == {"repos/delete"}
    prs = ["list pull requests", "list PRs", "get all pull requests", "list pulls"]
    assert {index.search(q, limit=1)[0].tool.operation.key for q in prs} == {"pulls/list"}


def test_a_misspelled_word_still_finds_something_close(index: SearchIndex) -> None:
    top = [hit.tool.operation.key for hit in index.search("list colaborators", limit=3)]
    assert "repos/list-collaborators" in top


def test_source_filter_and_limit(index: SearchIndex) -> None:
    assert len(index.search("list", limit=4)) == 4
    assert index.search("merge a pull request", sources=["elsewhere"]) == []
    assert index.search("the of a") == []  # only stopwords
