"""One place that turns errors into exit codes and messages, so no traceback reaches a user.

Exit codes: 0 ok, 1 a failed check (tests/diff/budgets) or an aborted question (`init`), 2 bad input (manifest, spec, arguments).
`--debug` (or MCPRT_DEBUG=1) shows the traceback of unexpected errors.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from ..errors import Diagnostic, ManifestError, ManifestNotFound, McprtError
from ..wording import noun

EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT = 0, 1, 2
_debug = False


def set_debug(value: bool) -> None:
    global _debug
    _debug = value or os.environ.get("MCPRT_DEBUG", "").lower() in ("1", "true", "yes")


def debug_enabled() -> bool:
    return _debug


def print_diagnostics(diagnostics: list[Diagnostic], *, serving: bool = False) -> None:
    """file:line:col: message lines on stderr, errors and warnings sorted together. `serving` (`mcprt up`):
    written as the server's own lines (`observability.log.announce`), so under MCPRT_LOG_FORMAT=json one
    JSON log line each, the message as `msg`, the severity as `level` and the place as `file`, `line`, `col`."""
    if not serving:
        for diagnostic in sorted(diagnostics):
            print(str(diagnostic), file=sys.stderr)
        return
    from ..observability.log import announce

    for d in sorted(diagnostics):
        level = "info" if d.severity == "note" else d.severity  # a log level; the text keeps "note:"
        announce(d.message, level=level, text=str(d), file=d.file, line=d.line, col=d.col)


class NotYet(McprtError):
    """A command or feature that is planned but not built yet."""


class _Report:
    """How `guarded` writes what ended a command: plain lines for a person, or (`serving`, i.e. `mcprt up`)
    as the server's own lines — under MCPRT_LOG_FORMAT=json one JSON log line each; the logging module
    (`observability.log.log_format`) says which, also when a refused setting stopped it being set up."""

    def __init__(self, serving: bool) -> None:
        self.serving = serving

    @property
    def json(self) -> bool:
        if not self.serving:
            return False
        from ..observability.log import log_format

        return log_format() == "json"

    def line(self, text: str, message: str, **fields: Any) -> None:
        """`text` as a plain line, or (serving) an error-level server line with `message` and `fields`."""
        if self.serving:
            from ..observability.log import announce

            announce(message, level="error", text=text, **fields)
        else:
            print(text, file=sys.stderr)

    def diagnostics(self, exc: ManifestError) -> None:
        print_diagnostics(exc.diagnostics, serving=self.serving)
        errors = sum(d.stands_for for d in exc.errors)  # a "… and N more" line is N of them
        summary = f"{errors} {noun(errors, 'error')}"
        self.line(summary, summary, errors=errors)


@contextmanager
def guarded(*, serving: bool = False) -> Iterator[None]:
    """Run a command body; map known errors to messages and exit codes (raised as `SystemExit`).

    Typer-free, so the commands `cli.fast` runs without Typer share it; under Typer a `SystemExit`
    ends the command as `typer.Exit` would, and Typer's own `Exit` passes through.

    `serving` (`mcprt up`): under MCPRT_LOG_FORMAT=json (the Docker image's setting) each line is a
    JSON log line (`level` error; a diagnostic's `file`, `line`, `col` as fields) like every other line
    the server writes; the exit codes stay. Commands a person runs keep plain text.

    A reader that stops early (`mcprt catalog show github | head`) is no error of ours: the rest of
    the output is dropped quietly and the exit code is 1, as `rich` does for the tables it prints."""
    report = _Report(serving)
    try:
        yield
        _flush_stdout()
    except BrokenPipeError:
        _reader_left()
    except SystemExit:  # a command's own exit code (`cli.fast`)
        _flush_stdout()
        raise
    except ManifestNotFound as exc:  # no file to point into: say what is missing and how to create it
        report.line(f"error: {exc}", str(exc), file=exc.diagnostics[0].file if exc.diagnostics else None)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except ManifestError as exc:
        report.diagnostics(exc)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except NotYet as exc:
        report.line(f"not yet: {exc}", f"not yet: {exc}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except McprtError as exc:  # deliberate and self-explaining: no traceback, even with --debug
        report.line(f"error: {exc}", str(exc))
        raise SystemExit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        typer = sys.modules.get("typer")  # its Exit (a RuntimeError) carries a command's own exit code
        if typer is not None and isinstance(exc, typer.Exit):
            _flush_stdout()
            raise
        if _is_validation_error(exc):
            _settings_error(exc, report)
        _internal_error(exc, report)  # a bug: say so plainly


def _is_validation_error(exc: Exception) -> bool:
    # Looked up, not imported: a pydantic error can only come from a process that has imported
    # pydantic, and the client-only commands (status, approvals, pause) never do (~0.1 s of CPU).
    pydantic_core = sys.modules.get("pydantic_core")
    return pydantic_core is not None and isinstance(exc, pydantic_core.ValidationError)


def _settings_error(exc: Any, report: _Report) -> NoReturn:
    """A pydantic `ValidationError` of the settings: one `invalid setting MCPRT_…` line each (exit 2);
    any other model's is a bug."""
    if exc.title != "Settings":  # only settings reach here as pydantic errors; anything else is a bug
        _internal_error(exc, report)
    for error in exc.errors(include_url=False):
        name = "MCPRT_" + "_".join(str(part) for part in error["loc"]).upper()
        message = f"invalid setting {name}: {error['msg']}"
        report.line(f"error: {message}", message, setting=name)
    raise SystemExit(EXIT_BAD_INPUT) from None


def _flush_stdout() -> None:
    """Write out what is still buffered for a pipe now, so a reader that left shows here and not
    as a BrokenPipeError at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_left()
    except (OSError, ValueError):  # a closed or unusual stdout: nothing more can be written to it
        pass


def _reader_left() -> NoReturn:
    """Point stdout at /dev/null, so the interpreter's own flush at exit fails no more (Python's
    documented handling of SIGPIPE, `signal` module notes), and end quietly with 1."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(EXIT_FAILED_CHECK) from None


def _internal_error(exc: Exception, report: _Report) -> NoReturn:
    """A bug: one plain line (exit 1); the traceback only with --debug (under JSON, as its `traceback` field)."""
    hint = "" if _debug else " (run with --debug for the traceback)"
    message = f"internal error: {type(exc).__name__}: {exc}"
    if report.json:
        fields = {"traceback": "".join(traceback.format_exception(exc))} if _debug else {}
        report.line("", message + hint, **fields)
    else:
        if _debug:
            traceback.print_exception(exc)
        print(message + hint, file=sys.stderr)
    raise SystemExit(1) from None
