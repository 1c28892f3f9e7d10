"""How a replay compiles a manifest: the real pipeline, pointed at the local replay upstream.

`load_for_replay` loads the manifest as `mcprt up` would and changes only where requests go:

- every OpenAPI source's `base_url` becomes the replay upstream's origin *plus the original base
  path* (so the path a replay sends is the path the case recorded), with retries off;
- a source whose `openapi:` is a URL reads the pinned copy `spec/<source>.json` (or `.yaml`/`.yml`)
  beside the manifest when there is one, so tests never depend on the network or on upstream edits;
- a `${VAR}` without a default that is not set gets a placeholder value: nothing leaves loopback, so
  CI needs no secrets to replay cases (a variable that is set keeps its value).

With `origin=None` only the pinned-spec substitution applies (what `mcprt diff` compiles).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..manifest import envvars
from ..manifest.loader import LoadedManifest, find_manifest, load_manifest
from ..manifest.model import OpenAPISource
from ..settings import Settings
from ..sources.openapi.pinned import PINNED_SPEC_DIR, PINNED_SPEC_SUFFIXES, pinned_spec

__all__ = ["PINNED_SPEC_DIR", "PINNED_SPEC_SUFFIXES", "load_for_replay", "pinned_spec", "redirect_sources"]

PLACEHOLDER = "mcprt-replay-placeholder"
_REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SERVER_VARIABLE = re.compile(r"{([^{}]+)}")


def replay_environment(manifest: Path) -> dict[str, str]:
    """The manifest's environment, with a placeholder for each required variable that is not set."""
    environment = envvars.environment_for(manifest.parent)
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return environment  # the loader reports it
    for name in _REQUIRED_VARIABLE.findall(text):
        environment.setdefault(name, PLACEHOLDER)
    return environment


def load_for_replay(manifest: str | Path | None, origin: str | None, settings: Settings) -> LoadedManifest:
    """Load `manifest` for a replay against `origin` (see the module docstring)."""
    path = find_manifest(manifest)
    loaded = load_manifest(path, env=replay_environment(path))
    return redirect_sources(loaded, origin, settings)


def redirect_sources(loaded: LoadedManifest, origin: str | None, settings: Settings) -> LoadedManifest:
    sources: dict[str, Any] = {}
    for name, source in loaded.manifest.sources.items():
        if isinstance(source, OpenAPISource):
            source = _redirect(name, source, loaded.source_dirs.get(name, loaded.base_dir), origin, settings)
        sources[name] = source
    manifest = loaded.manifest.model_copy(update={"sources": sources})
    return dataclasses.replace(loaded, manifest=manifest)


def _redirect(name: str, source: OpenAPISource, folder: Path, origin: str | None, settings: Settings) -> OpenAPISource:
    update: dict[str, Any] = {}
    if urlsplit(source.openapi).scheme in ("http", "https"):
        pinned = pinned_spec(folder, name)
        if pinned is not None:
            update["openapi"] = str(pinned)
    if origin is not None:
        location = update.get("openapi", source.openapi)
        base_path = _base_path(source, location, folder, settings)
        update["base_url"] = origin + base_path
        update["retries"] = 0
    return source.model_copy(update=update) if update else source


def _base_path(source: OpenAPISource, location: str, folder: Path, settings: Settings) -> str:
    """The path part of the base URL the source really uses (manifest's, else the document's)."""
    if source.base_url:
        return urlsplit(source.base_url).path.rstrip("/")
    from ..sources.openapi import load_document

    document = load_document(location, folder, Path(settings.cache_dir))
    data = document.data
    if not isinstance(data, dict):
        return ""
    if isinstance(data.get("basePath"), str):  # Swagger 2.0
        return data["basePath"].rstrip("/")
    servers = data.get("servers")
    if not (isinstance(servers, list) and servers and isinstance(servers[0], dict)):
        return ""
    first = servers[0]
    url = str(first.get("url") or "")
    variables = first.get("variables") if isinstance(first.get("variables"), dict) else {}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in source.server_variables:
            return source.server_variables[key]
        spec = variables.get(key)
        return str(spec.get("default", "")) if isinstance(spec, dict) else ""

    return urlsplit(_SERVER_VARIABLE.sub(value, url)).path.rstrip("/")
