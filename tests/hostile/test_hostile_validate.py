"""Finding 10 of #13 (part): no quiet weakening. An empty configured secret is an error, and
`validate --no-exec` checks an untrusted manifest without running any of its code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.hostile.hostile_support import run_cli
from tests.support.served import child_env, up_command

EVIL = '''
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("a pull request ran code in CI")


def f() -> str:
    """Nothing."""
    return "x"
'''


def test_empty_token_is_an_error_not_auth_off(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text('def ping() -> str:\n    """Pong."""\n    return "pong"\n')
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text('version: 1\nserver:\n  auth: {bearer_tokens: ["${MCPRT_TOKEN}"]}\n'
                        "sources:\n  t:\n    python: tools:ping\n")
    process = subprocess.run(up_command(manifest, "--transport", "http", "--port", "0"), cwd=tmp_path,
                             env=child_env(MCPRT_TOKEN=""), capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    assert process.returncode == 2, process.stderr
    assert "mcp.yaml:3:" in process.stderr and "must not be empty" in process.stderr
    assert "no auth" not in process.stderr and "Traceback" not in process.stderr
    # The same for an upstream credential.
    manifest.write_text('version: 1\nsources:\n  a:\n    openapi: spec.json\n    auth: {bearer: "${API_TOKEN}"}\n')
    run = run_cli("validate", str(manifest), cwd=tmp_path, env=child_env(API_TOKEN=""))
    assert run.returncode == 2 and "mcp.yaml:5:" in run.stderr and "must not be empty" in run.stderr


def test_validate_no_exec_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "evil.py").write_text(EVIL)
    marker = tmp_path / "STARTED"
    (tmp_path / "spec.json").write_text('{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": '
                                        '{"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}}')
    manifest = tmp_path / "mcp.yaml"
    (tmp_path / "start.py").write_text(f"open({str(marker)!r}, 'w').write('1')\n")
    manifest.write_text(
        "version: 1\nsources:\n  notes:\n    python: evil:f\n"
        f"  files:\n    command: [{sys.executable}, start.py]\n    startup_timeout: 5s\n"
        "  api:\n    openapi: spec.json\n    base_url: http://127.0.0.1:9\n"
    )
    run = run_cli("validate", "--offline", "--no-exec", str(manifest), cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.output
    assert "not checked (--no-exec; these run code): notes (python), files (command)" in run.stderr
    assert "1 tool from 1 source" in run.stderr  # the static part (the OpenAPI source) was checked
    assert not (tmp_path / "IMPORTED").exists() and not marker.exists()
    # Static mistakes are still found.
    manifest.write_text(manifest.read_text() + "    tools:\n      x: {prune: 'a[', output: '{{ x'}\n")
    broken = run_cli("validate", "--offline", "--no-exec", str(manifest), cwd=tmp_path, timeout=60)
    assert broken.returncode == 2 and "invalid JMESPath" in broken.stderr and "invalid Jinja2" in broken.stderr
    assert not (tmp_path / "IMPORTED").exists() and not marker.exists()
    # Without --no-exec, validate does run them (why the CI docs say which mode to use).
    manifest.write_text(manifest.read_text().split("    tools:")[0])
    run_cli("validate", "--offline", str(manifest), cwd=tmp_path, timeout=60)
    assert (tmp_path / "IMPORTED").exists()


def test_validate_no_exec_says_how_many_sources_it_did_not_open(tmp_path: Path) -> None:
    """Found by a new-user trial: with every source skipped, `validate --no-exec` said only "ok — 0 tools
    from 0 sources". The summary now counts and names the sources not opened, and why."""
    (tmp_path / "evil.py").write_text(EVIL)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  notes:\n    python: evil:f\n"
                        f"  files:\n    command: [{sys.executable}, -c, 'pass']\n")
    run = run_cli("validate", "--offline", "--no-exec", str(manifest), cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.output
    summary = [line for line in run.stderr.splitlines() if ": ok — " in line]
    assert summary == [f"{manifest}: ok — 0 tools from 0 sources opened, 0 listed, 12 bytes of tools/list; "
                       "2 sources not checked (--no-exec; these run code): notes (python), files (command)"], run.stderr
    assert not (tmp_path / "IMPORTED").exists()
    # Over budget, the failure still says which sources were not checked.
    manifest.write_text(manifest.read_text() + "server:\n  budget: {max_tools_bytes: 1}\n")
    over = run_cli("validate", "--offline", "--no-exec", str(manifest), cwd=tmp_path, timeout=60)
    assert over.returncode == 1, over.output
    assert "2 sources not checked (--no-exec; these run code): notes (python), files (command)" in over.stderr


def test_validate_warns_of_a_prune_that_grows_exponentially(tmp_path: Path) -> None:
    """Security trial, item 1: 40 stages of `{a:@,b:@}` passed validate silently (and `length(@)` at the
    end hides the growth from the result's type); each is a warning, a plain prune is not."""
    (tmp_path / "tools.py").write_text('def data() -> dict:\n    """Data."""\n    return {"n": 1}\n')
    bombs = {"doubled": " | ".join(["{a:@,b:@}"] * 40), "joined": "[@,@] | join('', @) | " * 40 + "length(@)",
             "plain": "{n: n, m: n}"}
    sources = "".join(f"  {name}:\n    python: tools:data\n    prefix: {name}_\n    tools:\n      data:\n"
                      f"        prune: \"{prune}\"\n" for name, prune in bombs.items())
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n" + sources)
    run = run_cli("validate", "--offline", str(manifest), cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if "prune can repeat its input" in line]
    assert len(warned) == 2 and "up to 2^40 times" in warned[0], run.stderr
    assert [line.split(":")[1] for line in warned] == ["8", "14"], warned  # at each bomb's line


def test_validate_of_a_prune_thousands_of_stages_long_is_an_error_at_its_position(tmp_path: Path) -> None:
    """Review of dedupe, item 4: past about a thousand pipe stages the function check's recursion made
    validate report "prune expression nests too deeply" with no more said; 5,000 stages then compiled, and
    validate said ok of a prune every call of which failed (jmespath evaluates by recursion: review of
    prunedepth, item 1). Now an error at the expression's file:line:col naming its depth and the most that runs."""
    (tmp_path / "tools.py").write_text('def data() -> dict:\n    """Data."""\n    return {"n": 1}\n')
    prune = " | ".join(["{a:@,b:@}"] * 5000)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  long:\n    python: tools:data\n    tools:\n      data:\n"
                        f"        prune: \"{prune}\"\n")
    run = run_cli("validate", "--offline", str(manifest), cwd=tmp_path, timeout=60)
    assert run.returncode == 2, run.stderr
    assert (f"{manifest}:7:17: prune: the expression nests 5,002 levels deep; at most 200 levels can run"
            in run.stderr), run.stderr
    assert "Traceback" not in run.output and "RecursionError" not in run.output, run.output[-2000:]
