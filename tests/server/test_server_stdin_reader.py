"""stdin is read by the event loop when it is a pipe or a socket (server/stdio.py `StdinLines`), by
a thread otherwise; either way the client gets the same answers, and the descriptor's flags are
left alone (O_NONBLOCK would be seen by every process sharing it)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.server.server_support import DEMO_TOOLS, child_env
from tests.server.test_server_early import TIMEOUT, initialize
from tests.support.served import up_command

READER = "stdio: stdin read by "
HANDSHAKE = [initialize("2025-06-18"), {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
             {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}]


class _SocketWriter:
    """The client's end of a socket pair as a writable file whose close is the server's EOF."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.sock.fileno() != -1:
            self.sock.shutdown(socket.SHUT_WR)


def _manifest(tmp: Path) -> Path:
    (tmp / "demo_tools.py").write_text(DEMO_TOOLS)
    manifest = tmp / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: stdin-reader}\nsources:\n  demo:\n    python: demo_tools\n")
    return manifest


def _lines(messages: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def _serve(tmp: Path, stdin: Any, writer: Any | None, **env: str) -> tuple[dict[Any, dict[str, Any]], str]:
    """Run `mcprt up` over stdio on `stdin`: the requests written to `writer` (then closed, once
    every request has its answer), or already in `stdin` (a file); answers by id, and stderr."""
    manifest = _manifest(tmp)
    stderr_path = tmp / "stderr.log"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(up_command(manifest, "--transport", "stdio", "--no-reload"), stdin=stdin,
                                   stdout=subprocess.PIPE, stderr=stderr, cwd=str(tmp),
                                   env=child_env(MCPRT_LOG_LEVEL="debug", MCPRT_CACHE_DIR=str(tmp / "cache"), **env))
        try:
            answers: dict[Any, dict[str, Any]] = {}
            if writer is not None:
                writer.write(_lines(HANDSHAKE))
                writer.flush()
                assert process.stdout is not None
                while not {1, 2, 3} <= set(answers):
                    line = process.stdout.readline()
                    assert line, stderr_path.read_text()
                    message = json.loads(line)
                    answers[message.get("id")] = message
                writer.close()
            out, _ = process.communicate(timeout=TIMEOUT)
            answers.update({m.get("id"): m for m in map(json.loads, out.splitlines())})
            assert process.returncode == 0, stderr_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return answers, stderr_path.read_text()


def _check(answers: dict[Any, dict[str, Any]]) -> None:
    assert answers[2]["result"]["content"][0]["text"] == "5", answers
    assert "add" in {tool["name"] for tool in answers[3]["result"]["tools"]}


@pytest.mark.parametrize("kind", ["pipe", "socket"])
def test_a_pipe_or_a_socket_is_read_by_the_event_loop_and_keeps_its_flags(tmp_path: Path, kind: str) -> None:
    if kind == "pipe":
        ours, theirs = os.pipe()  # ours: the read end, shared with the server
        writer = os.fdopen(theirs, "wb")
    else:
        ours_sock, theirs_sock = socket.socketpair()  # as libuv (Node clients) spawns servers
        ours, writer = ours_sock.fileno(), _SocketWriter(theirs_sock)
    flags = fcntl.fcntl(ours, fcntl.F_GETFL)
    try:
        answers, stderr = _serve(tmp_path, ours, writer)
        assert fcntl.fcntl(ours, fcntl.F_GETFL) == flags  # no O_NONBLOCK set on the shared description
    finally:
        writer.close()
        if kind == "pipe":
            os.close(ours)
        else:
            theirs_sock.close()
            ours_sock.close()
    assert READER + "the event loop" in stderr, stderr[-2000:]
    _check(answers)


def test_a_file_is_read_by_a_thread(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(_lines(HANDSHAKE))
    with open(requests, "rb") as stdin:
        answers, stderr = _serve(tmp_path, stdin, None)
    assert READER + "a thread" in stderr, stderr[-2000:]
    # The file ends at once: calls still running then end as at any EOF; the handshake is answered.
    assert answers[1]["result"]["serverInfo"]["name"] == "stdin-reader", answers


def test_the_thread_can_be_asked_for(tmp_path: Path) -> None:
    ours, theirs = os.pipe()
    writer = os.fdopen(theirs, "wb")
    try:
        answers, stderr = _serve(tmp_path, ours, writer, MCPRT_STDIN_THREAD="1")
    finally:
        writer.close()
        os.close(ours)
    assert READER + "a thread" in stderr, stderr[-2000:]
    _check(answers)
