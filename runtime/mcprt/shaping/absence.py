"""Which documented result fields an `output` template may find absent, and why.

An `output` template reads the result after `prune` and auto-prune (`defaults.prune`). A field the
API documents can still be missing from one record: the document does not list it as `required`,
or it is nullable and `drop_nulls` removes nulls, or it is a list that can be empty and
`drop_empty` removes empties, or `drop_keys` removes it. `template_paths` warns at each unguarded
look-up of such a field; `templates.CompiledTemplate.render` lets exactly those fields render
empty at call time (absent-but-documented is not a typo, and one record must not fail a tool).
Both decide with `Absence.reason` on the same shapes: the warnings follow the template's look-ups
through the result's shape, `documented` lists the same fields by their *path* in it (`("meta",
"created")`, `("items", "[]", "x")`, `"*"` for any key of a map), so a field of the same name
elsewhere in the response is not a pass for a look-up at a path the result does not document.

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

from .autoprune import AutoPruner
from .schema_paths import ANY, BUILT, field_names, field_of, items_of

_NULLS = "it may be null, and defaults.prune `drop_nulls` removes nulls"
_CONTAINERS = ("properties", "additionalProperties", "items", "anyOf", "oneOf", "allOf")


@dataclass(frozen=True)
class Absence:
    """The rules for one tool: its auto-prune, and the names the unpruned response shape may lack."""

    autoprune: AutoPruner | None = None
    by_name: dict[str, str] = field(default_factory=dict)  # field name -> why it may be absent
    # Paths of result fields a record may lack although the result's shape documents them there (each one
    # `reason` gives, and lists or objects under `drop_empty`): these render empty when absent. By path, not
    # name: a review showed `result.meta.created` rendering empty because `created` was nullable elsewhere.
    documented: frozenset[tuple[str, ...]] = frozenset()

    def reason(self, base: dict[str, Any], name: str, found: dict[str, Any]) -> str | None:
        """Why `name` (of shape `found`, looked up on object shape `base`) may be absent, else None."""
        pruner = self.autoprune
        if pruner is not None and pruner.drop_keys and pruner.drops_key(name):
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
    return Absence(autoprune, absent, frozenset(_documented_paths(rules, pruned_shape)))


_MAX_DEPTH = 24  # deeper result fields are not judged: a template reading one fails as for any missing field


def _documented_paths(rules: Absence, shape: dict[str, Any]) -> set[tuple[str, ...]]:
    """Paths in the result's `shape` of the fields a record may lack (`Absence.documented`), found by the
    look-ups a template makes (`field_of`, `items_of`), judged as `template_paths` judges them."""
    pruner = rules.autoprune
    paths: set[tuple[str, ...]] = set()
    on_path: set[int] = set()  # a recursive schema is walked once along each path

    def walk(node: dict[str, Any] | None, path: tuple[str, ...]) -> None:
        if not isinstance(node, dict) or node == ANY or id(node) in on_path or len(path) > _MAX_DEPTH:
            return
        on_path.add(id(node))
        for name in field_names(node):
            found, _ = field_of(node, name)
            if found is None or found == ANY:
                continue
            emptied = pruner is not None and pruner.drop_empty and bool(_types(found) & {"array", "object"})
            if emptied or rules.reason(node, name, found) is not None:
                paths.add((*path, name))
            walk(found, (*path, name))
        values, _ = field_of(node, "*")  # a map's values (`additionalProperties`), at any key
        if values is not None and values != ANY and "*" not in field_names(node):
            if rules.reason(node, "*", values) is not None:  # e.g. nullable values under drop_nulls
                paths.add((*path, "*"))
            walk(values, (*path, "*"))
        items = items_of(node)
        if items is not None:
            walk(items, (*path, "[]"))
        on_path.discard(id(node))

    walk(shape, ())
    return paths


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
