"""`mcprt up --transport stdio` driven by JSON-RPC lines written and read by hand (no SDK client in between)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.served import child_env, launch_command

TIMEOUT = 60  # only bounds a hang: a loaded 2-core machine is slow to start Python


class RawStdio:
    """A served manifest over stdio; hot reload off unless `reload`. `env` joins the child's environment
    (built by `base_env`, which drops the caller's MCPRT_* settings)."""

    def __init__(self, manifest: Path, tmp: Path, *, log_level: str = "info", reload: bool = False,
                 base_env: Callable[..., dict[str, str]] = child_env, **env: str) -> None:
        args = ("--transport", "stdio") if reload else ("--transport", "stdio", "--no-reload")
        self._launch(launch_command(manifest, *args), cwd=manifest.parent, stderr_dir=tmp,
                     env=base_env(MCPRT_LOG_LEVEL=log_level, MCPRT_CACHE_DIR=str(tmp / "cache"), **env))

    def _launch(self, command: list[str], *, cwd: Path | str, env: dict[str, str], stderr_dir: Path) -> None:
        """Start `command` with stdin/stdout pipes (stdout read line by line by a thread) and stderr in a file
        of `stderr_dir`."""
        self.stderr_path = stderr_dir / f"stderr-{time.monotonic_ns()}.log"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                        cwd=str(cwd), env=env)
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        self.process.stdin.flush()

    def read(self) -> dict[str, Any]:
        line = self.lines.get(timeout=TIMEOUT)
        assert line, f"the server closed stdout; stderr:\n{self.stderr_text()}"
        return json.loads(line)

    def responses(self, ids: set[Any]) -> dict[Any, list[dict[str, Any]]]:
        """Read until every id in `ids` has a response; every message read, by id."""
        seen: dict[Any, list[dict[str, Any]]] = {}
        while not ids <= set(seen):
            message = self.read()
            seen.setdefault(message.get("id"), []).append(message)
        return seen

    def read_until(self, wanted: Any) -> dict[str, Any]:
        """Read until the response with id `wanted` (or the notification whose method is `wanted`)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line, f"the server closed stdout; stderr:\n{self.stderr_text()}"
            message = json.loads(line)
            if message.get("id") == wanted or message.get("method") == wanted:
                return message

    def wait_for_log(self, text: str) -> str:
        """The log once it has `text` (fails after TIMEOUT or when the server ends first)."""
        deadline = time.monotonic() + TIMEOUT
        while text not in (log := self.stderr_text()):
            assert time.monotonic() < deadline and self.process.poll() is None, log
            time.sleep(0.05)
        return log

    def stderr_text(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> int:
        """Close stdin (how a client ends a stdio server) and wait; the exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._stderr.close()
