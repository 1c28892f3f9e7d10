"""Manifest templates: sandboxed, strict, compiled once, errors with a line and column."""

from __future__ import annotations

import pytest
from jinja2.sandbox import SandboxedEnvironment

from mcprt.shaping import (
    CompiledTemplate,
    TemplateError,
    TemplateRenderError,
    compile_prune,
    compile_template,
    template_environment,
    template_variables,
)

ISSUE_LIST = """\
{% for i in result %}
#{{ i.number }} {{ i.title }} ({{ i.state }}){% if i.labels %} [{{ i.labels | join(", ") }}]{% endif %}

{% endfor %}
"""


def test_one_shared_sandboxed_environment():
    env = template_environment()
    assert env is template_environment()
    assert isinstance(env, SandboxedEnvironment)
    assert env.autoescape is False


def test_issue_list_template_renders_compact_lines(issues):
    pruned = compile_prune("[:3].{number: number, title: title, state: state, labels: labels[].name}").apply(issues)
    text = compile_template(ISSUE_LIST, kind="output").render(result=pruned, status=200, raw_bytes=1, tool="t")
    assert text == (
        "#1347 Found a bug in the pagination of search results (open) [bug]\n"
        "#1346 Add a --dry-run flag to the deploy command (open) [enhancement]\n"
        "#1345 Bump urllib3 from 2.2.1 to 2.2.2 (open) [dependencies]\n"
    )


def test_no_html_escaping():
    assert compile_template("{{ result }}", kind="output").render(result="<b>&'\"") == "<b>&'\""


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("{{ result | tojson }}", {"result": {"a": [1, "é"], "b": None}}, '{"a":[1,"é"],"b":null}'),
        ("{{ result | tojson(2) }}", {"result": {"a": 1}}, '{\n  "a": 1\n}'),
        ("{{ result | shorten(20) }}", {"result": "The quick brown fox jumps over the lazy dog"}, "The quick brown fox…"),
        ("{{ result | shorten(100) }}", {"result": "short\n  text"}, "short text"),
        ("{{ result | truncate(12, killwords=False, end='…', leeway=0) }}", {"result": "hello wide world"}, "hello wide…"),
        ("{{ result | firstline }}", {"result": "\n\nFix the bug\n\nLong explanation"}, "Fix the bug"),
        ("{{ result.missing | default('n/a') }}", {"result": {}}, "n/a"),
        # groupby's groups are named tuples a filter built, read by name (not data: README "Templates")
        ("{% for g in result | groupby('state') %}{{ g.grouper }}={{ g.list | map(attribute='n') | join(',') }};"
         "{% endfor %}", {"result": [{"state": "open", "n": 1}, {"state": "closed", "n": 2}, {"state": "open", "n": 3}]},
         "closed=2;open=1,3;"),
        ("{% for state, items in result | groupby('state') %}{{ state }}:{{ items | length }} {% endfor %}",
         {"result": [{"state": "a"}, {"state": "a"}]}, "a:2 "),
        # what string methods did, as filters and tests (strings are data: `.split` is a field)
        ("{{ result | split(',') | join('|') }}", {"result": "a,b,c"}, "a|b|c"),
        ("{{ result | split | length }} {{ result | split(' ', 1) | last }}", {"result": "x y  z"}, "3 y  z"),
        ("{{ result | select('startingwith', 'v') | join(',') }}", {"result": ["v1", "x", "v2"]}, "v1,v2"),
        ("{{ result is endingwith('.json') }} {{ 3 is startingwith('3') }}", {"result": "a.json"}, "true false"),
        ("{{ result | map(attribute='name') | join(', ') }}", {"result": [{"name": "a"}, {"name": "b"}]}, "a, b"),
        ("{{ status }} {{ raw_bytes }} {{ tool }}", {"result": 1, "status": 200, "raw_bytes": 9, "tool": "x"}, "200 9 x"),
    ],
)
def test_filters_and_context(source, context, expected):
    assert compile_template(source, kind="output").render(**context) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ result.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ result.items.__self__.__class__ }}",
        "{{ '{0.__class__}'.format(result) }}",
    ],
)
def test_the_sandbox_blocks_internals(source):
    template = compile_template(source, kind="output")
    with pytest.raises(TemplateRenderError) as caught:
        template.render(result={"a": 1})
    # a method of data (`result.items`, `''.format`) is not reachable at all: a missing field
    assert any(word in caught.value.message for word in ("unsafe", "sandbox", "not Python methods"))


def test_templates_cannot_mutate_the_data():
    data = {"items": [1, 2]}
    for source in ("{{ result.update({'x': 1}) }}", "{{ result['items'].append(3) }}", "{{ result.clear() }}"):
        with pytest.raises(TemplateRenderError):
            compile_template(source, kind="output").render(result=data)
    assert data == {"items": [1, 2]}


@pytest.mark.parametrize(
    "source", ["{{ 'x' * 100000000 }}", "{{ [0] * 10000000 }}", "{{ 10 ** 100000 }}", "{{ range(1000000) | list }}"]
)
def test_resource_bombs_are_refused(source):
    with pytest.raises(TemplateRenderError):
        compile_template(source, kind="output").render(result=None)


def test_ordinary_arithmetic_still_works():
    assert compile_template("{{ 'ab' * 2 }} {{ 2 ** 10 }} {{ 3 * 4 }}", kind="output").render() == "abab 1024 12"


def test_strict_undefined_names_the_missing_attribute_and_line():
    template = compile_template("ok\n{{ result.user.login }}", kind="output")
    with pytest.raises(TemplateRenderError) as caught:
        template.render(result={"user": {}})
    assert caught.value.line == 2
    assert "login" in caught.value.message
    assert "line 2" in str(caught.value)


def test_a_failing_filter_is_a_render_error_not_a_crash():
    template = compile_template("{{ result | sum }}", kind="output")
    with pytest.raises(TemplateRenderError) as caught:
        template.render(result=["a", 1])
    assert "TypeError" in caught.value.message


@pytest.mark.parametrize(
    ("source", "line", "col", "fragment"),
    [
        ("{{ a b }}", 1, 6, "expected token 'end of print statement'"),
        ("line one\n  {% frobnicate %}", 2, 6, "unknown tag 'frobnicate'"),
        ("{{ result | nosuchfilter }}", 1, 13, "No filter named 'nosuchfilter'"),
        ("a\nb\n{{ result }", 3, 11, "unexpected '}'"),
        ("{% for x in result %}\n{{ x }}", 2, None, "endfor"),
        ("{% if %}", 1, 1, "Expected an expression"),
    ],
)
def test_syntax_errors_have_line_and_column(source, line, col, fragment):
    with pytest.raises(TemplateError) as caught:
        compile_template(source, kind="description", variables=None)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.line == line
    if col is not None:
        assert error.col == col
    assert fragment in error.message
    assert "description template" in str(error)


def test_output_templates_may_only_read_known_variables():
    with pytest.raises(TemplateError) as caught:
        compile_template("{{ result }}\n{% for x in items %}{{ x }}{% endfor %}", kind="output")
    assert caught.value.line == 2
    assert caught.value.col == 13
    assert "unknown variable 'items'" in caught.value.message
    assert "result" in caught.value.message  # says what is available


def test_description_templates_check_the_variables_they_are_given():
    source = "{{ summary }} (owner: {{ owner }})"
    assert isinstance(compile_template(source, kind="description", variables={"summary", "owner"}), CompiledTemplate)
    with pytest.raises(TemplateError) as caught:
        compile_template(source, kind="description", variables={"summary"})
    assert "'owner'" in caught.value.message and caught.value.col == 26


def test_template_variables_lists_undeclared_names():
    source = "{% set n = 1 %}{{ summary }}{% for a in args %}{{ a }}{{ owner }}{% endfor %}{{ range(2) | list }}{{ n }}"
    assert template_variables(source) == {"summary", "args", "owner"}
    with pytest.raises(TemplateError):
        template_variables("{{ broken")


def test_trim_blocks_keep_loops_tidy():
    source = "{% for x in result %}\n  {% if x %}\n- {{ x }}\n  {% endif %}\n{% endfor %}\n"
    assert compile_template(source, kind="output").render(result=[1, 0, 2]) == "- 1\n- 2\n"
