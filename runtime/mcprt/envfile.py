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

Values are expanded by the manifest's own rule (`expand`), not python-dotenv's, whose interpolation turns
an unset `${VAR}` into "" — an empty credential sent upstream (a trial's `KEY=${VAULT_KEY}` with
`VAULT_KEY` unset reached the upstream as `X-Api-Key: ""`), and expands inside single quotes too:

- unquoted and double-quoted values: `${VAR}` and `${VAR:-default}` (the default when VAR is unset or
  empty), from the process environment, else a variable an earlier line of the same file set; `$${`
  writes a literal `${`; `$VAR` without braces is literal;
- single-quoted values are literal, as in a shell and docker compose (`'${X}'` is the five characters);
- a value that references an unset variable (without a default) leaves its own variable *unset*: it is
  not in the result, and its `Unresolved` (`EnvValues.unresolved`) says where (`PATH:LINE:COL`) and
  which variable, so the manifest line that uses it is the error (`manifest.envvars.interpolate`), as
  for any unset variable — never an empty string sent upstream;
- `${…}` naming no variable (`${1X}`, `${}`) is kept as written, with a warning at its `PATH:LINE:COL`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv.parser import Binding, parse_stream

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


# `${VAR}`, `${VAR:-default}` and the `$${` escape: one syntax for the manifest (`manifest.envvars`) and `.env`
REFERENCE = re.compile(r"\$(\$)?\{([^}]*)\}")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# A statement up to its value: python-dotenv's grammar (`dotenv.parser`: `export`, a quoted or bare key, `=`)
_HEAD = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*")
_DOUBLE_QUOTED = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why a `.env` statement left its variable unset: its value references `missing`, which is not set
    (at `file:line:col`, 1-based, the column in characters)."""

    file: Path
    line: int
    col: int
    missing: str

    def why(self) -> str:
        """The clause an error about the unset variable adds (names and places only, never a value)."""
        return (f"{self.file}:{self.line}:{self.col} sets it from ${{{self.missing}}}, which is not set "
                f"(set {self.missing}, or write ${{{self.missing}:-default}} there)")


# `${VAR}` read from the file `VAR_FILE` names: the official Docker images' convention (`manifest.envvars`)
FILE_SUFFIX = "_FILE"


class EnvValues(dict[str, str]):
    """NAME → value of a `.env`, with `unresolved`: NAME → `Unresolved` for each variable a statement meant
    to set but left unset (its value references an unset variable), and `folders`: NAME → the folder a relative
    path in its value is relative to (the folder of the `.env` that set it; the root manifest's for the process
    environment's), where the caller knows it."""

    def __init__(self, values: Mapping[str, str] | None = None,
                 unresolved: Mapping[str, Unresolved] | None = None,
                 folders: Mapping[str, Path] | None = None) -> None:
        super().__init__(values or {})
        self.unresolved: dict[str, Unresolved] = dict(unresolved or {})
        self.folders: dict[str, Path] = dict(folders or {})


def read_env_file(path: Path, environ: Mapping[str, str] | None = None) -> EnvValues:
    """NAME → value from the `.env` at `path`, expanded (see the module docstring) against `environ` (the
    process environment when None); variables without a value and those left unset by an unset reference
    are left out (the latter in `EnvValues.unresolved`). Statements that do not parse are reported (see the
    module docstring) and skipped. An unreadable file gives an empty result."""
    text = _read_text(path)
    if text is None:
        return EnvValues()
    _check(path, text)
    return _expanded(path, text, os.environ if environ is None else environ)


def _expanded(path: Path, text: str, environ: Mapping[str, str]) -> EnvValues:
    result = EnvValues()
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None or binding.value is None:
            continue
        value, missing = _expand_value(path, binding, environ, result)
        if missing is None:
            result[binding.key] = value
            result.unresolved.pop(binding.key, None)
        else:  # a later statement's fault undoes an earlier one's value: the file's last word is what counts
            result.pop(binding.key, None)
            result.unresolved[binding.key] = missing
    return result


def _expand_value(path: Path, binding: Binding, environ: Mapping[str, str],
                  earlier: EnvValues) -> tuple[str, Unresolved | None]:
    """The statement's value expanded, or the first unset reference that leaves its variable unset."""
    value = binding.value or ""
    raw = binding.original.string
    head = _HEAD.match(raw)
    start = head.end() if head else 0
    if raw[start:start + 1] == "'" or "${" not in value:
        return value, None  # single quotes: literal
    if raw[start:start + 1] == '"':
        quoted = _DOUBLE_QUOTED.match(raw, start)
        span = quoted.span(1) if quoted else (start, start)
    else:
        span = (start, start + len(value))
    # Escapes (`\"`, `\n`) neither make nor break a `${…}`: the value's references are the raw text's, in order
    written = list(REFERENCE.finditer(raw, *span))
    found = list(REFERENCE.finditer(value))
    offsets = [m.start() for m in written] if len(written) == len(found) else [start] * len(found)
    problem: Unresolved | None = None

    def where(offset: int) -> tuple[int, int]:
        line_start = raw.rfind("\n", 0, offset) + 1
        return binding.original.line + raw.count("\n", 0, offset), offset - line_start + 1

    def replace(match: re.Match[str], offset: int) -> str:
        nonlocal problem
        if match.group(1):  # `$${…}`
            return "${" + match.group(2) + "}"
        name, has_default, default = match.group(2).partition(":-")
        if not VARIABLE_NAME.match(name):
            line, col = where(offset)
            _report(str(path.resolve()), hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest(), line,
                    f"{path.resolve()}:{line}:{col}: {match.group(0)} names no variable (a name is letters, "
                    "digits and _, not starting with a digit); kept as written (write $${ for a literal ${)")
            return match.group(0)
        current = environ.get(name, earlier.get(name))
        if current is not None and (current != "" or not has_default):
            return current
        if has_default:
            return default
        if problem is None:  # through a variable this file left unset: its first cause
            problem = earlier.unresolved.get(name) or Unresolved(path.resolve(), *where(offset), name)
        return ""

    pieces, last = [], 0
    for match, offset in zip(found, offsets, strict=True):
        pieces += [value[last:match.start()], replace(match, offset)]
        last = match.end()
    pieces.append(value[last:])
    return "".join(pieces), problem


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
