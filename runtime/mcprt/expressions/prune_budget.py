"""The budget a `prune` expression runs under: evaluation time and the size of what it builds.

JMESPath shares values instead of copying them: `{a:@,b:@}` is one new object whose two keys point
at the same input, so 40 stages of it (`{a:@,b:@} | {a:@,b:@} | …`) evaluate in microseconds but
describe a value of 2^40 copies of the input. Serializing it (the result's size measure, its JSON
text) ran for minutes, grew to 10 GB and held the event loop, so SIGTERM and every other client
waited (security trial, item 1). Work that is cheap to *write* but exponential to *expand* is found
here before it is done:

- time: every node the interpreter visits ticks; past `MCPRT_PRUNE_TIMEOUT` seconds (default 2)
  the evaluation stops. Each step of an expression is at most about as large as all before it
  together, so checking between steps bounds a run to about twice the limit;
- size: the steps that expand shared values in one go (`==`/`!=`, `contains()`, `to_string()`,
  `join()`) and the final result are measured first, as JSON bytes with every shared value counted
  each time it appears (what serializing it would write), in time linear in the *distinct* values;
  over `MCPRT_PRUNE_MAX_OUTPUT` bytes (default 50,000,000: five default `max_response_bytes`) the
  evaluation stops.

Either raises `PruneBudgetExceeded`, which the result shaping turns into a tool error naming the
tool and its prune.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

from ..settings import env_limit

DEFAULT_TIMEOUT = 2.0
DEFAULT_MAX_OUTPUT = 50_000_000
_STEPS_PER_TICK = 256  # a tick reads the clock (~50 ns); 256 visits take tens of µs


class PruneBudgetExceeded(Exception):
    """A prune expression went over its time or size budget; the message says which (no data)."""


def timeout() -> float:
    return env_limit("MCPRT_PRUNE_TIMEOUT", DEFAULT_TIMEOUT)


def max_output() -> int:
    return int(env_limit("MCPRT_PRUNE_MAX_OUTPUT", DEFAULT_MAX_OUTPUT))


def expanded_size(value: Any, limit: int, seen: dict[int, tuple[Any, int]] | None = None) -> int:
    """About the JSON size of `value` in bytes, a value shared n times counted n times (what
    `json.dumps` would write; strings by characters, numbers as 8); raises `PruneBudgetExceeded`
    as soon as it passes `limit`. Each distinct container is walked once (`seen`: id → (value,
    size), holding the value so its id is not reused while measured)."""
    memo: dict[int, tuple[Any, int]] = {} if seen is None else seen

    def size(node: Any) -> int:
        if isinstance(node, str):
            return len(node) + 2
        if not isinstance(node, (dict, list)):
            return 8
        known = memo.get(id(node))
        if known is not None:
            return known[1]
        total = 2
        if isinstance(node, dict):
            for key, child in node.items():
                total += len(str(key)) + 4 + size(child)
                if total > limit:
                    break
        else:
            for child in node:
                total += 1 + size(child)
                if total > limit:
                    break
        if total > limit:
            raise PruneBudgetExceeded(
                f"built a value of more than {limit:,} bytes as JSON (MCPRT_PRUNE_MAX_OUTPUT): it repeats "
                "its input (`@`) so many times that sending it is impossible")
        memo[id(node)] = (node, total)
        return total

    return size(value)


@cache
def _interpreter_class() -> type:
    """The budgeted interpreter (built on first use: jmespath is loaded by the first prune compile)."""
    from jmespath import functions
    from jmespath.visitor import TreeInterpreter

    class BudgetedFunctions(functions.Functions):
        """`to_string` and `join` build one string from a whole value in one go: measured first."""

        budget: Budget

        @functions.signature({"types": []})
        def _func_to_string(self, arg: Any) -> Any:
            if not isinstance(arg, str):
                self.budget.measure(arg)
            return super()._func_to_string(arg)

        @functions.signature({"types": ["string"]}, {"types": ["array-string"]})
        def _func_join(self, separator: str, array: list[str]) -> str:
            self.budget.measure_chars(sum(len(item) for item in array) + len(separator) * len(array))
            return super()._func_join(separator, array)

        @functions.signature({"types": ["array", "string"]}, {"types": []})
        def _func_contains(self, subject: Any, search: Any) -> bool:
            self.budget.measure(search)  # compared with each item: `==` on two expanded values
            return super()._func_contains(subject, search)

    class BudgetedInterpreter(TreeInterpreter):
        def __init__(self) -> None:
            self._functions = BudgetedFunctions()
            from jmespath.visitor import Options

            super().__init__(Options(custom_functions=self._functions))

        def under(self, budget: Budget) -> BudgetedInterpreter:
            """This interpreter, now counting against `budget` (one per thread, reused per call)."""
            self._budget = self._functions.budget = budget
            return self

        def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
            self._budget.step()
            return super().visit(node, *args, **kwargs)

        def visit_comparator(self, node: Any, value: Any) -> Any:
            if node["value"] in self._EQUALITY_OPS:  # Python's == walks both sides whole, in C
                left = self.visit(node["children"][0], value)
                right = self.visit(node["children"][1], value)
                self._budget.measure(left)
                self._budget.measure(right)
                return self.COMPARATOR_FUNC[node["value"]](left, right)
            return super().visit_comparator(node, value)

    return BudgetedInterpreter


_per_thread = threading.local()


def _interpreter() -> Any:
    """This thread's budgeted interpreter: building one (its function table by introspection) cost
    tens of µs per call; prunes run in worker threads, so each keeps its own."""
    interpreter = getattr(_per_thread, "interpreter", None)
    if interpreter is None:
        interpreter = _per_thread.interpreter = _interpreter_class()()
    return interpreter


class Budget:
    """One evaluation's budget: a deadline and a size limit (read from the environment when made)."""

    def __init__(self) -> None:
        self._deadline = time.monotonic() + timeout()
        self._limit = max_output()
        self._steps = 0
        self._sizes: dict[int, tuple[Any, int]] = {}

    def step(self) -> None:
        self._steps += 1
        if not self._steps % _STEPS_PER_TICK and time.monotonic() > self._deadline:
            raise PruneBudgetExceeded(f"ran longer than {timeout():g}s (MCPRT_PRUNE_TIMEOUT)")

    def measure(self, value: Any) -> None:
        """Raise PruneBudgetExceeded when `value` expands past the limit (`expanded_size`), or is
        nested too deeply to measure (a value a prune built that way is not one to send either)."""
        try:
            expanded_size(value, self._limit, self._sizes)
        except RecursionError:
            raise PruneBudgetExceeded("built a value nested too deeply to measure or send") from None

    def measure_chars(self, count: int) -> None:
        """Raise PruneBudgetExceeded when a string of `count` characters would pass the limit."""
        if count > self._limit:
            raise PruneBudgetExceeded(f"built a string of more than {self._limit:,} characters "
                                      "(MCPRT_PRUNE_MAX_OUTPUT)")


def search(parsed: Any, data: Any, *, measure_result: bool) -> Any:
    """`parsed` (a compiled jmespath expression's AST) evaluated on `data` under a fresh `Budget`.
    `measure_result`: the expression can repeat its input (`prune_growth`), so its result is
    measured before anything serializes it. Raises PruneBudgetExceeded and jmespath's errors."""
    budget = Budget()
    result = _interpreter().under(budget).visit(parsed, data)
    if measure_result:
        budget.measure(result)
    return result
