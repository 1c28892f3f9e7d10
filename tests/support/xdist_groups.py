"""Keep pytest-xdist's `--dist loadgroup` grouping on pytest 9 (a plugin of this suite, loaded by tests/conftest.py).

The suite runs `-n 2 --dist loadgroup` so that tests sharing one started component (a module's `mcprt up`, a
Redis + HAProxy cluster, the OIDC servers) run on one worker and start it once. pytest-xdist 3.8 tells its
scheduler a test's `xdist_group` by renaming the test `<nodeid>@<group>` on the worker, through `item._nodeid`;
from pytest 9 a node's id lives in `item._id`, so the rename is lost, each group's tests are spread over both
workers and each worker starts its own copy of the component (pytest-dev/pytest-xdist#1386, fix not released
in 3.8.0). Where xdist's rename did not take, this hook makes it. Drop it once a fixed pytest-xdist is required.
"""

from __future__ import annotations

import pytest


def group_of(item: pytest.Item) -> str | None:
    """The `xdist_group` name(s) of a test as xdist joins them (sorted, `_`-joined), or None."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) if names else None


@pytest.hookimpl(trylast=True)  # after xdist's own rename, so an xdist that works is left alone
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set by xdist on its workers under --dist loadgroup
        return
    try:
        from _pytest.nodeid import NodeId  # pytest >= 9, where xdist's rename is lost
    except ImportError:
        return
    for item in items:
        group = group_of(item)
        if group is None or item.nodeid.endswith(f"@{group}"):
            continue
        item._id = NodeId.parse(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]
