"""Checked shaping for `python:` sources: the function's return annotation is its response shape.

Through the real CLI (`mcprt validate`: typos in `prune` and in `output` templates at their
`file:line:col`, with "did you mean …?") and through a real server (`mcprt up` over stdio, the
SDK's client, which refuses structuredContent that violates a tool's outputSchema).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from mcp import Client

from tests.support.cli import mcprt_cli
from tests.support.served import stdio_up

CATALOG = Path(__file__).resolve().parents[2] / "catalog"

MODULE = '''
from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Author(BaseModel):
    login: str
    display_name: str = Field(serialization_alias="displayName")


class Note(BaseModel):
    id: int
    name: str
    tags: list[str] = []
    author: Optional[Author] = None


@dataclasses.dataclass
class Address:
    street: str
    city: str


@dataclasses.dataclass
class Person:
    name: str
    address: Address
    nicknames: list[str] = dataclasses.field(default_factory=list)


class Totals(TypedDict):
    count: int
    by_tag: dict[str, int]


NOTES = [Note(id=1, name="Retry budget", tags=["ops"], author=Author(login="ana", display_name="Ana")),
         Note(id=2, name="Backoff", tags=[])]


def list_notes() -> list[Note]:
    """All notes."""
    return NOTES


def get_note(note_id: int) -> Note:
    """One note."""
    return next(n for n in NOTES if n.id == note_id)


def find_note(name: str) -> Note | None:
    """A note by name, if any."""
    return next((n for n in NOTES if n.name == name), None)


def person() -> Person:
    """Who writes the notes."""
    return Person(name="Ana", address=Address(street="Main St 1", city="Lyon"), nicknames=["a"])


def totals() -> Totals:
    """Notes per tag."""
    return {"count": 2, "by_tag": {"ops": 1}}


def whoami() -> Author:
    """The current author."""
    return NOTES[0].author


class Item(BaseModel):
    v: int
    s: str


class Release(BaseModel):  # pydantic's schema carries what mcprt's own shapes never do: required, pattern, enum
    sha: str = Field(pattern="^[0-9a-f]+$")
    state: Literal["published-after-a-long-review-of-every-change", "draft"]
    assets: list[str] = Field(min_length=3)


def get_map() -> dict[str, Item]:
    """The trial's map: 3,000 typed values."""
    return {f"k{i}": Item(v=i, s="ü" * 5) for i in range(3000)}


def release() -> Release:
    """A release whose fields break their schema when cut."""
    return Release(sha="ab" * 600, state="published-after-a-long-review-of-every-change",
                   assets=["asset " * 40 + str(i) for i in range(40)])  # under limits._LONG_TEXT: not cut to keep more


def anything() -> Any:
    """Whatever."""
    return {"whatever": 1}


def unannotated():
    """No annotation."""
    return {"whatever": 1}
'''

BROKEN = """\
version: 1
sources:
  notes:
    python: notetools
    tools:
      list_notes:
        prune: "[].{id: id, title: nmae}"
      get_note:
        prune: >-
          {id: id,
          who: author.logn}
      person:
        output: |
          {{ result.name }}
          lives at {{ result.adress.city }}
      totals:
        prune: "{n: cuont, ops: by_tag.ops}"
      find_note:
        prune: "{id: id, tags: tags.name}"
      anything:
        prune: "{w: whatevr}"
      unannotated:
        prune: "{w: whatevr}"
"""


def project(tmp_path: Path, manifest: str) -> Path:
    (tmp_path / "notetools.py").write_text(MODULE)
    path = tmp_path / "mcp.yaml"
    path.write_text(manifest)
    return path


def diagnostics(run: Any, manifest: Path) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith(f"{manifest}:")]


def test_typos_against_a_return_type_fail_validate_at_their_line_and_column(tmp_path: Path) -> None:
    manifest = project(tmp_path, BROKEN)
    run = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    lines = diagnostics(run, manifest)
    # `-> list[Note]`: `[].nmae` (line 7, column of `nmae`)
    assert f"{manifest}:7:36: prune: field 'nmae' cannot exist here: the response schema has no such field " \
           "(did you mean 'name'?)" in lines
    # `-> Note`, nested pydantic model behind Optional: `author.logn` on the folded block's second line
    assert f"{manifest}:11:23: prune: field 'logn' cannot exist here: the response schema has no such field " \
           "(did you mean 'login'?)" in lines
    # `-> Person` (a dataclass): the template's `result.adress` on its line 2 = file line 15
    assert f"{manifest}:15:30: output template, line 2: result field 'adress' cannot exist: the result has no " \
           "such field (did you mean 'address'?)" in lines
    # `-> Totals` (a TypedDict): `cuont`
    assert f"{manifest}:17:21: prune: field 'cuont' cannot exist here: the response schema has no such field " \
           "(did you mean 'count'?)" in lines
    # `-> Note | None`: a field looked up on a list
    assert any(line.startswith(f"{manifest}:19:37: prune: field 'name' is looked up on a list") for line in lines)
    # `-> Any` and no annotation: unknown shape, nothing checked
    assert not [line for line in lines if "whatevr" in line]
    assert len([line for line in lines if ": warning: " not in line]) == 5, lines
    assert "Traceback" not in run.stderr


def test_the_fixed_manifest_validates_strictly(tmp_path: Path) -> None:
    fixed = (BROKEN.replace("nmae", "name").replace("logn", "login").replace("adress", "address")
             .replace("cuont", "count").replace("tags.name", "tags"))
    manifest = project(tmp_path, fixed)
    run = mcprt_cli("validate", "--strict", str(manifest), cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_a_field_unlike_any_declared_one_is_an_error_for_a_return_type(tmp_path: Path) -> None:
    """A return annotation names every field a result can have (unlike an API description, which may
    leave fields out), so a field it lacks is an error even when no declared field is close to it."""
    manifest = project(tmp_path, BROKEN.split("      get_note:")[0].replace("nmae", "summary"))
    run = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert f"{manifest}:7:36: prune: field 'summary' cannot exist here: the response schema has no such field" \
        in run.stderr
    assert "warning" not in run.stderr and "undocumented_fields" not in run.stderr


def test_strict_counts_warnings_as_errors_also_beside_errors(tmp_path: Path) -> None:
    """`--strict` reports a warning as an error whether or not the manifest has errors too."""
    # a template look-up guarded by `default` still renders: only a warning
    manifest = project(tmp_path, BROKEN.replace("{{ result.name }}", "{{ result.name }} {{ result.nick | default('') }}"))
    plain = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    warned = [line for line in diagnostics(plain, manifest) if ": warning: " in line]
    assert warned and plain.returncode == 2, plain.stderr  # errors, and the guarded `nick` as a warning
    strict = mcprt_cli("validate", "--strict", str(manifest), cwd=tmp_path)
    assert strict.returncode == 2
    lines = diagnostics(strict, manifest)
    assert not [line for line in lines if ": warning: " in line], lines
    assert len(lines) == len(diagnostics(plain, manifest))
    assert f"{len(lines)} errors" in strict.stderr


SERVED = """\
version: 1
sources:
  notes:
    python: notetools
    tools:
      get_note:
        prune: "{id: id, name: name, author: author.displayName, tags: tags}"
      find_note:
        prune: "{id: id, name: name}"
      person:
        prune: "{name: name, city: address.city}"
        output_schema: false
      totals:
        prune: "{count: count, by_tag: by_tag}"
      list_notes:
        prune: "[].{id: id, name: name}"
      get_map: {max_result_bytes: 2KB}
      release: {max_result_bytes: 2KB}
"""


async def test_the_served_output_schema_is_the_prune_of_the_return_type_and_results_conform(tmp_path: Path) -> None:
    manifest = project(tmp_path, SERVED)
    async with Client(stdio_up(manifest), mode="legacy") as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        get_note = listed["get_note"].output_schema
        assert get_note == {"type": "object", "properties": {
            "id": {"type": ["integer", "null"]}, "name": {"type": ["string", "null"]},
            "author": {"type": ["string", "null"]},  # the serialization alias, as the result carries it
            "tags": {"type": ["array", "null"], "items": {"type": "string"}}}}
        assert listed["totals"].output_schema is not None
        assert listed["find_note"].output_schema is not None  # `Note | None`: the prune still gives an object
        assert listed["person"].output_schema is None  # `output_schema: false`
        assert listed["list_notes"].output_schema is None  # a list is not structuredContent
        # a tool passed through unchanged keeps the function's own schema (and `Any` has none)
        assert listed["anything"].output_schema is None and listed["unannotated"].output_schema is None

        # The SDK's client validates structuredContent against the listed schema: these calls would raise.
        calls = {"get_note": [{"note_id": 1}, {"note_id": 2}], "find_note": [{"name": "Backoff"}, {"name": "none"}],
                 "totals": [{}], "whoami": [{}]}
        for name, argument_sets in calls.items():
            for arguments in argument_sets:
                result = await client.call_tool(name, arguments)
                assert not result.is_error, result
                assert result.structured_content is not None
                Draft202012Validator(listed[name].output_schema).validate(result.structured_content)
        first = await client.call_tool("get_note", {"note_id": 1})
        assert first.structured_content == {"id": 1, "name": "Retry budget", "author": "Ana", "tags": ["ops"]}
        # unpruned, a model result carries its fields by alias, as the function's own schema says
        assert listed["whoami"].output_schema["required"] == ["login", "displayName"]
        assert (await client.call_tool("whoami", {})).structured_content == {"login": "ana", "displayName": "Ana"}
        missing = await client.call_tool("find_note", {"name": "none"})
        assert missing.structured_content == {}  # no object: `{}` still conforms

        # Passed through unchanged, the function's own schema is advertised: a result shortened to
        # 2 KB must still conform (the SDK client raised "'2941 more keys omitted' is not of type
        # 'object'"), and pydantic's pattern/enum/minItems hold after shortening.
        mapped = await client.call_tool("get_map", {})
        assert not mapped.is_error and mapped.structured_content and "…" not in mapped.structured_content
        assert all(isinstance(value, dict) for value in mapped.structured_content.values())
        assert f"$: {3000 - len(mapped.structured_content)} of 3000 keys omitted" in mapped.content[-1].text
        released = await client.call_tool("release", {})
        assert not released.is_error, released.content
        Draft202012Validator(listed["release"].output_schema).validate(released.structured_content)
        assert released.structured_content["sha"] == "ab" * 600
        assert len(released.structured_content["assets"]) == 3  # as many as minItems needs


async def test_the_quickstart_entry_validates_strictly_and_its_real_results_conform(tmp_path: Path) -> None:
    entry = tmp_path / "quickstart"
    shutil.copytree(CATALOG / "quickstart", entry)
    manifest = entry / "mcp.yaml"
    run = mcprt_cli("validate", "--strict", str(manifest), cwd=entry)
    assert run.returncode == 0, run.stderr
    # Every tool with an outputSchema; with `output_schema: true` the unpruned ones declare one too.
    text = manifest.read_text().replace("      get_note:\n", "      add_note:\n        output_schema: true\n"
                                                               "      get_note:\n")
    manifest.write_text(text)
    async with Client(stdio_up(manifest), mode="legacy") as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert listed["get_note"].output_schema is not None and listed["add_note"].output_schema is not None
        assert listed["search_notes"].output_schema is None and listed["notes_by_tag"].output_schema is None
        found = await client.call_tool("search_notes", {"query": "retry"})
        assert not found.is_error, found
        results = [await client.call_tool("add_note", {"title": "Pager", "body": "Who holds it.", "tags": ["ops"]})]
        results += [await client.call_tool("get_note", {"note_id": note_id}) for note_id in (1, 2, 3)]
        for result in results:
            assert not result.is_error, result
            assert isinstance(result.structured_content, dict) and result.structured_content
        checked = {"add_note": results[0], "get_note": results[1]}
        for name, result in checked.items():
            Draft202012Validator(listed[name].output_schema).validate(result.structured_content)


def test_every_catalog_entry_with_a_python_source_still_validates_strictly(tmp_path: Path) -> None:
    entries = [e for e in sorted(CATALOG.iterdir()) if (e / "mcp.yaml").is_file()
               and "python:" in (e / "mcp.yaml").read_text()]
    assert entries, "the catalog has Python sources (the quick start at least)"
    for entry in entries:
        run = mcprt_cli("validate", "--strict", "--offline", str(entry / "mcp.yaml"), cwd=tmp_path)
        assert run.returncode == 0, (entry.name, run.stderr)


def test_an_unknown_shape_gives_no_check_and_no_output_schema(tmp_path: Path) -> None:
    manifest = project(tmp_path, textwrap.dedent("""\
        version: 1
        sources:
          notes:
            python: notetools
            tools:
              anything:
                prune: "{w: nothing_like_it}"
                output_schema: true
        """))
    run = mcprt_cli("tools", "--json", str(manifest), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "nothing_like_it" not in run.stderr
    [tool] = [t for t in json.loads(run.stdout)["tools"] if t["name"] == "anything"]
    assert "outputSchema" not in tool


def test_output_schema_true_on_a_list_result_is_a_warning(tmp_path: Path) -> None:
    """An MCP outputSchema describes an object: asked for on a tool whose result is a list, none is
    declared, and validate says so at the key (it said nothing)."""
    manifest = project(tmp_path, "version: 1\nsources:\n  notes:\n    python: notetools\n    tools:\n"
                                 "      list_notes:\n        output_schema: true\n")
    run = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"{manifest}:7:24: warning: output_schema: true, but the result is not provably an object" in run.stderr
    assert mcprt_cli("validate", "--strict", str(manifest), cwd=tmp_path).returncode == 2
