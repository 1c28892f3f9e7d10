"""`when` conditions: JMESPath over a call's arguments, made fast for the forms rules use.

jmespath's interpreter costs 5-15 µs per search; a 100-rule policy with many conditions would pay
that per rule per call. The common forms — fields, sub-expressions, indexes, literals, comparisons,
`&&`, `||`, `!` — are compiled here into plain Python closures with jmespath's semantics: ordering
comparisons (`<`, `<=`, `>`, `>=`) hold between two numbers or two strings (jmespath 1.x compares
strings, as the JMESPath Community spec does), anything else is null; `==` never equates a boolean
with a number; truthiness per the spec. Anything else (functions, projections, filters) is handed to
jmespath itself, so every valid expression works and the fast path never changes a result. One
departure from jmespath, on both paths: an ordering comparison of two values that cannot be ordered
with each other — neither null, and not two numbers or two strings (`amount > `1000`` given
`"5000"`, a list, a boolean) — fails the condition (`WhenError`), where jmespath gives null (a list, a
boolean) or raises TypeError (a number with a string). Null read as "no match", so a caller stepped
around `{when: "amount > `1000`", action: deny}` by sending the amount as a string where the tool
takes `int | str` (review of mendrev3, problem 3). A null operand (an argument left out) is still null.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

Evaluator = Callable[[Any], Any]
_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _interpreter() -> Any:
    """jmespath's tree interpreter, with ordering comparisons as `_ordered` makes them (the module docstring)."""
    from jmespath.visitor import TreeInterpreter

    class Interpreter(TreeInterpreter):  # type: ignore[misc]
        def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
            compare = _ORDER.get(node["value"])
            if compare is None:
                return super().visit_comparator(node, value)
            left, right = (self.visit(child, value) for child in node["children"])
            return _ordered(compare, left, right)

    return Interpreter()


class _Unsupported(Exception):
    pass


class WhenError(Exception):
    """A condition that cannot be evaluated on these arguments: a function given a type it does not take
    (`starts_with(dest, 'evil')` with `dest` a list), an unknown function, an expression nested past the
    stack. Never "no match": the caller decides (`PolicyGate.decide`: a `deny` or `approve` rule matches,
    an `allow` rule does not; a rate limit applies). `str()` says what failed, without the arguments."""


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/list/object are false; numbers are true."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)) and not value:
        return False
    return True


def _failure(exc: Exception) -> WhenError:
    """The `WhenError` for `exc`, its message naming the fault and not the argument's value (which is the
    caller's, and may be long): jmespath's type errors quote the value."""
    if isinstance(exc, WhenError):
        return exc
    if isinstance(exc, RecursionError):
        return WhenError("it nests too deeply to evaluate")
    from jmespath.exceptions import JMESPathTypeError, UnknownFunctionError

    if isinstance(exc, JMESPathTypeError):
        return WhenError(f"{exc.function_name}() was given {_article(exc.actual_type)} {exc.actual_type}, "
                         f"which it does not take (it takes {' or '.join(exc.expected_types)})")
    if isinstance(exc, UnknownFunctionError):
        return WhenError(str(exc).replace("Unknown function: ", "it calls an unknown function ", 1))
    return WhenError(f"it failed to evaluate ({type(exc).__name__})")


def _article(word: str) -> str:
    return "an" if word[:1] in tuple("aeiou") else "a"


def compile_when(text: str) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over the arguments: True when the expression's value is truthy. Any error while
    evaluating it (a function given the wrong type, an unknown function, `RecursionError`) raises
    `WhenError`, never reads as False: a `deny` rule read as "no match" let every such call through
    (review of mendpd, problem 2: `starts_with(dest, 'evil')` with `dest: ["evil.com"]`)."""
    import jmespath

    expression = jmespath.compile(text)
    direct = _top_level_comparison(expression.parsed)
    if direct is not None:
        return direct
    try:
        fast = _node(expression.parsed)
    except _Unsupported:
        interpreter = _interpreter()

        def slow(arguments: Mapping[str, Any]) -> bool:
            try:
                return truthy(interpreter.visit(expression.parsed, dict(arguments)))
            except Exception as exc:  # RecursionError too: a deep `deny` rule must not pass every call
                raise _failure(exc) from exc

        return slow

    def quick(arguments: Mapping[str, Any]) -> bool:
        try:
            return truthy(fast(arguments))
        except Exception as exc:  # arguments nested past the stack
            raise _failure(exc) from exc

    return quick


def _top_level_comparison(node: dict[str, Any]) -> Callable[[Mapping[str, Any]], bool] | None:
    """`ARG op NUMBER` on the arguments themselves: one closure returning the bool (the form a policy
    uses most, evaluated for every candidate rule on every call)."""
    children = node.get("children") or []
    if node["type"] != "comparator" or node["value"] not in _ORDER or len(children) != 2:
        return None
    if children[0]["type"] != "field" or children[1]["type"] != "literal" or not _number(children[1]["value"]):
        return None
    name, constant, compare = children[0]["value"], children[1]["value"], _ORDER[node["value"]]

    def predicate(arguments: Mapping[str, Any]) -> bool:
        a = arguments.get(name)
        if type(a) in (int, float):
            return compare(a, constant)  # type: ignore[no-any-return]
        if a is None:
            return False
        raise _unordered(a, constant)

    return predicate


def _node(node: dict[str, Any]) -> Evaluator:
    kind = node["type"]
    children = node.get("children") or []
    if kind == "field":
        name = node["value"]
        return lambda value: value.get(name) if isinstance(value, Mapping) else None
    if kind == "literal":
        constant = node["value"]
        return lambda value: constant
    if kind == "current":
        return lambda value: value
    if kind == "subexpression":
        steps = [_node(child) for child in children]

        def chain(value: Any) -> Any:
            for step in steps:
                if value is None:
                    return None
                value = step(value)
            return value

        return chain
    if kind == "index_expression" and len(children) == 2 and children[1]["type"] == "index":
        base, position = _node(children[0]), children[1]["value"]

        def index(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            try:
                return items[position]
            except IndexError:
                return None

        return index
    if kind == "comparator" and node["value"] in _ORDER and children[0]["type"] == "field" \
            and children[1]["type"] == "literal" and _number(children[1]["value"]):
        # The most common condition, `amount > `1000``, in one closure (no per-step calls).
        name, constant, compare = children[0]["value"], children[1]["value"], _ORDER[node["value"]]

        def field_vs_number(value: Any) -> Any:
            a = value.get(name) if isinstance(value, Mapping) else None
            if type(a) in (int, float):
                return compare(a, constant)
            if a is None:
                return None
            raise _unordered(a, constant)

        return field_vs_number
    if kind == "comparator":
        left, right = (_node(child) for child in children)
        op = node["value"]
        if op in _ORDER:
            compare = _ORDER[op]

            def order(value: Any) -> Any:
                return _ordered(compare, left(value), right(value))

            return order
        if op in ("eq", "ne"):
            wanted = op == "eq"
            return lambda value: _equal(left(value), right(value)) is wanted
        raise _Unsupported(op)
    if kind == "and_expression":
        left, right = (_node(child) for child in children)
        return lambda value: (lambda a: right(value) if truthy(a) else a)(left(value))
    if kind == "or_expression":
        left, right = (_node(child) for child in children)
        return lambda value: (lambda a: a if truthy(a) else right(value))(left(value))
    if kind == "not_expression":
        inner = _node(children[0])
        return lambda value: not truthy(inner(value))
    raise _Unsupported(kind)


def _ordered(compare: Callable[[Any, Any], bool], a: Any, b: Any) -> Any:
    """An ordering comparison (the module docstring): two numbers or two strings compared, null beside a
    null, `WhenError` for any other pair."""
    if (_number(a) and _number(b)) or (type(a) is str and type(b) is str):
        return compare(a, b)
    if a is None or b is None:
        return None
    raise _unordered(a, b)


def _unordered(a: Any, b: Any) -> WhenError:
    """The `WhenError` of an ordering comparison of `a` with `b`, naming their JMESPath types, not values."""
    kinds = [_kind(a), _kind(b)]
    return WhenError(f"it orders {_article(kinds[0])} {kinds[0]} with {_article(kinds[1])} {kinds[1]}, which "
                     "cannot be compared (only two numbers or two strings can)")


def _kind(value: Any) -> str:
    """A value's JMESPath type name (JMESPath spec, "Data Types")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)
