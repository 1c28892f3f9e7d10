"""Good manifests load, and the YAML and TOML spellings of one tree give the same `Manifest`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mcprt.manifest.loader import load_manifest
from mcprt.manifest.model import (
    CommandSource,
    Manifest,
    OpenAPISource,
    PythonSource,
    UrlSource,
)

GOOD = Path(__file__).parent / "good"
_GOOD_VARIABLES = ("MCPRT_GOOD_INBOUND_TOKEN", "MCPRT_GOOD_PETS_URL", "MCPRT_GOOD_PETS_KEY",
                   "MCPRT_GOOD_CLIENT_SECRET", "MCPRT_GOOD_WEATHER_PASSWORD", "NOT_A_VARIABLE")


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The good manifests use `${VAR:-default}`: with the variables unset the defaults apply."""
    for name in _GOOD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("stem", ["full", "minimal"])
def test_yaml_and_toml_give_the_same_manifest(stem: str) -> None:
    from_yaml = load_manifest(GOOD / f"{stem}.yaml")
    from_toml = load_manifest(GOOD / f"{stem}.toml")
    assert from_yaml.manifest == from_toml.manifest
    assert from_yaml.manifest.model_dump(mode="json") == from_toml.manifest.model_dump(mode="json")
    assert from_yaml.warnings == [] and from_toml.warnings == []


def test_the_full_manifest_means_what_it_says() -> None:
    loaded = load_manifest(GOOD / "full.yaml")
    manifest = loaded.manifest
    assert isinstance(manifest, Manifest)
    assert manifest.server.name == "pets-and-notes"
    assert manifest.server.http.max_request_bytes == 2_000_000
    assert manifest.server.budget is not None and manifest.server.budget.max_tools_bytes == 64 * 1024
    assert manifest.defaults.timeout == 30.0
    assert manifest.defaults.max_response_bytes == 1_500_000
    assert manifest.defaults.prune.drop_keys == ["*_url"]

    assert list(manifest.sources) == ["pets", "notes", "files", "remote", "weather"]
    pets = manifest.sources["pets"]
    assert isinstance(pets, OpenAPISource)
    assert isinstance(manifest.sources["notes"], PythonSource)
    assert isinstance(manifest.sources["files"], CommandSource)
    assert isinstance(manifest.sources["remote"], UrlSource)
    assert pets.timeout == 0.5
    assert pets.include is not None and pets.include.methods == ["GET", "POST"]
    assert pets.base_url == "http://127.0.0.1:9000/v1"  # `${MCPRT_GOOD_PETS_URL:-…}` with the variable unset
    assert pets.headers["X-Literal"] == "${NOT_A_VARIABLE}"  # `$${` writes a literal `${`

    override = pets.tools["listPets"]
    assert override.name == "list_pets" and override.timeout == 120.0 and override.max_result_bytes == 10_000
    assert override.output == "{% for p in result %}\n- #{{ p.id }} {{ p.name }}\n{% endfor %}\n"
    assert override.args["tenant"].has_fixed and not override.args["tenant"].has_default
    assert override.args["limit"].has_default and override.args["limit"].default == 20
    assert pets.tools["deletePet"].enabled is False
    assert manifest.sources["files"].startup_timeout == 60.0


def test_an_include_adds_its_sources_resolved_from_its_own_folder() -> None:
    loaded = load_manifest(GOOD / "full.yaml")
    weather = loaded.manifest.sources["weather"]
    assert isinstance(weather, OpenAPISource) and weather.openapi == "weather.yaml"
    assert Path(loaded.source_dirs["weather"]).resolve() == (GOOD / "_parts").resolve()
    assert Path(loaded.source_dirs["pets"]).resolve() == GOOD.resolve()
    assert (GOOD / "_parts" / "extra.yaml").resolve() in [Path(f).resolve() for f in loaded.files]
    # positions of included sources point into the included file
    where = loaded.diagnostic(("sources", "weather", "openapi"), "x")
    assert (Path(where.file).name, where.line, where.col) == ("extra.yaml", 5, 14)


def test_a_minimal_manifest_gets_every_default() -> None:
    manifest = load_manifest(GOOD / "minimal.yaml").manifest
    assert manifest.server.name == "mcprt"
    assert manifest.server.http.host == "127.0.0.1" and manifest.server.http.port == 8765
    assert manifest.server.expose == "tools"
    assert manifest.defaults.timeout == 30.0 and manifest.defaults.retries == 2
    assert manifest.include == []


def test_loaded_manifest_is_immutable() -> None:
    manifest = load_manifest(GOOD / "minimal.yaml").manifest
    with pytest.raises(ValidationError, match="frozen"):
        manifest.server.name = "changed"  # type: ignore[misc]
