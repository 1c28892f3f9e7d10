"""One argument problem, said where it is, about the branch of a union the value was meant for, and short.

jsonschema's own messages (`ValidationError.message`) quote the whole value — and an `enum`'s whole
list — and say of any `anyOf`/`oneOf` (every optional or union argument) only "is not valid under any
of the given schemas". `describe` refines that:

- a discriminated union (OpenAPI 3.1 §4.8.25 `discriminator.propertyName` with its `mapping`, which
  pydantic emits for `Field(discriminator=…)`; or branches that each fix one shared property with
  `const`/`enum`) is described by the branch whose value the argument carries — or, when it carries
  none of them, by the values that property allows;
- any other union by the branch the value comes closest to (a step of jsonschema's `best_match`), else by the
  problem of each branch whose type fits; a union inside a union is refined the same way, level by level;
- values are shown by `reprlib` (long strings and lists cut with `...`) and at most `MAX_FORMS`
  branches are listed, so a message stays well under ~1,000 characters whatever the input.
"""

from __future__ import annotations

import heapq
import json
import reprlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError, relevance

from ..schema.shapes import branch_tags, fixed_values, resolve_pointer
from ..errors import did_you_mean
from ..unicode_forms import alike_in
from ..wording import noun

MAX_FORMS = 3  # branches of a union listed in one message; the rest are counted
_LONG = 80  # a quoted value longer than this (characters) is shown shortened
_MISSING = object()

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6
_SHORT.maxlevel = 3


def short(value: Any) -> str:
    """`repr(value)`, cut (with `...`) to about 60 characters per string and 6 items per container."""
    return _SHORT.repr(value)


def describe(error: SchemaError, root: Mapping[str, Any]) -> str:
    """`children[0].name: 5 is not of type 'string'`: one problem and where it is in the arguments.

    `root` is the whole input schema (for the local `$ref`s union branches name). A missing property
    names the object it is missing from (`children[0]: 'name' is required`)."""
    error = _most_specific(error, root)
    return located(error.absolute_path, error)


_UNIONS = frozenset({"anyOf", "oneOf"})  # their message is the same for any branches: told apart by their branches


def problem_key(error: SchemaError) -> tuple[Any, ...]:
    """What makes two errors one problem: the same place, keyword and message — an `allOf` of two objects that
    both declare a property (or both require it) checks it once per part (JSON Schema 2020-12 §10.2.1.1: every
    subschema is applied), and jsonschema yields "`item.id`: 5 is not of type 'string'" once for each. A union's
    message ("is not valid under any of the given schemas") is the same whatever its branches, so a union is
    told by its branches (canonical JSON of the keyword's value) instead. The one rule, for a call's arguments
    (`said_once`) and a manifest's `fixed`/`default` value (`build._value_fits`)."""
    if error.validator in _UNIONS:
        return (tuple(error.absolute_path), error.validator,
                json.dumps(error.validator_value, sort_keys=True, default=repr))
    return tuple(error.absolute_path), error.validator, error.message


def said_once(errors: Iterable[SchemaError], root: Mapping[str, Any], limit: int) -> tuple[list[str], int]:
    """The problems of `errors` (in their order), each said once (`problem_key`), at most `limit` of them described,
    and how many distinct problems there are (so "… N more" counts problems, not errors, whatever `limit` is)."""
    said: dict[str, None] = {}
    seen: set[tuple[Any, ...]] = set()
    total = 0
    for error in errors:
        key = problem_key(error)
        if key in seen:
            continue
        seen.add(key)
        if len(said) < limit:
            text = describe(error, root)
            if text in said:  # two problems described alike (a union refined to the same branch): said once
                continue
            said[text] = None
        total += 1
    return list(said), total


def located(path: Iterable[Any], error: SchemaError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    message = _message(error)
    return f"{where}: {message}" if where else message


_LENGTH_LIMITS = {"maxItems": ("most", "item", "items"), "minItems": ("least", "item", "items"),
                  "maxLength": ("most", "character", "characters"), "minLength": ("least", "character", "characters"),
                  "maxProperties": ("most", "property", "properties"),
                  "minProperties": ("least", "property", "properties")}
_JSON_WORDS = {None: "null", True: "true", False: "false"}  # what the model sent, in JSON's words


def shown(value: Any) -> str:
    """`short(value)`, but `null`, `true` and `false` as JSON spells them: the model sent JSON, and
    Python's `None is not of type 'integer'` reads as if it had sent the word None."""
    return _JSON_WORDS[value] if value is None or isinstance(value, bool) else short(value)


def allowed_values(values: Sequence[Any]) -> str:
    """An `enum`'s values as the model would write them: `['open', 'closed', null]` (at most 6, then `...`)."""
    items = [shown(value) for value in values[:_SHORT.maxlist]]
    return "[" + ", ".join(items + (["..."] if len(values) > _SHORT.maxlist else [])) + "]"


def _message(error: SchemaError) -> str:
    message = error.message.replace("is a required property", "is required") \
        if error.validator == "required" else error.message
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return f"{shown(error.instance)} is not one of {allowed_values(error.validator_value)}"
    if error.validator in _LENGTH_LIMITS and isinstance(error.validator_value, int):
        # jsonschema says only "is too long": the model needs the limit to fix the call
        bound, unit, units = _LENGTH_LIMITS[error.validator]
        limit = error.validator_value
        count = len(error.instance) if isinstance(error.instance, (str, list, dict)) else None
        has = f"{count:,} {noun(count, unit, units)}; " if count is not None else ""
        return (f"{short(error.instance)} is too {'long' if bound == 'most' else 'short'} "
                f"({has}at {bound} {limit:,} {noun(limit, unit, units)})")
    if error.validator == "type" and isinstance(error.validator_value, list):
        # jsonschema writes a type list as `is not of type 'integer', 'null'`; the README's form names each
        wanted = " or ".join(repr(name) for name in dict.fromkeys(error.validator_value))
        return f"{shown(error.instance)} is not of type {wanted}"
    if error.validator == "type" and (error.instance is None or isinstance(error.instance, bool)):
        message = shown(error.instance) + message.removeprefix(repr(error.instance))
    if len(message) > _LONG:  # jsonschema quotes the whole value and the whole allowed list
        for value in (error.instance, error.validator_value):
            whole = repr(value)
            if len(whole) > _LONG:
                message = message.replace(whole, short(value))
    return message


def _listed(items: Sequence[str], joiner: str) -> str:
    shown = joiner.join(items[:MAX_FORMS])
    return shown + (f"{joiner}… {len(items) - MAX_FORMS} more" if len(items) > MAX_FORMS else "")


def _most_specific(error: SchemaError, root: Mapping[str, Any]) -> SchemaError:
    """The problem inside an anyOf/oneOf that best explains the failure (see the module docstring)."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return error
    branches: dict[Any, list[SchemaError]] = {}
    for problem in error.context:
        branches.setdefault(problem.relative_schema_path[0] if problem.relative_schema_path else None,
                            []).append(problem)
    chosen = _meant(error, branches, root)
    if isinstance(chosen, SchemaError):
        return chosen
    if chosen is None:
        chosen = _without_wrong_tags(branches)
    forms = _forms_wanted(chosen)
    if forms is not None:  # every alternative refuses the value as a whole: say them all
        return SchemaError(f"{shown(error.instance)} is not {forms}", path=error.absolute_path,
                           validator=error.validator)
    if len(chosen) == len(branches):
        best = _closest(error)
        if best is not error:
            return _most_specific(best, root)
    if not chosen:  # a oneOf the value fits more than one branch of: jsonschema's message says so
        return error
    if len(chosen) == 1:
        return _most_specific(max(next(iter(chosen.values())), key=relevance), root)
    mismatched = [b for b in chosen.values() if len(b) == 1 and b[0].validator == "type" and not b[0].relative_path]
    if len(mismatched) == len(chosen):
        names = [n for [b] in mismatched for n in ([b.validator_value] if isinstance(b.validator_value, str)
                                                  else b.validator_value)]
        message = f"{shown(error.instance)} is not of type " + " or ".join(repr(n) for n in dict.fromkeys(names))
        return SchemaError(message, path=error.absolute_path, validator=error.validator)
    fitting = [b for b in chosen.values() if b not in mismatched]
    if len(fitting) == 1:
        return _most_specific(max(fitting[0], key=relevance), root)
    # each within the value (`qty: 0 is less than …`), the value's own place is said once, in front
    depth = len(error.absolute_path)
    problems = [located(list(refined.absolute_path)[depth:], refined)
                for refined in (_most_specific(max(b, key=relevance), root) for b in fitting)]
    message = f"{short(error.instance)} fits none of its {len(fitting)} forms: " + _listed(problems, ", or ")
    return SchemaError(message, path=error.absolute_path, validator=error.validator)


def _forms_wanted(branches: dict[Any, list[SchemaError]]) -> str | None:
    """`of type 'object' or 'string'`, `of type 'object' or one of ['']`: what each alternative wants,
    when each refuses the value itself (its type, or its `enum`/`const`), not a part of it; else None.

    Naming one alternative misleads: Stripe's `address: anyOf [object, enum [""]]` given 42 was told
    only `is not of type 'string'`, then given a string only `is not one of ['']`, and never that
    an object is wanted. A type error is preferred within an alternative (42 against `enum: [""]`
    fails both; its type says more). When a fixed-value alternative has the value's type, a `null`
    alternative is left out (`mode: 'append' is not one of ['merge', 'replace']`, not "of type 'null'
    or …": that an optional argument may be null does not help fix it)."""
    if len(branches) < 2:
        return None
    types: list[str] = []
    values: list[Any] = []
    for problems in branches.values():
        if not problems or any(p.relative_path for p in problems):
            return None
        typed = [p for p in problems if p.validator == "type"]
        fixed = [p for p in problems if p.validator in ("enum", "const")]
        if typed:
            wanted = typed[0].validator_value
            types.extend([wanted] if isinstance(wanted, str) else list(wanted))
        elif fixed and len(fixed) == len(problems):
            wanted = fixed[0].validator_value
            values.extend(wanted if fixed[0].validator == "enum" and isinstance(wanted, list) else [wanted])
        else:
            return None
    if values:  # the value's type fits a fixed-value alternative: that an optional one also takes null is no help
        types = [t for t in types if t != "null"]
    parts = []
    if types:
        parts.append("of type " + " or ".join(repr(t) for t in dict.fromkeys(types)))
    if values:
        parts.append("one of " + allowed_values(values))
    return " or ".join(parts)


def _closest(error: SchemaError) -> SchemaError:
    """The problem among a union's that is clearly the closest, or the union's own error when none is.

    One step of jsonschema's `best_match` descent: `best_match` itself would go on through a union
    inside this one without looking at its tags (`Optional[Cat | Dog]` with `{"kind": "dog"}` got
    Cat's `'cat' was expected`); `_most_specific` takes each further step."""
    smallest = heapq.nsmallest(2, error.context, key=relevance)
    if len(smallest) == 2 and relevance(smallest[0]) == relevance(smallest[1]):
        return error
    return smallest[0]


def _meant(error: SchemaError, branches: dict[Any, list[SchemaError]],
           root: Mapping[str, Any]) -> dict[Any, list[SchemaError]] | SchemaError | None:
    """A discriminated union's branches the value's tag selects (their errors), or the problem with
    the tag itself; None when the union is not discriminated or the value is no object."""
    found = _tags(error.schema, error.validator_value, root)
    if found is None or not isinstance(error.instance, dict):
        return None
    name, allowed = found
    value = error.instance.get(name, _MISSING)
    selected = [i for i, values in enumerate(allowed) if value is not _MISSING and _among(value, values)]
    if selected:
        return {i: branches[i] for i in selected if i in branches}
    choices = [v for values in allowed for v in values]
    wanted = ", ".join(short(v) for v in dict.fromkeys(choices[:10])) + (" …" if len(choices) > 10 else "")
    if value is _MISSING:
        return SchemaError(f"{name!r} is required (one of {wanted})", path=error.absolute_path, validator="required")
    return SchemaError(f"{short(value)} is not one of {wanted}", path=[*error.absolute_path, name],
                       validator="enum")


def _among(value: Any, values: list[Any]) -> bool:
    # JSON equality: True is not 1 (`True in [1]` is true in Python)
    return any(type(value) is type(v) and value == v for v in values)


def _tags(schema: Any, options: Any, root: Mapping[str, Any]) -> tuple[str, list[list[Any]]] | None:
    """(property, the values each branch allows for it) of a discriminated union, or None.

    The property is `discriminator.propertyName`, each branch's values `schema.shapes.branch_tags` (its
    `const`/`enum`, also in `allOf` parts, else its `mapping` keys, else — OpenAPI's implicit mapping — its
    schema's name); without a discriminator, the first property every branch fixes with `const`/`enum`."""
    if not isinstance(options, list) or not options or not isinstance(schema, Mapping):
        return None

    def resolve(ref: str) -> Any:
        return resolve_pointer(dict(root), ref)

    discriminator = schema.get("discriminator")
    name = discriminator.get("propertyName") if isinstance(discriminator, Mapping) else None
    if isinstance(name, str):
        mapping = discriminator.get("mapping") if isinstance(discriminator.get("mapping"), Mapping) else {}
        tags = [branch_tags(option, name, mapping, resolve) for option in options]
        return (name, [t[0] for t in tags if t is not None]) if all(t is not None and t[0] for t in tags) else None
    resolved = [_resolved(o, root) for o in options]
    first = resolved[0].get("properties") if isinstance(resolved[0], Mapping) else None
    for candidate in first if isinstance(first, Mapping) else ():
        allowed = [fixed_values(branch, candidate, resolve) for branch in resolved]
        if all(allowed):
            return candidate, allowed
    return None


def _resolved(option: Any, root: Mapping[str, Any]) -> Any:
    ref = option.get("$ref") if isinstance(option, Mapping) else None
    target = resolve_pointer(dict(root), ref) if isinstance(ref, str) else None
    return target if isinstance(target, Mapping) else option


def _without_wrong_tags(branches: dict[Any, list[SchemaError]]) -> dict[Any, list[SchemaError]]:
    """The branches whose errors fix no property by `const`/`enum` the value fails (all, if none is left)."""
    kept = {i: b for i, b in branches.items()
            if not any(e.validator in ("const", "enum") and len(e.relative_path) == 1 for e in b)}
    return kept or branches


def unknown_argument(name: str, properties: Mapping[str, Any]) -> str:
    """The problem with an argument `name` the schema's `properties` do not have, with the argument it most
    likely meant:
    - the same text in another Unicode form (`größe` sent decomposed, NFD, as macOS input methods and some JS
      clients send it; the schema spells it composed, NFC): compared after NFC normalisation (Unicode UAX #15),
      and said so, since the two look identical and a plain "did you mean" would name what looks like itself;
    - the original name a renamed argument's description gives (`The '住所' query parameter.` on `arg`: the
      model read it there), named with the key to send;
    - else the closest spelling (difflib ratio ≥ 0.6). The first and last are `errors.did_you_mean`'s."""
    said = f"unknown argument {short(name)}"
    original = None if alike_in(name, properties) else renamed_from(name, properties)
    if original is not None:
        return f"{said}: '{name}' is the original name of the argument '{original}' (its description says so): send '{original}'"
    return said + did_you_mean(name, list(properties))


def renamed_from(name: str, properties: Mapping[str, Any]) -> str | None:
    """The argument of `properties` served under a safe name for the original `name` (`sources/naming.arg_name`:
    its description starts `The '名前' …`, compared in NFC so a decomposed `größe` finds `gr_e`), else None."""
    composed = unicodedata.normalize("NFC", name)
    for prop, schema in properties.items():
        described = schema.get("description") if isinstance(schema, Mapping) else None
        if isinstance(described, str) and unicodedata.normalize("NFC", described).startswith(f"The '{composed}' "):
            return prop
    return None
