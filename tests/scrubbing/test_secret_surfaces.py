"""Faults 2-5 of the Python trial: a configured secret (`API_KEY`, an OpenAPI source's `api_key` and a proxied
server's `env:`) reached an operator or a terminal on paths the scrubbing did not cover. Each given input is a
case here, end to end: a real `mcprt up` (HTTP and stdio), the SDK client, `mcprt status`, the CLI commands.

- a reload error quoting the key (an import-time exception): `/status`, `/status.json` and
  `mcprt status --json` showed it raw, only the log line was scrubbed (`/metrics` and `/healthz` carry no
  error text: labels are names, health is counts);
- binary content: a Python `bytes` result (the key at byte offsets 0, 1, 3 and 5), a Python bytes resource,
  a proxied server's octet-stream resource, image, audio and embedded blob: the key went out as the base64
  of its bytes, here and in `mcprt call FILE`;
- `print()` to stdout and stderr in a Python tool reached the server log and the terminal unscrubbed
  (and over stdio it must not corrupt the MCP stream);
- `mcprt show` (text and `--json`) and `mcprt tools` (the table) printed a docstring's and a default's key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from tests.support.cli import mcprt_process
from tests.support.served import child_env, http_client, mcprt_http, stdio_up, text_of
from tests.support.zygote import script_command_yaml

HERE = Path(__file__).parent
KEY = "sk-live-SUPERSECRET-1234567890"
OFFSETS = ("", "d", "abc", "data:")  # the key at byte offsets 0, 1, 3 and 5 (every base64 alignment)


def _project(folder: Path, *, proxied: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "secret_tools.py", folder / "mytools.py")
    (folder / ".env").write_text(f"API_KEY={KEY}\n")
    (folder / "api.json").write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "a", "version": "1"},
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}))
    local = (f"  local:\n    command: {script_command_yaml(HERE / 'binary_server.py')}\n"
             "    env: {SRV_KEY: \"${API_KEY}\"}\n"
             "    tools: {large_image: {max_result_bytes: 4MB}}\n") if proxied else ""
    manifest = folder / "mcp.yaml"
    manifest.write_text(
        "version: 1\nsources:\n"
        "  py:\n    python: mytools\n"
        "    resources: {\"py://blob\": mytools:blob_resource, \"py://large\": mytools:large_resource}\n"
        f"{local}"
        "  api:\n    openapi: api.json\n    base_url: http://127.0.0.1:9\n"
        "    auth: {api_key: {name: X-Api-Key, in: header, value: \"${API_KEY}\"}}\n")
    return manifest


def _decoded(blob: str) -> bytes:
    return base64.b64decode(blob)


def test_a_reload_error_quoting_the_key_is_scrubbed_on_every_operator_surface(tmp_path: Path) -> None:
    manifest = _project(tmp_path / "p")
    with mcprt_http(manifest, env=child_env()) as up:
        module = manifest.parent / "mytools.py"
        module.write_text(module.read_text() + f'\nraise RuntimeError("cannot connect with key {KEY}")\n')
        up.wait_log("importing 'mytools' failed", timeout=30)
        status = httpx.get(f"{up.base}/status.json", timeout=10).json()
        errors = status["reload"]["errors"]
        assert errors and "cannot connect with key [redacted]" in errors[0], errors
        surfaces = {
            "/status.json": json.dumps(status),
            "/status": httpx.get(f"{up.base}/status", timeout=10).text,
            "log": up.log(),
        }
        printed = mcprt_process("status", "--json", up.base, cwd=tmp_path, forked=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        surfaces["mcprt status --json"] = printed.stdout + printed.stderr
        table = mcprt_process("status", up.base, cwd=tmp_path, forked=True, timeout=60)
        surfaces["mcprt status"] = table.stdout + table.stderr
    assert "cannot connect with key [redacted]" in surfaces["/status"]
    assert "cannot connect with key [redacted]" in surfaces["mcprt status"]
    leaked = sorted(name for name, text in surfaces.items() if KEY in text or "SUPERSECRET" in text)
    assert leaked == [], leaked


def test_binary_content_holding_the_key_is_scrubbed_on_every_path(tmp_path: Path) -> None:
    manifest = _project(tmp_path / "p", proxied=True)
    with mcprt_http(manifest, "--no-reload", env=child_env(), startup_timeout=60) as up:
        async def calls() -> dict[str, bytes]:
            out: dict[str, bytes] = {}
            async with http_client(up.url) as client:
                for prefix in OFFSETS:
                    result = await asyncio.wait_for(client.call_tool("enc", {"form": prefix}), 30)
                    assert not result.is_error, text_of(result)
                    out[f"enc {prefix!r}"] = _decoded(result.content[0].resource.blob)  # type: ignore[union-attr]
                for uri in ("py://blob", "srv://blob"):
                    read = await asyncio.wait_for(client.read_resource(uri), 30)
                    out[uri] = _decoded(read.contents[0].blob)  # type: ignore[union-attr]
                media = await asyncio.wait_for(client.call_tool("media", {}), 30)
                assert not media.is_error, text_of(media)
                image, audio, embedded = media.content
                out["image"] = _decoded(image.data)  # type: ignore[union-attr]
                out["audio"] = _decoded(audio.data)  # type: ignore[union-attr]
                out["embedded"] = _decoded(embedded.resource.blob)  # type: ignore[union-attr]
            return out

        decoded = asyncio.run(calls())
        log = up.log()
    expected = {**{f"enc {p!r}": p.encode() + b"[redacted]" for p in OFFSETS},
                "py://blob": b"key=[redacted]", "srv://blob": b"key=[redacted]",
                "image": b"\x89PNG[redacted]\x00tail", "audio": b"RIFF1[redacted]\x00tail",
                "embedded": b"ab[redacted]\x00tail"}
    assert decoded == expected
    assert KEY not in log
    # `mcprt call FILE`: the same result printed by the CLI
    for prefix in OFFSETS:
        run = mcprt_process("call", str(manifest), "enc", "--args", json.dumps({"form": prefix}),
                            cwd=manifest.parent, forked=True, timeout=90)
        assert run.returncode == 0, run.stderr
        blob = json.loads(run.stdout)["content"][0]["resource"]["blob"]
        assert _decoded(blob) == prefix.encode() + b"[redacted]"
        assert KEY not in run.stdout + run.stderr


def test_a_large_blob_holding_the_key_is_still_scrubbed_through_a_real_call(tmp_path: Path) -> None:
    """Review of prunedepth, item 2: a base64 payload was decoded and searched on the event loop (10 MB
    ≈ 21 ms, every session waiting); past 1,000,000 characters it is scrubbed in a worker thread
    (`Scrubber.scrub_value_async`/`scrub_prose_async`; that it goes to a thread is checked in
    test_scrubber.py), and still scrubbed here, served: a Python bytes resource and a proxied server's
    resource (resources/read) and image (tools/call) of 1.5 MB, the key near their end."""
    manifest = _project(tmp_path / "p", proxied=True)
    large = bytes(range(256)) * 6000
    log = tmp_path / "stderr.log"

    async def calls() -> dict[str, bytes]:  # over stdio: the SDK's HTTP client refuses an event past 1 MiB
        out: dict[str, bytes] = {}
        with open(log, "w") as errlog:
            async with Client(stdio_client(stdio_up(manifest, env=child_env()), errlog=errlog),  # type: ignore[arg-type]
                              mode="legacy") as client:
                for uri in ("py://large", "srv://large"):
                    read = await asyncio.wait_for(client.read_resource(uri), 60)
                    assert len(read.contents[0].blob) > 1_000_000  # type: ignore[union-attr]
                    out[uri] = _decoded(read.contents[0].blob)  # type: ignore[union-attr]
                image = await asyncio.wait_for(client.call_tool("large_image", {}), 60)
                assert not image.is_error, text_of(image)
                assert image.content[0].type == "image", text_of(image)[:500]
                out["image"] = _decoded(image.content[0].data)  # type: ignore[union-attr]
                small = await asyncio.wait_for(client.read_resource("py://blob"), 30)  # inline, as before
                out["py://blob"] = _decoded(small.contents[0].blob)  # type: ignore[union-attr]
        return out

    decoded = asyncio.run(calls())
    scrubbed = large + b"[redacted]end"
    assert decoded == {"py://large": scrubbed, "srv://large": scrubbed, "image": scrubbed,
                       "py://blob": b"key=[redacted]"}
    assert KEY not in log.read_text()


def test_prints_of_a_python_tool_are_scrubbed_and_keep_the_stdio_stream_whole(tmp_path: Path) -> None:
    manifest = _project(tmp_path / "p")
    log = tmp_path / "stderr.log"

    async def over_stdio() -> str:
        with open(log, "w") as errlog:
            async with Client(stdio_client(stdio_up(manifest, env=child_env()), errlog=errlog),  # type: ignore[arg-type]
                              mode="legacy") as client:
                result = await asyncio.wait_for(client.call_tool("printer", {}), 30)
                again = await asyncio.wait_for(client.call_tool("described", {}), 30)  # the stream still answers
                assert text_of(again) == "done"
                return text_of(result)

    assert asyncio.run(over_stdio()) == "ok"
    deadline = time.monotonic() + 10
    while "split [redacted]" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    written = log.read_text()
    for line in ("print key [redacted]", "stderr key [redacted]", "split [redacted]"):
        assert line in written, written[-3000:]
    assert "SUPERSECRET" not in written
    with mcprt_http(manifest, "--no-reload", env=child_env()) as up:  # HTTP: prints to stderr reach the log
        async def call() -> str:
            async with http_client(up.url) as client:
                return text_of(await asyncio.wait_for(client.call_tool("printer", {}), 30))

        assert asyncio.run(call()) == "ok"
        up.wait_log("stderr key [redacted]", timeout=10)
        assert "SUPERSECRET" not in up.log()
    # `mcprt call FILE`: on the terminal
    run = mcprt_process("call", str(manifest), "printer", cwd=manifest.parent, forked=True, timeout=90)
    assert run.returncode == 0, run.stderr
    assert "print key [redacted]" in run.stderr and "stderr key [redacted]" in run.stderr, run.stderr
    assert "SUPERSECRET" not in run.stdout + run.stderr


@pytest.mark.parametrize("args", [
    ("show", "{m}", "described"), ("show", "{m}", "described", "--json"), ("tools", "{m}"), ("tools", "{m}", "--json"),
    ("call", "{m}", "described"),
    ("diff", "{old}", "{m}"), ("diff", "{old}", "{m}", "--format", "json"), ("diff", "{old}", "{m}", "--format", "markdown"),
], ids=lambda a: " ".join(x for x in a if x not in ("{m}", "{old}")))
def test_cli_outputs_of_tool_definitions_show_no_key(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Fault 5. `show` (text and JSON) and the `tools` table printed the key (a docstring's, a default's);
    `diff` from a manifest whose tool did not quote it printed `description changed: … → Uses key sk-live-…`
    once command output was no longer scrubbed as text (review of scrubfix, problem 9: `diff m m` and
    `validate` printed no definition at all, so they could not fail). `tools --json` and `call` print what
    tools/list and a call send, scrubbed as values."""
    manifest = _project(tmp_path / "p")
    old_module = manifest.parent / "oldtools.py"
    old_module.write_text((manifest.parent / "mytools.py").read_text().replace(f"Uses key {KEY}", "Uses a key"))
    old = manifest.parent / "old.yaml"
    old.write_text(manifest.read_text().replace("python: mytools", "python: oldtools"))
    offline = ("--offline",) if args[0] in ("show", "tools") else ()
    run = mcprt_process(*(a.format(m=manifest, old=old) for a in args), *offline, cwd=manifest.parent, forked=True,
                        timeout=90)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "SUPERSECRET" not in output, output
    if args[0] == "show":
        assert "Uses key [redacted] internally." in output and '"default": "[redacted]"' in output, output
    if args[0] == "diff":
        assert "Uses a key internally. → Uses key [redacted] internally." in run.stdout, run.stdout
    if args[0] == "show" and "--json" in args:
        assert json.loads(run.stdout)["definition"]["inputSchema"]["properties"]["key"]["default"] == "[redacted]"



def test_machine_readable_output_keeps_a_number_holding_a_secrets_digits(tmp_path: Path) -> None:
    """Review of scrubfix, problem 3: `mcprt call`'s and `show --json`'s JSON was scrubbed as text, so with a
    basic-auth password `4242` configured, a result's `424299` was written `[redacted]99` and the JSON did not
    parse. Data is scrubbed as values before it is serialized (a string holding the PIN still is)."""
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / ".env").write_text("PIN=4242\n")
    (folder / "counting.py").write_text(
        "def count() -> dict:\n    \"\"\"Counts 424299 items.\"\"\"\n    return {'n': 424299, 'items': [1, 2], 'note': 'pin 4242'}\n")
    (folder / "api.json").write_text(json.dumps({
        "openapi": "3.0.3", "info": {"title": "a", "version": "1"},
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}))
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  py:\n    python: counting\n"
                        "  api:\n    openapi: api.json\n    base_url: http://127.0.0.1:9\n"
                        "    auth: {basic: {username: u, password: \"${PIN}\"}}\n")
    run = mcprt_process("call", str(manifest), "count", cwd=folder, forked=True, timeout=90)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["structuredContent"] == {"n": 424299, "items": [1, 2], "note": "pin [redacted]"}, result
    shown = mcprt_process("show", str(manifest), "count", "--json", "--offline", cwd=folder, forked=True, timeout=90)
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)  # valid JSON; the description is prose, scrubbed as tools/list sends it
    assert facts["definition"]["description"] == "Counts [redacted]99 items." and isinstance(facts["size_bytes"], int)


def test_metrics_keep_a_value_holding_a_secrets_digits() -> None:
    """Review of scrubfix, problem 3: /metrics was scrubbed as text, so a histogram sum `4242.0` became
    `[redacted].0` with `4242` configured and the scrape failed to parse. Its labels are names, never text."""
    from prometheus_client.parser import text_string_to_metric_families

    from mcprt.observability.metrics import Metrics
    from mcprt.observability.state import ServerState
    from mcprt.scrubbing import SECRETS

    before = SECRETS.saved()
    SECRETS.add("4242")
    try:
        metrics = Metrics(lambda: ServerState("s", "0", "stdio", None, 0.0, [], [], 1, {}))
        metrics.observe_operation("tools/list", 14242.0)
        text = metrics.render().decode()
    finally:
        SECRETS.restore(before)
    sums = [s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "mcp_server_operation_duration_seconds_sum"]
    assert sums == [14242.0], text
