"""Hot reload's baseline is the content the running tool set was compiled from (`reload.baseline`).

`mcprt up` records it right after the compile and loads the reloader only after its first answer;
an API description's baseline digest is the compile's own sha256, not a second hash. An edit made
between the compile and the watcher's start must still be reloaded, and no edit must mean no reload.
The subprocess tests drive a real `mcprt up` over stdio with hot reload on (the default), by raw
JSON-RPC lines so the edit lands right after the first tools/list, before the SDK or watcher load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcprt.manifest.loader import load_manifest
from mcprt.pipeline import Runtime
from mcprt.reload import reloader_for
from mcprt.reload.baseline import record_baseline
from mcprt.settings import Settings
from mcprt.sources.openapi.cache import writes_deferred
from mcprt.sources.openapi.loader import digests_recorded
from tests.support.raw_stdio import TIMEOUT, RawStdio


def _operation(operation_id: str, path: str) -> dict[str, Any]:
    return {path: {"get": {"operationId": operation_id, "summary": f"Run {operation_id}.",
                           "responses": {"200": {"description": "ok"}}}}}


def _write_spec(spec: Path, *operations: str) -> None:
    paths: dict[str, Any] = {}
    for name in operations:
        paths.update(_operation(name, f"/{name}"))
    spec.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}))


def _project(folder: Path) -> Path:
    _write_spec(folder / "api.json", "get_thing")
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {name: baseline}\nsources:\n  api:\n    openapi: api.json\n"
                        "    base_url: http://127.0.0.1:9\n")
    return manifest


class ReloadingStdio(RawStdio):
    """`mcprt up --transport stdio` with hot reload on (the default) and debug logs."""

    def __init__(self, manifest: Path, tmp: Path) -> None:
        super().__init__(manifest, tmp, log_level="debug", reload=True)

    def tool_names(self, request_id: int) -> list[str]:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/list"})
        return sorted(tool["name"] for tool in self.read_until(request_id)["result"]["tools"])


def _start(server: ReloadingStdio) -> list[str]:
    server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "baseline-test", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"})
    server.read_until(1)
    return server.tool_names(2)


def _warm_cache(manifest: Path, tmp: Path) -> None:
    server = ReloadingStdio(manifest, tmp)
    try:
        assert _start(server) == ["get_thing"]
    finally:
        assert server.close() == 0


@pytest.mark.parametrize("cache", ["cold", "warm"])
@pytest.mark.parametrize("edited", ["description", "manifest"])
def test_an_edit_right_after_the_first_answer_is_reloaded(tmp_path: Path, cache: str, edited: str) -> None:
    """Cold: the compile hashed the description beside its parse; warm: its digest came from the
    record under the file's identity. Either way the edit, made before the watcher could start,
    is seen as a change: the client hears list_changed and lists the new tools."""
    manifest = _project(tmp_path)
    if cache == "warm":
        _warm_cache(manifest, tmp_path)
    server = ReloadingStdio(manifest, tmp_path)
    try:
        assert _start(server) == ["get_thing"]
        if edited == "description":  # same size class, new content: an added operation
            _write_spec(tmp_path / "api.json", "get_thing", "get_other")
            expected = ["get_other", "get_thing"]
        else:
            manifest.write_text(manifest.read_text() + "    tools:\n      get_thing: {name: fetch_thing}\n")
            expected = ["fetch_thing"]
        server.read_until("notifications/tools/list_changed")
        assert server.tool_names(3) == expected
        server.wait_for_log("reload applied")
    finally:
        assert server.close() == 0
    log = server.stderr_text()
    assert log.count("reload applied") == 1 and "trigger=files" in log, log  # one edit, one reload


def test_no_edit_means_no_reload(tmp_path: Path) -> None:
    """Served (warm) without an edit: the baseline matches the files, so the watcher's catch-up
    requests nothing. A SIGHUP afterwards reloads once (reloads run one at a time, in request order):
    once its reload is logged, a file-triggered one requested at the watcher's start would have been."""
    manifest = _project(tmp_path)
    _warm_cache(manifest, tmp_path)
    server = ReloadingStdio(manifest, tmp_path)
    try:
        assert _start(server) == ["get_thing"]
        server.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})  # answered by the SDK: serving, watching
        server.read_until(3)
        server.process.send_signal(signal.SIGHUP)
        server.wait_for_log("reload applied")
        assert server.tool_names(4) == ["get_thing"]
    finally:
        assert server.close() == 0
    log = server.stderr_text()
    assert log.count("reload applied") == 1 and "trigger=signal" in log and "trigger=files" not in log, log


async def _recorded(manifest: Path, settings: Settings, edit: Any = None) -> tuple[dict[Path, str | None], Any, list]:
    """As `mcprt up` starts: compile, record the baseline, (edit,) then create the reloader and catch up."""
    runtime = Runtime(manifest, settings, "stdio")
    with writes_deferred() as writes, digests_recorded() as read:
        await runtime.start(load_manifest(manifest, transport="stdio"))
    try:
        baseline = record_baseline(runtime, read)
        writes.flush()
        if edit is not None:
            edit()
        reloader = reloader_for(runtime)
        requested: list[Any] = []
        reloader.request = lambda trigger, paths=None: requested.append((trigger, paths))  # type: ignore[method-assign]
        reloader.catch_up()
        return baseline.digests(), baseline, requested
    finally:
        await runtime.aclose()


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_the_descriptions_baseline_is_the_compiles_sha256(tmp_path: Path, cache: str) -> None:
    """Same algorithm, same bytes: the compile's digest equals sha256 of the file as compiled, the
    description is not hashed again at record time, and an unedited start requests no reload."""
    manifest = _project(tmp_path)
    spec = (tmp_path / "api.json").resolve()
    settings = Settings(cache_dir=tmp_path / "cache")
    if cache == "warm":
        asyncio.run(_recorded(manifest, settings))
    digests, baseline, requested = asyncio.run(_recorded(manifest, settings))
    assert spec in baseline.known and spec not in baseline.hashed
    assert digests[spec] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert manifest.resolve() in digests or manifest in digests
    assert requested == []  # no edit: nothing to reload


def test_an_edit_between_the_compile_and_the_reloader_is_a_change(tmp_path: Path) -> None:
    """The edit lands after the baseline was recorded and before the reloader exists (as after the
    first answer over stdio): catch_up requests a reload naming the file, and the source that reads
    it is reopened (its signatures were taken after the edit)."""
    manifest = _project(tmp_path)
    spec = (tmp_path / "api.json").resolve()
    compiled_bytes = spec.read_bytes()
    settings = Settings(cache_dir=tmp_path / "cache")

    async def run() -> tuple[list, list[str]]:
        runtime = Runtime(manifest, settings, "stdio")
        with digests_recorded() as read:
            await runtime.start(load_manifest(manifest, transport="stdio"))
        try:
            record_baseline(runtime, read)
            _write_spec(spec, "get_thing", "get_other")
            reloader = reloader_for(runtime)
            requested: list[Any] = []
            reloader.request = lambda trigger, paths=None: requested.append((trigger, paths))  # type: ignore[method-assign]
            reloader.catch_up()
            from mcprt.reload.files import sources_with_changed_files

            return requested, sources_with_changed_files(runtime, reloader._signatures, reloader._hash)
        finally:
            await runtime.aclose()

    requested, stale = asyncio.run(run())
    assert spec.read_bytes() != compiled_bytes
    assert requested == [("files", {spec})]
    assert stale == ["api"]


_OPENING: list[list[str]] = []  # while a `_files_opened()` block runs: the files opened in it


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _OPENING and isinstance(args[0], (str, Path)):
        _OPENING[-1].append(Path(args[0]).name)


sys.addaudithook(_audit)  # (an audit hook stays for the process: it records only inside the block)


@contextlib.contextmanager
def _files_opened() -> Iterator[list[str]]:
    """The names of the files this process opens inside the block (Python's `open` audit event)."""
    opened: list[str] = []
    _OPENING.append(opened)
    try:
        yield opened
    finally:
        _OPENING.remove(opened)


def test_the_catch_up_hashes_only_files_whose_stat_changed(tmp_path: Path) -> None:
    """The watcher's catch-up after the first answer hashed every watched file again (GitHub's 13 MB
    description included). A file's stat (device, inode, size, mtime, ctime) as it was hashed or read
    by the compile now stands for its content until it changes: an untouched file is not opened, a
    rewrite with the same bytes is hashed and requests nothing, an edit is hashed and reloaded."""
    manifest = _project(tmp_path)
    spec = (tmp_path / "api.json").resolve()
    time.sleep(1.1)  # a file written within the last second is hashed every time (file-time ticks are coarse)
    settings = Settings(cache_dir=tmp_path / "cache")

    async def run() -> list[tuple[list[str], list]]:
        runtime = Runtime(manifest, settings, "stdio")
        with digests_recorded() as read:
            await runtime.start(load_manifest(manifest, transport="stdio"))
        try:
            record_baseline(runtime, read)
            reloader = reloader_for(runtime)
            requested: list[Any] = []
            reloader.request = lambda trigger, paths=None: requested.append((trigger, paths))  # type: ignore[method-assign]
            looks = []
            for edit in (None, lambda: manifest.write_text(manifest.read_text()),
                         lambda: _write_spec(spec, "get_thing", "get_other")):
                if edit is not None:
                    edit()
                with _files_opened() as opened:
                    reloader.catch_up()
                looks.append((sorted(opened), list(requested)))
                requested.clear()
            return looks
        finally:
            await runtime.aclose()

    untouched, rewritten, edited = asyncio.run(run())
    assert untouched == ([], []), untouched
    assert rewritten == (["mcp.yaml"], []), rewritten
    # the manifest was written under a second ago: hashed again (its stat alone cannot be trusted yet)
    assert edited == (["api.json", "mcp.yaml"], [("files", {spec})]), edited


def test_the_baseline_module_does_not_load_the_reloader() -> None:
    """`mcprt up` records the baseline before its first answer: that costs no reloader or watcher import."""
    code = ("import sys\n"
            "import mcprt.cli.up_cmd, mcprt.pipeline, mcprt.server.early, mcprt.sources.openapi.loader\n"
            "import mcprt.reload.baseline\n"
            "print(sorted(m for m in sys.modules if m.startswith(('mcprt.reload.', 'watchfiles'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert out.stdout.strip() == "['mcprt.reload.baseline', 'mcprt.reload.files']"
