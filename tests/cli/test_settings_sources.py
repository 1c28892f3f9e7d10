"""Where the process settings come from (settings.py): constructor values beat the environment,
which beats `.env` in the working directory; `MCPRT_` names are case-insensitive; other `MCPRT_*`
variables (limits read elsewhere) are ignored; a bad value is a validation error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mcprt.settings import Settings


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
    assert (Settings().log_level, Settings().port, Settings().host, Settings().reload) == ("warning", 7000, "10.0.0.1",
                                                                                         False)
    monkeypatch.setenv("MCPRT_PORT", "7100")
    monkeypatch.setenv("mcprt_log_level", "debug")  # names are case-insensitive
    monkeypatch.setenv("MCPRT_MAX_SPEC_BYTES", "1000")  # a limit read elsewhere: not a setting
    settings = Settings()
    assert (settings.port, settings.log_level, settings.host) == (7100, "debug", "10.0.0.1")
    assert Settings(port=7200).port == 7200
    assert Settings(_env_file=None).host is None  # no file read


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
    (project / ".env").write_text("MCPRT_LOG_LEVEL=debug\nMCPRT_PORT=7002\nMCPRT_ALLOWED_HOSTS=evil.example\n")
    (tmp_path / ".env").write_text("MCPRT_PORT=7001\nMCPRT_ALLOWED_HOSTS=mcp.internal\n")  # the operator's
    settings = load_settings(project / "mcp.yaml")
    assert (settings.log_level, settings.port, settings.allowed_hosts) == ("debug", 7001, "mcp.internal")
    assert SETTINGS_SHADOWED == ["MCPRT_ALLOWED_HOSTS", "MCPRT_PORT"]  # said at start-up, not silent
    assert load_settings().log_level == "info"  # no manifest named: the working directory's alone
    monkeypatch.setenv("MCPRT_LOG_LEVEL", "error")  # a host config's `env`
    assert load_settings(project / "mcp.yaml").log_level == "error"
    assert "MCPRT_LOG_LEVEL" in SETTINGS_SHADOWED
    monkeypatch.chdir("/")  # as Claude Desktop starts it: no `.env` there
    monkeypatch.delenv("MCPRT_LOG_LEVEL")
    settings = load_settings(project / "mcp.yaml")
    assert (settings.log_level, settings.port, settings.allowed_hosts) == ("debug", 7002, "evil.example")
    assert SETTINGS_SHADOWED == []
