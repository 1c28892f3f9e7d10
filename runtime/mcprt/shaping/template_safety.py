"""Static check of a template's attribute look-ups the sandbox will refuse at render time.

A template only ever sees plain JSON-like data (objects, arrays, strings, numbers, booleans, null).
On an object, array or string, `x.name`, `x["name"]` and `x|attr("name")` read only the key (or index)
`name` (`templates.DATA_TYPES`): a method name (`x.pop`, `x.items`) is a field of that name. What the
sandbox still refuses (`SandboxedEnvironment.is_safe_attribute`, Jinja's sandbox docs) is a private
name the value has as a Python attribute (`__class__`, `__len__`, …) when there is no such key, and any
such attribute of a number, boolean or null. Such a look-up can never give data, so it is found here,
by `mcprt validate`, rather than failing every call. (`x._links` is fine: no plain value has that
attribute, so it reads the key.) A subscript with a private name (`x["__class__"]`) is reported with
"unless the value is an object with a key" of that very name.
A subscript whose key is computed (`x[k]`, `x["_" ~ k]`) depends on the data and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes

from ..expressions.templates import is_data, parsed_template, template_environment

_PLAIN_VALUES: tuple[object, ...] = ({}, [], "", 0, 0.5, True, None)  # what JSON decodes to


@dataclass(frozen=True, slots=True)
class RefusedLookup:
    line: int  # 1-based, in the template
    col: int  # 1-based, best effort (where `.name` appears on that line)
    message: str


@lru_cache(maxsize=512)
def refused_by_sandbox(attribute: str) -> tuple[str, ...]:
    """The plain value types (`dict`, `list`, …) whose attribute `attribute` the sandbox refuses."""
    env = template_environment()
    refused = []
    for value in _PLAIN_VALUES:
        found = getattr(value, attribute, _MISSING)
        if is_data(value) and not attribute.startswith("_"):
            continue  # read as a field of that name, never the method (templates.DATA_TYPES)
        if found is not _MISSING and not env.is_safe_attribute(value, attribute, found):
            refused.append(type(value).__name__)
    return tuple(refused)


_MISSING = object()


def refused_lookups(source: str) -> list[RefusedLookup]:
    """Each look-up in `source` (a template that parses; [] when it does not) the sandbox refuses:
    `x.name`, `x|attr("name")` and, for private names, `x["name"]` (see the module's docstring)."""
    try:
        tree = parsed_template(source)
    except Exception:  # noqa: BLE001 - a template that does not parse is reported by the compile check
        return []
    lines = source.splitlines()
    found: list[RefusedLookup] = []
    for node, name, written in _constant_lookups(tree):
        refused = refused_by_sandbox(name)
        if not refused or (written == "subscript" and not name.startswith("_")):
            continue
        line = node.lineno or 1
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        col = _column_of(text, name, written)
        shown = {"attribute": f".{name}", "filter": f'|attr("{name}")', "subscript": f'["{name}"]'}[written]
        if name.startswith("_"):
            why = f"it is a private Python attribute of every {'/'.join(refused)} value"
        else:
            why = (f"it is the {'/'.join(refused)} method that modifies the value, not a field; "
                   f"read a field named so with [\"{name}\"]")
        unless = f" unless the value is an object with a key \"{name}\"" if written == "subscript" else ""
        found.append(RefusedLookup(
            line, col, f"`{shown}` is refused by the template sandbox at every call{unless} ({why})"))
    return sorted(found, key=lambda r: (r.line, r.col))


def _constant_lookups(tree: nodes.Template) -> list[tuple[nodes.Node, str, str]]:
    """(node, name, how it is written) for each look-up of a constant name: `x.name` ("attribute"),
    `x|attr("name")` ("filter"), `x["name"]` ("subscript")."""
    out: list[tuple[nodes.Node, str, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            out.append((node, node.attr, "attribute"))
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                out.append((node, node.arg.value, "subscript"))
        elif node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const) \
                and isinstance(node.args[0].value, str):
            out.append((node, node.args[0].value, "filter"))
    return out


def _column_of(text: str, name: str, written: str) -> int:
    """1-based column of `name` on its line (best effort: the first place it is written this way)."""
    if written == "attribute":
        at = text.find("." + name)
        return at + 2 if at >= 0 else 1
    for quote in ('"', "'"):
        at = text.find(quote + name + quote)
        if at >= 0:
            return at + 2
    return 1
