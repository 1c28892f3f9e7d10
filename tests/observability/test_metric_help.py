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


def test_the_pending_approvals_gauge_says_it_is_the_fleets_figure_as_the_readme_does() -> None:
    """Every replica sharing Redis reports the whole fleet's pending requests: summed over replicas they would be
    counted once per replica, so HELP and the README say to aggregate with max."""
    state = ServerState("s", "0", "http", None, 0.0, [], [], 1, approvals_pending=3)
    text = Metrics(lambda: state).render().decode()
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "mcprt_approval_requests_pending"]
    assert [sample.value for sample in family.samples] == [3.0]
    row = _readme_row("mcprt_approval_requests_pending")
    assert "the fleet's figure" in family.documentation and "**the fleet's figure**" in row
    assert "max, not sum" in family.documentation and "`max`, never `sum`" in row
    # no approval endpoint (stdio, a one-shot call): no request can be pending here, so no gauge
    assert "mcprt_approval_requests_pending" not in Metrics(
        lambda: ServerState("s", "0", "stdio", None, 0.0, [], [], 1)).render().decode()
