"""`mcprt validate` reports what would make a template fail at call time, and every template's error at once.

Through the real CLI on a `python:` source: a look-up the sandbox refuses (`result.n.__class__`, a dict's
`pop`) is an error at its `file:line:col` (the template compiles, so only this analysis can catch it), and
a syntax error in one template no longer hides the errors of the others (`description` templates are
checked by rendering them at build, after the load).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.expressions.template_errors import TemplateRenderError
from mcprt.expressions.templates import compile_template
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
                                             ("{{ result.pop }}", {"pop": 1}),
                                             ('{{ result["__class__"] }}', {"n": 1}),
                                             ("{{ result.n['__class__'] }}", {"n": 1}),
                                             ('{{ result|attr("__class__") }}', {"n": 1}),
                                             ('{{ result|attr("pop") }}', {"pop": 1}),
                                             ('{{ result.n|attr("__len__") }}', {"n": [1]})])
def test_the_sandbox_refuses_these_lookups_at_render(template: str, value: dict) -> None:
    """What the static check predicts is what rendering does (so its error is never a false one)."""
    assert refused_lookups(template)
    with pytest.raises(TemplateRenderError):
        compile_template(template, kind="output").render(result=value)


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
    template = "{{ result._links.self }} {{ result.n }} {{ result.items() | list | length }}"
    assert refused_lookups(template) == []
    assert compile_template(template, kind="output").render(result={"_links": {"self": "/x"}, "n": 2}) == "/x 2 2"


def test_validate_reports_a_refused_lookup_at_its_position(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        '      count:\n        output: "n={{ result.n.__class__ }}; {{ result._links.self }}"\n'
        '      other:\n        output: |\n          {% for k in result %}\n          {{ result.pop }}\n'
        '          {% endfor %}\n'))
    assert code == 2, stderr
    assert f"{_at(lines, 'result.n.__class__', '__class__')}: output template, line 1: `.__class__` is refused " \
           "by the template sandbox at every call" in stderr, stderr
    assert f"{_at(lines, '{{ result.pop }}', 'pop')}: output template, line 2: `.pop` is refused" in stderr, stderr
    assert '[\"pop\"]' in stderr  # how to read a field of that name instead
    assert "_links" not in stderr and "2 errors" in stderr, stderr


def test_validate_reports_the_same_lookup_written_as_a_subscript_or_the_attr_filter(tmp_path: Path) -> None:
    code, stderr, lines = _validate(tmp_path, (
        "      count:\n        output: \"{{ result['pop'] }} {{ result['__class__'] }}\"\n"
        "      other:\n        output: \"{{ result|attr('update') }}\"\n"))
    assert code == 2, stderr
    subscript, filtered = _at(lines, "['__class__']", "__class__"), _at(lines, "attr('update')", "update")
    assert f'{subscript}: output template, line 1: `["__class__"]` is refused by the template sandbox at every ' \
           "call unless the value is an object with a key" in stderr, stderr
    assert f'{filtered}: output template, line 1: `|attr("update")` is refused' in stderr, stderr
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
