"""The TOML position scanner agrees with tomllib on every valid document, and can never hang.

Each case is a valid TOML 1.0 document written for one corner of the spec (https://toml.io/en/v1.0.0):
every string form, every key form, tables and arrays of tables, inline tables and arrays across lines.
For each, the scanner must find exactly tomllib's paths, and each value's text as written (at the
position it reports) must read back, through tomllib, as tomllib's value.
"""

from __future__ import annotations

import math
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mcprt.manifest.toml_reader import read_toml, toml_positions
from tests.support.cli import mcprt_process

Q3 = '"""'
L3 = "'''"

DOCUMENTS: dict[str, str] = {
    # -- basic strings ----------------------------------------------------------------------------
    "basic escapes": r'a = "tab\t quote\" backslash\\ u\u00e9 U\U0001F600 \b\f\n\r"' + "\nb = 1\n",
    "basic ends in an escaped backslash": 'a = "x\\\\"\nb = "y"\n',
    "basic holding # and = and [": 'a = "# not a comment = [x]"\nb = 2\n',
    "basic holding single quotes": "a = \"it's 'fine'\"\nb = 3\n",
    # -- literal strings --------------------------------------------------------------------------
    "literal keeps backslashes": "a = 'C:\\Users\\x\\'\nb = 'x'\n",
    "literal holding double quotes": "a = 'say \"hi\"'\nb = 1\n",
    # -- multi-line basic -------------------------------------------------------------------------
    "ml basic, escaped quote triple (the hang)": f'a = {Q3}\nx \\{Q3}\n{Q3}\nb = 1\n',
    "ml basic, escaped quotes on one line": f'a = {Q3}Say \\"hi\\" \\{Q3}.{Q3}\nb = 1\n',
    "ml basic, escaped backslash then close": f'a = {Q3}x \\\\{Q3}\nb = 1\n',
    "ml basic, one quote before close": f'a = {Q3}x"{Q3}\nb = 1\n',
    "ml basic, two quotes before close": f'a = {Q3}x""{Q3}\nb = 1\n',
    "ml basic, only quotes": f'a = {Q3}""{Q3}\nb = {Q3}"{Q3}\nc = {Q3}{Q3}\n',
    "ml basic, quotes inside": f'a = {Q3}one " two "" three{Q3}\nb = 1\n',
    "ml basic, line-ending backslash": f'a = {Q3}\\\n    The quick \\\n    fox.\\\n{Q3}\nb = 1\n',
    "ml basic, line-ending backslash with trailing spaces": f'a = {Q3}x \\   \n  y{Q3}\nb = 1\n',
    "ml basic, escaped backslash at line end": f'a = {Q3}x \\\\\ny{Q3}\nb = 1\n',
    "ml basic, holds a table header and a key": f'a = {Q3}\n[not.a.table]\nc = 1\n# no comment\n{Q3}\nb = 1\n',
    "ml basic, holds literal delimiters": f"a = {Q3}it's '''fine'''{Q3}\nb = 1\n",
    "ml basic, CRLF": f'a = {Q3}\r\nline one\r\nline \\{Q3}\\"\r\n{Q3}\r\nb = 1\r\n',
    # -- multi-line literal -----------------------------------------------------------------------
    "ml literal, backslash is literal": f"a = {L3}\nC:\\x\\{L3}\nb = 1\n",
    "ml literal, one quote before close": f"a = {L3}x'{L3}\nb = 1\n",
    "ml literal, two quotes before close": f"a = {L3}x''{L3}\nb = 1\n",
    "ml literal, holds basic delimiters": f"a = {L3}say {Q3}hi{Q3}{L3}\nb = 1\n",
    "ml literal, holds a jinja template": f"a = {L3}\n{{% for x in r %}}\n- {{{{ x.name }}}}\n{{% endfor %}}\n{L3}\nb = 1\n",
    # -- keys -------------------------------------------------------------------------------------
    "bare keys with digits, dash, underscore": "1234 = 1\nbare-key_2 = 2\n-x = 3\n",
    "quoted keys": '"a b" = 1\n"ʎǝʞ" = 2\n\'quoted "value"\' = 3\n"" = 4\n"esc\\"aped" = 5\n',
    "dotted keys with spaces around dots": 'fruit . color = "red"\nfruit.  "shape"  = "round"\n\'site\'."google.com" = true\n',
    "dotted keys extend a table": 'a.b.c = 1\na.b.d = 2\na.e = 3\n',
    "float-looking dotted key": "3.14159 = 'pi'\n",
    "spaces and tabs around =": "a\t=\t1\nb   =   'x'   # trailing comment\n",
    # -- tables -----------------------------------------------------------------------------------
    "table headers with spaces and quotes": '[ dog . "tater.man" ]\ntype.name = "pug"\n[j . "ʞ" . \'l\']\nx = 1\n',
    "implicit super-tables": "[x.y.z.w]\na = 1\n[x]\nb = 2\n",
    "empty tables": "[a]\n[b]\nc = 1\n[d]\n",
    "header with a comment": "[a] # c\nb = 1 # c\n[[c]] # c\nd = 2\n",
    "array of tables": '[[products]]\nname = "Hammer"\n[[products]]\n[[products]]\nname = "Nail"\n',
    "nested arrays of tables": (
        '[[fruits]]\nname = "apple"\n[fruits.physical]\ncolor = "red"\n[[fruits.varieties]]\nname = "red delicious"\n'
        '[[fruits.varieties]]\nname = "granny smith"\n[[fruits]]\nname = "banana"\n[[fruits.varieties]]\n'
        'name = "plantain"\n'
    ),
    # -- scalars ----------------------------------------------------------------------------------
    "numbers": "a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_BEEF\ne = 0o755\nf = 0b1101\ng = 6.626e-34\nh = -0.0\n"
    "i = inf\nj = -inf\nk = nan\nl = 5e+22\n",
    "booleans": "a = true\nb = false\n",
    "dates and times": (
        "a = 1979-05-27T07:32:00Z\nb = 1979-05-27 07:32:00.999999-07:00\nc = 1979-05-27T07:32:00\n"
        "d = 1979-05-27\ne = 07:32:00\nf = 00:32:00.5 # c\n"
    ),
    # -- inline tables and arrays -----------------------------------------------------------------
    "inline table": 'name = { first = "Tom", last = "Preston-Werner" }\npoint = {x=1,y=2}\n',
    "inline table, dotted keys and nesting": 'a = { b.c = 1, d = { e = "}" }, f = [1, {g = 2}] }\n',
    "empty inline table and array": "a = {}\nb = []\nc = [ ]\nd = [[]]\n",
    "array across lines with comments and trailing comma": (
        'a = [ # start\n  1, # one\n  2,\n  # a comment line\n  3, # trailing comma next\n]\nb = "x"\n'
    ),
    "nested arrays, mixed types": 'a = [ [ 1, 2 ], ["a", \'b\'], [ {c = 1} ], 1979-05-27 ]\n',
    "array of strings holding delimiters": f'a = [ "]", \'[\', "#", {Q3}a"b{Q3}, {L3}]{L3} ]\nb = 1\n',
    "inline table inside an array across lines": 'rules = [\n  { when = "x", then = "deny" },\n  { when = "y" , then = "allow" } ,\n]\n',
    # -- whole documents --------------------------------------------------------------------------
    "comments, blank lines, no final newline": "# c\n\n  a = 1   # c\n\n\n# c\n[t]\n\tb = 2",
    "CRLF line ends": '[t]\r\na = 1\r\nb = "x"\r\n# c\r\n[[u]]\r\nc = [1,\r\n 2]\r\n',
}


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def _offset(text: str, line: int, col: int) -> int:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    return starts[line - 1] + col - 1


def _scalar_leaves(node: Any, prefix: tuple[str | int, ...] = ()) -> set[tuple[str | int, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else None
    if items is None:
        return {prefix}
    found: set[tuple[str | int, ...]] = set()
    for key, child in items:
        found |= _scalar_leaves(child, (*prefix, key))
    return found


@pytest.mark.parametrize("text", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_the_scanner_agrees_with_tomllib(text: str) -> None:
    data = tomllib.loads(text)
    index, values = toml_positions(text, "t.toml", data)
    assert index.nodes, "the scanner fell back to no positions on a valid document"
    assert _scalar_leaves(data) - {()} <= set(values)  # every string, number, bool and date has its text
    for path, raw in values.items():
        assert _same(tomllib.loads(f"v = {raw}")["v"], _get(data, path)), (path, raw)
        where = index.locate(path)
        assert text[_offset(text, where.line, where.col):].startswith(raw), (path, where, raw)
    for path, span in index.nodes.items():  # every key position points at that key as written
        if span.key is not None and isinstance(path[-1], str):
            at = text[_offset(text, span.key.line, span.key.col):]
            assert at.startswith((path[-1], f'"{path[-1]}', f"'{path[-1]}")) or "\\" in at[:40], (path, span.key)


def test_positions_of_named_corners() -> None:
    text = (
        'version = 1\n'                                   # 1
        '[sources.notes]\n'                               # 2
        'description = """Say \\"hi\\" \\"""."""\n'       # 3
        'output = """\n'                                  # 4
        'x \\"""\n'                                       # 5
        '"""\n'                                           # 6
        'bogus = 1\n'                                     # 7
        '[[fruits]]\n'                                    # 8
        '[[fruits]]\n'                                    # 9
        '[fruits.physical]\n'                             # 10
        'color = "red"\n'                                 # 11
        'a . "b.c" . d = [ # c\n'                         # 12
        '  { e = 1 },\n'                                  # 13
        '  { f = 2 } ]\n'                                 # 14
    )
    data, index, errors = read_toml(text, "m.toml")
    assert errors == []
    assert data["sources"]["notes"]["description"] == 'Say "hi" """.'
    at = lambda path, prefer="value": (index.locate(path, prefer).line, index.locate(path, prefer).col)  # noqa: E731
    assert at(("sources", "notes", "bogus"), "key") == (7, 1)
    assert at(("sources", "notes", "output")) == (4, 10)
    assert index.span(("sources", "notes", "output")).block  # type: ignore[union-attr]
    assert at(("fruits", 1, "physical", "color")) == (11, 9)
    assert at(("fruits", 1, "physical", "a", "b.c", "d"), "key") == (12, 13)
    assert at(("fruits", 1, "physical", "a", "b.c", "d", 1, "f")) == (14, 9)


def test_a_scanner_that_disagrees_gives_no_positions_not_wrong_ones() -> None:
    text = "a = 1\n[t]\nb = 2\n"
    index, values = toml_positions(text, "t.toml", {"a": 1, "t": {"b": 2, "c": 3}})  # data the text does not hold
    assert index.nodes == {} and values == {}
    assert (index.locate(("t", "c")).line, index.locate(("t", "c")).col) == (1, 1)


NOTES_MODULE = '''\
def notes_by_tag(tag: str) -> list[str]:
    """Notes with this tag."""
    return [tag]
'''

HEAD = 'version = 1\n[sources.notes]\npython = "notes_mod"\n[sources.notes.tools.notes_by_tag]\n'


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ('output = """\nx \\"""\n"""\n', None),  # hung `validate`, `up`, the hook and reload at 100 % CPU
        ('description = """Say \\"hi\\" \\"""."""\n', 'Say "hi" """.'),  # was `internal error: ValueError`
    ],
    ids=["escaped-quote-triple-hang", "escaped-quotes-internal-error"],
)
def test_cli_validates_escaped_quote_triples_promptly(tmp_path: Path, body: str, description: str | None) -> None:
    (tmp_path / "notes_mod.py").write_text(NOTES_MODULE)
    (tmp_path / "mcp.toml").write_text(HEAD + body)
    started = time.monotonic()
    try:  # a real process: the fault was a busy loop, which only a process timeout can bound
        # forked from the suite's warm zygote (tests/support/zygote.py): a real process, without ~1.5 s of imports
        result = mcprt_process("validate", "--offline", "mcp.toml", cwd=tmp_path, forked=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mcprt validate still running after {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("mcp.toml: ok — 1 tool from 1 source"), result.stderr
    if description is not None:
        shown = mcprt_process("tools", "--json", "mcp.toml", cwd=tmp_path, forked=True, timeout=60)
        assert description in shown.stdout.replace('\\"', '"'), shown.stdout + shown.stderr
