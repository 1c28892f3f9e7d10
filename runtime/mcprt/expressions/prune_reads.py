"""Which parts of its input a `prune` expression reads — the response fields as dotted paths (`source_paths`,
`kept`: `mcprt init`'s measure and its "leaves out" comment), the members it looks up on the root value
(`root_fields`) — and which keys it builds, where (`built_keys`).

`shaping.prune_miss` asks whether a body holds *any* member a prune reads (present, whatever its
value: `{"note": null}` holds `note`), to tell a response of another shape (an error sent with a
2xx status) from a record whose selected fields are empty. JMESPath gives `null` both for a field
that is absent and for one that is null, so the values cannot tell; the syntax tree can.
"""

from __future__ import annotations

from typing import Any

import jmespath

# Nodes whose first child is evaluated on their input and the others on what the first gave
# (`a.b`, `a | b`, `a[0]`, `a[*].b`, `*.b`, `a[?c].b`, `a[]`).
_CHAINS = frozenset({"subexpression", "pipe", "index_expression", "projection", "value_projection",
                     "filter_projection", "flatten"})


def root_fields(root: Any) -> frozenset[str] | None:
    """The field names `root` (a parsed jmespath expression, `jmespath.compile(…).parsed`) looks up on
    its input value, or None when it reads the input whole (`@`, `keys(@)`, `*`): then every member
    counts as read. On a stack of its own, so any depth is walked."""
    found: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        children = [child for child in node.get("children", ()) if isinstance(child, dict)]
        if kind == "field":
            found.add(str(node.get("value")))
        elif kind in ("current", "identity"):
            return None
        elif kind == "subexpression" and children and children[0].get("type") == "current":
            stack.append({"type": "subexpression", "children": children[1:]})  # `@.a` reads `a`
        elif kind == "value_projection":
            if children and children[0].get("type") in ("current", "identity"):
                return None  # `*.a`: every member's `a`
            stack.extend(children[:1])
        elif kind in _CHAINS:
            stack.extend(children[:1])
        elif kind == "expref":
            continue  # `&a` applies to the items a function is given, not to the input
        else:  # multi-selects, `||`, `&&`, `!`, comparisons, function arguments: each on the input
            stack.extend(children)
    return frozenset(found)


# Where a node's value lands in the prune's result, relative to the node: a projection's right side once per
# item (`[]`), a chain's last step where the chain's value is.
_PROJECTIONS = frozenset({"projection", "value_projection", "filter_projection"})

BuiltKey = tuple[tuple[str, ...], str]


def writes_text(root: Any) -> bool:
    """Whether `root` (a parsed expression) can give text of its own, not the input's: a literal (`'k'`, a JSON
    literal: a `${SECRET}` the manifest interpolated lands there) or `join` (parts assembled into one string).
    Its result is then scrubbed again (`shaping.result`); the input was scrubbed before shaping."""
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "literal" or (node.get("type") == "function_expression" and node.get("value") == "join"):
            return True
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))
    return False


def built_keys(root: Any) -> frozenset[BuiltKey]:
    """The keys `root`'s multiselect hashes (`{id: id, note: note}`) build, each with the path in the prune's
    result of the object it builds (`()` the result itself, `("data", "[]")` each item of its `data` array): the
    keys the prune selects by name, where it selects them. `defaults.prune` `drop_keys` leaves these, there only,
    to the tool (`shaping.autoprune.AutoPruner.keeping`); a key of the same name elsewhere (inside a value the
    prune passes through whole) is dropped as usual (review of shapefix, problem 4)."""
    found: set[BuiltKey] = set()
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        children = [child for child in node.get("children", ()) if isinstance(child, dict)]
        if kind == "multi_select_dict":
            for pair in children:
                key = str(pair.get("value"))
                found.add((path, key))
                stack.extend((child, (*path, key)) for child in pair.get("children", ()))
        elif kind in _PROJECTIONS and len(children) > 1:
            stack.append((children[-1], (*path, "[]")))
        elif kind in ("subexpression", "pipe") and children:
            stack.append((children[-1], path))
        elif kind == "multi_select_list":
            stack.extend((child, (*path, "[]")) for child in children)
        elif kind in ("or_expression", "and_expression"):
            stack.extend((child, path) for child in children)
    return frozenset(found)


def source_paths(expression: str) -> set[str]:
    """The response fields an expression reads, as dotted paths with `[]` for list items."""
    return _read(jmespath.compile(expression).parsed) - {""}


def source_paths_of(node: dict[str, Any]) -> set[str]:
    """`source_paths` of a parsed expression's node (a table's row expression, `measure.tables`)."""
    return _read(node) - {""}


def reads_whole(expression: str) -> bool:
    """Whether the expression gives (some of) its input whole: `@`, `{raw: @}`, `length(@)`. Reading the items of a
    list response (`[].{id: id}`, and a bare `[]`, which reads them as `[]`) is not: its fields are read one by one (`root_fields` says None
    for it, since it looks up no member of the root; `init`'s "leaves out" comment used that and said nothing of
    any list response's fields — a trial's search kept one `oneOf` alternative's fields, silently)."""
    return "" in _read(jmespath.compile(expression).parsed)


def _read(node: dict[str, Any]) -> set[str]:
    """The dotted paths a parsed expression reads, `""` among them when it gives its input whole."""
    leaves: set[str] = set()
    leaves.update(_walk(node, "", leaves))
    return leaves


def _walk(node: dict[str, Any], prefix: str, leaves: set[str]) -> list[str]:
    kind = node.get("type")
    children = node.get("children", [])
    if kind in ("identity", "current"):
        return [prefix]
    if kind == "field":
        return [f"{prefix}.{node['value']}" if prefix else node["value"]]
    if kind in ("subexpression", "pipe"):
        current = [prefix]
        for child in children:
            current = [p for c in current for p in _walk(child, c, leaves)]
        return current
    if kind in ("projection", "filter_projection", "value_projection"):
        lefts = _walk(children[0], prefix, leaves)
        if kind == "filter_projection":
            for left in lefts:
                _collect(children[2], f"{left}[]", leaves)
        return [p for left in lefts for p in _walk(children[1], f"{left}[]", leaves)]
    if kind == "flatten":
        return _walk(children[0], prefix, leaves)
    if kind == "index_expression":
        return [f"{p}[]" for p in _walk(children[0], prefix, leaves)]
    if kind in ("multi_select_dict", "multi_select_list", "function_expression", "or_expression",
                "and_expression", "not_expression", "comparator"):
        for child in children:
            _collect(child["children"][0] if child.get("type") == "key_val_pair" else child, prefix, leaves)
        return []
    return []


def _collect(node: dict[str, Any], prefix: str, leaves: set[str]) -> None:
    leaves.update(_walk(node, prefix, leaves))  # "" too: the input read whole (`source_paths` leaves it out)


def kept(path: str, by: set[str]) -> bool:
    """`path` is read by one of `by`, or lies inside a field one of them keeps whole.

    A path the hand-written prune reads as a whole object or list (`address`, the list under
    `length(spec.containers)`, the list a filter `[?ready]` walks) is kept by fields read inside it.
    """
    base = path.removesuffix("[]")
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[]")
               or p.startswith(base + ".") or p.startswith(base + "[]") for p in by)
