"""One place that turns errors into exit codes and messages, so no traceback reaches a user.

Exit codes: 0 ok, 1 a failed check (tests/diff/budgets), 2 bad input (manifest, spec, arguments).
`--debug` (or MCPRT_DEBUG=1) shows the traceback of unexpected errors.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from pydantic import ValidationError

from ..errors import Diagnostic, ManifestError, ManifestNotFound, McprtError

EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT = 0, 1, 2
_debug = False


def set_debug(value: bool) -> None:
    global _debug
    _debug = value or os.environ.get("MCPRT_DEBUG", "").lower() in ("1", "true", "yes")


def debug_enabled() -> bool:
    return _debug


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """file:line:col: message lines on stderr, errors and warnings sorted together."""
    for diagnostic in sorted(diagnostics):
        print(str(diagnostic), file=sys.stderr)


class NotYet(McprtError):
    """A command or feature that is planned but not built yet."""


@contextmanager
def guarded() -> Iterator[None]:
    """Run a command body; map known errors to messages and exit codes (raised as `SystemExit`).

    Typer-free, so the commands `cli.fast` runs without Typer share it; under Typer a `SystemExit`
    ends the command as `typer.Exit` would, and Typer's own `Exit` passes through.

    A reader that stops early (`mcprt catalog show github | head`) is no error of ours: the rest of
    the output is dropped quietly and the exit code is 1, as `rich` does for the tables it prints."""
    try:
        yield
        _flush_stdout()
    except BrokenPipeError:
        _reader_left()
    except SystemExit:  # a command's own exit code (`cli.fast`)
        _flush_stdout()
        raise
    except ManifestNotFound as exc:  # no file to point into: say what is missing and how to create it
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except ManifestError as exc:
        print_diagnostics(exc.diagnostics)
        errors = len(exc.errors)
        print(f"{errors} error{'s' if errors != 1 else ''}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except NotYet as exc:
        print(f"not yet: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except ValidationError as exc:
        if exc.title != "Settings":  # only settings reach here as pydantic errors; anything else is a bug
            _internal_error(exc)
        for error in exc.errors(include_url=False):
            name = "MCPRT_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"error: invalid setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except McprtError as exc:  # deliberate and self-explaining: no traceback, even with --debug
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        typer = sys.modules.get("typer")  # its Exit (a RuntimeError) carries a command's own exit code
        if typer is not None and isinstance(exc, typer.Exit):
            _flush_stdout()
            raise
        _internal_error(exc)  # a bug: say so plainly


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


def _internal_error(exc: Exception) -> NoReturn:
    """A bug: one plain line (exit 1); the traceback only with --debug."""
    if _debug:
        traceback.print_exception(exc)
    hint = "" if _debug else " (run with --debug for the traceback)"
    print(f"internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
    raise SystemExit(1) from None
