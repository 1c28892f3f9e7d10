"""Measuring suggested prunes on recorded cases: bytes saved, and fields kept vs hand-written prunes.

`source_paths` names the response fields a prune expression reads (`[].user.login`,
`labels[].name`); a hand-written prune's field is *kept* by a suggestion that reads it or a field
containing it — and, in a suggested table (`table.py`), only when each item's value at it is in the
column that reads it, row by row (`column_holds`). `measure_manifest` runs each recorded success case
of a manifest through the suggestion for its operation (plus the manifest's `defaults.prune`), the way
`mcprt init` would write it. Used by `catalog/_tools/measure_suggestions.py` and the tests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath

from ..expressions.prune_reads import kept, source_paths  # noqa: F401  (this module's measure, and its users')
from .signals import OperationSignals
from .suggest import SIGNALS, Budget, suggest_prune
from .table import as_objects, headers_hold, tables


def documented_by_name(shape: Any, path: str) -> bool:
    """Whether the response shape names every field on `path` (`issues[].fields.summary`).

    False when the path enters a free-form map (`additionalProperties` or an object without
    `properties`: Jira documents an issue's `fields` so) — no schema-driven rule can name its
    members — or a field the shape does not list.
    """
    from .suggest import _items, _object, _properties

    for segment in [s for s in path.replace("[]", ".[]").split(".") if s]:
        if shape is None:
            return False
        if segment == "[]":
            shape = _items(shape) if isinstance(shape, dict) and "items" in shape else shape
            continue
        inner = _object(shape)
        if inner is None or segment not in _properties(inner):
            return False
        shape = _properties(inner)[segment]
    return True


@dataclass
class CaseFigure:
    tool: str
    case: str
    raw_bytes: int
    sent_bytes: int  # with the suggested prune (and the manifest's defaults.prune)
    hand_bytes: int  # with the hand-written prune (and defaults.prune)
    missing: list[str] = field(default_factory=list)  # fields the hand-written prune keeps and the suggestion not
    # … of them, those the entry vouches for (not in the spec) or inside a free-form map (not named by it)
    undocumented: list[str] = field(default_factory=list)


@dataclass
class _Case:
    tool: str
    name: str
    body: Any
    hand: Any  # the hand-written prune's result (defaults.prune applied)
    hand_paths: set[str]
    signals: OperationSignals
    vouched: list[str]
    autoprune: Any  # its source's `defaults.prune` (an included manifest's own, `LoadedManifest.defaults_for`)
    # A case's figure depends on the suggestion alone: measuring other budgets or signals mostly yields a
    # suggestion already measured (`--signals`: 272 distinct of 2,574), so each is measured once.
    figures: dict[str | None, CaseFigure] = field(default_factory=dict)


@dataclass
class Prepared:
    """A manifest's recorded cases with what measuring a suggestion needs (compiled once, measured many times)."""

    entry: str
    cases: list[_Case]


def prepare(manifest: Path) -> Prepared:
    """Compile a manifest (replaying its pinned specs) and collect its recorded JSON success cases whose tool
    has a hand-written prune."""
    import asyncio

    from ..pipeline import Runtime
    from ..settings import load_settings
    from ..testing.cases import find_cases
    from ..testing.overrides import load_for_replay

    async def compiled() -> Any:
        settings = load_settings()
        runtime = Runtime(manifest, settings)
        try:
            return await runtime.compile(load_for_replay(manifest, None, settings))
        finally:
            await runtime.aclose()

    result = asyncio.run(compiled())
    annotated = _annotated(result.loaded)
    vouched = {o.name: o.undocumented_fields for src in result.loaded.manifest.sources.values()
               for o in (getattr(src, "tools", None) or {}).values() if o.name}
    cases: list[_Case] = []
    for case in find_cases(manifest):
        tool = result.toolset.get(case.tool)
        response = case.response
        if tool is None or tool.shaping.pruner is None or response is None or response.body is None:
            continue
        if response.body.kind != "json" or response.status >= 400:
            continue
        found = annotated.get(tool.source, {}).get(tool.operation.key) or OperationSignals(
            tool.operation.response_schema, tool.operation.default_response_schema)
        body = response.body.value
        hand = tool.shaping.pruner.apply(body)
        autoprune = tool.shaping.autoprune  # compiled from its source's defaults (`toolset.build`)
        if autoprune is not None:
            hand = autoprune.apply(hand)
        cases.append(_Case(case.tool, case.name, body, hand, source_paths(tool.shaping.pruner.expression), found,
                           vouched.get(case.tool, []), autoprune))
    return Prepared(manifest.parent.name, cases)


def measure_manifest(manifest: Path | Prepared, budget: Budget | None = None,
                     signals: frozenset[str] = SIGNALS) -> list[CaseFigure]:
    """Figures for every recorded JSON success case of a manifest whose tool has a hand-written prune.

    The suggestions are made from the annotated response shapes and the operation's `Hints`, as `mcprt init`
    makes them; `budget` / `signals`: with a field budget (`suggest.Budget`) or another set of signals, to
    measure their trade-off.
    """
    prepared = manifest if isinstance(manifest, Prepared) else prepare(manifest)
    figures: list[CaseFigure] = []
    for case in prepared.cases:
        suggestion = suggest_prune(case.signals.success, case.signals.default, budget, case.signals.hints, signals)
        if suggestion not in case.figures:
            case.figures[suggestion] = _case_figure(case, suggestion)
        figures.append(case.figures[suggestion])
    return figures


def _case_figure(case: _Case, suggestion: str | None) -> CaseFigure:
    """A case's figures with this suggested prune (None: the heuristic had nothing to say; nothing pruned)."""
    mine = jmespath.search(suggestion, case.body) if suggestion else case.body
    if case.autoprune is not None:
        mine = case.autoprune.apply(mine)
    # the key check reads a table's object alternative (`table.as_objects`: the same expressions): its guard,
    # `length(items || …) >= `3``, reads the list but sends none of it, and must not count as keeping it whole
    mine_paths = source_paths(as_objects(suggestion)) if suggestion else {""}
    missing = sorted(p for p in case.hand_paths if not (suggestion is None or kept(p, mine_paths)))
    if suggestion:  # a field a table's column reads is kept only when its values are in that column
        missing = sorted({*missing, *(p for p in case.hand_paths if p not in missing
                                      and not column_holds(suggestion, case.body, mine, p))})
    undocumented = [p for p in missing if kept(p, set(case.vouched)) or not documented_by_name(case.signals.success, p)]
    return CaseFigure(case.tool, case.name, _size(case.body), _size(mine), _size(case.hand),
                      [p for p in missing if p not in undocumented], undocumented)


def column_holds(expression: str, body: Any, sent: Any, path: str) -> bool:
    """Whether every value at `path` (a hand-kept field, `[]` for list items) of the response `body` is in the
    table column that reads it, row by row, in `sent` (the pruned result, `defaults.prune` applied): as strict for
    a table (`authoring.table`: `{columns: `[…]`, rows: X[].[…]}`) as the key check is for objects. True when no
    table's rows read `path` (the key check stands alone there).

    A column reads `path` when one of its expression's source paths is `path` or contains it (a column keeping
    `user` whole keeps `user.login`), or lies inside it (`kept`'s rule for a whole object or list the hand prune
    reads: then the values at those fields count); each row's cell must then hold every value the item has at
    `path` (its scalars, nulls and empty strings left out as `defaults.prune` leaves them out of objects; a cell
    holding more, or holding them under a hash's own keys, still holds them), and every item must have its row,
    in order."""
    if not headers_hold(expression):
        return False  # a column named as another: its values are not where the header says (review of prune90b, #6)
    for table in tables(expression):
        prefix = f"{table.list_path}[]"
        inside = path.removeprefix(prefix + ".") if path.startswith(prefix + ".") else None
        if inside is None:
            continue
        reading = [i for i, sources in enumerate(table.sources) if kept(inside, set(sources))]
        if not reading:
            continue
        listed = _values(body, table.list_path)
        items = listed[0] if len(listed) == 1 and isinstance(listed[0], list) else []
        at = _values(sent, table.output_path) if table.output_path else [sent]
        if len(at) == 1 and isinstance(at[0], list):
            continue  # a list too short to be a table (`table.MIN_ROWS`): objects, which the key check reads
        sent_rows = _values(sent, f"{table.output_path}.rows" if table.output_path else "rows")
        rows = sent_rows[0] if len(sent_rows) == 1 and isinstance(sent_rows[0], list) else []
        if len(rows) != len(items):
            return False
        for item, row in zip(items, rows, strict=True):
            if not any(isinstance(row, list) and i < len(row)
                       and not _held(item, inside, table.sources[i]) - Counter(_leaves([row[i]])) for i in reading):
                return False
    return True


def _held(item: Any, path: str, sources: frozenset[str]) -> Counter[str]:
    """The scalars of `item` a column reading `sources` must hold for `path`: those at `path` when a source is
    `path` or contains it; else (`path` is a whole object or list the hand prune reads, `length(spec.containers)`,
    and the column reads fields inside it: `kept`'s rule) those at the fields it reads there."""
    if any(path == s or path.startswith((f"{s}.", f"{s}[]")) for s in sources):
        return Counter(_leaves(_values(item, path)))
    return Counter(_leaves([v for s in sorted(sources) if s.startswith((f"{path}.", f"{path}[]"))
                            for v in _values(item, s)]))


def _leaves(values: list[Any]) -> list[str]:
    """The scalars in `values`, at any depth (as JSON, so `1` and `true` differ), nulls and empty strings left out:
    what a cell and the item it was read from are compared by."""
    out: list[str] = []
    for value in values:
        if isinstance(value, list):
            out += _leaves(value)
        elif isinstance(value, dict):
            out += _leaves(list(value.values()))
        elif value is not None and value != "":
            out.append(json.dumps(value))
    return out


def extra_paths(prepared: Prepared, budget: Budget | None = None,
                signals: frozenset[str] = SIGNALS) -> dict[tuple[str, str], int]:
    """Per (tool, path) the suggestion reads and the hand-written prune does not: the bytes of its values in the
    recorded responses (nulls and empties left out, as `drop_nulls`/`drop_empty` do; an object left out where
    the suggestion keeps only a non-object form). What `measure_suggestions.py --diff` ranks."""
    found: dict[tuple[str, str], int] = {}
    for case in prepared.cases:
        suggestion = suggest_prune(case.signals.success, case.signals.default, budget, case.signals.hints, signals)
        if not suggestion:
            continue
        for path in source_paths(suggestion):
            if kept(path, case.hand_paths):
                continue
            leaf = path.rsplit(".", 1)[-1].removesuffix("[]")
            id_form = f"[{leaf}][?type(@) != 'object']" in suggestion
            size = sum(_size(v) + len(leaf) + 4 for v in _values(case.body, path)
                       if v not in (None, "", [], {}) and not (id_form and isinstance(v, dict)))
            found[(case.tool, path)] = found.get((case.tool, path), 0) + size
    return found


def _values(body: Any, path: str) -> list[Any]:
    """The values at a dotted path with `[]` for list items."""
    current = [body]
    for segment in [s for s in path.replace("[]", ".[]").split(".") if s]:
        if segment == "[]":
            current = [v for c in current if isinstance(c, list) for v in c]
        else:
            current = [c[segment] for c in current if isinstance(c, dict) and segment in c]
    return current


def _annotated(loaded: Any) -> dict[str, dict[str, OperationSignals]]:
    """Per `openapi:` source of a (replay-loaded) manifest: its operations' annotated shapes and hints."""
    from ..manifest.model import OpenAPISource
    from ..settings import load_settings
    from ..sources.openapi import load_document
    from .signals import operation_signals

    cache_dir = Path(load_settings().cache_dir)
    found: dict[str, dict[str, OperationSignals]] = {}
    for name, source in loaded.manifest.sources.items():
        if isinstance(source, OpenAPISource):
            folder = loaded.source_dirs.get(name, loaded.base_dir)
            found[name] = operation_signals(load_document(source.openapi, folder, cache_dir, network=False))
    return found


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass
class EntryFigure:
    """One manifest's totals: bytes raw / with the suggestions / with the hand-written prunes, fields missed."""

    entry: str
    cases: int
    raw_bytes: int
    sent_bytes: int
    hand_bytes: int
    missing: list[str]  # `tool: path`, documented fields the hand-written prunes keep and the suggestions not
    undocumented: list[str]  # `tool: path`, hand-kept fields the spec does not name (vouched for, or free-form)


def measure_entry(manifest: Path | Prepared, budget: Budget | None = None,
                  signals: frozenset[str] = SIGNALS) -> EntryFigure:
    figures = measure_manifest(manifest, budget, signals)
    return EntryFigure(
        manifest.entry if isinstance(manifest, Prepared) else manifest.parent.name, len(figures), sum(f.raw_bytes for f in figures), sum(f.sent_bytes for f in figures),
        sum(f.hand_bytes for f in figures),
        sorted({f"{f.tool}: {p}" for f in figures for p in f.missing}),
        sorted({f"{f.tool}: {p}" for f in figures for p in f.undocumented}),
    )


def table(entries: list[EntryFigure]) -> str:
    """The Markdown table of `catalog/_tools/measure_suggestions.py` (and the README)."""
    lines = ["| entry | cases | raw bytes | suggested | reduction | hand-written | reduction | "
             "hand-kept fields not kept | hand-kept, undocumented |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for e in entries:
        lines.append(f"| {e.entry} | {e.cases} | {e.raw_bytes:,} | {e.sent_bytes:,} "
                     f"| {_pct(e.raw_bytes, e.sent_bytes)} | {e.hand_bytes:,} | {_pct(e.raw_bytes, e.hand_bytes)} | {', '.join(e.missing) or 'none'} "
                     f"| {', '.join(e.undocumented) or 'none'} |")
    n, raw = sum(e.cases for e in entries), sum(e.raw_bytes for e in entries)
    sent, hand = sum(e.sent_bytes for e in entries), sum(e.hand_bytes for e in entries)
    lines.append(f"| **all** | {n} | {raw:,} | {sent:,} | **{_pct(raw, sent)}** | {hand:,} | {_pct(raw, hand)} | | |")
    return "\n".join(lines)


def _pct(raw: int, sent: int) -> str:
    return f"{(1 - sent / raw) * 100:.1f}%" if raw else "–"
