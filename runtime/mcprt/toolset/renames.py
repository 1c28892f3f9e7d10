"""Which operation an override key that vanished from a description was renamed to.

An upstream renaming an operationId (GitHub: `issues/lock` → `issues/lock-issue`) keeps its HTTP method and
path, so the operation now at the vanished key's former route is the rename, however far its new key is by
spelling (`build._unmatched_overrides` names it in the did-you-mean). What the key's route was is known where
an earlier description is: a reload's previous sources, the old side of `mcprt diff`, and — for a first compile
(`validate`, a fresh `up`) — the routes this manifest's source had at its last good compile on this machine,
kept in the cache folder (`remembered_routes`/`remember_routes`: operation keys and paths only, no secrets).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from ..contracts import Operation

Route = tuple[str, str]  # (HTTP method upper-cased, path template with its variables unnamed: "/items/{}/lock")

_VARIABLE = re.compile(r"\{[^}]*\}")  # an RFC 6570 / OpenAPI path template expression


def route_of(op: Operation) -> Route | None:
    """`op`'s method and path template, its variables' names left out (`/items/{id}` and `/items/{item_id}` are
    one route: OpenAPI 3.1 §4.8.8.2 — templated paths differing only in variable names are identical); None
    for an operation without both (Python functions, proxied MCP tools)."""
    if not op.meta.method or not op.meta.path:
        return None
    return op.meta.method.upper(), _VARIABLE.sub("{}", op.meta.path)


def routes_of(ops: Iterable[Operation]) -> dict[str, Route]:
    """Every key an operation answers to (its key, aliases and name) → its route (`route_of`)."""
    routes: dict[str, Route] = {}
    for op in ops:
        route = route_of(op)
        if route is not None:
            routes.update(dict.fromkeys((op.key, *op.aliases, op.name), route))
    return routes


def renamed_to(keys: Collection[str], before: Mapping[str, Route], now: Sequence[Operation]) -> dict[str, Operation]:
    """Of `keys` (override keys the source's operations no longer have), those whose route `before` (key → route,
    `routes_of` an earlier description's operations) is now the route of exactly one operation of `now` (the
    operations no other override names), mapped to it. An ambiguous route, or a key `before` does not know,
    maps to nothing (the caller falls back to spelling)."""
    wanted = {key: before[key] for key in keys if key in before}
    if not wanted:
        return {}
    at: dict[Route, list[Operation]] = {}
    for op in now:
        route = route_of(op)
        if route is not None:
            at.setdefault(route, []).append(op)
    return {key: found[0] for key, route in wanted.items() if len(found := at.get(route, [])) == 1}


_FOLDER = "routes"  # under the cache folder, beside the OpenAPI compile cache (`openapi/`)
_log = logging.getLogger("mcprt.toolset.renames")


def _entry(cache_dir: Path, manifest: Path, source: str) -> Path:
    digest = hashlib.sha256(f"{manifest.resolve()}\0{source}".encode()).hexdigest()
    return Path(cache_dir) / _FOLDER / f"{digest}.json"


def remembered_routes(cache_dir: Path, manifest: Path, source: str) -> dict[str, Route]:
    """The routes (`routes_of`) `source` of the manifest at `manifest` had at its last good compile here; {} when
    none is kept, or the file is unreadable or not what `remember_routes` writes (it is only a hint's input)."""
    try:
        kept = json.loads(_entry(cache_dir, manifest, source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {key: (route[0], route[1]) for key, route in kept.items()
            if isinstance(route, list) and len(route) == 2 and all(isinstance(part, str) for part in route)}


def remember_routes(cache_dir: Path, manifest: Path, source: str, routes: Mapping[str, Route]) -> None:
    """Keep `routes` as `source`'s last known (`remembered_routes`), with the compile cache's writes (after a stdio
    start's first tools/list); a cache folder that cannot be written keeps nothing (logged at debug: the
    did-you-mean then falls back to spelling)."""
    from ..sources.openapi.cache import write_soon
    from ..sources.openapi.fetch import write_cached

    def write() -> None:
        data = json.dumps({key: list(route) for key, route in sorted(routes.items())}, separators=(",", ":"))
        if not write_cached(Path(cache_dir), _entry(cache_dir, manifest, source), data.encode("utf-8")):
            _log.debug("routes of source %s not kept: the cache folder cannot be written", source)

    write_soon(write)


class RememberedRoutes(Mapping[str, Mapping[str, Route]]):
    """Source → `remembered_routes`, each file read only when asked for (a build asks only for a source with a
    vanished override key: a start with none reads nothing). `kept` receives what was read."""

    def __init__(self, cache_dir: Path, manifest: Path, sources: Iterable[str],
                 kept: dict[str, dict[str, Route]]) -> None:
        self._cache_dir, self._manifest, self._sources, self._kept = cache_dir, manifest, tuple(sources), kept

    def __getitem__(self, source: str) -> Mapping[str, Route]:
        if source not in self._sources:
            raise KeyError(source)
        if source not in self._kept:
            self._kept[source] = remembered_routes(self._cache_dir, self._manifest, source)
        return self._kept[source]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)
