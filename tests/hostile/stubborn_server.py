"""A proxied MCP server (stdio) that will not go: it ignores SIGTERM and, when its stdin ends, keeps
running. Its tools: `whoami` (its pid), `spawn_child` (a grandchild sleeping in its group) and `huge` (one enormous line)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from mcp.server import MCPServer

server = MCPServer("stubborn", log_level="CRITICAL")


@server.tool(structured_output=False)
def whoami() -> str:
    """This server's pid."""
    return json.dumps({"pid": os.getpid()})


@server.tool(structured_output=False)
def spawn_child() -> str:
    """Start a grandchild that sleeps; return its pid."""
    return str(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]).pid)


@server.tool(structured_output=False)
def huge(megabytes: int) -> str:
    """A text of `megabytes` MB: one stdout line that long."""
    return "x" * (megabytes * 1_000_000)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server.run("stdio")
    while True:  # stdin is gone: a well-behaved server would exit here
        time.sleep(1)
