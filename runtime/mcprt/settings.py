"""Runtime settings from `MCPRT_*` environment variables and `.env`.

Precedence for anything that exists in several places: a CLI flag beats the environment, which
beats the manifest, which beats the built-in default. Settings therefore default to None where the
manifest may also speak (host, port), and `effective()` resolves the chain in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "MCPRT_"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcprt"


class Settings(BaseModel):
    """Process-level settings. Every field can be set as `MCPRT_<NAME>` (e.g. `MCPRT_LOG_LEVEL=debug`;
    names are case-insensitive), in the environment or in `.env` in the working directory (the
    environment wins); values given to the constructor win over both. `_env_file=None` reads no file.

    A plain pydantic model reading the variables itself: pydantic-settings, which did this before,
    costs ~0.07 s of CPU to import on every command (its provider modules), for ten scalar fields.
    """

    model_config = ConfigDict(extra="ignore")

    def __init__(self, _env_file: str | Path | None = ".env", **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self), _env_file), **values})

    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log verbosity.")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or JSON objects.")
    transport: Literal["stdio", "http"] = Field("stdio", description="Default transport of `mcprt up`.")
    host: str | None = Field(None, description="HTTP bind address (else the manifest's `server.http.host`).")
    port: int | None = Field(None, description="HTTP port (else the manifest's `server.http.port`).")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Spec and compile caches.")
    reload: bool = Field(True, description="Watch the manifest and reload on change.")
    debug: bool = Field(False, description="Show tracebacks for errors.")
    offline: bool = Field(False, description="Never fetch API descriptions: use pinned spec/<source>.* copies "
                                             "(else the cached copy). Set by `--offline`.")
    state_url: str | None = Field(None, description="Shared state URL (else the manifest's `server.state`).")


def _from_environment(model: type[BaseModel], env_file: str | Path | None) -> dict[str, Any]:
    """`MCPRT_<FIELD>` values (raw strings, validated by the model) from `env_file`, then from the
    environment, which wins; names compared case-insensitively."""
    found: dict[str, Any] = {}
    names = {f"{ENV_PREFIX}{name}".lower(): name for name in model.model_fields}
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values  # python-dotenv: only when there is a file to read

        for key, value in dotenv_values(env_file).items():
            field = names.get(key.lower())
            if field is not None and value is not None:
                found[field] = value
    for key, value in os.environ.items():
        field = names.get(key.lower())
        if field is not None:
            found[field] = value
    return found


def env_limit(name: str, default: float) -> float:
    """A positive limit from the environment variable `name` (`_` allowed as digit separator, e.g.
    `MCPRT_MAX_SPEC_BYTES=64_000_000`); a missing, malformed or non-positive value gives `default`.
    Read when used, so an operator or a test can change a limit without restarting anything else."""
    try:
        value = float(os.environ.get(name, "").strip().replace("_", ""))
    except ValueError:
        return default
    return value if value > 0 else default


def load_settings() -> Settings:
    return Settings()
