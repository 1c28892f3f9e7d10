"""Whether a JSON Schema is itself valid: checked against the meta-schema, fast.

jsonschema's `check_schema` walks the draft 2020-12 meta-schema (dynamic references, vocabularies):
measured at 3–14 ms per tool schema on the 2-core machine, so 1,223 proxied tools took 4–18 s per
listing. The draft-07 meta-schema compiled once by fastjsonschema takes ~0.15 ms and catches what
malformed schemas in the wild get wrong (`"type": "frobnicate"`, `"required": "id"`, `"minimum":
"zero"`, `"properties": []`). A schema it accepts is accepted — 2020-12 only adds keywords, which the
draft-07 meta-schema lets through; one it refuses is checked again against the schema's own dialect
(`$schema`, else 2020-12) by jsonschema, whose verdict and message stand.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from .shortcut import COMPILE_LOCK


@cache
def _draft7_check() -> Callable[[Any], Any] | None:
    import fastjsonschema
    from jsonschema.validators import Draft7Validator

    meta = Draft7Validator.META_SCHEMA
    handlers = {"http": lambda uri: meta, "https": lambda uri: meta}  # its own `$schema`/`$id`: never fetched
    try:
        with COMPILE_LOCK:
            # use_default=False: it would otherwise write the meta-schema's defaults into the checked schema
            return fastjsonschema.compile(meta, handlers=handlers, use_formats=False,  # type: ignore[no-any-return]
                                          use_default=False)
    except Exception:  # pragma: no cover - then every schema takes jsonschema's path
        return None


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not valid JSON Schema (`at <path>: <message>`), or None when it is."""
    check = _draft7_check()
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
