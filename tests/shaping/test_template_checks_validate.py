"""`mcprt validate` reports what would make a template fail at call time, and every template's error at once.

Through the real CLI on a `python:` source: a look-up the sandbox refuses (`result.n.__class__`, a dict's private
`__len__`) is an error at its `file:line:col` (the template compiles, so only this analysis can catch it), and
a syntax error in one template no longer hides the errors of the others (`description` templates are
checked by rendering them at build, after the load).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcprt.contracts import UpstreamResult
from mcprt.expressions.template_errors import TemplateRenderError
from mcprt.expressions.templates import compile_template
from mcprt.shaping import Shaping, shape_result
from mcprt.shaping.template_safety import refused_lookups
from tests.support.cli import mcprt_cli, mcprt_process

MODULE = '''
def count(n: int) -> dict:
    """A count."""
    return {"n": n, "_links": {"self": "/count"}, "pop": 1}


def other(n: int) -> dict:
    """Another."""
    return {"n": n}


def third(n: int) -> dict:
    """A third."""
    return {"n": n}
'''


def _validate(folder: Path, tools: str) -> tuple[int, str, list[str]]:
    (folder / "tools.py").write_text(MODULE)
    text = "version: 1\nsources:\n  t:\n    python: tools\n    tools:\n" + tools
    (folder / "mcp.yaml").write_text(text)
    done = mcprt_cli("validate", "mcp.yaml", cwd=folder)
    return done.returncode, done.stderr, text.splitlines()


def _at(lines: list[str], needle: str, name: str) -> str:
    """`mcp.yaml:line:col` of `name` inside the line holding `needle`."""
    number = next(n for n, line in enumerate(lines, 1) if needle in line)
    return f"mcp.yaml:{number}:{lines[number - 1].index(needle) + needle.index(name) + 1}"


@pytest.mark.parametrize("template, value", [("{{ result.n.__class__ }}", {"n": 1}),
                                             ("{{ result.__len__ }}", {"n": 1}),
                                             ('{{ result["__class__"] }}', {"n": 1}),
                                             ("{{ result.n['__class__'] }}", {"n": 1}),
                                             ('{{ result|attr("__class__") }}', {"n": 1}),
                                             ('{{ result.n|attr("__len__") }}', {"n": [1]})])
def test_the_sandbox_refuses_these_lookups_at_render(template: str, value: dict) -> None:
    """What the static check predicts is what rendering does (so its error is never a false one)."""
    assert refused_lookups(template)
    with pytest.raises(TemplateRenderError):
        compile_template(template, kind="output").render(result=value)


@pytest.mark.parametrize("template", ["{{ result.pop }}", "{{ result['items'] }}", '{{ result|attr("get") }}',
                                      "{{ result.s.upper }}", "{{ result.l.count }}"])
def test_a_field_named_like_a_method_is_that_field_or_missing(template: str) -> None:
    """On JSON data a look-up reads only a key, never a dict/list/str method (README "Checked shaping"):
    `drop_empty` removed an empty `items`, and `result['items']` was the dict's `items` method, so
    `is defined` held and the loop failed with "'builtin_function_or_method' object is not iterable"."""
    assert refused_lookups(template) == []
    guarded = compile_template(f"{{% if {template[3:-3]} is defined %}}set{{% else %}}absent{{% endif %}}", kind="output")
    assert guarded.render(result={"s": "x", "l": [1]}) == "absent"
    with pytest.raises(TemplateRenderError, match="is missing.*not Python methods"):
        compile_template(template, kind="output").render(result={"s": "x", "l": [1]})
    field = {"pop": 7, "items": 7, "get": 7, "s": {"upper": 7}, "l": {"count": 7}}
    assert compile_template(template, kind="output").render(result=field) == "7"


@pytest.mark.parametrize("template", ['{{ result["pop"] }}', '{{ result["_links"] }}', "{{ result[key] }}",
                                      '{{ result["_" ~ key] }}', "{{ result[0] }}"])
def test_subscripts_that_read_a_key_are_not_reported(template: str) -> None:
    """A method's name as a key is how a field named so is read; a computed key depends on the data."""
    assert refused_lookups(template) == []


def test_a_private_name_subscript_reads_only_a_key_of_that_very_name() -> None:
    """Why the check's message says "unless": the sandbox reads the key first, and falls back to the
    (refused) attribute only when there is none."""
    template = compile_template('{{ result["__class__"] }}', kind="output")
    assert template.render(result={"__class__": "Pet"}) == "Pet"
    assert 'unless the value is an object with a key "__class__"' in refused_lookups(template.source)[0].message


def test_fields_named_like_private_attributes_still_render() -> None:
    template = "{{ result._links.self }} {{ result.n }} {{ result | items | list | length }}"
    assert refused_lookups(template) == []
    assert compile_template(template, kind="output").render(result={"_links": {"self": "/x"}, "n": 2}) == "/x 2 2"


def test_validate_reports_a_refused_lookup_at_its_position(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        '      count:\n        output: "n={{ result.n.__class__ }}; {{ result._links.self }}"\n'
        '      other:\n        output: |\n          {% for k in result %}\n          {{ result.__len__ }} {{ result.pop }}\n'
        '          {% endfor %}\n'))
    assert code == 2, stderr
    assert f"{_at(lines, 'result.n.__class__', '__class__')}: output template, line 1: `.__class__` is refused " \
           "by the template sandbox at every call" in stderr, stderr
    assert f"{_at(lines, '{{ result.__len__ }}', '__len__')}: output template, line 2: `.__len__` is refused" in stderr
    assert "`.pop`" not in stderr  # a field named like a method is that field (templates.DATA_TYPES)
    assert "_links" not in stderr and "2 errors" in stderr, stderr


def test_validate_reports_the_same_lookup_written_as_a_subscript_or_the_attr_filter(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        "      count:\n        output: \"{{ result['pop'] }} {{ result['__class__'] }}\"\n"
        "      other:\n        output: \"{{ result|attr('__len__') }} {{ result|attr('update') }}\"\n"))
    assert code == 2, stderr
    subscript, filtered = _at(lines, "['__class__']", "__class__"), _at(lines, "attr('__len__')", "__len__")
    assert f'{subscript}: output template, line 1: `["__class__"]` is refused by the template sandbox at every ' \
           "call unless the value is an object with a key" in stderr, stderr
    assert f'{filtered}: output template, line 1: `|attr("__len__")` is refused' in stderr, stderr
    assert '`|attr("update")`' not in stderr, stderr
    assert '`["pop"]`' not in stderr and "2 errors" in stderr, stderr


def test_a_syntax_error_does_not_hide_the_other_templates_errors(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        '      count:\n        output: "{{ result.n }"\n'
        '      other:\n        description: "{{ no_such_variable }}"\n'
        '      third:\n        output: "{{ result.n.__class__ }}"\n'))
    assert code == 2, stderr
    syntax = _at(lines, "{{ result.n }", "}") + ": invalid Jinja2 template in output: unexpected '}'"
    assert syntax in stderr, stderr
    assert "description template: the description template failed at line 1: 'no_such_variable' is undefined" \
        in stderr, stderr
    assert f"{_at(lines, 'result.n.__class__', '__class__')}: output template, line 1: `.__class__`" in stderr, stderr
    assert "3 errors" in stderr, stderr


def test_a_broken_prune_is_reported_once_and_its_output_is_not_misjudged(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        '      count:\n        prune: "{total: n"\n        output: "{{ result.total }}"\n'
        '      other:\n        description: "{{ no_such_variable }}"\n'))
    assert code == 2, stderr
    assert "invalid JMESPath in prune" in stderr and "'no_such_variable' is undefined" in stderr, stderr
    assert "cannot exist" not in stderr and "2 errors" in stderr, stderr


PARSES_COUNTED = """
import collections, sys
import jinja2
parses = collections.Counter()
parse = jinja2.Environment._parse  # every parse, from `parse` and from `from_string` alike


def counted(self, source, name, filename):
    parses[source] += 1
    return parse(self, source, name, filename)


jinja2.Environment._parse = counted
from mcprt.cli.main import app
try:
    app(sys.argv[1:])
finally:
    print(sorted(parses.values()), file=sys.stderr)
"""


def test_validate_parses_each_template_once(tmp_path: Path) -> None:
    """`validate` parsed an `output` template for its compile, then again for each static check (the
    sandbox's refused look-ups, the look-ups against the result's shape): one parse now serves them all."""
    (tmp_path / "tools.py").write_text(MODULE)
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nsources:\n  t:\n    python: tools\n    tools:\n"
        "      count:\n        description: 'Count to {{ n }}.'\n"
        "        output: '{% for k in result %}{{ k }} {% endfor %}{{ result.n | default(0) + 1 }}'\n"
        "      other:\n        output: '{{ result.n }}'\n")
    done = mcprt_process("validate", str(tmp_path / "mcp.yaml"), cwd=tmp_path, code=PARSES_COUNTED)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "[1, 1, 1]", done.stderr  # three templates, one parse each


def test_the_compile_leaves_the_shared_syntax_tree_as_parsed() -> None:
    """The static checks read the tree the compile was given: compiling must not fold constants into it."""
    import copy

    from mcprt.expressions.templates import parsed_template

    source = "{% set sep = [',', ' ']|join('') %}{{ result|join(sep) }}{{ (1 + 2) * result|length }}"
    pristine = copy.deepcopy(parsed_template(source))
    compile_template(source, kind="output")
    assert parsed_template(source) == pristine


TYPED_MODULE = '''
from typing_extensions import TypedDict


class Meta(TypedDict):
    created: str


class Entry(TypedDict):
    id: int
    name: str
    meta: Meta


class Page(TypedDict):
    entries: list[Entry]
    labels: dict[str, Entry]
    name: str


def page(n: int) -> Page:
    """A typed page."""
    return {"entries": [{"id": 1, "name": "a", "meta": {"created": "x"}}],
            "labels": {"a": {"id": 1, "name": "a", "meta": {"created": "x"}}}, "name": "p"}


def raw(n: int) -> dict:
    """The same page, untyped: nothing to check it against before the call."""
    return page(n)
'''

# (template line, the misspelt field): each typo reached through a filter passed `validate` (filters were not followed)
THROUGH_FILTERS = [
    ("{{ result.entries | map(attribute='nmae') | join }}", "nmae"),
    ("{{ (result.entries | last).nmae }}", "nmae"),
    ("{{ (result.entries | first).meta.craeted }}", "craeted"),
    ("{{ result.entries | selectattr('nmae', 'gt', 0) | list }}", "nmae"),  # an ordering test fails on an absent one
    ("{{ result.entries | rejectattr('nmae', 'odd') | list }}", "nmae"),
    ("{{ result.entries | sort(attribute='name,nmae') | list }}", "nmae"),  # `sort`: comma-separated fields
    ("{{ result.entries | sort(attribute='meta.craeted') | list }}", "craeted"),
    ("{{ result.entries | map(attribute='meta') | map(attribute='craeted') | join }}", "craeted"),
    ("{{ (result.entries | sort(attribute='id') | reverse | first).nmae }}", "nmae"),
    ("{{ result.entries | sum(attribute='nmae') }}", "nmae"),
    ("{{ result.entries | groupby('nmae') | list }}", "nmae"),
    ("{{ (result.entries | max(attribute='id')).nmae }}", "nmae"),
    ("{% for k, v in result.labels | dictsort %}{{ v.nmae }}{% endfor %}", "nmae"),
    ("{% for k, v in result.labels | items %}{{ v.meta.craeted }}{% endfor %}", "craeted"),
    # a fallback for a list `drop_empty` may remove (the catalog's loop): the items are still the list's
    ("{% for e in result.entries | default([]) %}{{ e.nmae }}{% endfor %}", "nmae"),
    ("{% for e in result.entries | d([]) | sort(attribute='id') %}{{ e.meta.craeted }}{% endfor %}", "craeted"),
    ("{{ (result.entries | default([]) | first).nmae }}", "nmae"),
    ("{{ (result.entries | first | default({})).nmae }}", "nmae"),
    ("{% for k, v in result.labels | default({}) | dictsort %}{{ v.nmae }}{% endfor %}", "nmae"),
    ("{{ (result.entries | default | reverse | list | last).nmae }}", "nmae"),
]
# followed and right, or not followed: no finding (a filter the check does not know says nothing)
NOT_REPORTED = [
    "{{ result.entries | map(attribute='meta.created') | join }}",
    "{{ result.entries | map('string') | join }}",
    "{% for k, v in result | dictsort %}{{ v.anything }}{% endfor %}",  # a record's values differ: not followed
    "{{ (result.entries | batch(2) | first).nmae }}",  # `batch`: not a followed filter
    "{{ result.entries | sort(attribute='name,meta.created') | map(attribute='id') | join }}",  # two fields for Jinja
    # a fallback with content of its own may have the field: not followed
    "{% for e in result.entries | default([{'nmae': 1}]) %}{{ e.nmae }}{% endfor %}",
    "{% for e in result.entries | default(result.labels) %}{{ e.nmae }}{% endfor %}",
    "{{ result.entries | map(attribute='nmae', default='') | join }}",  # guarded: a warning only
]
# guarded (a warning only), each on its own line after NOT_REPORTED's: `selectattr`/`rejectattr` with no test or
# one that holds or fails for an absent field (Jinja's undefined) render even when no item has it
GUARDED = [
    "{{ result.entries | selectattr('nmae') | list }}",
    "{{ result.entries | rejectattr('nmae', 'none') | list }}",
    "{{ result.entries | selectattr('nmae', 'defined') | list }}",
]


def test_validate_follows_the_common_filters_to_a_misspelt_field(tmp_path: Path) -> None:
    """Every line of one template is one case: all are reported at once, each at its `file:line:col`."""
    (tmp_path / "tools.py").write_text(TYPED_MODULE)
    lines = [case for case, _ in THROUGH_FILTERS] + NOT_REPORTED + GUARDED
    text = ("version: 1\nsources:\n  t:\n    python: tools\n    tools:\n      page:\n        output: |\n"
            + "".join(f"          {line}\n" for line in lines))
    (tmp_path / "mcp.yaml").write_text(text)
    done = mcprt_cli("validate", "mcp.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    manifest = text.splitlines()
    for number, (case, field) in enumerate(THROUGH_FILTERS, 1):
        row = next(n for n, line in enumerate(manifest, 1) if line.strip() == case)
        at = f"mcp.yaml:{row}:{manifest[row - 1].index(case) + case.index(field) + 1}"
        assert f"{at}: output template, line {number}: result field '{field}' cannot exist" in done.stderr, (case, done.stderr)
    assert f"{len(THROUGH_FILTERS)} errors" in done.stderr, done.stderr
    guarded = len(THROUGH_FILTERS) + len(NOT_REPORTED)
    for number in range(guarded, guarded + len(GUARDED) + 1):
        assert f"line {number}: result field 'nmae' cannot exist: the result has no such field (did you mean " \
               "'name'?) (guarded by" in done.stderr, (number, done.stderr)
    assert "'anything'" not in done.stderr, done.stderr
    for number in range(len(THROUGH_FILTERS) + 1, guarded):
        assert f"line {number}:" not in done.stderr, (number, done.stderr)


# each rendered a stand-in's repr ("Undefined") or a generator's address: silently wrong text for the model
CALL_TIME = [
    ("{{ result.nmae | pprint }}", "field 'nmae' is missing"),
    ("{{ [result.nmae] }}", "field 'nmae' is missing"),
    ("{{ {'a': result.nmae} }}", "field 'nmae' is missing"),
    ("{{ '%r' % result.nmae }}", "field 'nmae' is missing"),
    ("{{ '%r' | format(result.nmae) }}", "field 'nmae' is missing"),
    ("{{ result.entries | map(attribute='typo') | list }}", "field 'typo' is missing"),
    ("{{ result.entries | map(attribute='typo') | tojson }}", "field 'typo' is missing"),
    ("{{ result.keys | tojson }}", "field 'keys' is missing"),
]


PAGE = {"entries": [{"id": 1, "name": "a", "meta": {"created": "x"}}],
        "labels": {"a": {"id": 1, "name": "a", "meta": {"created": "x"}}}, "name": "p"}


def _shaped(template: str) -> tuple[bool, str]:
    """(is it an error, its text): the result shaping a call runs, on `PAGE` (cheap: no compile of a manifest)."""
    shaping = Shaping(output=compile_template("first line\n" + template, kind="output"), tool="raw",
                      template_origin="mcp.yaml:8")
    result = shape_result(UpstreamResult(kind="json", status=200, body=PAGE, raw_bytes=200), shaping)
    return bool(result.is_error), result.content[0]["text"]


@pytest.mark.parametrize(("template", "error"), CALL_TIME)
def test_a_missing_field_fails_the_call_wherever_it_is_printed(template: str, error: str) -> None:
    failed, text = _shaped(template)
    assert failed and "Undefined" not in text and "generator" not in text, text
    assert f"its output template (mcp.yaml:8) failed at line 2: {error}" in text, text


def test_a_missing_field_in_a_list_fails_mcprt_call(tmp_path: Path) -> None:
    """One of `CALL_TIME` through the real CLI: `[Undefined, Undefined]` was the tool's answer, exit 0."""
    (tmp_path / "tools.py").write_text(TYPED_MODULE)
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  t:\n    python: tools\n    tools:\n      raw:\n"
                                       f"        output: |\n          first line\n          {CALL_TIME[5][0]}\n")
    done = mcprt_cli("call", "mcp.yaml", "raw", "--args", '{"n": 1}', cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    text = json.loads(done.stdout)["content"][0]["text"]
    assert f"its output template (mcp.yaml:8) failed at line 2: {CALL_TIME[5][1]}" in text, text


def test_tojson_writes_what_a_filter_yields_as_a_list() -> None:
    failed, text = _shaped("{{ result.entries | map(attribute='name') | tojson }} {{ result.labels | dictsort | tojson }}")
    entry = '{"id":1,"name":"a","meta":{"created":"x"}}'
    assert not failed and text == f'first line\n["a"] [["a",{entry}]]', text


def test_the_catalogs_guarded_loop_keeps_a_field_the_prune_dropped_an_error(tmp_path: Path) -> None:
    """A trial's input: `drop_empty` removes an empty list, so the catalog loops over `x | default([])`; that
    turned the check off, and `validate --strict` passed a template reading a field its prune no longer kept
    (every call failed). Through a real `python -m mcprt` on an OpenAPI source."""
    from tests.gitops.pets_api import make_workspace

    workspace = make_workspace(tmp_path / "project", "http://127.0.0.1:9", tmp_path / "cache")
    workspace.edit('prune: "[].{id: id, name: name, tag: tag}"',
                   'prune: "{pets: [].{id: id, name: name}}"')
    workspace.edit("{% for p in result %}#{{ p.id }} {{ p.name }} ({{ p.tag }})",
                   "{% for p in result.pets | default([]) %}#{{ p.id }} {{ p.name }} ({{ p.tag }})")
    workspace.edit("prune: {drop_nulls: true}", "prune: {drop_nulls: true, drop_empty: true}")
    done = mcprt_process("validate", "--strict", "mcp.yaml", cwd=workspace.root, env=workspace.env, forked=True)
    lines = workspace.manifest.read_text().splitlines()
    row = next(n for n, line in enumerate(lines, 1) if "default([])" in line)
    at = f"mcp.yaml:{row}:{lines[row - 1].index('p.tag') + 3}"
    assert done.returncode == 2, done.stderr
    assert f"{at}: output template, line 1: result field 'tag' cannot exist: the result has no such field" in done.stderr
    workspace.edit("({{ p.tag }})", "")
    fixed = mcprt_process("validate", "--strict", "mcp.yaml", cwd=workspace.root, env=workspace.env, forked=True)
    assert fixed.returncode == 0, fixed.stderr
