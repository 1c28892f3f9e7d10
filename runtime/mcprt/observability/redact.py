"""Redaction for what the audit log and the status page keep: secret-looking names and known secrets.

Two rules, applied together: a value under a sensitive name (`token`, `password`, `api_key`, …,
the HTTP executor's list) is replaced; and any occurrence of a secret the manifest holds (every
`SecretStr` it loaded: inbound tokens, outbound credentials) is replaced wherever it appears.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretStr

from ..outbound.redaction import redact_value, scrub

__all__ = ["manifest_secrets", "preview", "redact_value"]  # redact_value lives with the other name rules

MIN_SECRET_LENGTH = 4  # shorter "secrets" would redact ordinary words


def manifest_secrets(model: Any) -> list[str]:
    """Every `SecretStr` value in a loaded manifest (longest first, so overlaps redact whole)."""
    found: set[str] = set()
    _walk(model, found)
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _walk(value: Any, found: set[str]) -> None:
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, found)


def preview(value: Any, limit: int, secrets: Iterable[str] = ()) -> tuple[str, bool]:
    """Redacted JSON (or text) of `value`, cut at `limit` characters; returns (text, was_cut)."""
    if isinstance(value, bytes):
        text = f"[{len(value)} bytes of binary data]"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(redact_value(value), ensure_ascii=False, indent=1, default=str)
    secrets = tuple(secrets)
    if secrets:
        text = scrub(text, secrets)
    return (text[:limit], True) if len(text) > limit else (text, False)
