"""Which members of its input a `prune` expression reads (the fields it looks up on the root value), and
which keys it builds (`built_keys`).

`shaping.prune_miss` asks whether a body holds *any* member a prune reads (present, whatever its
value: `{"note": null}` holds `note`), to tell a response of another shape (an error sent with a
2xx status) from a record whose selected fields are empty. JMESPath gives `null` both for a field
that is absent and for one that is null, so the values cannot tell; the syntax tree can.
"""

from __future__ import annotations

from typing import Any

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


def built_keys(root: Any) -> frozenset[str]:
    """The keys `root`'s multiselect hashes (`{id: id, note: note}`) build, at any depth: the keys the prune
    selects by name. `defaults.prune` `drop_keys` leaves these to the tool (`shaping.autoprune.AutoPruner.keeping`)."""
    found: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "key_val_pair":
            found.add(str(node.get("value")))
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))
    return frozenset(found)
