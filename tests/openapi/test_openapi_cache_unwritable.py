"""An unwritable cache folder is said once, not silent (a Kubernetes trial, report fault 6).

With a read-only root and `HOME=/nonexistent`, `strace` showed three `mkdir(…/mcprt-cache) = -1 EACCES` and the log
held only the banner: every start compiled cold with no hint why. Now the first cache write that fails logs one
warning naming the folder, the OS error and how to give it a writable place (`fetch.write_cached`); the command
itself still works.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process

SPEC = """openapi: 3.0.3
info: {title: Notes, version: "1"}
servers: [{url: "http://127.0.0.1:50999"}]
paths:
  /notes/{id}:
    get:
      operationId: getNote
      summary: Read one note.
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /notes:
    post:
      operationId: createNote
      summary: Add a note.
      responses: {"201": {description: created}}
"""


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes-api.yaml").write_text(SPEC)
    (folder / "mcp.yaml").write_text("version: 1\nsources:\n  notes:\n    openapi: notes-api.yaml\n")
    return folder


def _warnings(stderr: str) -> list[dict[str, str]]:
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r["level"] == "warning" and "cache folder" in r["msg"]]


def test_a_cache_folder_below_a_file_is_one_warning_naming_it_and_the_os_error(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    (tmp_path / "a-file").write_text("")
    cache = tmp_path / "a-file" / "mcprt-cache"
    done = mcprt_process("tools", "mcp.yaml", cwd=project,
                         env={"MCPRT_CACHE_DIR": str(cache), "MCPRT_LOG_FORMAT": "json"}, timeout=90)
    assert done.returncode == 0, done
    assert "getNote" in done.stdout, done
    [warning] = _warnings(done.stderr)  # once per process, though the spec digest and the compile both failed
    assert warning["folder"] == str(cache), warning
    assert warning["error"].startswith(f"Not a directory: {cache}"), warning
    assert "set MCPRT_CACHE_DIR to a writable folder (in Kubernetes, mount an emptyDir volume there)" \
        in warning["msg"], warning


@pytest.mark.parametrize("mode", [0o555, 0o700])
def test_a_read_only_cache_folder_for_a_non_root_uid_is_said(mode: int) -> None:
    """The trial's case: a uid that may not create the folder (EACCES). As root the test runs mcprt as uid 65534
    (`setpriv`, as the trial did): root ignores the mode bits. In a folder of its own under /tmp that uid may
    enter (pytest's tmp_path is 0700). 0700: the uid may not even look inside the parent — `Path.exists()` of the
    digest entry raised PermissionError there and the command ended with an error instead of compiling."""
    tmp_path = Path(tempfile.mkdtemp(prefix="mcprt-cache-ro-"))
    tmp_path.chmod(0o755)
    try:
        _read_only_case(tmp_path, mode)
    finally:
        (tmp_path / "read-only").chmod(0o755)
        shutil.rmtree(tmp_path)


def _read_only_case(tmp_path: Path, mode: int) -> None:
    project = _project(tmp_path / "p")
    parent = tmp_path / "read-only"
    parent.mkdir(mode=mode)
    parent.chmod(mode)
    cache = parent / "mcprt-cache"
    for path in (tmp_path, project, *project.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    command: tuple[str, ...] = ("tools", "mcp.yaml")
    env = {"MCPRT_CACHE_DIR": str(cache), "MCPRT_LOG_FORMAT": "json", "HOME": "/nonexistent"}
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) runs mcprt as a non-root uid here"
        done = mcprt_process(*command, cwd=project, env=env, timeout=90,
                             code=f"import os, sys; os.execv({setpriv!r}, [{setpriv!r}, '--reuid=65534', "
                                  f"'--regid=65534', '--clear-groups', {sys.executable!r}, '-m', 'mcprt', "
                                  "*sys.argv[1:]])")
    else:
        done = mcprt_process(*command, cwd=project, env=env, timeout=90)
    assert done.returncode == 0, done
    [warning] = _warnings(done.stderr)
    assert warning["folder"] == str(cache) and warning["error"].startswith("Permission denied"), warning
    assert "getNote" in done.stdout, done
    assert not cache.exists()


def test_a_writable_cache_folder_gives_no_warning(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    done = mcprt_process("tools", "mcp.yaml", cwd=project,
                         env={"MCPRT_CACHE_DIR": str(tmp_path / "cache"), "MCPRT_LOG_FORMAT": "json"}, timeout=90)
    assert done.returncode == 0, done
    assert _warnings(done.stderr) == [], done.stderr
    assert any((tmp_path / "cache").rglob("*")), "the cache was written"
