"""Finding 5 of #13: 1,100 half-open connections against a server started with the common
descriptor limit of 1,024 neither starve legitimate calls nor flood the log; the server closes them
after the header timeout."""

from __future__ import annotations

import asyncio
import re
import resource
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.support.served import child_env, http_client, text_of, up_command

TOOLS = 'def ping() -> str:\n    """Pong."""\n    return "pong"\n'


def test_half_open_connections_do_not_starve_calls(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500 and hard >= 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2500, hard))  # this test itself holds 1,100 sockets
    (tmp_path / "tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  t:\n    python: tools:ping\n")
    command = ["prlimit", "--nofile=1024:4096", "--", *up_command(manifest, "--transport", "http", "--port", "0",
                                                                   "--no-reload")]
    process = subprocess.Popen(command, cwd=tmp_path, env=child_env(MCPRT_HEADER_TIMEOUT="3"),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        url = ""
        while not url and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r" at (http://\S+) \(", "".join(lines))
            url = found.group(1) if found else ""
            time.sleep(0.05)
        assert url, "".join(lines)
        host, port = url.split("//")[1].split("/")[0].split(":")
        for i in range(1100):  # half-open: connected, a partial request line, never finished
            sock = socket.create_connection((host, int(port)), timeout=5)
            if i % 2:
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)

        async def call() -> str:
            async def inner() -> str:
                async with http_client(url) as client:
                    return text_of(await client.call_tool("ping", {}))
            return await asyncio.wait_for(inner(), 30)  # bounds the connect and initialize too

        started = time.monotonic()
        assert asyncio.run(call()) == "pong"
        assert time.monotonic() - started < 15
        # The server closed the half-open connections after the header timeout (3 s here).
        time.sleep(4)
        closed = 0
        for sock in sockets[:50]:
            sock.settimeout(2)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass  # still open
            except OSError:
                closed += 1  # reset by the server: closed too
        assert closed == 50
        assert httpx.get(url.rsplit("/", 1)[0] + "/healthz", timeout=5).status_code == 200
        assert asyncio.run(call()) == "pong"
        assert len(lines) < 50, f"{len(lines)} log lines:\n" + "".join(lines[:20])
    finally:
        for sock in sockets:
            sock.close()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
