"""How deeply a `prune` expression nests, and the most jmespath can evaluate.

`compile_prune` checks an expression on a stack of its own, so a prune thousands of stages long
compiles; jmespath's interpreter, though, evaluates by recursion, about three Python frames per
level of the syntax tree, and a pipe chain nests one level per stage (`a | b | c` is
`pipe(pipe(a, b), c)`). Past Python's recursion limit (1,000 frames) every call failed with
`maximum recursion depth exceeded` while `mcprt validate` said ok; such a prune is now refused
when the manifest loads.

Measured (jmespath 1.1.0, CPython 3.11, recursion limit 1,000, the budgeted interpreter of
`prune_budget`, from a fresh main thread): the deepest tree that still evaluated was 331 levels
for pipes, `||`/`&&` chains, `==`, flattens, multi-selects and `map(&…)`; 330 for nested function
calls and `!`; 319 for nested `sort_by(…, &…)`, 268 for `max_by`, and 248 for ordering
comparators (`<` takes four frames: our override calls jmespath's). A call evaluates its prune in
a worker thread 10 frames deep (`mcprt up`, `mcprt call`); `mcprt show` and the case replay run it
on the main thread under the CLI, a test under pytest. `MAX_DEPTH` leaves about 200 frames to the
caller even at the four frames per level of the costliest construct.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 200


def too_deep(depth: int | None) -> str:
    """Why an expression nested `depth` levels (None: too deep even to parse) is refused: the
    message `compile_prune` and a policy rule's `when` give (both are evaluated by jmespath)."""
    nests = f"nests {depth:,} levels deep" if depth is not None else "nests too deeply to parse"
    return (f"the expression {nests}; at most {MAX_DEPTH} levels can run (jmespath evaluates by recursion, "
            "one level per pipe stage, `||`/`&&` term, comparison, `!`, function call, filter, flatten or "
            "multi-select): shorten it")


def nesting_depth(root: Any) -> int:
    """The number of nodes on the longest path from `root` (a parsed jmespath expression,
    `jmespath.compile(…).parsed`) to a leaf: one per pipe stage, `||`/`&&` term, comparison, `!`,
    function call, `&` expression reference, filter, flatten, projection and multi-select level.
    On a stack of its own, so any depth is measured."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.get("children", ()))
    return deepest
