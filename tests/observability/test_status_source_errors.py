"""A restarting proxied server shows why on the status page, `/status.json` and `mcprt status`.

Found by an operator trial: a `command:` server whose process ended showed `restarting` with an empty
error column (the log said "the server process ended"); only a failed restart filled it in. And
`/healthz`'s `callable` still counted that source's tools."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.support.served import http_client, mcprt_http
from tests.support.zygote import script_command

FIXTURE = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"


async def test_a_restarting_source_says_why(tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(json.dumps({"version": 1, "sources": {"fx": {"command": script_command(FIXTURE)}}}))
    seen: list[dict] = []
    with mcprt_http(manifest, "--no-reload") as up:
        # Each kill is followed by a growing backoff (1, 2, 4 s) in the `restarting` state: the poll
        # below needs to land in one of those windows, however loaded the machine is.
        for _ in range(3):
            pid = await _server_pid(up.url)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 60  # bounds a hang only
            while time.monotonic() < deadline:
                (source,) = httpx.get(f"{up.base}/status.json", timeout=10).json()["sources"]
                if source["state"] == "restarting":
                    # the backoff is 1 s or more: /healthz, asked now, is in the same window
                    seen.append((source, httpx.get(f"{up.base}/healthz", timeout=10).json()))
                    break
                time.sleep(0.01)
            if seen:
                break
    assert seen, "the source was never seen restarting"
    source, health = seen[0]
    assert source["error"] == "the server process ended", seen
    # `callable` counted the tools of a restarting source (their calls are refused): none is callable now
    assert health["tools"] > 0 and health["callable"] == 0, health


async def _server_pid(url: str) -> int:
    deadline = time.monotonic() + 60  # the source restarts after its backoff
    while True:
        async with http_client(url) as client:
            result = await client.call_tool("whoami", {})
        if not result.is_error:
            return json.loads(result.content[0].text)["pid"]
        assert time.monotonic() < deadline, result
        time.sleep(0.2)
