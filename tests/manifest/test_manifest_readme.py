"""The README's manifest reference is the one generated from the models, and its quick-start manifest works."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from mcprt.manifest.reference import END, START, manifest_reference_markdown
from mcprt.manifest.schema import manifest_schema

from tests.support.cli import mcprt_process

REPO = Path(__file__).resolve().parents[2]


def test_readme_reference_matches_the_schema() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, "the README lost its manifest-reference markers"
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == manifest_reference_markdown().strip(), (
        "README's manifest reference is stale: run `python -m mcprt.manifest.reference --write`"
    )


def _tables(markdown: str) -> dict[str, list[str]]:
    """`#### heading` → the keys of its table's rows, in order."""
    tables: dict[str, list[str]] = {}
    for part in re.split(r"^#### ", markdown, flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        tables[heading] = re.findall(r"^\| `([^`]+)` \|", body, flags=re.M)
    return tables


_NOT_SCHEMAS = ("default", "examples", "const", "enum")  # data, not subschemas


def _schema_objects(node: object, where: str = "Manifest") -> list[tuple[str, list[str]]]:
    """Every object of the schema that has keys — the top level, each `$def`, and each inline object (properties
    without a `$ref`: review of docsfix, problem 8) wherever it stands — as (where, its keys), by walking the
    schema itself, not the generator's walk."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and node["properties"]:
            found.append((where, list(node["properties"])))
        for key, value in node.items():
            if key in _NOT_SCHEMAS:
                continue
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    found += _schema_objects(sub, f"{where}.{name}")
            else:
                found += _schema_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _schema_objects(item, f"{where}[{i}]")
    return found


def test_every_schema_object_has_its_table_in_the_readme() -> None:
    # Trial (docs auditor): `server.observability` and `server.tasks` had no table — the sections were a
    # hand-written list and this test compared the README with that same list. Here the schema itself is the
    # measure: every object with keys (each $def and the top level) must have a README table with exactly its keys.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tables = list(_tables(readme.split(START, 1)[1].split(END, 1)[0]).values())
    missing = []
    for name, keys in _schema_objects(manifest_schema()):
        if keys in tables:
            tables.remove(keys)
        else:
            missing.append(f"{name}: {keys}")
    assert not missing, f"schema objects without a reference table: {missing}"
    headings = _tables(readme.split(START, 1)[1])
    assert headings["`server.observability`"][:3] == ["listen", "audit", "audit_arguments"]
    assert "max_per_principal" in headings["`server.tasks`"]


def test_a_new_nested_model_gets_its_table_without_being_listed() -> None:
    schema = copy.deepcopy(manifest_schema())
    schema["$defs"]["Widget"] = {"type": "object", "description": "A widget.",
                                 "properties": {"colour": {"type": "string", "default": "red"}}}
    schema["$defs"]["ServerConfig"]["properties"]["widgets"] = {"type": "array", "items": {"$ref": "#/$defs/Widget"}}
    schema["$defs"]["Budget"]["properties"]["inline"] = {"type": "object", "properties": {"depth": {"type": "integer"}}}
    # the test above finds an inline object by walking the schema itself, as it finds a $def
    assert ["depth"] in [keys for _, keys in _schema_objects(schema)]
    assert ["colour"] in [keys for _, keys in _schema_objects(schema)]
    tables = _tables(manifest_reference_markdown(schema))
    assert tables["`server.widgets[]`"] == ["colour"]
    assert tables["`server.budget.inline`"] == ["depth"]
    assert "| `colour` | string | `\"red\"` |" in manifest_reference_markdown(schema)


def test_the_quick_start_manifest_validates() -> None:
    done = mcprt_process("validate", str(REPO / "catalog" / "quickstart" / "mcp.yaml"), forked=True)
    assert done.returncode == 0, done.stderr
    assert "4 tools" in done.stderr


def test_the_quick_start_call_is_pruned() -> None:
    done = mcprt_process("call", str(REPO / "catalog" / "quickstart" / "mcp.yaml"), "search_notes",
                         "--args", '{"query": "retry"}', forked=True)  # the README's quick start, as a user types it
    assert done.returncode == 0, done.stderr
    text = json.loads(done.stdout)["content"][0]["text"]
    notes = json.loads(text)
    assert notes[0] == {"id": 4, "title": "Retry budgets", "tags": ["design", "notes"]}
    assert all(set(note) == {"id", "title", "tags"} for note in notes)


def test_durations_that_may_be_zero_are_called_durations() -> None:
    # Review: `ping_every` (DurationOrZero, whose examples lack "30s") was listed as a "size"
    reference = manifest_reference_markdown()
    for key in ("ping_every", "ping_timeout"):
        rows = [line for line in reference.splitlines() if line.startswith(f"| `{key}` |")]
        assert rows and all(row.split("|")[2].strip() == "duration" for row in rows), rows
    assert "| `max_request_bytes` | size |" in reference
