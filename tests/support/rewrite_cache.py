"""Write pytest's rewritten-module cache once, in the xdist controller, before the workers collect.

Why: pytest rewrites the `assert`s of every test module, conftest, `pytest_plugins` module and of the
`mcprt` package (an installed plugin, `mcprt.testing.pytest_plugin`: pytest rewrites its whole package) —
~690 files here — and keeps each result in `__pycache__/*.<tag>-pytest-<version>.pyc`. Where
`PYTHONDONTWRITEBYTECODE` is set (this project's CI machines set it) pytest reads that cache but never writes
it, so on every run each of the `-n 3` workers rewrote all ~690 files itself while collecting: measured on
the 2-core machine, `pytest --collect-only` takes 21 s of CPU without the cache and 7 s with it, i.e.
~14 s of CPU per worker, ~42 s per run, all of it before the first test starts. Here the controller
writes the cache before starting the workers, split over the machine's cores (forked processes that
inherit the controller's configuration), and every worker reads it.

The code objects are pytest's own (`_rewrite_test` with this run's configuration) and written with
pytest's own atomic `_write_pyc`; a worker still checks each file's source hash when it reads the cache
(PEP 552 checked-hash pycs) and rewrites whatever is missing or stale, as it would without this plugin.
Those two functions are pytest internals: where they are missing or differ, this plugin does nothing and
the run is only slower.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "runtime" / "mcprt"  # rewritten as the `mcprt` plugin's package


def _test_files(config: pytest.Config) -> list[Path]:
    """What pytest rewrites when a worker collects: test modules and conftests under `tests/`, the plugin
    modules registered from there (tests/conftest.py's `pytest_plugins`), and the mcprt package. A file listed here that pytest
    would not rewrite costs a cache file no one reads; one left out is rewritten by each worker as before."""
    patterns = config.getini("python_files")
    tests = ROOT / "tests"
    found = {p for pattern in [*patterns, "conftest.py"] for p in tests.rglob(pattern)}
    plugins = (getattr(plugin, "__file__", None) for _, plugin in config.pluginmanager.list_name_plugin())
    found |= {Path(file) for file in plugins if file and Path(file).is_relative_to(tests)}
    found |= set(PACKAGE.rglob("*.py"))
    return sorted(p for p in found if p.is_file() and "__pycache__" not in p.parts)


_CONFIG: pytest.Config | None = None  # the controller's, inherited by the forked writers


def _write(paths: list[Path]) -> None:
    from _pytest.assertion import rewrite

    assert _CONFIG is not None
    state = _CONFIG.stash[rewrite.assertstate_key]
    for path in paths:
        pyc = rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)
        if rewrite._read_pyc(path, pyc, state.trace) is not None:  # already current (a developer's second run)
            continue
        try:
            os.makedirs(pyc.parent, exist_ok=True)
        except OSError:  # a read-only checkout: the workers rewrite, as without this plugin
            return
        try:
            source_hash, code = rewrite._rewrite_test(path, _CONFIG)
        except Exception:  # noqa: BLE001 — e.g. a SyntaxError: the worker that imports it reports it, as always
            continue
        rewrite._write_pyc(state, code, source_hash, pyc)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return  # a worker, or a run without workers: pytest rewrites as it collects, once
    if config.getoption("assertmode") != "rewrite":
        return
    try:
        from _pytest.assertion import rewrite

        rewrite.assertstate_key, rewrite.get_cache_dir, rewrite.PYC_TAIL  # noqa: B018
        rewrite._read_pyc, rewrite._rewrite_test, rewrite._write_pyc  # noqa: B018
    except (ImportError, AttributeError):
        return
    if rewrite.assertstate_key not in config.stash:
        return
    paths = _test_files(config)
    cores = len(os.sched_getaffinity(0))
    _CONFIG = config
    try:
        if cores < 2:
            _write(paths)
            return
        context = multiprocessing.get_context("fork")  # the configuration is inherited, not pickled
        writers = [context.Process(target=_write, args=(paths[i::cores],)) for i in range(cores)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    finally:
        _CONFIG = None
