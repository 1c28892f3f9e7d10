"""Where a node stands in its file: keys vs values, missing keys (→ the parent key), YAML and TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.errors import ManifestError
from mcprt.manifest.loader import load_manifest
from mcprt.manifest.positions import Position, PositionIndex
from mcprt.manifest.toml_reader import read_toml
from mcprt.manifest.yaml_reader import read_yaml


def at(index: PositionIndex, path: tuple, prefer: str = "value") -> tuple[int, int]:
    where = index.locate(path, prefer)  # type: ignore[arg-type]
    return where.line, where.col


def test_index_falls_back_to_the_nearest_recorded_ancestor_key() -> None:
    index = PositionIndex(Position("m.yaml", 1, 1))
    index.add(("sources",), Position("m.yaml", 3, 3), Position("m.yaml", 2, 1))
    index.add(("sources", "api"), Position("m.yaml", 4, 5), Position("m.yaml", 3, 3))
    assert at(index, ("sources", "api")) == (4, 5)
    assert at(index, ("sources", "api"), "key") == (3, 3)
    assert at(index, ("sources", "api", "auth", "bearer")) == (3, 3)  # missing: the parent's key, not its value
    assert at(index, ("server", "name")) == (1, 1)  # nothing recorded: the document root


def test_list_items_have_no_key_so_prefer_key_gives_the_item() -> None:
    index = PositionIndex(Position("m.yaml", 1, 1))
    index.add(("include", 0), Position("m.yaml", 3, 5))
    assert at(index, ("include", 0), "key") == (3, 5)


YAML_TEXT = """\
version: 1
sources:
  api:
    openapi: spec.json
    auth:
      api_key: {name: X-Key, in: query}
    tools:
      list_pets:
        output: |
          line
    include:
      - tags
"""

TOML_TEXT = """\
version = 1

[sources.api]
openapi = "spec.json"
auth.api_key = { name = "X-Key", in = "query" }
include = ["tags"]

[sources.api.tools.list_pets]
output = \"\"\"
line
\"\"\"

[[sources.api.extra]]
x = 1
[[sources.api.extra]]
x = 2
"""


def test_yaml_positions() -> None:
    data, index, errors = read_yaml(YAML_TEXT, "m.yaml")
    assert errors == [] and data["sources"]["api"]["openapi"] == "spec.json"
    assert at(index, ("sources", "api"), "key") == (3, 3)
    assert at(index, ("sources", "api", "openapi")) == (4, 14)
    assert at(index, ("sources", "api", "openapi"), "key") == (4, 5)
    assert at(index, ("sources", "api", "auth", "api_key", "in")) == (6, 34)
    assert at(index, ("sources", "api", "auth", "api_key", "value")) == (6, 7)  # missing → `api_key`
    assert at(index, ("sources", "api", "include", 0)) == (12, 9)
    span = index.span(("sources", "api", "tools", "list_pets", "output"))
    assert span is not None and span.block and not span.verbatim


def test_toml_positions() -> None:
    data, index, errors = read_toml(TOML_TEXT, "m.toml")
    assert errors == [] and data["sources"]["api"]["extra"] == [{"x": 1}, {"x": 2}]
    assert at(index, ("sources", "api"), "key") == (3, 10)
    assert at(index, ("sources", "api", "openapi")) == (4, 11)
    assert at(index, ("sources", "api", "openapi"), "key") == (4, 1)
    assert at(index, ("sources", "api", "auth", "api_key"), "key") == (5, 6)  # a dotted key's last part
    assert at(index, ("sources", "api", "auth", "api_key", "in")) == (5, 39)
    assert at(index, ("sources", "api", "auth", "api_key", "value")) == (5, 6)  # missing → `api_key`
    assert at(index, ("sources", "api", "include", 0)) == (6, 12)
    assert at(index, ("sources", "api", "tools", "list_pets"), "key") == (8, 20)
    assert at(index, ("sources", "api", "extra", 1, "x")) == (16, 5)
    span = index.span(("sources", "api", "tools", "list_pets", "output"))
    assert span is not None and span.block and span.verbatim


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("mcp.yaml", "version: 1\nsources:\n  api:\n    openapi: s.json\n    auth:\n      basic: {username: u}\n",
         (6, 7)),
        ("mcp.toml", 'version = 1\n[sources.api]\nopenapi = "s.json"\n[sources.api.auth.basic]\nusername = "u"\n',
         (4, 19)),
    ],
)
def test_a_missing_key_is_reported_at_its_parent_key(tmp_path: Path, name: str, text: str, where: tuple) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    [diagnostic] = caught.value.errors
    assert (diagnostic.line, diagnostic.col) == where
    assert diagnostic.message == "sources.api.auth.basic: missing required key 'password'"


def test_loaded_manifest_diagnostic_points_at_keys_or_values(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text("version: 1\nsources:\n  api:\n    openapi: spec.json\n    tools:\n      listPets: {name: pets}\n")
    loaded = load_manifest(path)
    d = loaded.diagnostic(("sources", "api", "tools", "listPets", "name"), "boom")
    assert (d.file, d.line, d.col, d.message, d.severity) == (str(path), 6, 24, "boom", "error")
    d = loaded.diagnostic(("sources", "api", "tools", "listPets"), "no such operation", prefer="key")
    assert (d.line, d.col) == (6, 7)
    d = loaded.diagnostic(("sources", "api", "tools", "listPets", "args", "limit"), "no such argument",
                          severity="warning")
    assert (d.line, d.col, d.severity) == (6, 7, "warning")
    assert str(d) == f"{path}:6:7: warning: no such argument"


def test_template_positions_follow_edits_to_the_file(tmp_path: Path) -> None:
    """A reload after an edit must not report the old file's columns (no stale line cache)."""
    path = tmp_path / "mcp.yaml"
    body = "version: 1\nsources:\n  api:\n    openapi: spec.json\n    tools:\n      t:\n        output: |\n"
    path.write_text(body + "          {{ x. }}\n")
    with pytest.raises(ManifestError) as first:
        load_manifest(path)
    path.write_text(body + "          ok\n              {{ x. }}\n")
    with pytest.raises(ManifestError) as second:
        load_manifest(path)
    assert [(d.line, d.col) for d in first.value.errors] == [(8, 11)]
    assert [(d.line, d.col) for d in second.value.errors] == [(9, 15)]
