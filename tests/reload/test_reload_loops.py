"""No reload loops: only the files a manifest depends on are watched (never whole folders), only a
content change counts, and repeated failures back off.

The issue's example runs for real: `mcprt up` with its stderr redirected to a log file in the
manifest's folder; while the manifest is broken every log line used to trigger another failed
reload (38 in 4 s).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from reload_served import child_env, eventually, http_client, text_of
from reload_support import Project, wait_for

from mcprt.pipeline import Runtime
from mcprt.reload import Reloader, watch
from mcprt.reload.reloader import BACKOFF_AFTER, BACKOFF_FIRST_SECONDS
from tests.support.served import BANNER_URL, launch_command


@contextmanager
def up_logging_into_the_folder(project: Project) -> Iterator[tuple[str, Path]]:
    """`mcprt up` over HTTP whose stderr is a file beside the manifest (`2> server.log`)."""
    log = project.root / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(launch_command(project.manifest, "--transport", "http", "--port", "0"),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
                                   env=child_env(MCPRT_LOG_LEVEL="debug"), cwd=project.root)
        try:
            deadline = time.monotonic() + 30
            url = None
            while url is None:
                match = BANNER_URL.search(log.read_text())
                url = match.group(1) if match else None
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("mcprt up did not start:\n" + log.read_text())
                time.sleep(0.05)
            yield url, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _manifest_health(url: str) -> dict:
    return httpx.get(url.rsplit("/", 1)[0] + "/healthz", timeout=5).json()["manifest"]


async def test_a_log_file_beside_a_broken_manifest_starts_no_reload_loop(project: Project) -> None:
    with up_logging_into_the_folder(project) as (url, log):
        async with http_client(url) as client:
            project.write("mcp.yaml", "version: 1\nsources:\n  notes: {python: [\n")
            async def failed() -> bool:
                return _manifest_health(url)["status"] == "error"

            await eventually(failed, what="the failed reload")
            size = log.stat().st_size
            for n in range(20):  # calls write log lines into the watched folder for ~3 s
                result = await client.call_tool("search", {"query": f"q{n}"})
                assert not result.is_error, text_of(result)
                await asyncio.sleep(0.15)
            assert log.stat().st_size > size  # the log really was being written meanwhile
            assert _manifest_health(url)["failures"] == 1, log.read_text()[-3000:]

            project.write("mcp.yaml", project.manifest_text(tools="search: {name: repaired}"))

            async def repaired() -> bool:
                return "repaired" in [t.name for t in (await client.list_tools()).tools]

            await eventually(repaired, what="the fix")
            health = _manifest_health(url)
            assert health["status"] == "ok" and health["failures"] == 1 and health["reloads"] == 1


@pytest.fixture
async def watching(runtime: Runtime, reloader: Reloader) -> AsyncIterator[Reloader]:
    task = asyncio.create_task(watch(runtime))
    await asyncio.sleep(0.15)  # the folder watchers are up
    try:
        yield reloader
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_save_without_an_edit_is_no_reload(project: Project, watching: Reloader) -> None:
    text = project.manifest.read_text()
    for _ in range(3):
        project.write("mcp.yaml", text)
        project.save_atomically(project.module_file.name, project.module_file.read_text())
    await asyncio.sleep(0.5)
    assert watching.status.reloads == 0 and watching.status.failures == 0
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: edited}"))
    await wait_for(lambda: watching.status.reloads == 1, what="the real edit")


async def test_while_broken_only_named_files_count(project: Project, watching: Reloader) -> None:
    project.write("mcp.yaml", project.manifest_text() + "  spec:\n    openapi: later.json\n")
    await wait_for(lambda: watching.status.failures == 1, what="the failed reload (missing spec)")
    for n in range(5):  # other files in the same folder: logs, notes, editor droppings
        project.write("server.log", "line\n" * (n + 1))
        project.write(f"notes-{n}.txt", "x")
    await asyncio.sleep(0.5)
    assert watching.status.failures == 1
    project.write("later.json", '{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": '
                                '{"/p": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}')
    await wait_for(lambda: watching.status.ok is True, what="the named spec, once created")


async def test_repeated_failures_back_off_and_a_success_resets(project: Project, reloader: Reloader) -> None:
    delays = []
    for n in range(BACKOFF_AFTER + 2):
        project.write("mcp.yaml", f"version: 1\nsources: [{n}\n")
        assert not (await reloader.reload("files")).ok
        delays.append(reloader.backoff_seconds())
    assert delays == [0, 0, BACKOFF_FIRST_SECONDS, 2 * BACKOFF_FIRST_SECONDS, 4 * BACKOFF_FIRST_SECONDS]
    project.write("mcp.yaml", project.manifest_text())
    assert (await reloader.reload("files")).ok
    assert reloader.backoff_seconds() == 0


async def test_a_backed_off_attempt_waits(project: Project, watching: Reloader) -> None:
    for n in range(BACKOFF_AFTER):
        project.write("mcp.yaml", f"version: 1\nsources: [{n}\n")
        await wait_for(lambda: watching.status.failures == n + 1, what=f"failure {n + 1}")
    asked = time.monotonic()
    project.write("mcp.yaml", project.manifest_text(tools="search: {name: after_backoff}"))
    await wait_for(lambda: watching.status.ok is True, what="the fix after the back-off")
    assert time.monotonic() - asked >= BACKOFF_FIRST_SECONDS
