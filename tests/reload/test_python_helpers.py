"""Helper modules of a `python:` source reload too: the entry module imports `helper.py` (or a
package's submodule) from the manifest's folder; editing the helper changes what the tool answers,
on save and on `kill -HUP` alike, without a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator

import pytest
from reload_served import eventually, http_client, mcprt_up_http, text_of
from reload_support import Project

from mcprt.pipeline import Runtime
from mcprt.reload import reload_now, watch
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool


def _layout(project: Project) -> tuple[str, str]:
    """An entry module importing a helper module and a helper inside a package; returns their names."""
    helper = f"helper_{uuid.uuid4().hex[:8]}"
    package = f"pkg_{uuid.uuid4().hex[:8]}"
    project.write(f"{helper}.py", 'GREETING = "hello"\n')
    (project.root / package).mkdir()
    project.write(f"{package}/__init__.py", "")
    project.write(f"{package}/util.py", "def suffix() -> str:\n    return '!'\n")
    project.write(project.module_file.name,
                  f"import {helper}\nfrom {package} import util\n\n\n"
                  "def greet(name: str) -> str:\n"
                  '    """Greet someone."""\n'
                  f"    return {helper}.GREETING + ' ' + name + util.suffix()\n")
    project.write("mcp.yaml", project.manifest_text())
    return helper, package


async def _greeting(runtime: Runtime) -> str:
    result = await call_tool(runtime.holder.current.get("greet"), {"name": "ann"})
    assert not result.is_error, result.content
    return result.content[0]["text"]


@pytest.fixture
async def helper_runtime(project: Project, tmp_path) -> AsyncIterator[tuple[Runtime, str, str]]:
    helper, package = _layout(project)
    runtime = Runtime(project.manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    try:
        yield runtime, helper, package
    finally:
        await runtime.aclose()


async def test_saving_a_helper_module_reloads_it(project: Project, helper_runtime) -> None:
    runtime, helper, package = helper_runtime
    task = asyncio.create_task(watch(runtime))
    try:
        await asyncio.sleep(0.15)
        assert await _greeting(runtime) == "hello ann!"
        project.write(f"{helper}.py", 'GREETING = "howdy"\n')
        await wait_for_text(runtime, "howdy ann!")
        project.save_atomically(f"{package}/util.py", "def suffix() -> str:\n    return '?'\n")
        await wait_for_text(runtime, "howdy ann?")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def wait_for_text(runtime: Runtime, expected: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (text := await _greeting(runtime)) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {text!r}, expected {expected!r}")
        await asyncio.sleep(0.05)


async def test_sighup_reloads_an_edited_helper(project: Project, helper_runtime) -> None:
    runtime, helper, package = helper_runtime
    project.write(f"{helper}.py", 'GREETING = "hi"\n')
    outcome = await reload_now(runtime)
    assert outcome.ok and outcome.opened == ["notes"]
    assert await _greeting(runtime) == "hi ann!"
    project.write(f"{package}/util.py", "def suffix() -> str:\n    return '.'\n")
    assert (await reload_now(runtime)).ok
    assert await _greeting(runtime) == "hi ann."


async def test_served_helper_edit_applies_on_save_and_on_sighup(project: Project) -> None:
    helper, _ = _layout(project)
    with mcprt_up_http(project.manifest) as up:
        async with http_client(up.url) as client:
            async def says(text: str) -> bool:
                return text_of(await client.call_tool("greet", {"name": "bo"})) == text

            assert await says("hello bo!")
            project.write(f"{helper}.py", 'GREETING = "hey"\n')
            await eventually(lambda: says("hey bo!"), what="the helper edit on save")
    with mcprt_up_http(project.manifest, "--no-reload") as up:
        async with http_client(up.url) as client:
            project.write(f"{helper}.py", 'GREETING = "yo"\n')
            up.process.send_signal(signal.SIGHUP)

            async def after_hup() -> bool:
                return text_of(await client.call_tool("greet", {"name": "bo"})) == "yo bo!"

            await eventually(after_hup, what="the helper edit after SIGHUP")


async def test_a_same_size_edit_of_a_package_submodule_with_its_mtime_put_back_is_imported(
        project: Project, helper_runtime) -> None:
    """A package's submodule is found through the package's folder, not the manifest's: it is compiled from its
    bytes too (its `.pyc`, valid by mtime and size, held the old code), and nothing is written to `__pycache__`."""
    runtime, _, package = helper_runtime
    util = project.root / package / "util.py"
    before = util.stat()
    util.write_text(util.read_text().replace("'!'", "'?'"))
    os.utime(util, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert util.stat().st_size == before.st_size
    assert (await reload_now(runtime)).ok
    assert await _greeting(runtime) == "hello ann?"
    assert not list(project.root.rglob("__pycache__"))


@pytest.mark.parametrize("same_size", [True, False], ids=["same_size", "longer"])
async def test_an_edit_of_a_namespace_package_submodule_is_imported(project: Project, tmp_path,
                                                                    same_size: bool) -> None:
    """`from pkg import util` where `pkg/` has no `__init__.py` (a PEP 420 namespace package): the reload said
    `reload applied` and the old `util` kept answering ('hello ann!'), since the kept namespace module `pkg`
    still held it as an attribute and `util` was never loaded from its bytes."""
    package = f"ns_{uuid.uuid4().hex[:8]}"
    (project.root / package).mkdir()
    project.write(f"{package}/util.py", "def suffix() -> str:\n    return '!'\n")
    project.write(project.module_file.name,
                  f"from {package} import util\n\n\n"
                  "def greet(name: str) -> str:\n"
                  '    """Greet someone."""\n'
                  "    return 'hello ' + name + util.suffix()\n")
    project.write("mcp.yaml", project.manifest_text())
    runtime = Runtime(project.manifest, Settings(cache_dir=tmp_path / "cache"))
    await runtime.start()
    try:
        assert await _greeting(runtime) == "hello ann!"
        util = project.root / package / "util.py"
        before = util.stat()
        util.write_text(util.read_text().replace("'!'", "'?'" if same_size else "'?' + ''"))
        if same_size:
            os.utime(util, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (await reload_now(runtime)).ok
        assert await _greeting(runtime) == "hello ann?"
        assert not list(project.root.rglob("__pycache__"))
    finally:
        await runtime.aclose()
