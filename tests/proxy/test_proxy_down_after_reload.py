"""A reload that leaves nothing serving fails (in-process: a real Runtime, Reloader and subprocess servers).

README ("Proxied servers"): a reload opening a proxied server that cannot be reached applies with the
source `down` — but with `--strict` (`Runtime.start(may_start_down=False)`), or "when every source it
opens is down and no other would serve", the reload fails and the previous tools keep serving.

Mended: the count of sources down took only the sources the reload opened, so a source already down
(reused) plus one reopened down applied a reload with nothing serving, retiring the working server.
"""

from __future__ import annotations

from pathlib import Path

from mcprt.pipeline import Runtime
from mcprt.reload.reloader import Reloader
from mcprt.settings import Settings
from tests.support.zygote import script_command_yaml

FIXTURE_SERVER = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "mcp_server.py"
SERVING = script_command_yaml(FIXTURE_SERVER)


def _write(folder: Path, manifest: str) -> Path:
    (folder / "mcp.yaml").write_text(manifest)
    return folder / "mcp.yaml"


def _states(runtime: Runtime) -> dict[str, str | None]:
    return {name: getattr(source, "down_reason", None) for name, source in runtime.pool._running.items()}


async def _reload_fails_and_the_server_keeps_serving(runtime: Runtime, manifest: Path, edited: str) -> None:
    manifest.write_text(edited)
    outcome = await Reloader(runtime).reload()
    assert not outcome.ok, outcome
    assert any("command './moved-server' does not exist" in error for error in outcome.errors), outcome.errors
    assert _states(runtime)["other"] is None, _states(runtime)  # the working connection was not retired
    assert "add" in {tool["name"] for tool in runtime.holder.current.list_tools()}  # type: ignore[union-attr]


async def test_a_strict_runtime_fails_a_reload_that_cannot_reach_a_server(tmp_path: Path) -> None:
    """`--strict` is carried from the start to every reload: the server made unreachable fails the reload."""
    manifest = _write(tmp_path, f"version: 1\nsources:\n  t: {{python: tools}}\n  other: {{command: {SERVING}}}\n")
    (tmp_path / "tools.py").write_text('def ping() -> str:\n    """Pong."""\n    return "pong"\n')
    runtime = Runtime(manifest, Settings(_env_file=None))
    try:
        await runtime.start(may_start_down=False)
        await _reload_fails_and_the_server_keeps_serving(
            runtime, manifest, "version: 1\nsources:\n  t: {python: tools}\n  other: {command: ./moved-server}\n")
    finally:
        await runtime.aclose()


async def test_a_reload_leaving_only_down_sources_fails_though_one_was_down_before(tmp_path: Path) -> None:
    """`late` is down since the start (reused by the reload); the reload makes `other` unreachable too:
    nothing would serve, so the reload fails and `other` keeps serving."""
    manifest = _write(tmp_path, f"version: 1\nsources:\n  late: {{command: ./late-server}}\n"
                                f"  other: {{command: {SERVING}}}\n")
    runtime = Runtime(manifest, Settings(_env_file=None))
    try:
        await runtime.start(may_start_down=True)
        assert _states(runtime)["late"] is not None and _states(runtime)["other"] is None, _states(runtime)
        await _reload_fails_and_the_server_keeps_serving(
            runtime, manifest, "version: 1\nsources:\n  late: {command: ./late-server}\n"
                               "  other: {command: ./moved-server}\n")
    finally:
        await runtime.aclose()
