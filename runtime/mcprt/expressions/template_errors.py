"""The errors of manifest templates, apart from the engine: code that only catches or reports
them (the result shaping, the tool-set build) does not import Jinja2 (`templates` does, on first
use of a template)."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template that does not compile; `line` is 1-based within the template, `col` best effort."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None, kind: str = "template") -> None:
        self.message = message
        self.line = line
        self.col = col
        self.kind = kind
        where = f" (line {line}, column {col})" if line is not None and col is not None else (
            f" (line {line})" if line is not None else ""
        )
        super().__init__(f"invalid {kind} template{where}: {message}")


class TemplateRenderError(ValueError):
    """A template that failed while rendering (missing key, blocked attribute, ...).

    `too_large`: it stopped because it built or wrote more than `MCPRT_TEMPLATE_MAX_OUTPUT`
    characters, which a smaller input may not (the result shaping retries with one)."""

    def __init__(self, message: str, line: int | None = None, kind: str = "template", *,
                 too_large: bool = False) -> None:
        self.message = message
        self.too_large = too_large
        self.line = line
        self.kind = kind
        where = f" at line {line}" if line is not None else ""
        super().__init__(f"the {kind} template failed{where}: {message}")
