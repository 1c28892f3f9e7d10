"""`MCPRT_*` variables that cannot do what the operator meant, said once when logging is set up.

mcprt reads its process settings from `MCPRT_*` variables (pydantic-settings for `Settings`, and
`settings.env_limit` for the numeric limits, read where each is used). Both ignore what they do not
understand: pydantic-settings drops unknown names (`extra="ignore"`, so a manifest's own
`${MCPRT_TOKEN}` is never refused), and `env_limit` falls back to the default on a value that is not
a positive number. A typo (`MCPRT_LOGLEVEL=debug`, `MCPRT_STATEURL=redis://…`) or a unit
(`MCPRT_MAX_SPEC_BYTES=128MB`, `MCPRT_TEMPLATE_TIMEOUT=5s`) therefore changed nothing, silently. Here:

- a variable named `MCPRT_…` that is no setting but close to one is a warning naming the setting
  ("did you mean MCPRT_LOG_LEVEL?"); names close to none are left alone (they are the manifest's own);
- a limit that is set but is not a positive, finite number is a warning saying which default applies
  and the unit the limit takes; one below its minimum (`MINIMUMS`) is a warning that the minimum
  applies; a limit written only in `.env` (which `env_limit` never reads) is one too;
- uvicorn's `FORWARDED_ALLOW_IPS`, which mcprt does not read, is a warning naming `MCPRT_TRUSTED_PROXIES`.

Both are warnings, not errors: the process behaves exactly as before, the operator is told.
`KNOWN` is the one list of the variables mcprt reads (tests check that every `MCPRT_*` name in the
code and the README is in it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

log = logging.getLogger("mcprt.env")

# Settings read by pydantic-settings (`settings.Settings`; `.env` files through `settings.load_settings`).
SETTINGS = frozenset({
    "MCPRT_LOG_LEVEL", "MCPRT_LOG_FORMAT", "MCPRT_TRANSPORT", "MCPRT_HOST", "MCPRT_PORT", "MCPRT_CACHE_DIR",
    "MCPRT_RELOAD", "MCPRT_DEBUG", "MCPRT_OFFLINE", "MCPRT_STATE_URL", "MCPRT_ALLOWED_HOSTS",
    "MCPRT_TRUSTED_PROXIES", "MCPRT_STRICT",
})
# Limits read through `settings.env_limit` (a positive number, `_` allowed as digit separator): the unit
# each takes and an example, for the warning.
_BYTES, _COUNT, _SECONDS = ("bytes", "64_000_000"), ("a count", "200"), ("seconds", "2.5")
LIMITS: Mapping[str, tuple[str, str]] = {
    "MCPRT_MAX_MANIFEST_BYTES": _BYTES, "MCPRT_MAX_MANIFEST_NODES": _COUNT, "MCPRT_MAX_SPEC_BYTES": _BYTES,
    "MCPRT_SPEC_ALIAS_ALLOWANCE": _COUNT, "MCPRT_SPEC_FETCH_TIMEOUT": _SECONDS, "MCPRT_PINNED_FETCH_TIMEOUT": _SECONDS,
    "MCPRT_MAX_MESSAGE_BYTES": _BYTES, "MCPRT_MAX_CONNECTIONS": _COUNT, "MCPRT_HEADER_TIMEOUT": _SECONDS,
    "MCPRT_BODY_TIMEOUT": _SECONDS, "MCPRT_MAX_SESSIONS": _COUNT, "MCPRT_MAX_SESSIONS_PER_CLIENT": _COUNT, "MCPRT_SESSION_IDLE_TIMEOUT": _SECONDS,
    "MCPRT_KEEP_ALIVE_TIMEOUT": _SECONDS,
    "MCPRT_TEMPLATE_MAX_OUTPUT": ("characters", "1_000_000"), "MCPRT_TEMPLATE_TIMEOUT": _SECONDS,
    "MCPRT_PRUNE_MAX_OUTPUT": _BYTES, "MCPRT_PRUNE_TIMEOUT": _SECONDS,
    "MCPRT_RELOAD_TIMEOUT": _SECONDS, "MCPRT_RELOAD_SETTLE": _SECONDS, "MCPRT_RELOAD_CONFIRM": _SECONDS, "MCPRT_STATE_WAIT": _SECONDS,
    "MCPRT_RELOAD_MAX_LOSS": ("a share of the served tools, above 0 and at most 1", "0.5"), "MCPRT_TRACES_FLUSH_TIMEOUT": _SECONDS,
    "MCPRT_POLICY_REFRESH_INTERVAL": _SECONDS, "MCPRT_UNKNOWN_KID_REFRESH": _SECONDS,
    "MCPRT_PAUSE_REFRESH_INTERVAL": _SECONDS, "MCPRT_DATA_LOSS_CHECK_INTERVAL": _SECONDS,
    "MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT": _SECONDS, "MCPRT_SYNC_CALLS_STOP_TIMEOUT": _SECONDS,
}
# The least value a limit takes, in seconds (`env_limit` raises a smaller one to it, and a warning says so), for the
# intervals whose tiny values cost more than they buy: `repeat_forever` loops that would spin on Redis
# (a few round trips each) and the unknown-`kid` refetch, whose interval is all that stands between a
# flood of tokens naming made-up key ids and the issuer (README: keep it at 1 s or more). Tests and
# operators who want fast refreshes stay well above these (0.25 s, 0.5 s).
MINIMUMS: Mapping[str, float] = {
    "MCPRT_UNKNOWN_KID_REFRESH": 1.0, "MCPRT_POLICY_REFRESH_INTERVAL": 0.1,
    "MCPRT_PAUSE_REFRESH_INTERVAL": 0.1, "MCPRT_DATA_LOSS_CHECK_INTERVAL": 0.1,
    "MCPRT_KEEP_ALIVE_TIMEOUT": 1.0,  # the manifest's own bounds for `server.http.keep_alive_timeout`
}
# The greatest value a limit takes (`env_limit` lowers a larger one to it, and a warning says so): the
# environment override of a manifest setting keeps the manifest's bounds, so a value the manifest refuses
# cannot come in through the environment (a keep-alive over 1 h only hides a balancer's misconfiguration).
MAXIMUMS: Mapping[str, float] = {"MCPRT_KEEP_ALIVE_TIMEOUT": 3600.0, "MCPRT_RELOAD_MAX_LOSS": 1.0}
# What each limit falls back to, as its warning says it (the constants live where each limit is read;
# tests/cli/test_cli_env_names.py checks these against them).
DEFAULTS: Mapping[str, str] = {
    "MCPRT_MAX_MANIFEST_BYTES": "1,000,000 bytes", "MCPRT_MAX_MANIFEST_NODES": "100,000",
    "MCPRT_MAX_SPEC_BYTES": "64,000,000 bytes", "MCPRT_MAX_MESSAGE_BYTES": "16,000,000 bytes",
    "MCPRT_SPEC_ALIAS_ALLOWANCE": "1,000,000", "MCPRT_SPEC_FETCH_TIMEOUT": "60 seconds",
    "MCPRT_PINNED_FETCH_TIMEOUT": "5 seconds",
    "MCPRT_MAX_CONNECTIONS": "4,096 (fewer under a lower open-file limit)", "MCPRT_HEADER_TIMEOUT": "10 seconds",
    "MCPRT_BODY_TIMEOUT": "30 seconds", "MCPRT_MAX_SESSIONS": "the manifest's server.http.max_sessions (10,000 unless set)",
    "MCPRT_MAX_SESSIONS_PER_CLIENT": "the manifest's server.http.max_sessions_per_client (100 unless set)",
    "MCPRT_SESSION_IDLE_TIMEOUT": "the manifest's server.http.session_idle_timeout (600 seconds unless set)",
    "MCPRT_KEEP_ALIVE_TIMEOUT": "the manifest's server.http.keep_alive_timeout (620 seconds unless set)",
    "MCPRT_TEMPLATE_MAX_OUTPUT": "1,000,000 characters", "MCPRT_TEMPLATE_TIMEOUT": "2 seconds",
    "MCPRT_PRUNE_MAX_OUTPUT": "50,000,000 bytes", "MCPRT_PRUNE_TIMEOUT": "2 seconds",
    "MCPRT_RELOAD_TIMEOUT": "60 seconds", "MCPRT_RELOAD_SETTLE": "0.1 seconds", "MCPRT_RELOAD_CONFIRM": "30 seconds", "MCPRT_STATE_WAIT": "60 seconds",
    "MCPRT_RELOAD_MAX_LOSS": "0.5 (half the served tools)", "MCPRT_TRACES_FLUSH_TIMEOUT": "2 seconds",
    "MCPRT_POLICY_REFRESH_INTERVAL": "2 seconds", "MCPRT_UNKNOWN_KID_REFRESH": "5 seconds",
    "MCPRT_PAUSE_REFRESH_INTERVAL": "5 seconds", "MCPRT_DATA_LOSS_CHECK_INTERVAL": "2 seconds",
    "MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT": "30 seconds",
    "MCPRT_SYNC_CALLS_STOP_TIMEOUT": "5 seconds",
}
# Switches and values read directly where they are used.
OTHERS = frozenset({
    "MCPRT_ALLOW_UNAUTHENTICATED", "MCPRT_INCLUDE_PATHS", "MCPRT_HTTP_LEAN", "MCPRT_STDIO_LEAN",
    "MCPRT_STDIN_THREAD", "MCPRT_CATALOG", "MCPRT_DEBUG_TRACEMALLOC",
})
# Read by the operator commands, and also the names manifests use for their own values
# (`${MCPRT_TOKEN}`): known, but never suggested, so `MCPRT_TOKEN_CI` is not taken for a typo.
USER_NAMED = frozenset({"MCPRT_TOKEN", "MCPRT_URL"})
KNOWN = SETTINGS | frozenset(LIMITS) | OTHERS | USER_NAMED
_SUGGESTIBLE = sorted(KNOWN - USER_NAMED)
_CUTOFF = 0.85  # MCPRT_LOGLEVEL → MCPRT_LOG_LEVEL (0.97), MCPRT_PORTS → MCPRT_PORT; MCPRT_GITHUB_TOKEN → none

# uvicorn's variable for the proxies it believes: before `MCPRT_TRUSTED_PROXIES` it was the only way to have
# X-Forwarded-Proto believed from a proxy on another host, and mcprt now passes uvicorn its own list, so a
# deployment that set it would silently advertise `http://` again after an upgrade (review of authfix1).
FOREIGN_PROXIES = "FORWARDED_ALLOW_IPS"

_done = False


def problems(dotenv: Mapping[str, str] | None = None) -> list[str]:
    """The warnings for this process's environment and the names in `dotenv` (the working
    directory's `.env`, which the settings read), in name order."""
    from .settings import env_number

    found: list[str] = []
    environ = os.environ
    dotenv = dotenv or {}
    for name in sorted({n for n in (*environ, *dotenv) if n.upper().startswith("MCPRT_")}):
        key = name.upper()
        if key in KNOWN or _supplies_known(key):
            continue
        import difflib  # only when a name is unknown: most starts never pay for the import

        close = difflib.get_close_matches(key, _SUGGESTIBLE, n=1, cutoff=_CUTOFF)
        if close:
            where = " (in .env)" if name not in environ else ""
            found.append(f"{name}{where} is not an mcprt setting and is ignored; did you mean {close[0]}?")
    for name, (unit, example) in LIMITS.items():
        value = environ.get(name)
        number = env_number(name) if value is not None else None
        shown = value if value is None or len(value) <= 40 else value[:37] + "..."
        if value is not None and number is None:
            found.append(f"{name}={shown!r} is not a {_problem(value)} ({unit}, e.g. {name}={example}; "
                         f"no unit suffix), so the default applies: {DEFAULTS[name]}")
        elif number is not None and number < MINIMUMS.get(name, 0.0):
            found.append(f"{name}={shown!r} is below this interval's minimum (seconds), so the "
                         f"minimum applies: {MINIMUMS[name]:g} s")
        elif number is not None and number > MAXIMUMS.get(name, float("inf")):
            found.append(f"{name}={shown!r} is above this interval's maximum (seconds), so the "
                         f"maximum applies: {MAXIMUMS[name]:g} s")
        elif value is None and name in dotenv:
            found.append(f"{name} in .env is not read: limits come from the environment only "
                         f"(export {name}=… or set it where the process starts)")
    if FOREIGN_PROXIES in environ or FOREIGN_PROXIES in dotenv:
        found.append(f"{FOREIGN_PROXIES} is uvicorn's and is not read by mcprt: name the proxies whose "
                     "X-Forwarded-Proto/-For are believed in MCPRT_TRUSTED_PROXIES (comma-separated) or "
                     "server.http.trusted_proxies")
    return found


def _supplies_known(key: str) -> bool:
    """Whether `key` is `NAME_FILE` for a known `NAME` (`MCPRT_STATE_URL_FILE`): no typo but the `VAR_FILE`
    convention, which gives a manifest's `${NAME}` the file's content (`manifest.envvars`), `notes` says so."""
    from .envfile import FILE_SUFFIX  # `warn_once` has imported it already; a plain start does not pay for it

    return key.endswith(FILE_SUFFIX) and key[: -len(FILE_SUFFIX)] in KNOWN


def notes(dotenv: Mapping[str, str] | None = None) -> list[str]:
    """What each `MCPRT_<setting>_FILE` set does, in name order: it supplies `${MCPRT_<setting>}` where the manifest
    writes it, and nothing else (the process settings read no file). Said at INFO: it works as meant where the
    manifest references it (the shipped Deployment's `state: "${MCPRT_STATE_URL}"`)."""
    from .envfile import FILE_SUFFIX

    names = sorted({n for n in (*os.environ, *(dotenv or {})) if _supplies_known(n.upper())})
    return [f"{name} supplies ${{{name[: -len(FILE_SUFFIX)]}}} to the manifest from the file it names (where the "
            f"manifest writes ${{{name[: -len(FILE_SUFFIX)]}}}); mcprt's own setting "
            f"{name[: -len(FILE_SUFFIX)]} is not read from it" for name in names]


def _problem(value: str) -> str:
    """What `value` lacks to be a limit: a number that is positive, or finite (`inf`, `1e999`)."""
    try:
        number = float(value.strip().replace("_", ""))
    except ValueError:
        return "positive number"
    return "finite number" if number > 0 else "positive number"  # nan > 0 is False: "positive" then


def warn_once() -> None:
    """Log `problems` of this process's environment and the `.env` files the settings read once (called by
    `observability.log.setup_logging`; later calls do nothing)."""
    global _done
    if _done:
        return
    _done = True
    from pathlib import Path

    from .envfile import read_env_file

    from .settings import SETTINGS_FILES_READ

    dotenv: dict[str, str] = {}
    # the `.env` files the settings read (the working directory's and the manifest's: `settings_env_files`)
    for path in SETTINGS_FILES_READ or ([Path(".env")] if Path(".env").is_file() else []):
        dotenv.update(read_env_file(path))
    for message in problems(dotenv):
        log.warning(message)
    for message in notes(dotenv):
        log.info(message)
