"""How many times a `prune` expression can repeat its input: found statically, from its syntax tree.

`{a:@,b:@}` puts its input in its result twice; piped 40 times that is 2^40 copies (security trial,
item 1). `growth` is an upper bound on the copies of one input value in the result: a pipe or a
projection multiplies its parts' growth, a multi-select adds its parts' (parts that start at
different fields read disjoint parts of the input, so only the largest of those counts), a field
or an index keeps it, and a value computed from the input (a comparison, a number) has none.
`mcprt validate` warns when a part of it can pass `WARN_GROWTH` (`peak`), and an expression that can repeat its input at all
(growth above 1) has its result measured at each call (`prune_budget`).
"""

from __future__ import annotations

from typing import Any

WARN_GROWTH = 64  # no prune written to select fields repeats its input this often; six `{a:@,b:@}` stages do
_SCALAR_FUNCTIONS = frozenset({  # functions whose result is a number or boolean, whatever their input
    "abs", "avg", "ceil", "contains", "ends_with", "floor", "length", "max", "min", "starts_with", "sum",
    "to_number", "type",
})
_CAP = 2 ** 64  # past any limit: keeps the numbers small for a pathological expression


def growth(node: Any) -> int:
    """An upper bound on how many times one input value appears in the result of `node` (a parsed
    jmespath expression, `jmespath.compile(…).parsed`): 0 for a constant or scalar result."""
    return min(_growth(node), _CAP)


def peak(node: Any) -> int:
    """The largest `growth` of any part of `node`: `… | length(@)` has none at the end, but the value
    it measures may be built exponentially (each part is evaluated, whatever uses it)."""
    parts = [node]
    highest = 0
    while parts:
        part = parts.pop()
        if isinstance(part, dict):
            highest = max(highest, growth(part))
            parts.extend(part.get("children") or [])
    return highest


def _growth(node: Any) -> int:
    if not isinstance(node, dict):
        return 1
    kind = node.get("type")
    children = node.get("children") or []
    if kind in ("literal", "comparator", "not_expression"):
        return 0
    if kind in ("field", "current", "identity", "slice", "index"):
        return 1
    if kind in ("subexpression", "pipe", "index_expression", "projection", "value_projection"):
        product = 1
        for child in children:
            product = min(product * _growth(child), _CAP)
        return product
    if kind == "filter_projection":  # [left, right, condition]: the condition only selects
        return min(_growth(children[0]) * _growth(children[1]), _CAP) if len(children) >= 2 else 1
    if kind in ("multi_select_dict", "multi_select_list"):
        parts = [part.get("children", [None])[0] if kind == "multi_select_dict" else part for part in children]
        return _disjoint_sum(parts)
    if kind in ("or_expression", "and_expression"):
        return max((_growth(child) for child in children), default=0)
    if kind == "function_expression":
        if node.get("value") in _SCALAR_FUNCTIONS:
            return 0
        if node.get("value") == "map" and len(children) == 2:  # map(&expr, list): expr per item
            return min(_growth(children[0]) * _growth(children[1]), _CAP)
        return _disjoint_sum([child for child in children if child.get("type") != "expref"])
    if kind == "expref":
        return _growth(children[0]) if children else 0
    if kind == "flatten":
        return _growth(children[0]) if children else 1
    return max(1, sum(_growth(child) for child in children))  # unknown: assume it may add its parts


def _disjoint_sum(parts: list[Any]) -> int:
    """Growth of values built from `parts`: those that start at the same field (or at the whole input)
    add up; those that start at different fields read disjoint subtrees, so only the largest counts."""
    whole = 0
    by_field: dict[str, int] = {}
    for part in parts:
        head = _head_field(part)
        if head is None:
            whole += _growth(part)
        else:
            by_field[head] = by_field.get(head, 0) + _growth(part)
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
