"""A manifest's text is parsed once per process (`manifest.parse_cache`): a changed file is parsed afresh, each
reader gets its own data to change, and positions and diagnostics are those of the text read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.errors import ManifestError
from mcprt.manifest import parse_cache
from mcprt.manifest.loader import load_manifest, manifest_files, read_manifest_file
from mcprt.manifest.yaml_reader import read_yaml

MANIFEST = """\
version: 1
sources:
  api:
    openapi: ./spec.json
    base_url: https://api.example.com
"""


def test_one_text_is_parsed_once_and_each_reader_gets_its_own_copy() -> None:
    parses: list[str] = []

    def parse(text: str, shown: str):  # the real reader, counted
        parses.append(shown)
        return read_yaml(text, shown)

    text = MANIFEST + "# once\n"
    first, first_index, _ = parse_cache.parsed(text, "once.yaml", False, parse)
    first["sources"]["api"]["base_url"] = "https://elsewhere.example"
    first_index.nodes.clear()
    second, second_index, _ = parse_cache.parsed(text, "once.yaml", False, parse)
    assert parses == ["once.yaml"]
    assert second["sources"]["api"]["base_url"] == "https://api.example.com"
    assert second_index.locate(("sources", "api", "base_url")).line == 5
    # another name is another set of positions: parsed for it
    other, other_index, _ = parse_cache.parsed(text, "other.yaml", False, parse)
    assert parses == ["once.yaml", "other.yaml"]
    assert other_index.locate(("sources",)).file == "other.yaml"


def test_a_saved_change_is_read_with_its_own_positions(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(MANIFEST)
    data, index, errors = read_manifest_file(path)
    assert errors == [] and index.locate(("sources", "api", "base_url")).line == 5
    path.write_text("# a comment moves every line\n" + MANIFEST.replace("api.example.com", "v2.example.com"))
    data, index, errors = read_manifest_file(path)
    assert data["sources"]["api"]["base_url"] == "https://v2.example.com"
    assert index.locate(("sources", "api", "base_url")).line == 6
    path.write_text(MANIFEST.replace("version: 1", "version: [1"))
    data, _index, errors = read_manifest_file(path)
    assert data is None and [(e.line, e.col) for e in errors] == [(1, 10)]
    assert "never closed" in errors[0].message


def test_an_include_merged_into_one_load_is_unchanged_for_the_next(tmp_path: Path) -> None:
    # load_manifest merges an include's sources into the including data and index: a second load (and
    # manifest_files, which mcprt diff and test call on the same files) must still see the files as written
    (tmp_path / "spec.json").write_text('{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}')
    (tmp_path / "more.yaml").write_text("version: 1\nsources:\n  more:\n    openapi: ./spec.json\n"
                                        "    base_url: https://more.example.com\n")
    path = tmp_path / "mcp.yaml"
    path.write_text(MANIFEST + "include: [more.yaml]\n")
    for _ in range(2):
        loaded = load_manifest(path, env={})
        assert sorted(loaded.manifest.sources) == ["api", "more"]
        assert loaded.index.locate(("sources", "more", "base_url")).file.endswith("more.yaml")
        root, _index, _ = read_manifest_file(path)
        assert sorted(root["sources"]) == ["api"]
        assert [p.name for p in manifest_files(path)] == ["mcp.yaml", "more.yaml"]


def test_a_broken_include_is_reported_each_load(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("version: 1\nsources:\n  more: [\n")
    path = tmp_path / "mcp.yaml"
    path.write_text(MANIFEST + "include: [more.yaml]\n")
    for _ in range(2):
        with pytest.raises(ManifestError) as raised:
            load_manifest(path, env={})
        assert any(d.file.endswith("more.yaml") and d.line == 4 and "syntax error" in d.message for d in raised.value.diagnostics)
