"""`mcprt validate` on the prune look-ups the shaping trial found it let through (real CLI, exit codes, file:line:col).

- Fault 4: a typo inside `map(&expr, …)` (the reference comes first there) was not checked, while the same typo
  in `sort_by(…, &expr)` and `max_by(…, &expr)` was; a field looked up on a value documented as a string
  (`customer.name.first`, a map of strings' `meta.k1.foo`) was not reported at all. Both always give null.
- Fault 5: a truncated name (`stat`, `custo`, `ite`) was a warning, exit 0, while `stats` and `stauts` were
  errors: a name cut short is as surely a typo.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

ORDER = {"type": "object", "required": ["id"], "properties": {
    "id": {"type": "integer"},
    "status": {"type": "string", "enum": ["open", "paid"]},
    "customer": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "sku": {"type": "string"}, "price": {"type": "number"}}}},
    "meta": {"type": "object", "additionalProperties": {"type": "string"}}}}
SPEC = {
    "openapi": "3.1.0", "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/orders": {"get": {"operationId": "listOrders", "responses": {"200": {"description": "ok", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "data": {"type": "array", "items": ORDER}, "next_cursor": {"type": ["string", "null"]}}}}}}}}},
        "/orders/{id}": {"get": {"operationId": "getOrder", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": ORDER}}}}}},
    },
}


def validate(folder: Path, list_prune: str, get_prune: str = "{id: id}") -> subprocess.CompletedProcess[str]:
    (folder / "shop.json").write_text(json.dumps(SPEC))
    (folder / "mcp.yaml").write_text(
        "version: 1\nsources:\n  shop:\n    openapi: shop.json\n    base_url: http://127.0.0.1:9\n    tools:\n"
        f"      listOrders:\n        prune: {json.dumps(list_prune)}\n"
        f"      getOrder:\n        prune: {json.dumps(get_prune)}\n")
    return mcprt_cli("validate", "mcp.yaml", cwd=folder)


def findings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if re.match(r"mcp\.yaml:\d+:\d+: ", line)]


@pytest.mark.parametrize(("prune", "name"), [
    ("map(&customr.name, data)", "customr"),  # the reference first
    ("sort_by(data, &stauts)", "stauts"),
    ("max_by(data, &idd)", "idd"),
    ("data[].items[] | min_by(@, &pirce)", "pirce"),
    ("map(&map(&skuu, items), data)", "skuu"),  # a reference inside a reference
])
def test_a_typo_in_any_expression_reference_is_an_error_at_its_column(tmp_path: Path, prune: str, name: str) -> None:
    done = validate(tmp_path, prune)
    assert done.returncode == 2, done.stderr
    [line] = findings(done)
    column = len('        prune: "') + prune.index(name) + 1
    assert line.startswith(f"mcp.yaml:8:{column}: prune: field '{name}' cannot exist here"), line


def test_map_gives_a_list_of_what_its_reference_gives(tmp_path: Path) -> None:
    """`map`'s result is checked on: a look-up on it as if it were an object is on a list."""
    done = validate(tmp_path, "{names: map(&customer.name, data)}", "{id: id}")
    assert done.returncode == 0, done.stderr
    done = validate(tmp_path, "map(&customer, data).name")
    assert done.returncode == 2 and "looked up on a list" in done.stderr, done.stderr


def test_a_field_of_a_value_documented_as_a_string_is_reported_at_its_column(tmp_path: Path) -> None:
    done = validate(tmp_path, "{c: data[].customer.name.first, h: data[].meta.k1.foo}")
    lines = findings(done)
    assert len(lines) == 2, done.stderr
    first = "{c: data[].customer.name.".__len__() + 1 + 16
    assert lines[0].startswith(f"mcp.yaml:8:{first}: warning: prune: field 'first' is looked up on a value "
                               "documented as string, which has no fields"), lines
    assert "field 'foo' is looked up on a value documented as string" in lines[1], lines
    assert "undocumented_fields" in lines[0]  # a description can get a type wrong: vouch for the field
    assert mcprt_cli("validate", "--strict", "mcp.yaml", cwd=tmp_path).returncode != 0


@pytest.mark.parametrize(("prune", "kind"), [("{i: length(data).z}", "integer"), ("{s: join(',', data[].status).x}", "string")])
def test_a_field_of_a_function_s_value_is_an_error(tmp_path: Path, prune: str, kind: str) -> None:
    """Review of shapefix, problem 10: `length(data).z` was a warning blaming the API's description; a function's
    value has its type by the JMESPath spec, so the look-up is always null: an error at its column."""
    done = validate(tmp_path, prune)
    assert done.returncode == 2, done.stderr
    [line] = findings(done)
    column = len('        prune: "') + prune.rindex(".") + 2
    assert line.startswith(f"mcp.yaml:8:{column}: prune: field '{prune[prune.rindex('.') + 1:-1]}' is looked up on "
                           f"a value always {kind}, which has no fields"), line


@pytest.mark.parametrize("name", ["stat", "custo", "ite", "stats", "stauts"])
def test_a_truncated_name_is_an_error_like_any_typo(tmp_path: Path, name: str) -> None:
    done = validate(tmp_path, "{id: data[].id}", f"{{k: {name}}}")
    assert done.returncode == 2, done.stderr
    [line] = findings(done)
    assert line.startswith(f"mcp.yaml:10:21: prune: field '{name}' cannot exist here"), line
    assert "warning" not in line


def test_a_name_like_no_documented_one_stays_a_warning(tmp_path: Path) -> None:
    """The document may have left it out: `validate` says so, `--strict` fails, a plain validate passes."""
    done = validate(tmp_path, "{id: data[].id}", "{k: tracking_number}")
    assert done.returncode == 0, done.stderr
    [line] = findings(done)
    assert ": warning: prune: field 'tracking_number' cannot exist here" in line
