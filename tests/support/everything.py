"""Starting the everything fixture (tests/support/everything_server.py) and manifests that proxy it."""

from __future__ import annotations

import subprocess
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tests.support.components import stop_process
from tests.support.zygote import script_command, script_command_yaml

SERVER = Path(__file__).with_name("everything_server.py")
# The fixture's FIXTURE_CANCEL_FILE, passed the documented way (a `command:` server inherits only HOME,
# LOGNAME, PATH, SHELL, TERM and USER from mcprt); the test sets it in mcprt's environment.
CANCEL_FILE_ENV = 'env: {FIXTURE_CANCEL_FILE: "${FIXTURE_CANCEL_FILE}"}\n'


@contextmanager
def fixture_http(*flags: str, timeout: float = 30, script: Path = SERVER) -> Iterator[str]:
    """The fixture (or another `script` that prints `PORT n` once it listens) over streamable HTTP on
    localhost; yields its MCP endpoint URL."""
    process = subprocess.Popen(script_command(script, "--http", *flags), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    port: list[str] = []
    announced = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("PORT ") and not port:
                port.append(line.split()[1])
                announced.set()
        announced.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        announced.wait(timeout)
        if not port:
            raise AssertionError("the everything fixture did not start")
        yield f"http://localhost:{port[0]}/mcp"
    finally:
        stop_process(process)


def command_source(name: str, *flags: str, extra: str = "") -> str:
    """A manifest `sources:` entry running the fixture over stdio (extra: more YAML lines, indented 4)."""
    command = script_command_yaml(SERVER, *flags)
    return f"  {name}:\n    command: {command}\n" + textwrap.indent(textwrap.dedent(extra), "    ")


def url_source(name: str, url: str, extra: str = "") -> str:
    return f"  {name}:\n    url: {url}\n" + textwrap.indent(textwrap.dedent(extra), "    ")


def write_manifest(folder: Path, *sources: str, server: str = "") -> Path:
    path = folder / "mcp.yaml"
    path.write_text("version: 1\n" + server + "sources:\n" + "".join(sources), encoding="utf-8")
    return path
