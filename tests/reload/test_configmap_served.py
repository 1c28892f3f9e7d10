"""Hot reload of a Kubernetes ConfigMap mount and of quick saves, against a real `mcprt up` and the SDK client.

The faults a platform engineer's trial found (its report's faults 1–3), each kept as its kind:
- two saves during a slow import left the first one's module served for good (the reload superseding the
  abandoned one reused its import, recorded as the newer file); a same-size save with its mtime put back, and a
  SIGHUP, reused the old module too: what a reload records as loaded must be what it imported;
- ConfigMap updates landing while a reload read the files applied a mix of two versions (`mcp.yaml` of one,
  the module of another): a reload applies only what it read from one state of the files;
- each ConfigMap update reopened the unchanged OpenAPI source and its log named every file under the deleted
  `..<timestamp>` folder: changes are decided by content and named as the manifest names the files.

`version(n)` is the trial's `mkver.sh`: version N's manifest overrides `fN`, which only its module defines
(its version number read from `helper.py`, so that a build reads two module files), `.env` says `GREETING=gN` and the
description's summary `vN`. Every version is consistent on its own; a mix shows as "has no operation 'fN'".
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import anyio
from reload_served import child_env, eventually, http_client, mcprt_up_http, text_of
from tests.support.kubelet import kubelet_swap

SPEC = """openapi: 3.0.3
info: {{title: Notes API, version: "1.0"}}
paths:
  /notes:
    post:
      operationId: createNote
      summary: Add a note v{n}.
      responses:
        '201': {{description: The new note.}}
"""
MANIFEST = """version: 1
server:
  name: k8s-trial
sources:
  notes:
    openapi: notes-api.yaml
    base_url: http://127.0.0.1:9
  py:
    python: kit
    tools:
      f{n}:
        description: "Version {n} says ${{GREETING}}."
"""
# The import of version N says it began (a file in KIT_MARKS), then waits for `go` there when `gate` (a test
# can then change the files between its two reads: kit.py, then helper.py; at most `gate_seconds`) or sleeps
# `slow` seconds.
KIT = '''"""kit v{n}"""
import os, pathlib, time
_marks = pathlib.Path(os.environ["KIT_MARKS"])
(_marks / "{n}").write_text("importing")
_deadline = time.monotonic() + {gate_seconds}
while {gate} and not (_marks / "go").exists() and time.monotonic() < _deadline:
    time.sleep(0.01)
time.sleep({slow})
from helper import N  # the tool's version: helper.py's, read after the wait


def _tool() -> str:  # kit.py's own version too: kit v2's code around helper v3 is a mix, not version 3
    return f"v{{N}}" if N == {n} else f"kit v{n} with helper v{{N}}"


_tool.__name__ = _tool.__qualname__ = f"f{{N}}"
_tool.__doc__ = f"Tool of version {{N}}."
globals()[f"f{{N}}"] = _tool
'''
HELPER = "N = {n}\n"


def version(n: int, *, slow: float = 0.0, gate: bool = False, gate_seconds: float = 5) -> dict[str, str]:
    return {"mcp.yaml": MANIFEST.format(n=n),
            "kit.py": KIT.format(n=n, slow=slow, gate=gate, gate_seconds=gate_seconds),
            "helper.py": HELPER.format(n=n), ".env": f"GREETING=g{n}\n", "notes-api.yaml": SPEC.format(n=n)}


def write_plain(folder: Path, files: dict[str, str]) -> None:
    """A developer's save of each file in place (the plain folder's update)."""
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def env(marks: Path) -> dict[str, str]:
    marks.mkdir(exist_ok=True)
    return child_env(KIT_MARKS=str(marks), MCPRT_LOG_FORMAT="json")


def records(log: str, message: str) -> list[dict]:
    """The JSON log lines whose message starts with `message`."""
    found = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if str(record.get("msg", "")).startswith(message):
            found.append(record)
    return found


async def served_f(url: str) -> dict[str, str]:
    """The served `f*` tools: name → description."""
    async with http_client(url) as client:
        return {t.name: t.description or "" for t in (await client.list_tools()).tools if t.name.startswith("f")}


async def wait_served(url: str, n: int, timeout: float = 20) -> None:
    async def only_n() -> bool:
        return await served_f(url) == {f"f{n}": f"Version {n} says g{n}."}

    await eventually(only_n, timeout=timeout, what=f"version {n} served alone")


async def call(url: str, tool: str) -> str:
    async with http_client(url) as client:
        return text_of(await client.call_tool(tool, {}))


async def wait_file(path: Path, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while not path.exists():
            await anyio.sleep(0.01)


async def test_two_saves_during_a_slow_import_serve_the_newest_code_in_a_plain_folder(tmp_path: Path) -> None:
    await _two_saves(tmp_path, lambda files: write_plain(tmp_path / "app", files), abandoned=True)


async def test_two_configmap_updates_during_a_slow_import_serve_the_newest_code(tmp_path: Path) -> None:
    # the swap names no watched path while the reload runs (it re-points `..data`, then deletes a folder the
    # watcher follows only from the next attempt on): the reload finishes, sees its files moved, reads them again
    await _two_saves(tmp_path, lambda files: kubelet_swap(tmp_path / "app", files), abandoned=False)


async def _two_saves(tmp_path: Path, update, *, abandoned: bool) -> None:  # type: ignore[no-untyped-def]
    """The trial's sequence: an update whose import is slow (1.5 s there), and a second update while that import
    runs. The first reload is abandoned for the second, whose reload took the module the abandoned import left in
    sys.modules as the new file's: `f2` served under manifest v3 until a restart. Here the import of version 2
    waits at its gate (`go` in KIT_MARKS, or 1 s when `abandoned`: the reload superseded waits for its import)
    until version 3 is saved: the second save lands inside the first import every time."""
    marks = tmp_path / "marks"
    update(version(1))
    with mcprt_up_http(tmp_path / "app" / "mcp.yaml", env=env(marks)) as up:
        await wait_served(up.url, 1)
        # an abandoned reload ends once its import does (the pool closes what it opened): at the gate's end here
        update(version(2, gate=True, gate_seconds=1 if abandoned else 5))
        await wait_file(marks / "2")  # the reload of version 2 read kit.py and waits at the gate
        update(version(3, gate=True))
        if abandoned:
            up.wait_log('"reload abandoned')  # superseded by version 3's save; its import ended at the gate's end
        (marks / "go").write_text("")
        await wait_served(up.url, 3)
        assert await call(up.url, "f3") == "v3"
        log = up.log()  # the reload of version 2 was abandoned for the update, or read everything again
        mark = up.log_mark()
        up.signal(signal.SIGHUP)  # re-reads everything: still version 3, nothing stale
        up.wait_log_beyond('"reload applied"', log.count('"reload applied"'))
        assert await served_f(up.url) == {"f3": "Version 3 says g3."}
        assert await call(up.url, "f3") == "v3"
        assert "has no operation" not in up.log(), up.log()
        assert up.health()["manifest"]["warnings"] == 0, up.log_since(mark)


def _same_size_edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (same length) and put the file's mtime back: a save within the same
    second and of the same size, which a record by (mtime, size) — and a `.pyc` — takes as unchanged."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


async def test_a_same_size_save_with_its_mtime_put_back_is_served(tmp_path: Path) -> None:
    """Bytecode written by the first import (no PYTHONDONTWRITEBYTECODE here) is valid by mtime and size, and
    the reloader's record of the module was by stat too: the edited code never ran."""
    marks = tmp_path / "marks"
    write_plain(tmp_path / "app", version(1))
    child = env(marks)
    child.pop("PYTHONDONTWRITEBYTECODE", None)
    with mcprt_up_http(tmp_path / "app" / "mcp.yaml", env=child) as up:
        assert await call(up.url, "f1") == "v1"
        _same_size_edit(tmp_path / "app" / "kit.py", 'return f"v{N}"', 'return f"w{N}"')

        async def edited() -> bool:
            return await call(up.url, "f1") == "w1"

        await eventually(edited, timeout=20, what="the same-size save served")


async def test_sighup_serves_what_is_on_disk_whatever_was_recorded(tmp_path: Path) -> None:
    """`--no-reload`: only the signal reads the files. A same-size save with its mtime put back looked unchanged
    to the record by stat, so SIGHUP kept the old module ("no tool changes", `sources_opened: -`)."""
    marks = tmp_path / "marks"
    write_plain(tmp_path / "app", version(1))
    with mcprt_up_http(tmp_path / "app" / "mcp.yaml", "--no-reload", env=env(marks)) as up:
        assert await call(up.url, "f1") == "v1"
        _same_size_edit(tmp_path / "app" / "kit.py", 'return f"v{N}"', 'return f"w{N}"')
        up.signal(signal.SIGHUP)
        up.wait_log('"reload applied"')
        assert await call(up.url, "f1") == "w1"


async def test_a_configmap_update_during_a_reload_is_never_applied_mixed(tmp_path: Path) -> None:
    """An update lands between the reload's read of kit.py (version 2) and of helper.py (version 3) and the
    reload finishes before the update's event is seen: it applied manifest 2 around helper 3 (`f2` overridden
    but missing, `f3` served bare). A reload whose files changed under it now reads them all again."""
    marks = tmp_path / "marks"
    app = tmp_path / "app"
    kubelet_swap(app, version(1))
    (marks / "go").parent.mkdir(exist_ok=True)
    (marks / "go").write_text("")
    with mcprt_up_http(app / "mcp.yaml", env=env(marks)) as up:
        await wait_served(up.url, 1)
        (marks / "go").unlink()
        kubelet_swap(app, version(2, gate=True))
        await wait_file(marks / "2")  # the reload read kit.py of version 2 and waits
        kubelet_swap(app, version(3, gate=True))
        (marks / "go").write_text("")
        await wait_served(up.url, 3)
        await anyio.sleep(0.3)  # any later reload (the update's own event) is over
        log = up.log()
        assert "has no operation" not in log, log
        assert await served_f(up.url) == {"f3": "Version 3 says g3."}
        assert await call(up.url, "f3") == "v3"
        assert up.health()["manifest"]["warnings"] == 0


async def test_configmap_updates_a_tenth_to_three_tenths_of_a_second_apart_apply_no_mix(tmp_path: Path) -> None:
    """The trial's loop (`cmswap.sh` every 0.1–0.4 s): 6 of 25 reloads applied a mix. Each import here takes
    0.1 s between its two module files, so updates land inside reloads."""
    marks = tmp_path / "marks"
    app = tmp_path / "app"
    kubelet_swap(app, version(1))
    last = 9
    with mcprt_up_http(app / "mcp.yaml", env=env(marks)) as up:
        await wait_served(up.url, 1)
        for n in range(2, last + 1):
            kubelet_swap(app, version(n, slow=0.1))
            await anyio.sleep(random.uniform(0.1, 0.3))
        await wait_served(up.url, last)
        await anyio.sleep(0.5)
        log = up.log()
        applied = records(log, "reload applied")
        assert applied and "has no operation" not in log, log
        assert await call(up.url, f"f{last}") == f"v{last}"


async def test_a_configmap_update_of_one_file_reopens_only_its_source_and_names_it(tmp_path: Path) -> None:
    """Changing only kit.py reopened `notes` too (its description was read through the deleted folder) and the
    log named all four files under that folder; in a plain folder the same edit said `kit.py`, `py`, 1 reused."""
    marks = tmp_path / "marks"
    app = tmp_path / "app"
    files = version(1)
    kubelet_swap(app, files)
    with mcprt_up_http(app / "mcp.yaml", env=env(marks)) as up:
        await wait_served(up.url, 1)
        files["kit.py"] = files["kit.py"].replace('return f"v{N}"', 'return f"w{N}"')
        kubelet_swap(app, files)
        up.wait_log('"reload applied"')
        line = records(up.log(), "reload applied")[-1]
        assert (line["files"], line["sources_opened"], line["sources_reused"]) == ("kit.py", "py", 1), line
        assert await call(up.url, "f1") == "w1"

        files[".env"] = "GREETING=hello\n"
        kubelet_swap(app, files)
        up.wait_log_beyond('"reload applied"', 1)
        line = records(up.log(), "reload applied")[-1]
        assert line["files"] == ".env" and "notes" not in line["sources_opened"], line
        assert await served_f(up.url) == {"f1": "Version 1 says hello."}

        files["mcp.yaml"] = files["mcp.yaml"].replace("Version 1 says", "Version 1 said")
        kubelet_swap(app, files)
        up.wait_log_beyond('"reload applied"', 2)
        line = records(up.log(), "reload applied")[-1]
        assert line["files"] == "mcp.yaml" and line["sources_opened"] == "-", line
        assert await served_f(up.url) == {"f1": "Version 1 said hello."}
        assert records(up.log(), "reload applied")[0]["sources_reused"] == 1
        time.sleep(0.3)
        assert len(records(up.log(), "reload applied")) == 3  # the old folders' deletions reload nothing


async def test_a_git_sync_folder_swap_then_sighup_serves_the_new_version_whole(tmp_path: Path) -> None:
    """git-sync's layout: the manifest is read as `repo/mcp.yaml`, `repo -> rev1`; version 2 lands in `rev2` and
    `repo` is re-pointed by a rename. SIGHUP applied manifest 2 and kit 2 around rev1's helper, still imported
    ("source 'py' has no operation 'f2'", f2 unknown): modules were keyed by the folder's old resolution."""
    write_plain(tmp_path / "rev1", version(1))
    os.symlink("rev1", tmp_path / "repo")
    with mcprt_up_http(tmp_path / "repo" / "mcp.yaml", "--no-reload", env=env(tmp_path / "marks")) as up:
        await wait_served(up.url, 1)
        write_plain(tmp_path / "rev2", version(2))
        os.symlink("rev2", tmp_path / "repo.new")
        os.rename(tmp_path / "repo.new", tmp_path / "repo")
        up.signal(signal.SIGHUP)
        up.wait_log('"reload applied"')
        assert await served_f(up.url) == {"f2": "Version 2 says g2."}
        assert await call(up.url, "f2") == "v2"
        assert "has no operation" not in up.log(), up.log()


async def test_files_are_named_under_the_manifest_folder_reached_through_a_symlink(tmp_path: Path) -> None:
    """`link/mcp.yaml` with `link -> real`: an edit of kit.py was logged as `files=/…/real/kit.py`."""
    write_plain(tmp_path / "real", version(1))
    os.symlink(tmp_path / "real", tmp_path / "link")
    with mcprt_up_http(tmp_path / "link" / "mcp.yaml", env=env(tmp_path / "marks")) as up:
        await wait_served(up.url, 1)
        kit = tmp_path / "real" / "kit.py"
        kit.write_text(kit.read_text().replace('return f"v{N}"', 'return f"w{N}+"'), encoding="utf-8")
        up.wait_log('"reload applied"')
        line = records(up.log(), "reload applied")[-1]
        assert (line["files"], line["sources_opened"]) == ("kit.py", "py"), line
        assert await call(up.url, "f1") == "w1+"


async def test_a_rotated_secret_file_outside_the_folder_is_named_as_written(tmp_path: Path) -> None:
    """`GREETING_FILE` names a key of a Secret mounted outside the manifest's folder; the kubelet rotates it. The
    reload line said `files=/…/sec/..2026_…/GREETING`: a folder the kubelet deleted with that very update."""
    app, secret = tmp_path / "app", tmp_path / "sec"
    files = version(1)
    files.pop(".env")
    write_plain(app, files)
    kubelet_swap(secret, {"GREETING": "g1\n"})
    child = env(tmp_path / "marks")
    child["GREETING_FILE"] = str(secret / "GREETING")
    with mcprt_up_http(app / "mcp.yaml", env=child) as up:
        await wait_served(up.url, 1)
        kubelet_swap(secret, {"GREETING": "rotated\n"})
        up.wait_log('"reload applied"')
        line = records(up.log(), "reload applied")[-1]
        assert line["files"] == str(secret / "GREETING"), line
        assert await served_f(up.url) == {"f1": "Version 1 says rotated."}
