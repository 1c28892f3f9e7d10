"""`pattern`s are ECMA-262 (Unicode mode): kept in the emitted schema only when a JavaScript client
can compile them, dropped with a warning naming the JSON pointer otherwise, and evaluated by mcprt's
own argument check with an engine that understands them — never an internal error.

The issue's example runs through the real CLI against a recording upstream on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from mcprt.schema.ecma_regex import _Invalid, _Parser, compile_pattern, ecma_error
from mcprt.schema.validator import argument_validator
from tests.support.catchall import CatchAll, catch_all
from tests.support.cli import mcprt_cli

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "patterns", "version": "1"},
    "paths": {
        "/x/{name}": {
            "get": {
                "operationId": "getX",
                "parameters": [
                    {"name": "name", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": "^[\\p{L}\\p{Z}]+$"}},
                    {"name": "code", "in": "query", "schema": {"type": "string", "pattern": "^[\\d-_]+$"}},
                    {"name": "tick", "in": "query", "schema": {"type": "string", "pattern": "\\x{60}"}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/labels": {
            "post": {
                "operationId": "putLabels",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {
                        "labels": {"type": "object",
                                   "patternProperties": {"^\\p{Lu}": {"type": "integer"}, "(?i)x": {"type": "string"}},
                                   "additionalProperties": True},
                        "amount": {"type": "number", "multipleOf": 0.01},
                        "id": {"type": "string", "pattern": "^(?<y>\\d{4})-\\k<y>$"},
                    },
                }}}},
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[CatchAll]:
    with catch_all() as server:
        yield server


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory, upstream: CatchAll) -> Path:
    folder = tmp_path_factory.mktemp("patterns")
    (folder / "api.json").write_text(json.dumps(SPEC))
    path = folder / "mcp.yaml"
    path.write_text(f"version: 1\nserver: {{name: p}}\nsources:\n  p: {{openapi: api.json, base_url: '{upstream.base}'}}\n")
    return path


def _call(manifest: Path, tool: str, arguments: dict) -> tuple[int, str]:
    done = mcprt_cli("call", str(manifest), tool, "--args", json.dumps(arguments, ensure_ascii=False))
    assert "internal error" not in done.stdout + done.stderr
    return done.returncode, done.stdout


def test_a_unicode_property_pattern_accepts_valid_values_and_refuses_others(manifest: Path, upstream: CatchAll) -> None:
    upstream.clear()
    code, out = _call(manifest, "getX", {"name": "héllo wörld"})
    assert code == 0, out
    assert upstream.last().path == "/x/h%C3%A9llo%20w%C3%B6rld"
    code, out = _call(manifest, "getX", {"name": "a1"})
    assert code == 1
    assert "name: 'a1' does not match" in json.loads(out)["content"][0]["text"]
    assert len(upstream.seen) == 1  # the refused call never reached the upstream


def test_patterns_a_javascript_client_cannot_compile_are_dropped_with_their_pointer(manifest: Path) -> None:
    listed = mcprt_cli("tools", str(manifest), "--json")
    assert listed.returncode == 0, listed.stderr
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    props = tools["getX"]["inputSchema"]["properties"]
    assert props["name"]["pattern"] == "^[\\p{L}\\p{Z}]+$"
    assert "pattern" not in props["code"] and "pattern" not in props["tick"]
    labels = tools["putLabels"]["inputSchema"]["properties"]["labels"]
    assert list(labels["patternProperties"]) == ["^\\p{Lu}"]
    checked = mcprt_cli("validate", str(manifest))
    assert checked.returncode == 0, checked.stderr
    for pointer in ("#/paths/~1x~1{name}/get/parameters/1/schema/pattern",
                    "#/paths/~1x~1{name}/get/parameters/2/schema/pattern",
                    "#/paths/~1labels/post/requestBody/content/application~1json/schema/properties/labels"
                    "/patternProperties/(?i)x"):
        assert pointer in checked.stderr, checked.stderr


def test_other_keywords_in_the_same_body_are_evaluated_not_raised(manifest: Path, upstream: CatchAll) -> None:
    code, out = _call(manifest, "putLabels", {"labels": {"Éa": "x"}, "amount": 1e400, "id": "2024-2025"})
    text = json.loads(out)["content"][0]["text"]
    assert code == 1
    assert "labels.Éa: 'x' is not of type 'integer'" in text
    assert "is not a multiple of 0.01" in text
    assert "id: '2024-2025' does not match" in text
    upstream.clear()
    code, out = _call(manifest, "putLabels", {"labels": {"Éa": 1}, "amount": 0.3, "id": "2024-2024"})
    assert code == 0, out
    assert json.loads(upstream.last().body) == {"labels": {"Éa": 1}, "amount": 0.3, "id": "2024-2024"}


@pytest.mark.parametrize("pattern", [
    "^[\\p{L}\\p{Z}]+$", "\\p{Script=Greek}", "^\\d{3}-\\d{4}$", "(?<y>\\d{4})-\\k<y>", "\\u{1F600}", "[^]",
    "\\/path", "^[A-Za-z0-9+/]*={0,2}$", "[\\w\\-.]+", "(?<=a)b", "(?<!a)b", "a{2,}?", "\\cJ\\0", "[\\u0041-\\u005A]",
])
def test_valid_ecma_patterns_are_kept(pattern: str) -> None:
    assert ecma_error(pattern) is None


@pytest.mark.parametrize(("pattern", "why"), [
    ("[\\d-_]", "class escape"), ("\\x{60}", "two hex digits"), ("(?i)abc", "invalid group"),
    ("(?P<x>a)", "invalid group"), ("\\Z", "not a valid escape"), ("a++", "nothing to repeat"),
    ("x]", "lone ']'"), ("a{3,1}", "out of order"), ("[z-a]", "out of order"), ("\\1(a)(b)\\3", "names no group"),
    ("\\p{NoSuchProperty}", "property"), ("(a", "unterminated"), ("(?=a)*", "nothing to repeat"), ("\\01", "octal"),
])
def test_invalid_ecma_patterns_say_why(pattern: str, why: str) -> None:
    assert why in (ecma_error(pattern) or "")


def test_evaluation_has_ecma_meaning() -> None:
    assert compile_pattern("^\\d+$").search("\u0663") is None  # \d is ASCII in ECMA-262
    assert compile_pattern("^\\d+$").search("3\n") is None  # $ is the end of the input only
    assert compile_pattern("^.$").search("\u2028") is None  # . excludes every line terminator
    assert compile_pattern("\\bfoo").search("éfoo") is not None  # \b is ASCII
    assert compile_pattern("[\\D]").search("1") is None and compile_pattern("[\\W]").search("_") is None


@pytest.mark.parametrize(("schema", "instance"), [
    ({"pattern": "(?P<py>a)\\Z"}, "b"),  # not ECMA-262: evaluated in the regex dialect
    ({"pattern": "\\x{zz"}, "b"),  # nothing compiles it: skipped
    ({"pattern": "^(a|aa)+$"}, "a" * 5000 + "!"),  # pathological: time-limited, undecided
    ({"multipleOf": 0.1}, 10**400),
    ({"type": "no-such-type"}, 1),
    ({"$ref": "#/$defs/missing"}, 1),
    ({"format": "date-time"}, "not a date"),
    ({"minLength": "3"}, "ab"),
])
def test_the_argument_check_never_raises(schema: dict, instance: object) -> None:
    list(argument_validator(schema).iter_errors(instance))


_PATTERN = st.text(alphabet=st.sampled_from(list("ab01-_.*+?|^$()[]{},\\dDwWsSbBpPuxL{}=!<:k9")), max_size=16)


@settings(max_examples=500, deadline=None)
@given(_PATTERN)
def test_what_re_compiles_regex_compiles_too(pattern: str) -> None:
    """`ecma_error` accepts a translation `re` compiles without loading `regex`: that is only the
    same answer if `regex` (VERSION0, as the checks use it) compiles every such translation."""
    try:
        translated = _Parser(pattern).parse()
    except (_Invalid, RecursionError):
        return
    try:
        re.compile(translated)
    except (re.error, OverflowError, ValueError, RecursionError):
        return
    assert regex.compile(translated, regex.VERSION0) is not None
