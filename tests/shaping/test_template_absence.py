"""An `output` template reading a documented field that a record may lack: warned at validate, empty at call time.

Found by a new-user trial: `init` writes `defaults.prune: {drop_nulls: true, drop_empty: true}`; a
template `{{ result.name }} — {{ result.description | shorten(40) }}` on an operation whose
`description` is `nullable: true` passed `validate --strict` (the recorded case had a description),
and every record with a null description failed the whole call ("'dict object' has no attribute
'description'"). The kind: a documented field that may be absent (not required, nullable under
`drop_nulls`, a list/object under `drop_empty`, a `drop_keys` match), read without a guard.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcprt.contracts import UpstreamResult
from mcprt.expressions.absent_fields import AbsentFields
from mcprt.shaping import Shaping, compile_autoprune, compile_template, shape_result
from mcprt.manifest.model import AutoPrune
from mcprt.shaping.absence import absence_rules
from mcprt.shaping.schema_paths import analyze
from mcprt.shaping.template_paths import check_template

from tests.support.cli import mcprt_cli

ITEM = {"type": "object", "required": ["id", "name", "state"], "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "state": {"type": "string"},
    "description": {"type": ["string", "null"]}, "tags": {"type": "array", "items": {"type": "string"}},
    "html_url": {"type": "string"}, "meta": {"type": "object", "properties": {"created": {"type": "string"}}}}}
TRIAL_PRUNE = "{id: id, name: name, description: description, tags: tags, meta: meta.{created: created}}"
AUTOPRUNE = compile_autoprune(AutoPrune(drop_nulls=True, drop_empty=True, drop_keys=["*_url"]))


def absent_reads(template: str, prune: str | None = TRIAL_PRUNE) -> list[tuple[int, int, str]]:
    shape = analyze(prune, ITEM).shape if prune else ITEM
    rules = absence_rules(ITEM, shape, AUTOPRUNE)
    return [(p.line, p.col, p.message.split("'")[1]) for p in check_template(template, shape, absence=rules) if p.absent]


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ result.name }} — {{ result.description | shorten(40) }}", [(1, 31, "description")]),  # the trial's
    ("{{ result.tags | join(', ') }}", []),  # judged by name through the prune's object: only nullable counts
    ("{{ result.meta.created }}", []),  # neither is documented nullable
    ("{{ result.description | default('') }}", []),
    ("{{ result.description if result.description is defined }}", []),
    ("{% if result.description %}{{ result.description | shorten(40) }}{% endif %}", []),
    ("{% if result.description %}{{ result.description }}{% else %}{{ result.description }}{% endif %}",
     [(1, 72, "description")]),  # the else branch's read, at its own column (it was the first one's)
    ("{{ result.id }} {{ result.name }}", []),
])
def test_a_documented_field_a_record_may_lack_is_warned_where_read_unguarded(template: str, expected: list) -> None:
    assert absent_reads(template) == expected


def test_the_rules_follow_the_document_through_a_prune_that_keeps_its_shape() -> None:
    # `@` keeps the document's own `required` list: `state` is required, `description` is not; `tags`
    # may be `[]`, which drop_empty removes; `drop_keys: [*_url]` removes html_url
    assert absent_reads("{{ result.state }} {{ result.description }} {{ result.html_url }} {{ result.tags | join }}",
                        prune="@") == [(1, 30, "description"), (1, 55, "html_url"), (1, 77, "tags")]


def test_an_absent_documented_field_renders_empty_and_a_typo_still_fails() -> None:
    template = compile_template("{{ result.name }} — {{ result.description | shorten(40) }} [{{ result.tags | "
                                "join(', ') }}]{{ result.meta.created }}", kind="output")
    shaping = Shaping(output=template, tool="get_item", autoprune=AUTOPRUNE,
                      documented=absence_rules(ITEM, ITEM, AUTOPRUNE).documented)
    record = {"id": 3, "name": "Item 3", "description": None, "tags": [], "meta": {}}
    result = shape_result(UpstreamResult(kind="json", status=200, body=record, raw_bytes=80), shaping)
    assert not result.is_error and result.content[0]["text"] == "Item 3 —  []"
    # a typo fails, and so does a field documented elsewhere in the response but read at the wrong path
    # (`result.created` for `result.meta.created`): only fields a record may lack render empty
    for wrong in ("result.nmae", "result.created"):
        typo = Shaping(output=compile_template("{{ %s }}" % wrong, kind="output"), tool="get_item",
                       documented=shaping.documented)
        failed = shape_result(UpstreamResult(kind="json", status=200, body=record, raw_bytes=80), typo)
        assert failed.is_error and f"has no attribute '{wrong.split('.')[1]}'" in failed.content[0]["text"], wrong


def test_validate_strict_warns_at_the_templates_line_and_column(tmp_path: Path) -> None:
    """The trial's case through the real CLI: the warning makes `validate --strict` fail, with the fix."""
    spec = {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
            "paths": {"/items/{id}": {"get": {"operationId": "getItem", "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                     "description": {"type": "string", "nullable": True}}}}}}}}}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\ndefaults:\n  prune: {drop_nulls: true, drop_empty: true}\nsources:\n  t:\n"
                        "    openapi: spec.json\n    tools:\n      getItem:\n        name: get_item\n"
                        "        prune: '{id: id, name: name, description: description}'\n"
                        "        output: \"{{ result.name }} — {{ result.description | shorten(40) }}\"\n")
    run = mcprt_cli("validate", "--strict", str(manifest))
    assert run.returncode == 2, run.stderr
    assert f"{manifest}:11:48: output template, line 1: result field 'description' may be absent from a record " \
           "(it may be null, and defaults.prune `drop_nulls` removes nulls): guard it" in run.stderr
    assert "'name' may be absent" not in run.stderr


LEAKS = [  # (template, the field the error names, absent documented?): each error named the internal undefined class
    ("{{ result.description | abs }}", "description", True), ("{{ result.description | round }}", "description", True),
    ("{{ result.description in 'abc' }}", "description", True),
    ("{{ result.meta.created.x() }}", "meta.created.x", True),  # `meta: {}` is dropped (drop_empty): the path from it
    ("{{ result.nmae | abs }}", "nmae", False), ("{{ result.nmae | round }}", "nmae", False),
    ("{{ result.nmae in 'abc' }}", "nmae", False), ("{{ result.nmae.__class__ }}", "nmae", False),
]


@pytest.mark.parametrize(("template", "field", "absent"), LEAKS)
def test_a_template_error_names_the_field_and_why_never_an_internal_class(template: str, field: str, absent: bool) -> None:
    """What the model reads: the template, its line, the missing field and why (never `_DocumentedUndefined`)."""
    shaping = Shaping(output=compile_template("line one\n" + template, kind="output"), tool="get_item",
                      autoprune=AUTOPRUNE, documented=AbsentFields.from_paths({("description",), ("meta",), ("meta", "created")}),
                      template_origin="mcp.yaml:12")
    record = {"id": 3, "name": "Item 3", "meta": {}}
    result = shape_result(UpstreamResult(kind="json", status=200, body=record, raw_bytes=80), shaping)
    text = result.content[0]["text"]
    assert result.is_error, text
    assert "Undefined" not in text and "mcprt." not in text, text
    assert text.startswith("Tool 'get_item' could not format its result: its output template (mcp.yaml:12) "
                           "failed at line 2: "), text
    if "__class__" in template:
        assert f"blocked by the sandbox: access to attribute '__class__' of the missing field '{field}'" in text
    elif absent:
        assert f"field '{field}' is absent from this record (a documented field a record may lack" in text, text
    else:
        assert f"field '{field}' is missing: 'dict object' has no attribute '{field}'" in text, text


def test_items_of_a_missing_field_fails_like_any_other_look_up() -> None:
    """`result.tpyo | items` rendered empty: Jinja's `items` gives nothing for any undefined."""
    record = {"id": 3, "name": "Item 3"}
    for source, documented, error in (("{{ result.nmae | items | list }}", None, True),
                                      ("{{ result.tags | items | list }}", AbsentFields.from_paths({("tags",)}), False)):
        shaping = Shaping(output=compile_template(source, kind="output"), tool="t", documented=documented)
        result = shape_result(UpstreamResult(kind="json", status=200, body=record, raw_bytes=80), shaping)
        assert result.is_error == error, result.content


# `created` is nullable in the items only: `meta` documents no `created` at all (the review's case)
LISTING = {"type": "object", "properties": {
    "entries": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "created": {"type": ["string", "null"]}}}},
    "meta": {"type": "object", "required": ["updated"], "properties": {"updated": {"type": "string"}}}}}
NULLS = compile_autoprune(AutoPrune(drop_nulls=True))
LISTED = {"entries": [{"id": 1, "created": "2026"}, {"id": 2, "created": None}], "meta": {"updated": "u"}}


@pytest.mark.parametrize(("template", "rendered"), [
    ("{% for i in result.entries %}{{ i.id }}:{{ i.created }};{% endfor %}", "1:2026;2:;"),  # a loop variable
    ("{{ result.entries[1].created }}.", "."),
    ("{% set rows = result.entries %}{% for r in rows %}{{ r.created }}|{% endfor %}", "2026||"),  # an alias
    ("{% set second = result['entries'][1] %}[{{ second.created }}]", "[]"),
    # named like the nullable field, at a path the result does not document: a mistake, as any typo
    ("{{ result.meta.created }}", "field 'created' is missing"), ("{{ result.created }}", "field 'created' is missing"),
    ("{% set m = result.meta %}{{ m.created }}", "field 'created' is missing"),
    ("{% for m in [result.meta] %}{{ m.created }}{% endfor %}", "field 'created' is missing"),
    ("{% for i in result.entries %}{{ i.creatd }}{% endfor %}", "field 'creatd' is missing"),
])
def test_a_documented_absent_field_renders_empty_only_at_its_own_path(template: str, rendered: str) -> None:
    rules = absence_rules(LISTING, LISTING, NULLS)
    shaping = Shaping(output=compile_template(template, kind="output"), tool="t", autoprune=NULLS,
                      documented=rules.documented)
    result = shape_result(UpstreamResult(kind="json", status=200, body=LISTED, raw_bytes=90), shaping)
    text = result.content[0]["text"]
    # validate agrees: where the call renders empty it warns (unguarded absent read); where it fails, it reports
    problems = check_template(template, LISTING, absence=rules)
    if rendered.startswith("field "):
        assert result.is_error and rendered in text, text
        assert any(not p.absent for p in problems) or "[result.meta]" in template, problems
    else:
        assert not result.is_error and text == rendered, text
        assert any(p.absent and "'created' may be absent" in p.message for p in problems), problems


MAPS = {"type": "object", "properties": {
    "m": {"type": "object", "additionalProperties": {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "integer"}, "b": {"type": ["string", "null"]}}}},
    "v": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}}


@pytest.mark.parametrize(("template", "rendered"), [
    ("{{ result.m.k1.b }}|{{ result.m.k2.b }}", "x|"),  # a nullable field of a map's values, at any key
    ("{{ result.v.x }}.", "."),  # a map's nullable values themselves
    ("{{ result.m.k2.c }}", "field 'c' is missing"),
])
def test_a_maps_documented_absent_values_render_empty_at_any_key(template: str, rendered: str) -> None:
    rules = absence_rules(MAPS, MAPS, NULLS)
    body = {"m": {"k1": {"a": 1, "b": "x"}, "k2": {"a": 2, "b": None}}, "v": {"x": None}}
    result = shape_result(UpstreamResult(kind="json", status=200, body=body, raw_bytes=90), Shaping(
        output=compile_template(template, kind="output"), tool="t", autoprune=NULLS, documented=rules.documented))
    assert (rendered in result.content[0]["text"]) if result.is_error else result.content[0]["text"] == rendered
    # validate warns where the call renders empty
    assert any(p.absent for p in check_template(template, MAPS, absence=rules)) == (not result.is_error)


def _shared_levels(depth: int) -> tuple[dict, int]:
    """A response shape as `$ref` resolution gives it: each level's 4 fields are one shared object (the next
    level), so there are 4**depth paths through it but only depth + 1 objects; and its count of schema nodes."""
    node: dict = {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "note": {"type": ["string", "null"]}}}
    for _ in range(depth):
        node = {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, **{f"f{i}": node for i in range(4)}}}
    return node, 3 * (depth + 1)


def test_shared_schemas_give_documented_fields_linear_in_the_shape_not_its_paths() -> None:
    """A review measured 611,668 documented paths (15 s to compile) for 4 fields x 9 levels sharing one `$ref`
    object per level, and 20,625 for Stripe's GetCustomers (each render 399 ms, not 5 ms): every path was built
    and walked again per render. What is built must grow with the shape's nodes, not its paths."""
    sizes = []
    for depth in (3, 6, 9):
        shape, schema_nodes = _shared_levels(depth)
        documented = absence_rules(shape, shape, NULLS).documented
        assert len(documented) <= 4 * schema_nodes, (depth, len(documented))
        sizes.append(len(documented))
    assert sizes[2] - sizes[1] == sizes[1] - sizes[0]  # linear in depth, while the paths grow 4x per level
    # and the deepest field still renders empty at its place (f3 . f0 ... . note), a typo beside it still fails
    shape, _ = _shared_levels(9)
    rules = absence_rules(shape, shape, NULLS)
    leaf: dict = {"id": 0}
    record: dict = leaf
    for level in range(9):
        record = {"id": level + 1, "f0": record, "f3": record}
    lookups = "result.f3" + ".f0" * 8
    for source, expected in ((f"[{{{{ {lookups}.note }}}}]", "[]"), (f"[{{{{ {lookups}.nte }}}}]", "'nte' is missing")):
        result = shape_result(UpstreamResult(kind="json", status=200, body=record, raw_bytes=900), Shaping(
            output=compile_template(source, kind="output"), tool="t", autoprune=NULLS, documented=rules.documented))
        assert (expected in result.content[0]["text"]) if result.is_error else result.content[0]["text"] == expected


def test_a_render_follows_the_documented_fields_along_the_value_only() -> None:
    """The places a render looks up are bounded by the value: one per dict of it on the way to an absent field."""
    shape, _ = _shared_levels(9)
    documented = absence_rules(shape, shape, NULLS).documented
    record: dict = {"id": 0, "note": None}
    dicts = 1
    for level in range(9):
        record = {"id": level + 1, "f1": record}
        dicts += 1
    where = documented.locate(record)
    assert len(where) == dicts and all(len(nodes) == 1 for nodes in where.values())


@pytest.mark.parametrize(("template", "said", "not_said"), [
    # a `str + int` error, with an absent field held in a `{% set %}` nearby: the error is the TypeError (review)
    ("{% set d = result.entries[1].created %}[{{ d }}]{{ result.meta.updated + 1 }}",
     'TypeError: can only concatenate str (not "int") to str', "created"),
    ("{% for e in result.entries %}{% set c = e.created %}{{ e.id ~ c }}{{ e.id + 'a' }}{% endfor %}",
     "TypeError: unsupported operand type(s) for +: 'int' and 'str'", "created"),
    # a `default` guarded `nmae`: the error is about `created`, made earlier (review)
    ("{{ result.entries[1].created in (result.meta.nmae | default('abc')) }}",
     "field 'created' is absent from this record", "nmae"),
    ("{{ result.entries[1].created in ('abc' if result.meta.nmae is defined else 'xyz') }}",
     "field 'created' is absent from this record", "nmae"),
    # the error's own undefined, still named
    ("{{ result.entries[1].created in 'abc' }}", "field 'created' is absent from this record", "Undefined"),
    ("{{ result.nmae in 'abc' }}", "field 'nmae' is missing", "Undefined"),
])
def test_an_error_blames_the_field_it_is_about(template: str, said: str, not_said: str) -> None:
    rules = absence_rules(LISTING, LISTING, NULLS)
    shaping = Shaping(output=compile_template(template, kind="output"), tool="t", autoprune=NULLS,
                      documented=rules.documented)
    result = shape_result(UpstreamResult(kind="json", status=200, body=LISTED, raw_bytes=90), shaping)
    text = result.content[0]["text"]
    assert result.is_error and said in text and not_said not in text, text


PAGE = {"type": "object", "required": ["entries"], "properties": {"entries": {"type": "array", "items": ITEM}}}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ (result.entries | first).description }}", [(1, 29, "description")]),
    ("{{ result.entries | map(attribute='description') | join }}", [(1, 36, "description")]),
    ("{{ result.entries | map(attribute='description', default='') | join }}", []),  # guarded by its default
    ("{{ (result.entries | selectattr('id') | last).description | default('') }}", []),
    ("{{ result.entries | map('string') | first }}", []),  # a filter the check does not follow: nothing said
    # selectattr/rejectattr read the field as `is defined` does: Jinja's undefined is falsy, not none, not defined
    ("{{ result.entries | selectattr('description', 'defined') | map(attribute='name') | join }}", []),
    ("{{ result.entries | rejectattr('description', 'none') | map(attribute='name') | join }}", []),
    ("{{ result.entries | selectattr('description') | map(attribute='name') | join }}", []),
    ("{{ result.entries | selectattr('description', 'gt', 'a') | list }}", [(1, 33, "description")]),  # fails absent
    # the same field read again on the line is its own finding, at its own column
    ("{{ result.entries | selectattr('description', 'defined') | map(attribute='description') | join }}",
     [(1, 75, "description")]),
    ("{{ result.entries | map(attribute='description') | join }} {{ result.entries | map(attribute='description') "
     "| join }}", [(1, 36, "description"), (1, 95, "description")]),
])
def test_a_documented_field_a_record_may_lack_is_warned_through_the_followed_filters(template: str,
                                                                                     expected: list) -> None:
    """The absent-field warnings follow the same filters as the typo check (`template_paths.FOLLOWED_FILTERS`).
    (`entries` may be `[]`, which drop_empty removes: it is warned about too, and left out here.)"""
    rules = absence_rules(PAGE, PAGE, AUTOPRUNE)
    found = [(p.line, p.col, p.message.split("'")[1]) for p in check_template(template, PAGE, absence=rules) if p.absent]
    assert [f for f in found if f[2] != "entries"] == expected
