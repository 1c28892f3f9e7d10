"""What a suggested prune leaves out of a response, said in the manifest `mcprt init` writes.

`suggest.py` drops parts of a response by rule (a single order's `items[]`, a customer's `address`): an operator who
accepts the suggestion should not have to read raw responses to find out (shaping trial, fault 7). `left_out`
names the documented fields, two levels deep, that the expression reads nothing of; the writer puts them in one
comment above the prune.
"""

from __future__ import annotations

from typing import Any

from ..shaping.schema_paths import ANY, field_names, field_of, items_of

DEPTH = 2  # levels of the response named: `items`, `customer.address`
SHOWN = 8  # names in the comment; the rest are counted


def left_out(shape: dict[str, Any] | None, expression: str) -> list[str]:
    """The documented fields of response `shape` (a `schema_paths` shape) that `expression` reads nothing of,
    as dotted paths (`customer.address`; list items are their list's path), outermost only, in document order."""
    if not shape:
        return []
    import jmespath

    read: set[tuple[str, ...]] = set()
    whole: set[tuple[str, ...]] = set()
    whole.update(_walk(jmespath.compile(expression).parsed, [()], read, whole))
    if () in whole:
        return []  # the expression gives the response whole somewhere
    out: list[str] = []
    _documented(shape, (), "", read, whole, out, set())
    return out


def comment(paths: list[str]) -> str:
    """The one comment line naming `paths`."""
    shown = ", ".join(paths[:SHOWN]) + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")
    return f"        # the suggested prune leaves out: {shown}"


def _documented(shape: dict[str, Any], at: tuple[str, ...], written: str, read: set[tuple[str, ...]],
                whole: set[tuple[str, ...]], out: list[str], seen: set[int]) -> None:
    items = items_of(shape) if "properties" not in shape else None
    if items is not None and items != ANY and id(items) not in seen:  # a list: its items' fields, at its path
        seen.add(id(items))
        _documented(items, at, f"{written}[]", read, whole, out, seen)
        return
    for name in field_names(shape):
        path = (*at, name)
        if any(path[:len(w)] == w for w in whole):
            continue  # given whole, or inside something given whole
        shown = f"{written}.{name}" if written else name
        if not any(r[:len(path)] == path for r in read):
            out.append(shown)
            continue
        child, _ = field_of(shape, name)
        if child is not None and child != ANY and len(path) < DEPTH and id(child) not in seen:
            seen.add(id(child))
            _documented(child, path, shown, read, whole, out, seen)


def _walk(node: Any, bases: list[tuple[str, ...]], read: set[tuple[str, ...]],
          whole: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The paths `node` reaches from each of `bases` (list steps left out), recording every path it reads in
    `read` and the paths it gives as values (a hash's value, a function's argument) in `whole`."""
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    children = [child for child in node.get("children", ()) if isinstance(child, dict)]
    if kind == "field":
        reached = [(*base, str(node["value"])) for base in bases]
        read.update(reached)
        return reached
    if kind in ("current", "identity"):
        return bases
    if kind in ("subexpression", "pipe", "index_expression", "projection", "value_projection", "flatten"):
        reached = bases
        for child in children:
            if child.get("type") not in ("index", "slice"):
                reached = _walk(child, reached, read, whole)
        return reached
    if kind == "filter_projection":
        left, right, condition = children
        reached = _walk(left, bases, read, whole)
        _walk(condition, reached, read, whole)
        return _walk(right, reached, read, whole)
    if kind == "function_expression":
        reached: list[tuple[str, ...]] = []
        for child in children:
            if child.get("type") != "expref":
                given = _walk(child, bases, read, whole)
                whole.update(given)
                reached += given
        for child in children:
            if child.get("type") == "expref":
                for inner in child.get("children", ()):
                    whole.update(_walk(inner, reached or bases, read, whole))
        return []
    for child in children:  # multi-selects, key-value pairs, `||`, `&&`, comparisons: each a value from the bases
        whole.update(_walk(child, bases, read, whole))
    return []
