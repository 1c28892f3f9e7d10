"""Every catalog entry compiles offline (pinned spec), has a case for every tool it serves and its cases pass, its
README has the sections the contributor guide (`docs/catalog-entries.md`) asks for and tells the measured truth,
and the catalog as a whole sends at least 95% fewer bytes to the model than upstream sent.

Every rule holds for every entry, a new one included: none is kept for a list of names written here. The one
difference between entries is stated by the entry itself: a README with a `**Teaching example**:` line (the
Petstore) is not held to the ≥ 90% per entry that a vendor API's entry is, and says why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcprt.testing.runner import ManifestRun, run_manifest_cases

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
# Folders of `catalog/` with an `mcp.yaml` that are not entries, each with the reason; every other such folder is an
# entry and is held to every rule below, a missing `cases/` included (an entry without one escaped them all).
NOT_ENTRIES = {"quickstart": "the README's quick start demo: its upstream is notes_api.py beside it, run by hand, "
                             "not an API with recorded cases"}
ENTRIES = sorted(p.parent.name for p in CATALOG.glob("*/mcp.yaml") if p.parent.name not in NOT_ENTRIES)
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


def _folder(entry: str | Path) -> Path:
    """An entry by name (a folder of `catalog/`) or by its folder (`test_a_new_entry_is_held_to_every_rule`'s)."""
    return entry if isinstance(entry, Path) else CATALOG / entry


def _run(entry: str | Path) -> ManifestRun:
    key = str(_folder(entry))
    if key not in _runs:
        _runs[key] = run_manifest_cases(_folder(entry) / "mcp.yaml")
    return _runs[key]


_served: dict[str, tuple[list[str], int]] = {}


def _served_tools(entry: str | Path) -> tuple[list[str], int]:
    """(the names of the tools the entry serves — listed or reached through discovery —, its tools/list bytes)."""
    from mcprt.testing.harness import ReplaySession

    key = str(_folder(entry))
    if key not in _served:
        with ReplaySession(_folder(entry) / "mcp.yaml") as session:
            session.open()
            toolset = session.harness.toolset
            assert toolset is not None
            _served[key] = (sorted(tool.name for tool in toolset), len(toolset.list_result_json().encode()))
    return _served[key]


def _readme(entry: str | Path) -> str:
    """The entry's README, "" when it has none (`test_entry_manifest_and_readme` fails that entry, naming it,
    rather than the whole module failing to collect)."""
    path = _folder(entry) / "README.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


TEACHING = "**Teaching example**:"  # the line that exempts an entry from the ≥ 90% per entry, saying why


def _is_vendor_entry(entry: str | Path) -> bool:
    """A vendor API's entry: every entry but one whose README says it is a teaching example (`TEACHING`)."""
    return TEACHING not in _readme(entry)


VENDOR_ENTRIES = sorted(entry for entry in ENTRIES if _is_vendor_entry(entry))
# what every entry's README has (`docs/catalog-entries.md`, "The entry's README")
README_SECTIONS = ("**Credentials**", "**API description**", "**Cases**", "**Fields kept and why**")
FIGURES = re.compile(r"Figures: \*\*(\d+) tools\*\*, \*\*([\d,]+) bytes\*\* of tools/list, \*\*([\d.]+)%\*\*")
TOOL_ROW = re.compile(r"^\| ([^|\s]+) \| [\d,]+ \| [\d,]+ \| -?[\d.]+% \|$", re.MULTILINE)


def test_the_catalog_has_the_promised_entries() -> None:
    assert len(VENDOR_ENTRIES) >= 12, VENDOR_ENTRIES
    assert "petstore" in ENTRIES and "petstore" not in VENDOR_ENTRIES
    # the exemption names only what is there and is not an entry by its looks either
    assert all((CATALOG / name / "mcp.yaml").is_file() and not (CATALOG / name / "cases").exists() for name in NOT_ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_has_cases(entry: str | Path) -> None:
    """An entry has recorded cases (`cases/<tool>/<case>.yaml`): its figures, its template checks and every rule on
    what it sends rest on them. A folder with an `mcp.yaml` and no `cases/` is still an entry, and fails here."""
    folder = _folder(entry)
    assert list((folder / "cases").glob("*/*.yaml")), (
        f"{folder.name}: no recorded cases under catalog/{folder.name}/cases/ (docs/catalog-entries.md, \"Cases\")")


def _reduction(entry: str | Path) -> tuple[int, int]:
    run = _run(entry)
    raw, sent = (sum(o.run.raw_bytes for o in run.outcomes if o.run), sum(o.run.sent_bytes for o in run.outcomes if o.run))
    assert raw, f"{_folder(entry).name}: no recorded case reached the upstream, so there is no reduction to measure"
    return raw, sent


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_vendor_entry_sends_at_least_90_percent_fewer_bytes(entry: str | Path) -> None:
    raw, sent = _reduction(entry)
    if not _is_vendor_entry(entry):
        # the reason is the marker's own paragraph, not whatever text follows it in the README
        why = _readme(entry).split(TEACHING, 1)[1].split("\n\n", 1)[0].strip()
        assert len(why) > 40, f"{_folder(entry).name}: the {TEACHING} line says why the entry is not held to 90%"
        return
    assert (raw - sent) / raw >= 0.90, (f"{_folder(entry).name}: {raw:,} → {sent:,} bytes, {100 * (raw - sent) / raw:.1f}% fewer; a "
                                        f"vendor API's entry sends at least 90% fewer (docs/catalog-entries.md)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_readme_figures_are_measured(entry: str | Path) -> None:
    """Tools, tool-list bytes and reduction in the README (what `mcprt catalog list` shows) are the measured ones."""
    from mcprt.testing.harness import ReplaySession

    readme = _readme(entry)
    figures = FIGURES.search(readme)
    assert figures, "the README has a `Figures:` line (python catalog/_tools/measure.py)"
    with ReplaySession(_folder(entry) / "mcp.yaml") as session:
        session.open()
        toolset = session.harness.toolset
        assert toolset is not None
        tools = len(toolset.listed)
    list_bytes = _served_tools(entry)[1]
    # the measured table has one row per tool the entry serves (a trial listed 5 of its 7)
    assert sorted(TOOL_ROW.findall(readme)) == _served_tools(entry)[0], (
        "the README's table lists each served tool once (python catalog/_tools/measure.py)")
    raw, sent = _reduction(entry)
    assert (int(figures.group(1)), int(figures.group(2).replace(",", ""))) == (tools, list_bytes)
    assert figures.group(3) == f"{100 * (1 - sent / raw):.1f}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_cases_pass(entry: str | Path) -> None:
    run = _run(entry)
    assert run.outcomes, f"{entry} has no cases"
    assert not run.failed, "\n\n".join(o.explain() for o in run.failed)
    assert not run.stale_snapshots


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_served_tool_has_a_case(entry: str | Path) -> None:
    """Each tool the entry serves has a recorded case: its output is what the README's figures and `validate`'s
    template check on a real response rest on. (This compared two sets built from the same outcomes, and could
    not fail: a trial's entry passed with 2 of its 7 tools without a case.)"""
    served, _ = _served_tools(entry)
    cased = {outcome.run.tool for outcome in _run(entry).outcomes if outcome.run}
    missing = [name for name in served if name not in cased]
    name = _folder(entry).name
    assert not missing, (f"{name}: no recorded case for {', '.join(missing)} (`mcprt record catalog/{name}/mcp.yaml "
                         f"TOOL --args '{{…}}'`, or a plan in catalog/_tools/plans/{name}.yaml)")


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_manifest_and_readme(entry: str | Path) -> None:
    folder = _folder(entry)
    assert (folder / "README.md").is_file(), f"{folder.name}: no README.md (docs/catalog-entries.md)"
    manifest = (folder / "mcp.yaml").read_text(encoding="utf-8")
    assert manifest.splitlines()[0] == SCHEMA_LINE
    assert re.search(r"^\s+openapi: https://", manifest, re.MULTILINE), "the manifest names the official document URL"
    assert list((folder / "spec").glob("*.*")), "a pinned spec copy for offline tests"
    # Trimmed by `include` only; Stripe's objects reference much of its API (888 KB).
    assert all(p.stat().st_size < 1_000_000 for p in (folder / "spec").iterdir())
    missing = [section for section in README_SECTIONS if section not in _readme(entry)]
    assert not missing, f"{folder.name}: the README has no {', '.join(missing)} section (docs/catalog-entries.md)"
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


def test_a_new_entry_is_held_to_every_rule(tmp_path: Path) -> None:
    """The rules above are no list of names: an entry copied under a new name, then made to break one rule at a
    time, fails the rule's test, naming what is wrong (a trial's entry with 2 of 7 tools without a case, no
    `**Fields kept and why**` and a 9% reduction passed all three tests it was given)."""
    import shutil

    zoom = tmp_path / "deskly"
    shutil.copytree(CATALOG / "zoom", zoom)
    test_every_served_tool_has_a_case(zoom)  # as copied: it holds
    shutil.rmtree(zoom / "cases" / "list_recordings")
    shutil.rmtree(zoom / "cases" / "__snapshots__" / "list_recordings")
    _runs.pop(str(zoom), None)
    with pytest.raises(AssertionError, match=r"deskly: no recorded case for list_recordings \(`mcprt record"):
        test_every_served_tool_has_a_case(zoom)
    # its table must list exactly the served tools (checked before its figures, which are stale now too)
    (zoom / "README.md").write_text(_readme(zoom).replace("| list_recordings |", "| list_recording |"),
                                    encoding="utf-8")
    with pytest.raises(AssertionError, match="the README's table lists each served tool once"):
        test_readme_figures_are_measured(zoom)

    readme = zoom / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("**Fields kept and why**", "**What it keeps**"), encoding="utf-8")
    with pytest.raises(AssertionError, match=r"deskly: the README has no \*\*Fields kept and why\*\* section"):
        test_entry_manifest_and_readme(zoom)

    # an entry without cases/ at all (a reviewer's copy of the trial's entry passed every test it was given)
    test_entry_has_cases(zoom)
    shutil.rmtree(zoom / "cases")
    with pytest.raises(AssertionError, match=r"deskly: no recorded cases under catalog/deskly/cases/"):
        test_entry_has_cases(zoom)

    petstore = tmp_path / "petstore-copy"
    shutil.copytree(CATALOG / "petstore", petstore)
    test_every_vendor_entry_sends_at_least_90_percent_fewer_bytes(petstore)  # says it is a teaching example
    # the marker's own paragraph says why; text after it elsewhere in the README does not count
    readme = petstore / "README.md"
    text = readme.read_text(encoding="utf-8")
    marked = re.search(re.escape(TEACHING) + r"[^\n]*(\n[^\n]+)*", text)
    assert marked
    readme.write_text(text.replace(marked.group(0), TEACHING), encoding="utf-8")
    with pytest.raises(AssertionError, match=r"petstore-copy: the \*\*Teaching example\*\*: line says why"):
        test_every_vendor_entry_sends_at_least_90_percent_fewer_bytes(petstore)
    readme.write_text(text, encoding="utf-8")
    readme = petstore / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace(TEACHING, "Note:"), encoding="utf-8")
    with pytest.raises(AssertionError, match=r"petstore-copy: 2,057 → 680 bytes, 66.9% fewer; a vendor API's entry"):
        test_every_vendor_entry_sends_at_least_90_percent_fewer_bytes(petstore)
