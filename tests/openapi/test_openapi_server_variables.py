"""`server_variables` are checked against the description's Server Objects (OpenAPI 3.x §4.8.6).

Found by a new-user trial: `{base: api/v9}` against `enum: [api/v1, api/v2]` and `{prt: "9101"}` (a typo
of `port`) both passed `validate --strict`; the first built a base URL the API does not serve (every call
a 404), the second was ignored in silence (the default port used). Each is an error at its key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "http://{host}:{port}/{base}", "variables": {
        "host": {"default": "127.0.0.1"}, "port": {"default": "9101"},
        "base": {"default": "api/v1", "enum": ["api/v1", "api/v2"]}}}],
    "paths": {
        "/public": {"get": {"operationId": "publicOp", "responses": {"200": {"description": "ok"}}}},
        # a path of its own server: its variables are declared too
        "/ext": {"servers": [{"url": "http://{region}.example.com", "variables": {
            "region": {"default": "eu", "enum": ["eu", "us"]}}}],
                 "get": {"operationId": "ext", "responses": {"200": {"description": "ok"}}}},
    },
}


@pytest.mark.parametrize(("variables", "expected"), [
    ('{base: api/v9}', "mcp.yaml:5:30: source 's': server variable 'base' is 'api/v9', which the description's "
                       "server does not allow (allowed: api/v1, api/v2)"),
    ('{prt: "9101"}', "mcp.yaml:5:29: source 's': unknown server variable 'prt' (did you mean 'port'?): the "
                      "description's servers declare no such variable, so it would be ignored"),
    ('{region: asia}', "mcp.yaml:5:32: source 's': server variable 'region' is 'asia', which the description's "
                       "server does not allow (allowed: eu, us)"),
    ('{zzz: "1"}', "source 's': unknown server variable 'zzz' (it has: base, host, port, region)"),
])
def test_a_wrong_server_variable_is_an_error_at_its_key(tmp_path: Path, variables: str, expected: str) -> None:
    (tmp_path / "api.json").write_text(json.dumps(SPEC))
    (tmp_path / "mcp.yaml").write_text(
        f"version: 1\nsources:\n  s:\n    openapi: api.json\n    server_variables: {variables}\n")
    checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"))
    assert checked.returncode != 0 and expected in checked.stderr, checked.stderr


def test_allowed_values_and_base_url_pass(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps(SPEC))
    for extra in ("server_variables: {base: api/v2, port: '9102', region: us}",
                  # with `base_url` the servers are not used: their variables are not checked
                  "base_url: http://127.0.0.1:9101/api/v1\n    server_variables: {prt: '1'}"):
        (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  s:\n    openapi: api.json\n    {extra}\n")
        checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"), "--strict")
        assert checked.returncode == 0, checked.stderr


# Declared is declared wherever the Server Object is: a later entry of a `servers` list (only the first is
# used for the base URL) or the server of an operation `include` leaves out. Both were refused as
# "unknown server variable", so a manifest valid before stopped the source from opening.
LISTED = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "servers": [{"url": "https://api.example.com"},
                {"url": "https://{region}.example.com", "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}}],
    "paths": {
        "/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}},
        "/b": {"get": {"operationId": "b", "responses": {"200": {"description": "ok"}}, "servers": [
            {"url": "https://{tenant}.files.example.com", "variables": {"tenant": {"default": "x", "enum": ["x"]}}}]}},
    },
}


@pytest.mark.parametrize("extra", [
    "server_variables: {region: us}",
    "server_variables: {region: asia}",  # the server declaring it is not used: its `enum` builds no URL
    "server_variables: {tenant: acme}\n    include: {operations: [a]}",
])
def test_a_variable_declared_by_a_server_not_used_passes(tmp_path: Path, extra: str) -> None:
    (tmp_path / "api.json").write_text(json.dumps(LISTED))
    (tmp_path / "mcp.yaml").write_text(f"version: 1\nsources:\n  s:\n    openapi: api.json\n    {extra}\n")
    checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"))
    assert checked.returncode == 0, checked.stderr


def test_a_used_servers_enum_still_binds(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_text(json.dumps(LISTED))
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  s:\n    openapi: api.json\n    server_variables: {tenant: acme, regio: us}\n")
    checked = mcprt_cli("validate", str(tmp_path / "mcp.yaml"))
    assert checked.returncode != 0, checked.stderr
    assert "server variable 'tenant' is 'acme', which the description's server does not allow (allowed: x)" \
        in checked.stderr
    assert "unknown server variable 'regio' (did you mean 'region'?)" in checked.stderr
