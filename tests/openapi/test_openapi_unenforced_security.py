"""`unenforced_security`: the security schemes a deployment does not enforce (the lead's decision on the
Petstore entry, trial docs #2).

The Petstore's pet operations require only `petstore_auth` (OAuth2 implicit), which the public demo does not
enforce: `validate` warned three times that they need auth the source does not configure, and the catalog
test hid it behind a hard-coded exception list. Naming the scheme unenforced meets exactly the requirements
it stands in, nothing else; a name the description does not define is an error at its item.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9/v1"}],
    "components": {"securitySchemes": {
        "api_key": {"type": "apiKey", "in": "header", "name": "api_key"},
        "implicit": {"type": "oauth2", "flows": {"implicit": {
            "authorizationUrl": "https://idp.example.com/authorize", "scopes": {"write": "w"}}}},
        "partner": {"type": "http", "scheme": "bearer"},
    }},
    "paths": {
        "/pets": {"post": {"operationId": "addPet", "security": [{"implicit": ["write"]}],
                           "responses": {"200": {"description": "ok"}}}},
        "/pets/{id}": {"get": {"operationId": "getPet", "security": [{"api_key": []}, {"implicit": ["write"]}],
                               "parameters": [{"name": "id", "in": "path", "required": True,
                                               "schema": {"type": "integer"}}],
                               "responses": {"200": {"description": "ok"}}}},
        "/partners": {"get": {"operationId": "partners", "security": [{"partner": []}],
                              "responses": {"200": {"description": "ok"}}}},
    },
}


def _validate(folder: Path, extra: str) -> tuple[int, list[str]]:
    (folder / "api.json").write_text(json.dumps(SPEC))
    (folder / "mcp.yaml").write_text(
        "version: 1\nsources:\n  s:\n    openapi: api.json\n"
        "    auth: {api_key: {name: api_key, in: header, value: key-value-1234}}\n" + extra)
    done = mcprt_cli("validate", str(folder / "mcp.yaml"))
    return done.returncode, [line for line in done.stderr.splitlines() if "needs auth" in line or "unknown" in line]


def test_without_it_each_operation_needing_an_unconfigured_scheme_is_warned_about(tmp_path: Path) -> None:
    code, lines = _validate(tmp_path, "")
    assert code == 0
    assert [line.split("operation ")[1].split(" ")[0] for line in lines if "needs auth" in line] == \
        ["`addPet`", "`partners`"], lines


def test_a_named_scheme_meets_only_the_requirements_it_stands_in(tmp_path: Path) -> None:
    code, lines = _validate(tmp_path, "    unenforced_security: [implicit]\n")
    assert code == 0
    # addPet's requirement is met; partners' (another scheme, not named) still warns
    assert [line for line in lines if "needs auth" in line] == [
        next(line for line in lines if "`partners` needs auth" in line)], lines


@pytest.mark.parametrize(("written", "expected"), [
    ("[implict]", "mcp.yaml:6:27: source 's': unknown security scheme 'implict' (did you mean 'implicit'?): "
                  "the description's `components.securitySchemes` define no such scheme"),
    ("[implicit, zzz]", "mcp.yaml:6:37: source 's': unknown security scheme 'zzz' (it has: api_key, implicit, "
                        "partner)"),
])
def test_a_name_the_description_does_not_define_is_an_error_at_its_item(tmp_path: Path, written: str,
                                                                       expected: str) -> None:
    code, lines = _validate(tmp_path, f"    unenforced_security: {written}\n")
    assert code == 2
    assert any(expected in line for line in lines), lines
