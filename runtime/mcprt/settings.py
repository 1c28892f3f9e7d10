"""Runtime settings from `MCPRT_*` environment variables (pydantic-settings) and `.env` files (`envfile`, as values).

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
from .home_paths import expand_home


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcprt"


class Settings(BaseSettings):
    """Process-level settings. Every field can be set as `MCPRT_<NAME>` (e.g. `MCPRT_LOG_LEVEL=debug`)."""

    # no `env_file`: the `.env` files are read by `envfile.read_env_file` (`load_settings`), the one reader and rule
    # the manifest's `${VAR}` uses too, and passed in as values
    model_config = SettingsConfigDict(env_prefix="MCPRT_", extra="ignore")

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
# The settings that took effect from each `.env` file the last `load_settings` read (its path, their names: never
# their values), for the start-up line that says where a setting came from.
SETTINGS_FROM: list[tuple[Path, tuple[str, ...]]] = []
# The settings the manifest's `.env` holds that it may not set (`MANIFEST_ENV_SETTINGS`), for a start-up warning.
SETTINGS_REFUSED: list[str] = []
# The settings a `.env` statement meant to set but left unset (its value references an unset variable: `envfile`'s
# rule, as for the manifest's `${VAR}`), each with why, for a start-up warning: the default applies, never "".
SETTINGS_UNRESOLVED: list[tuple[str, str]] = []

# What the `.env` beside the manifest may set: how mcprt logs, where it caches, whether it reloads, fetches or starts
# strictly — a developer's convenience when a host launches `mcprt up /abs/mcp.yaml` from `/`. Never where it
# listens or on which transport (`MCPRT_TRANSPORT`, `MCPRT_HOST`, `MCPRT_PORT`: a balancer's health checks and a
# host's stdio depend on them), what a client is told (`MCPRT_DEBUG` sends tracebacks with server paths), whose
# headers are believed or which hosts are served (`MCPRT_TRUSTED_PROXIES`, `MCPRT_ALLOWED_HOSTS`), nor whose
# state decides approvals, pauses and rate limits (`MCPRT_STATE_URL`): a manifest's folder is reviewed content, but
# the `.env` in it is often one developer's unreviewed file (the upgrade trial's `MCPRT_DEBUG=1` and
# `MCPRT_TRUSTED_PROXIES=0.0.0.0/0` there took effect in production, silently). Those come from the environment or
# the working directory's `.env` (the operator's), as before that file was read; the manifest may name a variable
# of its `.env` where it speaks itself (`server.state: ${REDIS_URL}`).
MANIFEST_ENV_SETTINGS = frozenset({
    "MCPRT_LOG_LEVEL", "MCPRT_LOG_FORMAT", "MCPRT_CACHE_DIR", "MCPRT_RELOAD", "MCPRT_OFFLINE", "MCPRT_STRICT",
})


def _beside(manifest: Path | str | None) -> Path | None:
    """The `.env` beside `manifest` (as given on the command line) when it is a file and not the working
    directory's own, else None."""
    if manifest is None:
        return None
    given = expand_home(manifest)
    beside = (given if given.is_dir() else given.parent) / ".env"
    try:
        same = beside.resolve() == Path(".env").resolve()
    except OSError:
        same = False
    return beside if beside.is_file() and not same else None


def settings_env_files(manifest: Path | str | None = None) -> tuple[Path, ...]:
    """The `.env` files settings are read from, lowest precedence first: the one beside `manifest` (as
    given on the command line; None: none), then the working directory's.

    Why both: an agent host (Claude Desktop, Cursor, VS Code) starts `mcprt up /abs/mcp.yaml` in a folder
    of its choosing (`/`, the workspace), so a developer who checked the setup in a terminal beside the
    manifest (`MCPRT_LOG_LEVEL=debug` in its `.env`) got other settings under the host, silently. Why the
    manifest's only fills gaps, and only `MANIFEST_ENV_SETTINGS`: the manifest's folder may be someone else's
    checkout, while the working directory's `.env` is the operator's — a clone's `MCPRT_ALLOWED_HOSTS`/`MCPRT_PORT`
    must not replace the operator's (a reviewer saw a clone's `.env` turn `Host: mcp.internal` into 421). The
    process environment (a host config's `env`) beats both."""
    beside = _beside(manifest)
    cwd = Path(".env")
    return tuple(path for path in (beside, cwd if cwd.is_file() else None) if path is not None)


def load_settings(manifest: Path | str | None = None) -> Settings:
    """The settings from the environment and the `.env` files `settings_env_files(manifest)` finds — from the one
    beside the manifest only `MANIFEST_ENV_SETTINGS`, and only where neither the environment nor the working
    directory's `.env` sets them (what it may not set: `SETTINGS_REFUSED`; what it set in vain: `SETTINGS_SHADOWED`;
    where each setting came from: `SETTINGS_FROM`, for the start-up log). A `.env` statement that does not parse is
    reported once, with its file and line, when logging is set up (see `mcprt.envfile`)."""
    from .envcheck import SETTINGS
    from .envfile import EnvValues, note_problems, read_env_file

    files = settings_env_files(manifest)
    for path in files:
        note_problems(path)
    beside = _beside(manifest)
    operators = [path for path in files if path != beside]  # the working directory's, at most one
    environment = {name.upper() for name in os.environ}
    # the operator's file as the manifest's `${VAR}` reads it (one reader, one rule: `envfile`) — through
    # pydantic-settings' own dotenv reader `MCPRT_LOG_FORMAT=${UNSET}` was "", so `mcprt validate` said ok while
    # `mcprt call` refused the setting (review of fixi1, problem 6); an unset reference leaves the setting unset
    read = [read_env_file(path) for path in operators]
    given = {name.upper(): value for values in read for name, value in values.items()}
    theirs = set(given)
    own = read_env_file(beside) if beside else EnvValues()
    named = {name.upper(): value for name, value in own.items() if name.upper() in SETTINGS}
    SETTINGS_UNRESOLVED[:] = sorted({name.upper(): why.why() for values in (own, *read)
                                     for name, why in values.unresolved.items()
                                     if name.upper() in SETTINGS and name.upper() not in environment}.items())
    SETTINGS_FILES_READ[:] = [path.resolve() for path in files]
    SETTINGS_REFUSED[:] = sorted(name for name in named if name not in MANIFEST_ENV_SETTINGS)
    SETTINGS_SHADOWED[:] = sorted(name for name in named
                                  if name in MANIFEST_ENV_SETTINGS and name in environment | theirs)
    filled = {name: value for name, value in named.items()
              if name in MANIFEST_ENV_SETTINGS and name not in environment | theirs}
    SETTINGS_FROM[:] = [(path.resolve(), tuple(sorted(n for n in theirs if n in SETTINGS and n not in environment)))
                        for path in operators]
    if filled and beside is not None:
        SETTINGS_FROM.insert(0, (beside.resolve(), tuple(sorted(filled))))
    SETTINGS_FROM[:] = [(path, names) for path, names in SETTINGS_FROM if names]
    # the `.env` values as init values, which pydantic-settings puts above the environment: so only the names the
    # environment does not set, the operator's file's first, then the gaps the manifest's may fill
    values = {name: value for name, value in given.items() if name in SETTINGS and name not in environment}
    values.update(filled)
    return Settings(**_fields(values))


def _operator_values(operators: list[Path]) -> dict[str, str]:
    """NAME (upper case, as pydantic-settings matches names) → value of the operator's `.env` files, expanded."""
    from .envfile import read_env_file

    return {name.upper(): value for path in operators for name, value in read_env_file(path).items()}


def _fields(values: dict[str, str]) -> dict[str, str]:
    """`MCPRT_LOG_LEVEL` → `log_level`: `.env` values as `Settings` init values."""
    return {name.removeprefix("MCPRT_").lower(): value for name, value in values.items()}


def log_format_despite(error: ValidationError) -> str:
    """`MCPRT_LOG_FORMAT` when loading the settings failed with `error`: the settings again with each
    refused value at its default (an init value beats the environment in pydantic-settings), so
    `invalid setting MCPRT_PORT: …` is still written as `MCPRT_LOG_FORMAT=json` asks; a refused
    MCPRT_LOG_FORMAT itself gives `text`."""
    refused = {str(e["loc"][0]) for e in error.errors(include_url=False) if e["loc"]}
    defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True)
                for name in refused if name in Settings.model_fields}
    from .envcheck import SETTINGS

    cwd = Path(".env")
    environment = {name.upper() for name in os.environ}
    given = _operator_values([cwd] if cwd.is_file() else [])
    values = _fields({name: value for name, value in given.items() if name in SETTINGS and name not in environment})
    try:
        return Settings(**{**values, **defaults}).log_format
    except ValidationError:
        return "text"
