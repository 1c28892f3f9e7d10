"""A POST's Content-Type and Accept are checked once (server/post_headers.py), not again on the lean paths.

Found by a review: `PostHeaderCheck` sits in front of everything the session manager routes, and the lean
paths (the session transport's, the 2026-07-28 one, the stateless route) asked the same `refusal()` again,
10–18 µs per call for nothing. Counted here on the SDK's Accept parser the check calls, over real HTTP to
the app served in-process (uvicorn in a thread), for each era's lean path, stateful and stateless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcprt.pipeline import Runtime
from mcprt.server import Notifier, build_http_app, build_server, post_headers, resolve_options
from mcprt.settings import Settings
from server_support import demo_runtime

from tests.server.test_http_bad_headers import BOTH, LEGACY, MODERN, MODERN_HEADERS
from tests.support.upstream import serve_app


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    async with demo_runtime(tmp_path) as runtime:
        yield runtime


def _app(runtime: Runtime, stateless: bool) -> Any:
    assert runtime.holder is not None and runtime.loaded is not None
    notifier = Notifier()
    notifier.attach(runtime.holder)
    server = build_server(runtime.holder, runtime.loaded.manifest.server, notifier)
    options = resolve_options(runtime.loaded.manifest, Settings(_env_file=None), transport="http", port=0,
                              stateless=stateless)
    return build_http_app(server, runtime.holder, runtime.loaded.manifest.server, notifier, options)


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
def test_each_post_has_its_headers_checked_once(runtime: Runtime, stateless: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[int] = []
    real = post_headers.check_accept_headers

    def counted(request: Any) -> tuple[bool, bool]:
        checks.append(1)
        return real(request)

    monkeypatch.setattr(post_headers, "check_accept_headers", counted)
    headers = {"accept": BOTH, "content-type": "application/json"}
    with serve_app(_app(runtime, stateless)) as base, httpx.Client(base_url=base, timeout=30) as http:
        posts = 0

        def post(body: dict[str, Any], extra: dict[str, str]) -> httpx.Response:
            nonlocal posts
            posts += 1
            answer = http.post("/mcp", json=body, headers={**headers, **extra})
            assert answer.status_code == 200, answer.text
            return answer

        modern = post(MODERN, MODERN_HEADERS)  # the 2026-07-28 lean path
        assert "tools" in modern.text
        opened = post(LEGACY, {})
        session = {"mcp-session-id": opened.headers["mcp-session-id"]} if not stateless else {}
        legacy = {**session, "mcp-protocol-version": "2025-06-18"}
        post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, legacy)  # the handshake-era lean path
    assert len(checks) == posts, f"{len(checks)} header checks for {posts} POSTs"
