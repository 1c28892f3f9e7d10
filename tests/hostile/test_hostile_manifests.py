"""Findings 1, 2 and 8 of #13: a manifest (from a pull request) cannot exhaust time or memory, read
files outside its tree, echo a file that is not a manifest, or crash with an internal error.

Each example runs the real CLI or a real `mcprt up`, bounded in time and peak memory, and the
server answers a normal call right after the attack.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx

from tests.hostile.hostile_support import run_cli
from tests.support.served import child_env, http_client, mcprt_http, text_of

LAUGHS = """version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
sources: {}
"""
TOOLS = '''
def ping() -> str:
    """Answer pong."""
    return "pong"


def pong() -> str:
    """Answer ping."""
    return "ping"
'''
GOOD = "version: 1\nsources:\n  t:\n    python: tools:ping\n"
GOOD_TWO = "version: 1\nsources:\n  t:\n    python: [tools:ping, tools:pong]\n"
SECRET_LINE = "root:$6$hostile$SHADOWHASHVALUE:19000:0:99999:7:::"


def _project(tmp_path: Path, manifest: str = GOOD) -> Path:
    folder = tmp_path / "project"
    folder.mkdir(parents=True)
    (folder / "tools.py").write_text(TOOLS)
    (folder / "mcp.yaml").write_text(manifest)
    return folder / "mcp.yaml"


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_billion_laughs_is_refused_quickly_by_validate(tmp_path: Path) -> None:
    manifest = _project(tmp_path, LAUGHS)
    assert len(LAUGHS) < 600
    run = run_cli("validate", str(manifest), cwd=manifest.parent, timeout=30)
    assert run.returncode == 2, run.output
    assert "expands to more than 100,000 values" in run.stderr and "mcp.yaml:" in run.stderr
    assert "Traceback" not in run.output
    assert run.seconds < 20 and run.peak_mb < 300, (run.seconds, run.peak_mb)


def test_billion_laughs_saved_while_serving_keeps_the_server_and_a_good_save_applies(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    with mcprt_http(manifest) as up:
        before = up.health()["reload"]["failures"] if "reload" in up.health() else 0
        manifest.write_text(LAUGHS)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and up.log().count("expands to more than") == 0:
            time.sleep(0.1)
        assert "expands to more than 100,000 values" in up.log(), up.log()
        assert _peak_mb(up.pid) < 400
        started = time.monotonic()
        assert httpx.get(f"{up.base}/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 2
        manifest.write_text(GOOD_TWO)

        async def after() -> tuple[list[str], str]:
            async with http_client(up.url) as client:
                names: list[str] = []
                end = time.monotonic() + 30
                while "pong" not in names and time.monotonic() < end:
                    names = [t.name for t in (await client.list_tools()).tools]
                    await asyncio.sleep(0.1)
                result = await asyncio.wait_for(client.call_tool("ping", {}), 10)
                return names, text_of(result)

        names, answer = asyncio.run(after())
        assert "pong" in names and answer == "pong"
        assert before is not None


def test_include_stays_inside_the_tree_and_never_echoes_a_file(tmp_path: Path) -> None:
    outside = tmp_path / "shadow"
    outside.write_text(SECRET_LINE + "\nbin:*:19000:0:99999:7:::\n")
    manifest = _project(tmp_path, f'version: 1\ninclude: ["{outside}", "../shadow"]\nsources: {{}}\n')
    run = run_cli("validate", str(manifest), cwd=manifest.parent, timeout=30)
    assert run.returncode == 2 and "outside this manifest's folder" in run.stderr, run.output
    assert "SHADOWHASH" not in run.output and "bin:" not in run.output
    # Inside the tree, a file that is not a manifest is named, never quoted.
    (manifest.parent / "notes.yaml").write_text("password: hunter2-value\nroot: '" + SECRET_LINE + "'\n")
    manifest.write_text('version: 1\ninclude: ["notes.yaml"]\nsources: {}\n')
    run = run_cli("validate", str(manifest), cwd=manifest.parent, timeout=30)
    assert run.returncode == 2 and "is not an mcprt manifest" in run.stderr, run.output
    assert "hunter2" not in run.output and "SHADOWHASH" not in run.output
    # An explicit allow-list lets a shared folder in.
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "more.yaml").write_text("version: 1\nsources:\n  u:\n    python: tools:pong\n")
    manifest.write_text(f'version: 1\ninclude: ["{shared / "more.yaml"}"]\nsources: {{}}\n')
    allowed = run_cli("validate", str(manifest), cwd=manifest.parent, timeout=60,
                      env=child_env(MCPRT_INCLUDE_PATHS=str(shared)))
    assert allowed.returncode == 0, allowed.output


def test_devices_pipes_and_huge_files_are_refused_at_once(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    folder = manifest.parent
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.json").symlink_to("/dev/zero")
    with open(folder / "huge.json", "wb") as handle:  # a sparse 1 GB file: instant to make, 1 GB to read
        handle.truncate(1 << 30)
    (folder / "big.yaml").write_text("version: 1\nsources: {}\n" + "# padding\n" * 200_000)
    cases = {
        'version: 1\ninclude: ["pipe.yaml"]\nsources: {}\n': "must be a regular file",
        'version: 1\ninclude: ["big.yaml"]\nsources: {}\n': "over the limit of 1,000,000",
        "version: 1\nsources:\n  a: {openapi: /dev/zero}\n": "not a regular file",
        "version: 1\nsources:\n  a: {openapi: zero.json}\n": "not a regular file",
        "version: 1\nsources:\n  a: {openapi: huge.json}\n": "over the API description limit",
    }
    for text, expected in cases.items():
        manifest.write_text(text)
        run = run_cli("validate", str(manifest), cwd=folder, timeout=30)
        assert run.returncode == 2 and expected in run.stderr, (text, run.output)
        assert run.seconds < 20 and run.peak_mb < 300, (text, run.seconds, run.peak_mb)
    manifest.write_text(GOOD)
    assert run_cli("validate", str(manifest), cwd=folder, timeout=60).returncode == 0


def test_brackets_nested_past_the_depth_limit_stop_at_a_bracket_past_it(tmp_path: Path) -> None:
    """Found while profiling the suite: `[` nested 5,000 deep cost ~8 s CPU to refuse (ruamel's scanner walks
    every open flow level at each token) and the error said 1:1. Now a bracket just past the limit is
    named (65 deep: the one that makes level 65, from `_plain`; deeper: the scanner stops at the one after); 64 levels, the most a manifest may nest, still load (its `x:` key being the first)."""
    from mcprt.errors import ManifestError
    from mcprt.manifest.loader import load_manifest

    for depth, where in ((65, "mcp.yaml:5:67:"), (5000, "mcp.yaml:5:69:")):
        manifest = _project(tmp_path / str(depth), f"{GOOD}x: {'[' * depth}{']' * depth}\n")
        try:
            load_manifest(manifest)
        except ManifestError as exc:
            assert f"{manifest.parent}/{where} the manifest nests deeper than 64 levels" in str(exc), str(exc)
        else:
            raise AssertionError(f"{depth} levels loaded")
    deepest = _project(tmp_path / "64", f"{GOOD}x: {'[' * 64}{']' * 64}\n")
    try:
        load_manifest(deepest)
    except ManifestError as exc:  # refused for its unknown `x:` key, not for its depth
        assert "nests" not in str(exc) and "'x'" in str(exc), str(exc)


def test_deeply_nested_expressions_are_file_line_col_errors(tmp_path: Path) -> None:
    deep_prune = "(" * 5000 + "a" + ")" * 5000
    deep_template = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"
    deep_yaml = "[" * 5000 + "]" * 5000
    for text, expected in (
        (f'{GOOD}    tools:\n      ping: {{prune: "{deep_prune}"}}\n', "mcp.yaml:6:"),
        (f'{GOOD}    tools:\n      ping: {{output: "{deep_template}"}}\n', "mcp.yaml:6:"),
        (f"version: 1\nsources: {{}}\nx: {deep_yaml}\n", "mcp.yaml:"),
    ):
        manifest = _project(tmp_path / str(len(text)), text)
        run = run_cli("validate", str(manifest), cwd=manifest.parent, timeout=30)
        assert run.returncode == 2, run.output[-2000:]
        assert expected in run.stderr, run.stderr
        assert "nests too deeply" in run.stderr or "nests deeper" in run.stderr, run.stderr
        assert "internal error" not in run.output and "RecursionError" not in run.output
