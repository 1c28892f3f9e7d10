"""A case of an included manifest means the same wherever it is replayed from.

Found by review: pytest collected such a case twice (through the included `shop/mcp.yaml` and through
the root including it) against its one snapshot; when the root set a `defaults:` key the included
manifest left unset, one of the two always failed and `--mcprt-update` flipped the snapshot. And a
case's `policy:` expectations were checked against the root's policy, while the included manifest's
own `policy:` is ignored there.
"""

from __future__ import annotations

from pathlib import Path

from tests.gitops.test_gitops_include_cases import CASE, _tree
from tests.gitops.test_gitops_pytest_plugin import _pytest


def _with_case(tmp_path: Path):
    ws = _tree(tmp_path / "project", "http://127.0.0.1:9", tmp_path / "cache")
    (ws.root / "shop" / "cases" / "shop_list_pets").mkdir(parents=True)
    (ws.root / "shop" / "cases" / "shop_list_pets" / "two.yaml").write_text(CASE, encoding="utf-8")
    (ws.root / "pytest.ini").write_text("[pytest]\n")
    return ws


def test_pytest_collects_an_included_manifests_case_once(tmp_path: Path) -> None:
    ws = _with_case(tmp_path)
    collected = _pytest(ws, "--collect-only", "-q")
    ids = [line for line in collected.stdout.splitlines() if "shop_list_pets/two" in line]
    assert ids == ["mcp.yaml::shop_list_pets/two"], collected.stdout
    written = _pytest(ws, "-q", "--mcprt-update")
    assert written.returncode == 0 and "1 passed" in written.stdout, written.stdout
    # the included manifest named alone still runs it (nothing includes it in that run)
    alone = _pytest(ws, "-q", "shop/mcp.yaml")
    assert alone.returncode == 0 and "1 passed" in alone.stdout, alone.stdout


def test_root_defaults_the_included_manifest_leaves_unset_are_a_clear_case_error(tmp_path: Path) -> None:
    ws = _with_case(tmp_path)
    ws.write_manifest("version: 1\ndefaults:\n  max_result_bytes: 40\ninclude: [pets/mcp.yaml, shop/mcp.yaml]\n")
    for _ in range(2):  # never passes, never flips the snapshot: the same answer each run
        run = _pytest(ws, "-q", "--mcprt-update")
        assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout
        assert ("replayed by mcp.yaml, source 'shop' is shaped with other defaults than by shop/mcp.yaml, the "
                "manifest this case lies beside (defaults.max_result_bytes: 40 here, 100000 in shop/mcp.yaml "
                "alone)") in run.stdout, run.stdout
        assert "set these keys in shop/mcp.yaml's `defaults:`" in run.stdout
    assert not (ws.root / "shop" / "cases" / "__snapshots__").exists()
    cli = ws.mcprt("test", "mcp.yaml")
    assert cli.returncode == 1 and "shop_list_pets/two  [error]" in cli.stdout, cli.stdout
    # set there too, both agree, and the case passes from either manifest
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("sources:\n", "defaults:\n  max_result_bytes: 40\nsources:\n", 1))
    assert ws.mcprt("test", "mcp.yaml", "--update").returncode == 0
    alone = ws.mcprt("test", "shop/mcp.yaml")
    assert alone.returncode == 0 and "1 passed, 0 failed" in alone.stdout, alone.stdout + alone.stderr


POLICY = """\
policy:
  rules:
    - {match: {tools: [shop_list_pets]}, action: deny}
"""
POLICY_CASE = """\
tool: shop_list_pets
args: {limit: 2}
policy:
  - {principal: anonymous, decision: deny}
"""  # the only HTTP caller a manifest without auth has (a name no auth gives is a case error)


def test_an_included_manifests_policy_cases_are_not_checked_against_the_roots_policy(tmp_path: Path) -> None:
    ws = _with_case(tmp_path)
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text() + POLICY)
    (ws.root / "shop" / "cases" / "shop_list_pets" / "alice.yaml").write_text(POLICY_CASE, encoding="utf-8")
    (ws.root / "shop" / "cases" / "shop_list_pets" / "two.yaml").unlink()
    ws.write_manifest("version: 1\ninclude: [pets/mcp.yaml, shop/mcp.yaml]\npolicy:\n  rules:\n    - {match: {tools: ['*']}, action: allow}\n")
    alone = ws.mcprt("test", "shop/mcp.yaml")
    assert alone.returncode == 0 and "ok   shop_list_pets/alice  0 -> 0 bytes  [passed]" in alone.stdout, alone.stdout
    root = ws.mcprt("test", "mcp.yaml")
    assert root.returncode == 0, root.stdout + root.stderr
    assert "ok   shop_list_pets/alice  0 -> 0 bytes  [policy not checked]" in root.stdout, root.stdout
    assert ("note: policy expectations not checked: the policy of shop/mcp.yaml is ignored when mcp.yaml includes "
            "it (`mcprt test shop/mcp.yaml` checks them)") in root.stdout, root.stdout
    run = _pytest(ws, "-q", "-rs")
    assert run.returncode == 0 and "1 skipped" in run.stdout and "policy of shop/mcp.yaml is ignored" in run.stdout, \
        run.stdout


NULL_TAG_CASE = CASE.replace("{id: 2, name: Tom, tag: cat}", "{id: 2, name: Tom, tag: null}")


def test_an_included_manifests_defaults_are_checked_with_the_roots_other_errors(tmp_path: Path) -> None:
    """Found by review: with an unrelated error in the root, the partial manifest the rest is checked with
    gave the included sources the root's defaults, and a bad included `defaults:` was reported only once the
    root validated — not all at once."""
    from mcprt.errors import ManifestError
    from mcprt.manifest.loader import load_manifest

    ws = _with_case(tmp_path)
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("sources:\n", "defaults:\n  prune: {drop_nulls: true}\nsources:\n", 1))
    ws.write_manifest("version: 1\ninclude: [pets/mcp.yaml, shop/mcp.yaml]\nserver: {nmae: x}\n")
    try:
        load_manifest(ws.manifest, env=ws.env)
    except ManifestError as exc:
        assert exc.partial is not None
        assert exc.partial.defaults_for("shop").prune.drop_nulls is True
        assert exc.partial.defaults_for("pets").prune.drop_nulls is False
    else:
        raise AssertionError("the root's unknown key is an error")
    shop.write_text(shop.read_text().replace("{drop_nulls: true}", "{drop_nulls: maybe}"))
    both = ws.mcprt("validate", "mcp.yaml")
    assert both.returncode == 2 and "Traceback" not in both.stderr, both.stderr
    assert "mcp.yaml:3:10: server: unknown key 'nmae'" in both.stderr, both.stderr
    assert "shop/mcp.yaml:3:23: defaults.prune.drop_nulls: expected true or false" in both.stderr, both.stderr


def test_measuring_prunes_uses_an_included_sources_own_defaults(tmp_path: Path) -> None:
    """Found by review: `authoring.measure` applied the root's `defaults.prune` to every case."""
    from mcprt.authoring.measure import measure_manifest

    ws = _with_case(tmp_path)
    (ws.root / "shop" / "cases" / "shop_list_pets" / "two.yaml").write_text(NULL_TAG_CASE, encoding="utf-8")
    shop = ws.root / "shop" / "mcp.yaml"
    shop.write_text(shop.read_text().replace("sources:\n", "defaults:\n  prune: {drop_nulls: true}\nsources:\n", 1))
    alone, served = measure_manifest(shop), measure_manifest(ws.manifest)
    assert [(f.tool, f.hand_bytes) for f in served] == [(f.tool, f.hand_bytes) for f in alone], (served, alone)


def test_recording_through_the_root_says_at_once_when_the_defaults_disagree(tmp_path: Path, pets_upstream: str) -> None:
    ws = _tree(tmp_path / "project", pets_upstream, tmp_path / "cache")
    ws.write_manifest("version: 1\ndefaults:\n  max_result_bytes: 40\ninclude: [pets/mcp.yaml, shop/mcp.yaml]\n")
    recorded = ws.mcprt("record", "mcp.yaml", "shop_list_pets", "--args", '{"limit": 2}', "--name", "two")
    assert recorded.returncode == 1, recorded.stdout + recorded.stderr
    assert "source 'shop' is shaped with other defaults than by shop/mcp.yaml" in recorded.stderr, recorded.stderr
    assert not (ws.root / "shop" / "cases" / "__snapshots__").exists()
