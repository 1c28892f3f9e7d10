"""A tool's `prune:` expression: JMESPath, compiled once when the manifest loads.

Compiling at load time means a typo is a manifest error with a position (not a failed call), and
a call only pays for walking the data. jmespath resolves function names only while searching, so
unknown functions and wrong argument counts are checked here too, up front.
"""

from __future__ import annotations

import functools

import re
from typing import TYPE_CHECKING, Any

from .prune_budget import search
from .prune_depth import MAX_DEPTH, nesting_depth, too_deep
from .prune_growth import growth_and_peak
from .prune_reads import built_keys, root_fields, writes_text

if TYPE_CHECKING:  # jmespath is imported by the first compile: a manifest without `prune` never loads it
    from jmespath import exceptions as jmespath_errors


@functools.cache
def _function_table() -> dict[str, Any]:
    from jmespath.functions import Functions

    return Functions().FUNCTION_TABLE


class PruneSyntaxError(ValueError):
    """A prune expression that cannot compile; `position` is a 0-based offset into the expression."""

    def __init__(self, message: str, position: int | None = None, expression: str = "") -> None:
        self.message = message
        self.position = position
        self.expression = expression
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid prune expression{where}: {message}")


class PruneTooDeep(PruneSyntaxError):
    """A prune that compiles but nests deeper than jmespath can evaluate (`prune_depth`): every call
    of it would fail, so the manifest is refused instead. `depth` is None when it nests too deeply
    even to parse."""

    def __init__(self, depth: int | None, expression: str) -> None:
        self.depth = depth
        super().__init__(too_deep(depth), 0, expression)


class PruneRuntimeError(ValueError):
    """A prune expression that failed on the data it was given (e.g. `length()` of a number)."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message
        super().__init__(f"prune expression {expression!r} failed on this result: {message}")


class Pruner:
    """A compiled prune expression; `apply` never mutates its input."""

    __slots__ = ("expression", "_parsed", "growth", "peak_growth", "reads", "builds", "writes_text")

    def __init__(self, expression: str, parsed: Any) -> None:
        self.expression = expression
        self._parsed = parsed
        # copies of its input its result can hold, and any value it builds on the way (`prune_growth`)
        self.growth, self.peak_growth = growth_and_peak(parsed.parsed)
        # the members of its input it looks up (None: it reads the input whole), for `shaping.prune_miss`
        self.reads = root_fields(parsed.parsed)
        self.builds = built_keys(parsed.parsed)  # the keys it selects by name: `defaults.prune` keeps them
        self.writes_text = writes_text(parsed.parsed)  # text of its own: its result is scrubbed again

    def apply(self, data: Any) -> Any:
        """The expression's result; `None` when nothing matched. Raises `PruneRuntimeError`, and
        `PruneBudgetExceeded` past its time or size budget (`prune_budget`)."""
        try:
            return search(self._parsed.parsed, data, measure_result=self.growth > 1)
        except (TypeError, ValueError, RecursionError) as exc:  # JMESPathError is a ValueError
            from jmespath import exceptions as jmespath_errors  # loaded: it compiled this expression

            if isinstance(exc, jmespath_errors.JMESPathError):
                raise PruneRuntimeError(self.expression, _runtime_message(exc)) from None
            raise PruneRuntimeError(self.expression, str(exc) or type(exc).__name__) from None  # its edge cases

    def __repr__(self) -> str:
        return f"Pruner({self.expression!r})"


def compile_prune(expression: str) -> Pruner:
    """Compile a JMESPath expression once; raises `PruneSyntaxError` with a position, and its
    `PruneTooDeep` (at position 0) for one nested deeper than `prune_depth.MAX_DEPTH` levels.

    Memoized by text: the loader's check, the tool-set build and every reload of an unchanged
    expression share one compiled Pruner (it is immutable).
    """
    if not isinstance(expression, str):
        raise PruneSyntaxError("the expression is empty", 0, "")
    return _compile_prune(expression)


@functools.lru_cache(maxsize=2048)
def _compile_prune(expression: str) -> Pruner:
    if not expression.strip():
        raise PruneSyntaxError("the expression is empty", 0, expression)
    import jmespath
    from jmespath import exceptions as jmespath_errors

    try:
        parsed = jmespath.compile(expression)
    except jmespath_errors.LexerError as exc:
        raise PruneSyntaxError(_lexer_message(exc), exc.lexer_position, expression) from None
    except jmespath_errors.IncompleteExpressionError as exc:
        raise PruneSyntaxError("the expression ends too early", exc.lex_position, expression) from None
    except jmespath_errors.ParseError as exc:
        raise PruneSyntaxError(_parse_message(exc), exc.lex_position, expression) from None
    except jmespath_errors.JMESPathError as exc:
        raise PruneSyntaxError(str(exc), None, expression) from None
    except RecursionError:  # jmespath's parser recurses too: thousands of nested brackets or filters
        raise PruneTooDeep(None, expression) from None
    _check_functions(parsed.parsed, expression)
    depth = nesting_depth(parsed.parsed)
    if depth > MAX_DEPTH:  # it compiled, but every call of it would pass Python's recursion limit
        raise PruneTooDeep(depth, expression)
    return Pruner(expression, parsed)


def _lexer_message(exc: jmespath_errors.LexerError) -> str:
    message = getattr(exc, "message", "") or "invalid token"
    return f"{message} (near {exc.lexer_value!r})" if exc.lexer_value else message


def _parse_message(exc: jmespath_errors.ParseError) -> str:
    if exc.token_value not in (None, ""):
        return f"unexpected {exc.token_value!r}"
    return exc.msg or "invalid syntax"


def _check_functions(root: Any, expression: str) -> None:
    """Unknown functions and wrong argument counts, found now instead of at the first call; the first
    in the expression's order is the one raised. On a stack of our own: a pipe chain nests one level
    per stage, and thousands of stages passed Python's recursion limit."""
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "function_expression":
            _check_call(node, expression)
        stack.extend(reversed(node.get("children", ())))


def _check_call(node: dict[str, Any], expression: str) -> None:
    name = node.get("value")
    position = _function_position(expression, name)
    spec = _function_table().get(name)
    if spec is None:
        known = ", ".join(sorted(_function_table()))
        raise PruneSyntaxError(f"unknown function {name}() (known: {known})", position, expression)
    signature = spec["signature"]
    given = len(node.get("children", ()))
    variadic = bool(signature) and signature[-1].get("variadic", False)
    if (given < len(signature)) if variadic else (given != len(signature)):
        wanted = f"at least {len(signature)}" if variadic else str(len(signature))
        raise PruneSyntaxError(
            f"{name}() takes {wanted} argument{'s' if wanted != '1' else ''}, got {given}", position, expression
        )


def _function_position(expression: str, name: str | None) -> int | None:
    if not name:
        return None
    match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(", expression)
    return match.start() if match else None


def _runtime_message(exc: jmespath_errors.JMESPathError) -> str:
    """What went wrong, never the value it went wrong on: jmespath's JMESPathTypeError prints its
    `current_value` whole, and a prune's value can be 2^n shared copies of the input (formatting it
    ran without end, outside any budget) or a secret from the result."""
    from jmespath import exceptions as jmespath_errors

    if isinstance(exc, jmespath_errors.JMESPathTypeError):
        expected = ", ".join(str(kind) for kind in exc.expected_types or ())
        return (f"in function {exc.function_name}(), invalid type: expected one of {expected}, "
                f"received {exc.actual_type}")
    if isinstance(exc, jmespath_errors.ArityError):  # its message holds only the name and counts
        return str(exc)
    return type(exc).__name__  # no other jmespath runtime error is known to carry only safe text
