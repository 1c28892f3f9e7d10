"""Suite-wide rule: in CI (`CI` set, as `.ci/run` runs), a skipped test fails the run.

Tests that need a real component (Node tools from npm, GitHub's description, Redis, HAProxy, Chromium) skip with the
reason on a developer machine that lacks it; in CI every component is installed by `.ci/install-system-packages` and
the tests themselves, so a skip there would hide a missing component — it is reported and the run fails.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.support.xdist_groups",  # one worker per xdist_group on pytest 9 (see there)
    "tests.support.bytecode",  # mcprt compiled once for the ~1,000 processes the suite starts (see there)
    "tests.support.rewrite_cache",  # pytest's assertion rewriting done once, not once per worker (see there)
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("CI") or hasattr(session.config, "workerinput"):  # the xdist controller decides
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(sorted({getattr(r, "nodeid", "?") for r in skipped})[:10])
        print(f"\nCI: {len(skipped)} test(s) skipped — a component is missing: {names}")
        session.exitstatus = 1
