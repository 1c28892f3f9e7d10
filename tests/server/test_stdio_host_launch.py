"""`mcprt up` launched as an agent host launches it (Claude Desktop, Cursor, VS Code): the venv's `mcprt`
program by its absolute path, cwd `/`, a stripped environment (HOME, PATH=/usr/bin:/bin and the config's
`env`), stdin/stdout pipes read byte by byte here. Found by a new-user trial (p21 "stdio")."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import mcprt_process
from tests.support.raw_stdio import TIMEOUT, RawStdio

MCPRT = str(Path(sys.executable).parent / "mcprt")  # what a host's config names

TOOLS = '''
import time


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def nap(seconds: float) -> str:
    """Sleep a while (a sync function: its thread cannot be interrupted)."""
    time.sleep(seconds)
    return f"slept {seconds}"
'''


def host_env(folder: Path, **extra: str) -> dict[str, str]:
    """What a desktop host passes: HOME, a bare PATH, the config's env; nothing of the developer's shell.
    The cache is the test's own (HOME/.cache would be shared between tests)."""
    return {"HOME": str(folder), "PATH": "/usr/bin:/bin", "MCPRT_CACHE_DIR": str(folder / "cache"), **extra}


def python_manifest(folder: Path, extra: str = "") -> Path:
    (folder / "hosttools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: host-launch\n  observability:\n    audit: audit.jsonl\n"
                        f"sources:\n  py:\n    python: hosttools\n{extra}")
    return manifest


class Hosted(RawStdio):
    """One `mcprt up MANIFEST` with pipes, as a host starts it (the venv's `mcprt` by path, cwd `/`, the host's
    env alone); every stdout line is JSON-RPC or fails."""

    def __init__(self, manifest: Path, *, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self._launch([MCPRT, "up", str(manifest), *args], cwd="/", env=env, stderr_dir=manifest.parent)

    def handshake(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "host", "version": "1"}}},
                  {"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert self.read_until(0)["result"]["serverInfo"]["name"]

    def rest(self) -> list[dict[str, Any]]:
        """Every message written until stdout closed (the process ended)."""
        out = []
        while line := self.lines.get(timeout=TIMEOUT):
            out.append(json.loads(line))
        return out

    def log(self) -> str:
        return self.stderr_text()

    def close(self) -> int:
        """Kill it if still running (a host ends it so; `RawStdio.close` closes stdin and waits); the exit code."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(TIMEOUT)
        self._stderr.close()
        return code


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_second_stop_signal_with_a_sync_call_in_flight_exits_within_a_second(
        tmp_path: Path, signum: int, code: int) -> None:
    """Two SIGTERMs 0.3 s apart ended the process by the signal itself (returncode -15, no log line);
    two SIGINTs: the second did nothing, exit 130 after 5.4 s (the wait for the sync tool's thread).
    Both now log the README's "second stop signal" warning and exit within 1 s with 143/130."""
    hosted = Hosted(python_manifest(tmp_path), env=host_env(tmp_path))
    try:
        hosted.handshake()
        hosted.send({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                     "params": {"name": "add", "arguments": {"a": 1, "b": 2}}})
        assert hosted.read_until(9)["result"]["content"][0]["text"] == "3"  # serving, past the early phase
        hosted.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "nap", "arguments": {"seconds": 8}}})
        time.sleep(0.5)  # the call is in its thread
        hosted.process.send_signal(signum)
        answer = hosted.read_until(1)  # the stop answers the call in flight
        assert "was stopped" in json.dumps(answer), answer
        time.sleep(0.3)
        hosted.process.send_signal(signum)
        second = time.monotonic()
        assert hosted.process.wait(TIMEOUT) == code, hosted.log()
        assert time.monotonic() - second < 1.0, hosted.log()
        assert "second stop signal: exiting without finishing the" in hosted.log(), hosted.log()
    finally:
        hosted.close()


class Items:
    """A real API: POST /items creates an item, then answers after `delay` s (a slow write) unless its client
    left first (then nobody waits for the answer; uvicorn's shutdown would wait its 2 s grace for it); GET lists them."""

    def __init__(self, delay: float) -> None:
        self.items: list[dict[str, Any]] = []
        self.delay = delay

    def app(self) -> Any:
        import asyncio

        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def create(request: Request) -> JSONResponse:
            item = {**await request.json(), "id": str(len(self.items) + 1)}
            self.items.append(item)  # done: only the answer is slow
            deadline = asyncio.get_running_loop().time() + self.delay
            while asyncio.get_running_loop().time() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.05)
            return JSONResponse(item, status_code=201)

        async def listing(request: Request) -> JSONResponse:
            return JSONResponse(self.items)

        return Starlette(routes=[Route("/items", create, methods=["POST"]), Route("/items", listing)])


ITEMS_SPEC = {
    "openapi": "3.1.0", "info": {"title": "Items", "version": "1"},
    "paths": {"/items": {
        "get": {"operationId": "listItems", "responses": {"200": {"description": "ok"}}},
        "post": {"operationId": "createItem",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}},
                 "responses": {"201": {"description": "created"}}}}},
}


@pytest.mark.parametrize("lean", ["1", "0"])
def test_stdin_eof_answers_every_request_once_and_says_a_cut_write_may_have_acted(tmp_path: Path, lean: str) -> None:
    """The debugging pattern "pipe a file of requests into the server": the whole file, then EOF. A trial's
    finished `add` got no answer at all (3 runs of 3, either path), and a POST the API carried out was answered
    a bare -32000 and audited `cancelled` as if nothing happened. Now each request is answered exactly once:
    what finished with its result, a call cut by the EOF with -32000 saying the upstream may have acted (its
    audit record says so too), and the process exits promptly."""
    from tests.support.upstream import serve_app

    api = Items(delay=30)
    with serve_app(api.app()) as base:
        (tmp_path / "items.json").write_text(json.dumps(ITEMS_SPEC))
        manifest = python_manifest(tmp_path, f"  items:\n    openapi: items.json\n    base_url: {base}\n")
        hosted = Hosted(manifest, env=host_env(tmp_path, MCPRT_STDIO_LEAN=lean))
        try:
            hosted.handshake()
            call = {"jsonrpc": "2.0", "method": "tools/call"}
            hosted.send({**call, "id": 1, "params": {"name": "add", "arguments": {"a": 1, "b": 2}}})
            assert hosted.read_until(1)["result"]["content"][0]["text"] == "3"  # the module is imported
            hosted.send({**call, "id": 2, "params": {"name": "createItem", "arguments": {"name": "from-pipe"}}},
                        {**call, "id": 3, "params": {"name": "nap", "arguments": {"seconds": 30}}})
            deadline = time.monotonic() + TIMEOUT
            while not api.items:  # the API has carried the write out; its answer takes 30 s
                assert time.monotonic() < deadline, hosted.log()
                time.sleep(0.02)
            # then, all at once as from a file: calls that finish at once, a ping, and the EOF
            hosted.send({**call, "id": 4, "params": {"name": "add", "arguments": {"a": 2, "b": 2}}},
                        {"jsonrpc": "2.0", "id": 5, "method": "ping"},
                        {**call, "id": 6, "params": {"name": "listItems", "arguments": {}}})
            assert hosted.process.stdin is not None
            hosted.process.stdin.close()
            closed = time.monotonic()
            answers = hosted.rest()
            assert hosted.process.wait(TIMEOUT) == 0, hosted.log()
            assert time.monotonic() - closed < 10, hosted.log()  # the sync nap (30 s) is not waited for
        finally:
            hosted.close()
    by_id: dict[Any, list[dict[str, Any]]] = {}
    for answer in answers:
        by_id.setdefault(answer.get("id"), []).append(answer)
    assert sorted(by_id) == [2, 3, 4, 5, 6] and all(len(a) == 1 for a in by_id.values()), answers
    for request_id in (2, 3):  # cut by the EOF
        error = by_id[request_id][0]["error"]
        assert error["code"] == -32000 and error["message"].startswith("Connection closed: the client closed stdin")
        assert "may or may not have acted" in error["message"], error
    # quick calls that came with the EOF finish within its grace and get their results (they were cut at
    # once, answered -32000, and a finished `add` audited `cancelled`, until a reviewer's run)
    assert by_id[4][0]["result"]["content"][0]["text"] == "4", by_id[4]
    assert by_id[5][0]["result"] == {}, by_id[5]
    assert "from-pipe" in by_id[6][0]["result"]["content"][0]["text"], by_id[6]
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in records if r.get("tool") == "add"] == ["ok", "ok"], records
    created = [r for r in records if r.get("tool") == "createItem"]
    assert len(created) == 1 and created[0]["outcome"] == "cancelled", records
    assert "may or may not have acted" in created[0]["error"], created  # not recorded as if nothing happened
    assert api.items == [{"name": "from-pipe", "id": "1"}]



def test_a_file_of_requests_on_stdin_gets_every_result(tmp_path: Path) -> None:
    """`mcprt up mcp.yaml < requests.jsonl` (the trial's `reqs.jsonl`): the file's end arrives with its
    requests, before any call can finish, so cutting calls at EOF answered every tool call -32000. With
    stdin a regular file no host waits to kill the process: the calls get `EOF_FILE_GRACE` to finish,
    a 2 s sync call (longer than a pipe's 1 s) included, and each gets its result."""
    manifest = python_manifest(tmp_path)
    call = {"jsonrpc": "2.0", "method": "tools/call"}
    requests = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "f", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {**call, "id": 1, "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
        {**call, "id": 2, "params": {"name": "nap", "arguments": {"seconds": 2}}},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
    ]
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    with open(tmp_path / "requests.jsonl", "rb") as stdin:
        done = subprocess.run([MCPRT, "up", str(manifest)], cwd="/", env=host_env(tmp_path), stdin=stdin,
                              capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr.decode()
    answers = {a["id"]: a for a in map(json.loads, done.stdout.decode().splitlines())}  # JSON-RPC only
    assert sorted(answers) == [0, 1, 2, 3], done
    assert answers[1]["result"]["content"][0]["text"] == "3", answers[1]
    assert answers[2]["result"]["content"][0]["text"] == "slept 2.0", answers[2]
    assert answers[3]["result"] == {}, answers[3]

LOGGING_TOOLS = '''
import logging
import sys

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="LOG %(message)s")  # the common line
log = logging.getLogger(__name__)
log.info("imported")


def shout(text: str) -> str:
    """Shout, and log about it."""
    log.info("shout called with %s", text)
    log.warning("careful with %s", text)
    log.debug("debug detail")
    logging.info("root line %s", text)  # the root logger, as many scripts log
    logging.getLogger("myapp.worker").info("worker line")  # a logger outside the module's name
    return text.upper()
'''


@pytest.mark.parametrize(("level", "shown", "hidden"), [
    ("info", ["INFO    loudtools: imported source=py", "INFO    loudtools: shout called with [redacted] source=py",
              "WARNING loudtools: careful with [redacted] source=py", "INFO    root: root line [redacted] source=py",
              "INFO    myapp.worker: worker line source=py"], ["debug detail"]),
    ("warning", ["WARNING loudtools: careful with [redacted] source=py"],
     ["shout called", "imported", "root line", "worker line"]),
    ("debug", ["DEBUG   loudtools: debug detail source=py"], []),
])
def test_a_python_tools_logging_reaches_mcprts_log_never_stdout(
        tmp_path: Path, level: str, shown: list[str], hidden: list[str]) -> None:
    """A module's `logging.basicConfig(stream=sys.stdout, level=INFO)` lost even its warnings under a host,
    and without it `log.info` never showed, even at debug. Its records now go to mcprt's log on stderr, at
    MCPRT_LOG_LEVEL, scrubbed, naming the source; stdout stays JSON-RPC only (every line parsed)."""
    secret = "sk-live-4f9a8c2e77"
    (tmp_path / "loudtools.py").write_text(LOGGING_TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: loud\n  auth: {tokens: {alice: '${API_KEY}'}}\n"
                        "sources:\n  py:\n    python: loudtools\n")  # a configured secret: scrubbed everywhere
    hosted = Hosted(manifest, env=host_env(tmp_path, MCPRT_LOG_LEVEL=level, API_KEY=secret))
    try:
        hosted.handshake()
        hosted.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "shout", "arguments": {"text": secret}}})
        assert hosted.read_until(1)["result"]["content"][0]["text"] == secret.upper()
        hosted.wait_for_log("careful with")
        assert hosted.process.stdin is not None
        hosted.process.stdin.close()
        assert hosted.rest() == [] and hosted.process.wait(TIMEOUT) == 0
        log = hosted.log()
    finally:
        hosted.close()
    for line in shown:
        assert line in log, log
    for text in hidden:
        assert text not in log, log
    assert secret not in log and "LOG " not in log, log  # scrubbed, and in mcprt's format only


def test_two_sources_sharing_a_package_each_label_their_own_logging(tmp_path: Path) -> None:
    """Sources `alpha: {python: pkg.a}` and `beta: {python: pkg.b}`: keyed by the top-level package, the
    last source adopted claimed `pkg`, so alpha's `FROM-A` line said `source=beta`. Each module's logger
    now names its own source."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for letter in "ab":
        (package / f"{letter}.py").write_text(
            "import logging\n\nlog = logging.getLogger(__name__)\n\n\n"
            f"def from_{letter}(n: int) -> int:\n    \"\"\"Log and return n.\"\"\"\n"
            f"    log.info('FROM-{letter.upper()} %s', n)\n    return n\n")
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: pkgs\nsources:\n  alpha:\n    python: pkg.a\n"
                        "  beta:\n    python: pkg.b\n")
    hosted = Hosted(manifest, env=host_env(tmp_path))
    try:
        hosted.handshake()
        for request_id, tool in ((1, "from_a"), (2, "from_b")):
            hosted.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                         "params": {"name": tool, "arguments": {"n": request_id}}})
            assert hosted.read_until(request_id)["result"]["content"][0]["text"] == str(request_id)
        hosted.wait_for_log("FROM-B")
        log = hosted.log()
    finally:
        hosted.close()
    assert "INFO    pkg.a: FROM-A 1 source=alpha" in log, log
    assert "INFO    pkg.b: FROM-B 2 source=beta" in log, log


def test_the_manifests_dotenv_settings_apply_under_a_host(tmp_path: Path) -> None:
    """`MCPRT_LOG_LEVEL=debug` in the `.env` beside the manifest was silently ignored when a host started
    mcprt in `/`; it applies now, and the debug line names the file read."""
    manifest = python_manifest(tmp_path)
    (tmp_path / ".env").write_text("MCPRT_LOG_LEVEL=debug\n")
    hosted = Hosted(manifest, env=host_env(tmp_path))
    try:
        hosted.handshake()
        log = hosted.wait_for_log("DEBUG")
        assert f"settings read env_files={tmp_path / '.env'}" in hosted.wait_for_log("settings read"), log
    finally:
        hosted.close()


NOTES = '''
def get_note(note_id: int) -> str:
    """One note by id."""
    raise LookupError(f"no note with id {note_id}; search_notes finds ids")
'''


def test_the_manifests_dotenv_cannot_turn_on_tracebacks_move_the_server_or_trust_proxies(tmp_path: Path) -> None:
    """The upgrade trial's `.env` beside the manifest, mcprt started from `/`: its `MCPRT_DEBUG=1` sent the client
    `LookupError: … Traceback (most recent call last): File "/…/source.py", line 87 …`, its `MCPRT_PORT` moved the
    server and its `MCPRT_TRUSTED_PROXIES=0.0.0.0/0` would have been believed, with nothing logged. They are ignored
    from there with a warning naming them (never their values), and where each applied setting came from is logged."""
    (tmp_path / "notes.py").write_text(NOTES)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: dup\nsources:\n  notes:\n    python: notes\n")
    (tmp_path / ".env").write_text("CI_TOKEN=a-token-1111\nMCPRT_PORT=45791\nMCPRT_DEBUG=1\n"
                                   "MCPRT_TRUSTED_PROXIES=0.0.0.0/0\nMCPRT_LOG_FORMAT=text\n")
    hosted = Hosted(manifest, env=host_env(tmp_path))
    try:
        hosted.handshake()
        hosted.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "get_note", "arguments": {"note_id": 999}}})
        result = hosted.read_until(1)["result"]
        log = hosted.wait_for_log("settings in the .env beside the manifest ignored")
    finally:
        hosted.close()
    text = result["content"][0]["text"]
    assert result["isError"] and "no note with id 999" in text and "Traceback" not in text, text
    assert str(tmp_path) not in text  # no server path reaches the client
    [warning] = [line for line in log.splitlines() if "settings in the .env beside the manifest ignored" in line]
    assert "WARNING" in warning and f"env_file={tmp_path / '.env'}" in warning, warning
    assert "names=\"MCPRT_DEBUG, MCPRT_PORT, MCPRT_TRUSTED_PROXIES\"" in warning or \
        "names=MCPRT_DEBUG, MCPRT_PORT, MCPRT_TRUSTED_PROXIES" in warning, warning
    [source] = [line for line in log.splitlines() if "settings from .env" in line]
    assert "MCPRT_LOG_FORMAT" in source and "MCPRT_DEBUG" not in source, source
    for value in ("45791", "0.0.0.0/0", "a-token-1111"):
        assert value not in log  # names, never values


SLOW_SERVER = '''
import time

time.sleep(120)  # a proxied server that takes its time to start (it never gets that far here)
'''


def test_a_manifest_error_is_reported_without_waiting_for_a_slow_proxied_server(tmp_path: Path) -> None:
    """A bad `python:` entry was reported only after a slow `command:` server had started (12 s): the
    start waited for every source. The error now fails the start at once: the slow server's open is
    cancelled (a note says so) and the host gets `file:line:col`, exit 2."""
    (tmp_path / "slow_server.py").write_text(SLOW_SERVER)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nserver: {{name: slow}}\nsources:\n  up:\n    command: {sys.executable}\n"
                        "    args: [slow_server.py]\n  py:\n    python: ../elsewhere/tools.py\n")
    hosted = Hosted(manifest, env=host_env(tmp_path))
    try:
        assert hosted.process.wait(TIMEOUT) == 2, hosted.log()  # well before the server's 120 s
        assert hosted.rest() == []
        log = hosted.log()
    finally:
        hosted.close()
    assert f"{manifest}:8:13: source 'py': '../elsewhere/tools.py' is not" in log, log
    assert f"{manifest}:5:14: note: source 'up' was not opened: another source's error fails this manifest" in log, log
    assert "Traceback" not in log


CRASHING_SERVER = '''
import sys
import time

time.sleep(1.5)  # slower than the bad `python:` entry's error
print("boom: missing API key", file=sys.stderr)
sys.exit(3)
'''


def test_validate_reports_every_sources_error_not_just_the_fastest(tmp_path: Path) -> None:
    """`up`'s fail-fast (above) is `up`'s alone: with it on for every compile, `validate` of a manifest with
    a bad `python:` entry and a `command:` server that exits 3 said only the first (`1 error`, and a note
    that the server was not opened) — whoever fixes a manifest needs every error at once."""
    (tmp_path / "crashing_server.py").write_text(CRASHING_SERVER)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(f"version: 1\nserver: {{name: multi}}\nsources:\n  crashing:\n    command: {sys.executable}\n"
                        "    args: [crashing_server.py]\n  bad_py:\n    python: ../elsewhere/tools.py\n")
    done = mcprt_process("validate", str(manifest), cwd=Path("/"), timeout=TIMEOUT)
    assert done.returncode == 2, done
    assert "source 'bad_py': '../elsewhere/tools.py' is not" in done.stderr + done.stdout, done
    assert "source 'crashing': the server exited with code 3" in done.stderr + done.stdout, done
    assert "boom: missing API key" in done.stderr + done.stdout, done
    assert "was not opened" not in done.stderr + done.stdout, done
    assert "2 errors" in done.stderr + done.stdout, done
