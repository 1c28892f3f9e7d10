"""JMESPath prune expressions: compiled once, applied to realistic GitHub-shaped data."""

from __future__ import annotations

import copy

import pytest

from mcprt.shaping import Pruner, PruneRuntimeError, PruneSyntaxError, compile_prune

LIST_VIEW = "[].{number: number, title: title, state: state, user: user.login, labels: labels[].name}"


def test_projection_keeps_only_the_named_fields(issues):
    pruned = compile_prune(LIST_VIEW).apply(issues)
    assert len(pruned) == 30
    assert pruned[0] == {
        "number": 1347,
        "title": "Found a bug in the pagination of search results",
        "state": "open",
        "user": "octocat",
        "labels": ["bug"],
    }
    assert pruned[3]["labels"] == ["documentation", "good first issue"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[?state=='open'] | length(@)", 16),
        ("[?pull_request].number", [1345, 1339, 1337, 1333, 1330, 1327, 1323]),
        ("[?contains(labels[].name, 'performance')].number", [1343, 1339, 1331, 1327, 1319]),
        ("max_by(@, &comments).{n: number, c: comments}", {"n": 1343, "c": 27}),
        ("sort_by(@, &comments)[-3:].number", [1338, 1324, 1343]),
        ("[?user.type=='Bot'] | [0].user.login", "dependabot[bot]"),
        ("[?milestone].milestone.title | [0]", "v2.4"),
        ("length([?assignee != null])", 10),
        ("[:2].reactions.\"+1\"", [4, 1]),
    ],
)
def test_realistic_expressions(issues, expression, expected):
    assert compile_prune(expression).apply(issues) == expected


def test_apply_never_mutates_the_input(issues):
    before = copy.deepcopy(issues)
    compile_prune("sort_by(@, &title)[].{t: title}").apply(issues)
    compile_prune("reverse(@)").apply(issues)
    assert issues == before


def test_a_compiled_pruner_is_reusable():
    pruner = compile_prune("items[].id")
    assert isinstance(pruner, Pruner)
    assert pruner.expression == "items[].id"
    assert pruner.apply({"items": [{"id": 1}, {"id": 2}]}) == [1, 2]
    assert pruner.apply({"items": [{"id": 3}]}) == [3]


def test_a_shape_mismatch_gives_none_not_an_error(issues):
    assert compile_prune("items[].id").apply(issues) is None
    assert compile_prune("[].number").apply({"number": 1}) is None


@pytest.mark.parametrize(
    ("expression", "data", "fragment"),
    [
        ("length(@)", 5, "length()"),
        ("sort_by(@, &v)", [{"v": 1}, {"v": "x"}], "sort_by()"),
        ("sum(@)", ["a", "b"], "sum()"),
    ],
)
def test_runtime_type_errors_are_named(expression, data, fragment):
    with pytest.raises(PruneRuntimeError) as caught:
        compile_prune(expression).apply(data)
    assert fragment in caught.value.message
    assert expression in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ("[].{number: number", 18, "ends too early"),
        ("foo bar", 4, "unexpected 'bar'"),
        ("items[?state == ", 16, "ends too early"),
        ("`{bad json", 0, "Unclosed ` delimiter"),
        ("'unterminated", 0, "Unclosed ' delimiter"),
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("items[].nosuch(@)", 8, "unknown function nosuch()"),
        ("[].{n: lenght(title)}", 7, "unknown function lenght()"),
        ("length(a, b)", 0, "takes 1 argument, got 2"),
        ("merge()", 0, "at least 1"),
        ("sort_by(@)", 0, "takes 2 arguments, got 1"),
    ],
)
def test_syntax_errors_carry_a_position(expression, position, fragment):
    with pytest.raises(PruneSyntaxError) as caught:
        compile_prune(expression)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert fragment in error.message
    assert f"position {position}" in str(error)


def test_variadic_functions_accept_many_arguments():
    assert compile_prune("merge(a, b, c)").apply({"a": {"x": 1}, "b": {"y": 2}, "c": {}}) == {"x": 1, "y": 2}
    assert compile_prune("not_null(a, b, `3`)").apply({}) == 3


def test_a_doubling_prune_on_a_deeply_nested_result_is_a_budget_error_not_a_recursion_note():
    # Review of bombfix, item 4: measuring the result recursed past Python's limit on a ~1,200-deep
    # value and came back as a PruneRuntimeError ("maximum recursion depth exceeded"), not the budget.
    from mcprt.expressions.prune_budget import PruneBudgetExceeded

    deep: dict = {}
    node = deep
    for _ in range(1200):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(PruneBudgetExceeded, match="nested too deeply"):
        compile_prune("{a:@,b:@}").apply(deep)


def test_the_budgeted_interpreter_is_reused_per_thread_and_a_stopped_run_leaves_no_trace():
    # Review of bombfix, item 4a: each call built its interpreter and function table (tens of µs);
    # one per thread now, so a run stopped by its budget must not affect the next one.
    import threading

    from mcprt.expressions.prune_budget import PruneBudgetExceeded, _interpreter

    bomb = compile_prune(" | ".join(["{a:@,b:@}"] * 40))
    with pytest.raises(PruneBudgetExceeded):
        bomb.apply({"n": 1})
    assert compile_prune("n").apply({"n": 1}) == 1
    assert _interpreter() is _interpreter()
    other: list = []
    worker = threading.Thread(target=lambda: other.append(_interpreter()))
    worker.start()
    worker.join()
    assert other[0] is not _interpreter()


def test_the_growth_of_a_prune_thousands_of_pipe_stages_long_is_found():
    # A pipe chain nests one level per stage (`a | b | c` is `pipe(pipe(a, b), c)`): `peak` computed
    # each part's growth by recursion, in time quadratic in the stages (800 `{a:@,b:@}` stages took
    # ~5 s), and past about a thousand stages hit Python's recursion limit. One pass now, on a stack.
    import jmespath

    from mcprt.expressions.prune_growth import growth_and_peak

    capped = 2 ** 64  # `prune_growth` stops counting there
    plain = jmespath.compile(" | ".join(["a"] * 5000)).parsed
    assert growth_and_peak(plain) == (1, 1)
    doubling = jmespath.compile(" | ".join(["{a:@,b:@}"] * 5000)).parsed
    assert growth_and_peak(doubling) == (capped, capped)
    # the largest part deep inside: six doublings measured by `length(@)` (no copies after it), then
    # 4,993 plain stages above it
    hidden = jmespath.compile(" | ".join(["{a:@,b:@}"] * 6 + ["length(@)"] + ["a"] * 4993)).parsed
    assert growth_and_peak(hidden) == (0, 64)
    # as a manifest's prune is compiled: as deep as one may be (`prune_depth.MAX_DEPTH`: 198 stages nest 200)
    pruner = compile_prune(" | ".join(["{a:@,b:@}"] * 198))
    assert (pruner.growth, pruner.peak_growth) == (capped, capped)


CAPPED = 2 ** 64  # `prune_growth` stops counting there
MAX_DEPTH = 200  # `prune_depth.MAX_DEPTH`, written out: a change to it must be seen here

# The shapes whose evaluation depth was measured (`prune_depth`), each nesting about one level per stage
# (a `max_by(@, &length(…))` three): (the expression of `n` stages, data it evaluates on without error).
NESTED = {
    "pipes": (lambda n: " | ".join(["a"] * n), {"a": 1}),
    "pipes of multi-selects": (lambda n: " | ".join(["{a:@}"] * n), {"n": 1}),
    "or chain": (lambda n: " || ".join(["x"] * n + ["b"]), {"b": 1}),
    "and chain": (lambda n: " && ".join(["b"] * n), {"b": 1}),
    "ordering comparisons": (lambda n: " < ".join(["b"] * n), {"b": 1}),  # four frames a level, not three
    "nested functions": (lambda n: "abs(" * n + "b" + ")" * n, {"b": -1}),
    "nots": (lambda n: "!" * n + "b", {"b": 1}),
    "flattens": (lambda n: "c" + "[]" * n, {"c": [[1]]}),
    "pipes of filters": (lambda n: "c" + " | [?@]" * n, {"c": [1]}),
    "nested max_by": (lambda n: "max_by(@, &length(" * n + "@" + "))" * n, "nested"),
}


def _data(data):
    if data != "nested":
        return data
    nested: object = 1
    for _ in range(400):
        nested = [nested]
    return nested


def _deepest_allowed(expression) -> tuple[int, int]:
    """The most stages of `expression` that nest at most MAX_DEPTH levels, and their depth."""
    import jmespath

    from mcprt.expressions.prune_depth import nesting_depth

    def depth(stages: int) -> int:
        return nesting_depth(jmespath.compile(expression(stages)).parsed)

    low, high = 0, MAX_DEPTH + 1  # depth grows with the stages, by at least one a stage
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if depth(middle) <= MAX_DEPTH else (low, middle - 1)
    return low, depth(low)


@pytest.mark.parametrize("shape", NESTED)
def test_a_prune_as_deep_as_the_limit_compiles_and_runs(shape):
    """A prune no deeper than `MAX_DEPTH` runs: on this (main, pytest's) thread too, deeper in the
    stack than a server's worker thread evaluates it."""
    expression, data = NESTED[shape]
    stages, depth = _deepest_allowed(expression)
    assert depth >= MAX_DEPTH - 2  # as close to the limit as this shape gets
    compile_prune(expression(stages)).apply(_data(data))  # no PruneRuntimeError: it evaluated


@pytest.mark.parametrize("shape", NESTED)
def test_a_prune_deeper_than_jmespath_can_run_is_refused_when_it_compiles(shape):
    """Review of prunedepth, item 1: thousands of stages compiled (on a stack of our own), but jmespath
    evaluates by recursion, so past ~330 pipe stages every call failed with `maximum recursion depth
    exceeded` while validate said ok. Refused at load now, saying how deep it nests and the most that runs."""
    from mcprt.expressions.prune import PruneTooDeep

    expression, _ = NESTED[shape]
    stages, _ = _deepest_allowed(expression)
    with pytest.raises(PruneTooDeep) as caught:
        compile_prune(expression(stages + 1))
    assert MAX_DEPTH < caught.value.depth <= MAX_DEPTH + 3 and caught.value.position == 0
    assert f"nests {caught.value.depth} levels deep; at most {MAX_DEPTH} levels can run" in caught.value.message


@pytest.mark.parametrize(("expression", "growth", "peak"), [
    (" | ".join(["a"] * 5000), 1, 1),
    (" | ".join(["{a:@,b:@}"] * 5000), CAPPED, CAPPED),
    (" | ".join(["{a:@,b:@}"] * 6 + ["length(@)"] + ["a"] * 4993), 0, 64),
    (" | ".join(["[?n > `0`]"] * 2000), 1, 1),  # filters
    (" | ".join(["a[]"] * 3000), 1, 1),  # flattens
    (" || ".join(["a"] * 3000), 1, 1),  # an `||` chain nests one level per term too
    (" | ".join(["map(&{a:@,b:@}, @)"] * 5000), CAPPED, CAPPED),  # a function per stage: each is checked
])
def test_a_prune_thousands_of_stages_long_is_measured_then_refused(expression, growth, peak):
    """Review of dedupe, item 4: `peak` went linear and off the recursion, and `compile_prune` checks
    functions on a stack of its own, so a prune thousands of stages long is measured without a
    RecursionError; then refused for its depth (no call of it could run), naming the depth."""
    import jmespath

    from mcprt.expressions.prune import PruneTooDeep
    from mcprt.expressions.prune_depth import nesting_depth
    from mcprt.expressions.prune_growth import growth_and_peak

    parsed = jmespath.compile(expression).parsed
    assert growth_and_peak(parsed) == (growth, peak)
    with pytest.raises(PruneTooDeep, match=f"nests {nesting_depth(parsed):,} levels deep"):
        compile_prune(expression)


def test_a_prune_too_deep_to_parse_is_refused_for_its_depth():
    # jmespath's parser recurses too: 5,000 nested parentheses were a bare RecursionError
    from mcprt.expressions.prune import PruneTooDeep

    with pytest.raises(PruneTooDeep, match="nests too deeply to parse; at most 200 levels can run") as caught:
        compile_prune("(" * 5000 + "a" + ")" * 5000)
    assert caught.value.depth is None and caught.value.position == 0


def test_the_first_bad_function_of_a_long_chain_is_the_one_named():
    # the check's order is the expression's: the first bad call (at its position), however deep
    stages = ["a"] * 4999 + ["lenght(@)", "max(@, @)"]
    with pytest.raises(PruneSyntaxError, match=r"unknown function lenght\(\)") as caught:
        compile_prune(" | ".join(stages))
    assert caught.value.position == len(" | ".join(["a"] * 4999)) + 3
    with pytest.raises(PruneSyntaxError, match=r"max\(\) takes 1 argument, got 2") as caught:
        compile_prune(" | ".join(["a"] * 5000 + ["max(@, @)", "lenght(@)"]))
    assert caught.value.position == len(" | ".join(["a"] * 5000)) + 3
