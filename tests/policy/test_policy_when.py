"""`when` conditions: the fast evaluator agrees with jmespath itself on every expression and input."""

from __future__ import annotations

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcprt.policy.when import compile_when, truthy

EXPRESSIONS = [
    "amount > `1000`", "amount >= `1000`", "amount < `10`", "amount <= `10`", "amount == `5`", "amount != `5`",
    "a.b == 'x' && !c", "a.b == 'x' || c", "items[0].price >= `5`", "items[-1]", "flag == `true`",
    "flag == `1`", "name == 'bob'", "!flag", "a.b.c", "@.amount > `3`",
    "contains(tags, 'x')", "length(items) > `1`", "items[?price > `2`]",  # jmespath fallback
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats(-5, 2000, allow_nan=False) | st.sampled_from(
        ["x", "bob", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["b", "c", "price"]), inner, max_size=3),
    max_leaves=6,
)
ARGUMENTS = st.fixed_dictionaries({}, optional={
    "amount": VALUES, "a": VALUES, "c": VALUES, "items": VALUES, "flag": VALUES, "name": VALUES, "tags": VALUES})


def reference(expression: str, arguments: dict) -> bool:
    try:
        return truthy(jmespath.search(expression, arguments))
    except Exception:
        return False


@pytest.mark.parametrize("expression", EXPRESSIONS)
@settings(max_examples=150, deadline=None)
@given(arguments=ARGUMENTS)
def test_fast_path_matches_jmespath(expression: str, arguments: dict) -> None:
    assert compile_when(expression)(arguments) == reference(expression, arguments)


def test_issue_example() -> None:
    over = compile_when("amount > `1000`")
    assert over({"amount": 1001}) and not over({"amount": 1000}) and not over({"amount": "5000"}) and not over({})
