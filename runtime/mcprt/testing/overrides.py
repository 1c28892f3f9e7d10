"""How a replay compiles a manifest: the real pipeline, pointed at the local replay upstream.

`load_for_replay` loads the manifest as `mcprt up` would and changes only where requests go:

- every OpenAPI source's `base_url` becomes the replay upstream's origin *plus the original base
  path* (so the path a replay sends is the path the case recorded), with retries off;
- a source whose `openapi:` is a URL reads the pinned copy `spec/<source>.json` (or `.yaml`/`.yml`)
  beside the manifest when there is one, so tests never depend on the network or on upstream edits
  (each kind says what it replays from: `SourceKind.for_replay`);
- a `${VAR}` without a default that is not set (in the manifest or one it includes) gets a placeholder value: nothing leaves loopback, so
  CI needs no secrets to replay cases (a variable that is set keeps its value).

With `origin=None` only the pinned-spec substitution applies (what `mcprt diff` compiles).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ..manifest import envvars
from ..manifest.loader import LoadedManifest, find_manifest, load_manifest, manifest_files
from ..settings import Settings
from ..sources.kind import kind_of

__all__ = ["load_for_replay", "redirect_sources", "replay_environment"]

PLACEHOLDER = envvars.REPLAY_PLACEHOLDER
# A variable that starts an upstream URL (`base_url: "${API_BASE}/v1"`) gets a URL, so the replay finds the
# base path after it; elsewhere in the URL (host, port, path) the plain placeholder passes the loader's
# URL check (manifest/urls.py).
URL_PLACEHOLDER = f"http://{PLACEHOLDER}"
_REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_VARIABLE = re.compile(r"\b(?:base_url|url)[\"']?\s*[:=]\s*[\"']?\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


DotenvAt = Callable[[Path], "Path | None"]


def replay_environment(manifest: Path, include_roots: Sequence[Path] = (), *, machine: bool = True,
                       dotenv_at: DotenvAt | None = None) -> dict[str, str]:
    """The manifest's environment, with a placeholder for each required variable that is not set
    (in the manifest or in a manifest it includes; `include_roots` as for `load_manifest`).
    `dotenv_at` as for `load_manifest` (the folder whose `.env` the manifest's folder reads).
    `machine` False: nothing of this machine's (no `.env`, no process environment) — every variable is
    its placeholder, or the default written in `${VAR:-default}`: what `mcprt diff` reports its warnings on."""
    home = dotenv_at(manifest.parent) if dotenv_at is not None else manifest.parent
    environment = envvars.environment_for(home) if machine and home is not None else {}
    for file in manifest_files(manifest, include_roots):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the loader reports it
        for name in _URL_VARIABLE.findall(text):
            environment.setdefault(name, URL_PLACEHOLDER)
        for name in _REQUIRED_VARIABLE.findall(text):
            environment.setdefault(name, PLACEHOLDER)
    return environment


def load_for_replay(manifest: str | Path | None, origin: str | None, settings: Settings,
                    include_roots: Sequence[Path] = (), *, machine: bool = True,
                    dotenv_at: DotenvAt | None = None) -> LoadedManifest:
    """Load `manifest` for a replay against `origin` (see the module docstring); `include_roots` and
    `dotenv_at` as for `load_manifest`; `machine` as for `replay_environment`."""
    path = find_manifest(manifest)
    try:
        loaded = load_manifest(path, env=replay_environment(path, include_roots, machine=machine, dotenv_at=dotenv_at),
                               include_roots=include_roots, dotenv_at=dotenv_at if machine else _no_dotenv)
    except ManifestError as exc:
        if exc.partial is None:
            raise
        # the valid rest is checked in the same pass (pipeline): as replays read it, pinned copies included
        raise ManifestError(exc.diagnostics, partial=redirect_sources(exc.partial, origin, settings)) from None
    return redirect_sources(loaded, origin, settings)


def _no_dotenv(folder: Path) -> None:
    """No folder reads a `.env` (`machine=False`)."""
    return None


def redirect_sources(loaded: LoadedManifest, origin: str | None, settings: Settings) -> LoadedManifest:
    """Each source as its kind replays it (`SourceKind.for_replay`): local copies, requests to `origin`."""
    sources: dict[str, Any] = {}
    for name, source in loaded.manifest.sources.items():
        folder = loaded.source_dirs.get(name, loaded.base_dir)
        sources[name] = kind_of(source).for_replay(source, name, folder, origin, settings)
    manifest = loaded.manifest.model_copy(update={"sources": sources})
    return dataclasses.replace(loaded, manifest=manifest)
