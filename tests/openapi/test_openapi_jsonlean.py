"""The lean JSON parse of big descriptions (sources/openapi/jsonlean.py) gives exactly what
`json.loads` gives, minus the sections no tool uses: on UTF-8 text read as Latin-1 and repaired
(orjson parses the kept parts from their bytes), and where orjson refuses a value (NaN, an integer
beyond 64 bits) and the stdlib parses it instead."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcprt.sources.openapi.jsonlean import SKIPPED_COMPONENTS, SKIPPED_TOP, latin1_text, loads_lean

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)


def expected(document: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in document.items() if k not in SKIPPED_TOP}
    if isinstance(kept.get("components"), dict):
        kept["components"] = {k: v for k, v in kept["components"].items() if k not in SKIPPED_COMPONENTS}
    return kept


def lean(document: dict[str, Any], *, indent: int | None = None) -> Any:
    raw = json.dumps(document, ensure_ascii=False, indent=indent).encode()
    text = latin1_text(raw)
    assert text is not None, "a UTF-8 document without \\u escapes above ASCII is read as Latin-1"
    parsed = loads_lean(text, latin1=True)
    assert parsed is not None
    value, trimmed = parsed
    return json.loads(json.dumps(value)) if trimmed else value  # materialize the lazy schemas


def test_non_ascii_text_in_every_position_survives() -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Café ☕ API", "description": "漢字 and 😀 (four bytes)"},
        "paths": {"/café/{ïd}": {"get": {"summary": "Ünïcode ✓", "tags": ["ß", "😀"], "x-n": [1, 2.5, None]}}},
        "components": {"schemas": {"Pèt": {"type": "object", "description": "🐕", "enum": ["é", "ê"]},
                                   "Plain": {"type": "string"}},
                       "examples": {"big": {"value": "dropped ❌"}}},
        "x-webhooks": {"hook": {"post": {}}},
        "tags": "a top-level string: é",
    }
    for indent in (None, 2):
        assert lean(document, indent=indent) == expected(document)


def test_values_orjson_refuses_are_parsed_by_the_stdlib() -> None:
    raw = ('{"openapi": "3.0.0", "paths": {"/é": {"get": {"x-big": 123456789012345678901234567890, '
           '"x-nan": NaN, "summary": "ü"}}}, "components": {"schemas": {"Ä": {"maximum": Infinity, '
           '"title": "ö", "x-huge": -99999999999999999999999}}}}').encode()
    text = latin1_text(raw)
    assert text is not None
    value, _ = loads_lean(text, latin1=True)  # type: ignore[misc]
    operation = value["paths"]["/é"]["get"]
    assert operation["x-big"] == 123456789012345678901234567890 and math.isnan(operation["x-nan"])
    assert operation["summary"] == "ü"
    schema = value["components"]["schemas"]["Ä"]
    assert schema == {"maximum": math.inf, "title": "ö", "x-huge": -99999999999999999999999}


@settings(max_examples=150, deadline=None)
@given(paths=JSON, schema=JSON, info=JSON, examples=JSON, hooks=JSON, marker=TEXT)
def test_the_lean_parse_equals_json_loads_minus_skipped_sections(paths: Any, schema: Any, info: Any,
                                                                 examples: Any, hooks: Any, marker: str) -> None:
    document = {
        "openapi": "3.0.3",
        "info": info,
        "paths": paths,
        "components": {"schemas": {f"S-{marker}-é": schema, "Other": {"type": "object"}},
                       "examples": examples, "parameters": {"p": {"name": marker}}},
        "webhooks": hooks,
        "x-é": "non-ASCII marker so the Latin-1 path is taken",
    }
    assert lean(document) == expected(document)
