"""Under `MCPRT_LOG_FORMAT=json` (the Docker image's setting) every line `mcprt up` writes on stderr is
JSON, the banner included.

Found by an operator trial: the serving banner (`mcprt 0.1.0: serving 'x' (3 tools) at …`), the stdio
metrics listener's address line and the audit writer's failures were bare text among the JSON log
lines, so a log pipeline parsing JSON lines choked on the first line of every start."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from observability_support import ALICE_TOKEN, Seen, env_for, pets_app, write_manifest

from tests.support.everything import command_source
from tests.support.everything import write_manifest as write_proxy_manifest
from tests.support.served import child_env, http_client, launch_command, mcprt_http, text_of
from tests.support.upstream import serve_app


def _json_lines(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}\nin:\n{''.join(lines)}") from None
    return records


async def test_every_http_stderr_line_is_json(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base, observability="{audit: logs/audit.jsonl}")
        with mcprt_http(manifest, env=env_for(MCPRT_LOG_FORMAT="json")) as up:
            async with http_client(up.url, token=ALICE_TOKEN) as client:
                assert not (await client.call_tool("list_pets", {})).is_error
            # the audit log's folder moved away and a file in its place: SIGHUP's reopen fails
            (tmp_path / "logs").rename(tmp_path / "logs.old")
            (tmp_path / "logs").write_text("")
            manifest.write_text(manifest.read_text() + "oops: [\n")  # a broken save: its errors are logged
            up.signal(signal.SIGHUP)
            up.wait_log("reload failed")
            up.wait_log("audit log not writable")
            assert up.stop() == 0
            records = _json_lines(up.log().splitlines())  # log(): every line, once exited
    banner = records[0]
    assert banner["msg"].startswith("mcprt ") and banner["url"] == up.url, banner
    assert banner["level"] == "info" and banner["transport"] == "http" and banner["tools"] == 2
    assert banner["server"] == "pets-ops" and banner["ts"].endswith("Z")
    audit = next(r for r in records if r["msg"].startswith("audit log not writable"))
    assert audit["level"] == "error" and audit["path"].endswith("audit.jsonl"), audit
    assert any(r["msg"] == "call" and r["tool"] == "list_pets" for r in records)
    assert ALICE_TOKEN not in up.log()


async def test_every_stdio_stderr_line_is_json(tmp_path: Path) -> None:
    """Over stdio, with the metrics listener: its address line is JSON too, with the URL as a field."""
    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base, observability="{listen: '127.0.0.1:0'}")
        command = launch_command(manifest, "--no-reload")
        params = StdioServerParameters(command=command[0], args=command[1:], env=env_for(MCPRT_LOG_FORMAT="json"),
                                       cwd=str(tmp_path))
        errlog_path = tmp_path / "stderr.log"
        with errlog_path.open("w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:  # type: ignore[arg-type]
                assert not (await client.call_tool("list_pets", {})).is_error
                deadline = time.monotonic() + 30  # stderr is written by the child: bounds a hang only
                while '"msg": "call"' not in errlog_path.read_text() and time.monotonic() < deadline:
                    time.sleep(0.05)
    records = _json_lines(errlog_path.read_text().splitlines(keepends=True))
    listener = next(r for r in records if r["msg"].startswith("mcprt: metrics and status at "))
    assert listener["url"].startswith("http://127.0.0.1:") and listener["url"].endswith("/status"), listener
    banner = next(r for r in records if r["msg"].endswith(" over stdio"))
    assert banner["transport"] == "stdio" and banner["tools"] == 2, banner
    assert any(r["msg"] == "call" for r in records)


def test_a_stdio_only_listener_asked_for_over_http_is_said(tmp_path: Path) -> None:
    """Found by the same trial: `mcprt up --transport http --metrics-port 9464` (or
    `server.observability.listen`) started no listener and said nothing; /metrics is on the MCP port."""
    import httpx

    with serve_app(pets_app(Seen())) as base:
        manifest = write_manifest(tmp_path, base, observability="{listen: '127.0.0.1:0'}")
        with mcprt_http(manifest, "--no-reload", env=env_for()) as up:
            log = up.wait_log("apply over stdio only")
            headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
            assert httpx.get(f"{up.base}/metrics", headers=headers, timeout=10).status_code == 200
        assert "given=server.observability.listen" in log and "metrics and status at" not in log, log


WARNING_TOOLS = '''
import warnings


def old_way(n: int) -> int:
    """Warns as a deprecated library would, then answers."""
    warnings.warn("old_way is deprecated; use new_way", DeprecationWarning, stacklevel=1)
    warnings.warn("careful with n", UserWarning, stacklevel=1)
    return n
'''


async def test_python_warnings_are_json_log_lines(tmp_path: Path) -> None:
    """Soak trial F3: mcprt's own `resources/subscribe` and `unsubscribe` of a proxied server printed the
    SDK's `MCPDeprecationWarning` raw (two lines each: file:line and the source text), and so does any
    Python warning. Now a subscribe and unsubscribe warn nothing, and a warning (here a `python:` tool's)
    is a JSON line of the `py.warnings` logger; every stderr line is JSON."""
    (tmp_path / "warner.py").write_text(WARNING_TOOLS)
    manifest = write_proxy_manifest(tmp_path, command_source("every"), "  py:\n    python: [warner:old_way]\n")
    with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_LOG_FORMAT="json"),
                    startup_timeout=60) as up:
        async with http_client(up.url) as client:
            await client.subscribe_resource("test://watched-resource")
            assert text_of(await client.call_tool("touch_watched", {})) == "notified 1"
            await client.unsubscribe_resource("test://watched-resource")
            assert text_of(await client.call_tool("old_way", {"n": 3})) == "3"
        up.wait_log("careful with n")
        assert up.stop() == 0
        records = _json_lines(up.log().splitlines())  # log(): every line, once exited
    assert "MCPDeprecationWarning" not in up.log()
    warned = [r for r in records if r.get("logger") == "py.warnings" or "careful with n" in r.get("msg", "")]
    assert any("careful with n" in r["msg"] and r["level"] == "warning" for r in warned), warned
