"""Which documented result fields an `output` template may find absent, and why.

An `output` template reads the result after `prune` and auto-prune (`defaults.prune`). A field the
API documents can still be missing from one record: the document does not list it as `required`,
or it is nullable and `drop_nulls` removes nulls, or it is a list that can be empty and
`drop_empty` removes empties, or `drop_keys` removes it. `template_paths` warns at each unguarded
look-up of such a field; `templates.CompiledTemplate.render` lets exactly those fields render
empty at call time (absent-but-documented is not a typo, and one record must not fail a tool).
Both decide with `Absence.reason` on the same shapes: the warnings follow the template's look-ups
through the result's shape, `documented` holds the same fields by their place in it
(`expressions.absent_fields`: a graph over the shape's nodes; its paths read `("meta", "created")`,
`("items", "[]", "x")`, `"*"` for any key of a map), so a field of the same name elsewhere in the
response is not a pass for a look-up at a place the result does not document.

Precision: on an object shape the tool's prune passes through as the document has it (`@`, a
field path), the object's own `required` list and the field's own type decide. An object the
prune builds (`{a: x, b: y}`, `x-mcprt-built`) gives every field `null` (JMESPath: a missing field
is null), which says nothing about the record, so there the field's *name* decides: it may be
absent when every field of that name in the unpruned response shape is nullable and `drop_nulls`
is on (the weaker signals, by name alone, flagged fields no record lacks in the catalog's APIs). A field
renamed by the prune (`owner_login: owner.login`) is then judged by its new name only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..expressions.absent_fields import AbsentFields, pruned
from .autoprune import AutoPruner
from .schema_paths import ANY, BUILT, field_names, field_of, items_of

_NULLS = "it may be null, and defaults.prune `drop_nulls` removes nulls"
_CONTAINERS = ("properties", "additionalProperties", "items", "anyOf", "oneOf", "allOf")


@dataclass(frozen=True)
class Absence:
    """The rules for one tool: its auto-prune, and the names the unpruned response shape may lack."""

    autoprune: AutoPruner | None = None
    by_name: dict[str, str] = field(default_factory=dict)  # field name -> why it may be absent
    # Result fields a record may lack although the result's shape documents them there (each one `reason`
    # gives, and lists or objects under `drop_empty`): these render empty when absent. By place in the shape,
    # not name: a review showed `result.meta.created` rendering empty because `created` was nullable elsewhere.
    documented: AbsentFields = field(default_factory=AbsentFields)

    def reason(self, base: dict[str, Any], name: str, found: dict[str, Any]) -> str | None:
        """Why `name` (of shape `found`, looked up on object shape `base`) may be absent, else None."""
        pruner = self.autoprune
        if pruner is not None and pruner.drop_keys and pruner.drops_key(name) and \
                not (base.get(BUILT) is True and pruner.builds(name)):  # an object the prune builds keeps its keys
            return "defaults.prune `drop_keys` removes it"
        if base.get(BUILT) is True:
            return self.by_name.get(name)
        return _reason(base, name, found, pruner)


def absence_rules(
    source_shape: dict[str, Any] | None, pruned_shape: dict[str, Any] | None, autoprune: AutoPruner | None
) -> Absence:
    """The `Absence` rules for a tool whose unpruned response has `source_shape` and pruned result
    `pruned_shape` (`schema_paths` shapes, or None when undocumented: then only `drop_keys` can be
    judged, and no name renders empty)."""
    by_name: dict[str, str] = {}
    present: set[str] = set()  # names some object documents as always there: not judged by name
    seen: set[int] = set()

    def walk(shape: Any) -> None:
        if not isinstance(shape, dict) or id(shape) in seen:
            return
        seen.add(id(shape))
        properties = shape.get("properties")
        if isinstance(properties, dict):
            for name, child in properties.items():
                if isinstance(child, dict) and shape.get(BUILT) is not True:
                    # by name, only the strong signal counts: documented nullable, and nulls are dropped
                    if autoprune is not None and autoprune.drop_nulls and "null" in _types(child):
                        by_name.setdefault(name, _NULLS)
                    else:
                        present.add(name)
        for key in _CONTAINERS:
            value = shape.get(key)
            for child in (value.values() if key == "properties" and isinstance(value, dict)
                          else value if isinstance(value, list) else [value]):
                walk(child)

    walk(source_shape)
    walk(pruned_shape)
    absent = {name: why for name, why in by_name.items() if name not in present}
    rules = Absence(autoprune, absent)
    if pruned_shape is None:
        return rules
    return Absence(autoprune, absent, _documented(rules, pruned_shape))


def _documented(rules: Absence, shape: dict[str, Any]) -> AbsentFields:
    """The fields in the result's `shape` a record may lack (`Absence.documented`), found by the look-ups a
    template makes (`field_of`, `items_of`), judged as `template_paths` judges them. One graph node per
    shape node (`_key`), so shapes that reuse a `$ref` cost what the shape has, not every path through it."""
    pruner = rules.autoprune
    made: dict[Any, AbsentFields] = {}
    alive: list[dict[str, Any]] = []  # the `anyOf`s `field_of` builds: kept so their options' ids stay theirs
    todo: list[tuple[dict[str, Any], AbsentFields]] = []

    def node_of(shape_node: dict[str, Any]) -> AbsentFields:
        key = _key(shape_node)
        found = made.get(key)
        if found is None:
            found = made[key] = AbsentFields()
            alive.append(shape_node)
            todo.append((shape_node, found))
        return found

    root = node_of(shape)
    while todo:
        node, graph = todo.pop()
        for name in field_names(node):
            found, _ = field_of(node, name)
            if found is None or found == ANY:
                continue
            emptied = pruner is not None and pruner.drop_empty and bool(_types(found) & {"array", "object"})
            if emptied or rules.reason(node, name, found) is not None:
                graph.absent.add(name)
            graph.children[name] = node_of(found)
        values, _ = field_of(node, "*")  # a map's values (`additionalProperties`), at any key
        if values is not None and values != ANY and "*" not in field_names(node):
            if rules.reason(node, "*", values) is not None:  # e.g. nullable values under drop_nulls
                graph.absent.add("*")
            graph.children["*"] = node_of(values)
        items = items_of(node)
        if items is not None and items != ANY:
            graph.children["[]"] = node_of(items)
    return pruned(root)


def _key(shape: dict[str, Any]) -> Any:
    """The identity of a shape node: its object, or for a bare `anyOf` (which `field_of` and `items_of`
    build anew on every call) its options' objects."""
    options = shape.get("anyOf")
    if len(shape) == 1 and isinstance(options, list):
        return ("anyOf", *(id(option) for option in options))
    return id(shape)


def _reason(base: dict[str, Any], name: str, found: dict[str, Any], pruner: AutoPruner | None) -> str | None:
    required = base.get("required")
    if isinstance(required, list) and name not in required:  # a document without `required` says nothing
        return "the API description does not list it as required"
    types = _types(found)
    if pruner is not None and pruner.drop_nulls and "null" in types:
        return _NULLS
    # Lists only: every text field would be flagged for `""`, and a documented object is rarely left empty;
    # both still render empty when they are (`documented`).
    if pruner is not None and pruner.drop_empty and "array" in types and not found.get("minItems"):
        return "it may be empty, and defaults.prune `drop_empty` removes empty values"
    return None


def _types(shape: dict[str, Any]) -> set[str]:
    kinds = shape.get("type")
    if kinds is None:
        if items_of(shape) is not None and "items" in shape:
            return {"array"}
        return set()
    return {kinds} if isinstance(kinds, str) else set(kinds)
