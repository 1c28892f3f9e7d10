"""`mcprt.__main__` catches stop signals before anything loads only for `mcprt up` (`_serves`): the Typer path
(`mcprt --debug up …`) caught SIGTERM only after Typer and Click loaded (0.26–0.43 s in), and another
command must keep the signals' default actions (a `validate` stopped by SIGTERM ends)."""

from __future__ import annotations

import pytest

from mcprt.__main__ import _serves


@pytest.mark.parametrize(("argv", "serves"), [
    (["up", "mcp.yaml"], True),
    (["up"], True),
    (["--debug", "up", "mcp.yaml"], True),
    (["up", "--port=8080", "mcp.yaml"], True),
    (["validate", "up"], False),  # a manifest folder named `up`
    (["tools", "mcp.yaml"], False),
    (["--version"], False),
    ([], False),
])
def test_only_mcprt_up_catches_stop_signals_first(argv: list[str], serves: bool) -> None:
    assert _serves(argv) is serves
