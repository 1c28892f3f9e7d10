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


def layout(document: dict[str, Any], style: str) -> str:
    """The document as text: compact, pretty-printed (what generators write: the lean parse guesses
    where a member ends from the indentation), or indented wrongly (the guess fails and the C
    scanner finds the end): flush left, or each line shifted by its own amount."""
    if style == "compact":
        return json.dumps(document, ensure_ascii=False)
    if style == "tabs":
        return json.dumps(document, ensure_ascii=False, indent="\t")
    pretty = json.dumps(document, ensure_ascii=False, indent=2)
    if style == "pretty":
        return pretty
    lines = pretty.split("\n")
    if style == "flush-left":
        return "\n".join(line.lstrip() for line in lines)
    return "\n".join(" " * (index * 7 % 5) + line.lstrip() for index, line in enumerate(lines))  # "shifted"


LAYOUTS = ("compact", "pretty", "tabs", "flush-left", "shifted")


def lean(document: dict[str, Any], *, indent: int | None = None, style: str | None = None) -> Any:
    text = layout(document, style) if style else json.dumps(document, ensure_ascii=False, indent=indent)
    raw = text.encode()
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


@settings(max_examples=250, deadline=None)
@given(paths=JSON, schema=JSON, info=JSON, examples=JSON, hooks=JSON, marker=TEXT, style=st.sampled_from(LAYOUTS))
def test_the_lean_parse_equals_json_loads_minus_skipped_sections(paths: Any, schema: Any, info: Any,
                                                                 examples: Any, hooks: Any, marker: str,
                                                                 style: str) -> None:
    document = {
        "openapi": "3.0.3",
        "info": info,
        "paths": paths,
        "components": {"schemas": {f"S-{marker}-é": schema, "Other": {"type": "object"}},
                       "examples": examples, "parameters": {"p": {"name": marker}}},
        "webhooks": hooks,
        "x-é": "non-ASCII marker so the Latin-1 path is taken",
    }
    assert lean(document, style=style) == expected(document)


def test_a_wrongly_indented_member_is_still_read_whole() -> None:
    """`paths` whose inner closing brace sits at the member's own indentation: the first guess of
    where it ends is too early, so it does not parse, and the scanner's end is used."""
    text = ('{\n  "openapi": "3.0.0",\n  "x-é": 1,\n  "paths": {\n    "/a": {\n  },\n    "/b": {"get": {}}\n  },\n'
            '  "info": {\n    "title": "t"\n  }\n}')
    value, _ = loads_lean(latin1_text(text.encode()), latin1=True)  # type: ignore[arg-type, misc]
    assert value == json.loads(text)


def test_a_backslash_before_u_in_text_is_no_escape() -> None:
    """`"\\\\u"` in JSON text is a backslash and a `u` (Hypothesis found a document quoting one beside
    non-ASCII text, which the Latin-1 path refused as if it held a `\\u` escape above U+007F); a
    real escape after an escaped backslash (`"\\\\\\u00e9"`) is still found."""
    document = {"info": {"title": "é \\u00e9 and \\\\u2603"}, "paths": {"/a": {"get": {"summary": "ü"}}}}
    raw = json.dumps(document, ensure_ascii=False).encode()
    assert b"\\\\u00e9" in raw
    assert latin1_text(raw) is not None
    assert lean(document) == expected(document)
    escaped = b'{"info": {"title": "\\\\\\u00e9 \xc3\xa9"}}'
    assert json.loads(escaped)["info"]["title"] == "\\é é"
    assert latin1_text(escaped) is None  # the escape's text is no Latin-1 repair: the stdlib parse reads it
