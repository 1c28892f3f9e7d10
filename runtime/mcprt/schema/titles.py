"""Which JSON Schema `title`s a tool schema keeps: one rule for every source.

A title is an annotation (JSON Schema 2020-12 Validation §9.1): it constrains nothing, and a model
reads every byte of the tool list. So a title is kept only where it adds something — not when it
repeats the name it sits under (a property's name, a `$defs` key: pydantic generates exactly these,
`"Ticket"` for the model `Ticket`, `"Due Date"` for `due_date`) and not next to a description, which
says more. OpenAPI schemas (`sources.openapi.schemas`) and Python type hints
(`sources.python.signature`) both follow it.
"""

from __future__ import annotations

import re
from typing import Any

from .keywords import NAMED_SCHEMAS, ONE_SCHEMA, SCHEMA_LISTS


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def title_adds(title: Any, name: str | None, description: Any) -> bool:
    """Whether `title` is worth its bytes: a non-blank string, with no description beside it, that
    does not repeat `name` (compared by letters and digits only: `Due Date` repeats `due_date`)."""
    if not isinstance(title, str) or not title.strip() or description:
        return False
    return not (name and _norm(title) == _norm(name))


def drop_idle_titles(schema: Any, name: str | None = None) -> None:
    """Remove, in place and at every depth, the titles `title_adds` finds idle. Only schema positions
    are visited (`properties`, `$defs`, `items`, `anyOf`…), so a `default`, `const` or `enum` value
    holding a `"title"` key is data and stays as it is."""
    if isinstance(schema, list):
        for item in schema:
            drop_idle_titles(item)
        return
    if not isinstance(schema, dict):
        return
    if "title" in schema and not title_adds(schema["title"], name, schema.get("description")):
        del schema["title"]
    for key in NAMED_SCHEMAS:
        children = schema.get(key)
        if isinstance(children, dict):
            for child_name, child in children.items():
                drop_idle_titles(child, child_name if key != "patternProperties" else None)
    for key in ONE_SCHEMA + SCHEMA_LISTS:
        if key in schema:
            drop_idle_titles(schema[key])
