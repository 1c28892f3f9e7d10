"""Where the process settings come from (settings.py): constructor values beat the environment,
which beats `.env` in the working directory; `MCPRT_` names are case-insensitive; other `MCPRT_*`
variables (limits read elsewhere) are ignored; a bad value is a validation error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mcprt.settings import SETTINGS_UNRESOLVED, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("MCPRT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_environment_or_file() -> None:
    settings = Settings()
    assert (settings.log_level, settings.transport, settings.port, settings.reload) == ("info", "stdio", None, True)


def test_constructor_beats_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MCPRT_LOG_LEVEL=warning\nMCPRT_PORT=7000\nexport MCPRT_HOST='10.0.0.1'\n"
                                   "MCPRT_RELOAD=false\nOTHER=1\n")
    loaded = load_settings()
    assert (loaded.log_level, loaded.port, loaded.host, loaded.reload) == ("warning", 7000, "10.0.0.1", False)
    monkeypatch.setenv("MCPRT_PORT", "7100")
    monkeypatch.setenv("mcprt_log_level", "debug")  # names are case-insensitive
    monkeypatch.setenv("MCPRT_MAX_SPEC_BYTES", "1000")  # a limit read elsewhere: not a setting
    settings = load_settings()
    assert (settings.port, settings.log_level, settings.host) == (7100, "debug", "10.0.0.1")
    assert Settings(port=7200).port == 7200
    # `.env` is read by `load_settings` (envfile's reader and rule, as the manifest's `${VAR}`), never by Settings
    assert Settings().host is None


def test_a_dotenv_setting_from_an_unset_variable_keeps_its_default(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """Review of fixi1, problem 6: pydantic-settings' own reader made `${UNSET}` "" (`MCPRT_LOG_FORMAT`: refused by
    `mcprt call` while `mcprt validate` said ok); read by envfile, the setting stays unset and takes its default,
    and `SETTINGS_UNRESOLVED` says where (for the start-up warning)."""
    monkeypatch.delenv("NOT_SET_FOR_SETTINGS", raising=False)
    monkeypatch.setenv("PORT_FOR_SETTINGS", "7300")
    (tmp_path / ".env").write_text("MCPRT_LOG_FORMAT=${NOT_SET_FOR_SETTINGS}\nMCPRT_PORT=${PORT_FOR_SETTINGS}\n"
                                   "MCPRT_HOST='${NOT_SET_FOR_SETTINGS}'\n"
                                   "MCPRT_LOG_LEVEL=${NOT_SET_FOR_SETTINGS:-error}\n")
    settings = load_settings()
    assert (settings.log_format, settings.port, settings.host, settings.log_level) == (
        "text", 7300, "${NOT_SET_FOR_SETTINGS}", "error")
    assert SETTINGS_UNRESOLVED == [("MCPRT_LOG_FORMAT", f"{tmp_path / '.env'}:1:18 sets it from "
                                    "${NOT_SET_FOR_SETTINGS}, which is not set (set NOT_SET_FOR_SETTINGS, or write "
                                    "${NOT_SET_FOR_SETTINGS:-default} there)")]


def test_bad_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPRT_PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        Settings()
    monkeypatch.setenv("MCPRT_PORT", "80")
    monkeypatch.setenv("MCPRT_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValidationError, match="transport"):
        Settings()


def test_the_dotenv_beside_the_manifest_fills_only_what_the_working_directorys_leaves_unset(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A host starts `mcprt up /abs/project/mcp.yaml` in `/` or its workspace: the project's `.env`
    (MCPRT_LOG_LEVEL=debug) was ignored. It is read now, but it only fills gaps: the working directory's
    `.env` is the operator's, and a checkout's `.env` must not replace its port or allowed hosts (a
    reviewer's clone turned `Host: mcp.internal` into 421). The environment beats both."""
    from mcprt.settings import SETTINGS_SHADOWED, load_settings

    project = tmp_path / "project"
    project.mkdir()
    (project / "mcp.yaml").write_text("version: 1\n")
    (project / ".env").write_text("MCPRT_LOG_LEVEL=debug\nMCPRT_OFFLINE=1\n")
    (tmp_path / ".env").write_text("MCPRT_PORT=7001\nMCPRT_OFFLINE=0\n")  # the operator's
    settings = load_settings(project / "mcp.yaml")
    assert (settings.log_level, settings.port, settings.offline) == ("debug", 7001, False)
    assert SETTINGS_SHADOWED == ["MCPRT_OFFLINE"]  # said at start-up, not silent
    assert load_settings().log_level == "info"  # no manifest named: the working directory's alone
    monkeypatch.setenv("MCPRT_LOG_LEVEL", "error")  # a host config's `env`
    assert load_settings(project / "mcp.yaml").log_level == "error"
    assert "MCPRT_LOG_LEVEL" in SETTINGS_SHADOWED
    monkeypatch.chdir("/")  # as Claude Desktop starts it: no `.env` there
    monkeypatch.delenv("MCPRT_LOG_LEVEL")
    settings = load_settings(project / "mcp.yaml")
    assert (settings.log_level, settings.offline) == ("debug", True)
    assert SETTINGS_SHADOWED == []


# The upgrade trial's `.env` beside the manifest, and what each of its settings did from there (None: ignored).
TRIAL_DOTENV = "CI_TOKEN=a-token-1111\nMCPRT_PORT=45791\nMCPRT_DEBUG=1\nMCPRT_TRUSTED_PROXIES=0.0.0.0/0\n"


@pytest.mark.parametrize(("line", "field", "value"), [
    ("MCPRT_PORT=45791", "port", None),
    ("MCPRT_HOST=0.0.0.0", "host", None),
    ("MCPRT_TRANSPORT=http", "transport", "stdio"),
    ("MCPRT_DEBUG=1", "debug", False),
    ("MCPRT_TRUSTED_PROXIES=0.0.0.0/0", "trusted_proxies", None),
    ("MCPRT_ALLOWED_HOSTS=evil.example", "allowed_hosts", None),
    ("MCPRT_STATE_URL=redis://127.0.0.1:1/0", "state_url", None),
    ("mcprt_debug=true", "debug", False),  # names are case-insensitive here too
    ("MCPRT_LOG_LEVEL=debug", "log_level", "debug"),
    ("MCPRT_LOG_FORMAT=json", "log_format", "json"),
    ("MCPRT_RELOAD=false", "reload", False),
    ("MCPRT_OFFLINE=1", "offline", True),
    ("MCPRT_STRICT=1", "strict", True),
])
def test_the_manifests_dotenv_sets_no_setting_that_weakens_or_moves_the_server(
        tmp_path: Path, line: str, field: str, value: object) -> None:
    """The upgrade trial: started from `/`, the `.env` beside the manifest moved the server (`MCPRT_PORT`), sent
    tracebacks with server paths to clients (`MCPRT_DEBUG=1`) and made `X-Forwarded-*` believed from anyone
    (`MCPRT_TRUSTED_PROXIES=0.0.0.0/0`), silently. From there only logging, caching, reload, offline and strict
    apply; the rest is ignored and named for the start-up warning (`SETTINGS_REFUSED`)."""
    from mcprt.settings import MANIFEST_ENV_SETTINGS, SETTINGS_FROM, SETTINGS_REFUSED, Settings, load_settings

    project = tmp_path / "project"
    project.mkdir()
    (project / "mcp.yaml").write_text("version: 1\n")
    (project / ".env").write_text(line + "\n")
    settings = load_settings(project / "mcp.yaml")  # the working directory (tmp_path) has no .env
    name = line.split("=")[0].upper()
    if name in MANIFEST_ENV_SETTINGS:
        assert getattr(settings, field) == value and SETTINGS_REFUSED == []
        assert SETTINGS_FROM == [((project / ".env").resolve(), (name,))]  # where it came from, by name
    else:
        default = Settings.model_fields[field].get_default(call_default_factory=True)
        assert getattr(settings, field) == default == value
        assert SETTINGS_REFUSED == [name] and SETTINGS_FROM == []


def test_the_working_directorys_dotenv_still_sets_every_setting(tmp_path: Path) -> None:
    """The operator's `.env` (the working directory's, the one the earlier release read) keeps its power: the same
    lines there apply, and the start-up line names where they came from."""
    from mcprt.settings import SETTINGS_FROM, SETTINGS_REFUSED, load_settings

    (tmp_path / "mcp.yaml").write_text("version: 1\n")
    (tmp_path / ".env").write_text(TRIAL_DOTENV)
    settings = load_settings(tmp_path / "mcp.yaml")  # beside the manifest and in the working directory: one file
    assert (settings.port, settings.debug, settings.trusted_proxies) == (45791, True, "0.0.0.0/0")
    assert SETTINGS_REFUSED == []
    assert SETTINGS_FROM == [((tmp_path / ".env").resolve(), ("MCPRT_DEBUG", "MCPRT_PORT", "MCPRT_TRUSTED_PROXIES"))]
