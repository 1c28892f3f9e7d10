"""What a suggested prune leaves out of a response, said in the manifest `mcprt init` writes.

`suggest.py` drops parts of a response by rule (a single order's `items[]`, a customer's `address`): an operator who
accepts the suggestion should not have to read raw responses to find out (shaping trial, fault 7). `left_out`
names the documented fields the expression reads nothing of, at any depth (review of shapefix, problem 7: a list's
`data[].customer.email`, three levels down, went unnamed): each outermost such field once, in document order. What
the expression reads is `expressions.prune_reads.source_paths`, the one walker `init`'s measure uses too; the
writer puts the names in one comment above the prune, at most `SHOWN` of them, the rest counted.
"""

from __future__ import annotations

from typing import Any

from ..expressions.prune_reads import kept, reads_whole, source_paths
from ..shaping.schema_paths import ANY, field_names, field_of, items_of
from .table import as_objects

SHOWN = 8  # names in the comment; the rest are counted


def left_out(shape: dict[str, Any] | None, expression: str) -> list[str]:
    """The documented fields of response `shape` (a `schema_paths` shape) that `expression` reads nothing of,
    as dotted paths with `[]` for list items (`customer.address`, `data[].customer.email`), outermost only, in
    document order. Empty when the expression gives the response whole (`@`)."""
    # a table's guard (`length(items || …) >= …`) reads the list and sends none of it: read its object alternative
    expression = as_objects(expression)
    if not shape or reads_whole(expression):
        return []
    out: list[str] = []
    _documented(shape, "", source_paths(expression), out, set())
    return out


def comment(paths: list[str]) -> str:
    """The one comment line naming `paths`."""
    shown = ", ".join(paths[:SHOWN]) + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")
    return f"        # the suggested prune leaves out: {shown}"


def _documented(shape: dict[str, Any], written: str, by: set[str], out: list[str], seen: set[int]) -> None:
    items = items_of(shape) if "properties" not in shape else None
    if items is not None and items != ANY and id(items) not in seen:  # a list: its items' fields, at `x[]`
        seen.add(id(items))
        _documented(items, f"{written}[]", by, out, seen)
        return
    for name in field_names(shape):
        path = f"{written}.{name}" if written else name
        if not kept(path, by):
            out.append(path)
            continue
        if any(path == p or path.startswith((f"{p}.", f"{p}[]")) for p in by):
            continue  # given whole, or inside something given whole
        child, _ = field_of(shape, name)
        if child is not None and child != ANY and id(child) not in seen:  # read inside: what of it is left out
            seen.add(id(child))
            _documented(child, path, by, out, seen)
