"""How a JSON Schema changed, path by path, for `mcprt diff`: `inputSchema` and `outputSchema` alike.

Each difference is named by its JSON Pointer (RFC 6901) into the schema — `/properties/data/items/
properties/tags` — with what changed there (added, removed, type, required, enum, another keyword),
so a reviewer reads the differing part itself, never a clipped dump of both schemas.

One rule decides what is breaking, read in the direction the data flows (JSON Schema 2020-12):
- an *input* breaks a call that worked before when it accepts less (narrows);
- an *output* breaks a client that read it before when it promises less (widens: a value the client
  never saw before, or a field it read gone).
A change that narrows and widens (`integer` → `string`) is breaking either way. What narrows:
- a property removed (both directions: a call passing it is refused, a client reading it finds nothing),
  a property or `required` name newly required (§10.3.2.1 `properties`, §6.5.3 `required`);
- a `type` that allows fewer types (§6.1.1; `number` includes `integer`), an `enum`/`const` with fewer values
  (§6.1.2, §6.1.3), OpenAPI 3.0's `nullable` taken away;
- `items`/`additionalProperties` (§10.3.1.2, §10.3.2.3) compared as schemas: absent, `true` and `{}`
  accept everything, `false` nothing; a new property where `additionalProperties` was `false` widens;
- `anyOf`/`oneOf` options matched by content, not position: an option removed narrows, one added widens
  (reordering is no change); `allOf` the other way round (§10.2.1);
- a bound added or tightened (`minimum`, `maximum`, `exclusive*`, `min*`/`max*` of length, items,
  properties, contains), `pattern`, `format`, `multipleOf` or `uniqueItems` added (§6.2–§6.4, §7); a
  changed `pattern`/`format`/`multipleOf` both narrows and widens.
Annotations (`description`, `title`, `default`, `examples`, …: §9) never break. Any other keyword
(`not`, `if`, `propertyNames`, an `x-` extension, a `$ref` that is not local, …) is reported as
*unclassified* and counted as possibly breaking: the rule cannot tell, so `--fail-on breaking` stops
for a reviewer rather than letting an unjudged change through (fail closed). Local `$ref`s are
inlined before comparing (`inline.py`), so a changed referenced schema is compared by content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..wording import json_excerpt

Direction = Literal["input", "output"]

# keywords whose bound narrows as its value grows (`min*`) or as it shrinks (`max*`)
_LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"}
_UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"}
# keywords that, when present, refuse values: added narrows, removed widens, changed does both
_CONSTRAINTS = {"pattern", "format", "multipleOf"}
# keywords that assert nothing (2020-12 Validation §9, Core §8): a change never breaks
ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
               "$schema", "$id", "$anchor", "x-mcprt-title", "example"}
# Marks a schema `inline.py` put where a local `$ref` stood (its value: the reference). An `allOf` of such a
# target and the `$ref`'s sibling keywords (`{"allOf": [{"$ref": …}, {"maxProperties": 5}]}`, as the OpenAPI
# compiler and `inline.py` write a `$ref` with siblings) is compared part by part at its own pointer, so a
# change reads as the referenced schema's field (`/properties/name`), not as an `/allOf/0/…` option. Never a
# keyword compared or shown.
REFERENCED = "x-mcprt-ref"
UNCLASSIFIED = "unclassified: the rule does not understand it, so it counts as possibly breaking; check it by hand"


@dataclass(frozen=True)
class SchemaChange:
    pointer: str  # RFC 6901 pointer into the schema ("" is the whole schema)
    what: str  # "added", "removed", "type", "required", "enum", or the keyword that changed
    detail: str
    breaking: bool

    def describe(self) -> str:
        """`/properties/tags: removed`, `/properties/id: type integer → string`."""
        return f"{self.pointer or '/'}: {self.detail}"


def schema_changes(before: Any, after: Any, direction: Direction, pointer: str = "") -> list[SchemaChange]:
    """Every difference between two schemas, deepest paths included, each classified for `direction`
    (see the module docstring). `true` is the schema `{}`; `false` accepts nothing."""
    shown = f"{json_excerpt(before)} → {json_excerpt(after)}"
    before, after = ({} if s is True else s for s in (before, after))
    if before == after:
        return []
    if before is False or after is False:  # the narrowest schema: to it narrows, from it widens
        return [SchemaChange(pointer, "changed", shown, (after is False) == (direction == "input"))]
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [SchemaChange(pointer, "changed", f"{shown} ({UNCLASSIFIED})", True)]
    split_before, split_after = _ref_parts(before), _ref_parts(after)
    if split_before is not None or split_after is not None:  # a `$ref` with siblings on either side
        (target_before, own_before), (target_after, own_after) = split_before or (before, {}), split_after or (after, {})
        return (schema_changes(target_before, target_after, direction, pointer)
                + schema_changes(own_before, own_after, direction, pointer))
    changes: list[SchemaChange] = []
    changes += _type_change(before, after, direction, pointer)
    changes += _enum_change(_values(before), _values(after), direction, pointer)
    changes += _properties(before, after, direction, pointer)
    for key in ("items", "additionalProperties"):  # absent is `true`: accepts everything
        changes += schema_changes(before.get(key, True), after.get(key, True), direction, f"{pointer}/{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        changes += _options(key, before.get(key), after.get(key), direction, pointer)
    for key in sorted((set(before) | set(after)) - {"enum", "const", "type", "properties", "required", "items",
                                                    "additionalProperties", "anyOf", "oneOf", "allOf", REFERENCED}):
        if before.get(key) != after.get(key):
            changes.append(_keyword_change(key, before.get(key), after.get(key), direction, pointer))
    return changes


def _ref_parts(schema: dict[str, Any]) -> tuple[Any, Any] | None:
    """(the referenced schema, the `$ref`'s sibling keywords) of an inlined `$ref` (`REFERENCED`), else None.
    Both must hold (an `allOf`, §10.2.1): compared part by part, each change is classified as any other."""
    parts = schema.get("allOf")
    if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], dict) and REFERENCED in parts[0]:
        return parts[0], parts[1]
    return None


def _unmarked(schema: Any) -> Any:
    """`schema` as shown to a reviewer: without `REFERENCED` (mcprt's mark, in no schema as written)."""
    return {k: v for k, v in schema.items() if k != REFERENCED} if isinstance(schema, dict) else schema


def _keyword_change(key: str, was: Any, now: Any, direction: Direction, pointer: str) -> SchemaChange:
    """A keyword that is not a subschema: a bound, a constraint, an annotation or one not understood."""
    shown = f"{key} {json_excerpt(was)} → {json_excerpt(now)}"
    narrowed = widened = False
    if key in _LOWER_BOUNDS or key in _UPPER_BOUNDS:
        if not _number(was) or not _number(now):  # a bound added narrows, taken away widens
            narrowed, widened = now is not None, was is not None
        else:
            narrowed = (now > was) if key in _LOWER_BOUNDS else (now < was)
            widened = not narrowed
    elif key in _CONSTRAINTS or key == "uniqueItems":
        narrowed, widened = bool(now) and now is not None, bool(was) and was is not None
    elif key == "nullable":  # OpenAPI 3.0: `nullable: true` adds null to the type
        narrowed, widened = bool(was) and not now, bool(now) and not was
    elif key not in ANNOTATIONS:
        return SchemaChange(pointer, key, f"{shown} ({UNCLASSIFIED})", True)
    return SchemaChange(pointer, key, shown, narrowed if direction == "input" else widened)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _options(key: str, was: Any, now: Any, direction: Direction, pointer: str) -> list[SchemaChange]:
    """`anyOf`/`oneOf`/`allOf` options matched by content: equal ones (wherever they stand) are no change;
    of the rest, an old and a new option allowing the same types are one option changed (compared
    deeper), any other is removed or added. Removing an `anyOf`/`oneOf` option narrows, adding one widens;
    `allOf` (every option must hold) the other way round."""
    if was == now:
        return []
    if not (isinstance(was, list | None) and isinstance(now, list | None)):
        return [SchemaChange(f"{pointer}/{key}", key, f"{json_excerpt(was)} → {json_excerpt(now)} ({UNCLASSIFIED})",
                             True)]
    old, new = list(was or []), list(now or [])
    for option in [o for o in old if o in new]:
        old.remove(option)
        new.remove(option)
    changes: list[SchemaChange] = []
    for option in list(old):
        twin = next((n for n in new if isinstance(n, dict) and isinstance(option, dict) and types(n) == types(option)),
                    None)
        if twin is not None:
            old.remove(option)
            new.remove(twin)
            at = f"{pointer}/{key}/{(now or []).index(twin)}"
            changes += schema_changes(option, twin, direction, at)
    narrows_when_removed = key != "allOf"
    for option in old:
        changes.append(SchemaChange(f"{pointer}/{key}/{(was or []).index(option)}", key,
                                    f"option {json_excerpt(_unmarked(option))} removed",
                                    narrows_when_removed == (direction == "input")))
    for option in new:
        changes.append(SchemaChange(f"{pointer}/{key}/{(now or []).index(option)}", key,
                                    f"option {json_excerpt(_unmarked(option))} added",
                                    narrows_when_removed != (direction == "input")))
    return changes


def _properties(before: dict[str, Any], after: dict[str, Any], direction: Direction, pointer: str
                ) -> list[SchemaChange]:
    changes: list[SchemaChange] = []
    old_props, new_props = before.get("properties") or {}, after.get("properties") or {}
    old_required, new_required = set(before.get("required") or []), set(after.get("required") or [])
    for name in old_props:
        if name not in new_props:
            # input: a call passing it is refused; output: a client reading it finds nothing
            changes.append(SchemaChange(_join(pointer, name), "removed", "removed", True))
    for name, schema in new_props.items():
        at = _join(pointer, name)
        if name not in old_props:
            required = name in new_required
            # an output object that refused other properties now has one a client never saw
            changes.append(SchemaChange(at, "added", "added" + (" (required)" if required else ""),
                                        required if direction == "input" else before.get("additionalProperties") is False))
            continue
        if name in new_required and name not in old_required:
            changes.append(SchemaChange(at, "required", "now required", direction == "input"))
        elif name in old_required and name not in new_required:
            changes.append(SchemaChange(at, "required", "now optional", direction == "output"))
        changes += schema_changes(old_props[name], schema, direction, at)
    for name in sorted((old_required ^ new_required) - set(old_props) - set(new_props)):
        # `required` may name a property `properties` does not describe (§6.5.3)
        now = name in new_required
        changes.append(SchemaChange(_join(pointer, name), "required", "now required" if now else "now optional",
                                    now == (direction == "input")))
    return changes


def _type_change(before: dict[str, Any], after: dict[str, Any], direction: Direction, pointer: str
                 ) -> list[SchemaChange]:
    if "type" not in before and "type" not in after:
        return []  # types only from `anyOf` options: `_options` tells those
    was, now = types(before), types(after)
    if was == now:
        return []
    # no type at all allows every type; `number` includes `integer` (§6.1.1)
    narrowed = bool(now) and (not was or any(not _covered(t, now) for t in was))
    widened = bool(was) and (not now or any(not _covered(t, was) for t in now))
    breaking = narrowed if direction == "input" else widened
    shown = "type " + ("|".join(sorted(was)) or "any") + " → " + ("|".join(sorted(now)) or "any")
    return [SchemaChange(pointer, "type", shown, breaking)]


def _covered(name: str, allowed: set[str]) -> bool:
    return name in allowed or (name == "integer" and "number" in allowed)


def types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows (`type`, else its `anyOf` options', else those an inlined `$ref` and its
    siblings both allow); empty: any."""
    parts = _ref_parts(schema)
    if parts is not None:
        allowed = [types(part) for part in parts if isinstance(part, dict) and types(part)]
        return set.intersection(*allowed) if allowed else set()
    value = schema.get("type")
    if isinstance(value, list):
        return {str(v) for v in value}
    if isinstance(value, str):
        return {value}
    options = schema.get("anyOf")
    if isinstance(options, list):
        found = [types(o) for o in options if isinstance(o, dict)]
        return set() if any(not t for t in found) else set().union(*found)
    return set()


def _values(schema: dict[str, Any]) -> Any:
    """The values a schema allows by `enum`, or by `const` (one value); None: any."""
    if "const" in schema:
        return [schema["const"]] if not isinstance(schema.get("enum"), list) else \
            [v for v in schema["enum"] if v == schema["const"]]
    return schema.get("enum")


def _enum_change(was: Any, now: Any, direction: Direction, pointer: str) -> list[SchemaChange]:
    if was == now:
        return []
    if isinstance(was, list) and isinstance(now, list):
        dropped = [v for v in was if v not in now]
        added = [v for v in now if v not in was]
        detail = "; ".join(p for p in (f"removed {json_excerpt(dropped)}" if dropped else "",
                                       f"added {json_excerpt(added)}" if added else "") if p)
        return [SchemaChange(pointer, "enum", detail,
                             bool(dropped) if direction == "input" else bool(added))]
    if now is not None:
        return [SchemaChange(pointer, "enum", f"now one of {json_excerpt(now)}", direction == "input")]
    return [SchemaChange(pointer, "enum", "any value now", direction == "output")]


def _join(pointer: str, name: str) -> str:
    """RFC 6901 §3: `~` and `/` in a name are escaped as `~0` and `~1`."""
    return f"{pointer}/properties/{name.replace('~', '~0').replace('/', '~1')}"
