"""What the model would see change between two compiled manifests, tool by tool.

Tools are matched by name; a tool whose name disappeared but whose operation (source and operation
key) is still exposed under another name is a rename. Breaking changes are those that make a call
that worked before fail now: a tool removed or renamed, an argument removed (unless it is now fixed
or hidden, whose values are silently ignored), an argument newly required, an argument's type
changed or enum values removed — and, though the model sees the same tool, a change of what it sends upstream
or to whom, or of who may call it (`requests.py`, which says why those are breaking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..manifest.loader import LoadedManifest
from ..manifest.model import SourceBase
from ..scrubbing import SECRETS
from ..toolset.tool import Tool
from ..toolset.toolset import ToolSet
from ..wording import excerpt, json_excerpt
from .effective import effective_changes
from .inline import inline_refs
from .requests import policy_changes, request_changes, source_changes
from .schemas import schema_changes, types


@dataclass
class Change:
    """One change, as every format shows it. `detail` quotes definitions (descriptions, schema values,
    server settings): scrubbed of configured secrets here, once for every format, as tools/list is (a
    description changed to hold a key was printed with it: `Uses a key → Uses key sk-live-…`)."""

    kind: str  # e.g. "argument added", "description changed", "prune changed"
    detail: str
    breaking: bool = False

    def __post_init__(self) -> None:
        self.detail = SECRETS.scrub_text(self.detail)


@dataclass
class ToolDiff:
    status: str  # "added", "removed", "renamed", "changed"
    name: str  # the new name (the old one for a removed tool)
    old_name: str | None = None
    operation: str | None = None
    changes: list[Change] = field(default_factory=list)
    old_bytes: int | None = None  # definition sizes
    new_bytes: int | None = None

    @property
    def breaking(self) -> bool:
        return self.status in ("removed", "renamed") or any(c.breaking for c in self.changes)


@dataclass
class ToolsetDiff:
    tools: list[ToolDiff]
    manifest_changes: list[Change]
    old_list_bytes: int
    new_list_bytes: int
    old_count: int
    new_count: int

    @property
    def breaking(self) -> bool:
        return any(t.breaking for t in self.tools) or any(c.breaking for c in self.manifest_changes)


def _identity(tool: Tool) -> tuple[str, str]:
    return tool.source, tool.operation.key


def compare_toolsets(old: ToolSet, new: ToolSet, old_loaded: LoadedManifest, new_loaded: LoadedManifest,
                     gates: tuple[Any, Any] = (None, None), principals: Sequence[str] = ()) -> ToolsetDiff:
    """Every tool added, removed, renamed or changed; `gates` (each side's policy gate, None without a
    policy) and `principals` (the callers to decide for, `requests.known_principals`) add each tool's
    changed policy decisions."""
    sides = _Sides(old_loaded, new_loaded, gates, tuple(principals))
    old_by_name = {t.name: t for t in old}
    new_by_name = {t.name: t for t in new}
    diffs: list[ToolDiff] = []
    # a name kept but now another operation's (`tool_2` was `作成`, is now `削除`): its old operation may be served
    # under another name, a rename, as a name that vanished may (trial_i18n fault 3: listed as "added" before)
    moved = {name for name in old_by_name.keys() & new_by_name.keys()
             if _identity(old_by_name[name]) != _identity(new_by_name[name])}
    gone = [t for name, t in old_by_name.items() if name not in new_by_name or name in moved]
    fresh = [t for name, t in new_by_name.items() if name not in old_by_name or name in moved]
    fresh_by_op = {_identity(t): t for t in fresh}
    fresh_by_key: dict[str, list[Tool]] = {}
    for tool in fresh:
        fresh_by_key.setdefault(tool.operation.key, []).append(tool)
    renamed: dict[str, Tool] = {}
    for tool in gone:
        match = fresh_by_op.get(_identity(tool))
        if match is None and len(fresh_by_key.get(tool.operation.key, [])) == 1:
            match = fresh_by_key[tool.operation.key][0]  # the source was renamed too
        if match is not None and match.name not in {m.name for m in renamed.values()}:
            renamed[tool.name] = match
    for name in sorted(old_by_name):
        if name in new_by_name:
            diff = _tool_changes(old_by_name[name], new_by_name[name], sides)
            if name in moved:
                old_op, new_op = old_by_name[name].operation.key, new_by_name[name].operation.key
                diff.changes.insert(0, Change("operation changed", f"{old_op} → {new_op}: calls by this name now reach "
                                              "another operation", breaking=True))
            if diff.changes:
                diffs.append(diff)
        if name in renamed:
            diff = _tool_changes(old_by_name[name], renamed[name], sides)
            diff.status, diff.old_name = "renamed", name
            diffs.append(diff)
        elif name not in new_by_name:
            tool = old_by_name[name]
            diffs.append(ToolDiff("removed", name, operation=tool.operation.key, old_bytes=tool.definition_size()))
    taken = {t.name for t in renamed.values()}
    for name in sorted(new_by_name):
        if name not in old_by_name and name not in taken:
            tool = new_by_name[name]
            diffs.append(ToolDiff("added", name, operation=tool.operation.key, new_bytes=tool.definition_size(),
                                  changes=_added_tool_notes(tool)))
    order = {"removed": 0, "renamed": 1, "changed": 2, "added": 3}
    diffs.sort(key=lambda d: (not d.breaking, order[d.status], d.name))
    return ToolsetDiff(
        tools=diffs,
        manifest_changes=_manifest_changes(old_loaded, new_loaded)
        + [Change(kind, detail, breaking) for kind, detail, breaking in source_changes(old_loaded, new_loaded,
                                                                                       _reaches(old, new))],
        old_list_bytes=len(old.list_result_bytes()),
        new_list_bytes=len(new.list_result_bytes()),
        old_count=len(old.listed),
        new_count=len(new.listed),
    )


def _reaches(old: ToolSet, new: ToolSet) -> dict[str, list[str]]:
    """Source name → the names of its tools, sorted: the new side's, else (all removed) the old side's."""
    reaches: dict[str, list[str]] = {}
    for side in (new, old):
        found: dict[str, list[str]] = {}
        for tool in side:
            found.setdefault(tool.source, []).append(tool.name)
        for source, names in found.items():
            reaches.setdefault(source, sorted(names))
    return reaches


def _added_tool_notes(tool: Tool) -> list[Change]:
    required = tool.input_schema.get("required") or []
    args = ", ".join(f"`{a}`{'*' if a in required else ''}" for a in (tool.input_schema.get("properties") or {}))
    return [Change("arguments", args or "none")]


@dataclass(frozen=True)
class _Sides:
    old: LoadedManifest
    new: LoadedManifest
    gates: tuple[Any, Any]
    principals: tuple[str, ...]


def _tool_changes(old: Tool, new: Tool, sides: _Sides) -> ToolDiff:
    old_loaded, new_loaded = sides.old, sides.new
    diff = ToolDiff("changed", new.name, operation=new.operation.key, old_bytes=old.definition_size(),
                    new_bytes=new.definition_size())
    diff.changes += _argument_changes(old, new)
    if old.description != new.description:
        diff.changes.append(Change("description changed", _before_after(old.description, new.description)))
    if (old.title or "") != (new.title or ""):
        diff.changes.append(Change("title changed", _before_after(old.title or "", new.title or "")))
    old_override, new_override = _override(old, old_loaded), _override(new, new_loaded)
    for key, label in (("prune", "prune"), ("output", "output template")):
        was, now = old_override.get(key), new_override.get(key)
        if (was or "") != (now or ""):
            verb = "added" if not was else "removed" if not now else "changed"
            diff.changes.append(Change(f"{label} {verb}", _before_after(was or "", now or "")))
    diff.changes += _output_schema_changes(old.output_schema, new.output_schema)
    if old.annotations != new.annotations:
        diff.changes.append(Change("annotations changed", _values_before_after(old.annotations, new.annotations)))
    diff.changes += [Change(kind, detail) for kind, detail in effective_changes(old, new)]
    for found in (request_changes(old, new, old_loaded, new_loaded),
                  policy_changes(old, new, *sides.gates, sides.principals)):
        diff.changes += [Change(kind, detail, breaking) for kind, detail, breaking in found]
    if old.listed != new.listed:
        diff.changes.append(Change("exposure changed", "now listed directly" if new.listed
                                   else "now reachable through discovery only"))
    return diff


def _output_schema_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """outputSchema: one change per JSON Pointer that differs; breaking when a client reading structuredContent
    finds less than before (`schemas` module: a field removed, no longer required, a type or enum widened)."""
    if before == after:
        return []
    if before is None:
        fields = ", ".join(f"`{name}`" for name in (after or {}).get("properties") or {})
        return [Change("output schema added", f"fields {fields}" if fields else "an object")]
    if after is None:
        return [Change("output schema removed", "structuredContent is no longer declared", breaking=True)]
    return [Change("output schema changed", c.describe(), c.breaking)
            for c in schema_changes(inline_refs(before), inline_refs(after), "output")]


def _override(tool: Tool, loaded: LoadedManifest) -> dict[str, Any]:
    source = loaded.manifest.sources.get(tool.source)
    if not isinstance(source, SourceBase) or tool.override_key is None:
        return {}
    override = source.tools.get(tool.override_key)
    return override.model_dump() if override is not None else {}


def _argument_changes(old: Tool, new: Tool) -> list[Change]:
    changes: list[Change] = []
    old_schema, new_schema = inline_refs(old.input_schema), inline_refs(new.input_schema)  # compared by content
    old_props = old_schema.get("properties") or {}
    new_props = new_schema.get("properties") or {}
    old_required = set(old_schema.get("required") or [])
    new_required = set(new_schema.get("required") or [])
    for name in old_props:
        if name in new_props:
            continue
        if name in new.args.hidden:
            how = "fixed" if name in new.args.fixed else "hidden"
            changes.append(Change("argument now " + how, f"`{name}` is no longer shown; a value the model sends is "
                                  "ignored"))
        else:
            changes.append(Change("argument removed", f"`{name}`: calls that pass it now fail", breaking=True))
    for name, schema in new_props.items():
        if name not in old_props:
            if name in new_required:
                changes.append(Change("argument added", f"`{name}` (required): calls without it now fail",
                                      breaking=True))
            else:
                changes.append(Change("argument added", f"`{name}` (optional)"))
            continue
        before = old_props[name]
        if name in new_required and name not in old_required:
            changes.append(Change("argument now required", f"`{name}`: calls without it now fail", breaking=True))
        elif name in old_required and name not in new_required:
            changes.append(Change("argument now optional", f"`{name}`"))
        changes += _schema_changes(name, before, schema)
    return changes


_OWN_MESSAGES = {"default", "description"}  # an argument's own keywords worded below, not as schema paths


def _schema_changes(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """One argument's schema: its type and values in the words of an argument, anything deeper by JSON
    Pointer; breaking by the input rule of the `schemas` module (a narrowed type or enum refuses a value
    that worked)."""
    changes: list[Change] = []
    for change in schema_changes(before, after, "input"):
        if change.pointer == "" and change.what == "type":
            changes.append(Change("argument type changed", f"`{name}`: {_types(before)} → {_types(after)}",
                                  change.breaking))
        elif change.pointer == "" and change.what == "enum":
            changes.append(Change("argument values changed", f"`{name}`: {change.detail}", change.breaking))
        elif change.pointer or change.what not in _OWN_MESSAGES:
            changes.append(Change("argument schema changed", f"`{name}` {change.describe()}", change.breaking))
    if before.get("default") != after.get("default"):
        was = json_excerpt(before["default"]) if "default" in before else "none"
        now = json_excerpt(after["default"]) if "default" in after else "none"
        changes.append(Change("argument default changed", f"`{name}`: {was} → {now}"))
    if (before.get("description") or "") != (after.get("description") or ""):
        changes.append(Change("argument description changed",
                              f"`{name}`: " + _before_after(before.get("description") or "",
                                                            after.get("description") or "")))
    return changes


def _types(schema: dict[str, Any]) -> str:
    return "|".join(sorted(types(schema))) or "any"


def _manifest_changes(old: LoadedManifest, new: LoadedManifest) -> list[Change]:
    changes: list[Change] = []
    was, now = old.manifest.defaults.prune.model_dump(), new.manifest.defaults.prune.model_dump()
    if was != now:
        changes.append(Change("automatic pruning changed", _values_before_after(was, now)))
    for name in sorted(set(old.manifest.sources) & set(new.manifest.sources)):  # an included manifest's own
        source_was, source_now = old.defaults_for(name).prune.model_dump(), new.defaults_for(name).prune.model_dump()
        if source_was != source_now and (source_was, source_now) != (was, now):
            changes.append(Change("automatic pruning changed",
                                  f"source {name}: " + _values_before_after(source_was, source_now)))
    if old.manifest.server.instructions != new.manifest.server.instructions:
        changes.append(Change("server instructions changed", _before_after(old.manifest.server.instructions or "",
                                                                          new.manifest.server.instructions or "")))
    if old.manifest.server.name != new.manifest.server.name:
        changes.append(Change("server name changed", f"{old.manifest.server.name} → {new.manifest.server.name}"))
    if old.manifest.policy != new.manifest.policy:
        from ..policy.diff import compare_policies

        # A loosened policy lets agents do more than before: flagged like a breaking change.
        changes += [Change(c.kind + (" (loosened)" if c.loosened else ""), c.detail, c.loosened)
                    for c in compare_policies(old.manifest.policy, new.manifest.policy)]
    return changes


def _before_after(before: str, after: str) -> str:
    """Two texts, whitespace runs made single spaces, each clipped; empty is `(none)`."""
    return f"{excerpt(' '.join(before.split())) or '(none)'} → {excerpt(' '.join(after.split())) or '(none)'}"


def _values_before_after(before: Any, after: Any) -> str:
    return f"{json_excerpt(before)} → {json_excerpt(after)}"
