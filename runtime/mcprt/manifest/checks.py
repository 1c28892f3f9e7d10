"""Checks that need more than the models: JMESPath expressions and Jinja2 templates compile.

They are compiled here, at load, so a typo in a `prune` or an `output` template is an error at its
line and column in the manifest — not a failure at the first call.
"""

from __future__ import annotations

import linecache
from collections.abc import Iterator
from typing import Any

from ..errors import Diagnostic
from .positions import Path, PositionIndex


def check_expressions(data: Any, index: PositionIndex) -> list[Diagnostic]:
    """Compile every `prune`, `description` and `output` of the raw manifest data.

    Works on the plain data (not the models) so these errors are reported together with schema
    errors elsewhere in the file.
    """
    from ..shaping.prune import PruneSyntaxError, compile_prune
    from ..shaping.templates import TemplateError, compile_template

    errors: list[Diagnostic] = []
    for path, field, text in _expressions(data):
        if field == "prune":
            try:
                compile_prune(text)
            except PruneSyntaxError as exc:
                errors.append(_at(index, path, 1, (exc.position or 0) + 1, f"invalid JMESPath in prune: {exc.message}"))
        else:
            try:
                compile_template(text, kind=field)
            except TemplateError as exc:
                errors.append(_at(index, path, exc.line or 1, exc.col or 1,
                                  f"invalid Jinja2 template in {field}: {exc.message}"))
    return errors


def _expressions(data: Any) -> Iterator[tuple[Path, str, str]]:
    sources = data.get("sources") if isinstance(data, dict) else None
    for source_name, source in (sources or {}).items() if isinstance(sources, dict) else ():
        tools = source.get("tools") if isinstance(source, dict) else None
        for tool_key, override in (tools or {}).items() if isinstance(tools, dict) else ():
            for field in ("prune", "description", "output"):
                text = override.get(field) if isinstance(override, dict) else None
                if isinstance(text, str):
                    yield ("sources", source_name, "tools", tool_key, field), field, text


def _at(index: PositionIndex, path: Path, line: int, col: int, message: str) -> Diagnostic:
    """A diagnostic at (line, col) *inside* the string at `path`, mapped to the file."""
    span = index.span(path)
    if span is None:
        where = index.locate(path)
        return Diagnostic(where.file, where.line, where.col, message)
    where = span.value
    if span.block:  # YAML `|`/`>`: the text starts on the next line, indented
        file_line = where.line + line
        text = linecache.getline(where.file, file_line)
        indent = len(text) - len(text.lstrip(" ")) if text else 0
        return Diagnostic(where.file, file_line, indent + col, message)
    text = linecache.getline(where.file, where.line)
    quoted = 1 if text[where.col - 1 : where.col] in ("'", '"') else 0
    return Diagnostic(where.file, where.line + line - 1, where.col + quoted + col - 1 if line == 1 else col, message)
