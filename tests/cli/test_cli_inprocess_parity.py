"""The in-process runner (`tests.support.inprocess_cli`) gives what a real `python -m mcprt` process gives.

Most tests run the CLI in their own process (`tests.support.cli.mcprt_cli`): a subprocess pays 0.45–0.8 s
of CPU for imports alone. This guard runs every command the runner may run — each with a good input and
a bad one — both ways and compares exit code, stdout and stderr exactly; only what differs between any two
runs is normalised (the fresh folder each run gets, ports, times). It also checks what a process gives
for free: a traceback and exit 1 for an uncaught exception, `SystemExit`'s codes, a worker left as it
was (environment, working directory, logging, modules, garbage collector, mcprt's module state), a
manifest edited within the same second seen by the next command, a timeout honoured. The
real-process runs here are also each command's real-process test."""

from __future__ import annotations

import _thread
import gc
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcprt.scrubbing import SECRETS
from tests.support.cli import cli_env, mcprt_cli, mcprt_process
from tests.support.inprocess_cli import _Saved, run_in_process
from tests.support.served import UpProcess, mcprt_http

TOOLS = '''\
"""The parity workspace's tools."""

__all__ = ["echo", "add"]


def echo(text: str) -> str:
    """Say it back."""
    return text


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''
MANIFEST = """\
version: 1
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}"}
sources:
  ops:
    python: parity_tools
policy:
  default: allow
  approvals: {approvers: [alice]}
"""
OLD_MANIFEST = MANIFEST.replace("python: parity_tools\n", "python: parity_tools:echo\n")
BROKEN = "version: 1\nsources:\n  ops:\n    python: parity_tools\n  bad: [unclosed\n"
UNSET_SECRET = "version: 1\nsources:\n  api:\n    openapi: notes.json\n    base_url: http://127.0.0.1:9\n" \
               "    auth: {bearer: \"${PARITY_UNSET_SECRET}\"}\n"
FROM_DOTENV = "version: 1\nsources:\n  api:\n    openapi: notes.json\n    base_url: \"${NOTES_BASE}\"\n"
SPEC = {
    "openapi": "3.0.3", "info": {"title": "Notes", "version": "1"},
    "paths": {"/notes/{id}": {"get": {
        "operationId": "getNote", "summary": "One note.",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The note.", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"text": {"type": "string"}}}}}}}}}},
}
ALICE = "tok-alice-parity-0123456789"

# (name, arguments): every command the in-process runner may run, each with a good input and a bad one.
COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("no-arguments", ()),
    ("help", ("--help",)),
    ("version", ("--version",)),
    ("unknown-command", ("frobnicate",)),
    ("validate", ("validate", "mcp.yaml")),
    ("validate-broken", ("validate", "broken.yaml")),
    ("validate-unset-secret", ("validate", "secret.yaml")),
    ("validate-offline-unset-secret", ("validate", "secret.yaml", "--offline")),
    ("validate-dotenv", ("validate", "dotenv.yaml")),
    ("validate-dotenv-problem", ("validate",)),  # in envdir/ (CWD below)
    ("validate-missing", ("validate", "missing.yaml")),
    ("validate-bad-setting", ("validate", "mcp.yaml")),  # with MCPRT_LOG_LEVEL=loud (env below)
    ("validate-help", ("validate", "--help")),
    ("validate-help-columns", ("validate", "--help")),  # COLUMNS=60: Rich reads it when a console is made
    ("tools", ("tools", "mcp.yaml")),
    ("tools-json", ("tools", "mcp.yaml", "--json")),
    ("tools-usage-error", ("tools", "mcp.yaml", "--bogus")),
    ("tools-broken", ("tools", "broken.yaml")),
    ("show", ("show", "mcp.yaml", "echo")),
    ("show-json", ("show", "mcp.yaml", "add", "--json")),
    ("show-unknown-tool", ("show", "mcp.yaml", "ehco")),
    ("init", ("init", "--openapi", "notes.json", "--out", "made/mcp.yaml", "--no-input")),
    ("init-missing-spec", ("init", "--openapi", "nowhere.json", "--out", "made/mcp.yaml", "--no-input")),
    ("init-usage-error", ("init",)),
    ("diff", ("diff", "old.yaml", "mcp.yaml")),
    ("diff-json-fail-on", ("diff", "old.yaml", "mcp.yaml", "--format", "json", "--fail-on", "any")),
    ("diff-bad-format", ("diff", "old.yaml", "mcp.yaml", "--format", "yaml")),
    ("pin", ("pin", "mcp.yaml")),
    ("pin-broken", ("pin", "broken.yaml")),
    ("record", ("record", "mcp.yaml", "add", "--args", '{"a": 2, "b": 3}')),
    ("record-bad-json", ("record", "mcp.yaml", "add", "--args", "{a: 2")),
    ("test", ("test", "mcp.yaml")),
    ("test-broken", ("test", "broken.yaml")),
    ("call", ("call", "mcp.yaml", "echo", "--args", '{"text": "hi"}')),
    ("call-wrong-argument", ("call", "mcp.yaml", "add", "--args", '{"a": "two"}')),
    ("catalog-list", ("catalog", "list")),
    ("catalog-show", ("catalog", "show", "quickstart")),
    ("catalog-show-unknown", ("catalog", "show", "no-such-entry")),
    ("schema", ("schema",)),
]
ENV = {"validate-bad-setting": {"MCPRT_LOG_LEVEL": "loud"}, "validate-help-columns": {"COLUMNS": "60"},
       "call-wrong-argument": {"MCPRT_LOG_LEVEL": "debug"}}
CWD = {"validate-dotenv-problem": "envdir"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace every run copies: tools, manifests good and bad, a spec, a `.env`, one recorded case."""
    folder = tmp_path_factory.mktemp("parity") / "template"
    folder.mkdir()
    (folder / "parity_tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(MANIFEST)
    (folder / "old.yaml").write_text(OLD_MANIFEST)
    (folder / "broken.yaml").write_text(BROKEN)
    (folder / "secret.yaml").write_text(UNSET_SECRET)
    (folder / "dotenv.yaml").write_text(FROM_DOTENV)
    (folder / "notes.json").write_text(json.dumps(SPEC))
    (folder / ".env").write_text("NOTES_BASE=http://127.0.0.1:9\n")
    (folder / "envdir").mkdir()  # a `.env` with a statement that does not parse: a logged warning
    (folder / "envdir" / ".env").write_text("NOTES_BASE=http://127.0.0.1:9\nthis line is no statement\n")
    (folder / "envdir" / "mcp.yaml").write_text(FROM_DOTENV)
    (folder / "envdir" / "notes.json").write_text(json.dumps(SPEC))
    recorded = mcprt_process("record", "mcp.yaml", "echo", "--args", '{"text": "case"}', cwd=folder,
                             env=_env(folder))
    assert recorded.returncode == 0, recorded.stderr
    return folder


def _env(folder: Path, **extra: str) -> dict[str, str]:
    return {"ALICE_TOKEN": ALICE, "MCPRT_CACHE_DIR": str(folder / ".cache"), "NO_COLOR": "1", **extra}


def _workspace(template: Path, where: Path) -> Path:
    shutil.copytree(template, where, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    return where


_TIMES = re.compile(r"\b\d\d:\d\d:\d\d\b|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?|\b\d+(\.\d+)? ?(ms|s)\b|(?<=latency_ms=)[\d.]+")

# a call's log line carries its call id, and may carry a session and trace/span ids: new in every run
_IDS = re.compile(r"\b(call=|session=|trace_id=|span_id=)[0-9a-f]+\b")


def _normal(text: str, *folders: Path, url: str = "") -> str:
    """`text` with what differs between any two runs made alike: the run's folder, a server's port, times."""
    for folder in folders:
        text = text.replace(str(folder.resolve()), "<WS>").replace(str(folder), "<WS>")
    if url:
        text = text.replace(url, "<URL>")
    return _IDS.sub(r"\1<ID>", _TIMES.sub("<TIME>", text))


def _both(template: Path, tmp_path: Path, args: tuple[str, ...], below: str = "",
          **extra: str) -> tuple[list[str], list[str]]:
    """`args` run in a fresh workspace (in its folder `below`) by a real process and by the in-process runner:
    [code, stdout, stderr] each."""
    ran = []
    for how, run in (("process", mcprt_process), ("in-process", mcprt_cli)):
        folder = _workspace(template, tmp_path / how)
        done = run(*args, cwd=folder / below, env=_env(folder, **extra))
        ran.append([str(done.returncode), _normal(done.stdout, folder), _normal(done.stderr, folder)])
    return ran[0], ran[1]


@pytest.mark.parametrize(("name", "args"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_a_command_gives_in_process_what_a_process_gives(name: str, args: tuple[str, ...], template: Path,
                                                         tmp_path: Path) -> None:
    process, in_process = _both(template, tmp_path, args, CWD.get(name, ""), **ENV.get(name, {}))
    assert in_process == process


@pytest.fixture(scope="module")
def served(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = _workspace(template, tmp_path_factory.mktemp("parity-served") / "up")
    with mcprt_http(folder / "mcp.yaml", "--no-reload", env=cli_env(_env(folder))) as up:
        yield up


# Sequences of operator commands against one running server, run once by real processes and once
# in-process (each sequence leaves the server as it found it): good and bad inputs.
OPERATOR: dict[str, list[tuple[str, ...]]] = {
    "status": [("status", "{url}"), ("status", "{url}", "--json")],
    "status-unreachable": [("status", "http://127.0.0.1:9")],
    "approvals": [("approvals", "list", "--url", "{url}", "--json"), ("approvals", "list", "--url", "{url}")],
    "approvals-bad-token": [("approvals", "list", "--url", "{url}", "--token", "wrong-token-0123456789")],
    "approvals-unknown-id": [("approvals", "approve", "no-such-id", "--url", "{url}")],
    "pause-resume": [("pause", "echo", "--url", "{url}", "--reason", "maintenance"), ("pause", "echo", "--url", "{url}"),
                     ("resume", "echo", "--url", "{url}"), ("resume", "echo", "--url", "{url}", "--json")],
    "pause-no-target": [("pause", "--url", "{url}")],
    "pause-unknown-tool": [("pause", "ehco", "--url", "{url}")],
}


@pytest.mark.xdist_group("inprocess-parity-served")  # one `mcprt up` (module fixture) for all of them
@pytest.mark.parametrize("name", sorted(OPERATOR))
def test_an_operator_command_gives_in_process_what_a_process_gives(name: str, served: UpProcess) -> None:
    url = served.base
    outputs = {}
    for how, run in (("process", mcprt_process), ("in-process", mcprt_cli)):
        outputs[how] = []
        for command in OPERATOR[name]:
            done = run(*(part.format(url=url) for part in command), env={"MCPRT_TOKEN": ALICE, "NO_COLOR": "1"})
            outputs[how].append([done.returncode, _normal(done.stdout, url=url), _normal(done.stderr, url=url)])
    assert outputs["in-process"] == outputs["process"]


def _raising(template: Path, tmp_path: Path, body: str) -> tuple[list[str], list[str]]:
    """`mcprt tools` on a manifest whose Python module runs `body` at import, both ways."""
    folder = tmp_path / "raising"
    shutil.copytree(template, folder)
    (folder / "parity_tools.py").write_text(f"{body}\n{TOOLS}")
    return _both(folder, tmp_path, ("tools", "mcp.yaml"))


@pytest.mark.parametrize(("body", "said"), [
    ("class Stop(BaseException):\n    pass\n\n\nraise Stop('no')", "Stop: no"),
    ("raise SystemExit(3)", "SystemExit: 3"),
    ("raise SystemExit('stopped here')", "SystemExit: stopped here"),
    ("raise SystemExit(None)", "SystemExit: None"),
])
def test_a_module_ending_its_import_is_a_manifest_error_both_ways(body: str, said: str, template: Path,
                                                                  tmp_path: Path) -> None:
    """Whatever a user's module raises at import — a `BaseException` of its own, `sys.exit()` — is that
    module's failure at the manifest line naming it, exit 2 (`sources/python/importing.py`), never the
    command's own exit code or a traceback; a process and the in-process runner alike."""
    process, in_process = _raising(template, tmp_path, body)
    assert process == in_process
    code, stdout, stderr = process
    assert code == "2" and stdout == "", process
    assert f"importing 'parity_tools' failed: {said}\n" in stderr and "Traceback" not in stderr, stderr


# A user's module that warns or looks at logging at import. A fresh process shows a UserWarning on stderr,
# hides a DeprecationWarning raised outside `__main__` (the default filters); its root logger holds the one
# handler the CLI adds (a library's `if not root.handlers:` set-up or `basicConfig` depends on it). A runner
# keeping the worker's warning filters, its way of showing warnings (pytest records them) or its logging
# (pytest's handlers on the root logger) differs.
IMPORT_NOISE = {
    "warnings": ("import warnings\nwarnings.warn('parity: deprecated', DeprecationWarning)\n"
                 "warnings.warn('parity: user warning', UserWarning)",
                 # a module's warning is a log record (`py.warnings`, through mcprt's formatter: scrubbed, JSON with
                 # MCPRT_LOG_FORMAT=json), as every line mcprt writes
                 "WARNING py.warnings: msg=\"<WS>/parity_tools.py:3: UserWarning: parity: user warning\\n"),
    "root-logger": ("import logging\nimport sys\nroot = logging.getLogger()\n"
                    "print('parity: root', logging.getLevelName(root.level), len(root.handlers), file=sys.stderr)",
                    "parity: root WARNING 1\n"),
}


@pytest.mark.parametrize("name", sorted(IMPORT_NOISE))
def test_a_modules_warnings_and_logging_are_a_processs(name: str, template: Path, tmp_path: Path) -> None:
    body, shown = IMPORT_NOISE[name]
    process, in_process = _raising(template, tmp_path, body)
    assert in_process == process
    assert shown in process[2] and "parity: deprecated" not in process[2], process[2]


@pytest.mark.parametrize(("variable", "value"), [("PYTHONWARNINGS", "always::ResourceWarning"),
                                               ("PYTHONTRACEMALLOC", "1"), ("PYTHONIOENCODING", "ascii"),
                                               ("PYTHONDEVMODE", "1"), ("TERMINAL_WIDTH", "50"), ("FORCE_COLOR", "1")])
def test_a_variable_read_only_at_start_or_import_is_refused(variable: str, value: str) -> None:
    """The interpreter reads PYTHON* when a process starts; Typer reads TERMINAL_WIDTH, FORCE_COLOR… when
    `typer.rich_utils` is first imported: in-process, a command would silently keep the worker's values
    (a test about ResourceWarnings saw none; `--help` with TERMINAL_WIDTH=50 made every later `--help` 50 wide)."""
    with pytest.raises(ValueError, match=f"^{variable}: read only when a process starts.*mcprt_process"):
        mcprt_cli("--help", env={variable: value})
    process = mcprt_process("--help", env={variable: value})
    assert process.returncode == 0, process.stderr  # as a process it is fine


def test_a_refused_variable_leaves_no_mark_on_later_help(template: Path, tmp_path: Path) -> None:
    """The sequence that leaked: `--help` with TERMINAL_WIDTH=50, then `validate --help` with COLUMNS=200."""
    with pytest.raises(ValueError):
        mcprt_cli("--help", env={"TERMINAL_WIDTH": "50", "NO_COLOR": "1"})
    process, in_process = _both(template, tmp_path, ("validate", "--help"), COLUMNS="200")
    assert in_process == process
    assert max(len(line) for line in in_process[1].splitlines()) > 60


def _worker_state() -> dict[str, object]:
    mcprt_logger, root = logging.getLogger("mcprt"), logging.getLogger()
    return {
        "environ": dict(os.environ), "cwd": os.getcwd(), "argv": list(sys.argv), "path": list(sys.path),
        "main": sys.modules["__main__"], "streams": (sys.stdin, sys.stdout, sys.stderr),
        "loggers": [(list(x.handlers), x.level, x.propagate, list(x.filters)) for x in (root, mcprt_logger)],
        "gc": (gc.isenabled(), gc.get_freeze_count()), "tools module": "parity_tools" in sys.modules,
        "secrets": (SECRETS.saved(), SECRETS._index),
        "warnings": list(__import__("warnings").filters),
    }


def test_a_command_leaves_the_worker_as_it_was(template: Path, tmp_path: Path) -> None:
    """`up`-free commands that load a `.env`, go offline (MCPRT_OFFLINE is set in the environment), set up
    logging, import a user's module, register secrets and pause the garbage collector: nothing stays."""
    folder = _workspace(template, tmp_path / "w")
    (folder / "secret.yaml").write_text(UNSET_SECRET.replace("${PARITY_UNSET_SECRET}", "${NOTES_TOKEN}"))
    (folder / ".env").write_text("NOTES_BASE=http://127.0.0.1:9\nNOTES_TOKEN=a-secret-from-dotenv-123456\n")
    # The runner's one-time imports (every mcprt module; `observability.log` gives the `mcprt` logger its
    # NullHandler) stay in the worker as a fresh process's imports stay in it: done before the snapshot,
    # so the test checks what a command leaves, whatever ran before it in this worker.
    assert mcprt_cli("--version", cwd=folder, env=_env(folder)).returncode == 0
    before = _worker_state()
    for args in (("validate", "dotenv.yaml", "--offline"), ("tools", "secret.yaml", "--offline"),
                 ("test", "mcp.yaml"), ("call", "mcp.yaml", "add", "--args", '{"a": 1, "b": 2}')):
        done = mcprt_cli(*args, cwd=folder, env=_env(folder, MCPRT_LOG_LEVEL="debug"))
        assert done.returncode == 0, (args, done.stderr)
        assert _worker_state() == before, args


def test_mcprt_called_directly_in_the_worker_leaves_no_mark_on_a_later_command(template: Path,
                                                                              tmp_path: Path) -> None:
    """Found by order: the OpenAPI sweep calls `cli.common.compile_once` in the worker, which sets up logging
    and says the environment's warnings once (`envcheck._done`); the runner started each command from the
    worker's state, so every later command in that worker said no `MCPRT_*` warning (6 env-name tests
    failed after the sweep). A command starts from the state a fresh process has."""
    from mcprt import envcheck
    from mcprt.observability.log import setup_logging

    folder = _workspace(template, tmp_path / "w")
    worker = _Saved.take()
    try:
        setup_logging("info", "text")  # what `cli.common.compile_once` does, called by a test, not a command
        assert envcheck._done
        done = mcprt_cli("validate", "mcp.yaml", cwd=folder, env=_env(folder, MCPRT_LOGLEVEL="debug"))
        assert envcheck._done  # the worker's own state is its own again
    finally:
        worker.restore()
    assert done.returncode == 0, done.stderr
    assert "MCPRT_LOGLEVEL is not an mcprt setting and is ignored; did you mean MCPRT_LOG_LEVEL?" in done.stderr, \
        done.stderr


def test_an_edit_within_the_same_second_is_seen_by_the_next_command(template: Path, tmp_path: Path) -> None:
    """A fresh process reads the files anew; so must the next in-process command, whatever the mtimes say."""
    folder = _workspace(template, tmp_path / "w")
    first = mcprt_cli("tools", "mcp.yaml", "--json", cwd=folder, env=_env(folder))
    assert first.returncode == 0, first.stderr
    stamps = {name: (folder / name).stat().st_mtime_ns for name in ("mcp.yaml", "parity_tools.py")}
    (folder / "parity_tools.py").write_text(TOOLS.replace('["echo", "add"]', '["echo", "add", "shout"]')
                                            + '\n\ndef shout(text: str) -> str:\n    """Loudly."""\n'
                                              '    return text.upper()\n')
    (folder / "mcp.yaml").write_text(MANIFEST.replace("parity_tools\n", "[parity_tools:add, parity_tools:shout]\n"))
    for name, stamp in stamps.items():  # the same second, even the same nanosecond
        os.utime(folder / name, ns=(stamp, stamp))
    second = mcprt_cli("tools", "mcp.yaml", "--json", cwd=folder, env=_env(folder))
    assert second.returncode == 0, second.stderr
    names = lambda done: sorted(tool["name"] for tool in json.loads(done.stdout)["tools"])  # noqa: E731
    assert (names(first), names(second)) == (["add", "echo"], ["add", "shout"])


def test_a_hung_command_fails_within_its_timeout_and_leaves_the_worker_whole(template: Path, tmp_path: Path) -> None:
    """The timed window holds the command alone (the runner's one-time imports are done before it), with
    wide margins (a hang until the test releases it, at most 30 s; a 0.3 s timeout); the command's thread,
    still running, keeps the runner closed, and once it has ended the worker is as it was and the next
    command in its folder is right. Released by a file, not a fixed sleep: the hang lasts as long as the
    test needs it and not 3 s more."""
    folder = _workspace(template, tmp_path / "w")
    release = folder / "parity.release"
    (folder / "parity_tools.py").write_text(
        f"import time\nfrom pathlib import Path\n\nDEADLINE = time.monotonic() + 30\n"
        f"while not Path({str(release)!r}).exists() and time.monotonic() < DEADLINE:\n    time.sleep(0.01)\n{TOOLS}")
    # A second `python:` source, imported after the timeout: the loader puts the folder on sys.path again.
    (folder / "parity_more.py").write_text('def more() -> str:\n    """More."""\n    return "more"\n')
    (folder / "mcp.yaml").write_text(MANIFEST.replace("python: parity_tools\n",
                                                      "python: parity_tools\n  more:\n    python: parity_more\n"))
    assert mcprt_cli("--version").returncode == 0  # warm: the first command's imports are not timed
    before = _worker_state()
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_process(["tools", "mcp.yaml"], env=cli_env(_env(folder)), cwd=folder, timeout=0.3)
    assert time.monotonic() - started < 2.5
    with pytest.raises(RuntimeError, match="still runs past its timeout: tools mcp.yaml"):
        mcprt_cli("--version")
    release.write_text("")
    for thread in threading.enumerate():
        if thread.name == "mcprt-in-process":
            thread.join(30)
    assert (_worker_state(), "parity_more" in sys.modules) == (before, False)
    (folder / "parity_tools.py").write_text(TOOLS)
    done = mcprt_cli("tools", "mcp.yaml", "--json", cwd=folder, env=_env(folder))
    assert done.returncode == 0, done.stderr
    assert sorted(tool["name"] for tool in json.loads(done.stdout)["tools"]) == ["add", "echo", "more"]


def test_output_is_captured_when_the_command_thread_reuses_a_dead_threads_ident() -> None:
    """A thread started outside `threading` that asked for its `Thread` stays listed (a dummy) after it
    ended; the command's new thread often gets its ident. Found in a suite run: `mcprt diff --format json`
    printed to the worker's stdout, and the test read an empty output."""
    for _ in range(5):
        ended = threading.Event()
        _thread.start_new_thread(lambda: (threading.current_thread(), ended.set()), ())
        ended.wait(10)
        time.sleep(0.05)  # its native thread has exited; its dummy `Thread` is still listed
        done = mcprt_cli("--version")
        assert done.returncode == 0 and done.stdout.startswith("mcprt "), (done.stdout, done.stderr)


def test_the_kept_click_command_stays_what_typer_builds() -> None:
    """The runner keeps the Click command Typer builds from mcprt's app (a process builds it once per run);
    after commands that parse options, fail on usage, print help and run, it is still what a fresh
    build gives, parameter for parameter (a command changing it would leak into every later command)."""
    import typer.main

    from mcprt.cli.main import app
    from tests.support import inprocess_cli

    for args in (("--version",), ("validate", "--help"), ("init",), ("diff", "a.yaml", "b.yaml", "--format", "yaml"),
                 ("catalog", "list"), ("schema",)):
        mcprt_cli(*args, env={"NO_COLOR": "1"})
    kept = inprocess_cli._kept_command(app)
    fresh = typer.main.get_command(app)
    assert kept is not fresh and inprocess_cli._kept_command(app) is kept
    assert _shape(kept) == _shape(fresh)


# Made on first use from the declaration alone and kept, in a process as here: Click's `--help` option of a
# command, Typer's value converter of a parameter (built from its type descriptor).
_LAZY = frozenset({"_help_option", "_runtime_param"})


def _shape(value: object, depth: int = 0) -> object:
    """A Click command's (or parameter's, type's…) attributes, recursively, as comparable plain values;
    functions by name (each build makes its own callback wrappers)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_shape(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item, depth + 1) for key, item in value.items()}
    if isinstance(value, type):
        return repr(value)
    if callable(value) and not hasattr(value, "params"):
        return getattr(value, "__qualname__", type(value).__qualname__)
    if hasattr(value, "__dict__") and depth < 8:
        return (type(value).__qualname__, _shape({k: v for k, v in vars(value).items() if k not in _LAZY}, depth + 1))
    return type(value).__qualname__
