"""`mcprt catalog list|show|init` as a user runs it (the real entry point, in this process: `mcprt_cli`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import mcprt_cli


def _mcprt(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=cwd, env={"MCPRT_CACHE_DIR": str(cwd / ".cache")})


def test_list_show_and_init(tmp_path: Path) -> None:
    listed = _mcprt(tmp_path, "catalog", "list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"github", "petstore", "quickstart", "slack", "stripe"} <= set(names)
    assert "[openapi]" in listed.stdout and "[python]" in listed.stdout
    stripe = next(line for line in listed.stdout.splitlines() if line.startswith("stripe "))
    assert "4 tools, " in stripe and "KB list, " in stripe and "% saved" in stripe

    found = _mcprt(tmp_path, "catalog", "search", "deploy")
    assert found.returncode == 0
    assert {"kubernetes", "netlify", "vercel"} <= {line.split()[0] for line in found.stdout.splitlines() if line.strip()}
    one = _mcprt(tmp_path, "catalog", "search", "petstore")  # a new-user trial read "1 entries in …"
    assert one.returncode == 0 and "\n1 entry of " in one.stderr and " matches 'petstore' in " in one.stderr
    assert " entries in " in listed.stderr and "entries" not in one.stderr
    none = _mcprt(tmp_path, "catalog", "search", "no-such-api-anywhere")
    assert none.returncode == 0 and none.stdout == "" and "no entry matches" in none.stderr

    shown = _mcprt(tmp_path, "catalog", "show", "stripe")
    assert shown.returncode == 0 and "STRIPE_SECRET_KEY" in shown.stdout and "spec/stripe.json" in shown.stdout
    typo = _mcprt(tmp_path, "catalog", "show", "petstor")
    assert typo.returncode == 2 and "did you mean 'petstore'" in typo.stderr

    project = tmp_path / "project"
    project.mkdir()
    init = _mcprt(project, "catalog", "init", "petstore")
    assert init.returncode == 0, init.stderr
    manifest = (project / "mcp.yaml").read_text()
    assert manifest.startswith("# yaml-language-server: $schema=https://mcprt.dev/schemas/mcprt.schema.json\n")
    assert (project / "spec" / "petstore.yaml").is_file() and (project / "cases").is_dir()
    # the pinned description keeps its recorded time: the fallback's "(saved …)" tells its age, not the copy's
    # (in a git checkout, the README's install, that is its last commit's time: the checkout's mtime is the
    # clone's, which a reviewer saw said as "saved" minutes before of a spec committed a week earlier)
    pinned = Path(__file__).parents[2] / "catalog/petstore/spec/petstore.yaml"
    git = ["git", "-C", str(pinned.parent)]
    try:
        committed = subprocess.run([*git, "log", "-1", "--format=%ct", "--", pinned.name], capture_output=True,
                                   text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", pinned.name], capture_output=True, text=True,
                               check=True).stdout.strip()
    except subprocess.CalledProcessError:  # a tree without git (an unpacked sdist): the file's own time
        committed, dirty = "", ""
    recorded = int(committed) * 1_000_000_000 if committed.isdigit() and not dirty else pinned.stat().st_mtime_ns
    assert (project / "spec" / "petstore.yaml").stat().st_mtime_ns == recorded
    # "see its README": the README comes along; petstore's only variable has a default, so no "set …" hint.
    assert (project / "README.md").read_text() == (Path(__file__).parents[2] / "catalog/petstore/README.md").read_text()
    assert "next: `mcprt validate` and `mcprt up` (see README.md)" in init.stdout and "set " not in init.stdout
    # The copied entry is immediately testable offline, and init never overwrites.
    tested = _mcprt(project, "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    again = _mcprt(project, "catalog", "init", "petstore")
    assert again.returncode == 2 and "refusing to overwrite: mcp.yaml" in again.stderr
    # how to combine entries instead (found by trial9: a second `catalog init` in a team's folder)
    assert "in a folder of its own (mkdir" in again.stderr and "`include:`" in again.stderr


def test_init_names_the_variables_to_set_and_never_overwrites_a_readme(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("my project\n")
    init = _mcprt(tmp_path, "catalog", "init", "stripe")
    assert init.returncode == 0, init.stderr
    assert "next: set STRIPE_SECRET_KEY (see README.stripe.md), then `mcprt validate` and `mcprt up`" in init.stdout
    assert (tmp_path / "README.md").read_text() == "my project\n"
    assert "STRIPE_SECRET_KEY" in (tmp_path / "README.stripe.md").read_text()
    bare = tmp_path / "bare"
    bare.mkdir()
    quick = _mcprt(bare, "catalog", "init", "quickstart")  # no README, no variables
    assert quick.returncode == 0 and quick.stdout.splitlines()[-1] == "next: `mcprt validate` and `mcprt up`"


def test_an_entry_with_a_value_its_tag_cannot_build_is_listed(tmp_path: Path) -> None:
    """Before: `x: !!int` (no digits) in an entry's mcp.yaml let ruamel's IndexError out of `catalog list`
    (an internal error); the lister reads what it can and skips the rest, as for any other bad YAML."""
    entry = tmp_path / "catalog" / "odd"
    entry.mkdir(parents=True)
    (entry / "mcp.yaml").write_text("server: {name: odd}\nx: !!int\n")
    (entry / "README.md").write_text("# odd\n\nAn entry whose manifest does not read.\n")
    listed = mcprt_cli("catalog", "list", cwd=tmp_path, env={"MCPRT_CATALOG": str(tmp_path / "catalog"),
                                                              "MCPRT_CACHE_DIR": str(tmp_path / ".cache")})
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:1] == ["odd"] and "An entry whose manifest does not read." in listed.stdout
