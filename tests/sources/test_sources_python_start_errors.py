"""Every `python:` source's error at once, each at the line of the module that caused it.

A Kubernetes trial (report fault 5): a manifest with `kit.py` (a syntax error) and `kit2.py` (`raise ValueError` at
import) made `mcprt up` exit 2 with one error, kit2's, at the manifest key; kit's syntax error was an INFO note "was
not opened: another source's error" (up's fail-fast cancelled its open), found only after kit2 was fixed — in a
CrashLoopBackOff pod each round trip is a rollout. Neither error named the module's line. Now each source's error is
reported (`SourceKind.open_runs_to_end`: an import cannot be interrupted, so it is waited for), at the syntax error's
position or the module's raising line (`PlacedError`), by `up`, `validate` and a reload alike.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process
from tests.support.kubelet import kubelet_swap
from tests.support.served import child_env, mcprt_http

# The trial's files (/tmp/trial_k8s_work/synerr), as the user wrote them.
KIT = "def f(:\n  pass\n"
KIT2 = ('import json\n__all__=["g"]\ndef g() -> str:\n    """g"""\n    return "g"\n'
        'raise ValueError("import-time failure in kit2")\n')
MANIFEST = "version: 1\nsources:\n  py:\n    python: kit\n  py2:\n    python: kit2\n"


def _trial_folder(folder: Path) -> Path:
    (folder / "kit.py").write_text(KIT)
    (folder / "kit2.py").write_text(KIT2)
    (folder / "mcp.yaml").write_text(MANIFEST)
    return folder / "mcp.yaml"


def _assert_both_errors(output: str) -> None:
    assert "kit.py:1:7: source 'py': 'kit': cannot import 'kit': invalid syntax (kit.py, line 1)" in output, output
    assert ("kit2.py:6:1: source 'py2': 'kit2': importing 'kit2' failed: ValueError: import-time failure in kit2"
            in output), output
    assert "was not opened" not in output, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("command", ["up", "validate"])
def test_every_python_sources_error_is_reported_at_its_modules_line(tmp_path: Path, command: str) -> None:
    manifest = _trial_folder(tmp_path)
    done = mcprt_process(command, "mcp.yaml", cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")},
                         timeout=90)
    assert done.returncode == 2, done
    _assert_both_errors(done.stderr + done.stdout)
    assert "2 errors" in done.stderr + done.stdout, done
    assert manifest.is_file()


def test_up_json_log_places_each_error_in_its_module(tmp_path: Path) -> None:
    """The pod's log (`MCPRT_LOG_FORMAT=json`): one error record per source, `file`/`line`/`col` the module's,
    the file named as the manifest was (relative to the working directory)."""
    (tmp_path / "synerr").mkdir()
    _trial_folder(tmp_path / "synerr")
    done = mcprt_process("up", "synerr/mcp.yaml", cwd=tmp_path,
                         env={"MCPRT_LOG_FORMAT": "json", "MCPRT_CACHE_DIR": str(tmp_path / "cache")}, timeout=90)
    assert done.returncode == 2, done
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    placed = {(r["file"], r["line"], r["col"]) for r in records if r["level"] == "error" and "file" in r}
    assert placed == {("synerr/kit.py", 1, 7), ("synerr/kit2.py", 6, 1)}, done.stderr


@pytest.mark.parametrize("command", ["up", "validate"])
def test_a_configmap_mounted_module_is_named_as_mounted_not_by_the_kubelets_timestamp_folder(
        tmp_path: Path, command: str) -> None:
    """The pod's case: the modules are a ConfigMap volume, each `kit.py` a symlink through `..data` into a
    `..<timestamp>` folder the kubelet deletes at the next update. The error names `kit.py` as mounted (a review
    saw `..2026_12_02_16_38_51.481780036/kit.py:1:7`), in the text and in the JSON log's `file`."""
    mount = tmp_path / "cm"
    kubelet_swap(mount, {"kit.py": KIT, "kit2.py": KIT2, "mcp.yaml": MANIFEST})
    done = mcprt_process(command, "cm/mcp.yaml", cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")},
                         timeout=90)
    assert done.returncode == 2, done
    output = done.stderr + done.stdout
    assert "cm/kit.py:1:7: source 'py'" in output, output
    assert "cm/kit2.py:6:1: source 'py2'" in output, output
    assert "..20" not in output and "..data" not in output, output
    if command == "up":
        done = mcprt_process("up", "cm/mcp.yaml", cwd=tmp_path, timeout=90,
                             env={"MCPRT_LOG_FORMAT": "json", "MCPRT_CACHE_DIR": str(tmp_path / "cache")})
        records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        placed = {(r["file"], r["line"], r["col"]) for r in records if r["level"] == "error" and "file" in r}
        assert placed == {("cm/kit.py", 1, 7), ("cm/kit2.py", 6, 1)}, done.stderr


def test_up_waits_for_a_slow_import_and_reports_its_error_too(tmp_path: Path) -> None:
    """The import that fails second (after 1.5 s of heavy imports) is still reported: up's fail-fast cancels the
    opens that wait on something outside (a `command:` server, see test_stdio_host_launch), not an import."""
    (tmp_path / "slow.py").write_text("import time\n\ntime.sleep(1.5)\nraise RuntimeError('no DATABASE_URL')\n")
    (tmp_path / "fast.py").write_text("def f(:\n    pass\n")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  slow:\n    python: slow\n  fast:\n    python: fast\n")
    done = mcprt_process("up", "mcp.yaml", cwd=tmp_path, env={"MCPRT_CACHE_DIR": str(tmp_path / "cache")},
                         timeout=90)
    assert done.returncode == 2, done
    assert "fast.py:1:7: source 'fast': 'fast': cannot import 'fast': invalid syntax" in done.stderr, done.stderr
    assert "slow.py:4:1: source 'slow': 'slow': importing 'slow' failed: RuntimeError: no DATABASE_URL" \
        in done.stderr, done.stderr


def test_an_error_raised_in_a_helper_or_a_library_names_the_folders_own_line(tmp_path: Path) -> None:
    """A helper module of the folder that raises: its line. A library (json) that raises: the line of the
    folder's code that called it, not the library's."""
    (tmp_path / "helper.py").write_text("SETTINGS = {}\n\n\ndef token() -> str:\n    return SETTINGS['token']\n")
    (tmp_path / "uses_helper.py").write_text("import helper\n\nTOKEN = helper.token()\n")
    (tmp_path / "reads_config.py").write_text("import json\n\n\nCONFIG = json.loads('{not json')\n")
    (tmp_path / "needs_package.py").write_text("import os\nimport no_such_package_for_mcprt\n")
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  a:\n    python: uses_helper\n  b:\n"
                                       "    python: reads_config\n  c:\n    python: needs_package\n")
    done = mcprt_process("validate", "mcp.yaml", cwd=tmp_path, timeout=90)
    assert done.returncode == 2, done
    out = done.stderr + done.stdout
    assert "helper.py:5:12: source 'a': 'uses_helper': importing 'uses_helper' failed: KeyError: 'token'" in out, out
    assert "reads_config.py:4:10: source 'b': 'reads_config': importing 'reads_config' failed: JSONDecodeError" \
        in out, out
    assert ("needs_package.py:2:1: source 'c': 'needs_package': cannot import 'needs_package': "
            "No module named 'no_such_package_for_mcprt'") in out, out
    assert "3 errors" in out and "Traceback" not in out, out


def test_a_missing_entry_module_stays_at_the_manifest_key(tmp_path: Path) -> None:
    """No module file to point at: the error stays where the manifest names it."""
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  a:\n    python: not_here_module\n")
    done = mcprt_process("validate", "mcp.yaml", cwd=tmp_path, timeout=90)
    assert done.returncode == 2, done
    assert "mcp.yaml:4:13: source 'a': 'not_here_module': cannot import 'not_here_module'" in done.stderr, done.stderr


def test_a_reload_reports_every_broken_modules_error_and_keeps_serving(tmp_path: Path) -> None:
    """Both modules broken before one reload (no watcher: `MCPRT_RELOAD=false`, then SIGHUP), so that one reload
    must report both: its `reload failed` line says `errors=2` and both errors follow it (a union over two reloads
    each reporting one error would not pass)."""
    (tmp_path / "kit.py").write_text("def f() -> str:\n    'f'\n    return 'f'\n")
    (tmp_path / "kit2.py").write_text("def g() -> str:\n    'g'\n    return 'g'\n")
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"), MCPRT_RELOAD="false")
    with mcprt_http(tmp_path / "mcp.yaml", env=env) as up:
        mark = up.log_mark()
        for name, text in (("kit.py", KIT), ("kit2.py", KIT2)):
            path = tmp_path / name
            path.write_text(text)
            later = time.time() + 5  # a new mtime even on a coarse clock: the reload sees both as changed
            os.utime(path, (later, later))
        up.signal(signal.SIGHUP)
        log = up.wait_log("import-time failure in kit2", timeout=60)
        since = up.log_since(mark)
        failed = [line for line in since.splitlines() if "reload failed" in line]
        assert len(failed) == 1, since
        assert "trigger=signal" in failed[0] and "errors=2" in failed[0], since
        after = since[since.index(failed[0]):]
        assert "cannot import 'kit': invalid syntax" in after, since
        assert "kit.py:1:7" in after, since
        assert "kit2.py:6:1" in after, since
        assert "was not opened" not in since, since
        assert up.health()["status"] != "starting", log
        assert up.process.poll() is None, log


def test_each_problem_carries_its_own_place_even_when_two_read_the_same() -> None:
    """Review of fixk2 (problem 9): a place was found by the problem's text (`places[message]`), so two problems
    with one text shared one place. Each `SourceProblem` now carries its own."""
    from mcprt.errors import McprtError, PlacedError, SourceConfigError, source_problem

    error = SourceConfigError([source_problem(("python",), PlacedError("same text", ("/m/kit.py", 3, 1))),
                               source_problem(("prompts", 0), McprtError("same text")),
                               (("resources", "r://x"), "given as a pair")])
    assert error.problems == [(("python",), "same text", ("/m/kit.py", 3, 1)), (("prompts", 0), "same text", None),
                              (("resources", "r://x"), "given as a pair", None)]
