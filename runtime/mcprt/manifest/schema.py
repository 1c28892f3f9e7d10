"""The manifest's JSON Schema, generated from the models (what `mcprt schema` prints)."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from .model import Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _ManifestSchema(GenerateJsonSchema):
    def generate(self, schema: Any, mode: Any = "validation") -> dict[str, Any]:
        result = super().generate(schema, mode=mode)
        _close_pattern_properties(result)
        return {"$schema": SCHEMA_DIALECT, **result}

    def field_title_should_be_set(self, schema: Any) -> bool:
        # pydantic leaves the title off fields whose type is a model (`server`, `auth`, ...); an
        # editor then shows no heading for them, so every field gets one.
        return True


def _close_pattern_properties(node: Any) -> None:
    """A mapping whose keys must match a pattern (source names) rejects other keys, as the loader does;
    pydantic emits only `patternProperties`, which lets a non-matching key through."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_pattern_properties(value)
    elif isinstance(node, list):
        for value in node:
            _close_pattern_properties(value)


def manifest_schema() -> dict[str, Any]:
    return Manifest.model_json_schema(schema_generator=_ManifestSchema, mode="validation")


def manifest_schema_text() -> str:
    return json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
