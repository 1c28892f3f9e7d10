"""Lower layers never import higher ones (issue 14): every import in runtime/mcprt, lazy and
`TYPE_CHECKING` ones included, goes down or sideways in this order:

    base (contracts, errors, settings, envfile, envcheck, identity.principal, expressions, schema, observability.log/.events,
    scrubbing, observability.hooks, progress, cancellation, stopping, file_identity, periodic, safe_yaml, path_segments,
    home_paths, early_signals, unicode_forms) → manifest → offerings → outbound (the HTTP executor) → sources
      → toolset/shaping/discovery/policy → pipeline
      → reload/observability/identity/state/testing/gitops → server → cli

`identity.principal` and `observability.events`/`.log` are the shared contracts every layer may use (they import
nothing above base); `schema` (JSON Schema helpers) imports nothing from mcprt. Discovery
and policy sit with the tool set, not above the pipeline: the pipeline attaches their meta-tools and
gates to the tool set every command gets (`tools`, `validate`, `call`, `up`), and they import only the
manifest, the tool set and shaping. A new top-level package lands in the concerns layer (beside
reload) unless it is listed here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

BASE = ("mcprt", "mcprt.contracts", "mcprt.errors", "mcprt.settings", "mcprt.envfile", "mcprt.envcheck", "mcprt.identity.principal",
        "mcprt.expressions", "mcprt.schema", "mcprt.observability.log", "mcprt.observability.events",
        "mcprt.scrubbing", "mcprt.observability.hooks", "mcprt.progress", "mcprt.cancellation", "mcprt.stopping",
        "mcprt.file_identity", "mcprt.periodic", "mcprt.safe_yaml", "mcprt.wording", "mcprt.path_segments",
        "mcprt.home_paths", "mcprt.early_signals", "mcprt.unicode_forms")
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", BASE),
    ("manifest", ("mcprt.manifest",)),
    ("offerings", ("mcprt.offerings",)),  # resources/prompts contract: sources fill it, the tool set serves it
    ("outbound", ("mcprt.outbound",)),
    ("sources", ("mcprt.sources",)),
    ("toolset/shaping/discovery/policy", ("mcprt.toolset", "mcprt.shaping", "mcprt.discovery", "mcprt.policy")),
    ("pipeline", ("mcprt.pipeline",)),
    ("concerns", ("mcprt.reload", "mcprt.observability", "mcprt.identity",
                  "mcprt.state", "mcprt.testing", "mcprt.gitops")),
    ("server", ("mcprt.server",)),
    ("cli", ("mcprt.cli", "mcprt.__main__")),
]
CONCERNS = next(i for i, (name, _) in enumerate(LAYERS) if name == "concerns")


# The import graph (`tools/deps.py`: every module of runtime/mcprt parsed, ~1 s of CPU) is built once and read by
# the three tests below, which run on one worker.
pytestmark = pytest.mark.xdist_group("test_layering")


def _deps_tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("mcprt_deps_tool", ROOT / "tools" / "deps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def deps() -> ModuleType:
    return _deps_tool()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def edges(deps: ModuleType) -> dict[str, set[str]]:
    """Module → the mcprt modules it imports (`deps.graph()`), shared: the tests only read it."""
    return deps.graph()  # type: ignore[no-any-return]


def layer_of(module: str) -> int:
    """The layer of a module: the longest listed prefix wins (mcprt.identity.principal is base)."""
    best, best_len = CONCERNS, 0
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                if prefix == "mcprt" and module != "mcprt":
                    continue  # the root package itself (its __version__) is base, not everything under it
                best, best_len = index, len(prefix)
    return best


def test_no_module_imports_from_a_higher_layer(edges: dict[str, set[str]]) -> None:
    upward = sorted(
        f"{src} ({LAYERS[layer_of(src)][0]}) imports {dst} ({LAYERS[layer_of(dst)][0]})"
        for src, targets in edges.items() for dst in targets if layer_of(dst) > layer_of(src)
    )
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_package_cycles(deps: ModuleType, edges: dict[str, set[str]]) -> None:
    """Between packages, imports go one way. Base modules are the shared contracts (they import nothing
    above base), so an import of one — say the executor calling `observability.hooks` — is not a
    package edge."""
    above_base = {src: {dst for dst in targets if layer_of(dst) != 0} for src, targets in edges.items()}
    cycles = deps.package_cycles(above_base)
    assert not cycles, cycles


def test_contracts_import_nothing_from_mcprt_at_run_time() -> None:
    import ast

    tree = ast.parse((ROOT / "runtime" / "mcprt" / "contracts.py").read_text(encoding="utf-8"))
    for node in tree.body:  # top-level statements run at import; `if TYPE_CHECKING:` blocks do not
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("mcprt"), ast.dump(node)
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith("mcprt") for alias in node.names)


def test_the_check_sees_an_upward_import() -> None:
    """The layer map itself: a source importing the server would be reported."""
    assert layer_of("mcprt.sources.openapi.compiler") < layer_of("mcprt.server.app")
    assert layer_of("mcprt.identity.principal") == 0 < layer_of("mcprt.identity.oauth")
    assert layer_of("mcprt.manifest.model") < layer_of("mcprt.sources.kind") < layer_of("mcprt.toolset.build")
    assert layer_of("mcprt") == 0 and layer_of("mcprt.newthing") == CONCERNS


SOURCE_KINDS = ("mcprt.sources.mcp", "mcprt.sources.openapi", "mcprt.sources.python")


def _kind_of(module: str) -> str | None:
    return next((kind for kind in SOURCE_KINDS if module == kind or module.startswith(kind + ".")), None)


def test_no_source_kind_imports_another_kind(edges: dict[str, set[str]]) -> None:
    """A source kind uses what `mcprt.sources` shares (naming, sentences, base), never another kind's
    modules: the Python source importing `sources.openapi.text` loaded ~19 OpenAPI modules into every
    Python source, for one text helper."""
    sideways = sorted(f"{src} imports {dst}" for src, targets in edges.items() for dst in targets
                      if _kind_of(src) and _kind_of(dst) and _kind_of(src) != _kind_of(dst))
    assert not sideways, "one source kind imports another:\n" + "\n".join(sideways)
