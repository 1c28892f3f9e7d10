"""Which code opens which kind of source, and what makes two source configurations the same.

Kinds are imported lazily so that a command that never touches, say, MCP sources never pays for
importing the SDK's client.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from ..manifest.model import SourceBase, source_kind
from .base import RunningSource, SourceContext

OPENERS: dict[str, str] = {
    "openapi": "mcprt.sources.openapi.binding:open_openapi_source",
    "python": "mcprt.sources.python:open_python_source",
    "command": "mcprt.sources.mcp:open_mcp_source",
    "url": "mcprt.sources.mcp:open_mcp_source",
}

# Keys applied by the tool-set builder, not by the source: changing them must not reopen a source.
_BUILD_ONLY_KEYS = {"tools", "prefix", "expose", "timeout"}


def opener_for(kind: str) -> Callable[[SourceContext], Awaitable[RunningSource]]:
    module_name, _, attr = OPENERS[kind].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def fingerprint(config: SourceBase, base_dir: Path, defaults: Any) -> str:
    """Identity of a source's behaviour: its config (secrets included, hashed), folder, local files."""
    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, BaseModel):
            return {k: plain(v) for k, v in value.__dict__.items()}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    body = {k: plain(v) for k, v in config.__dict__.items() if k not in _BUILD_ONLY_KEYS}
    body["__kind"] = source_kind(config)
    if body["__kind"] in ("command", "url"):
        # A proxied server's per-item overrides are applied by the builder; only on/off changes what it lists.
        for key in ("resources", "prompts"):
            body[key] = body.get(key) is not False
    body["__dir"] = str(base_dir.resolve())
    body["__defaults"] = plain({"retries": defaults.retries, "descriptions": defaults.descriptions})
    spec = getattr(config, "openapi", None)
    if isinstance(spec, str) and "://" not in spec:
        local = (base_dir / spec)
        try:
            stat = local.stat()
            body["__file"] = [stat.st_mtime_ns, stat.st_size]
        except OSError:
            body["__file"] = None
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:32]
