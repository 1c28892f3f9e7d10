"""`# HELP` texts say what the README's metric table says (the trial: `mcprt_source_up`'s HELP promised 0 after one
call answered HTTP 5xx, while the README, and the gauge, keep 1 until the calls' verdict says `degraded`)."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mcprt.observability.metrics import Metrics
from mcprt.observability.state import ServerState, SourceHealth

README = Path(__file__).resolve().parents[2] / "README.md"


def _helps() -> dict[str, str]:
    state = ServerState("s", "0", "http", None, 0.0, [], [SourceHealth("items", "openapi", "up")], 1)
    text = Metrics(lambda: state).render().decode()
    return {family.name: family.documentation for family in text_string_to_metric_families(text)}


def _readme_row(metric: str) -> str:
    row = re.search(rf"^\| `{metric}` \|.*$", README.read_text(encoding="utf-8"), re.MULTILINE)
    assert row is not None, metric
    return row.group(0)


def test_source_up_help_says_what_the_readme_says() -> None:
    help_text, row = _helps()["mcprt_source_up"], _readme_row("mcprt_source_up")
    assert "below HTTP 500" not in help_text  # the false promise
    for words in ("on the status page", "one 5xx among good answers does not flip it"):
        assert words in help_text and words in row
    for state in ("down", "degraded", "unknown"):
        assert state in help_text and f"`{state}`" in row
