"""Turns pydantic's validation errors into `file:line:col: message` diagnostics.

pydantic reports locations as tuples through the *models* (including union tags), while positions
are recorded through the *data*; this module walks both so each error lands on the right node,
and rewrites the messages into the manifest's vocabulary (with "did you mean …?" for typos).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Collection
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic
from ..scrubbing import is_credential_name, is_literal_credential
from .envvars import variables_at
from .model import SOURCE_KINDS, SOURCE_MODELS, Manifest, SourceBase, source_kind
from .positions import Path, PositionIndex
from .written import as_source, as_written, described

_EXPECTED = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "list_type": "expected a list",
}


def diagnostics_from(
    error: ValidationError, data: Any, index: PositionIndex, from_env: Collection[Path] = (), written: Any = None,
) -> list[Diagnostic]:
    """One diagnostic per place; `from_env` are the nodes whose text came from `${VAR}`: their value
    may be a secret, so it is never echoed in a message, which names the variables instead (read from
    `written`, the data before substitution, when given)."""
    merged: dict[tuple[str, int, int, str], list[str]] = {}
    found = [(err, data_path(tuple(err["loc"]), data, err["type"])) for err in error.errors(include_url=False)]
    for err, (path, label) in _shaped(found):
        loc = tuple(err["loc"])
        about_key = err["type"] in ("extra_forbidden", "missing") or "[key]" in loc  # `[key]`: a mapping key is wrong
        typo = _kind_key_typo(err)
        if typo is not None:  # `pyhton:`: point at the misspelt key, not the whole source
            path, about_key = (*path, typo), True
        where = index.locate(path, prefer="key" if about_key else "value")
        key = (where.file, where.line, where.col, label)
        message = _message(err, path, data)
        if path in from_env:
            message = _without_value(message, err.get("input")) + variables_at(written, path)
        elif _may_be_credential(path, err.get("input")):
            message = _without_value(message, err.get("input"), _NOT_SHOWN)
        else:
            message = as_source(message, err.get("input"), index.written(path))
        if message not in merged.setdefault(key, []):
            merged[key].append(message)
    result = []
    for (file, line, col, label), messages in merged.items():
        text = _join(messages)
        result.append(Diagnostic(file, line, col, f"{label}: {text}" if label else text))
    return result


_SHAPE_ERRORS = frozenset({"dict_type", "model_type", "list_type"})


def _shaped(found: list[tuple[dict[str, Any], tuple[Path, str]]]) -> list[tuple[dict[str, Any], tuple[Path, str]]]:
    """Without a union member's "expected a mapping" / "expected a list" where another member took the value's
    shape and failed at or inside it: `auth: [{api_key: {value: 5}}]` is a list entry's bad value, not also
    "expected a mapping, got a list" (a source's `auth` is one entry or a list of them)."""
    def took_shape(path: Path, other: dict[str, Any], where: Path) -> bool:
        """Whether `other` (at `where`) failed inside the value at `path`, or at it for another reason."""
        return where[:len(path)] == path and (len(where) > len(path) or other["type"] not in _SHAPE_ERRORS)
    return [(err, at) for err, at in found
            if err["type"] not in _SHAPE_ERRORS or not any(took_shape(at[0], other, where[0]) for other, where in found)]


# Keys of the manifest's own schema under which every value is a credential or may hold one: `auth` (server
# and source: `bearer`, `bearer_tokens`, `tokens`, `password`, `api_key`, `client_secret`…), `headers` and `env`
# (their names are the operator's), an approvals `webhook` (its URL may carry a token)
_CREDENTIAL_HOMES = frozenset({"auth", "headers", "env", "webhook"})
_NOT_SHOWN = "(not shown: it may be a credential)"


def _may_be_credential(path: Path, value: Any) -> bool:
    """Whether a value written literally at `path` must not be quoted in a diagnostic: it sits at or under a
    credential-bearing key of the schema (`_CREDENTIAL_HOMES`), or the literal-credential rule flags it
    (`scrubbing.is_literal_credential`, the rule `validate` warns by) under its key — that key's name counts
    only when the operator chose it (a fixed argument's `api_key`), not when it is a schema field
    (`drop_keys` names no credential). A source's or tool's own name is no such key.

    Found by a pentest trial: `auth: {api_key: "sk_live_…"}` (a string where a mapping goes) was quoted by
    `validate`, the reload log line, `/status` and `/status.json`."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False  # a mapping or list is described by its type only (`written.described`)
    keys = [part for index, part in enumerate(path)
            if isinstance(part, str) and not (index == 1 and path[0] in ("sources", "tools", "prompts"))]
    if any(key in _CREDENTIAL_HOMES for key in keys):
        return True
    name = keys[-1] if keys and not key_homes(keys[-1]) else ""
    return (bool(name) and is_credential_name(name)) or (isinstance(value, str) and is_literal_credential(name, value))


def _without_value(message: str, value: Any, placeholder: str = "(the value from the environment)") -> str:
    """The message with `value` (a string or number) replaced by `placeholder`: a value that came from the
    environment, or one that may be a credential (`_may_be_credential`)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return message
    message = message.replace(repr(value), placeholder)
    if str(value) in message:
        return f"invalid value {placeholder}" if placeholder == _NOT_SHOWN else \
            "invalid value (it comes from an environment variable, so it is not shown)"
    return message


def _join(messages: list[str]) -> str:
    """Union members fail separately: 'expected a string, got 5' + 'expected a list, got 5' → one line."""
    if len(messages) == 1:
        return messages[0]
    got = {m.partition(", got ")[2] for m in messages}
    if len(got) == 1 and all(m.startswith("expected ") and ", got " in m for m in messages):
        wanted = [m.partition(", got ")[0].removeprefix("expected ") for m in messages]
        return f"expected {' or '.join(wanted)}, got {got.pop()}"
    return " or ".join(messages)


def data_path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[Path, str]:
    """Map a pydantic loc onto the data, dropping union tags and member labels."""
    path: list[str | int] = []
    node = data
    for i, element in enumerate(loc):
        if i == 2 and loc[0] == "sources" and element in SOURCE_KINDS:
            continue  # the tagged-union tag pydantic inserts after a source's name
        if element == "[key]":
            continue
        if isinstance(node, dict) and element in node:
            path.append(element)
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and element < len(node):
            path.append(element)
            node = node[element]
        elif i == len(loc) - 1 and kind in ("missing", "extra_forbidden"):
            path.append(element)
        # else: a union member label ("str", "list[str]", function-after[...]) — not in the data
    label = ".".join(str(p) for p in (path[:-1] if kind in ("missing", "extra_forbidden") else path))
    return tuple(path), label


def _message(err: dict[str, Any], path: Path, data: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        other_kinds = _other_kinds_here(key, path, data)
        if other_kinds:  # a key of this very place on other kinds of source: say which take it
            kind_here = source_kind(data["sources"].get(path[1]))
            kinds = [f"`{kind}:`" for kind in sorted(other_kinds)]
            named = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
            return (f"unknown key '{key}' on {_article(kind_here)} `{kind_here}:` source: only "
                    f"{_article(sorted(other_kinds)[0])} {named} source takes it")
        allowed = allowed_keys(path[:-1], data)
        import difflib  # only for a typo's hint: not on every start
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        homes = _homes_elsewhere(key, path, data)
        if homes and len(homes) <= _MOST_HOMES:  # a valid key put in the wrong place: say where it goes
            where = " or ".join(f"`{home}`{_on_kinds(kinds)}" for home, kinds in homes)
            also = f"; or did you mean '{hint[0]}'?" if hint else ""
            return f"unknown key '{key}' here: it belongs at {where}{also}"
        suffix = f" (did you mean '{hint[0]}'?)" if hint else (f" (allowed: {', '.join(allowed)})" if allowed else "")
        return f"unknown key '{key}'{suffix}"
    if kind == "missing":
        return f"missing required key '{path[-1]}'"
    if kind == "literal_error" and path == ("version",):
        return f"unsupported manifest version {as_written(err.get('input'))}: this mcprt reads version 1"
    if kind == "source_kind":
        typo = _kind_key_typo(err)
        if typo is not None:
            import difflib  # only for a typo's hint: not on every start
            hint = difflib.get_close_matches(typo.lower(), SOURCE_KINDS, n=1, cutoff=0.6)[0]
            return f"unknown key '{typo}' (did you mean '{hint}'?): {err['msg']}"
        return err["msg"]
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {described(err.get('input'))}"
    if kind == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        return f"{as_written(err.get('input'))} is not allowed here (must match {pattern})"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


_MOST_HOMES = 3  # a key valid in more places (`name`, `timeout`) is too common for a hint to help


@functools.cache
def key_homes(key: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Every place in the manifest schema where `key` is a valid key, as dotted paths (`<name>` for a
    mapping's own keys, `[]` for a list's items): `audit` → `server.observability.audit`; each with the
    source kinds it is valid on (`cwd` → `sources.<name>.cwd` on `command`), empty when any place will do."""
    found: dict[str, set[str]] = {}
    anywhere: set[str] = set()  # places valid whatever the kind of the source they are in

    def walk(tp: Any, where: str, seen: frozenset[type], kind: str | None) -> None:
        for member in _members(tp):
            if isinstance(member, type) and issubclass(member, BaseModel):
                if member in seen:
                    continue
                if member in SOURCE_MODELS.values():  # below here, a place only this kind of source has
                    kind = getattr(member, "kind_key", None)
                only = getattr(member, "kinds_of_keys", {})  # keys this model takes on some kinds of source only
                for name, field in member.model_fields.items():
                    written = field.alias or name
                    here = f"{where}.{written}" if where else written
                    if written == key:
                        if written in only and kind is not None and kind not in only[written]:
                            continue  # refused on this kind of source: not a home to point at
                        found.setdefault(here, set())
                        if written in only and kind is None:
                            found[here].update(only[written])
                        elif kind is None:
                            anywhere.add(here)
                        else:
                            found[here].add(kind)
                    walk(field.annotation, here, seen | {member}, kind)
            elif get_origin(member) is dict:
                walk(get_args(member)[-1], f"{where}.<name>", seen, kind)
            elif get_origin(member) is list:
                walk(get_args(member)[0], f"{where}[]", seen, kind)

    walk(Manifest, "", frozenset(), None)
    every_kind = set(SOURCE_KINDS)
    return tuple((home, frozenset() if home in anywhere or kinds >= every_kind else frozenset(kinds))
                 for home, kinds in found.items())


def _homes_elsewhere(key: str, path: Path, data: Any) -> list[tuple[str, frozenset[str]]]:
    """The places `key` (unknown at `path`) is valid, leaving out `path` itself (another kind's key) and, when
    `path` is inside a source, the places valid only on other kinds of source: a `cwd` misplaced in a python
    source's tool must not be sent to `sources.<name>.cwd`, which a python source does not have."""
    kind_here = None
    if len(path) > 2 and path[0] == "sources" and isinstance(data, dict) and isinstance(data.get("sources"), dict):
        kind_here = source_kind(data["sources"].get(path[1]))
    return [(home, kinds) for home, kinds in key_homes(key)
            if not _names(home, path) and not (kinds and kind_here is not None and kind_here not in kinds)]


def _other_kinds_here(key: str, path: Path, data: Any) -> frozenset[str]:
    """The kinds of source that take `key` at this very place (`sources.<name>.resources` on `python:`, `command:`
    and `url:` sources) when the source at `path` is of another kind; empty otherwise. Trial "fastmcp", fault 5:
    `resources:` on an `openapi:` source said "did you mean 'retries'?", the README promising the error says where
    a key that belongs elsewhere goes."""
    if len(path) < 3 or path[0] != "sources" or not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        return frozenset()
    kind_here = source_kind(data["sources"].get(path[1]))
    if kind_here is None:
        return frozenset()
    kinds = [kinds for home, kinds in key_homes(key) if kinds and _names(home, path)]
    return frozenset() if not kinds or any(kind_here in k for k in kinds) else frozenset().union(*kinds)


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeio" else "a"  # `an openapi:`, `a url:` (u sounds 'you')


def _on_kinds(kinds: frozenset[str]) -> str:
    """" (on a `command:` source)" for a place only some kinds of source have; "" for one any may have."""
    if not kinds:
        return ""
    first = sorted(kinds)[0]
    return f" (on {_article(first)} " + " or ".join(f"`{kind}:`" for kind in sorted(kinds)) + " source)"


def _names(home: str, path: Path) -> bool:
    """Whether the schema place `home` (as `key_homes` writes it) names the data path `path`."""
    import re  # only for an unknown key's hint: not on every start

    written = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    pattern = re.escape(home).replace(re.escape("<name>"), r"[^.\[]+").replace(re.escape("[]"), r"\[\d+\]")
    return re.fullmatch(pattern, written) is not None


def _members(tp: Any) -> list[Any]:
    """The types `tp` may be: Annotated and Optional stripped, a union's members (every source kind's
    model for the sources' union)."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _members(get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in get_args(tp) if arg is not type(None) for m in _members(arg)]
    return [tp]


def _kind_key_typo(err: dict[str, Any]) -> str | None:
    """For a source with no kind key, a key that looks like a misspelt one (`pyhton`, `Command`)."""
    value = err.get("input")
    if err["type"] != "source_kind" or not isinstance(value, dict) or any(k in value for k in SOURCE_KINDS):
        return None
    import difflib  # only for a typo's hint: not on every start

    for key in value:
        if isinstance(key, str) and difflib.get_close_matches(key.lower(), SOURCE_KINDS, n=1, cutoff=0.6):
            return key
    return None


def allowed_keys(path: Path, data: Any) -> list[str]:
    """The keys the model accepts at `path` (empty when the node is not a model)."""
    tp: Any = Manifest
    node = data
    for element in path:
        tp = _narrow(tp, node)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = _field(tp, str(element))
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return []
        node = node.get(element) if isinstance(node, dict) else (
            node[element] if isinstance(node, list) and isinstance(element, int) and element < len(node) else None
        )
    tp = _narrow(tp, node)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _narrow(tp: Any, node: Any) -> Any:
    """Strip Annotated/Optional and pick the union member that fits the data."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if any(_is_model(m, SourceBase) for m in members):
                kind = source_kind(node)
                return SOURCE_MODELS.get(kind) if kind else None
            if isinstance(node, list):  # a list where a list may stand (`exclude: [{…}, {…}]`): the list member
                listed = [m for m in members if get_origin(_bare(m)) is list]
                if listed:
                    tp = listed[0]
                    continue
            models = [m for m in members if _is_model(m)]
            containers = [m for m in members if get_origin(_bare(m)) in (dict, list)]
            tp = (models or containers or members or [None])[0]
        else:
            return tp


def _bare(tp: Any) -> Any:
    """`tp` without its `Annotated` metadata (a union member's `Tag`)."""
    return get_args(tp)[0] if get_origin(tp) is typing.Annotated else tp


def _is_model(tp: Any, cls: type = BaseModel) -> bool:
    tp = get_args(tp)[0] if get_origin(tp) is typing.Annotated else tp
    return isinstance(tp, type) and issubclass(tp, cls)
