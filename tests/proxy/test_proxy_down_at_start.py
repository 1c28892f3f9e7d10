"""A proxied server that is down when `mcprt up` starts no longer keeps the gateway from starting.

Found by the operating review: one `command:` source whose program was missing (or which exited at
start) made `mcprt up` exit 2, so every other source of a production gateway was down with it. Now
the others serve; the dead one is a warning (one line), `down` on /status.json, 0 in
`mcprt_source_up`, named by /readyz (`degraded`, still ready), and retried with backoff: once its
program exists, its tools appear and clients get `tools/list_changed`. `--strict` (CI) and a
manifest whose every source is down still exit 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import httpx

from tests.support.cli import mcprt_process
from tests.support.served import ListChanged, http_client, mcprt_http, text_of

FIXTURE_SERVER = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"
TOOLS = 'def ping() -> str:\n    """Pong."""\n    return "pong"\n'
MANIFEST = """version: 1
sources:
  t: {python: tools}
  late: {command: ./late-server}
"""


def _folder(folder: Path, manifest: str = MANIFEST) -> Path:
    (folder / "tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(manifest)
    return folder / "mcp.yaml"


def test_a_dead_source_leaves_the_others_serving_and_comes_up_when_fixed(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    with mcprt_http(manifest, "--no-reload") as up:
        warned = [line for line in up.stderr if "late" in line and "down at start" in line]
        assert len(warned) == 1 and "warning: source 'late' is down at start: command './late-server' does " \
            "not exist" in warned[0], up.log()
        ready = httpx.get(f"{up.base}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
        assert ready.json()["sources_down"] == "late"
        sources = {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}
        assert sources["late"]["state"] == "down" and "does not exist" in sources["late"]["error"], sources
        assert sources["t"]["state"] == "up"
        assert 'mcprt_source_up{source="late"} 0.0' in httpx.get(f"{up.base}/metrics", timeout=10).text

        async def serve_then_fix() -> None:
            changed = ListChanged()
            async with http_client(up.url, message_handler=changed) as client:
                assert {t.name for t in (await client.list_tools()).tools} == {"ping"}
                assert text_of(await client.call_tool("ping", {})) == "pong"
                script = tmp_path / "late-server"
                script.write_text(f"#!/bin/sh\nexec {sys.executable} {FIXTURE_SERVER}\n")
                os.chmod(script, 0o755)
                assert await changed.wait(40), "no tools/list_changed once the source came up:\n" + up.log()
                with anyio.fail_after(10):
                    while "add" not in {t.name for t in (await client.list_tools()).tools}:
                        await anyio.sleep(0.1)
                assert text_of(await client.call_tool("add", {"a": 2, "b": 40})) == "42"

        anyio.run(serve_then_fix)
        assert httpx.get(f"{up.base}/readyz", timeout=10).json()["status"] == "ready"
        sources = {s["name"]: s for s in httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]}
        assert sources["late"]["state"] == "up", sources
        assert 'mcprt_source_up{source="late"} 1.0' in httpx.get(f"{up.base}/metrics", timeout=10).text
        assert up.stop() == 0
    assert "Traceback" not in up.log(), up.log()


def test_strict_and_an_all_dead_manifest_still_refuse_to_start(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    strict = mcprt_process("up", str(manifest), "--transport", "http", "--port", "0", "--strict", cwd=tmp_path)
    assert strict.returncode == 2, strict.stderr
    assert "mcp.yaml:4:19: source 'late': command './late-server' does not exist" in strict.stderr, strict.stderr
    dead = _folder(tmp_path, "version: 1\nsources:\n  late: {command: ./late-server}\n"
                             "  crash: {command: [sh, -c, 'exit 3']}\n")
    refused = mcprt_process("up", str(dead), "--transport", "http", "--port", "0", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "source 'late': command './late-server' does not exist" in refused.stderr, refused.stderr
    assert "source 'crash': the server exited with code 3" in refused.stderr, refused.stderr
    assert "2 errors" in refused.stderr and "down at start" not in refused.stderr, refused.stderr
