"""Checks that need more than the models: JMESPath expressions and Jinja2 templates compile.

They are compiled here, at load, so a typo in a `prune` or an `output` template is an error at its
line and column in the manifest — not a failure at the first call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from ..errors import Diagnostic
from .positions import Path, PositionIndex


def check_expressions(data: Any, index: PositionIndex, failed: set[Path] | None = None) -> list[Diagnostic]:
    """Compile every `prune`, `description` and `output` of the raw manifest data.

    Works on the plain data (not the models) so these errors are reported together with schema
    errors elsewhere in the file. `failed` collects the paths of those that do not compile (the
    loader leaves them out of what later stages check, so their errors are reported once).
    """
    errors: list[Diagnostic] = []
    for path, field, text in _expressions(data):
        before = len(errors)
        _check_one(index, path, field, text, errors)
        if failed is not None and any(d.severity == "error" for d in errors[before:]):
            failed.add(path)
    return errors


def _check_one(index: PositionIndex, path: Path, field: str, text: str, errors: list[Diagnostic]) -> None:
    """Compile one expression; append its error, if any."""
    from ..expressions.prune import PruneSyntaxError, PruneTooDeep, compile_prune
    from ..expressions.prune_growth import WARN_GROWTH
    from ..expressions.template_errors import TemplateError

    if field == "prune":
        try:
            pruner = compile_prune(text)
            if pruner.peak_growth > WARN_GROWTH:
                errors.append(_growth_warning(index, path, pruner.peak_growth))
        except PruneTooDeep as exc:  # valid JMESPath, but no call of it could run: at the expression's start
            errors.append(_at(index, path, 1, 1, f"prune: {exc.message}"))
        except PruneSyntaxError as exc:
            errors.append(_at(index, path, 1, (exc.position or 0) + 1, f"invalid JMESPath in prune: {exc.message}"))
        return
    from ..expressions.templates import compile_template  # Jinja2: only for a manifest with templates

    try:
        compile_template(text, kind=field)
    except TemplateError as exc:
        errors.append(_at(index, path, exc.line or 1, exc.col or 1, f"invalid Jinja2 template in {field}: {exc.message}"))
    except RecursionError:
        errors.append(_at(index, path, 1, 1, f"{field} template nests too deeply"))


def _growth_warning(index: PositionIndex, path: Path, growth: int) -> Diagnostic:
    """A prune that can repeat its input `growth` times (`prune_growth`): each call may stop at its budget."""
    times = f"2^{growth.bit_length() - 1}" if growth & (growth - 1) == 0 else f"{growth:,}"
    warning = _at(index, path, 1, 1, (
        f"prune can repeat its input up to {times} times (each `@` in a multi-select such as `{{a:@,b:@}}` "
        "doubles it, and each pipe stage multiplies): its result grows exponentially, and a call whose result "
        "passes MCPRT_PRUNE_MAX_OUTPUT is a tool error"))
    return dataclasses.replace(warning, severity="warning")


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
    lines = _file_lines(where.file)
    if span.block:  # the text starts on the line after `|`, `>` or `"""`
        indent = 0 if span.verbatim else _block_indent(lines, where.line)
        return Diagnostic(where.file, where.line + line, indent + col, message)
    if line > 1:  # a quoted string over several lines: its later lines start at column 1
        return Diagnostic(where.file, where.line + line - 1, col, message)
    opening = lines[where.line - 1][where.col - 1 :] if where.line <= len(lines) else ""
    quote = 3 if opening.startswith(('"""', "'''")) else 1 if opening[:1] in ("'", '"') else 0
    return Diagnostic(where.file, where.line, where.col + quote + col - 1, message)


def at_offset(index: PositionIndex, path: Path, text: str, offset: int, message: str,
              severity: str = "error") -> Diagnostic:
    """A diagnostic at character `offset` of the string `text` found at `path`, mapped to the file.

    Block scalars are matched line by line against the file, so a folded (`>`) block, whose line
    breaks became spaces, still points at the right line and column.
    """
    span = index.span(path)
    if span is not None and span.block:
        found = _block_position(span.value.file, span.value.line, text, offset, span.verbatim)
        if found is not None:
            return Diagnostic(span.value.file, found[0], found[1], message, severity)  # type: ignore[arg-type]
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    found = _at(index, path, line, col, message)
    return Diagnostic(found.file, found.line, found.col, message, severity)  # type: ignore[arg-type]


def at_line(index: PositionIndex, path: Path, text: str, line: int, col: int, message: str,
            severity: str = "error") -> Diagnostic:
    """A diagnostic at (line, col) of the string `text` found at `path` (both 1-based, as template and
    expression errors count them), mapped to the file as `at_offset` maps offsets."""
    lines = text.split("\n")
    offset = sum(len(part) + 1 for part in lines[: max(line, 1) - 1]) + max(col, 1) - 1
    return at_offset(index, path, text, min(offset, len(text)), message, severity)


def _block_position(file: str, indicator_line: int, text: str, offset: int, verbatim: bool) -> tuple[int, int] | None:
    lines = _file_lines(file)
    indent = 0 if verbatim else _block_indent(lines, indicator_line)
    cursor = 0
    best: tuple[int, int, int] | None = None  # (text start, file line, file col of that start)
    for number in range(indicator_line + 1, len(lines) + 1):
        raw = lines[number - 1]
        if raw.strip() and len(raw) - len(raw.lstrip(" ")) < indent:
            break
        content = raw[indent:].rstrip()
        if not content.strip():
            continue
        start = text.find(content.strip(), cursor)
        if start < 0:
            return None
        lead = len(content) - len(content.lstrip())
        if start > offset:
            break
        best = (start, number, indent + lead + 1)
        cursor = start + len(content.strip())
    if best is None:
        return None
    start, number, col = best
    return number, col + (offset - start)


def _block_indent(lines: list[str], indicator_line: int) -> int:
    """Indentation YAML strips from a block scalar: that of its first non-blank line."""
    for text in lines[indicator_line:]:
        if text.strip():
            return len(text) - len(text.lstrip(" "))
    return 0


def _file_lines(file: str) -> list[str]:
    """The file's lines as they are now (read afresh: only errors get here, and the file may have
    changed since an earlier load during hot reload)."""
    try:
        return FsPath(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
