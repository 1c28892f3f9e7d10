"""`defaults.prune`: generic pruning of every JSON result (nulls, empties, noisy keys like `*_url`).

It runs after the tool's own `prune` expression, on every JSON value, so it has to be cheap: the
key globs are compiled into one regex, each key's verdict is remembered (APIs repeat the same few
dozen keys thousands of times), and an unchanged subtree is returned as is instead of copied.
The input is never mutated.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from mcprt.manifest.model import AutoPrune

# (path in the value, key): a key a tool's prune builds there (`expressions.prune_reads.built_keys`)
KeptKey = tuple[tuple[str, ...], str]

_MAX_REMEMBERED_KEYS = 4096


class AutoPruner:
    """Drops nulls, empty values and keys matching globs, at any depth, bottom-up.

    Bottom-up means an object that becomes empty because all its keys were dropped is itself
    dropped when `drop_empty` is on. List items are never removed (that would shift positions);
    only object keys are.
    """

    __slots__ = ("drop_nulls", "drop_empty", "drop_keys", "kept_keys", "_key_regex", "_verdicts")

    def __init__(self, drop_nulls: bool = False, drop_empty: bool = False, drop_keys: tuple[str, ...] = (),
                 kept_keys: frozenset[KeptKey] = frozenset()) -> None:
        self.drop_nulls = drop_nulls
        self.drop_empty = drop_empty
        self.drop_keys = tuple(drop_keys)
        # keys a tool's own prune selects by name, where it builds them: `drop_keys` leaves them there (`keeping`)
        self.kept_keys = kept_keys
        self._key_regex = (
            re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in self.drop_keys)) if self.drop_keys else None
        )
        self._verdicts: dict[str, bool] = {}

    def apply(self, data: Any) -> Any:
        """A pruned copy of `data` (sharing unchanged subtrees). The top-level value is always kept."""
        return self._walk(data, () if self.kept_keys else None)

    def keeping(self, names: frozenset[KeptKey]) -> AutoPruner:
        """This auto-prune for a tool whose own prune selects `names` by name (`{id: id, note: note}`): its
        `drop_keys` leave those keys alone — the tool's explicit selection is more specific than a source-wide
        default (shaping trial, fault 6: `drop_keys: [note, "*_cursor"]` deleted the `note` and the `next_cursor`
        a tool's prune asked for, and the model could not paginate). Only where the prune builds the key (`names`:
        (path, key) pairs, `prune_reads.built_keys`): an alias `customer` at the top keeps no `customer` nested in
        the data the prune passes whole. Itself when no such name is dropped."""
        kept = frozenset((path, key) for path, key in names if self.drops_key(key))
        if not kept:
            return self
        return AutoPruner(self.drop_nulls, self.drop_empty, self.drop_keys, self.kept_keys | kept)

    def drops_key(self, key: str, path: tuple[str, ...] | None = None) -> bool:
        """Whether a key matches one of the `drop_keys` globs (case-sensitive, like fnmatchcase) and is not
        one the tool's prune selects at `path` (the object's place in the value, `[]` for array items: `keeping`)."""
        if self._key_regex is None or (path is not None and (path, key) in self.kept_keys):
            return False
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._key_regex.match(key) is not None
            if len(self._verdicts) < _MAX_REMEMBERED_KEYS:
                self._verdicts[key] = verdict
        return verdict

    def project_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """`schema` (a JSON Schema of the values `apply` receives) as `apply` leaves them: properties named by
        `drop_keys` removed at any depth (and from `required`); with `drop_nulls`/`drop_empty` a property may
        be missing, so none stays `required`. A tool's own `prune` projects its outputSchema the same way
        (`shaping.schema_paths`), so a key dropped here is never advertised. Returns a new dict."""
        return self._project(schema, ())

    def _project(self, schema: Any, path: tuple[str, ...]) -> Any:
        if not isinstance(schema, dict):
            return schema
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: self._project(child, (*path, name)) for name, child in value.items()
                            if not self.drops_key(name, path)}
            elif key == "required" and isinstance(value, list):
                if self.drop_nulls or self.drop_empty:
                    continue  # a null or empty value goes away with its key
                out[key] = [name for name in value if not self.drops_key(name, path)]
            elif key == "anyOf" and isinstance(value, list):
                out[key] = [self._project(v, path) for v in value]
            elif key == "items":
                out[key] = self._project(value, (*path, "[]"))
            elif key == "prefixItems" and isinstance(value, list):  # a table's row (`authoring.table`)
                out[key] = [self._project(v, (*path, "[]")) for v in value]
            elif key == "additionalProperties":
                out[key] = self._project(value, (*path, "*"))  # a map's values: no key is built there
            else:
                out[key] = value
        return out

    def _walk(self, value: Any, path: tuple[str, ...] | None) -> Any:
        if isinstance(value, dict):
            return self._walk_object(value, path)
        if isinstance(value, list):
            return self._walk_list(value, path)
        return value

    def _walk_object(self, value: dict[str, Any], path: tuple[str, ...] | None) -> dict[str, Any]:
        """`path`: where `value` is in the value `apply` got, followed only while a kept key may lie below
        (None: nowhere, the fast walk)."""
        kept: dict[str, Any] = {}
        changed = False
        drop_nulls, drop_empty, has_globs = self.drop_nulls, self.drop_empty, self._key_regex is not None
        for key, child in value.items():
            if has_globs and isinstance(key, str) and self.drops_key(key, path):
                changed = True
                continue
            if child is None:
                if drop_nulls:
                    changed = True
                    continue
            elif isinstance(child, (dict, list)):
                below = (*path, key) if path is not None and self._below(path, key) else None
                pruned = self._walk_object(child, below) if isinstance(child, dict) else self._walk_list(child, below)
                if pruned is not child:
                    changed = True
                if drop_empty and not pruned:
                    changed = True
                    continue
                child = pruned
            elif drop_empty and child == "":
                changed = True
                continue
            kept[key] = child
        return kept if changed else value

    def builds(self, key: str) -> bool:
        """Whether the tool's prune builds `key` somewhere (`keeping`), so `drop_keys` leaves it there."""
        return any(name == key for _, name in self.kept_keys)

    def _below(self, path: tuple[str, ...], key: str) -> bool:
        """Whether a kept key lies at or under `path` + `key`."""
        inner = (*path, key)
        return any(kept[:len(inner)] == inner for kept, _ in self.kept_keys)

    def _walk_list(self, value: list[Any], path: tuple[str, ...] | None) -> list[Any]:
        below = (*path, "[]") if path is not None and self._below(path, "[]") else None
        result: list[Any] | None = None
        for index, item in enumerate(value):
            if isinstance(item, dict):
                pruned = self._walk_object(item, below)
            elif isinstance(item, list):
                pruned = self._walk_list(item, below)
            else:
                pruned = item
            if result is None:
                if pruned is item:
                    continue
                result = value[:index]
            result.append(pruned)
        return value if result is None else result

    def __repr__(self) -> str:
        return (
            f"AutoPruner(drop_nulls={self.drop_nulls}, drop_empty={self.drop_empty}, drop_keys={list(self.drop_keys)})"
        )


def compile_autoprune(config: AutoPrune | None) -> AutoPruner | None:
    """An AutoPruner for a manifest's `prune:` settings, or None when they do nothing (the fast path)."""
    if config is None or not (config.drop_nulls or config.drop_empty or config.drop_keys):
        return None
    return AutoPruner(config.drop_nulls, config.drop_empty, tuple(config.drop_keys))
