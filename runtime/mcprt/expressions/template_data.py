"""Data values out of a template's error messages: the template's own words stay, the data's go.

A failing `output` template's message reaches the model (the tool error) and the operator's log. Jinja and
Python quote the key or value they failed on (`'dict object' has no attribute 'c1@x.io'`, `invalid literal
for int(): 'ACME-42'`), and when a template looks a field up by a value from the data
(`result.meta[result.customer.email]`) that key *is* data: a value the template may deliberately not show
(shaping trial, fault 3). The README's rule for template texts is "never the data".

A missing field's message is built without the data's keys at its source (`templates._key`); this module's
rule is the fallback for the other messages, Python's exception texts (`int()`, `strftime`, operators):
(`without_data`): a quoted text in a message stays only when every name in it is written in the
template itself (`literals`: its variable, attribute, filter and test names and its constant strings and
numbers) or is a Python type's name (`'int'`, `'dict object'`); any other is `'…'`. When one was taken out,
the message names the look-ups on the failing line whose key the template computes (`keyed_lookups`),
written as the template writes them: the lookup's shape, not its value.
"""

from __future__ import annotations

import functools
import re

from jinja2 import nodes

from . import templates

_QUOTED = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"")
_PARTS = re.compile(r"[^.\[\]\s]+")
_TYPE_WORDS = frozenset({"int", "float", "str", "bool", "list", "dict", "tuple", "NoneType", "None", "bytes",
                         "object", "set", "Markup", "undefined", "generator", "function", "namespace"})
HIDDEN = templates.HIDDEN


def without_data(message: str, source: str, line: int | None) -> str:
    """`message` (an error of the template `source`, failing at template `line`) with every quoted text
    not written in the template replaced by `'…'`, and, when one was, the data-keyed look-ups on that line."""
    known = literals(source) | {HIDDEN}
    hidden = HIDDEN in message  # a missing field's message hides a data key at its source (`templates._key`)

    def shown(match: re.Match[str]) -> str:
        nonlocal hidden
        text = match.group(1) if match.group(1) is not None else match.group(2)
        words = _PARTS.findall(text)
        if all(word.strip("'\"") in known or word in _TYPE_WORDS for word in words) or \
                re.fullmatch(r"\w+ object", text):
            return match.group(0)
        hidden = True
        return f"'{HIDDEN}'"

    cleaned = _QUOTED.sub(shown, message)
    if not hidden:
        return message
    lookups = keyed_lookups(source, line) if line is not None else []
    where = f" in `{'`, `'.join(lookups)}`" if lookups else ""
    return f"{cleaned.rstrip('.')} (a key or value from the data{where}, not shown)"


@functools.lru_cache(maxsize=256)
def literals(source: str) -> frozenset[str]:
    """The names and constants written in template `source`."""
    found: set[str] = set()
    for node in templates.parsed_template(source).find_all(nodes.Node):
        if isinstance(node, nodes.Name | nodes.Filter | nodes.Test):
            found.add(str(node.name))
        elif isinstance(node, nodes.Getattr):
            found.add(str(node.attr))
        elif isinstance(node, nodes.Const) and isinstance(node.value, str | int | float) and \
                not isinstance(node.value, bool):
            found.add(str(node.value))
    return frozenset(found)


def keyed_lookups(source: str, line: int) -> list[str]:
    """The look-ups (`a[b]`) on template `line` whose key is not a constant, as the template writes them."""
    out: list[str] = []
    for node in templates.parsed_template(source).find_all(nodes.Getitem):
        if node.lineno == line and not isinstance(node.arg, nodes.Const):
            text = _written(node)
            if text not in out:
                out.append(text)
    return out


def _written(node: nodes.Node) -> str:
    """An expression's text, for the shapes a look-up is made of; `…` for anything else."""
    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Getattr):
        return f"{_written(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_written(node.node)}[{_written(node.arg)}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Concat | nodes.Add):
        parts = node.nodes if isinstance(node, nodes.Concat) else [node.left, node.right]
        return " ~ ".join(_written(part) for part in parts)
    return HIDDEN
