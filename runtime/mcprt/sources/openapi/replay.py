"""How a replay (`mcprt test`, `mcprt diff`, `validate --offline`) compiles an `openapi:` source."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...manifest.model import OpenAPISource
from ...settings import Settings

_SERVER_VARIABLE = re.compile(r"{([^{}]+)}")


def for_replay(
    source: OpenAPISource, folder: Path, origin: str | None, pinned: Path | None, settings: Settings
) -> OpenAPISource:
    """The source as a replay compiles it: a URL document read from its `pinned` copy (if any);
    with `origin`, requests go to `origin` + the base path the source really uses, without retries."""
    update: dict[str, Any] = {}
    if urlsplit(source.openapi).scheme in ("http", "https"):
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
    from ...errors import McprtError
    from .loader import load_document

    try:
        document = load_document(location, folder, Path(settings.cache_dir))
    except McprtError:  # opening the source reports it, at the manifest's line, beside any other error
        return ""
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
