"""`mcprt validate` reports a template's field look-up on a value the result's schema says is a scalar.

Shapeleft, fault 4: `{{ result.name.first }}` with `name` documented as a string, or `result.items[0].id.x` on
an integer id, passed validate and rendered nothing (or failed) at call time: the static check stopped at a
field it found no properties for. Now such a look-up is reported at its `file:line:col`, naming what the schema
says the value is, by the prune's rule: a warning on an API description (which may get a type wrong; an error
under `--strict`), an error on a Python function's return type (exact) — a string's method names too (`.upper()`: a template reads data, and on a string that is a
missing key). Filters and a string's characters (`name[0]`) stay allowed, and render through a real server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.shaping.template_paths import check_template
from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http
from tests.support.upstream import serve_app

PERSON = {"type": "object", "properties": {
    "name": {"type": "string"}, "age": {"type": ["integer", "null"]}, "active": {"type": "boolean"},
    "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                          "tags": {"type": "string"}}}}}}
SPEC = {"openapi": "3.1.0", "info": {"title": "People", "version": "1"}, "paths": {"/people/{id}": {"get": {
    "operationId": "getPerson",
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": PERSON}}}}}}}}


@pytest.mark.parametrize(("template", "found"), [
    ("{{ result.name.first }}", [(1, 16, "first", "`result.name`", "a string")]),
    ("{{ result.name['first'] }}", [(1, 17, "first", "`result.name`", "a string")]),
    ("{{ result.items[0].id.x }}", [(1, 23, "x", "`result.items[0].id`", "an integer")]),
    ("{{ result.age.years }}", [(1, 15, "years", "`result.age`", "an integer or null")]),
    ("{% for i in result.items %}{{ i.id.value }}{% endfor %}", [(1, 36, "value", "`i.id`", "an integer")]),
    ("{{ result.items | map(attribute='id.x') | join }}", [(1, 37, "x", "`each item.id`", "an integer")]),
    ("{{ result.name[0].x }}", [(1, 19, "x", "`result.name[0]`", "a string")]),
    ("{% set n = result.active %}\n{{ n.value }}", [(2, 6, "value", "`n`", "a boolean")]),
    ("{{ result.name.upper() }}", [(1, 16, "upper", "`result.name`", "a string")]),
    # `attr` reads a field on data as `.name` does (review of shapeleft: it was not followed)
    ("{{ result.name | attr('first') }}", [(1, 24, "first", "`result.name`", "a string")]),
    ("{{ result.items[0] | attr('id') | attr('x') }}", [(1, 41, "x", "`result.items[0] | attr('id')`", "an integer")]),
])
def test_a_field_looked_up_on_a_scalar_is_found(template: str, found: list[tuple[int, int, str, str, str]]) -> None:
    problems = check_template(template, PERSON)
    assert [(p.line, p.col, p.message, p.certain) for p in problems] == [
        (line, col, f"'{name}' is looked up on {on}, which the result's schema documents as {kind}: it has no "
                    "fields, so this renders nothing or fails at call time", False) for line, col, name, on, kind in found]


@pytest.mark.parametrize("template", [
    "{{ result.name | upper }}", "{{ result.name[0] }}", "{{ result.items[0].tags | trim }}",
    "{{ result.name | length }}", "{{ result.age | default(0) }}",
    "{{ result.age.real }}",  # a number's own attribute: the sandbox reads it (its refusals are `template_safety`'s)
])
def test_filters_characters_and_the_sandbox_s_own_findings_are_no_finding_here(template: str) -> None:
    assert check_template(template, PERSON) == []


MANIFEST = """\
version: 1
sources:
  people:
    openapi: people.json
    base_url: {base}
    tools:
      getPerson:
        output: |
          {{{{ result.name.first }}}} ({{{{ result.name[0] }}}}, {{{{ result.name | upper }}}})
          {{% for i in result['items'] %}}{{{{ i.id.x }}}} {{% endfor %}}
"""


_SUFFIX = (" (if the result carries it anyway, its schema is incomplete — the API's description or the function's "
           "return type; `undocumented_fields` vouches for it: a warning, not an error)")


def test_validate_reports_it_at_its_line_and_column(tmp_path: Path) -> None:
    """On an API description: a warning (the prune's rule), which `--strict` makes an error (exit 2)."""
    (tmp_path / "people.json").write_text(json.dumps(SPEC))
    (tmp_path / "mcp.yaml").write_text(MANIFEST.format(base="http://127.0.0.1:9"))
    expected = [
        "mcp.yaml:9:26: warning: output template, line 1: 'first' is looked up on `result.name`, which the result's "
        "schema documents as a string: it has no fields, so this renders nothing or fails at call time" + _SUFFIX,
        "mcp.yaml:10:49: warning: output template, line 2: 'x' is looked up on `i.id`, which the result's schema "
        "documents as an integer: it has no fields, so this renders nothing or fails at call time" + _SUFFIX,
    ]
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 0 and [line for line in done.stderr.splitlines() if "looked up on" in line] == expected
    strict = mcprt_cli("validate", "--strict", "mcp.yaml", cwd=tmp_path)
    assert strict.returncode == 2 and "Traceback" not in strict.stderr, strict.stderr
    assert sum("looked up on" in line for line in strict.stderr.splitlines()) == 2, strict.stderr


MODULE = '''
def person(n: int) -> dict[str, str]:
    """A person by number."""
    return {"name": f"person {n}"}
'''


def test_on_a_function_s_return_type_it_is_an_error(tmp_path: Path) -> None:
    """A return annotation lists every field and its type: the look-up can never give data."""
    (tmp_path / "people_fns.py").write_text(MODULE)
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t:\n    python: people_fns\n    tools:\n"
                                       "      person: {output: '{{ result.name.first }}'}\n")
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "mcp.yaml:6:40: output template, line 1: 'first' is looked up on `result.name`, which the result's schema " \
        "documents as a string: it has no fields, so this renders nothing or fails at call time\n" in done.stderr


async def test_what_the_check_allows_renders_through_a_real_server(tmp_path: Path) -> None:
    async def person(request: Request) -> JSONResponse:
        return JSONResponse({"name": "ada lovelace", "age": 36, "active": True, "items": [{"id": 1, "tags": " a "}]})

    (tmp_path / "people.json").write_text(json.dumps(SPEC))
    with serve_app(Starlette(routes=[Route("/people/{id}", person)])) as base:
        (tmp_path / "mcp.yaml").write_text(MANIFEST.format(base=base).replace(
            "{{ result.name.first }}", "{{ result.name | title }}").replace("{{ i.id.x }}", "{{ i.id }}:{{ i.tags | trim }}"))
        assert mcprt_cli("validate", "mcp.yaml", cwd=tmp_path).returncode == 0
        with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as up:
            async with http_client(up.url) as client:
                got = await client.call_tool("getPerson", {"id": 1})
    assert [block.text for block in got.content] == ["Ada Lovelace (a, ADA LOVELACE)\n1:a"]
