"""Pydantic plugins installed beside mcprt still see a Python tool's models, although `mcprt up` and
`mcprt tools` build their own settings and manifest models before pydantic's plugin lookup
(`mcprt.import_before_plugin_scan`), and a `PYDANTIC_DISABLE_PLUGINS` the user set still counts.

The plugin is a real installed distribution (a `.dist-info` with a `pydantic` entry point on the
child's path); it logs every schema it is shown, and the tool module logs the switch it sees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import mcprt_process

PLUGIN = '''
import os


class _Probe:
    def new_schema_validator(self, schema, schema_type, schema_type_path, schema_kind, config, plugin_settings):
        with open(os.environ["PROBE_LOG"], "a") as log:
            log.write(f"schema {schema_type_path.module}:{schema_type_path.name}\\n")
        return None, None, None


plugin = _Probe()
with open(os.environ["PROBE_LOG"], "a") as log:
    log.write("plugin loaded\\n")
'''

TOOLS = '''
import os

from pydantic import BaseModel

with open(os.environ["PROBE_LOG"], "a") as log:
    log.write(f"switch {os.environ.get('PYDANTIC_DISABLE_PLUGINS')}\\n")


class Ticket(BaseModel):
    title: str
    priority: int = 3


def create_ticket(ticket: Ticket) -> str:
    """Open a ticket."""
    return ticket.title
'''

MANIFEST = "version: 1\nsources:\n  desk:\n    python: probe_tools\n"


def _project(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    info = site / "mcprt_probe_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mcprt-probe-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nprobe = probe_plugin:plugin\n")
    (site / "probe_plugin.py").write_text(PLUGIN)
    (tmp_path / "probe_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "PROBE_LOG": str(tmp_path / "probe.log"), "MCPRT_CACHE_DIR": str(tmp_path / "c")}


def _log(tmp_path: Path) -> list[str]:
    return (tmp_path / "probe.log").read_text().splitlines()


@pytest.mark.parametrize("args", [("tools", "mcp.yaml", "--json"), ("tools", "mcp.yaml")],
                         ids=["fast-path", "typer-path"])
def test_a_plugin_sees_the_python_tools_models_and_the_tool_module_sees_no_switch(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    env = _project(tmp_path)
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    result = mcprt_process(*args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    log = _log(tmp_path)
    if "--json" in args:  # the fast path: mcprt's own models were built before the lookup
        (tool,) = json.loads(result.stdout)["tools"]
        assert tool["name"] == "create_ticket"
        assert not [line for line in log if line.startswith(("schema mcprt.manifest.", "schema mcprt.settings:"))]
    assert "schema mcprt.sources.python.signature:create_ticket_arguments" in log  # the tool's argument model
    assert log.count("plugin loaded") == 1
    assert "switch None" in log  # our switch is gone before any user code runs
    assert "schema probe_tools:Ticket" in log


def test_a_switch_the_user_set_is_kept(tmp_path: Path) -> None:
    env = _project(tmp_path) | {"PYDANTIC_DISABLE_PLUGINS": "probe"}
    result = mcprt_process("tools", "mcp.yaml", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    log = _log(tmp_path)
    assert "switch probe" in log
    assert "plugin loaded" not in log and not any(line.startswith("schema ") for line in log)
