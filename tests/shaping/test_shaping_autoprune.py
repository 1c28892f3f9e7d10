"""Auto-prune: nulls, empties and key globs at any depth, never mutating the input."""

from __future__ import annotations

import copy

import pytest

from mcprt.manifest.model import AutoPrune
from mcprt.shaping import AutoPruner, compile_autoprune, json_size


def _all_keys(value):
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _all_keys(child)
    elif isinstance(value, list):
        for item in value:
            yield from _all_keys(item)


def _all_values(value):
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from _all_values(child)
    elif isinstance(value, list):
        for item in value:
            yield from _all_values(item)


def test_settings_that_do_nothing_give_no_pruner():
    assert compile_autoprune(AutoPrune()) is None
    assert compile_autoprune(None) is None
    assert isinstance(compile_autoprune(AutoPrune(drop_nulls=True)), AutoPruner)


def test_drop_nulls_at_any_depth_keeps_list_positions():
    pruner = compile_autoprune(AutoPrune(drop_nulls=True))
    data = {"a": None, "b": {"c": None, "d": 1, "e": {"f": None}}, "items": [None, {"g": None, "h": 2}]}
    assert pruner.apply(data) == {"b": {"d": 1, "e": {}}, "items": [None, {"h": 2}]}


def test_drop_empty_works_bottom_up():
    pruner = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True))
    data = {"a": {"b": {"c": None}}, "d": [], "e": "", "f": {}, "g": 0, "h": False, "i": [[], {}, ""], "j": "x"}
    # a.b.c dropped → b empty → dropped → a empty → dropped; 0 and False are values, not empties;
    # list items stay in place even when empty
    assert pruner.apply(data) == {"g": 0, "h": False, "i": [[], {}, ""], "j": "x"}


def test_drop_empty_alone_keeps_nulls():
    pruner = compile_autoprune(AutoPrune(drop_empty=True))
    assert pruner.apply({"a": None, "b": "", "c": [None]}) == {"a": None, "c": [None]}


@pytest.mark.parametrize(
    ("globs", "data", "expected"),
    [
        (["*_url"], {"url": 1, "html_url": 2, "user": {"avatar_url": 3, "login": "x"}}, {"url": 1, "user": {"login": "x"}}),
        (["node_id", "gravatar_id"], {"node_id": "a", "id": 1, "x": [{"gravatar_id": ""}]}, {"id": 1, "x": [{}]}),
        (["?d"], {"id": 1, "idx": 2, "xd": 3}, {"idx": 2}),
        (["[+-]1"], {"+1": 4, "-1": 0, "heart": 1}, {"heart": 1}),
        (["*_URL"], {"html_url": 1}, {"html_url": 1}),  # case-sensitive
    ],
)
def test_drop_keys_by_glob(globs, data, expected):
    assert compile_autoprune(AutoPrune(drop_keys=globs)).apply(data) == expected


def test_github_issues_lose_urls_nulls_and_empties(issues):
    before = copy.deepcopy(issues)
    pruner = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True, drop_keys=["*_url", "url", "node_id"]))
    pruned = pruner.apply(issues)
    assert issues == before  # input untouched
    keys = set(_all_keys(pruned))
    assert not {k for k in keys if k.endswith("_url") or k in ("url", "node_id")}
    assert None not in list(_all_values(pruned))
    assert "gravatar_id" not in keys  # always "" in the fixture: an empty string
    assert pruned[0]["user"] == {
        "login": "octocat", "id": 583231, "type": "User", "user_view_type": "public", "site_admin": False,
    }
    assert "body" not in pruned[-1]  # the last issue has no body (null)
    assert json_size(pruned) < json_size(issues) * 0.5


def test_unchanged_subtrees_are_shared_not_copied():
    pruner = compile_autoprune(AutoPrune(drop_nulls=True))
    clean = {"a": [1, 2, {"b": "c"}], "d": {"e": 1}}
    assert pruner.apply(clean) is clean
    mixed = {"keep": {"e": 1}, "change": {"x": None}}
    result = pruner.apply(mixed)
    assert result["keep"] is mixed["keep"]
    assert result["change"] == {}
    assert mixed["change"] == {"x": None}


def test_scalars_and_top_level_values_pass_through():
    pruner = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True))
    assert pruner.apply(None) is None
    assert pruner.apply("") == ""
    assert pruner.apply(5) == 5
    assert pruner.apply({"a": None}) == {}


def test_the_schema_of_pruned_values_loses_the_dropped_keys():
    """The outputSchema a tool declares describes what `apply` leaves: a key `drop_keys` drops is not
    advertised at any depth (a client would wait for it in vain), and with drop_nulls/drop_empty a field
    may go away, so none is `required`. Found by a new-user trial (`defaults.prune.drop_keys`)."""
    schema = {"type": "object", "required": ["id", "html_url"], "properties": {
        "id": {"type": "integer"}, "html_url": {"type": "string"},
        "items": {"type": "array", "items": {"anyOf": [
            {"type": "object", "properties": {"url": {"type": "string"}, "name": {"type": "string"}}},
            {"type": "null"}]}}}}
    before = copy.deepcopy(schema)
    keys_only = AutoPruner(drop_keys=("*url",)).project_schema(schema)
    assert keys_only == {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"},
        "items": {"type": "array", "items": {"anyOf": [
            {"type": "object", "properties": {"name": {"type": "string"}}}, {"type": "null"}]}}}}
    assert "required" not in AutoPruner(drop_nulls=True, drop_keys=("*url",)).project_schema(schema)
    assert schema == before  # never mutated
