"""Approving from the status page in headless Chromium (Debian's /usr/bin/chromium through Playwright)
while the SDK client's call waits; denying from the page reaches the model with the reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.support.served import UpProcess, child_env, http_client, mcprt_http, text_of

pytestmark = pytest.mark.xdist_group("policy-browser")  # its `mcprt up` once per run, not once per worker

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
MANIFEST = """\
version: 1
server:
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: [write_note]}, action: approve}
  approvals: {wait: 90s, approvers: [alice]}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run .ci/install-system-packages")
    folder = tmp_path_factory.mktemp("policy-browser")
    shutil.copy(HERE / "policy_tools.py", folder)
    (folder / "mcp.yaml").write_text(MANIFEST)
    with mcprt_http(folder / "mcp.yaml", env=child_env(ALICE_TOKEN="tok-alice", CI_TOKEN="tok-ci")) as up:
        yield up


async def _decide_in_browser(up: UpProcess, button: str, reason: str | None = None, *,
                             page_path: str = "/status/approvals", sign_in: bool = False) -> str:
    """Open `page_path` as alice, wait for the pending row, click `button`; return the page text.
    `sign_in`: the browser has no Authorization header and signs in through the page's form (a cookie)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        try:
            headers = {} if sign_in else {"Authorization": "Bearer tok-alice"}
            context = await browser.new_context(extra_http_headers=headers)
            page = await context.new_page()
            if sign_in:
                first = await page.goto(f"{up.base}/status")
                assert first is not None and first.status == 401
                await page.fill("input[name=token]", "tok-alice")
                async with page.expect_navigation(url=f"{up.base}/status", wait_until="load"):
                    await page.keyboard.press("Enter")  # signed in: from here a cookie replaces the header
            row = page.locator("#approvals tbody tr").filter(has_text="write_note")
            for _ in range(120):  # the call's request appears once the server got it
                await page.goto(f"{up.base}{page_path}")
                if await row.count():
                    break
                await anyio.sleep(0.25)
            assert await row.count() == 1, await page.content()
            assert "ci-bot" in await row.inner_text()
            if reason is not None:
                await row.get_by_placeholder("reason").fill(reason)
            await row.get_by_role("button", name=button).click()
            await page.wait_for_url(f"**{page_path}**")
            return await page.inner_text("body")
        finally:
            await browser.close()


async def _call_while_deciding(up: UpProcess, arguments: dict[str, Any], button: str,
                               reason: str | None = None, **browser: Any) -> tuple[Any, str]:
    results: list[Any] = []
    async with http_client(up.url, token="tok-ci") as client:
        async with anyio.create_task_group() as group:
            async def call() -> None:
                results.append(await client.call_tool("write_note", arguments))

            group.start_soon(call)
            page_text = await _decide_in_browser(up, button, reason, **browser)
    return results[0], page_text


async def test_approve_button_lets_the_waiting_call_proceed(served: UpProcess) -> None:
    result, page_text = await _call_while_deciding(served, {"text": "from the browser"}, "Approve")
    assert not result.is_error, text_of(result)
    assert text_of(result) == "wrote from the browser"
    assert "No pending approvals" in page_text


async def test_deny_button_sends_the_reason_to_the_model(served: UpProcess) -> None:
    result, _ = await _call_while_deciding(served, {"text": "nope"}, "Deny", reason="wrong channel")
    assert result.is_error and "denied by alice: wrong channel" in text_of(result)


async def test_a_browser_signed_in_by_the_form_approves_from_the_status_page(served: UpProcess) -> None:
    """No Authorization header: the sign-in cookie must carry alice to the approval form's /policy post."""
    # /status/approvals, not /status: the status page refreshes itself, which races a click.
    result, page_text = await _call_while_deciding(served, {"text": "signed in"}, "Approve", sign_in=True)
    assert not result.is_error, text_of(result)
    assert text_of(result) == "wrote signed in"
    assert "No pending approvals" in page_text
    decided = httpx.get(f"{served.base}/policy/approvals?all=1", headers={"authorization": "Bearer tok-alice"},
                        timeout=10).json()
    mine = [r for r in decided if r["arguments"] == {"text": "signed in"}]
    assert [v["approver"] for v in mine[0]["votes"]] == ["alice"]
