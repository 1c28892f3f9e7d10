"""How many times a `prune` expression can repeat its input: found statically, from its syntax tree.

`{a:@,b:@}` puts its input in its result twice; piped 40 times that is 2^40 copies (security trial,
item 1). `growth` is an upper bound on the copies of one input value in the result: a pipe or a
projection multiplies its parts' growth, a multi-select adds its parts' (parts that start at
different fields read disjoint parts of the input, so only the largest of those counts), a field
or an index keeps it, and a value computed from the input (a comparison, a number) has none.
`mcprt validate` warns when a part of it can pass `WARN_GROWTH` (its peak), and an expression that can repeat its
input at all (growth above 1) has its result measured at each call (`prune_budget`). `growth_and_peak` finds
both in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WARN_GROWTH = 64  # no prune written to select fields repeats its input this often; six `{a:@,b:@}` stages do
_SCALAR_FUNCTIONS = frozenset({  # functions whose result is a number or boolean, whatever their input
    "abs", "avg", "ceil", "contains", "ends_with", "floor", "length", "max", "min", "starts_with", "sum",
    "to_number", "type",
})
_CAP = 2 ** 64  # past any limit: keeps the numbers small for a pathological expression


def growth_and_peak(node: Any) -> tuple[int, int]:
    """For `node` (a parsed jmespath expression, `jmespath.compile(…).parsed`), in one pass over it:
    - growth: an upper bound on how many times one input value appears in its result (0 for a
      constant or scalar result);
    - peak: the largest growth of any part of it: `… | length(@)` has none at the end, but the value
      it measures may be built exponentially (each part is evaluated, whatever uses it).
    Both capped at 2^64."""
    found = _growths(node)
    return min(found.get(id(node), 1), _CAP), max((min(each, _CAP) for each in found.values()), default=0)


def _growths(root: Any) -> dict[int, int]:
    """The (uncapped) growth of every part of `root`, by `id()` of its node: each node once, children
    first, on a stack of our own. A pipe chain nests one level per stage (`a | b | …` is
    `pipe(pipe(a, b), …)`): growth per part by recursion took time quadratic in the stages, and past
    about a thousand of them hit Python's recursion limit."""
    found: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, dict):
            continue
        if children_done:
            found[id(node)] = _own_growth(node, found)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.get("children") or [])
    return found


def _own_growth(node: dict[str, Any], found: dict[int, int]) -> int:
    """The growth of `node` from its parts' in `found` (every part below it is there)."""
    def of(part: Any) -> int:
        return found[id(part)] if isinstance(part, dict) else 1

    kind = node.get("type")
    children = node.get("children") or []
    if kind in ("literal", "comparator", "not_expression"):
        return 0
    if kind in ("field", "current", "identity", "slice", "index"):
        return 1
    if kind in ("subexpression", "pipe", "index_expression", "projection", "value_projection"):
        product = 1
        for child in children:
            product = min(product * of(child), _CAP)
        return product
    if kind == "filter_projection":  # [left, right, condition]: the condition only selects
        return min(of(children[0]) * of(children[1]), _CAP) if len(children) >= 2 else 1
    if kind in ("multi_select_dict", "multi_select_list"):
        parts = [part.get("children", [None])[0] if kind == "multi_select_dict" else part for part in children]
        return _disjoint_sum(parts, of)
    if kind in ("or_expression", "and_expression"):
        return max((of(child) for child in children), default=0)
    if kind == "function_expression":
        if node.get("value") in _SCALAR_FUNCTIONS:
            return 0
        if node.get("value") == "map" and len(children) == 2:  # map(&expr, list): expr per item
            return min(of(children[0]) * of(children[1]), _CAP)
        return _disjoint_sum([child for child in children if child.get("type") != "expref"], of)
    if kind == "expref":
        return of(children[0]) if children else 0
    if kind == "flatten":
        return of(children[0]) if children else 1
    return max(1, sum(of(child) for child in children))  # unknown: assume it may add its parts


def _disjoint_sum(parts: list[Any], of: Callable[[Any], int]) -> int:
    """Growth of values built from `parts` (`of(part)` each): those that start at the same field (or at
    the whole input) add up; those that start at different fields read disjoint subtrees, so only the
    largest counts."""
    whole = 0
    by_field: dict[str, int] = {}
    for part in parts:
        head = _head_field(part)
        if head is None:
            whole += of(part)
        else:
            by_field[head] = by_field.get(head, 0) + of(part)
    return min(whole + max(by_field.values(), default=0), _CAP)


def _head_field(node: Any) -> str | None:
    """The field a path starts at (`a` of `a.b[0]`, `a[*].c`), or None when it reads the whole input."""
    while isinstance(node, dict):
        kind = node.get("type")
        if kind == "field":
            return node.get("value")
        if kind not in ("subexpression", "index_expression", "projection", "value_projection",
                        "filter_projection", "flatten", "pipe") or not node.get("children"):
            return None
        node = node["children"][0]
    return None
