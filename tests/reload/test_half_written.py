"""A manifest written in two parts (scp, `kubectl cp`, a shared volume) is never applied half-way.

Between the parts the file is a prefix of the new manifest: valid YAML, and a valid manifest without
its `policy:` block or without its sources. Applied, it let a denied tool run and once removed every
tool. Such a save is refused (`reload.guard`) and logged with how to apply it (SIGHUP), the previous
set keeps serving, and the rest of the write applies as usual.
"""

from __future__ import annotations

import signal
import time

import anyio
import httpx
from reload_support import Project
from reload_served import child_env, eventually, http_client, mcprt_up_http, text_of, tool_names

from mcprt.reload import Reloader

DENY_SEARCH = "    - match: {tools: [search]}\n      action: deny\n      reason: search is forbidden here\n"
DENY_COUNT = "policy:\n  default: allow\n  rules:\n    - match: {tools: [count]}\n      action: deny\n" \
             "      reason: count is forbidden here\n" + DENY_SEARCH
EXTRA = "\n".join(f'\ndef extra_{n}() -> int:\n    """Extra {n}."""\n    return {n}\n' for n in range(3))


def write_in_two_parts(project: Project, text: str, cut: int, pause: float) -> None:
    """Truncate the manifest, write `text[:cut]`, let it sit `pause` seconds, then write the rest."""
    with project.manifest.open("w", encoding="utf-8") as handle:
        handle.write(text[:cut])
        handle.flush()
        time.sleep(pause)
        handle.write(text[cut:])


async def test_a_two_part_write_never_serves_its_prefix_and_sighup_applies_a_deliberate_loss(
        project: Project) -> None:
    full = project.manifest_text() + DENY_COUNT
    project.write("mcp.yaml", full)
    # SIGHUP applies the last refusal here; the confirmation of a save left unchanged has its own test
    with mcprt_up_http(project.manifest, env=child_env(MCPRT_RELOAD_CONFIRM="600")) as up:
        async with http_client(up.url) as client:
            denied = await client.call_tool("count", {})
            assert denied.is_error and "forbidden" in text_of(denied), text_of(denied)
            applied = 0
            # cut before the block, and inside it: after the first of two deny rules (the prefix still has
            # `policy:` and a rule, so the block-gone check let the second rule's tool run)
            for cut, reason in ((full.index("policy:"), "the whole policy block"),
                                (full.index(DENY_SEARCH), "1 of 2 policy rules")):
                mark = up.log_mark()
                async with anyio.create_task_group() as group:
                    group.start_soon(anyio.to_thread.run_sync, write_in_two_parts, project, full, cut, 1.0)
                    await anyio.sleep(0.1)
                    deadline = time.monotonic() + 0.85
                    while time.monotonic() < deadline:  # the whole pause: the prefix never serves
                        result = await client.call_tool("count", {})
                        assert result.is_error and "forbidden" in text_of(result), (reason, up.log_since(mark))
                        result = await client.call_tool("search", {"query": "x"})
                        assert result.is_error and "forbidden" in text_of(result), (reason, up.log_since(mark))
                        assert sorted(await tool_names(client)) == ["count", "search"]
                        await anyio.sleep(0.05)
                assert f'reload refused; the previous tools keep serving trigger=files reason="it removes ' \
                       f'{reason}"' in up.log_since(mark), up.log_since(mark)
                assert "kill -HUP" in up.log_since(mark)
                assert up.health()["manifest"]["status"] in ("refused", "ok")
                up.wait_log_beyond("reload applied", applied)  # the completed file applied (no tool changes)
                applied += 1
            assert up.health()["manifest"]["refused"] == 2, up.log()
            assert "reload applied" in up.log() and "-count" not in up.log()

            project.write("mcp.yaml", project.manifest_text())  # the policy dropped on purpose
            await eventually(lambda: _said(up, "reload refused", 3), what="the third refusal")
            assert up.health()["manifest"]["status"] == "refused"
            page = httpx.get(f"{up.base}/status", timeout=10).text
            assert "refused at" in page and "3 refused" in page and "whole policy block" in page, page
            metrics = httpx.get(f"{up.base}/metrics", timeout=10).text
            assert 'mcprt_reloads_total{result="refused"} 3.0' in metrics, metrics
            assert (await client.call_tool("count", {})).is_error
            up.process.send_signal(signal.SIGHUP)

            async def allowed() -> bool:
                return not (await client.call_tool("count", {})).is_error

            await eventually(allowed, what="count allowed after SIGHUP")
            assert up.health()["manifest"]["status"] == "ok"


async def _said(up, text: str, times: int) -> bool:  # type: ignore[no-untyped-def]
    return up.log().count(text) >= times


async def test_a_save_removing_more_than_half_the_tools_is_refused_a_rename_is_not(
        project: Project, reloader: Reloader, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.write(project.module_file.name, project.module_file.read_text() + EXTRA)
    assert (await reloader.reload()).ok  # five tools now (a SIGHUP is never refused)
    project.write("mcp.yaml", project.manifest_text(extra="    include: {operations: [count, search]}\n"))
    outcome = await reloader.reload("files")
    assert not outcome.ok and outcome.refused == "it removes 3 of 5 tools (more than 50%: MCPRT_RELOAD_MAX_LOSS)"
    assert len(reloader.runtime.holder.current.tools) == 5 and reloader.status.outcome == "refused"
    monkeypatch.setenv("MCPRT_RELOAD_MAX_LOSS", "0.75")
    assert (await reloader.reload("files")).ok
    project.write("mcp.yaml", project.manifest_text(tools="count: {name: tally}\nsearch: {name: find}",
                                                    extra="    include: {operations: [count, search]}\n"))
    assert (await reloader.reload("files")).ok  # two renamed tools: no loss
    project.write("mcp.yaml", project.manifest_text(extra="    exclude: {operations: [count, search, extra_0, extra_1, extra_2]}\n"))
    outcome = await reloader.reload("files")
    assert outcome.refused == "it removes every tool", outcome
    project.write("mcp.yaml", "version: 1\n")  # the first line of a two-part write
    outcome = await reloader.reload("files")
    assert outcome.refused == "it removes every source", outcome
    assert sorted(reloader.runtime.holder.current.tools) == ["find", "tally"]


async def test_a_refused_save_left_unchanged_is_applied_once_confirmed_and_a_changed_one_is_not(
        project: Project, reloader: Reloader, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A deliberate edit (a ConfigMap update removing a deny rule, swapped in atomically) was refused until
    someone sent SIGHUP to every replica: a refused save the file keeps unchanged for `MCPRT_RELOAD_CONFIRM`
    is applied then; one that changes again meanwhile (the rest of a write) is not confirmed."""
    monkeypatch.setenv("MCPRT_RELOAD_CONFIRM", "0.5")
    project.write("mcp.yaml", project.manifest_text() + DENY_COUNT)
    assert (await reloader.reload()).ok
    assert reloader.runtime.loaded.manifest.policy is not None  # type: ignore[union-attr]
    project.write("mcp.yaml", project.manifest_text())  # the policy removed on purpose
    outcome = await reloader.reload("files")
    assert outcome.refused == "it removes the whole policy block", outcome
    with anyio.fail_after(10):
        while reloader.runtime.loaded.manifest.policy is not None:  # type: ignore[union-attr]
            await anyio.sleep(0.05)
    assert reloader.status.trigger == "confirmed" and reloader.status.ok
    project.write("mcp.yaml", project.manifest_text() + DENY_COUNT)
    assert (await reloader.reload("files")).ok
    project.write("mcp.yaml", project.manifest_text())
    assert (await reloader.reload("files")).refused
    project.write("mcp.yaml", project.manifest_text() + DENY_COUNT + "# the rest of the write\n")
    await anyio.sleep(1.0)  # past the confirmation: the file changed, so the refused content is not applied
    assert reloader.runtime.loaded.manifest.policy is not None  # type: ignore[union-attr]
