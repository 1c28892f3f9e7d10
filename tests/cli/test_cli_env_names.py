"""`MCPRT_*` variables that cannot do what the operator meant are said, once, at start.

Found by an operator trial: `MCPRT_LOGLEVEL=debug` (for MCPRT_LOG_LEVEL), `MCPRT_STATEURL=…`,
`MCPRT_MAX_SPEC_BYTES=128MB` and `MCPRT_TEMPLATE_TIMEOUT=5s` were all silently ignored (the settings
drop unknown names, a limit that is no number falls back to its default), and a limit written in
`.env` is never read at all. Now each is a warning; the process behaves as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcprt.envcheck import KNOWN, LIMITS, SETTINGS
from mcprt.settings import Settings
from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.logs import message_of
from tests.support.served import child_env, mcprt_http

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "version: 1\nsources:\n  tools:\n    python: env_tools\n"
TOOLS = '__all__ = ["echo"]\n\n\ndef echo(text: str) -> str:\n    """Say it back."""\n    return text\n'


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "env_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    return tmp_path / "mcp.yaml"


def test_misspelt_names_and_malformed_limits_are_warned_about(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    (tmp_path / ".env").write_text("MCPRT_TRANSPROT=stdio\nMCPRT_MAX_SPEC_BYTES=100_000_000\n")
    env = dict(MCPRT_LOGLEVEL="debug", MCPRT_STATEURL="redis://127.0.0.1:6379/0", MCPRT_TEMPLATE_TIMEOUT="5s",
               MCPRT_MAX_CONNECTIONS="-1", MCPRT_GITHUB_TOKEN="gh-secret-1", MCPRT_TOKEN2="tok-2",
               MCPRT_RELOAD_TIMEOUT="30", MCPRT_HEADER_TIMEOUT="2.5")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    warned = [message_of(line, "mcprt.env") for line in done.stderr.splitlines() if "mcprt.env: " in line]
    assert warned == [
        "MCPRT_LOGLEVEL is not an mcprt setting and is ignored; did you mean MCPRT_LOG_LEVEL?",
        "MCPRT_STATEURL is not an mcprt setting and is ignored; did you mean MCPRT_STATE_URL?",
        "MCPRT_TRANSPROT (in .env) is not an mcprt setting and is ignored; did you mean MCPRT_TRANSPORT?",
        "MCPRT_MAX_SPEC_BYTES in .env is not read: limits come from the environment only "
        "(export MCPRT_MAX_SPEC_BYTES=… or set it where the process starts)",
        "MCPRT_MAX_CONNECTIONS='-1' is not a positive number (a count, e.g. MCPRT_MAX_CONNECTIONS=200; "
        "no unit suffix), so the default applies: 4,096 (fewer under a lower open-file limit)",
        "MCPRT_TEMPLATE_TIMEOUT='5s' is not a positive number (seconds, e.g. MCPRT_TEMPLATE_TIMEOUT=2.5; "
        "no unit suffix), so the default applies: 2 seconds",
    ], done.stderr
    # names close to no setting are the manifest's own; their values are never shown
    assert "gh-secret-1" not in done.stderr and "tok-2" not in done.stderr and "GITHUB" not in done.stderr


def test_an_infinite_limit_is_one_warning_and_the_default_not_a_crash(tmp_path: Path) -> None:
    """`MCPRT_MAX_MANIFEST_BYTES=inf` (or 1e999) parsed as a float and ended `mcprt validate` with
    "internal error: OverflowError"; it is malformed as any other: one warning naming the setting, what is
    wrong with the value and the default used, and the command works with that default."""
    manifest = _folder(tmp_path)
    for value in ("inf", "1e999"):
        done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env={"MCPRT_MAX_MANIFEST_BYTES": value})
        assert done.returncode == 0 and "internal error" not in done.stderr, done.stderr
        warned = [message_of(line, "mcprt.env") for line in done.stderr.splitlines() if "mcprt.env: " in line]
        assert warned == [
            f"MCPRT_MAX_MANIFEST_BYTES={value!r} is not a finite number (bytes, e.g. "
            "MCPRT_MAX_MANIFEST_BYTES=64_000_000; no unit suffix), so the default applies: 1,000,000 bytes",
        ], done.stderr


TOO_SMALL = {"MCPRT_POLICY_REFRESH_INTERVAL": ("0.001", "0.1", "2 seconds"),  # in `envcheck.LIMITS` order
             "MCPRT_UNKNOWN_KID_REFRESH": ("0.99", "1", "5 seconds"),
             "MCPRT_PAUSE_REFRESH_INTERVAL": ("1e-9", "0.1", "5 seconds"),
             "MCPRT_DATA_LOSS_CHECK_INTERVAL": ("0.09", "0.1", "2 seconds")}


def test_an_interval_below_its_minimum_is_a_warning_and_the_minimum_applies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`MCPRT_UNKNOWN_KID_REFRESH=0.01` was taken: every token naming a made-up key id could make the
    server fetch the issuer's key set again; a refresh or check interval of 1e-9 s spun its loop on
    Redis. Then a value below the minimum gave the *default*: 0.99 → 5 s but 1 → 1 s, 0.09 → 2 s but
    0.1 → 0.1 s, not monotonic in what the operator wrote. A well-formed value below the minimum now
    means "as often as allowed": the minimum applies, with one warning naming it; a value of zero or
    less is no interval and still gives the default, as a malformed one does."""
    from mcprt.identity.discovery import unknown_kid_refresh
    from mcprt.policy.service import refresh_interval
    from mcprt.server.shared_state import data_check_interval
    from mcprt.state.policy import pause_refresh

    manifest = _folder(tmp_path)
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env={n: v[0] for n, v in TOO_SMALL.items()})
    assert done.returncode == 0, done.stderr
    warned = [message_of(line, "mcprt.env") for line in done.stderr.splitlines() if "mcprt.env: " in line]
    assert warned == [f"{name}={small!r} is below this interval's minimum (seconds), so the minimum applies: {least} s"
                      for name, (small, least, default) in TOO_SMALL.items()], done.stderr
    readers = {"MCPRT_UNKNOWN_KID_REFRESH": unknown_kid_refresh, "MCPRT_POLICY_REFRESH_INTERVAL": refresh_interval,
               "MCPRT_PAUSE_REFRESH_INTERVAL": pause_refresh, "MCPRT_DATA_LOSS_CHECK_INTERVAL": data_check_interval}
    for name, (small, least, default) in TOO_SMALL.items():
        read = []
        for value in (small, least, str(float(least) * 1.5), "0", "-1"):
            monkeypatch.setenv(name, value)
            read.append(readers[name]())
        # below the minimum, the minimum, above it, zero and negative (the default)
        assert read == [float(least), float(least), float(least) * 1.5, float(default.split()[0]),
                        float(default.split()[0])], name


def test_the_defaults_named_are_the_ones_applied() -> None:
    """The warnings' defaults (`envcheck.DEFAULTS`) are the constants where each limit is read."""
    from mcprt.cli import up_cmd
    from mcprt.envcheck import DEFAULTS, LIMITS
    from mcprt.expressions import budget, prune_budget
    from mcprt.identity import discovery
    from mcprt.manifest import limits as manifest_limits
    from mcprt.manifest.model import HttpConfig
    from mcprt.observability import tracing
    from mcprt.policy import service
    from mcprt.reload import guard, reloader
    from mcprt.server import limits as server_limits
    from mcprt.server import shared_state, state_wait
    from mcprt.sources.mcp import lines
    from mcprt.sources.openapi import fetch as spec_fetch
    from mcprt.sources.openapi import pinned as spec_pinned
    from mcprt.sources.python import offers as python_offers
    from mcprt.state import policy as state_policy

    assert set(DEFAULTS) == set(LIMITS)
    numbers = {
        "MCPRT_MAX_MANIFEST_BYTES": manifest_limits.DEFAULT_MAX_MANIFEST_BYTES,
        "MCPRT_MAX_MANIFEST_NODES": manifest_limits.DEFAULT_MAX_MANIFEST_NODES,
        "MCPRT_MAX_SPEC_BYTES": manifest_limits.DEFAULT_MAX_SPEC_BYTES,
        "MCPRT_SPEC_ALIAS_ALLOWANCE": manifest_limits.DEFAULT_SPEC_ALIAS_ALLOWANCE,
        "MCPRT_SPEC_FETCH_TIMEOUT": spec_fetch.SPEC_FETCH_TIMEOUT_SECONDS,
        "MCPRT_PINNED_FETCH_TIMEOUT": spec_pinned.PINNED_FETCH_TIMEOUT,
        "MCPRT_MAX_MESSAGE_BYTES": lines.DEFAULT_MAX_MESSAGE_BYTES,
        "MCPRT_MAX_CONNECTIONS": server_limits.DEFAULT_MAX_CONNECTIONS,
        "MCPRT_HEADER_TIMEOUT": server_limits.DEFAULT_HEADER_TIMEOUT,
        "MCPRT_BODY_TIMEOUT": server_limits.DEFAULT_BODY_TIMEOUT,
        "MCPRT_MAX_SESSIONS": HttpConfig.model_fields["max_sessions"].default,
        "MCPRT_MAX_SESSIONS_PER_CLIENT": HttpConfig.model_fields["max_sessions_per_client"].default,
        "MCPRT_SESSION_IDLE_TIMEOUT": HttpConfig.model_fields["session_idle_timeout"].default,
        "MCPRT_KEEP_ALIVE_TIMEOUT": HttpConfig.model_fields["keep_alive_timeout"].default,
        "MCPRT_TEMPLATE_MAX_OUTPUT": budget.DEFAULT_MAX_OUTPUT,
        "MCPRT_TEMPLATE_TIMEOUT": budget.DEFAULT_TIMEOUT,
        "MCPRT_PRUNE_MAX_OUTPUT": prune_budget.DEFAULT_MAX_OUTPUT,
        "MCPRT_PRUNE_TIMEOUT": prune_budget.DEFAULT_TIMEOUT,
        "MCPRT_RELOAD_TIMEOUT": reloader.RELOAD_TIMEOUT_SECONDS,
        "MCPRT_RELOAD_SETTLE": reloader.RELOAD_SETTLE_SECONDS,
        "MCPRT_RELOAD_MAX_LOSS": guard.MAX_LOSS,
        "MCPRT_RELOAD_CONFIRM": reloader.RELOAD_CONFIRM_SECONDS,
        "MCPRT_STATE_WAIT": state_wait.STATE_WAIT_SECONDS,
        "MCPRT_TRACES_FLUSH_TIMEOUT": tracing.DEFAULT_FLUSH_TIMEOUT,
        "MCPRT_POLICY_REFRESH_INTERVAL": service.REFRESH_INTERVAL_SECONDS,
        "MCPRT_UNKNOWN_KID_REFRESH": discovery.UNKNOWN_KID_REFRESH_S,
        "MCPRT_PAUSE_REFRESH_INTERVAL": state_policy.PAUSE_REFRESH,
        "MCPRT_DATA_LOSS_CHECK_INTERVAL": shared_state.DATA_CHECK_EVERY,
        "MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT": python_offers.DEFAULT_CALL_TIMEOUT,
        "MCPRT_SYNC_CALLS_STOP_TIMEOUT": up_cmd.SYNC_CALLS_STOP_WITHIN,
    }
    assert set(numbers) == set(LIMITS)
    for name, number in numbers.items():
        said = f"{int(number):,}" if float(number).is_integer() else f"{number}"
        assert re.search(rf"(^|\(){re.escape(said)}( |\)|$)", DEFAULTS[name]), (name, number, DEFAULTS[name])


def test_the_keep_alive_override_keeps_the_manifests_bounds_and_beats_the_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`server.http.keep_alive_timeout` had no environment override while its neighbours
    (`max_sessions`, `session_idle_timeout`) did: `MCPRT_KEEP_ALIVE_TIMEOUT` now overrides it, as they do
    (environment beats manifest), within the manifest's own bounds (1 s – 1 h), a value outside taken as
    the nearer bound with one warning each. (That the listener closes after it: tests/hostile.)"""
    from annotated_types import Ge, Le

    from mcprt.envcheck import MAXIMUMS, MINIMUMS
    from mcprt.manifest.loader import load_manifest
    from mcprt.manifest.model import HttpConfig
    from mcprt.server.options import resolve_options

    bounds = HttpConfig.model_fields["keep_alive_timeout"].metadata
    assert [MINIMUMS["MCPRT_KEEP_ALIVE_TIMEOUT"], MAXIMUMS["MCPRT_KEEP_ALIVE_TIMEOUT"]] == [
        next(b.ge for b in bounds if isinstance(b, Ge)), next(b.le for b in bounds if isinstance(b, Le))]
    manifest = _folder(tmp_path)
    manifest.write_text(MANIFEST.replace("version: 1\n", "version: 1\nserver: {http: {keep_alive_timeout: 90s}}\n"))
    loaded = load_manifest(manifest).manifest
    read = []
    for value in (None, "75", "0.5", "7200", "0", "7s"):
        if value is None:
            monkeypatch.delenv("MCPRT_KEEP_ALIVE_TIMEOUT", raising=False)
        else:
            monkeypatch.setenv("MCPRT_KEEP_ALIVE_TIMEOUT", value)
        read.append(resolve_options(loaded, Settings(), transport="http").keep_alive_timeout)
    assert read == [90.0, 75.0, 1.0, 3600.0, 90.0, 90.0]
    for value, said in (("0.5", "below this interval's minimum (seconds), so the minimum applies: 1 s"),
                        ("7200", "above this interval's maximum (seconds), so the maximum applies: 3600 s")):
        done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env={"MCPRT_KEEP_ALIVE_TIMEOUT": value})
        warned = [message_of(line, "mcprt.env") for line in done.stderr.splitlines() if "mcprt.env: " in line]
        assert warned == [f"MCPRT_KEEP_ALIVE_TIMEOUT={value!r} is {said}"], done.stderr


def test_uvicorns_forwarded_allow_ips_is_warned_about_naming_mcprts_setting(tmp_path: Path) -> None:
    """Review of authfix1: FORWARDED_ALLOW_IPS was the trial's only fix before MCPRT_TRUSTED_PROXIES; mcprt now
    gives uvicorn its own list, so a deployment still setting it went back to advertising http:// silently."""
    manifest = _folder(tmp_path)
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env=dict(FORWARDED_ALLOW_IPS="*"))
    assert done.returncode == 0, done.stderr
    warned = [message_of(line, "mcprt.env") for line in done.stderr.splitlines() if "mcprt.env: " in line]
    assert warned == ["FORWARDED_ALLOW_IPS is uvicorn's and is not read by mcprt: name the proxies whose "
                      "X-Forwarded-Proto/-For are believed in MCPRT_TRUSTED_PROXIES (comma-separated) or "
                      "server.http.trusted_proxies"], done.stderr


def test_a_FILE_variable_for_a_known_name_is_no_typo_but_said_to_supply_the_manifests_variable(
        tmp_path: Path) -> None:
    """Review of fixk2 (problem 7): `MCPRT_STATE_URL_FILE` (the VAR_FILE convention, supplying a manifest's
    `state: "${MCPRT_STATE_URL}"`) worked, yet was warned about as "not an mcprt setting and is ignored; did you
    mean MCPRT_STATE_URL?". Now an INFO note saying what it does, and what it does not (the setting itself)."""
    manifest = _folder(tmp_path)
    (tmp_path / "state").write_text("redis://127.0.0.1:6379/0\n")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env=dict(MCPRT_STATE_URL_FILE=str(tmp_path / "state")))
    assert done.returncode == 0 and "mcprt.env" not in done.stderr, done.stderr  # no warning
    env = child_env(MCPRT_LOG_FORMAT="json", MCPRT_STATE_URL_FILE=str(tmp_path / "state"))
    with mcprt_http(manifest, "--no-reload", env=env) as up:
        log = up.wait_log("MCPRT_STATE_URL_FILE")
    (line,) = [line for line in log.splitlines() if "MCPRT_STATE_URL_FILE" in line]
    assert '"level": "info"' in line and '"logger": "mcprt.env"' in line, log
    assert ("MCPRT_STATE_URL_FILE supplies ${MCPRT_STATE_URL} to the manifest from the file it names (where the "
            "manifest writes ${MCPRT_STATE_URL}); mcprt's own setting MCPRT_STATE_URL is not read from it") in line, log
    assert "not an mcprt setting" not in log, log


def test_correct_settings_draw_no_warning(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    env = dict(MCPRT_LOG_LEVEL="warning", MCPRT_MAX_SPEC_BYTES="64_000_000", MCPRT_TEMPLATE_TIMEOUT="2.5",
               mcprt_log_format="text", MCPRT_TOKEN="t", MCPRT_URL="http://127.0.0.1:1")
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env=env)
    assert done.returncode == 0 and "mcprt.env" not in done.stderr, done.stderr


def test_mcprt_up_warns_once_in_its_log_format(tmp_path: Path) -> None:
    manifest = _folder(tmp_path)
    env = child_env(MCPRT_LOG_FORMAT="json", MCPRT_LOGLEVEL="debug", MCPRT_TEMPLATE_TIMEOUT="5s")
    with mcprt_http(manifest, "--no-reload", env=env) as up:
        log = up.wait_log("did you mean MCPRT_LOG_LEVEL?")
        log = up.wait_log("MCPRT_TEMPLATE_TIMEOUT")
    lines = [line for line in log.splitlines() if "MCPRT_LOGLEVEL" in line]
    assert len(lines) == 1 and '"level": "warning"' in lines[0] and '"logger": "mcprt.env"' in lines[0], log
    (limit,) = [line for line in log.splitlines() if "MCPRT_TEMPLATE_TIMEOUT" in line]  # one, though read per render
    assert "so the default applies: 2 seconds" in limit and '"logger": "mcprt.env"' in limit, log


def test_known_names_cover_every_name_the_code_and_the_readme_use() -> None:
    assert SETTINGS == {f"MCPRT_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for path in (ROOT / "runtime" / "mcprt").rglob("*.py"):
        if path.name == "envcheck.py":  # its docstring's examples are typos on purpose
            continue
        used |= set(re.findall(r"MCPRT_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
    used |= {f"MCPRT_{n}" for n in re.findall(r'setting\("([A-Z_]+)"', (ROOT / "runtime/mcprt/manifest/limits.py").read_text())}
    readme = set(re.findall(r"MCPRT_[A-Z][A-Z0-9_]*[A-Z0-9]", (ROOT / "README.md").read_text()))
    examples = {"MCPRT_LOGLEVEL", "MCPRT_GITHUB_TOKEN"}  # the README's own examples of names that are no setting
    missing = sorted((used | readme) - examples - KNOWN)
    assert not missing, f"MCPRT_* names read somewhere but not in mcprt.envcheck.KNOWN: {missing}"


def test_every_limit_is_a_row_of_the_readme_s_limits_table() -> None:
    """Operators look for a limit in the README's table (`| limit | default | setting |`): the four
    intervals made settings on 2026-12-01 and MCPRT_TRACES_FLUSH_TIMEOUT were only in running text."""
    table = (ROOT / "README.md").read_text().split("| limit | default | setting |\n", 1)[1].split("\n\n", 1)[0]
    listed = {name for row in table.splitlines() for name in re.findall(r"`(MCPRT_[A-Z0-9_]+)`", row.rsplit("|", 2)[1])}
    missing = sorted(set(LIMITS) - listed)
    assert not missing, f"limits missing from the README's table: {missing}"


def test_an_unusable_port_names_where_it_came_from(tmp_path: Path) -> None:
    """Found by the same trial: `MCPRT_PORT=99999 mcprt up` said only "port 99999 is out of range"."""
    manifest = _folder(tmp_path)
    from_env = mcprt_process("up", str(manifest), cwd=tmp_path, env={"MCPRT_PORT": "99999", "MCPRT_TRANSPORT": "http"},
                             forked=True)
    assert from_env.returncode == 2 and "Traceback" not in from_env.stderr, from_env.stderr
    assert "port 99999 is out of range (0-65535; 0 picks a free port); it came from MCPRT_PORT" in from_env.stderr
    from_flag = mcprt_process("up", str(manifest), "--transport", "http", "--port", "70000", cwd=tmp_path,
                          env={"MCPRT_PORT": "8000"}, forked=True)
    assert from_flag.returncode == 2 and "port 70000 is out of range" in from_flag.stderr, from_flag.stderr
    assert "it came from --port" in from_flag.stderr
