"""Validation that leaves out the values a transport never uses when their variable is unset.

Over stdio, `server.auth`'s `${VAR}`s may be unset (a warning each: "it is needed to serve over
HTTP"); interpolation gives such a value the empty string. Many fields take "" (a token, an issuer),
but some refuse it (`clock_skew: "${SKEW}"` is no duration, `algorithms: ["${ALG}"]` no algorithm),
and their schema error used to replace the warning and stop stdio from starting. Here such a value
is left out instead — a mapping key is removed, so the field takes its default; a list item is
removed from its list. A manifest with other errors is reported as written, without the
errors at the unset values (each has its warning).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .model import Manifest
from .positions import Path as NodePath
from .pydantic_errors import data_path


def validate_leaving_out(data: dict[str, Any], unset: set[NodePath], unused: set[NodePath],
                         env_paths: set[NodePath]) -> Manifest:
    """`Manifest.model_validate(data)`, where an error at a value in `unset` (paths whose `${VAR}`
    was unset inside one of the `unused` subtrees) removes that value from `data` and validates
    again. `data`, `unset` and `env_paths` are updated (a removed list item moves the later ones).
    Raises the `ValidationError` as soon as an error is not at such a value: the caller leaves out
    the errors at the unset values' places."""
    while True:  # each round removes at least one value, so this ends
        try:
            return Manifest.model_validate(data)
        except ValidationError as exc:
            found = {_removable(data_path(tuple(err["loc"]), data, err["type"])[0], err["type"], unset, unused)
                     for err in exc.errors(include_url=False)}
            if None in found or not found:  # the manifest is wrong anyway: report it as written (the
                raise                       # loader drops the errors at the unset values' warnings)
            # Later list items first, so an earlier index still points at its item.
            for path in sorted(found, key=lambda p: [(isinstance(part, int), part) for part in p], reverse=True):
                _remove(data, path)
                for paths in (unset, env_paths):
                    _renumber(paths, path)


def _removable(path: NodePath, kind: str, unset: set[NodePath], unused: set[NodePath]) -> NodePath | None:
    """The value to remove for an error at `path`, or None when the error is the manifest's own.
    (Every required field of `server.auth` takes "": none is left out, so none goes "missing".)"""
    if kind == "missing" or not any(path[: len(u)] == u for u in unset):
        return None
    path = next(u for u in unset if path[: len(u)] == u)
    inside = any(len(path) > len(prefix) and path[: len(prefix)] == prefix for prefix in unused)
    return path if inside else None


def _remove(data: Any, path: NodePath) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        del node[path[-1]]


def _renumber(paths: set[NodePath], gone: NodePath) -> None:
    """After the list item at `gone` is removed, the paths into later items of that list move down one."""
    if not gone or not isinstance(gone[-1], int):
        return
    depth, parent = len(gone) - 1, gone[:-1]
    moved = {p for p in paths if len(p) > depth and p[:depth] == parent and isinstance(p[depth], int)
             and p[depth] >= gone[-1]}
    paths -= moved
    paths |= {(*p[:depth], p[depth] - 1, *p[depth + 1:]) for p in moved if p[depth] > gone[-1]}
