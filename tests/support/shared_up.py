"""`mcprt up --transport http` servers a test module starts once and its tests share.

Starting `mcprt up` costs about 1.6 s of CPU (mostly imports), a proxied server's subprocess more: a
module whose tests only need a fresh *session* on the same manifest asks `ShareUps` for the server by
name; it is started on first use (a `-k` selection starts only what it runs) and stopped with the
module. Isolation is the test's own: a new SDK client is a new session (its `logging/setLevel`, its
subscriptions, its pending questions are per session); a test reading the shared log counts what it
adds (`UpProcess.wait_log_beyond`) rather than what is there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.support.served import UpProcess, mcprt_http


class ShareUps:
    """`up(name)`: the started server for `name`, started with `mcprt_http(manifest, *args)` where
    `manifest = make(name, folder)` (a fresh folder per name) the first time it is asked for."""

    def __init__(self, stack: ExitStack, folders: pytest.TempPathFactory,
                 make: Callable[[str, Path], Path], *args: str) -> None:
        self._stack, self._folders, self._make, self._args = stack, folders, make, args
        self._started: dict[str, UpProcess] = {}
        self._manifests: dict[str, Path] = {}

    def __call__(self, name: str) -> UpProcess:
        if name not in self._started:
            self._manifests[name] = self._make(name, self._folders.mktemp(f"up-{name}"))
            self._started[name] = self._stack.enter_context(mcprt_http(self._manifests[name], *self._args))
        return self._started[name]

    def folder(self, name: str) -> Path:
        """The folder of server `name`'s manifest (started if it was not yet): where it writes its files."""
        self(name)
        return self._manifests[name].parent


@contextmanager
def shared_ups(folders: pytest.TempPathFactory, make: Callable[[str, Path], Path], *args: str) -> Iterator[ShareUps]:
    """A `ShareUps` whose servers all get SIGTERM when the block ends (for a module-scoped fixture)."""
    with ExitStack() as stack:
        yield ShareUps(stack, folders, make, *args)
