"""Read a function's docstring: its first paragraph and the parameter descriptions.

Three common conventions are understood, because Python code in the wild uses all of them and the
model should see the author's words whichever one they chose:

- Google:  ``Args:`` (or ``Arguments:``, ``Parameters:``) then ``name (type): text`` lines
- NumPy:   ``Parameters`` underlined with dashes, then ``name : type`` and indented text
- reST:    ``:param name: text`` or ``:param type name: text``
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(\([^)]*\))?\s*:\s*(?P<text>.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(?P<name>[A-Za-z_][A-Za-z0-9_]*)(\s*:.*)?$")
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<text>.*)$")
_REST_FIELD = re.compile(r"^:[A-Za-z]")
_SECTION_HEADER = re.compile(r"^[A-Za-z][A-Za-z ]*:\s*$")
_UNDERLINE = re.compile(r"^-{3,}\s*$")


@dataclass
class Docstring:
    summary: str = ""  # the first paragraph, on one line
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the whole docstring minus its parameter sections (those are in the input schema)


def parse_docstring(doc: str | None) -> Docstring:
    """Summary and parameter descriptions of a docstring (empty when there is none)."""
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    params.update(_rest_params(lines))
    params.update(_numpy_params(lines))
    params.update(_google_params(lines))
    return Docstring(summary=_summary(lines), params=params, text=_without_parameters(lines))


_REST_PARAM_FIELD = re.compile(r"^:(?:param|parameter|arg|argument|key|keyword|type)\b")


def _without_parameters(lines: list[str]) -> str:
    """The docstring without its Google `Args:`, NumPy `Parameters` and reST `:param …:`/`:type …:`
    parts, blank-line runs collapsed: the prose and the other sections (`Returns:`, `Raises:`, notes)."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        if stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_HEADERS:
            base, i = _indent(line), i + 1  # a Google section: its indented lines go with it
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                i += 1
            continue
        if stripped.lower() in {"parameters", "other parameters"} and i + 1 < len(lines) \
                and _UNDERLINE.match(lines[i + 1].strip()):
            i += 2  # a NumPy section: up to the next underlined header
            while i < len(lines) and not (i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].strip())):
                i += 1
            continue
        if _REST_PARAM_FIELD.match(stripped):
            i += 1  # a reST field and its indented continuation lines
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0 and not _REST_FIELD.match(lines[i].strip()):
                i += 1
            continue
        kept.append(line.rstrip())
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _summary(lines: list[str]) -> str:
    paragraph: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            if paragraph:
                break
            continue
        if _REST_FIELD.match(stripped) or _starts_section(lines, index):
            break
        paragraph.append(stripped)
    return " ".join(paragraph)


def _starts_section(lines: list[str], index: int) -> bool:
    stripped = lines[index].strip()
    if stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_HEADERS:
        return True
    return index + 1 < len(lines) and bool(_UNDERLINE.match(lines[index + 1].strip()))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        header = lines[i].strip()
        if not (header.endswith(":") and header[:-1].strip().lower() in _GOOGLE_HEADERS):
            i += 1
            continue
        base = _indent(lines[i])
        i += 1
        entry_indent: int | None = None
        current: str | None = None
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            indent = _indent(line)
            if indent <= base:
                break
            if entry_indent is None:
                entry_indent = indent
            match = _GOOGLE_ENTRY.match(line.strip()) if indent == entry_indent else None
            if match:
                current = match.group("name")
                params[current] = match.group("text").strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
            i += 1
    return params


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i + 1 < len(lines):
        if not (lines[i].strip().lower() in {"parameters", "other parameters"} and _UNDERLINE.match(lines[i + 1].strip())):
            i += 1
            continue
        base = _indent(lines[i])
        i += 2
        current: str | None = None
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].strip()):
                break  # the next section starts
            if not stripped:
                i += 1
                continue
            indent = _indent(line)
            match = _NUMPY_ENTRY.match(stripped) if indent == base else None
            if match:
                current = match.group("name")
                params[current] = ""
            elif indent > base and current is not None:
                params[current] = f"{params[current]} {stripped}".strip()
            elif indent <= base:
                break
            i += 1
    return params


def _rest_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        match = _REST_PARAM.match(stripped)
        if match:
            current = match.group("name")
            params[current] = match.group("text").strip()
        elif _REST_FIELD.match(stripped) or not stripped or _SECTION_HEADER.match(stripped):
            current = None
        elif current is not None and _indent(line) > 0:
            params[current] = f"{params[current]} {stripped}".strip()
    return params
