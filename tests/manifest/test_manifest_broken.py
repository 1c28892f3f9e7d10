"""Every broken manifest in `broken/` gives exactly the diagnostics its header promises.

Each case file starts with one or more comment lines

    # expect: [FILE:]LINE:COL MESSAGE FRAGMENT
    # requires: python|openapi      (optional: the case needs a source kind to compile)

FILE (for diagnostics in an included manifest) is relative to the case's folder. Cases without
`requires` run through `load_manifest`; the others through the full compile (`Runtime.compile`),
because a duplicate tool name only exists once a source has produced its tools. A sample also
runs through the real CLI in a subprocess: exit 2, `FILE:LINE:COL:` on stderr, no traceback.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcprt.errors import ManifestError
from mcprt.manifest.loader import load_manifest
from mcprt.pipeline import Runtime
from mcprt.settings import Settings

from tests.support.cli import mcprt_cli, mcprt_process

BROKEN = Path(__file__).parent / "broken"
REPO_CATALOG = Path(__file__).resolve().parents[2] / "catalog"
UNSET_VARIABLE = "MCPRT_TEST_UNSET_TOKEN"  # used by missing_env_var.yaml; must never be set
_EXPECT = re.compile(r"^# expect: (?:(?P<file>[^\s:]+):)?(?P<line>\d+):(?P<col>\d+) (?P<fragment>.+)$")
_REQUIRES = re.compile(r"^# requires: (?P<kind>\w+)\s*$")
_OPENERS = {"python": ("mcprt.sources.python", "open_python_source"),
            "openapi": ("mcprt.sources.openapi.binding", "open_openapi_source")}


@dataclass(frozen=True)
class Expected:
    file: Path  # absolute, normalised
    line: int
    col: int
    fragment: str

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}:{self.col} …{self.fragment}…"


@dataclass(frozen=True)
class Case:
    path: Path
    expected: tuple[Expected, ...]
    requires: str | None


def read_case(path: Path) -> Case:
    """The expectations in the leading comment lines of a case file."""
    expected: list[Expected] = []
    requires = None
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        if match := _EXPECT.match(text):
            where = path.parent / match["file"] if match["file"] else path
            expected.append(Expected(Path(os.path.normpath(where)), int(match["line"]), int(match["col"]),
                                     match["fragment"]))
        elif match := _REQUIRES.match(text):
            requires = match["kind"]
    return Case(path, tuple(expected), requires)


def case_files() -> list[Path]:
    return sorted(p for p in BROKEN.iterdir() if p.suffix in (".yaml", ".yml", ".toml"))


CASES = [read_case(p) for p in case_files()]


def source_kind_built(kind: str) -> bool:
    module_name, attr = _OPENERS[kind]
    try:
        return hasattr(importlib.import_module(module_name), attr)
    except ImportError:
        return False


def case_param(case: Case) -> object:
    marks = []
    if case.requires:
        marks.append(pytest.mark.xfail(not source_kind_built(case.requires), reason="source kind not built yet",
                                       strict=True))
    return pytest.param(case, id=case.path.name, marks=marks)


@pytest.fixture(autouse=True)
def _no_unset_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET_VARIABLE, raising=False)


def assert_matches(case: Case, diagnostics: list) -> None:
    """Every expectation is met by its own error diagnostic, and there is no other error."""
    errors = [d for d in diagnostics if d.severity == "error"]
    shown = "\n".join(str(d) for d in errors)
    assert len(errors) == len(case.expected), f"expected {len(case.expected)} error(s), got:\n{shown}"
    unmatched = list(errors)
    for want in case.expected:
        found = [d for d in unmatched if Path(os.path.normpath(d.file)) == want.file and (d.line, d.col)
                 == (want.line, want.col) and want.fragment in d.message]
        assert found, f"no diagnostic {want} among:\n{shown}"
        unmatched.remove(found[0])
        assert str(found[0]).startswith(f"{found[0].file}:{want.line}:{want.col}: ")


def test_the_cases_are_well_formed() -> None:
    assert len(CASES) >= 25
    for case in CASES:
        first = case.path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# expect: "), f"{case.path.name}: the first line must state the expectation"
        assert case.expected, f"{case.path.name}: no parsable `# expect:` line"


@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
async def test_broken_manifest_gives_its_diagnostics(case: Case) -> None:
    with pytest.raises(ManifestError) as caught:
        if case.requires is None:
            load_manifest(case.path)
        else:
            runtime = Runtime(case.path, Settings())
            try:
                await runtime.compile()
            finally:
                await runtime.aclose()
    assert_matches(case, caught.value.diagnostics)


# One of each family: parse errors, schema errors, expressions, includes, variables, positions.
CLI_SAMPLE = [
    "yaml_syntax_error.yaml",
    "toml_syntax_error.toml",
    "toml_unknown_key.toml",
    "bad_jinja_output_block.yaml",
    "unknown_key_did_you_mean.yaml",
    "unknown_key_belongs_elsewhere.yaml",
    "literal_secret_and_unknown_key.yaml",
    "missing_env_var.yaml",
    "empty.yaml",
    "include_cycle.yaml",
    "multiple_errors.yaml",
]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=cwd, env=env, drop=(UNSET_VARIABLE,), timeout=60)


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_validate_reports_broken_manifest(name: str) -> None:
    case = read_case(BROKEN / name)
    result = run_cli("validate", name, cwd=BROKEN)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""  # diagnostics go to stderr; stdout stays clean for pipes
    lines = result.stderr.splitlines()
    for want in case.expected:
        shown = os.path.relpath(want.file, BROKEN)
        prefix = f"{shown}:{want.line}:{want.col}: "
        assert any(line.startswith(prefix) and want.fragment in line for line in lines), result.stderr
    errors = len(case.expected)
    assert lines[-1] == f"{errors} error{'s' if errors != 1 else ''}"


def test_cli_sample_names_exist() -> None:
    assert set(CLI_SAMPLE) <= {c.path.name for c in CASES}


def test_a_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ManifestError) as caught:
        load_manifest(missing)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == (str(missing), 1, 1)
    assert "file not found" in diagnostic.message

    result = run_cli("validate", "nowhere.yaml", cwd=tmp_path)
    assert result.returncode == 2
    # no `file:1:1` pointing into a file that is not there: what is missing, and how to create it
    assert result.stderr.splitlines() == [
        f"error: nowhere.yaml does not exist (looked for {missing.resolve()}). Create one with `mcprt init --openapi SPEC "
        "--out nowhere.yaml` (from an API description) or `mcprt catalog init NAME` (a ready-made one)"]
    assert "Traceback" not in result.stderr


def test_a_directory_without_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "empty")
    [diagnostic] = caught.value.diagnostics
    assert "no mcp.yaml or mcp.yml or mcp.toml in this folder" in diagnostic.message

    result = run_cli("validate", "empty", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {(tmp_path / 'empty').resolve()} has no mcp.yaml, mcp.yml or mcp.toml. Create one "
                                    "with `mcprt init --openapi SPEC --out empty/mcp.yaml`")
    # and with no argument at all, in a folder without a manifest: `up` as every command
    for command in ("validate", "up"):  # `up` as a process, as every server start (tests.support.cli)
        result = (mcprt_process if command == "up" else run_cli)(command, cwd=tmp_path / "empty")
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"error: no manifest given, and {(tmp_path / 'empty').resolve()} has no mcp.yaml, mcp.yml or mcp.toml. Create one "
            "with `mcprt init --openapi SPEC` (from an API description) or `mcprt catalog init NAME` (a ready-made "
            "one), or give the manifest's path"]
        assert "mcp.yaml:1:1" not in result.stderr


def test_a_directory_with_a_manifest_loads_it(tmp_path: Path) -> None:
    (tmp_path / "mcp.toml").write_text('version = 1\n[sources.api]\nopenapi = "spec.json"\n')
    assert load_manifest(tmp_path).path == tmp_path / "mcp.toml"
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources: {}\n")
    assert load_manifest(tmp_path).path == tmp_path / "mcp.yaml"  # YAML first, then TOML


def test_included_manifest_errors_are_named_relative_to_the_including_one() -> None:
    """The main manifest is named as given, so an included one is named the same way (not absolute)."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path(os.path.relpath(BROKEN / "include_broken_child.yaml")))
    [diagnostic] = caught.value.errors
    assert diagnostic.file == os.path.relpath(BROKEN / "_support" / "broken_child.yaml")


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
@pytest.mark.parametrize("text", ["", "\n\n", "   \n", "# only a comment\n"], ids=["nothing", "newlines", "spaces",
                                                                                "comment"])
def test_every_kind_of_empty_file(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"mcp{suffix}"
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (1, 1)
    assert diagnostic.message.startswith("the manifest is empty")


@pytest.mark.parametrize("name, warning", [
    ("literal_secret_and_unknown_key.yaml", "6:26: warning: a secret is written literally"),
    # a security warning too, which still waited for the error's fix once the secret ones were shown
    ("plain_http_issuer_and_unknown_key.yaml", "6:26: warning: issuer uses plain http://"),
])
def test_validate_prints_the_warnings_with_the_errors(name: str, warning: str) -> None:
    """A manifest failing the schema printed its errors only: its valid part's warnings (a literal secret, a
    plain-http issuer) showed up one fix later. All the manifest's own warnings come in one run (not the
    policy's rule-target ones: they judge the built tool set, which a failing manifest does not make)."""
    schema = run_cli("validate", name, cwd=BROKEN)
    assert schema.returncode == 2
    assert f"{name}:{warning}" in schema.stderr, schema.stderr


@pytest.mark.parametrize("name", ["mcp.toml", "api/mcp.toml", "mcp.yml"])
def test_the_init_command_a_missing_manifest_suggests_works(tmp_path: Path, name: str) -> None:
    """A missing `mcp.toml` was told to run `mcprt init … --out mcp.toml`, which init refuses (it writes YAML):
    the suggested command is run here as given (SPEC filled in), and must write a manifest that validates."""
    result = run_cli("validate", name, cwd=tmp_path)
    assert result.returncode == 2
    suggested = re.search(r"`(mcprt init --openapi SPEC[^`]*)`", result.stderr)
    assert suggested, result.stderr
    if name.endswith(".toml"):
        assert "--out mcp.toml" not in result.stderr and "init writes YAML only" in result.stderr
    spec = REPO_CATALOG / "quickstart" / "notes-api.yaml"
    args = suggested[1].replace("SPEC", str(spec)).split()[1:]
    made = run_cli(*args, "--no-input", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    out = tmp_path / args[args.index("--out") + 1]
    assert out.is_file() and out.suffix in (".yaml", ".yml")
    checked = run_cli("validate", "--offline", str(out), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
