"""Named static tokens identify principals, and the principal reaches the call pipeline.

Through a real `mcprt up` and the SDK client: each configured token is a different principal in the
tool's `output:` template (`principal.kind|sub|…`), in stateful and stateless HTTP and both protocol
eras; stdio is the `stdio` principal; an HTTP server without inbound auth serves `anonymous`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.identity.identity_support import who_source
from tests.support.served import UpProcess, child_env, http_client, launch_command, mcprt_http, text_of

pytestmark = pytest.mark.xdist_group("identity-tokens")  # its two `mcprt up` once per run, not per worker

CI_TOKEN = "ci-token-0123456789abcdef"
ALICE_TOKEN = "alice-token-fedcba9876543210"
SHARED_TOKEN = "shared-token-00112233445566"


def manifest(folder: Path, *, auth: bool = True, stateless: bool = False) -> Path:
    lines = ["version: 1", "server:", "  name: who", f"  http: {{stateless: {str(stateless).lower()}}}"]
    if auth:
        lines += [
            "  auth:",
            '    bearer_tokens: ["${SHARED_TOKEN}"]',
            '    tokens: {ci-bot: "${CI_TOKEN}", alice: "${ALICE_TOKEN}"}',
        ]
    lines += ["sources:", *who_source(folder), "  probe:", "    python: probe_tools"]
    # `ping` marks a point in the log: its line is written after every earlier call's (see `settled_count`)
    (folder / "probe_tools.py").write_text('def ping() -> str:\n    """Answer pong."""\n    return "pong"\n')
    path = folder / "mcp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def env() -> dict[str, str]:
    return child_env(CI_TOKEN=CI_TOKEN, ALICE_TOKEN=ALICE_TOKEN, SHARED_TOKEN=SHARED_TOKEN)


@pytest.fixture(scope="module", params=[False, True], ids=["stateful", "stateless"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("tokens")
    with mcprt_http(manifest(folder, stateless=request.param), env=env()) as up:
        yield up


async def who_answers(url: str, token: str | None, mode: str = "legacy") -> str:
    async with http_client(url, token=token, mode=mode) as client:
        result = await client.call_tool("echo", {"text": "hi"})
        assert not result.is_error, text_of(result)
        return text_of(result)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_each_named_token_is_its_own_principal(served: UpProcess, mode: str) -> None:
    assert await who_answers(served.url, CI_TOKEN, mode) == "token|ci-bot|null||-|hi"
    assert await who_answers(served.url, ALICE_TOKEN, mode) == "token|alice|null||-|hi"
    # The unnamed bearer_tokens keep working, as the principal `bearer`.
    assert await who_answers(served.url, SHARED_TOKEN, mode) == "token|bearer|null||-|hi"


async def settled_count(served: UpProcess, text: str) -> int:
    """How often `text` is in the log once every line written so far is collected: the log is read by a
    thread, so an earlier test's last call line may still be on its way. A `ping` called now writes its
    line after all of them; once it is collected, so are they."""
    pings = served.log().count("call tool=ping")
    async with http_client(served.url, token=ALICE_TOKEN) as client:
        assert not (await client.call_tool("ping", {})).is_error
    deadline = time.monotonic() + 30
    while served.log().count("call tool=ping") <= pings:
        assert time.monotonic() < deadline, f"no ping line in:\n{served.log()}"
        await asyncio.sleep(0.02)
    return served.log().count(text)


async def test_a_wrong_or_missing_token_reaches_no_tool(served: UpProcess) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}
    headers = {"accept": "application/json, text/event-stream"}
    calls_before = await settled_count(served, "call tool=echo")
    for authorization in (None, "Bearer alice", f"Bearer {ALICE_TOKEN}x", f"Basic {ALICE_TOKEN}"):
        sent = headers | ({"authorization": authorization} if authorization else {})
        response = httpx.post(served.url, json=call, headers=sent, timeout=10)
        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "mcp-session-id" not in response.headers
    assert await settled_count(served, "call tool=echo") == calls_before


async def test_an_unauthenticated_http_server_serves_the_anonymous_principal(tmp_path: Path) -> None:
    with mcprt_http(manifest(tmp_path, auth=False), env=env()) as up:
        assert await who_answers(up.url, None) == "anonymous|anonymous|null||-|hi"


async def test_stdio_is_the_stdio_principal_without_any_token(tmp_path: Path) -> None:
    path = manifest(tmp_path)  # the tokens apply to HTTP only: stdio's parent is the trust boundary
    command = launch_command(path, "--transport", "stdio", "--no-reload")
    params = StdioServerParameters(command=command[0], args=command[1:], env=env(), cwd=str(tmp_path))
    async with Client(params) as client:
        result = await client.call_tool("echo", {"text": "hi"})
    assert text_of(result) == "stdio|stdio|null||-|hi"
