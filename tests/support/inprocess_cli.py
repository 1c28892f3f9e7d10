"""`python -m mcprt ARGS` run inside the test process: the real entry point, as a fresh process would see it.

A `python -m mcprt` subprocess pays 0.45–0.8 s of CPU for its imports before it does anything; the test
worker has imported all of that already. `run_in_process` runs `mcprt.__main__.main` — `cli.fast.run_fast`,
then Typer's app, exactly what `python -m mcprt` runs, no command re-implemented — with what a process
would have:

- `sys.argv` (`…/mcprt/__main__.py ARGS`, so Click names the program `python -m mcprt`), the given
  environment (all of `os.environ`) and working directory, an empty stdin, and stdout/stderr captured as
  text (also `sys.__stdout__`…, the Rich consoles, `print`, the logging handlers the CLI installs, the
  interpreter's default warning filters and its way of showing a warning — on stderr, not into pytest's
  record — and logging's last-resort handler, as in a fresh process);
- the exit code an interpreter gives: `SystemExit(None)` → 0, an int → itself, anything else printed on
  stderr → 1; an uncaught exception → its traceback on stderr and 1;
- afterwards the worker as it was: `os.environ` (also after a `.env` was loaded into it), the working
  directory, streams, `sys.argv`, `sys.path` and the modules a manifest's `python:` source imported,
  loggers (handlers, levels, filters), warning filters, the garbage collector (the CLI's start-up pause
  and its `gc.freeze()`), and the module-level state of every `mcprt` module (`_ProcessState`);
- before it, mcprt's module state and the loggers as the worker had them when this module was imported,
  before any test ran (`_Pristine`): a test that called mcprt itself (set up logging, said the `MCPRT_*`
  warnings once) leaves no mark on a later command.

One thing is kept between commands, as a process keeps it for its one run: the Click command Typer builds
from mcprt's app (`_kept_command`; rebuilding it was half the CPU of a command that `cli.fast` leaves to Typer).

The command runs in its own thread (the caller blocks, as in `subprocess.run`): its asyncio loop, if any,
lives and dies with that thread, a running loop in the calling thread (an async test) is no obstacle, and
`timeout` is honoured — a command still running then fails the call with `subprocess.TimeoutExpired`.
The thread cannot be killed: the worker's state is restored at once, the runner refuses further commands
until that thread has ended, and what the thread does meanwhile lands in the worker — it may still import
modules (its own `tools.py`…), put its folder on `sys.path` again, change mcprt's module state, write to
its captured (discarded) output, and change `os.environ`, the working directory or logging. When it ends,
it takes its folders off `sys.path`, drops the modules it imported from them and puts mcprt's module
state back as it was before the command; anything else it changed after the timeout stays (a test should
not hang a command that sets those up).

Refused (ValueError naming `tests.support.cli.mcprt_process`): an environment that gives another value than
the worker's to a variable read only when a process starts — the interpreter's `PYTHON*` (PYTHONWARNINGS,
PYTHONTRACEMALLOC, PYTHONIOENCODING, PYTHONPATH, PYTHONDEVMODE, …; Python docs, "Command line and
environment") — or when a library module is first imported (Typer's `typer.core`, `typer.rich_utils`:
TERMINAL_WIDTH, FORCE_COLOR, …): in this process the command would silently run with the worker's values.
Writes from threads that existed before the command (a test's in-process server) go to the streams they
had, not into the command's output.

What stays a real process (`tests/support/cli.py::mcprt_process`): `mcprt up`, start-up and import
tests, signals, stdin-driven commands, commands timed or killed, and `tests/cli/test_cli_inprocess_parity.py`,
which runs every command both ways and compares.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import io
import linecache
import locale
import logging
import os
import pkgutil
import subprocess
import sys
import threading
import traceback
import types
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_lock = threading.Lock()  # one in-process command at a time: os.environ, cwd and the streams are process-wide
_hung: list[tuple[threading.Thread, str]] = []  # a command past its timeout, still running: none other meanwhile

# Variables read once, at import, by the libraries the CLI uses (Typer 0.29: `typer.core.HAS_RICH`,
# `typer.rich_utils.MAX_WIDTH`/`FORCE_TERMINAL`); Click and Rich read theirs when used (COLUMNS, NO_COLOR…).
_IMPORT_TIME_VARIABLES = frozenset({"TYPER_USE_RICH", "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL",
                                    "GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"})


def _read_at_start(name: str) -> bool:
    """Whether `name` is read only at the interpreter's start (`PYTHON*`) or at a library's import."""
    return name.startswith("PYTHON") or name in _IMPORT_TIME_VARIABLES


# What this worker read them as: its environment when it imported this module (before any test ran); Typer's
# modules are imported now, with it, not by the first command with that command's environment.
_START_UP = {name: value for name, value in os.environ.items() if _read_at_start(name)}
importlib.import_module("typer.rich_utils")
_typer_main = importlib.import_module("typer.main")
_build_command = _typer_main.get_command  # Typer's own: builds an app's Click command anew on every call


# The Click command Typer builds from an app (`typer.main.get_command`, run by `Typer.__call__` for every
# command that `cli.fast` leaves to Typer), kept per app and per `_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION`
# (the one variable the build reads). A process builds it once from the same declarations; building it
# again for each in-process command cost ~20 ms of CPU of the ~40 ms such a command takes (`inspect.signature`
# and the type hints of every command). Click parses each run into a new `Context` and changes no
# parameter of a command (tests/cli/test_cli_inprocess_parity.py checks the kept one against a fresh build).
_commands: dict[tuple[int, str | None], tuple[Any, Any]] = {}


def _kept_command(typer_instance: Any) -> Any:
    """`typer.main.get_command(typer_instance)`, built once per app (and shell-detection setting)."""
    key = (id(typer_instance), os.environ.get("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"))
    kept = _commands.get(key)
    if kept is None or kept[0] is not typer_instance:
        kept = _commands[key] = (typer_instance, _build_command(typer_instance))
    return kept[1]


def _refuse_start_up_variables(env: Mapping[str, str]) -> None:
    """ValueError when `env` gives a start-up variable another value than the worker read (or drops one)."""
    differing = sorted(name for name in {*env, *_START_UP}
                       if _read_at_start(name) and env.get(name) != _START_UP.get(name))
    if differing:
        raise ValueError(f"{', '.join(differing)}: read only when a process starts or a library is imported, so "
                         "an in-process command would run with the worker's value; run it as a process "
                         "(tests.support.cli.mcprt_process)")

# The warning filters of a fresh CPython 3.11 interpreter without -W or PYTHONWARNINGS ("The default
# warning filter", warnings module documentation), most important last (as `filterwarnings` inserts).
_FRESH_WARNING_FILTERS: tuple[tuple[str, type[Warning], str], ...] = (
    ("ignore", ResourceWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", DeprecationWarning, ""),
    ("default", DeprecationWarning, "__main__"),
)


def _fresh_warnings_module() -> types.ModuleType:
    """A private copy of the `warnings` module as a new interpreter has it: its `_showwarnmsg_impl` writes
    a warning on `sys.stderr`. The worker's own may be another: pytest's `catch_warnings(record=True)`
    replaces it with a list's `append` around every test and collection, and keeps the original out of
    reach."""
    spec = importlib.util.find_spec("warnings")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FRESH_WARNINGS = _fresh_warnings_module()


def run_in_process(args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m mcprt ARGS` in this process with `env` as the whole environment and `cwd` as the
    working directory (None: this one); the `CompletedProcess` `subprocess.run(…, capture_output=True,
    text=True)` would give (args, returncode, stdout, stderr). Raises `subprocess.TimeoutExpired` after
    `timeout` seconds, ValueError for `up` but its `--help` (a server is a process: `tests.support.cli.mcprt_process`)
    and for an `env` giving a start-up variable another value than the worker's (module docstring: which)."""
    argv = [str(arg) for arg in args]
    _refuse_start_up_variables(env)
    if ("up" in argv[:1] or "up" in argv[1:2] and argv[0].startswith("-")) and "--help" not in argv:
        raise ValueError("`mcprt up` serves until stopped, with signal handlers: run it as a process "
                         "(tests.support.cli.mcprt_process, tests.support.served.mcprt_http)")
    with _lock:
        if _hung and _hung[0][0].is_alive():
            raise RuntimeError(f"an earlier in-process command still runs past its timeout: {_hung[0][1]}")
        _hung.clear()
        with _process_like(argv, env, cwd) as (streams, saved):
            outcome = _Outcome()
            thread = threading.Thread(target=_main, args=(outcome, saved), name="mcprt-in-process", daemon=True)
            thread.start()
            thread.join(timeout)
            with outcome.ending:
                outcome.late = thread.is_alive()
            if outcome.late:
                _hung.append((thread, " ".join(argv)))
                raise subprocess.TimeoutExpired(["mcprt", *argv], timeout, streams.stdout(), streams.stderr())
        return subprocess.CompletedProcess(["mcprt", *argv], outcome.code, streams.stdout(), streams.stderr())


@dataclass
class _Outcome:
    code: int = 1
    late: bool = False  # past its timeout: the caller has gone on, the worker restored without waiting for it
    ending: threading.Lock = field(default_factory=threading.Lock)  # `late` is decided before or after the end


def _main(outcome: _Outcome, saved: _Saved) -> None:
    """The interpreter's part of `python -m mcprt`: run `__main__.main`, turn how it ended into an exit code;
    past its timeout, undo at its end what it did to the worker's modules since the restore."""
    try:
        _run_main(outcome)
    finally:
        with outcome.ending:
            late = outcome.late
        if late:
            with _lock:  # the caller's restore (under `_lock`) is over: this one comes after it
                saved.forget_late_changes()


def _run_main(outcome: _Outcome) -> None:
    try:
        importlib.import_module("mcprt.__main__").main()
        outcome.code = 0
    except SystemExit as stop:
        outcome.code = _exit_code(stop.code)
    except BaseException:  # what the interpreter prints for an uncaught exception, then exit 1
        traceback.print_exc(file=sys.stderr)
        outcome.code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def _exit_code(code: object) -> int:
    """The exit status of `SystemExit(code)` (Python docs, `SystemExit`): None → 0, an int → itself,
    anything else printed on stderr → 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _import_all_of_mcprt() -> None:
    """Import every `mcprt` module, so each one's module-level state exists before the first command and
    `_Pristine`/`_Saved` can restore all of it (a module first imported by a command would keep what the
    command left in it)."""
    import mcprt

    for module in pkgutil.walk_packages(mcprt.__path__, "mcprt."):
        importlib.import_module(module.name)


class _Routed:
    """A stream seen through `sys.stdout` (…): writes of the command (its thread and the threads it
    starts) are captured; threads that existed before it keep writing to what they had. Threads are told
    apart by their `Thread` objects, not by `threading.get_ident()`: an ident is reused as soon as its
    thread ends, so a thread of the command could take the ident of one that ended meanwhile."""

    def __init__(self, captured: io.TextIOWrapper, original: Any, foreign: frozenset[threading.Thread]) -> None:
        self._captured = captured
        self._original = original
        self._foreign = foreign

    def _target(self) -> Any:
        return self._original if threading.current_thread() in self._foreign else self._captured

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())


@dataclass
class _Streams:
    """The command's stdin (empty), stdout and stderr, encoded as a child process's pipes would be."""

    encoding: str = field(default_factory=lambda: locale.getpreferredencoding(False))
    out: io.BytesIO = field(default_factory=io.BytesIO)
    err: io.BytesIO = field(default_factory=io.BytesIO)

    def __post_init__(self) -> None:
        # A child's stdout to a pipe: block-buffered, strict; its stderr: backslashreplace (Python docs, sys.stderr).
        self.stdout_text = io.TextIOWrapper(self.out, encoding=self.encoding, errors="strict")
        self.stderr_text = io.TextIOWrapper(self.err, encoding=self.encoding, errors="backslashreplace",
                                            line_buffering=True)
        self.stdin_text = io.TextIOWrapper(io.BytesIO(), encoding=self.encoding)

    def _text(self, stream: io.TextIOWrapper, data: io.BytesIO) -> str:
        try:
            stream.flush()
        except ValueError:  # closed by the command: what it wrote is in `data` already
            pass
        # As `subprocess.run(text=True)` decodes a pipe: universal newlines.
        return data.getvalue().decode(self.encoding).replace("\r\n", "\n").replace("\r", "\n")

    def stdout(self) -> str:
        return self._text(self.stdout_text, self.out)

    def stderr(self) -> str:
        return self._text(self.stderr_text, self.err)


@contextmanager
def _process_like(argv: list[str], env: Mapping[str, str],
                  cwd: Path | str | None) -> Iterator[tuple[_Streams, _Saved]]:
    """The process-wide state a fresh `python -m mcprt` would have, for the length of the block; all of it as
    it was afterwards (the `_Saved` that put it back)."""
    main_module = importlib.import_module("mcprt.__main__")
    streams = _Streams()
    foreign = frozenset(threading.enumerate())
    saved = _Saved.take()
    try:
        _PRISTINE.apply()  # not the worker's: a test that called mcprt directly may have set up logging, …
        os.environ.clear()
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        sys.argv = [str(main_module.__file__), *argv]
        sys.modules["__main__"] = main_module  # Click names the program from it: `python -m mcprt`
        sys.stdin = sys.__stdin__ = streams.stdin_text
        sys.stdout = sys.__stdout__ = _Routed(streams.stdout_text, saved.streams[1], foreign)  # type: ignore[assignment]
        sys.stderr = sys.__stderr__ = _Routed(streams.stderr_text, saved.streams[2], foreign)  # type: ignore[assignment]
        _fresh_logging()
        warnings.resetwarnings()
        warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
        warnings._showwarnmsg_impl = _FRESH_WARNINGS._showwarnmsg_impl  # type: ignore[attr-defined]
        for action, category, module in _FRESH_WARNING_FILTERS:
            warnings.filterwarnings(action, category=category, module=module)
        importlib.invalidate_caches()  # a module file written since the last import is found, as by a new process
        linecache.checkcache()
        _typer_main.get_command = _kept_command  # type: ignore[attr-defined]
        # A command freezes nothing of the worker's: `gc.freeze()` (end_gc_pause, the pipeline's first compile) is
        # a fresh process's start-up saving, and in a worker whose objects are already frozen (a test that
        # compiled in-process, the zygote) the frozen set cannot be put back as it was (failed by test order:
        # test_a_command_leaves_the_worker_as_it_was after tests/http)
        gc.freeze = _no_freeze  # type: ignore[assignment]
        yield streams, saved
    finally:
        gc.freeze = _GC_FREEZE  # type: ignore[assignment]
        _typer_main.get_command = _build_command  # type: ignore[attr-defined]
        saved.restore()


_GC_FREEZE = gc.freeze


def _no_freeze() -> None:
    """`gc.freeze` while a command runs in the worker (above): nothing is moved to the permanent generation."""


def _fresh_logging() -> None:
    """Logging as a new interpreter has it: no handler on the root logger (a record goes to the last-resort
    handler, on stderr), level WARNING, nothing disabled."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    # Warnings not captured: `mcprt`'s `logging.captureWarnings(True)` (observability/log.py) only takes over
    # `warnings.showwarning` when logging holds none it replaced — after an earlier in-process command it did, so
    # a module's warning was printed raw here while a new process logs it (`py.warnings`).
    logging._warnings_showwarning = None  # type: ignore[attr-defined]


@dataclass
class _LoggerState:
    handlers: list[logging.Handler]
    filters: list[Any]
    level: int
    propagate: bool
    disabled: bool

    @classmethod
    def of(cls, logger: logging.Logger) -> _LoggerState:
        return cls(list(logger.handlers), list(logger.filters), logger.level, logger.propagate, logger.disabled)

    def restore(self, logger: logging.Logger) -> None:
        logger.handlers[:] = self.handlers
        logger.filters[:] = self.filters
        logger.setLevel(self.level)
        logger.propagate = self.propagate
        logger.disabled = self.disabled


def _loggers() -> dict[str, logging.Logger]:
    found = {name: logger for name, logger in logging.Logger.manager.loggerDict.items()
             if isinstance(logger, logging.Logger)}
    found[""] = logging.getLogger()
    return found


def _copied(value: Any) -> Any:
    """A copy of a plain container's items (its identity is kept by restoring in place), else the value."""
    kind = type(value)
    if kind is dict:
        return dict(value)
    if kind is list:
        return list(value)
    if kind is set:
        return set(value)
    return value


def _put_back(current: Any, saved: Any, copy: Any) -> Any:
    """`saved` (a container refilled with `copy`'s items when it is still the same object)."""
    if current is saved and copy is not saved and current != copy:
        current.clear()
        if isinstance(current, list):
            current.extend(copy)
        else:
            current.update(copy)
    return saved


class _ProcessState:
    """The module-level state of every `mcprt` module, and of the `mcprt` objects those modules hold
    (`SECRETS`, the reaper, …): names rebound and plain containers (dict, list, set) changed in place
    by a command are put back. Caches of pure functions are left alone; they give a fresh process the
    same answers (`functools.cache`d functions of their arguments: regexes, templates, meta-schemas)."""

    def __init__(self) -> None:
        # Taken before every in-process command, over ~7,000 names: one pass, a set lookup per name (three
        # comprehensions and two calls per name took ~13 ms of CPU per command).
        self.modules: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        self.objects: list[tuple[object, dict[str, Any], dict[str, Any]]] = []
        for name, module in list(sys.modules.items()):
            if not (name == "mcprt" or name.startswith("mcprt.")) or not isinstance(module, types.ModuleType):
                continue
            namespace = vars(module)
            saved: dict[str, Any] = {}
            copies: dict[str, Any] = {}  # of the plain containers only: the rest is put back as the object it was
            for key, value in namespace.items():
                if key[:2] == "__":  # not `__builtins__`
                    continue
                saved[key] = value
                kind = type(value)
                if kind in _CONTAINERS:
                    copies[key] = kind(value)
                elif kind not in _NEVER_MCPRT_OBJECTS and _is_mcprt_object(value):
                    attributes = vars(value)
                    self.objects.append((value, dict(attributes), {k: _copied(v) for k, v in attributes.items()
                                                                   if type(v) in _CONTAINERS}))
            self.modules.append((namespace, saved, copies))

    def restore(self) -> None:
        for namespace, saved, copies in self.modules:
            for key, value in saved.items():
                namespace[key] = _put_back(namespace.get(key), value, copies.get(key, value))
        for target, saved, copies in self.objects:
            attributes = vars(target)
            for key, value in saved.items():
                attributes[key] = _put_back(attributes.get(key), value, copies.get(key, value))
            for key in [k for k in attributes if k not in saved]:
                del attributes[key]


_CONTAINERS = frozenset({dict, list, set})  # what `_copied` copies
# What a module's namespace mostly holds, none of it an mcprt object (`_is_mcprt_object` is False for each).
_NEVER_MCPRT_OBJECTS = frozenset({type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, str, int,
                                  float, bool, type(None), tuple, frozenset})


def _is_mcprt_object(value: object) -> bool:
    kind = type(value)
    return (kind.__module__.startswith("mcprt.") and hasattr(value, "__dict__")
            and not isinstance(value, (type, types.ModuleType, types.FunctionType)))


class _Pristine:
    """mcprt's module state and every logger as the worker had them before any test ran (this module is
    imported while tests are collected): what a fresh process has. The state saved before a command is the
    worker's, which a test calling mcprt directly changes — `cli.common.compile_once` sets up logging and
    runs `envcheck.warn_once` (`_done`), after which a command in that worker said no `MCPRT_*` warning."""

    def __init__(self) -> None:
        _import_all_of_mcprt()
        self.mcprt_state = _ProcessState()
        self.loggers = {name: _LoggerState.of(logger) for name, logger in _loggers().items()}

    def apply(self) -> None:
        """Module state and the loggers that existed then, as they were then (the worker's come back with
        `_Saved.restore`)."""
        self.mcprt_state.restore()
        for name, logger in _loggers().items():
            state = self.loggers.get(name)
            if state is not None:
                state.restore(logger)


@dataclass
class _Saved:
    """Everything `_process_like` changes or a command may change, as it was."""

    environ: dict[str, str]
    cwd: str
    argv: list[str]
    main: types.ModuleType
    streams: tuple[Any, Any, Any]
    dunder_streams: tuple[Any, Any, Any]
    path: list[str]
    modules: dict[str, Any]
    loggers: dict[str, _LoggerState]
    logging_disabled: int
    warning_filters: list[Any]
    showwarning: Any
    showwarnmsg_impl: Any
    captured_showwarning: Any  # logging's: what `logging.captureWarnings(True)` replaced, None when it did not
    gc_enabled: bool
    gc_frozen: int
    loop_policy: Any
    mcprt_state: _ProcessState
    added_paths: list[str] = field(default_factory=list)  # what the command put on sys.path, known at restore

    @classmethod
    def take(cls) -> _Saved:
        return cls(
            environ=dict(os.environ), cwd=os.getcwd(), argv=list(sys.argv), main=sys.modules["__main__"],
            streams=(sys.stdin, sys.stdout, sys.stderr),
            dunder_streams=(sys.__stdin__, sys.__stdout__, sys.__stderr__),
            path=list(sys.path), modules=dict(sys.modules),
            loggers={name: _LoggerState.of(logger) for name, logger in _loggers().items()},
            logging_disabled=logging.root.manager.disable,
            warning_filters=list(warnings.filters), showwarning=warnings.showwarning,
            showwarnmsg_impl=warnings._showwarnmsg_impl,  # type: ignore[attr-defined]
            captured_showwarning=logging._warnings_showwarning,  # type: ignore[attr-defined]
            gc_enabled=gc.isenabled(), gc_frozen=gc.get_freeze_count(),
            loop_policy=asyncio.events._event_loop_policy,  # type: ignore[attr-defined]
            mcprt_state=_ProcessState(),
        )

    def restore(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)
        sys.argv = self.argv
        sys.stdin, sys.stdout, sys.stderr = self.streams
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = self.dunder_streams  # type: ignore[misc]
        self.added_paths = [entry for entry in sys.path if entry not in self.path]
        sys.path[:] = self.path
        self._restore_modules(self.added_paths)
        sys.modules["__main__"] = self.main
        self._restore_logging()
        warnings.filters[:] = self.warning_filters
        warnings._filters_mutated()  # type: ignore[attr-defined]  # each module's "already shown" registry is stale
        warnings.showwarning = self.showwarning
        warnings._showwarnmsg_impl = self.showwarnmsg_impl  # type: ignore[attr-defined]
        logging._warnings_showwarning = self.captured_showwarning  # type: ignore[attr-defined]
        if gc.get_freeze_count() > self.gc_frozen == 0:  # the CLI's `end_gc_pause` froze the worker's objects
            gc.unfreeze()
        (gc.enable if self.gc_enabled else gc.disable)()
        asyncio.events._event_loop_policy = self.loop_policy  # type: ignore[attr-defined]
        self.mcprt_state.restore()

    def forget_late_changes(self) -> None:
        """After a timed-out command's end: take its folders off sys.path again, drop the modules it imported
        from them since the restore and put mcprt's module state back (the module docstring: what stays)."""
        sys.path[:] = [entry for entry in sys.path if entry not in self.added_paths]
        self._restore_modules(self.added_paths)
        self.mcprt_state.restore()
        # and the loggers: a `python:` source imported late lowers the root logger's level for its logging
        # (`observability.log.adopt_source_logger`), after the caller's restore had run
        self._restore_logging()

    def _restore_modules(self, added_paths: list[str]) -> None:
        """Drop the modules imported from folders the command put on sys.path (a `python:` source's own
        modules: a later command's folder may hold another `tools.py`), and put back any it replaced."""
        folders = [Path(entry).resolve() for entry in added_paths if entry]
        for name, module in list(sys.modules.items()):
            if name in self.modules:
                continue
            file = getattr(module, "__file__", None)
            if file and any(Path(file).resolve().is_relative_to(folder) for folder in folders):
                del sys.modules[name]
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module

    def _restore_logging(self) -> None:
        for name, logger in _loggers().items():
            state = self.loggers.get(name)
            if state is not None:
                state.restore(logger)
                continue
            # A logger made during the command: keep what its library set up, drop handlers writing to the command's output.
            for handler in list(logger.handlers):
                if isinstance(getattr(handler, "stream", None), (_Routed, io.TextIOWrapper)):
                    logger.removeHandler(handler)
        logging.disable(self.logging_disabled)


_PRISTINE = _Pristine()
