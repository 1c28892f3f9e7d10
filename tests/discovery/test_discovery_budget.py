"""Tool-list budgets: measured on the real listing, reported at the manifest lines responsible."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mcprt.toolset.budget import check_budget
from tests.discovery.discovery_support import compile_manifest, github_manifest
from tests.support.cli import mcprt_cli

# Every module compiling GitHub's description (`github_discovery`, `github_cache`: session fixtures of
# tests/discovery/conftest.py) runs on one worker, so the session compiles it once per run, not once per worker.
pytestmark = pytest.mark.xdist_group("github_discovery")

GITHUB_BUDGET = "  budget: {max_tools: 100, max_tools_bytes: 20kb, max_tool_bytes: 8kb}\n"


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_github_listed_in_full_breaks_every_budget_with_a_clear_report(github_spec: Path, github_cache: Path,
                                                                       tmp_path: Path) -> None:
    manifest = github_manifest(tmp_path, github_spec, server=GITHUB_BUDGET,
                               tools="      repos/update-org-ruleset: {title: Update an org ruleset}\n")
    compiled = compile_manifest(manifest, github_cache)
    report = check_budget(compiled.loaded, compiled.toolset)

    assert not report.ok
    assert report.listed == 1223 and report.reachable == 1223
    assert report.total_bytes == len(compiled.toolset.list_result_json().encode())
    assert [v.key for v in report.violations] == ["max_tools", "max_tools_bytes", "max_tool_bytes"]

    too_big = report.violations[1]
    assert too_big.limit == 20_000 and too_big.actual == report.total_bytes
    assert too_big.location.line == line_of(manifest, "budget:")
    assert too_big.message.startswith(f"budget exceeded: tools/list is {report.total_bytes:,} bytes, over the "
                                      "budget of 20,000 (1,223 listed tools); biggest tools:")
    sizes = [o.amount for o in too_big.offenders]
    assert len(sizes) == 10 and sizes == sorted(sizes, reverse=True)
    assert sizes[0] == max(tool.definition_size() for tool in compiled.toolset)
    assert too_big.more == 1213
    first = too_big.offenders[0]
    assert "repos_update-org-ruleset" in first.label
    assert first.location.line == line_of(manifest, "repos/update-org-ruleset")  # its override
    assert too_big.offenders[1].location.line == line_of(manifest, "  github:")  # no override: its source

    per_tool = report.violations[2]
    assert all(o.amount > 8_000 for o in per_tool.offenders)
    assert per_tool.message.startswith(f"budget exceeded: {len(per_tool.offenders) + per_tool.more} tool "
                                       "definitions are over the budget of 8,000 bytes each:")

    text = report.format()
    assert text.splitlines()[0] == (f"{manifest}:{line_of(manifest, 'budget:')}:{report.violations[0].location.col}"
                                    ": budget exceeded: 1,223 tools are listed, over the budget of 100; by source:")
    assert f"  {manifest}:{line_of(manifest, '  github:')}:3: source 'github' lists 1,223 tools" in text
    assert "  … and 1,213 more" in text
    assert "expose: discovery" in text  # the hint names the way out
    assert text.endswith("3 budgets exceeded")


def test_the_same_api_in_discovery_mode_fits_the_budget(github_spec: Path, github_cache: Path,
                                                        tmp_path: Path) -> None:
    manifest = github_manifest(tmp_path, github_spec, server=GITHUB_BUDGET + "  expose: discovery\n")
    report = check_budget(*_compiled(manifest, github_cache))
    assert report.ok, report.format()
    assert report.listed == 3 and report.reachable == 1223
    assert report.total_bytes < 20_000
    assert report.summary() == (f"3 listed tools (budget 100), {report.total_bytes:,} bytes of tools/list (budget "
                                f"20,000), largest search_tools {report.largest.bytes:,} bytes (budget 8,000)")


def test_meta_tools_over_a_budget_point_at_the_expose_setting(github_spec: Path, github_cache: Path,
                                                              tmp_path: Path) -> None:
    manifest = github_manifest(tmp_path, github_spec,
                               server="  budget: {max_tool_bytes: 200, max_tools: 2}\n  expose: discovery\n")
    report = check_budget(*_compiled(manifest, github_cache))
    assert [v.key for v in report.violations] == ["max_tools", "max_tool_bytes"]
    where = line_of(manifest, "expose: discovery")
    assert report.violations[0].offenders[0].label == "discovery meta-tools: 3"
    assert report.violations[0].offenders[0].location.line == where
    assert {o.location.line for o in report.violations[1].offenders} == {where}


def test_no_budget_means_no_violation_but_the_figures(github_discovery) -> None:  # type: ignore[no-untyped-def]
    report = check_budget(github_discovery.loaded, github_discovery.toolset)
    assert report.ok and report.budget is None
    assert [c.name for c in report.tools] == ["search_tools", "describe_tools", "call_tool"]
    assert all(c.meta for c in report.tools)
    assert report.definitions_bytes < report.total_bytes
    assert report.summary().startswith("3 listed tools, ")


def _compiled(manifest: Path, cache: Path):  # type: ignore[no-untyped-def]
    compiled = compile_manifest(manifest, cache)
    return compiled.loaded, compiled.toolset


TOOLS = '''
"""Four small tools."""

__all__ = ["one", "two", "three", "four"]


def one(x: int) -> int:
    """The first tool."""
    return x


def two(x: int) -> int:
    """The second tool."""
    return x


def three(x: int) -> int:
    """The third tool."""
    return x


def four(x: int) -> int:
    """The fourth tool, whose description is much longer than the others so that it breaks the budget."""
    return x
'''

def test_validate_exits_1_with_the_report(tmp_path: Path) -> None:
    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(
        "version: 1\n"
        "server:\n"
        "  budget: {max_tools: 3, max_tool_bytes: 150}\n"
        "sources:\n"
        "  small:\n"
        "    python: small_tools\n"
    )
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, timeout=60)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    budget_line = manifest.read_text().splitlines()[2]
    tools_col, bytes_col = budget_line.index(" 3,") + 2, budget_line.index("150") + 1
    assert f"{manifest}:3:{tools_col}: budget exceeded: 4 tools are listed, over the budget of 3; by source:" in lines
    assert f"  {manifest}:5:3: source 'small' lists 4 tools" in lines
    assert any(line.startswith(f"{manifest}:3:{bytes_col}: budget exceeded: 1 tool definition is over the budget of 150 "
                               "bytes each:") for line in lines)
    assert any(line.startswith(f"  {manifest}:5:3: tool 'four' (source 'small'): ") for line in lines)
    assert lines[-1] == "2 budgets exceeded"
    assert "Traceback" not in done.stderr


def test_in_discovery_mode_the_advice_is_what_that_mode_allows(tmp_path: Path) -> None:
    """Trial (docs #5): with `expose: discovery` already set, the meta-tools over `max_tools` and
    `max_tool_bytes` were told to "set `expose: discovery`" and to shorten descriptions that cannot be
    overridden. Now the advice names the floor the fixed meta-tools set, and only sources' tools get theirs."""
    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {expose: discovery, budget: {max_tools: 1, max_tool_bytes: 100}}\n"
                        "sources:\n  small:\n    python: small_tools\n")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, timeout=60)
    assert done.returncode == 1, done.stderr
    hints = [line for line in done.stderr.splitlines() if line.startswith("  hint: ")]
    assert len(hints) == 2, done.stderr
    assert not any("expose: discovery`" in hint and "set" in hint for hint in hints), hints
    assert not any("shorter `description`" in hint for hint in hints), hints
    sizes = [int(size.replace(",", "")) for size in re.findall(r"meta-tool '\w+': ([\d,]+) bytes", done.stderr)]
    assert len(sizes) == 3, done.stderr
    assert hints[0].endswith("with `expose: discovery`, `max_tools` must be at least 3"), hints
    assert hints[1].endswith(f"`max_tool_bytes` must be at least {max(sizes):,} bytes"), hints

    # a tool pinned beside them is the sources' to shorten, or to list no more: both are said
    manifest.write_text("version: 1\nserver: {expose: discovery, pinned: [four], budget: {max_tools: 2}}\n"
                        "sources:\n  small:\n    python: small_tools\n")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, timeout=60)
    [hint] = [line for line in done.stderr.splitlines() if line.startswith("  hint: ")]
    assert "or pin fewer tools (`server.pinned`, a tool's `pinned: true`)" in hint, hint
    assert "`max_tools` must be at least 3" in hint, hint
    assert "set `expose: discovery`" not in hint


def _validate(manifest: Path) -> subprocess.CompletedProcess[str]:
    return mcprt_cli("validate", str(manifest), cwd=manifest.parent, timeout=60)


def test_the_advised_max_tools_bytes_in_discovery_mode_passes(tmp_path: Path) -> None:
    """Review of docsfix, problem 3: the floor given was the meta-tools' definitions alone (2,023 bytes), but the
    budget measures the whole tools/list result (2,037 bytes): setting the advised value still failed."""
    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    body = "sources:\n  small:\n    python: small_tools\n"
    manifest.write_text("version: 1\nserver: {expose: discovery, budget: {max_tools_bytes: 100}}\n" + body)
    done = _validate(manifest)
    assert done.returncode == 1, done.stderr
    [floor] = re.findall(r"`max_tools_bytes` must be at least ([\d,]+) bytes", done.stderr)
    listed = re.search(r"tools/list is ([\d,]+) bytes", done.stderr)
    assert listed is not None and floor == listed.group(1), done.stderr  # nothing but the meta-tools is listed
    manifest.write_text("version: 1\nserver: {expose: discovery, budget: {max_tools_bytes: %s}}\n"
                        % floor.replace(",", "") + body)
    done = _validate(manifest)
    assert done.returncode == 0, done.stderr
    # one byte less is over, and the same floor is advised
    manifest.write_text("version: 1\nserver: {expose: discovery, budget: {max_tools_bytes: %d}}\n"
                        % (int(floor.replace(",", "")) - 1) + body)
    done = _validate(manifest)
    assert done.returncode == 1 and f"must be at least {floor} bytes" in done.stderr, done.stderr


def test_in_a_mixed_manifest_the_sources_listed_in_full_are_told_to_use_discovery(tmp_path: Path) -> None:
    """Review of docsfix, problem 4: with one source in discovery mode and another listed in full, the hint said
    "list fewer of them directly (…, a source's `expose: tools`)", not the way out for the full one."""
    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver: {budget: {max_tools: 2, max_tool_bytes: 100}}\nsources:\n"
                        "  small:\n    python: small_tools\n    expose: discovery\n"
                        "  small2:\n    python: small_tools\n    prefix: b_\n")
    done = _validate(manifest)
    assert done.returncode == 1, done.stderr
    hints = [line for line in done.stderr.splitlines() if line.startswith("  hint: ")]
    assert len(hints) == 2, done.stderr
    for hint in hints:
        assert "or set `expose: discovery` on source 'small2' (listed in full) so it is searched instead of " \
               "listed" in hint, hint
        assert "pin" not in hint and "`expose: tools`" not in hint, hint


async def test_up_warns_once_per_exceeded_budget_and_serves_on(tmp_path: Path) -> None:
    """Found by a new-user trial: `mcprt up` served a manifest over its budget without a word (validate
    exits 1 on it). Now each exceeded budget is one warning at start — what, by how much, how to fix —
    and the tools still answer."""
    from tests.support.served import http_client, mcprt_http, text_of

    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  budget: {max_tools: 3, max_tool_bytes: 150}\n"
                        "sources:\n  small:\n    python: small_tools\n")
    budget_line = manifest.read_text().splitlines()[2]
    tools_col, bytes_col = budget_line.index(" 3,") + 2, budget_line.index("150") + 1
    with mcprt_http(manifest) as up:
        async with http_client(up.url) as client:
            result = await client.call_tool("four", {"x": 4})
            assert not result.is_error and text_of(result) == "4"
        log = up.wait_log("over the budget of 150 bytes")
    warned = [line for line in log.splitlines() if "budget exceeded" in line]
    assert len(warned) == 2, log
    assert f"{manifest}:3:{tools_col}: budget exceeded: 4 tools are listed, over the budget of 3; by source: " \
           "source 'small' lists 4 tools — 1 tool over; fix: narrow sources" in warned[0], log
    assert f"{manifest}:3:{bytes_col}: budget exceeded: 1 tool definition is over the budget of 150 bytes each: " \
           "tool 'four' (source 'small'): " in warned[1], log
    size, over = map(int, re.search(r"'small'\): (\d+) bytes — (\d+) bytes over; fix: give these tools a shorter "
                                    "`description`", warned[1]).groups())  # type: ignore[union-attr]
    assert over == size - 150, log
    assert "WARNING" in warned[0] and "Traceback" not in log


def test_up_over_stdio_measures_the_budget_after_its_first_answer(tmp_path: Path) -> None:
    """`mcprt up` over stdio measured `server.budget` before its first answer (every definition, on the
    path to the client's first tools/list): now after that answer, as the reloader loads, with the
    same warnings. The log is a file: a line written before an answer is in it once the answer is read."""
    from tests.support.raw_stdio import RawStdio

    (tmp_path / "small_tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  budget: {max_tools: 3, max_tool_bytes: 150}\n"
                        "sources:\n  small:\n    python: small_tools\n")
    server = RawStdio(manifest, tmp_path)
    try:
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "raw", "version": "0"}}})
        assert server.read_until(1)["result"]["serverInfo"]["name"] == "mcprt"
        assert "budget exceeded" not in server.stderr_text()  # not before the first tools/list is answered
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert len(server.read_until(2)["result"]["tools"]) == 4
        log = server.wait_for_log("over the budget of 150 bytes")
    finally:
        assert server.close() == 0
    warned = [line for line in log.splitlines() if "budget exceeded" in line]
    assert len(warned) == 2 and "WARNING" in warned[0], log
    assert "budget exceeded: 4 tools are listed, over the budget of 3; by source: source 'small' lists 4 tools" \
        in warned[0], log
