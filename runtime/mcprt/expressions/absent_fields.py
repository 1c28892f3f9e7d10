"""Which fields of a rendered `result` a template may find absent, as a graph over the result's shape.

`shaping.absence` builds it from the response shape, `templates.CompiledTemplate.render` follows it
along the value. A node stands for one shape node: the field names a record may lack there
(`absent`, `"*"`: any key of a map), and the node of each field, of a map's values (`"*"`) and of a
list's items (`"[]"`) on the way to one. A graph, not a set of paths: response shapes reuse one
object per `$ref`, and the paths through them grow exponentially with depth (a review measured
611,668 paths for a 4-fields × 9-levels shape, 20,625 for Stripe's `GetCustomers`), where the
nodes stay as many as the shape has.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class AbsentFields:
    """One shape node: `absent` field names (`"*"` any key) and `children` by step (name, `"*"`, `"[]"`).
    Recursive shapes give cycles; `len()` is the number of (node, name) pairs, linear in the shape."""

    __slots__ = ("absent", "children")

    def __init__(self) -> None:
        self.absent: set[str] = set()
        self.children: dict[str, AbsentFields] = {}

    @classmethod
    def from_paths(cls, paths: Iterable[tuple[str, ...]]) -> AbsentFields:
        """The graph of explicit paths (`("meta", "created")`, `("items", "[]", "x")`, `("m", "*")`)."""
        root = cls()
        for path in paths:
            node = root
            for step in path[:-1]:
                node = node.children.setdefault(step, cls())
            if path:
                node.absent.add(path[-1])
        return root

    def nodes(self) -> list[AbsentFields]:
        """Every node reachable from this one, each once."""
        seen: dict[int, AbsentFields] = {id(self): self}
        stack = [self]
        while stack:
            for child in stack.pop().children.values():
                if id(child) not in seen:
                    seen[id(child)] = child
                    stack.append(child)
        return list(seen.values())

    def __len__(self) -> int:
        return sum(len(node.absent) + len(node.children) for node in self.nodes())

    def __bool__(self) -> bool:
        return any(node.absent for node in self.nodes())

    def paths(self, limit: int = 1000) -> set[tuple[str, ...]]:
        """Up to `limit` of the absent fields' paths, each node on a path once (for tests and messages)."""
        found: set[tuple[str, ...]] = set()
        stack: list[tuple[AbsentFields, tuple[str, ...], frozenset[int]]] = [(self, (), frozenset())]
        while stack and len(found) < limit:
            node, path, on_path = stack.pop()
            found.update((*path, name) for name in node.absent)
            stack.extend((child, (*path, step), on_path | {id(node)})
                         for step, child in node.children.items() if id(child) not in on_path)
        return found

    def locate(self, value: Any) -> dict[int, list[AbsentFields]]:
        """For each dict of `value` (a JSON value) at a node of this graph, those nodes, by the dict's id
        (aliases and loop variables in a template are the same objects). Follows only the graph's edges,
        so its cost is bounded by the part of the value on the way to a documented-absent field."""
        where: dict[int, list[AbsentFields]] = {}
        if not self:
            return where
        stack: list[tuple[Any, AbsentFields]] = [(value, self)]
        while stack:
            item, node = stack.pop()
            if isinstance(item, dict):
                where.setdefault(id(item), []).append(node)
                for key, child in item.items():
                    for step in (str(key), "*"):
                        next_node = node.children.get(step)
                        if next_node is not None:
                            stack.append((child, next_node))
            elif isinstance(item, list):
                items = node.children.get("[]")
                if items is not None:
                    stack.extend((element, items) for element in item)
        return where

    def allows(self, name: str) -> bool:
        """Whether field `name` may be absent from a dict at this node."""
        return name in self.absent or "*" in self.absent


def pruned(root: AbsentFields) -> AbsentFields:
    """`root` without the edges that lead to no absent field (so `locate` walks only what matters)."""
    nodes = root.nodes()
    parents: dict[int, list[AbsentFields]] = {}
    for node in nodes:
        for child in node.children.values():
            parents.setdefault(id(child), []).append(node)
    stack = [node for node in nodes if node.absent]
    useful = {id(node) for node in stack}
    while stack:  # backwards from the absent fields: each node once, cycles (recursive shapes) included
        for parent in parents.get(id(stack.pop()), ()):
            if id(parent) not in useful:
                useful.add(id(parent))
                stack.append(parent)
    for node in nodes:
        node.children = {step: child for step, child in node.children.items() if id(child) in useful}
    return root
