"""Every catalog entry compiles offline (pinned spec), its cases pass, its README tells the measured truth, and
the catalog as a whole sends at least 90% fewer bytes to the model than upstream sent."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcprt.testing.runner import ManifestRun, run_manifest_cases

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
ENTRIES = sorted(p.name for p in CATALOG.iterdir() if (p / "mcp.yaml").is_file() and (p / "cases").is_dir())
SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/mcprt.schema.json"
_runs: dict[str, ManifestRun] = {}


pytestmark = pytest.mark.xdist_group("test_catalog_entries")  # one set of recorded-case runs (`_runs`) per run, not one per worker


@pytest.fixture(scope="module", autouse=True)
def offline_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("MCPRT_CACHE_DIR")
    os.environ["MCPRT_CACHE_DIR"] = str(tmp_path_factory.mktemp("mcprt-cache"))
    yield
    if previous is None:
        os.environ.pop("MCPRT_CACHE_DIR", None)
    else:
        os.environ["MCPRT_CACHE_DIR"] = previous


def _run(entry: str) -> ManifestRun:
    if entry not in _runs:
        _runs[entry] = run_manifest_cases(CATALOG / entry / "mcp.yaml")
    return _runs[entry]


# Vendor APIs, each from the vendor's published description (the ≥ 90% goal applies to each); petstore is the
# OpenAPI Initiative's teaching example.
VENDOR_ENTRIES = {"asana", "box", "digitalocean", "github", "jira", "kubernetes", "netlify", "slack", "spotify", "stripe",
                  "vercel", "zoom"}
FIGURES = re.compile(r"Figures: \*\*(\d+) tools\*\*, \*\*([\d,]+) bytes\*\* of tools/list, \*\*([\d.]+)%\*\*")


def test_the_catalog_has_the_promised_entries() -> None:
    assert len(VENDOR_ENTRIES) >= 12
    assert VENDOR_ENTRIES | {"petstore"} <= set(ENTRIES)


def _reduction(entry: str) -> tuple[int, int]:
    run = _run(entry)
    return (sum(o.run.raw_bytes for o in run.outcomes if o.run), sum(o.run.sent_bytes for o in run.outcomes if o.run))


@pytest.mark.parametrize("entry", sorted(VENDOR_ENTRIES))
def test_every_vendor_entry_sends_at_least_90_percent_fewer_bytes(entry: str) -> None:
    raw, sent = _reduction(entry)
    assert (raw - sent) / raw >= 0.90, f"{entry}: {raw:,} → {sent:,}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_readme_figures_are_measured(entry: str) -> None:
    """Tools, tool-list bytes and reduction in the README (what `mcprt catalog list` shows) are the measured ones."""
    from mcprt.testing.harness import ReplaySession

    readme = (CATALOG / entry / "README.md").read_text(encoding="utf-8")
    figures = FIGURES.search(readme)
    assert figures, "the README has a `Figures:` line (python catalog/_tools/measure.py)"
    with ReplaySession(CATALOG / entry / "mcp.yaml") as session:
        session.open()
        toolset = session.harness.toolset
        assert toolset is not None
        tools, list_bytes = len(toolset.listed), len(toolset.list_result_json().encode())
    raw, sent = _reduction(entry)
    assert (int(figures.group(1)), int(figures.group(2).replace(",", ""))) == (tools, list_bytes)
    assert figures.group(3) == f"{100 * (1 - sent / raw):.1f}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_cases_pass(entry: str) -> None:
    run = _run(entry)
    assert run.outcomes, f"{entry} has no cases"
    assert not run.failed, "\n\n".join(o.explain() for o in run.failed)
    assert not run.stale_snapshots
    # Every tool of the entry has at least one case.
    assert len({o.case.tool for o in run.outcomes}) == len({o.run.tool for o in run.outcomes if o.run})


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_manifest_and_readme(entry: str) -> None:
    folder = CATALOG / entry
    manifest = (folder / "mcp.yaml").read_text(encoding="utf-8")
    assert manifest.splitlines()[0] == SCHEMA_LINE
    assert re.search(r"^\s+openapi: https://", manifest, re.MULTILINE), "the manifest names the official document URL"
    assert list((folder / "spec").glob("*.*")), "a pinned spec copy for offline tests"
    # Trimmed by `include` only; Stripe's objects reference much of its API (888 KB).
    assert all(p.stat().st_size < 1_000_000 for p in (folder / "spec").iterdir())
    if entry in VENDOR_ENTRIES:
        assert "**API description**" in (folder / "README.md").read_text(encoding="utf-8")
        assert "**Fields kept and why**" in (folder / "README.md").read_text(encoding="utf-8")
    for secret in re.findall(r"\$\{([A-Z0-9_]+)(:-[^}]*)?\}", manifest):
        assert secret[1] == "" or "PETSTORE" in secret[0], f"{secret[0]}: secrets get no default"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    run = _run(entry)
    raw = sum(o.run.raw_bytes for o in run.outcomes if o.run)
    sent = sum(o.run.sent_bytes for o in run.outcomes if o.run)
    total = re.search(r"\| \*\*total\*\* \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\* \|", readme)
    assert total, "the README has the measured totals"
    assert (int(total.group(1).replace(",", "")), int(total.group(2).replace(",", ""))) == (raw, sent), (
        f"README figures are stale: measured {raw:,} → {sent:,}")


def test_catalog_wide_reduction_is_at_least_95_percent() -> None:
    raw = sent = 0
    for entry in ENTRIES:
        for outcome in _run(entry).outcomes:
            assert outcome.run is not None
            raw += outcome.run.raw_bytes
            sent += outcome.run.sent_bytes
    assert raw > 0 and (raw - sent) / raw >= 0.95, f"{raw:,} → {sent:,}"


def test_cases_name_their_operations() -> None:
    for entry in ENTRIES:
        # run_manifest_cases replays find_cases' list, one outcome per case in order: the cases' 5 MB of
        # YAML (~4 s CPU with ruamel's pure-Python parser) are read once for the module, not twice
        for case in (outcome.case for outcome in _run(entry).outcomes):
            assert case.operation and case.request is not None and case.response is not None, case.path


def test_readme_catalog_table_is_current() -> None:
    """The repository README's table is the one catalog/_tools/catalog_table.py makes from the entries' READMEs."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("catalog_table", CATALOG / "_tools" / "catalog_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (CATALOG.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index(module.BEGIN) + len(module.BEGIN)
    assert readme[start:readme.index(module.END)] == "\n" + module.table(), (
        "run `python catalog/_tools/catalog_table.py --write`")
