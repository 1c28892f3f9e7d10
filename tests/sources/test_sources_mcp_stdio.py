"""A stdio MCP server (the SDK-built fixture in fixtures/mcp_server.py) as a `command:` source:
listed, called, shaped, followed through tool-list changes, restarted after a crash, and shut down
without leaving a process behind."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path

import pytest
from sources_support import MCP_SERVER, PYTHON, call, eventually, json_of, running, script_command, text_of, write_manifest

from mcprt.errors import ManifestError
from mcprt.toolset.invoke import call_tool
from mcprt.sources.mcp.process import is_alive


def fixture_manifest(folder: Path, tools: dict | None = None, flags: tuple[str, ...] = (), fresh: bool = False,
                     **settings: str) -> Path:
    """The fixture server as source `fx` (written as JSON, which is YAML too); forked from the suite's zygote
    unless `fresh`: tests of the pid mcprt knows it by, or of what becomes of its grandchildren
    (tests/support/zygote.py says why)."""
    source: dict = {
        "command": [PYTHON, str(MCP_SERVER), *flags] if fresh else script_command(MCP_SERVER, *flags),
        "env": {"FIXTURE_GREETING": "hello from the manifest"},
        "cwd": "work",
    }
    if tools:
        source["tools"] = tools
    source.update(settings)
    return write_manifest(folder, json.dumps({"version": 1, "sources": {"fx": source}}, indent=2))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path


async def test_tools_are_listed_called_pruned_and_renamed(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mcprt.source.fx")
    manifest = fixture_manifest(folder, tools={"echo": {"name": "say"}, "items.list": {"prune": "[].{id: id, name: name}"}})
    async with running(manifest) as (runtime, compiled):
        assert runtime.pool.running["fx"].local_files() == [MCP_SERVER.resolve()]  # edits restart it on reload
        listed = {tool["name"]: tool for tool in compiled.toolset.list_tools()}
        assert set(listed) == {"say", "add", "items_list", "count", "add_tool", "whoami", "client_header",
                                "spawn_child", "fail", "nap", "ask", "sample", "chatty"}
        assert listed["say"]["title"] == "Echo"
        assert listed["say"]["annotations"] == {"readOnlyHint": True}
        assert listed["say"]["inputSchema"]["type"] == "object"
        assert listed["say"]["inputSchema"]["required"] == ["text"]

        said = await call(compiled, "say", {"text": "hi"})
        assert said["content"] == [{"type": "text", "text": "hi"}]
        assert said["structuredContent"] == {"result": "hi"}
        assert (await call(compiled, "add", {"a": 2, "b": 40}))["structuredContent"] == {"result": 42}

        pruned = await call(compiled, "items_list", {"count": 2})  # upstream name "items.list", sanitized
        assert pruned == {"content": [{"type": "text", "text": '[{"id":0,"name":"item 0"},{"id":1,"name":"item 1"}]'}]}

        who = json_of(await call(compiled, "whoami"))
        assert who["greeting"] == "hello from the manifest"
        assert Path(who["cwd"]) == (folder / "work").resolve()

        failed = await call(compiled, "fail", {"reason": "x"})
        assert failed["isError"] is True

        bad = await call(compiled, "add", {"a": "two"})
        assert bad["isError"] is True and "'two' is not of type 'integer'" in text_of(bad)
    assert "fixture server starting" in caplog.messages  # the server's stderr, line by line


async def test_the_server_gets_the_hosts_default_variables_and_its_env_never_mcprts_secrets(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party server behind mcprt read mcprt's whole environment — another source's token
    (`GITHUB_TOKEN`), `server.auth`'s — as server-everything's `get-env` showed; the SDK's own stdio
    client gives a server HOME, LOGNAME, PATH, SHELL, TERM and USER only, plus what is configured."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_this_server")
    monkeypatch.setenv("SHARED_SETTING", "on")
    manifest = fixture_manifest(folder)
    source = json.loads(manifest.read_text())
    source["sources"]["fx"]["env"]["SHARED_SETTING"] = "${SHARED_SETTING}"  # the documented way to pass one
    manifest.write_text(json.dumps(source))
    async with running(manifest) as (_, compiled):
        given = set(json_of(await call(compiled, "whoami"))["variables"])
    assert "GITHUB_TOKEN" not in given
    assert {"FIXTURE_GREETING", "SHARED_SETTING", "PATH"} <= given
    assert given <= {"FIXTURE_GREETING", "SHARED_SETTING", "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER",
                     "LC_CTYPE"}  # (Python sets LC_CTYPE itself when it coerces the C locale, PEP 538)


async def test_an_optional_pass_through_of_an_unset_variable_leaves_it_unset(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`SSL_CERT_FILE: ${SSL_CERT_FILE:-}` (the README's way to pass on what may be unset) gave the
    server SSL_CERT_FILE="" when mcprt had none, and OpenSSL then loads no CA file at all."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    manifest = fixture_manifest(folder)
    source = json.loads(manifest.read_text())
    source["sources"]["fx"]["env"].update(SSL_CERT_FILE="${SSL_CERT_FILE:-}", HTTPS_PROXY="${HTTPS_PROXY:-}")
    manifest.write_text(json.dumps(source))
    async with running(manifest) as (_, compiled):
        given = set(json_of(await call(compiled, "whoami"))["variables"])
    assert "HTTPS_PROXY" in given
    assert "SSL_CERT_FILE" not in given


async def test_progress_from_upstream_reaches_the_caller(folder: Path) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async with running(fixture_manifest(folder)) as (_, compiled):
        result = await call(compiled, "count", {"n": 3}, progress=progress)
    assert text_of(result) == "counted to 3"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.parametrize("era", ["2026-07-28", "legacy"])
async def test_upstream_list_changed_relists_and_fires_the_callback(folder: Path, era: str) -> None:
    manifest = fixture_manifest(folder, flags=("--modern-only",) if era != "legacy" else ())
    async with running(manifest) as (runtime, compiled):
        source = runtime.pool.running["fx"]
        assert (source._client.protocol_version == "2026-07-28") == (era != "legacy")  # noqa: SLF001
        changed: list[str] = []
        runtime.on_upstream_tools_changed(changed.append)

        assert text_of(await call(compiled, "add_tool", {"name": "late_tool"})) == "added"
        await eventually(lambda: changed)
        assert changed == ["fx"]
        assert "late_tool" in [op.name for op in source.operations]

        rebuilt = await runtime.compile()  # what the runtime does on the callback
        assert rebuilt.sync.reused == ["fx"] and rebuilt.sync.opened == []
        assert text_of(await call(rebuilt, "late_tool")) == "I am late_tool"


async def test_an_unchanged_source_survives_a_reload_and_a_changed_prune_does_not_restart_it(folder: Path) -> None:
    manifest = fixture_manifest(folder)
    async with running(manifest) as (runtime, compiled):
        pid = json_of(await call(compiled, "whoami"))["pid"]
        fixture_manifest(folder, tools={"whoami": {"prune": "pid"}})
        again = await runtime.compile()
        assert again.sync.reused == ["fx"]
        assert text_of(await call(again, "whoami")) == str(pid)


async def test_a_killed_server_answers_restarting_then_serves_again(folder: Path) -> None:
    async with running(fixture_manifest(folder, fresh=True)) as (runtime, compiled):
        source = runtime.pool.running["fx"]
        pid = json_of(await call(compiled, "whoami"))["pid"]
        assert source.connector.process.pid == pid

        in_flight = asyncio.create_task(call(compiled, "nap", {"seconds": 30}))
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        interrupted = await asyncio.wait_for(in_flight, 5)  # no hanging on a dead server
        assert interrupted["isError"] is True
        # it reached the server (and may be what ended it): the model is told so, not just "try again"
        assert text_of(interrupted) == ("nap: the connection to server 'fx' ended before it answered. The upstream "
                                        "may or may not have acted on it: if the call changes something, check "
                                        "first whether it took effect (source 'fx' is restarting (attempt 1); "
                                        "try again in a few seconds).")

        refused = await call(compiled, "whoami")
        retry_after = refused.get("_meta", {}).get("mcprt/retryAfter")
        assert retry_after in (1, 2, 3), refused  # the 1 s backoff, rounded up, and a second to come up
        assert refused == {
            "content": [{"type": "text", "text": "source 'fx' is restarting (attempt 1); try again in a few seconds"}],
            "isError": True,
            "_meta": {"mcprt/retryAfter": retry_after},
        }

        async def served() -> dict | None:
            result = await call(compiled, "whoami")
            return None if result.get("isError") else result

        back = await eventually(served, timeout=10, interval=0.2)  # after the 1 s backoff
        assert json_of(back)["pid"] != pid
        assert not is_alive(pid)


async def test_restart_delay_sets_the_first_wait_and_each_attempt_doubles_it(
        folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mcprt.source.fx")
    async with running(fixture_manifest(folder, fresh=True, restart_delay="200ms")) as (runtime, compiled):
        source = runtime.pool.running["fx"]
        for attempt, delay in ((1, "0.2s"), (2, "0.4s")):  # one crash after another: the count goes on
            pid = json_of(await call(compiled, "whoami"))["pid"]
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: source.state == "restarting", timeout=5)

            async def served() -> dict | None:
                result = await call(compiled, "whoami")
                return None if result.get("isError") else result

            assert json_of(await eventually(served, timeout=10, interval=0.05))["pid"] != pid
            assert f"restarting in {delay} (attempt {attempt})" in caplog.text


async def test_closing_ends_the_server_and_its_children(folder: Path) -> None:
    async with running(fixture_manifest(folder, fresh=True)) as (runtime, compiled):
        server = json_of(await call(compiled, "whoami"))["pid"]
        grandchild = int(text_of(await call(compiled, "spawn_child")))
        assert is_alive(server) and is_alive(grandchild)
    assert not is_alive(server)
    assert not is_alive(grandchild)


async def test_a_crash_also_ends_the_crashed_servers_children(folder: Path) -> None:
    async with running(fixture_manifest(folder, fresh=True)) as (runtime, compiled):
        server = json_of(await call(compiled, "whoami"))["pid"]
        grandchild = int(text_of(await call(compiled, "spawn_child")))
        os.kill(server, signal.SIGKILL)
        await eventually(lambda: not is_alive(grandchild), timeout=5)


async def test_a_slow_upstream_call_times_out_as_a_tool_error(folder: Path) -> None:
    manifest = fixture_manifest(folder, tools={"nap": {"timeout": "300ms"}})
    async with running(manifest) as (_, compiled):
        late = await call_tool(compiled.toolset.get("nap"), {"seconds": 5})
        assert late.is_error is True
        assert text_of(late.to_wire()) == "nap: the server did not answer within 0.3s"
        assert late.outcome == "timeout"  # its own time limit passed, the server silent: not a refusal before the call
        assert text_of(await call(compiled, "echo", {"text": "still here"})) == "still here"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("[no-such-program-xyz]", "source 'fx': command 'no-such-program-xyz' was not found on PATH"),
        ("[sh, -c, 'echo missing config >&2; exit 3']",
         "source 'fx': the server exited with code 3; its last stderr lines: missing config"),
        ("[sh, -c, 'sleep 30']",
         "source 'fx': the server did not finish starting (initialize and tools/list) in time (startup_timeout: 0.5s)"),
    ],
)
async def test_a_server_that_cannot_start_is_a_diagnostic_at_its_command(
    tmp_path: Path, command: str, expected: str
) -> None:
    manifest = write_manifest(tmp_path, f"""
        version: 1
        sources:
          fx:
            command: {command}
            startup_timeout: 500ms
    """)
    with pytest.raises(ManifestError) as caught:
        async with running(manifest):
            pass
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (4, 14)
    assert diagnostic.message == expected


_NON_ASCII_SERVER = '''
from mcp.server import MCPServer

server = MCPServer("names", log_level="CRITICAL")
for upstream in ("größe", "grosse", "日本"):
    server.add_tool(lambda upstream=upstream: upstream, name=upstream, description=f"answers {upstream}")
server.run()
'''


async def test_non_ascii_upstream_names_keep_their_served_names(folder: Path) -> None:
    """Found by review: spelling names in ASCII at runtime served upstream `größe` as `grosse`, so `grosse` was
    renamed `grosse_2` and a client calling `grosse` reached `größe`. Served names stay as they always were; a name
    with no ASCII letter left is derived from a hash of its text (`tool_…`, stable under other tools' changes: trial
    i18n F3), where it was `tool` (then `tool_2` … by listing order)."""
    script = folder / "names_server.py"
    script.write_text(_NON_ASCII_SERVER, encoding="utf-8")
    manifest = write_manifest(folder, json.dumps({"version": 1, "sources": {"fx": {"command": script_command(script)}}}))
    async with running(manifest) as (runtime, compiled):
        # `日本` keeps nothing: `tool` and a hash of it (`naming.served_tool_name`; fixi2 changed it from `tool`)
        assert [tool["name"] for tool in compiled.toolset.list_tools()] == ["gr_e", "grosse", "tool_44da6bb"]
        assert text_of(await call(compiled, "grosse")) == "grosse"
        assert text_of(await call(compiled, "tool_44da6bb")) == "日本"
        assert text_of(await call(compiled, "gr_e")) == "größe"
