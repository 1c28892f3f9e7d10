"""YAML API descriptions (and cases) are read by libyaml through `mcprt.safe_yaml`, as ruamel's pure parser reads them.

The pure parser is the reference: every case below is loaded by both and compared, value and type. The
inputs where libyaml alone would build another tree are the ones `safe_yaml` hands to the reference
(its module docstring lists them); tabs as YAML 1.2 separation white space are the one deliberate
difference (libyaml accepts them where the pure scanner refused).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mcprt import safe_yaml
from mcprt.errors import SpecError
from mcprt.sources.openapi.loader import parse
from mcprt.testing.cases import CaseError, load_case

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "fixtures" / "specs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def reference(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def outcome(load: Any, text: str) -> tuple[Any, ...]:
    """What a load gives, comparable across parsers: the value with its types, or the error as worded."""
    try:
        return ("ok", repr(load(text)))
    except YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))


def test_the_c_parser_is_installed_and_used() -> None:
    """pyproject.toml depends on ruamel.yaml.clib for CPython: without it every load is pure Python."""
    assert safe_yaml.c_parser_available()
    assert safe_yaml._c_reads_alike("openapi: 3.0.0\npaths: {}\n")


# Each YAML 1.2 feature mcprt relies on: libyaml builds the nodes, the same resolver and constructor read them.
SAME_TREE = {
    "1.1 booleans are strings": "a: yes\nb: no\nc: on\nd: off\ne: y\nf: True\ng: FALSE\n",
    "octal and 1.2 integers": "a: 0o17\nb: 017\nc: 0x1F\nd: 09\ne: 1_000\nf: -0o17\ng: 123456789012345678901234567890\n",
    "sexagesimal is a string": "a: 1:20\nb: 190:20:30\nc: 1:2.5\n",
    "floats": "a: .inf\nb: -.Inf\nc: .nan\nd: 1e3\ne: 1_000.5\nf: .5\ng: 6.8523015e+5\nh: +.inf\n",
    "nulls": "a: ~\nb: null\nc:\nd: Null\ne: NULL\n",
    "timestamps": "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\nc: 2001-12-14 21:59:43.10 -5\n",
    "merge keys": "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\nl:\n  <<: [*b, {z: 4}]\n",
    "anchors and aliases": "a: &x [1, {k: v}]\nb: *x\n",
    "recursive alias": "a: &x [*x]\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "explicit core tags": "a: !!str 1\nb: !!int '3'\nc: !!float 1\nd: !!str yes\n",
    "set and omap": "s: !!set {a, b}\no: !!omap [a: 1, b: 2]\n",
    "%TAG directive": "%TAG !e! tag:example.com,2000:\n---\na: !!str x\n",
    "non-string keys": "1: a\n1.5: b\ntrue: c\n~: d\n2020-01-01: e\n",
    "leading BOM": "\ufeffa: 1\n",
    "very long scalar": "a: " + "x" * 200_000 + "\n",
    "non-ASCII": "a: caf\u00e9 \u2603 \U0001f600\nb: \"\\u00e9\\U0001F600\\x41\"\n",
    "tab inside quotes and blocks": "a: \"x\ty\"\nb: |\n  \tindented by a tab\n",
    "block scalars": "a: |\n  line1\n  line2\nb: >-\n  f1\n  f2\nc: |2+\n   x\n\n",
    "CRLF": "a: 1\r\nb: |\r\n  x\r\n",
    "flow style": "{a: 1, b: [2, 3], c: {d: e}}\n",
    "complex key": "? [a, b]\n: v\n",
    "document end": "a: 1\n...\n",
    "empty": "",
    # Inputs libyaml would read differently: `safe_yaml` gives them to the reference.
    "%YAML 1.1 directive": "%YAML 1.1\n---\na: yes\nb: 017\nc: 1:20\nd: on\n",
    "%YAML 1.2 directive": "%YAML 1.2\n---\na: yes\n",
    "NEL is text in 1.2": "a: x\x85y\n",
    "LINE SEPARATOR is text in 1.2": "a: x\u2028y\nb: \"p\u2029q\"\n",
    "BOM after the start": "a: x\n\ufeffb: 2\n",
    "empty node tagged !": "a: !\nb: ! 12\n",
    "empty node tagged !<!> (verbatim)": "a: !<!>\nb: !<!> 12\n",
    "empty node tagged !<%21> (verbatim, escaped)": "a: !<%21>\nb: [!<%21> , !<!> ]\n",
    "root block scalar, # at column 0": "|\n#not a comment\n",
    "root block scalar, ... at column 0": "--- |-\n...\n",
    # Errors: libyaml refuses, the reference decides and words them (today's messages).
    "lone surrogate escape (the reference keeps it)": "a: \"\\ud800\"\n",
    "header comment without a space": "a: |#\n  x\n",
}
ERRORS = {
    "scanner: unclosed quote": "a: \"abc\n",
    "scanner: tab indentation": "a:\n\tb: 1\n",
    "scanner: unknown escape": "a: \"\\q\"\n",
    "scanner: value in a plain scalar": "a: b: c\n",
    "parser: unclosed flow sequence": "a: [1, 2\n",
    "parser: bad indentation": "a:\n  b: 1\n c: 2\n",
    "parser: more than one document": "a: 1\n---\nb: 2\n",
    "composer: undefined alias": "a: *nope\n",
    "constructor: duplicate key": "a: 1\na: 2\n",
    "constructor: unknown tag": "a: !foo bar\n",
    "reader: control character": "a: b\x07c\n",
    "directive: incompatible major version": "%YAML 2.0\n---\na: 1\n",
}


@pytest.mark.parametrize("text", SAME_TREE.values(), ids=SAME_TREE.keys())
def test_same_tree_as_the_pure_parser(text: str) -> None:
    assert outcome(safe_yaml.load, text) == outcome(reference, text)


@pytest.mark.parametrize("text", ERRORS.values(), ids=ERRORS.keys())
def test_same_error_as_the_pure_parser(text: str) -> None:
    assert safe_yaml._c_reads_alike(text) or text.startswith("%YAML"), "libyaml reads it first"
    got = outcome(safe_yaml.load, text)
    assert got[0] == "error" and got == outcome(reference, text)


@pytest.mark.parametrize("text", ERRORS.values(), ids=ERRORS.keys())
def test_a_bad_yaml_spec_keeps_its_clear_error(text: str) -> None:
    """The compile's words for each kind: `invalid YAML at line L, column C: problem` when the parser
    knows where (all but the reader's), the pure parser's problem text, and the place it gave."""
    try:
        reference(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        expected = (f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: "
                    f"{getattr(exc, 'problem', None) or exc.context}") if mark else f"invalid YAML: {exc}"
    with pytest.raises(SpecError) as raised:
        parse(text.encode(), "bad.yaml")
    assert raised.value.message == expected


def test_tabs_as_white_space_are_accepted_deliberately() -> None:
    """YAML 1.2 §6.1-6.2: a tab is separation white space. The pure scanner refused these; libyaml reads
    each as the same text with a space for the tab."""
    for text, spaced in (("a:\tb\n", "a: b\n"), ("key: value\t# note\n", "key: value # note\n"),
                         ("a: 1\t\nb: [x,\ty]\n", "a: 1 \nb: [x, y]\n")):
        assert outcome(reference, text)[0] == "error"
        assert safe_yaml.load(text) == reference(spaced)


@pytest.mark.parametrize("text", ["x: |\n  \n    text\n", "x: >\n  \n    text\n", "- |\n  \n    text\n",
                                  "x: |-\n \n\n  text\n  more\n"])
def test_a_short_spaces_only_first_line_in_a_block_scalar_is_accepted_deliberately(text: str) -> None:
    """YAML 1.2 §8.1.1.1: a block scalar's indentation is that of its first non-empty line; a line of
    fewer spaces before it is an empty line. The pure scanner refused these ("more indented follow up
    line than first in a block scalar"); libyaml reads them as the same text without the spaces."""
    assert outcome(reference, text)[0] == "error"
    assert safe_yaml.load(text) == reference(text.replace("\n  \n", "\n\n").replace("\n \n", "\n\n"))


@pytest.mark.parametrize("version", ["1.0", "1.3"])
def test_an_unknown_minor_version_is_a_clear_error(tmp_path: Path, version: str) -> None:
    """Before: ruamel's AssertionError (KeyError under -O) escaped, and `mcprt validate` said "internal error"."""
    with pytest.raises(SpecError, match=rf"invalid YAML at line 1, column 1: unsupported YAML version {version}"):
        parse(f"%YAML {version}\n---\nopenapi: 3.0.0\npaths: {{}}\n".encode(), "spec.yaml")


@pytest.mark.parametrize(("shape", "text"), [
    # `x: ` first: a text starting with `[` is valid JSON here, which json.loads refuses before YAML sees it.
    ("flow sequences", "x: " + "[" * 100_000 + "]" * 100_000),
    ("flow mappings", "{a: " * 100_000 + "1" + "}" * 100_000),
    ("compact block sequences", "- " * 100_000 + "1\n"),
    ("flow sequences, read by the pure parser", "%YAML 1.2\n---\n" + "[" * 100_000 + "]" * 100_000),
    ("compact block sequences, read by the pure parser", "%YAML 1.2\n---\n" + "- " * 100_000 + "1\n"),
])
def test_a_document_nested_100000_deep_is_a_clear_error(shape: str, text: str) -> None:
    """libyaml composes by unchecked C recursion: read without the depth bound, `[` 100,000 deep kills the
    process (SIGSEGV). The pure parser refused it before too, after 4-8 s of CPU (it walks every open flow
    level at each token); both paths now answer in well under a second."""
    refusal = parse_refusal(text)
    assert isinstance(refusal, SpecError), (shape, refusal)
    assert refusal.message == f"the document is nested too deeply (more than {safe_yaml.MAX_DEPTH} levels)", shape


def parse_refusal(text: str) -> BaseException | None:
    """What `parse` raised for `text` (None: it parsed). The join's timeout only tells a hang from an
    answer: a hang fails the test instead of stalling the suite."""
    found: list[BaseException | None] = []

    def compile_it() -> None:
        try:
            parse(text.encode(), "doc.yaml")
            found.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
            found.append(exc)

    worker = threading.Thread(target=compile_it, daemon=True)
    worker.start()
    worker.join(120)
    assert found, "still parsing after 120 s"
    assert found[0] is None or isinstance(found[0], SpecError), repr(found[0])
    return found[0]


ALIAS_LEVELS = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
ALIAS_LEVELS += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
REUSED = "openapi: 3.0.0\npaths: {}\n" + "\n".join(ALIAS_LEVELS[:5]) + "\n"  # 9**5 = 59,049 copies


def test_aliases_expanding_past_the_allowance_are_refused() -> None:
    """Before: nine levels of nine aliases (~500 bytes) expanded to 387 million values while the tree was
    copied (seven levels: 12 s). Reuse within the allowance still reads."""
    refusal = parse_refusal("openapi: 3.0.0\npaths: {}\n" + "\n".join(ALIAS_LEVELS) + "\n")
    assert "the document expands to more than 1,000," in str(refusal), refusal
    assert "raise it with MCPRT_SPEC_ALIAS_ALLOWANCE" in str(refusal)
    assert parse_refusal(REUSED) is None


def test_an_operator_sets_the_alias_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the allowance was a constant; like the manifest's MCPRT_MAX_MANIFEST_NODES it is a setting."""
    monkeypatch.setenv("MCPRT_SPEC_ALIAS_ALLOWANCE", "10_000")
    refusal = parse_refusal(REUSED)
    assert isinstance(refusal, SpecError)
    assert refusal.message == (f"the document expands to more than {len(REUSED) + 10_000:,} values (YAML aliases "
                               "counted: one per character of the text, plus 10,000; raise it with "
                               "MCPRT_SPEC_ALIAS_ALLOWANCE)")


def nested(levels: int, directive: str, case: bool = False) -> str:
    """An OpenAPI description (or a case: `args` a mapping too) whose `x` nests flow sequences around a
    scalar: `levels` levels in all, each mapping and the scalar counted."""
    head, mappings = ("tool: t\nargs:\n  x: ", 2) if case else ("openapi: 3.0.0\npaths: {}\nx: ", 1)
    inner = levels - mappings - 1
    return directive + head + "[" * inner + "1" + "]" * inner + "\n"


@pytest.mark.parametrize("directive", ["", "%YAML 1.2\n---\n"], ids=["libyaml", "pure parser"])
def test_the_depth_limit_is_one_number_on_both_paths(tmp_path: Path, directive: str) -> None:
    """Before: MAX_DEPTH was 512 but OpenAPI documents were refused near 496 levels (`_plain`'s recursion,
    no limit named), and a 505-deep case was read by libyaml yet refused with a `%YAML 1.2` directive.
    The README's number is read on either path, by the OpenAPI loader and by `load_case`; one more is refused."""
    limit = safe_yaml.MAX_DEPTH
    assert limit == int(re.search(r"recorded case\) nesting depth[^|]*\| (\d+)", README).group(1))
    assert parse_refusal(nested(limit, directive)) is None
    refusal = parse_refusal(nested(limit + 1, directive))
    assert isinstance(refusal, SpecError) and refusal.message.endswith(f"(more than {limit} levels)"), refusal
    case = tmp_path / "deep.yaml"
    case.write_text(nested(limit, directive, case=True))
    assert load_case(case).tool == "t"
    case.write_text(nested(limit + 1, directive, case=True))
    with pytest.raises(CaseError, match=f"more than {limit} levels"):
        load_case(case)


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("a: !!int\n", "line 3, column 4", "'' is not a valid !!int value"),
    ("a: !!float x\n", "line 3, column 4", "'x' is not a valid !!float value"),
    ("a: !!timestamp 2001-13-45\n", "line 3, column 4", "'2001-13-45' is not a valid !!timestamp value"),
    ("a: \"\\U0011FFFF\"\n", "line 3, column 7", "invalid character"),
    ("b:\n  [[a]]: 1\n", "line 4, column 3", "this !!map cannot be built (unhashable type: 'list')"),
    ("a: !!omap [[a]: 1]\n", "line 3, column 4", "this !!omap cannot be built (unhashable type: 'list')"),
])
def test_a_value_its_tag_cannot_build_is_a_yaml_error(tmp_path: Path, text: str, where: str, problem: str) -> None:
    """Before: the constructor's IndexError (`!!int` with no digits) escaped `parse` and `load_case`, and
    its ValueErrors and TypeErrors (an unhashable key) escaped `load_case` (which catches YAMLError only);
    `parse` gave the TypeError without a place. Now each is a YAML error at the node."""
    with pytest.raises(SpecError) as raised:
        parse(f"openapi: 3.0.0\npaths: {{}}\n{text}".encode(), "spec.yaml")
    assert raised.value.message.startswith(f"invalid YAML at {where}: {problem}"), raised.value.message
    case = tmp_path / "bad.yaml"
    case.write_text(f"tool: t\nargs:\n{text}")
    with pytest.raises(CaseError, match=re.escape(problem)):
        load_case(case)


def test_a_deep_case_file_is_a_case_error(tmp_path: Path) -> None:
    """Before: the pure parser's RecursionError escaped `load_case` (it catches YAMLError only)."""
    case = tmp_path / "deep.yaml"
    case.write_text("tool: t\nargs:\n  a: " + "[" * 600 + "]" * 600 + "\n")
    with pytest.raises(CaseError, match="nested too deeply"):
        load_case(case)


def corpus() -> list[Path]:
    """Every YAML API description in the fixtures, and the catalog's pinned YAML specs."""
    found = [p for p in sorted(SPECS.rglob("*")) if p.suffix in (".yaml", ".yml")]
    return found + sorted(p for p in (ROOT / "catalog").glob("*/spec/*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_yaml_spec_reads_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert safe_yaml._c_reads_alike(text), "each of these is read by libyaml: none needs the reference"
    assert outcome(safe_yaml.load, text) == outcome(reference, text)


# The behaviour tests' core, where ruamel.yaml.clib cannot be imported (PyPy, or installed without it):
# every load is the pure parser's, with the same results, errors and depth limit.
WITHOUT_LIBYAML = """
import sys
sys.modules["_ruamel_yaml"] = None  # the extension's import fails, as where it is not installed
sys.path.insert(0, sys.argv[1])
import test_openapi_yaml_parsers as t
from mcprt import safe_yaml
assert not safe_yaml.c_parser_available() and not safe_yaml._c_reads_alike("a: 1\\n")
for text in [*t.SAME_TREE.values(), *t.ERRORS.values()]:
    assert t.outcome(safe_yaml.load, text) == t.outcome(t.reference, text), repr(text[:60])
for text in ["a:\\tb\\n", "x: |\\n  \\n    text\\n"]:  # what libyaml accepts deliberately, the pure parser refuses
    assert t.outcome(safe_yaml.load, text)[0] == "error", repr(text)
limit = safe_yaml.MAX_DEPTH
assert t.parse_refusal(t.nested(limit, "")) is None
assert t.parse_refusal(t.nested(limit + 1, "")).message.endswith(f"(more than {limit} levels)")
print("pure", len(t.SAME_TREE) + len(t.ERRORS))
"""


def test_without_the_extension_everything_is_read_by_the_pure_parser() -> None:
    done = subprocess.run([sys.executable, "-c", WITHOUT_LIBYAML, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["pure", str(len(SAME_TREE) + len(ERRORS))]
