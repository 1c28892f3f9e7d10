"""Runtime settings from `MCPRT_*` environment variables and `.env` (pydantic-settings).

Precedence for anything that exists in several places: a CLI flag beats the environment, which
beats the manifest, which beats the built-in default. Settings therefore default to None where the
manifest may also speak (host, port), and `effective()` resolves the chain in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .envcheck import MAXIMUMS, MINIMUMS


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcprt"


class Settings(BaseSettings):
    """Process-level settings. Every field can be set as `MCPRT_<NAME>` (e.g. `MCPRT_LOG_LEVEL=debug`)."""

    model_config = SettingsConfigDict(env_prefix="MCPRT_", env_file=".env", extra="ignore")

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
    allowed_hosts: str | None = Field(None, description="Comma-separated Host header values accepted in addition "
                                      "to the manifest's `server.http.allowed_hosts`.")
    trusted_proxies: str | None = Field(None, description="Comma-separated proxy addresses (IP or CIDR) whose "
                                        "X-Forwarded-Proto/-For are believed, in addition to the manifest's "
                                        "`server.http.trusted_proxies`.")
    strict: bool = Field(False, description="`mcprt up` refuses to start (exit 2) when any source cannot be "
                                            "opened, instead of serving the others (set by `--strict`).")


def env_number(name: str) -> float | None:
    """The environment variable `name` as a positive, finite number (`_` allowed as digit separator,
    e.g. `MCPRT_MAX_SPEC_BYTES=64_000_000`), or None when it is missing, malformed, zero or less, or
    infinite (`inf`, `1e999`; nan fails every comparison, so it is None too)."""
    try:
        value = float(os.environ.get(name, "").strip().replace("_", ""))
    except ValueError:
        return None
    return value if 0 < value < float("inf") else None


def env_limit(name: str, default: float) -> float:
    """A positive limit from the environment variable `name` (`env_number`): a missing or malformed
    value gives `default`, and so does zero or less — it is no interval, size or count, and the
    operator who writes `0` may mean "off", which no limit offers, so the documented default is the
    safer reading. A well-formed value below the limit's minimum (`envcheck.MINIMUMS`, e.g. 1 s for
    `MCPRT_UNKNOWN_KID_REFRESH`) is clamped to that minimum: its intent ("as often as allowed") is
    clear, and the result stays monotonic in what was written (0.99 → 1, 1 → 1, 2 → 2); one above its
    maximum (`envcheck.MAXIMUMS`, the manifest's own bound where the limit overrides a manifest
    setting) is clamped to that maximum likewise. `envcheck`
    warns of each at start-up. Read when used, so an operator or a test can change a limit without
    restarting anything else."""
    value = env_number(name)
    if value is None:
        return default
    return min(max(value, MINIMUMS.get(name, 0.0)), MAXIMUMS.get(name, float("inf")))


SETTINGS_FILES_READ: list[Path] = []  # the `.env` files the last `load_settings` read, for the start-up debug line
# `MCPRT_*` names the manifest's `.env` sets but the working directory's `.env` or the environment overrides
# (the last `load_settings`), for a start-up note: the manifest's own `.env` is never ignored silently
SETTINGS_SHADOWED: list[str] = []


def settings_env_files(manifest: Path | str | None = None) -> tuple[Path, ...]:
    """The `.env` files settings are read from, lowest precedence first: the one beside `manifest` (as
    given on the command line; None: none), then the working directory's.

    Why both: an agent host (Claude Desktop, Cursor, VS Code) starts `mcprt up /abs/mcp.yaml` in a folder
    of its choosing (`/`, the workspace), so a developer who checked the setup in a terminal beside the
    manifest (`MCPRT_LOG_LEVEL=debug` in its `.env`) got other settings under the host, silently. Why the
    manifest's only fills gaps: the manifest's folder may be someone else's checkout, while the working
    directory's `.env` is the operator's — a clone's `MCPRT_ALLOWED_HOSTS`/`MCPRT_PORT` must not replace
    the operator's (a reviewer saw a clone's `.env` turn `Host: mcp.internal` into 421). The process
    environment (a host config's `env`) beats both."""
    files: list[Path] = []
    if manifest is not None:
        given = Path(manifest).expanduser()
        folder = given if given.is_dir() else given.parent
        beside = folder / ".env"
        try:
            same = beside.resolve() == Path(".env").resolve()
        except OSError:
            same = False
        if not same:
            files.append(beside)
    files.append(Path(".env"))
    return tuple(path for path in files if path.is_file())


def load_settings(manifest: Path | str | None = None) -> Settings:
    """The settings from the environment and the `.env` files `settings_env_files(manifest)` finds; a
    `.env` statement that does not parse is reported once, with its file and line, when logging is set
    up (see `mcprt.envfile`)."""
    from .envfile import note_problems

    files = settings_env_files(manifest)
    for path in files:
        note_problems(path)
    SETTINGS_FILES_READ[:] = [path.resolve() for path in files]
    SETTINGS_SHADOWED[:] = _shadowed(files)
    return Settings(_env_file=files)  # type: ignore[call-arg]  # pydantic-settings: the later file (cwd's) wins


def log_format_despite(error: ValidationError) -> str:
    """`MCPRT_LOG_FORMAT` when loading the settings failed with `error`: the settings again with each
    refused value at its default (an init value beats the environment in pydantic-settings), so
    `invalid setting MCPRT_PORT: …` is still written as `MCPRT_LOG_FORMAT=json` asks; a refused
    MCPRT_LOG_FORMAT itself gives `text`."""
    refused = {str(e["loc"][0]) for e in error.errors(include_url=False) if e["loc"]}
    defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True)
                for name in refused if name in Settings.model_fields}
    try:
        return Settings(**defaults).log_format
    except ValidationError:
        return "text"


def _shadowed(files: tuple[Path, ...]) -> list[str]:
    """The `MCPRT_*` names of the manifest's `.env` (the first of two `files`) that the working directory's
    `.env` or the process environment also sets, upper-cased and sorted."""
    import os

    from .envfile import read_env_file

    if len(files) < 2:
        return []
    later = {name.upper() for name in read_env_file(files[1])} | {name.upper() for name in os.environ}
    return sorted({name.upper() for name in read_env_file(files[0])
                   if name.upper().startswith("MCPRT_") and name.upper() in later})
