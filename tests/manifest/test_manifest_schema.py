"""`schemas/mcprt.schema.json` is exactly `mcprt schema`, documents every field, and agrees with the loader."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from mcprt.manifest.schema import manifest_schema

from tests.support.cli import mcprt_cli

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schemas" / "mcprt.schema.json"
GOOD = Path(__file__).parent / "good"
BROKEN = Path(__file__).parent / "broken"


@pytest.fixture(scope="module")
def cli_schema_text() -> str:
    result = mcprt_cli("schema", timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_the_cli_output(cli_schema_text: str) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == json.loads(cli_schema_text), (
        "schemas/mcprt.schema.json is stale: regenerate it with `mcprt schema > schemas/mcprt.schema.json`"
    )
    assert committed == manifest_schema()


def test_the_schema_is_a_valid_draft_2020_12_schema(cli_schema_text: str) -> None:
    schema = json.loads(cli_schema_text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == "mcprt manifest"
    assert schema["required"] == ["version"]


def _properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entry of every `properties` object in the schema, with a readable location."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}/properties/{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}/{i}")


def _title(schema: dict[str, Any], prop: dict[str, Any]) -> str | None:
    """A property's title, or (pydantic drops a title equal to it) that of the model it refers to."""
    if prop.get("title"):
        return prop["title"]
    ref = prop.get("$ref", "")
    return schema["$defs"][ref.rsplit("/", 1)[-1]].get("title") if ref.startswith("#/$defs/") else None


def test_every_property_has_a_title_and_a_description() -> None:
    """What an editor shows on hover: every field of every model is documented."""
    schema = manifest_schema()
    props = list(_properties(schema))
    assert len(props) > 80  # the walk really reaches into $defs
    assert [where for where, prop in props if not prop.get("description")] == []
    assert [where for where, prop in props if not _title(schema, prop)] == []


def _raw(path: Path) -> Any:
    if path.suffix == ".toml":
        return tomllib.loads(path.read_text(encoding="utf-8"))
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["full.yaml", "full.toml", "minimal.yaml", "minimal.toml", "_parts/extra.yaml"])
def test_good_manifests_validate_against_the_schema(validator: jsonschema.Draft202012Validator, name: str) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_raw(GOOD / name))]
    assert errors == []


@pytest.mark.parametrize(
    "name",
    [
        "unknown_key_source.yaml",
        "unknown_key_did_you_mean.yaml",
        "toml_unknown_key.toml",
        "bad_duration.yaml",
        "bad_size.yaml",
        "wrong_version.yaml",
        "missing_version.yaml",
        "bad_expose.yaml",
        "bad_port.yaml",
        "two_source_kinds.yaml",
        "unknown_source_kind.yaml",
        "bad_tool_name.yaml",
        "bad_source_key.yaml",
        "bad_api_key_in.yaml",
        "wrong_type_sources_list.yaml",
    ],
)
def test_broken_manifests_fail_the_schema(validator: jsonschema.Draft202012Validator, name: str) -> None:
    assert not validator.is_valid(_raw(BROKEN / name))


def _toml_manifests() -> list[Path]:
    """Every valid TOML manifest the repository ships (test fixtures, examples, catalog entries)."""
    found = [p for p in REPO.rglob("*.toml") if p.name != "pyproject.toml" and BROKEN not in p.parents
             and not any(part.startswith(".") or part in ("node_modules", "build") for part in p.relative_to(REPO).parts)]
    return sorted(p for p in found if "version" in tomllib.loads(p.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", _toml_manifests(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_schema_accepts_every_shipped_toml_manifest(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    """What taplo / Even Better TOML does with `#:schema` (README "Editors"): the schema over the TOML's data."""
    assert [e.message for e in validator.iter_errors(tomllib.loads(path.read_text(encoding="utf-8")))] == []


def test_the_schema_flags_a_typo_in_a_toml_manifest(validator: jsonschema.Draft202012Validator, tmp_path: Path) -> None:
    text = (GOOD / "full.toml").read_text(encoding="utf-8").replace("\ninstructions = ", "\ninstrctions = ", 1)
    assert "instrctions" in text
    errors = list(validator.iter_errors(tomllib.loads(text)))
    assert errors and any("instrctions" in e.message for e in errors), [e.message for e in errors]


def test_a_toml_manifest_with_the_schema_directive_validates(tmp_path: Path) -> None:
    """The README's `#:schema` first line is a TOML comment to mcprt: the manifest loads as without it."""
    (tmp_path / "spec.json").write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                                                    "paths": {"/ping": {"get": {"operationId": "ping",
                                                                                "responses": {"200": {"description": "ok"}}}}}}))
    (tmp_path / "mcp.toml").write_text(f"#:schema {COMMITTED}\nversion = 1\n[sources.api]\nopenapi = \"spec.json\"\n"
                                       "base_url = \"http://127.0.0.1:9/\"\n")
    result = mcprt_cli("validate", "--offline", "mcp.toml", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mcp.toml: ok — 1 tool" in result.stderr
