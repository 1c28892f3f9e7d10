"""The pre-commit hooks (`.pre-commit-hooks.yaml`) run through the real `pre-commit` (a dev dependency): the
hooks' definitions are copied into a `repo: local` configuration — entry, args, always_run, pass_filenames,
require_serial as written, only `language: unsupported` so that nothing is installed (and `verbose`) — and `git commit` runs them
from the git hook `pre-commit install` writes.

Found by trial "gitops" (fault 3): the hooks' `files:` pattern only covered `mcp.yaml`, `cases/`, `spec/`
and `*.j2`, so a breaking edit of the manifest's own API description (`openapi: tickets-api.yaml`, as
`mcprt init` writes it) was committed with both hooks "(no files to check) Skipped"; so would an edit of a
`python:` module, a `command:` server's script, an included manifest or `.env`. Then by review of that fix:
a `git mv` of an included manifest committed with both hooks passed (porcelain `git diff` showed it as a
rename, its old path never seen), the documented `args: [api/mcp.yaml]` was taken for a changed file, and a
long file list split by pre-commit checked the manifest once per batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mcprt.reload.scope import manifest_scope
from tests.gitops.pets_api import Workspace
from tests.gitops.test_gitops_diff import _git

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # `mcprt` and `pre-commit` of this environment


def _hooks() -> list[dict]:
    return YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())


def _hooked_repo(repo: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> dict[str, str]:
    """`git init` `repo`, commit what it holds with a pre-commit configuration of the hooks (`args` given to
    each) and install pre-commit's git hook; the environment to commit with."""
    # `verbose`: what a hook prints is shown when it passes too (only display: the run is the same)
    hooks = [{**hook, "language": "unsupported", "verbose": True, **({"args": list(args)} if args else {})}
             for hook in _hooks()]
    assert all(h["always_run"] is True and h["pass_filenames"] is False and "files" not in h for h in hooks), hooks
    (repo / ".pre-commit-config.yaml").write_text(json.dumps({"repos": [{"repo": "local", "hooks": hooks}]}))
    run_env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}",
               "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")  # before the hook is installed: the base is not judged
    installed = subprocess.run([str(BIN / "pre-commit"), "install"], cwd=repo, env=run_env, capture_output=True,
                               text=True, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return run_env


def _commit(repo: Path, env: dict[str, str], *paths: str) -> subprocess.CompletedProcess[str]:
    """`git add PATHS` (all when none) then `git commit`, its hooks run by pre-commit; output in `.stdout`."""
    subprocess.run(["git", "add", "-A", *paths], cwd=repo, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "commit", "-q", "-m", "change"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600, check=False, errors="replace")


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def _run(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run ARGS` (no git commit: no index to judge unless refs are given)."""
    return subprocess.run([str(BIN / "pre-commit"), "run", *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600, check=False, errors="replace")


def test_a_breaking_edit_of_the_manifests_own_api_description_is_stopped(workspace: Workspace) -> None:
    """The trial's input: a recorded case of the tool, then the description moves its path under /v2."""
    repo = workspace.root
    recorded = workspace.mcprt("record", "mcp.yaml", "get_pet", "--args", '{"petId": 1}')
    assert recorded.returncode == 0, recorded.stderr
    (repo / "README.md").write_text("pets\n")
    env = _hooked_repo(repo, workspace.env)

    (repo / "README.md").write_text("pets, documented\n")  # a file no manifest reads: nothing runs
    quiet = _commit(repo, env)
    assert quiet.returncode == 0 and "mcprt hook:" not in _output(quiet), _output(quiet)
    assert _output(quiet).count("Passed") == 2, _output(quiet)

    spec = json.loads((repo / "pets.json").read_text())
    spec["paths"]["/v2/pets/{petId}"] = spec["paths"].pop("/pets/{petId}")
    (repo / "pets.json").write_text(json.dumps(spec))
    refused = _commit(repo, env)
    said = _output(refused)
    assert refused.returncode != 0, said
    assert "mcprt hook: validate mcp.yaml (pets.json changed)" in said, said
    assert "mcprt hook: test mcp.yaml (pets.json changed)" in said, said
    assert "FAIL get_pet/" in said and "/v2/pets/1" in said, said
    assert subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout == "pets.json\n"  # not committed

    # the same commit judged after it landed: pre-push's refs (the CI of a pull request)
    _git(repo, "commit", "-q", "--no-verify", "-m", "v2")
    pushed = _run(repo, env, "mcprt-test", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert pushed.returncode != 0 and "mcprt hook: test mcp.yaml (pets.json changed)" in _output(pushed), _output(pushed)
    earlier = _run(repo, env, "mcprt-test", "--from-ref", "HEAD~2", "--to-ref", "HEAD~1")  # README only
    assert earlier.returncode == 0 and "mcprt hook:" not in _output(earlier), _output(earlier)
    # `pre-commit run --all-files` (CI) judges no commit: every manifest
    every = _run(repo, env, "mcprt-validate", "--all-files")
    assert every.returncode == 0 and "mcprt hook: validate mcp.yaml (no commit to judge: every manifest)" \
        in _output(every), _output(every)


def _included(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "api" / "shared").mkdir(parents=True)
    (repo / "api" / "tools_hooked.py").write_text('def ping() -> str:\n    """Ping."""\n    return "pong"\n')
    (repo / "api" / "mcp.yaml").write_text("version: 1\ninclude: [shared/mcp.yaml]\nsources:\n"
                                           "  local: {python: tools_hooked}\n")
    (repo / "api" / "shared" / "mcp.yaml").write_text("version: 1\nsources:\n  more: {python: more_tools}\n")
    (repo / "api" / "shared" / "more_tools.py").write_text('def pong() -> str:\n    """Pong."""\n    return "ping"\n')
    return repo


def _plain_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env["MCPRT_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def test_a_broken_include_stops_the_validate_hook_of_the_manifest_naming_it(tmp_path: Path) -> None:
    """A manifest given as the hooks document it (`args: [api/mcp.yaml]`), an edit of a file it includes; an
    unrelated commit runs nothing and never says the named manifest changed."""
    repo = _included(tmp_path)
    env = _hooked_repo(repo, _plain_env(tmp_path), ("api/mcp.yaml",))
    (repo / "NOTES.md").write_text("notes\n")
    quiet = _commit(repo, env)
    assert quiet.returncode == 0 and "mcprt hook:" not in _output(quiet), _output(quiet)

    (repo / "api" / "shared" / "mcp.yaml").write_text("version: 1\nsources:\n  more: {python: more_tools, retries: 3}\n")
    done = _commit(repo, env)
    said = _output(done)
    assert "mcprt hook: validate api/mcp.yaml (api/shared/mcp.yaml changed)" in said, said
    assert done.returncode != 0 and "unknown key 'retries'" in said, said
    assert said.count("mcprt hook: validate") == 1  # only the manifest asked for, not the included one alone


def test_a_moved_include_stops_the_commit(tmp_path: Path) -> None:
    """`git mv` of the included manifest: git shows a rename, whose old path is the one the manifest names."""
    repo = _included(tmp_path)
    env = _hooked_repo(repo, _plain_env(tmp_path))
    (repo / "api" / "more").mkdir()
    subprocess.run(["git", "mv", "api/shared/mcp.yaml", "api/more/mcp.yaml"], cwd=repo, check=True)
    done = _commit(repo, env)
    said = _output(done)
    assert "mcprt hook: validate api/mcp.yaml (api/shared/mcp.yaml" in said, said
    assert done.returncode != 0 and "included manifest not found: shared/mcp.yaml" in said, said


def test_a_large_commit_checks_each_manifest_once(tmp_path: Path) -> None:
    """2,000 staged files with long names (~230 KB of arguments, past pre-commit's 128 KiB split): one check."""
    repo = _included(tmp_path)
    env = _hooked_repo(repo, _plain_env(tmp_path))
    folder = repo / "api" / "spec" / ("deep_" * 20)
    folder.mkdir(parents=True)
    for i in range(2000):
        (folder / f"copy_number_{i:05d}_{'x' * 60}.txt").write_text(str(i))
    done = _commit(repo, {**env, "SKIP": "mcprt-test"})
    said = _output(done)
    assert done.returncode == 0, said
    assert said.count("mcprt hook: validate api/mcp.yaml (") == 1 and "and 1997 more changed" in said, said


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize(("manifest", "concerned", "unconcerned"), [
    # the trial's layout: `openapi: tickets-api.yaml` beside the manifest, whose $refs stay inside it
    ("sources:\n  t: {openapi: tickets-api.yaml}\n",
     ["mcp.yaml", "tickets-api.yaml", ".env", "cases/t/a.yaml", "cases/__snapshots__/t/a.txt", "spec/t.json"],
     ["README.md", "other.yaml", "tools.py", "src/app.js"]),
    # a description split over files: any description file beside it or the manifest may be a $ref's target
    ("sources:\n  t: {openapi: api/openapi.yaml}\n",
     ["api/openapi.yaml", "api/schemas/ticket.yaml", "common.json"], ["README.md", "api/notes.txt"]),
    # a URL description reads its pinned copy
    ("sources:\n  t: {openapi: 'https://api.example.com/openapi.json'}\n",
     ["spec/t.json", "spec/t.yaml"], ["openapi.json"]),
    # python: the entry module and every helper it may import from the folder
    ("sources:\n  p: {python: 'mytools.notes:search'}\n",
     ["mytools/notes.py", "mytools/__init__.py", "helpers.py", "deep/er/util.py"], ["notes.txt", "README.md"]),
    # command: the script the command line names, and its sibling modules
    ("sources:\n  c: {command: [python3, server/main.py, --verbose]}\n",
     ["server/main.py", "server/lib/db.py"], ["server/README.md", "main.py"]),
    ("sources:\n  c: {command: 'node index.mjs', cwd: srv}\n", ["srv/index.mjs"], ["index.mjs", "srv/notes.txt"]),
    # an argument longer than a file name may be (a JSON config, as MCP servers take): no file, no crash
    # (the hook raised ENAMETOOLONG for every commit in the repository)
    ("sources:\n  c: {command: [npx, -y, some-mcp-server], args: ['{\"config\": \"%s\"}']}\n" % ("x" * 300),
     ["mcp.yaml", "cases/c/a.yaml"], ["README.md", "npx"]),
    # include: the included manifest, its own .env, cases and files
    ("include: [../shared/mcp.yaml]\nsources:\n  t: {openapi: tickets-api.yaml}\n",
     ["../shared/mcp.yaml", "../shared/.env", "../shared/cases/s/x.yaml", "../shared/s.yaml"], ["../shared/x.txt"]),
], ids=["openapi-local", "openapi-split", "openapi-url", "python", "command", "command-cwd", "command-long-argument",
        "include"])
def test_each_kind_of_file_a_manifest_reads_concerns_it(tmp_path: Path, manifest: str, concerned: list[str],
                                                        unconcerned: list[str]) -> None:
    project = tmp_path / "project"
    _files(project, {"mcp.yaml": "version: 1\n" + manifest, "tickets-api.yaml": "openapi: 3.0.3\npaths:\n"
                     "  /t: {get: {responses: {'200': {$ref: '#/components/responses/ok'}}}}\n",
                     "api/openapi.yaml": "openapi: 3.0.3\npaths:\n  /t: {$ref: 'paths/t.yaml'}\n",
                     "server/main.py": "", "srv/index.mjs": "",
                     "../shared/mcp.yaml": "version: 1\nsources:\n  s: {openapi: s.yaml}\n",
                     "../shared/s.yaml": "openapi: 3.0.3\n"})
    scope = manifest_scope(project / "mcp.yaml")
    for name in concerned:
        assert scope.concerns(Path(os.path.normpath(project / name))), (name, scope)
    for name in unconcerned:
        assert not scope.concerns(Path(os.path.normpath(project / name))), (name, scope)


def test_a_staged_deletion_concerns_the_manifest(workspace: Workspace) -> None:
    """pre-commit passes no deleted file: a deleted case (or module) is found with git itself."""
    repo = workspace.root
    recorded = workspace.mcprt("record", "mcp.yaml", "get_pet", "--args", '{"petId": 2}')
    assert recorded.returncode == 0, recorded.stderr
    env = _hooked_repo(repo, workspace.env)
    case = next((repo / "cases").rglob("*.yaml")).relative_to(repo)
    (repo / case).unlink()
    done = _commit(repo, {**env, "SKIP": "mcprt-validate"})
    assert f"mcprt hook: test mcp.yaml ({case} changed)" in _output(done), _output(done)
