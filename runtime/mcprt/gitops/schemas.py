"""How a JSON Schema changed, path by path, for `mcprt diff`: `inputSchema` and `outputSchema` alike.

Each difference is named by its JSON Pointer (RFC 6901) into the schema — `/properties/data/items/
properties/tags` — with what changed there (added, removed, type, required, enum, another keyword),
so a reviewer reads the differing part itself, never a clipped dump of both schemas.

One rule decides what is breaking, read in the direction the data flows (JSON Schema 2020-12
§10.3.2.1 `properties`, §6.5.3 `required`, §6.1.1 `type`, §6.1.2 `enum`):
- an *input* breaks a call that worked before when it accepts less: a property removed, a property or
  `required` entry newly required, a type or enum narrowed;
- an *output* breaks a client that read it before when it promises less: a property removed, a
  `required` entry dropped, a type or enum widened (a value the client never saw before).
A change in both directions (`integer` → `string`) narrows and widens: breaking either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..wording import json_excerpt

Direction = Literal["input", "output"]

_WALKED = {"properties", "required", "type", "enum", "items", "additionalProperties", "anyOf"}


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
    """Every difference between two schemas, deepest paths included, each classified for `direction`."""
    if before == after:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):  # `true`/`false` schemas
        return [SchemaChange(pointer, "changed", f"{json_excerpt(before)} → {json_excerpt(after)}", True)]
    changes: list[SchemaChange] = []
    changes += _type_change(before, after, direction, pointer)
    changes += _enum_change(before.get("enum"), after.get("enum"), direction, pointer)
    changes += _properties(before, after, direction, pointer)
    for key in ("items", "additionalProperties"):
        if key in before and key in after:
            changes += schema_changes(before[key], after[key], direction, f"{pointer}/{key}")
        elif key in before or key in after:  # a constraint added narrows, one taken away widens
            narrowed = key in after
            changes.append(SchemaChange(f"{pointer}/{key}", key, f"{'now' if narrowed else 'no longer'} constrained",
                                        narrowed == (direction == "input")))
    was, now = before.get("anyOf"), after.get("anyOf")
    if isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        for index, (old_option, new_option) in enumerate(zip(was, now)):
            changes += schema_changes(old_option, new_option, direction, f"{pointer}/anyOf/{index}")
    elif was != now and not (was is None or now is None):  # one side without anyOf: `_type_change` told it
        changes.append(SchemaChange(f"{pointer}/anyOf", "anyOf", f"{len(was or [])} → {len(now or [])} options",
                                    True))
    for key in sorted((set(before) | set(after)) - _WALKED):
        if before.get(key) != after.get(key):
            shown = f"{key} {json_excerpt(before.get(key))} → {json_excerpt(after.get(key))}"
            changes.append(SchemaChange(pointer, key, shown, False))
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
            changes.append(SchemaChange(at, "added", "added" + (" (required)" if required else ""),
                                        direction == "input" and required))
            continue
        if name in new_required and name not in old_required:
            changes.append(SchemaChange(at, "required", "now required", direction == "input"))
        elif name in old_required and name not in new_required:
            changes.append(SchemaChange(at, "required", "now optional", direction == "output"))
        changes += schema_changes(old_props[name], schema, direction, at)
    return changes


def _type_change(before: dict[str, Any], after: dict[str, Any], direction: Direction, pointer: str
                 ) -> list[SchemaChange]:
    was, now = types(before), types(after)
    if was == now:
        return []
    # no type at all allows every type: from it any type narrows, to it any type widens
    narrowed = not was or (bool(now) and bool(was - now))
    widened = not now or (bool(was) and bool(now - was))
    breaking = narrowed if direction == "input" else widened
    shown = "type " + ("|".join(sorted(was)) or "any") + " → " + ("|".join(sorted(now)) or "any")
    return [SchemaChange(pointer, "type", shown, breaking)]


def types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows (`type`, else its `anyOf` options'); empty: any."""
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
