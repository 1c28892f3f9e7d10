"""Recorded cases of included manifests: they live beside the included file (`pets/cases/…`), as for a
standalone manifest, and `mcprt record`, `mcprt test`, `mcprt validate` and `mcprt diff` of the
including manifest cover them.

Found by a later pass: `mcprt test` on a manifest with `include:` ran none of the included manifests'
cases (it looked only in `cases/` beside the root), and `mcprt record` wrote a case of an included
source beside the root, where a standalone run of the included manifest never found it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitops.pets_api import MANIFEST, SPEC, Workspace, make_workspace
from tests.gitops.test_gitops_diff import _git

ROOT = """\
version: 1
include: [pets/mcp.yaml, shop/mcp.yaml]
"""


def _included(base_url: str, prefix: str) -> str:
    """The pets manifest as an included file: its own source and tool names, no `defaults`."""
    text = MANIFEST.replace("BASE_URL", base_url).replace("  pets:\n", f"  {prefix}:\n")
    text = text.replace("        name: ", f"        name: {prefix}_")
    text = text.replace("    tools:\n", "    exclude: {operations: [deletePet]}\n    tools:\n")
    return text.replace("defaults:\n  prune: {drop_nulls: true}\n", "")


def _tree(root: Path, base_url: str, cache: Path) -> Workspace:
    workspace = make_workspace(root, base_url, cache)
    workspace.write_manifest(ROOT)
    (root / "pets.json").unlink()
    for name in ("pets", "shop"):
        (root / name).mkdir()
        (root / name / "pets.json").write_text(json.dumps(SPEC), encoding="utf-8")
        (root / name / "mcp.yaml").write_text(_included(base_url, name), encoding="utf-8")
    return workspace


def test_record_and_test_cover_the_included_manifests(tmp_path: Path, pets_upstream: str) -> None:
    ws = _tree(tmp_path / "project", pets_upstream, tmp_path / "cache")
    for tool, limit in (("pets_list_pets", 3), ("shop_list_pets", 4)):
        recorded = ws.mcprt("record", "mcp.yaml", tool, "--args", json.dumps({"limit": limit}), "--name", "few")
        assert recorded.returncode == 0, recorded.stderr
    # Each case beside the manifest that defines its source, with its snapshot there too.
    for folder, tool in (("pets", "pets_list_pets"), ("shop", "shop_list_pets")):
        assert (ws.root / folder / "cases" / tool / "few.yaml").is_file()
        assert (ws.root / folder / "cases" / "__snapshots__" / tool / "few.txt").is_file()
    assert not (ws.root / "cases").exists()

    run = ws.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok   pets_list_pets/few" in run.stdout and "ok   shop_list_pets/few" in run.stdout
    assert "2 passed, 0 failed" in run.stdout
    # The included manifest standing alone finds the same cases, and they pass there too.
    alone = ws.mcprt("test", "shop/mcp.yaml", drop=("PETS_KEY",))
    assert alone.returncode == 0 and "1 passed, 0 failed" in alone.stdout, alone.stdout + alone.stderr

    # A change inside an included manifest fails the root's run, naming the case file where it lives.
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("({{ p.tag }})", "[{{ p.tag }}]"))
    failed = ws.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAIL shop_list_pets/few" in failed.stdout and "1 passed, 1 failed" in failed.stdout
    assert "shop/cases/__snapshots__/shop_list_pets/few.txt" in failed.stdout
    updated = ws.mcprt("test", "mcp.yaml", "--update", drop=("PETS_KEY",))
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "[dog]" in (ws.root / "shop" / "cases" / "__snapshots__" / "shop_list_pets" / "few.txt").read_text()

    # A snapshot whose case is gone is stale in the included folder too (and --update removes it).
    (ws.root / "pets" / "cases" / "pets_list_pets" / "few.yaml").unlink()
    stale = ws.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert "stale snapshot (no case): " in stale.stderr and "pets/cases/__snapshots__" in stale.stderr, stale.stderr


def test_validate_renders_the_included_cases_through_their_templates(tmp_path: Path, pets_upstream: str) -> None:
    ws = _tree(tmp_path / "project", pets_upstream, tmp_path / "cache")
    assert ws.mcprt("record", "mcp.yaml", "shop_list_pets", "--args", '{"limit": 2}').returncode == 0
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("{{ p.tag }}", "{{ p.tag.nope() }}"))
    checked = ws.mcprt("validate", "mcp.yaml")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "fails on the recorded case shop/cases/shop_list_pets/" in checked.stderr, checked.stderr


CASE = """\
tool: shop_list_pets
args: {limit: 2}
request: {method: GET, url: "https://pets.example.com/v1/pets?limit=2"}
response:
  status: 200
  json:
    - {id: 1, name: Rex, tag: dog}
    - {id: 2, name: Tom, tag: cat}
"""


def _shop_case_changes_after_commit(ws: Workspace, manifest: str) -> None:
    """A case of shop's written by hand (where its source is), committed; then shop's template changes:
    `mcprt diff HEAD:<manifest> <manifest>` must show the case's output change."""
    (ws.root / "shop" / "cases" / "shop_list_pets").mkdir(parents=True)
    (ws.root / "shop" / "cases" / "shop_list_pets" / "two.yaml").write_text(CASE, encoding="utf-8")
    _git(ws.root, "init", "-q")
    _git(ws.root, "add", ".")
    _git(ws.root, "commit", "-q", "-m", "first")
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("({{ p.tag }})", "[{{ p.tag }}]"))
    result = ws.mcprt("diff", f"HEAD:{manifest}", manifest, "--format", "json")
    assert result.returncode == 0, result.stderr
    cases = {c["case"]: c for c in json.loads(result.stdout)["cases"]}
    assert cases["shop_list_pets/two"]["changed"] is True, result.stdout
    assert "+#1 Rex [dog]" in cases["shop_list_pets/two"]["diff"], result.stdout


def test_diff_replays_the_included_cases(tmp_path: Path, pets_upstream: str) -> None:
    _shop_case_changes_after_commit(_tree(tmp_path / "repo", pets_upstream, tmp_path / "cache"), "mcp.yaml")


def test_an_included_manifests_defaults_shape_its_own_sources(tmp_path: Path, pets_upstream: str) -> None:
    """Reported once: an included manifest's `defaults:` were dropped (with a warning), so its cases, recorded
    by it alone, failed when the including manifest replayed them. Its `defaults` now apply to its own
    sources, key by key over the including manifest's; the other included manifest keeps the root's."""
    ws = _tree(tmp_path / "project", pets_upstream, tmp_path / "cache")
    for name in ("pets", "shop"):  # a prune that keeps `owner` (null in every pet)
        path = ws.root / name / "mcp.yaml"
        path.write_text(path.read_text().replace("{id: id, name: name, status: status, category: category.name}",
                                                 "{id: id, name: name, owner: owner}"))
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("sources:\n", "defaults:\n  prune: {drop_nulls: true}\nsources:\n", 1))
    for folder, tool in (("shop", "shop_get_pet"), ("pets", "pets_get_pet")):
        alone = ws.mcprt("record", f"{folder}/mcp.yaml", tool, "--args", '{"petId": 2}', "--name", "two")
        assert alone.returncode == 0, alone.stderr
    assert "owner" not in (ws.root / "shop" / "cases" / "__snapshots__" / "shop_get_pet" / "two.txt").read_text()
    assert "owner" in (ws.root / "pets" / "cases" / "__snapshots__" / "pets_get_pet" / "two.txt").read_text()
    run = ws.mcprt("test", "mcp.yaml", drop=("PETS_KEY",))
    assert run.returncode == 0 and "2 passed, 0 failed" in run.stdout, run.stdout + run.stderr
    assert "ignored" not in run.stderr, run.stderr

    # a bad value there is an error at its own line, as in the root manifest
    shop.write_text(shop.read_text().replace("{drop_nulls: true}", "{drop_nulls: maybe}"))
    bad = ws.mcprt("validate", "mcp.yaml")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.startswith("shop/mcp.yaml:3:23: defaults.prune.drop_nulls: expected true or false, got a "
                                 "string 'maybe'"), bad.stderr


def test_diff_names_a_change_of_an_included_manifests_defaults(tmp_path: Path, pets_upstream: str) -> None:
    old = _tree(tmp_path / "old", pets_upstream, tmp_path / "cache")
    new = _tree(tmp_path / "new", pets_upstream, tmp_path / "cache")
    shop = new.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("sources:\n", "defaults:\n  prune: {drop_nulls: true}\nsources:\n", 1))
    result = new.mcprt("diff", str(old.manifest), "mcp.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    changes = [c for c in json.loads(result.stdout)["manifest_changes"] if c["kind"] == "automatic pruning changed"]
    assert [c["detail"].split(":")[0] for c in changes] == ["source shop"], changes
    assert '"drop_nulls":true' in changes[0]["detail"], changes


def test_diff_replays_the_cases_of_an_include_outside_the_manifests_folder(tmp_path: Path, pets_upstream: str) -> None:
    """`mcprt diff REV:app/mcp.yaml` extracts app/ at REV and fetches an included manifest outside it (here
    ../shop, allowed by MCPRT_INCLUDE_PATHS): in the temporary tree it lay outside every allowed folder (the
    REV side failed, exit 2), and it was fetched as one file, without the cases beside it."""
    ws = _tree(tmp_path / "repo", pets_upstream, tmp_path / "cache")
    (ws.root / "app").mkdir()
    ws.manifest.rename(ws.root / "app" / "mcp.yaml")
    (ws.root / "app" / "mcp.yaml").write_text("version: 1\ninclude: [../shop/mcp.yaml]\n", encoding="utf-8")
    ws.env["MCPRT_INCLUDE_PATHS"] = str(ws.root / "shop")
    _shop_case_changes_after_commit(ws, "app/mcp.yaml")
