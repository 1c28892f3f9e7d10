"""Static check of a template's attribute look-ups the sandbox will refuse at render time.

A template only ever sees plain JSON-like data (objects, arrays, strings, numbers, booleans, null).
`x.name` first reads the Python attribute `name` of the value, and the sandbox refuses it when
`SandboxedEnvironment.is_safe_attribute` says no (Jinja's sandbox docs): names starting with `_`
that the value has (`__class__`, `__len__`, …) and, in the immutable sandbox, the methods that
modify a list or dict (`pop`, `update`, `append`, …). Such a look-up can never give data, so it is
found here, by `mcprt validate`, rather than failing every call. (`x._links` is fine: no plain value
has that attribute, so it reads the key.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes

from ..expressions.templates import template_environment

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
        if found is not _MISSING and not env.is_safe_attribute(value, attribute, found):
            refused.append(type(value).__name__)
    return tuple(refused)


_MISSING = object()


def refused_lookups(source: str) -> list[RefusedLookup]:
    """Each `x.name` in `source` (a template that parses; [] when it does not) the sandbox refuses."""
    try:
        tree = template_environment().parse(source)
    except Exception:  # noqa: BLE001 - a template that does not parse is reported by the compile check
        return []
    lines = source.splitlines()
    found: list[RefusedLookup] = []
    for node in tree.find_all(nodes.Getattr):
        refused = refused_by_sandbox(node.attr)
        if not refused:
            continue
        line = node.lineno or 1
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        at = text.find("." + node.attr)
        why = (f"it is a private Python attribute of every {'/'.join(refused)} value"
               if node.attr.startswith("_") else
               f"it is the {'/'.join(refused)} method that modifies the value, not a field; "
               f"read a field named so with [\"{node.attr}\"]")
        found.append(RefusedLookup(line, at + 2 if at >= 0 else 1,
                                   f"`.{node.attr}` is refused by the template sandbox at every call ({why})"))
    return sorted(found, key=lambda r: (r.line, r.col))
