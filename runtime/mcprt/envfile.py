"""Reading `.env` files (python-dotenv syntax) with one warning per statement that does not parse.

Two readers see a `.env`: the settings (pydantic-settings reads `.env` in the working directory) and
the manifest loader (`.env` beside the manifest, for `${VAR}`). Often they are the same file, and
python-dotenv's own warning (`python-dotenv could not parse statement starting at line 1`) names no
file and, written before logging is set up, bypasses mcprt's log format. Here:

- python-dotenv's bare warning is dropped (a filter on its `dotenv.main` logger);
- `read_env_file(path)` / `note_problems(path)` find the statements that do not parse and warn once
  per file content and line, as `PATH:LINE: …` on the `mcprt.env` logger;
- warnings found before logging is set up wait until `setup_logging` calls `flush_pending()`.

A statement that does not parse is ignored (as python-dotenv does): a variable it meant to set then
shows up as "not set" at the manifest line that uses it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

log = logging.getLogger("mcprt.env")

_seen: set[tuple[str, str, int]] = set()  # (file, content digest, line) already reported
_pending: list[str] = []  # found before logging was set up
_ready = False


def _drop_bare_dotenv_warning(record: logging.LogRecord) -> bool:
    return "could not parse statement" not in record.getMessage()


logging.getLogger("dotenv.main").addFilter(_drop_bare_dotenv_warning)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _report(str(path), "unreadable", 0, f"{path}: cannot read ({exc.__class__.__name__}: {exc}); ignored")
        return None


def read_env_file(path: Path) -> dict[str, str]:
    """NAME → value from the `.env` at `path` (variables without a value left out); statements that
    do not parse are reported (see the module docstring) and skipped. An unreadable file gives {}."""
    text = _read_text(path)
    if text is None:
        return {}
    _check(path, text)
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def note_problems(path: Path) -> None:
    """Report the statements of the `.env` at `path` that do not parse (nothing if it does not exist)."""
    if path.is_file():
        text = _read_text(path)
        if text is not None:
            _check(path, text)


def flush_pending() -> None:
    """Write the warnings found before logging was set up (called by `setup_logging`); later ones are
    written when found."""
    global _ready
    _ready = True
    while _pending:
        log.warning(_pending.pop(0))


def _check(path: Path, text: str) -> None:
    digest = hashlib.sha256(text.encode()).hexdigest()
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # python-dotenv counts from the blank lines before a statement; name the statement's own line
            # (the statement itself is not shown: it may hold a secret)
            original = binding.original.string
            line = binding.original.line + original[:len(original) - len(original.lstrip())].count("\n")
            _report(str(path.resolve()), digest, line,
                    f"{path.resolve()}:{line}: not a NAME=value statement; ignored "
                    "(python-dotenv syntax: NAME=value, # comments, quotes for spaces)")


def _report(file: str, digest: str, line: int, message: str) -> None:
    key = (file, digest, line)
    if key in _seen:
        return
    _seen.add(key)
    if _ready:
        log.warning(message)
    else:
        _pending.append(message)
