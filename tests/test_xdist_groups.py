"""The suite's `-n 3 --dist loadgroup` (any -n) keeps each `xdist_group` on one worker (tests/support/xdist_groups.py).

Grouped modules start one component (a cluster, a server) per module or group; spread over both workers they
start it twice and the suite runs over its time budget. Run a small suite the same way, in a subprocess, and
see which worker process ran each grouped module's fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

GROUPED = '''\
import os
import pytest

pytestmark = pytest.mark.xdist_group("cluster")


@pytest.fixture(scope="module", autouse=True)
def started():
    with open("{out}", "a") as f:
        f.write(f"{name} {{os.getpid()}}\\n")


@pytest.mark.parametrize("n", range(8))
def test_one(n):
    pass
'''


def test_a_group_spanning_modules_runs_on_one_worker(tmp_path: Path) -> None:
    out = tmp_path / "started.txt"
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.xdist_groups"]\n')
    for name in ("test_a", "test_b"):
        (tmp_path / f"{name}.py").write_text(GROUPED.format(out=out, name=name))
    (tmp_path / "test_free.py").write_text("import pytest\n\n\n@pytest.mark.parametrize('n', range(16))\n"
                                           "def test_free(n):\n    pass\n")
    # Only xdist (and the conftest's plugin): the other installed plugins (hypothesis, anyio, syrupy, mcprt's,
    # asyncio) play no part in scheduling and cost ~2 s CPU in each of the three processes.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-p", "no:cacheprovider", "-n", "2",
                          "--dist", "loadgroup", str(tmp_path)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    started = [line.split() for line in out.read_text().splitlines()]
    # each module's fixture once (not once per worker), and both modules of the group in one worker process
    assert sorted(name for name, _ in started) == ["test_a", "test_b"], started
    assert len({pid for _, pid in started}) == 1, started
