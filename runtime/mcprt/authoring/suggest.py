"""Suggested `prune` expressions from a response shape: the documented heuristic of `mcprt init`.

The rule (measured on the catalog by `catalog/_tools/measure_suggestions.py`):

- The result object (or each item of a result list) is *level 1*: its scalar fields and lists of
  scalars are kept, except link fields — names ending in `_url` (but `html_url`, the page a person
  opens, and `repository_url`, the only repository reference some items carry), `url` (the API's
  own link to the object), `node_id`, `gravatar_id` and names containing `template`.
- A result object of at most `PAGE_FIELDS` fields, none of them an `id` or a name, is a *page*:
  its lists of objects (`items`, `data`, `channels`) are projected item by item with the same
  level-1 rule; when it holds one object and no list (an *envelope*: `{data: {…}}`,
  `{droplet: {…}}`), that object is level 1.
- A nested object is reduced to its name — the first of `NAMES` it has (`login`, `full_name`,
  `spdx_id`, `ref`, `name`, `title`, …) — plus any `DETAILS` (`value`, `message`, `date`, paging
  cursors); without either, its first link (`url`, `html_url`) or `id`. A nested object without a
  name (a commit) has its own nested objects followed the same way once (`commit.author.name`);
  deeper objects are dropped. Names containing `token`, `password` or `secret` are always dropped.
- A list of objects below level 1 becomes the list of one identifying field (`labels[].name`).

Only operations whose success response is an object or a list of objects get a suggestion.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

NAMES = ("login", "full_name", "spdx_id", "ref", "name", "title", "slug", "key")  # a nested object keeps the first
DETAILS = ("value", "message", "date", "next_cursor", "cursor", "next_page", "next")  # … and each of these
_LINK_FALLBACK = ("url", "html_url", "id")  # a nested object with no identifying field keeps its first link
_LIST_IDENTITY = ("login", "full_name", "name", "title", "key", "slug", "id")
_DROP = ("*_url", "url", "node_id", "gravatar_id", "*template*", "*token*", "*password*", "*secret*")
_KEEP_LINKS = ("html_url", "repository_url")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NESTED = 2  # levels of nested objects followed below level 1
PAGE_FIELDS = 6  # a result object this small holding a list of objects is a page of them


def suggest_prune(shape: dict[str, Any] | None, default: dict[str, Any] | None = None) -> str | None:
    """A JMESPath prune for results of this shape, or None when the heuristic has nothing to say.

    `default`: the `default` response's shape; when both are objects its top-level scalar fields
    are kept too (APIs such as Slack's answer errors with status 200 in that shape).
    """
    if not shape:
        return None
    main, extra = _object(shape), _object(default)
    if main is not None and extra is not None and not _is(shape, "array"):
        props = {n: p for n, p in _properties(extra).items() if _is_scalar(p)}
        shape = {"type": "object", "properties": {**props, **_properties(main)}}
    if _is(shape, "array"):
        item = _object(shape.get("items"))
        if item is None:
            return None
        body = _level1(item, top=False)
        return f"[].{body}" if body else None
    item = _object(shape)
    if item is None:
        return None
    props = _properties(item)
    page = len(props) <= PAGE_FIELDS and not any(n == "id" or n in NAMES for n in props)
    envelope = [n for n, p in props.items() if _object(p) is not None and not _is(p, "array")] if page else []
    if len(envelope) == 1 and not any(_is(p, "array") for p in props.values()):
        inner = _level1(_object(props[envelope[0]]) or {}, top=False)  # `{data: {…}}`: the object inside
        if inner:
            return f"{{{_key(envelope[0])}: {_field(envelope[0])}.{inner}}}"
    return _level1(item, top=page)


def dropped_link(name: str) -> bool:
    return name not in _KEEP_LINKS and any(fnmatch.fnmatchcase(name, p) for p in _DROP)


def _level1(shape: dict[str, Any], top: bool) -> str | None:
    parts: list[str] = []
    for name, prop in _properties(shape).items():
        if _is_scalar(prop) or _is_scalar_list(prop):
            if not dropped_link(name):
                parts.append(f"{_key(name)}: {_field(name)}")
        elif _is(prop, "array"):
            item = _object(prop.get("items"))
            if item is None and (top or not _types(prop.get("items"))):
                parts.append(f"{_key(name)}: {_field(name)}")  # items of undocumented shape: kept whole
                continue
            if item is None:
                continue
            if top:
                inner = _level1(item, top=False)
                if inner:
                    parts.append(f"{_key(name)}: {_field(name)}[].{inner}")
            else:
                ident = _list_identity(item)
                if ident:
                    parts.append(f"{_key(name)}: {_field(name)}[].{_field(ident)}")
        elif _object(prop) is not None:
            for key, path in _nested(_object(prop) or {}, [name], 1):
                parts.append(f"{_key(key)}: {path}")
        elif _is(prop, "object") or not _types(prop):
            parts.append(f"{_key(name)}: {_field(name)}")  # a map or free-form object: its keys are data
    return "{" + ", ".join(parts) + "}" if parts else None


def _nested(shape: dict[str, Any], trail: list[str], level: int) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    props = _properties(shape)

    def keep(name: str) -> None:
        found.append(("_".join([*trail, name]), ".".join(_field(t) for t in [*trail, name])))

    named = next((n for n in NAMES if n in props and _is_scalar(props[n])), None)
    if named:
        keep(named)
    for name, prop in props.items():
        if _is_scalar(prop) and name in DETAILS and not dropped_link(name):
            keep(name)
        elif named is None and level < MAX_NESTED and _object(prop) is not None and not _is(prop, "array"):
            found += _nested(_object(prop) or {}, [*trail, name], level + 1)  # an unnamed thing: a commit
    if not found:
        link = next((n for n in _LINK_FALLBACK if n in props and _is_scalar(props[n])), None)
        if link:
            keep(link)
    return found


def _list_identity(item: dict[str, Any]) -> str | None:
    props = _properties(item)
    for name in _LIST_IDENTITY:
        if name in props and _is_scalar(props[name]):
            return name
    return None


def _properties(shape: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for option in shape.get("anyOf", [shape]) if "properties" not in shape else [shape]:
        if isinstance(option, dict):
            for name, prop in (option.get("properties") or {}).items():
                props.setdefault(name, prop)
    return props


def _types(shape: Any) -> set[str]:
    if not isinstance(shape, dict):
        return set()
    raw = shape.get("type")
    types = {raw} if isinstance(raw, str) else set(raw or ())
    for option in shape.get("anyOf", ()):
        types |= _types(option)
    return types - {"null"}


def _is(shape: Any, kind: str) -> bool:
    return kind in _types(shape)


def _is_scalar(shape: Any) -> bool:
    types = _types(shape)
    return bool(types) and types <= {"string", "integer", "number", "boolean"}


def _is_scalar_list(shape: Any) -> bool:
    return _types(shape) == {"array"} and _is_scalar(shape.get("items"))


def _object(shape: Any) -> dict[str, Any] | None:
    if not isinstance(shape, dict):
        return None
    if "properties" in shape and (not _types(shape) or _is(shape, "object")):
        return shape
    for option in shape.get("anyOf", ()):
        found = _object(option)
        if found is not None:
            return found
    return None


def _field(name: str) -> str:
    return name if _IDENT.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_key = _field
