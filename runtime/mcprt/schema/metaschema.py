"""Whether a JSON Schema is itself valid: checked against the meta-schema, fast.

jsonschema's `check_schema` walks the draft 2020-12 meta-schema (dynamic references, vocabularies):
measured at 3–14 ms per tool schema on the 2-core machine, so 1,223 proxied tools took 4–18 s per
listing. A meta-schema compiled once by fastjsonschema takes ~0.15 ms and catches what malformed
schemas in the wild get wrong (`"type": "frobnicate"`, `"required": "id"`, `"minimum": "zero"`,
`"properties": []`). Its "valid" verdict stands only where it is sound for the schema's dialect:
  - draft-07 (`$schema` names it): the draft-07 meta-schema itself;
  - 2020-12 (`$schema` names it, or none: 2020-12 is MCP's default, SEP-1613): the draft-07
    meta-schema patched to what 2020-12's meta-schema asserts beyond it (`_patched_2020`): `items`
    one schema, `$defs`/`prefixItems`/`dependentSchemas`/`unevaluated*`/`contentSchema` schemas,
    and the shapes of the other 2019/2020 keywords. Nothing it accepts is refused by 2020-12's
    meta-schema (JSON Schema 2020-12 meta/*; formats are not asserted by either check);
  - any other dialect (2019-09's anchors and `$recursiveAnchor` differ from 2020-12's): no shortcut.
A schema the shortcut refuses (or does not cover) is checked against its own dialect (`$schema`,
else 2020-12) by jsonschema, whose verdict and message stand.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

from .shortcut import COMPILE_LOCK

_DRAFT_07 = frozenset({"http://json-schema.org/draft-07/schema", "https://json-schema.org/draft-07/schema"})
_DRAFT_2020 = frozenset({"https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft/2020-12/schema"})
_SCHEMA = {"$ref": "#"}
_SCHEMA_MAP = {"type": "object", "additionalProperties": _SCHEMA}
_NON_NEGATIVE = {"$ref": "#/definitions/nonNegativeInteger"}
_ANCHOR = {"type": "string", "pattern": "^[A-Za-z_][-A-Za-z0-9._]*$"}  # 2020-12 meta/core `anchorString`


def _patched_2020(draft7: dict[str, Any]) -> dict[str, Any]:
    """The draft-07 meta-schema, asserting what JSON Schema 2020-12's meta-schema (core, applicator,
    unevaluated, validation, meta-data, content, and its kept `$recursive*`) asserts beyond it."""
    meta = copy.deepcopy(draft7)
    meta["properties"].update({
        "$id": {"type": "string", "pattern": "^[^#]*#?$"},  # meta/core: no fragment but an empty one
        "$anchor": _ANCHOR, "$dynamicAnchor": _ANCHOR, "$dynamicRef": {"type": "string"},
        "$recursiveAnchor": _ANCHOR, "$recursiveRef": {"type": "string"},  # 2020-12 keeps 2019-09's, reshaped
        "$vocabulary": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "$defs": _SCHEMA_MAP,
        "items": _SCHEMA,  # 2020-12: one schema; the array form is `prefixItems`
        "prefixItems": {"$ref": "#/definitions/schemaArray"},
        "dependentSchemas": _SCHEMA_MAP,
        "dependentRequired": {"type": "object", "additionalProperties": {"$ref": "#/definitions/stringArray"}},
        "unevaluatedItems": _SCHEMA, "unevaluatedProperties": _SCHEMA, "contentSchema": _SCHEMA,
        "minContains": _NON_NEGATIVE, "maxContains": _NON_NEGATIVE,
        "deprecated": {"type": "boolean"}, "writeOnly": {"type": "boolean"},
    })
    return meta


@cache
def _compiled(dialect: str) -> Callable[[Any], Any] | None:
    """The compiled meta-schema check for `dialect` ("draft7" or "2020"), or None if it cannot compile."""
    import fastjsonschema
    from jsonschema.validators import Draft7Validator

    draft7 = Draft7Validator.META_SCHEMA
    meta = draft7 if dialect == "draft7" else _patched_2020(draft7)
    handlers = {"http": lambda uri: meta, "https": lambda uri: meta}  # its own `$schema`/`$id`: never fetched
    try:
        with COMPILE_LOCK:
            # use_default=False: it would otherwise write the meta-schema's defaults into the checked schema
            return fastjsonschema.compile(meta, handlers=handlers, use_formats=False,  # type: ignore[no-any-return]
                                          use_default=False)
    except Exception:  # pragma: no cover - then every schema takes jsonschema's path
        return None


def _shortcut_for(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    """The fast check whose "valid" is sound for `schema`'s dialect (module docstring), or None."""
    dialect = schema.get("$schema")
    if dialect is None:
        return _compiled("2020")
    if not isinstance(dialect, str):
        return None
    uri = dialect.rstrip("#")
    if uri in _DRAFT_2020:
        return _compiled("2020")
    return _compiled("draft7") if uri in _DRAFT_07 else None


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not valid JSON Schema (`at <path>: <message>`), or None when it is."""
    check = _shortcut_for(schema)
    if check is not None:
        try:
            check(schema)
            return None
        except Exception:  # refused (or undecided): jsonschema decides, and words the message
            pass
    from jsonschema.exceptions import best_match
    from jsonschema.validators import Draft202012Validator, validator_for

    try:
        validator = validator_for(schema, default=Draft202012Validator)
    except Exception as exc:  # an unknown `$schema` dialect
        return f"names an unknown dialect: {exc}"
    error = best_match(validator(validator.META_SCHEMA).iter_errors(schema))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    message = error.message.splitlines()[0] if error.message else ""
    return f"at {where}: {message if len(message) <= 200 else message[:200] + '…'}"
