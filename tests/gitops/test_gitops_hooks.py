"""The pre-commit hooks (`.pre-commit-hooks.yaml`) run as pre-commit runs them: the hook's `entry` and `args`
with the staged files appended, from the repository's top level. pre-commit itself is not a dependency
(not in the dev extras), so the hook definitions are read from the file and their command lines built the
way pre-commit builds them (`always_run` with `pass_filenames`: every staged file, deletions excepted).

Found by trial "gitops" (fault 3): the hooks' `files:` pattern only covered `mcp.yaml`, `cases/`, `spec/`
and `*.j2`, so a breaking edit of the manifest's own API description (`openapi: tickets-api.yaml`, as
`mcprt init` writes it) was committed with both hooks "(no files to check) Skipped"; so would an edit of a
`python:` module, a `command:` server's script, an included manifest or `.env`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mcprt.reload.scope import manifest_scope
from tests.gitops.pets_api import Workspace
from tests.gitops.test_gitops_diff import _git

ROOT = Path(__file__).resolve().parents[2]


def _hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def _staged(repo: Path) -> list[str]:
    """What pre-commit passes a hook at `git commit` (`git diff --staged --name-only --diff-filter=ACMRTUXB`)."""
    done = subprocess.run(["git", "diff", "--staged", "--name-only", "-z", "--diff-filter=ACMRTUXB"], cwd=repo,
                          capture_output=True, text=True, check=True)
    return [name for name in done.stdout.split("\0") if name]


def _run_hook(repo: Path, hook_id: str, env: dict[str, str], args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    hook = _hooks()[hook_id]
    assert hook["always_run"] is True and hook["pass_filenames"] is True and "files" not in hook, hook
    command = [*shlex.split(hook["entry"]), *hook.get("args", []), *args, *_staged(repo)]
    assert command[0] == "mcprt"
    bin_dir = Path(sys.executable).parent  # the `mcprt` script pre-commit's python environment would have
    run_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"}
    return subprocess.run(command, cwd=repo, env=run_env, capture_output=True, text=True, timeout=300, check=False)


def test_a_breaking_edit_of_the_manifests_own_api_description_is_stopped(workspace: Workspace) -> None:
    """The trial's input: a recorded case of the tool, then the description moves its path under /v2."""
    repo = workspace.root
    recorded = workspace.mcprt("record", "mcp.yaml", "get_pet", "--args", '{"petId": 1}')
    assert recorded.returncode == 0, recorded.stderr
    (repo / "README.md").write_text("pets\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")

    (repo / "README.md").write_text("pets, documented\n")  # a file no manifest reads: nothing runs
    _git(repo, "add", "README.md")
    for hook_id in ("mcprt-validate", "mcprt-test"):
        quiet = _run_hook(repo, hook_id, workspace.env)
        assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == "", (hook_id, quiet)

    spec = json.loads((repo / "pets.json").read_text())
    spec["paths"]["/v2/pets/{petId}"] = spec["paths"].pop("/pets/{petId}")
    (repo / "pets.json").write_text(json.dumps(spec))
    _git(repo, "add", "pets.json")
    assert _staged(repo) == ["README.md", "pets.json"]
    validated = _run_hook(repo, "mcprt-validate", workspace.env)
    assert "mcprt hook: validate mcp.yaml (pets.json changed)" in validated.stderr, validated.stderr
    assert validated.returncode == 0, validated.stderr  # a valid description: validate has nothing against it
    tested = _run_hook(repo, "mcprt-test", workspace.env)
    assert "mcprt hook: test mcp.yaml (pets.json changed)" in tested.stderr, tested.stderr
    assert tested.returncode == 1, tested.stdout + tested.stderr
    assert "FAIL get_pet/" in tested.stdout and "/v2/pets/1" in tested.stdout, tested.stdout


def test_a_broken_include_stops_the_validate_hook_of_the_manifest_including_it(tmp_path: Path) -> None:
    """A manifest given with `--manifest` (the hooks' documented `args`), an edit of a file it includes."""
    repo = tmp_path / "repo"
    (repo / "api" / "shared").mkdir(parents=True)
    (repo / "api" / "tools_hooked.py").write_text('def ping() -> str:\n    """Ping."""\n    return "pong"\n')
    (repo / "api" / "mcp.yaml").write_text("version: 1\ninclude: [shared/mcp.yaml]\nsources:\n"
                                           "  local: {python: tools_hooked}\n")
    (repo / "api" / "shared" / "mcp.yaml").write_text("version: 1\nsources:\n  more: {python: more_tools}\n")
    (repo / "api" / "shared" / "more_tools.py").write_text('def pong() -> str:\n    """Pong."""\n    return "ping"\n')
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    (repo / "api" / "shared" / "mcp.yaml").write_text("version: 1\nsources:\n  more: {python: more_tools, retries: 3}\n")
    _git(repo, "add", ".")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env["MCPRT_CACHE_DIR"] = str(tmp_path / "cache")
    done = _run_hook(repo, "mcprt-validate", env, ("--manifest", "api/mcp.yaml"))
    assert "mcprt hook: validate api/mcp.yaml (api/shared/mcp.yaml changed)" in done.stderr, done.stderr
    assert done.returncode == 2 and "unknown key 'retries'" in done.stderr, done.stderr
    assert done.stderr.count("mcprt hook:") == 1  # only the manifest asked for, not the included one alone


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
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    case = next((repo / "cases").rglob("*.yaml")).relative_to(repo)
    _git(repo, "rm", "-q", str(case))
    assert _staged(repo) == []
    done = _run_hook(repo, "mcprt-test", workspace.env)
    assert f"mcprt hook: test mcp.yaml ({case} changed)" in done.stderr, done.stderr

