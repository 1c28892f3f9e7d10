"""The status page in a real browser (Debian's headless Chromium via Playwright) against a running
`mcprt up` with calls made; the screenshot kept in docs/ for the README comes from here."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from observability_support import ALICE_TOKEN, BOB_TOKEN, UPSTREAM_KEY, Seen, env_for, pets_app, write_manifest

from tests.support.cli import mcprt_cli
from tests.support.served import UpProcess, http_client, mcprt_http
from tests.support.upstream import serve_app

pytestmark = pytest.mark.xdist_group("test_status_page")  # one started set of servers per run, not one per worker

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run"]
# The README's picture is rewritten only when asked (MCPRT_UPDATE_SCREENSHOT=1), so a test run leaves
# the checkout clean; otherwise the screenshot still goes through the same code into tmp_path.
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status-page.png"


# Operations of the shelter's description never called (it also has `listShelterPets`): a discovery
# source's many, and a listed source's many, each well over `tool_rows.IDLE_ROWS` (GitHub has 1,223).
IDLE_OPERATIONS = 30
INVENTED = "invented_operation_a_model_made_up"  # a name no source serves


def shelter_spec() -> dict:
    """A big description: the shelter's pet list and `IDLE_OPERATIONS` operations nobody calls."""
    paths = {"/pets": {"get": {"operationId": "listShelterPets", "summary": "List the shelter's pets.",
                               "responses": {"200": {"description": "ok"}}}}}
    for i in range(IDLE_OPERATIONS):
        paths[f"/things/{i}"] = {"get": {"operationId": f"thing{i}", "summary": f"Read thing number {i}.",
                                         "responses": {"200": {"description": "ok"}}}}
    return {"openapi": "3.1.0", "info": {"title": "Shelter", "version": "1"}, "paths": paths}


def big_sources(base: str) -> str:
    """`sources:` entries of the shelter's description twice: behind discovery (`shelter`), and listed
    with a prefix (`bulk`): each `IDLE_OPERATIONS` + 1 operations, 2 × `IDLE_OPERATIONS` never called."""
    entries = ""
    for name, how in (("shelter", "    expose: discovery\n"), ("bulk", "    prefix: bulk_\n")):
        entries += (f"  {name}:\n    openapi: shelter.json\n    base_url: {base}\n{how}"
                    '    auth: {api_key: {in: header, name: X-Api-Key, value: "${PETS_KEY}"}}\n')
    return entries


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    folder = tmp_path_factory.mktemp("status")
    with serve_app(pets_app(Seen())) as base:
        (folder / "shelter.json").write_text(json.dumps(shelter_spec()))
        manifest = write_manifest(folder, base, extra_sources=big_sources(base))
        with mcprt_http(manifest, "--no-reload", env=env_for()) as up:
            async def calls() -> None:
                async with http_client(up.url, token=ALICE_TOKEN) as alice:
                    for _ in range(3):
                        await alice.call_tool("list_pets", {})
                    await alice.call_tool("get_pet", {"petId": 1})
                async with http_client(up.url, token=BOB_TOKEN) as bob:
                    await bob.call_tool("get_pet", {"petId": 99})
                    # discovery: 2 searches, 1 describe, 3 call_tool calls of which 2 fail
                    await bob.call_tool("search_tools", {"query": "shelter pets"})
                    await bob.call_tool("search_tools", {"query": "thing number 7"})
                    await bob.call_tool("describe_tools", {"names": ["listShelterPets"]})
                    await bob.call_tool("call_tool", {"name": "listShelterPets", "arguments": {}})
                    await bob.call_tool("call_tool", {"name": INVENTED, "arguments": {}})
                    await bob.call_tool("call_tool", {"name": "listShelterPets", "arguments": {"nope": 1}})

            asyncio.run(calls())
            yield up


def test_status_page_in_chromium_shows_tools_figures_and_payloads(served: UpProcess, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required (.ci/install-system-packages installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            first = page.goto(f"{served.base}/status", timeout=30_000)
            assert first is not None and first.status == 401
            page.fill("input[name=token]", ALICE_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector("#tools", timeout=30_000)
            assert ALICE_TOKEN not in page.url  # a cookie admits the browser, not the token in the address

            rows = {row.get_attribute("data-tool"): row for row in page.query_selector_all("#tools tr[data-tool]")}
            # the tools called, and the discovery meta-tools; the many never called are one line
            assert set(rows) == {"list_pets", "get_pet", "search_tools", "describe_tools", "call_tool",
                                 "listShelterPets"}
            assert rows["call_tool"].query_selector(".calls").inner_text() == "3"
            assert rows["call_tool"].query_selector(".errors").inner_text() == "67%"
            assert rows["search_tools"].query_selector(".calls").inner_text() == "2"
            assert rows["listShelterPets"].query_selector(".calls").inner_text() == "2"
            assert page.inner_text("#idle-tools") == (
                f"{2 * IDLE_OPERATIONS + 1} tools never called ({IDLE_OPERATIONS} reached through discovery) "
                "are not shown: show them")
            listing = rows["list_pets"]
            assert listing.query_selector(".calls").inner_text() == "3"
            assert listing.query_selector(".errors").inner_text() == "0%"
            assert "ms" in listing.query_selector(".p50").inner_text()
            saved = int(listing.query_selector(".saved").inner_text().rstrip("%"))
            assert 50 <= saved < 100
            getter = rows["get_pet"]
            assert getter.query_selector(".calls").inner_text() == "2"
            assert getter.query_selector(".errors").inner_text() == "50%"
            assert page.inner_text("#source-pets").split()[:3] == ["pets", "openapi", "up"]
            assert "no reload since start" in page.inner_text("#reload")
            assert page.query_selector("#hour svg rect") is not None

            # the payload inspector: the upstream body beside what the model received
            newest_list = page.query_selector_all("#recent tr[id^=call-]")
            assert len(newest_list) == 13  # 5 direct calls, 6 of the meta-tools, 2 of their target
            page.click("#recent tr:has-text('list_pets') a")
            page.wait_for_selector("#inspected", timeout=30_000)
            raw, sent = page.inner_text("#raw pre"), page.inner_text("#sent pre")
            assert "owner-1" in raw and "Springfield" in raw
            assert "pet-1" in sent and "owner-1" not in sent
            assert "saved" in page.inner_text("#inspected")
            shot = README_SCREENSHOT if os.environ.get("MCPRT_UPDATE_SCREENSHOT") == "1" else tmp_path / "status.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            html = page.content()
            assert all(secret not in html for secret in (ALICE_TOKEN, BOB_TOKEN, UPSTREAM_KEY))

            inspected = page.get_attribute("#inspected", "data-call")
            page.click("#idle-tools a")  # every tool, one row each (from the inspector's page: its link too)
            page.wait_for_selector("#tools tr[data-tool='bulk_thing7']", timeout=30_000)
            every = page.query_selector_all("#tools tr[data-tool]")
            assert len(every) == 3 + 2 + 2 * (IDLE_OPERATIONS + 1)  # meta-tools, pets, shelter and bulk
            assert page.query_selector("#tools tr[data-tool='thing7'] .calls").inner_text() == "0"
            # Found by a later pass: links dropped the view the user chose (`?all=1` after "show them" was lost
            # by a call's link, the inspector's call by "show them", both by a form of the approvals section).
            assert page.url.endswith(f"/status?all=1&call={inspected}"), page.url  # the inspector stays open
            assert page.get_attribute("#inspected", "data-call") == inspected
            page.click("#recent tr:has-text('get_pet') a")  # another call: every tool still shown
            page.wait_for_selector("#inspected", timeout=30_000)
            other = page.get_attribute("#inspected", "data-call")
            assert other != inspected and page.url.endswith(f"/status?all=1&call={other}"), page.url
            assert len(page.query_selector_all("#tools tr[data-tool]")) == len(every)
            page.fill("#pauses input[name=target]", "tool:list_pets")  # a form returns to the same view
            page.click("#pauses button[type=submit]")
            page.wait_for_load_state()
            assert f"/status?all=1&call={other}&note=" in page.url, (page.url, page.content()[:3000])
            assert "this server has no `policy:` block" in page.inner_text("#note")  # (no `policy:`: refused, with a note)
            assert len(page.query_selector_all("#tools tr[data-tool]")) == len(every)
            page.click("#idle-tools a")  # and back to the short list, the inspector kept
            page.wait_for_selector("#inspected", timeout=30_000)
            assert page.url.endswith(f"/status?call={other}"), page.url
            assert len(page.query_selector_all("#tools tr[data-tool]")) == len(rows)
        finally:
            browser.close()


def test_mcprt_status_prints_the_same_summary(served: UpProcess) -> None:
    env = {**os.environ, "MCPRT_TOKEN": ALICE_TOKEN, "COLUMNS": "160"}
    done = mcprt_cli("status", served.url, "--json", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    figures = {t["name"]: t for t in data["tools"]}
    assert figures["list_pets"]["calls"] == 3 and figures["get_pet"]["errors"] == 1
    # the JSON lists every tool, the meta-tools included (a new-user trial found no trace of them)
    assert len(figures) == 3 + 2 + 2 * (IDLE_OPERATIONS + 1)
    meta = {name: (f["calls"], f["errors"], f["source"], f["exposure"]) for name, f in figures.items()
            if f["exposure"] == "meta"}
    assert meta == {"search_tools": (2, 0, "mcprt", "meta"), "describe_tools": (1, 0, "mcprt", "meta"),
                    "call_tool": (3, 2, "mcprt", "meta")}
    assert (figures["listShelterPets"]["calls"], figures["listShelterPets"]["exposure"]) == (2, "discovery")
    assert figures["thing7"]["calls"] == 0 and INVENTED not in figures
    table = mcprt_cli("status", served.base, env=env, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "list_pets" in table.stdout and "pets-ops" in table.stdout and "up" in table.stdout
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in table.stdout.splitlines() if line.startswith("│") and line.count("│") > 3}
    assert set(rows) - {"pets", "shelter", "bulk"} == {"search_tools", "describe_tools", "call_tool", "list_pets",
                                                      "get_pet", "listShelterPets"}, table.stdout
    assert rows["call_tool"][:3] == ["mcprt", "3", "67%"], table.stdout
    assert (f"{2 * IDLE_OPERATIONS + 1} tools never called ({IDLE_OPERATIONS} reached through discovery) are not "
            "shown: mcprt status --all lists them") in table.stdout
    assert len(table.stdout.splitlines()) < 30  # an operator's screen, not a row for each operation never called
    everything = mcprt_cli("status", served.base, "--all", env=env, timeout=60)
    assert everything.returncode == 0, everything.stderr
    assert "│ thing7 " in everything.stdout and "│ bulk_thing7 " in everything.stdout
    assert "never called" not in everything.stdout
    refused = mcprt_cli("status", served.base, env={k: v for k, v in env.items() if k != "MCPRT_TOKEN"}, timeout=60)
    assert refused.returncode == 2 and "--token" in refused.stderr and "Traceback" not in refused.stderr


def test_meta_tool_calls_in_metrics_are_bounded(served: UpProcess) -> None:
    """Prometheus names each meta-tool (source `mcprt`) and, through its own series, the operation a
    `call_tool` call reached — counted there only, once (the relay's series counted it too, so a sum
    over every tool counted each discovery call twice); a name a model invented reaches no label (it
    only counts as the call_tool call that failed), so a model cannot add series. A failed target's
    outcome is its own (found checking the metrics: a rejected argument counted as `tool_error`). The
    duration histogram counts the one MCP request, under call_tool. The `mcprt_tools` gauge counts
    operations: the meta-tools are not among them."""
    import httpx

    text = httpx.get(f"{served.base}/metrics", headers={"Authorization": f"Bearer {ALICE_TOKEN}"}, timeout=30).text
    calls = dict(re.findall(r'^mcprt_tool_calls_total\{(outcome="[^"]*",source="[^"]*",tool="[^"]*")\} (\S+)$',
                            text, re.M))
    assert calls['outcome="ok",source="mcprt",tool="search_tools"'] == "2.0"
    assert calls['outcome="ok",source="mcprt",tool="describe_tools"'] == "1.0"
    assert 'outcome="ok",source="mcprt",tool="call_tool"' not in calls, calls  # it reached its target: counted there
    # Both failed call_tool calls were refused before any upstream: the invented name (no operation reached:
    # call_tool's), and a bad argument (the target's own call, `rejected`; a relay once counted it `tool_error`).
    assert calls['outcome="rejected",source="mcprt",tool="call_tool"'] == "1.0"
    assert calls['outcome="rejected",source="shelter",tool="listShelterPets"'] == "1.0"
    assert not [key for key in calls if 'tool="call_tool"' in key and "tool_error" in key], calls
    assert calls['outcome="ok",source="shelter",tool="listShelterPets"'] == "1.0"  # the target, by name
    assert INVENTED not in text
    assert 'mcp_server_operation_duration_seconds_count{error_type="",gen_ai_tool_name="call_tool",' \
           'mcp_method_name="tools/call"} 1.0' in text
    assert 'gen_ai_tool_name="listShelterPets"' not in text  # the request was call_tool's, not a second one
    assert f'mcprt_tools{{exposure="discovery"}} {IDLE_OPERATIONS + 1}.0' in text
    assert f'mcprt_tools{{exposure="tools"}} {IDLE_OPERATIONS + 3}.0' in text


@pytest.mark.parametrize(("sessions", "said"), [(1, "· 1 session\n"), (2, "· 2 sessions\n"), (0, "· 0 sessions\n")])
def test_mcprt_status_counts_sessions_in_words(sessions: int, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user trial read `stdio · 1 sessions` (a stdio server always has one)."""
    from mcprt.cli.status_cmd import _print

    _print({"server": {"name": "n", "version": "0", "transport": "stdio", "endpoint": None, "sessions": sessions},
            "sources": [], "tools": [], "reload": {}})
    assert said in capsys.readouterr().out


def test_registered_sections_render_after_the_pages_own_parts() -> None:
    from mcprt.observability.recent import CallRecorder
    from mcprt.observability.sections import add_section
    from mcprt.observability.state import ServerState
    from mcprt.observability.status_page import render

    state = ServerState("s", "0", "http", None, 0.0, [], [], 0, {})
    remove = add_section("approvals", "Pending approvals",
                         lambda back, viewer: f'<p id="pending" data-back="{back}">2 waiting</p>')
    broken = add_section("broken", "Broken <b>", lambda back, viewer: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        page = render(state, CallRecorder())
    finally:
        remove()
        broken()
    assert page.index('id="inspector"') < page.index('<section id="approvals"><h2>Pending approvals</h2>')
    assert '<p id="pending" data-back="/status">2 waiting</p>' in page
    assert "Broken &lt;b&gt;" in page and "this section failed: ZeroDivisionError" in page


def test_a_signed_in_browser_leaves_no_rejection_in_the_log(served: UpProcess) -> None:
    """Chromium asks for /favicon.ico on its own for every page it shows (it does not report that
    request to Playwright, so the test asks as it does); that must not log a refused token. A
    new-user trial saw four `rejected request: bearer token … path=/favicon.ico` warnings per
    approval made from the status page: noise an operator alerting on rejections would be paged for."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required (.ci/install-system-packages installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{served.base}/status?all=1", timeout=30_000)  # signing in keeps the view asked for
            logged = len(served.stderr)
            page.fill("input[name=token]", ALICE_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector("#tools", timeout=30_000)
            assert page.url.endswith("/status?all=1"), page.url
            page.goto(f"{served.base}/status/approvals", timeout=30_000)
            icon = page.goto(f"{served.base}/favicon.ico", timeout=30_000)
            assert icon is not None and icon.status == 404  # none here, and no token needed to learn that
            page.goto(f"{served.base}/status", timeout=30_000)  # one more round trip: the log reader catches up
        finally:
            browser.close()
    assert not [line for line in served.stderr[logged:] if "rejected request" in line], served.log()


def test_the_inspector_shows_no_saving_for_a_failed_call(served: UpProcess) -> None:
    """A new-user trial saw "-43% saved" on an error call: its error text replaces the upstream body, so
    no saving is shown for it (the tools table already counts only successful calls), and the pane says
    the model got the error; a successful call still shows its saving."""
    import httpx

    auth = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    recent = httpx.get(f"{served.base}/status.json", headers=auth, timeout=30).json()["recent"]
    failed = next(c for c in recent if c["tool"] == "get_pet" and c["outcome"] != "ok")
    assert failed["bytes_raw"] > 0, failed  # the upstream's 404 body: the old page divided by it
    fine = next(c for c in recent if c["tool"] == "list_pets")

    def inspected(call: dict) -> str:
        page = httpx.get(f"{served.base}/status", params={"call": call["id"]}, headers=auth, timeout=30).text
        start = page.index('<p id="inspected"')
        return page[start:page.index("</div></div>", start)]

    failure = inspected(failed)
    assert f"· {failed['outcome']}" in failure
    assert "saved" not in failure and "added by shaping" not in failure, failure
    assert "Sent to the model (the error)" in failure
    assert "% saved" in inspected(fine)


def test_mcprt_status_piped_cuts_no_name(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A new-user trial piped `mcprt status` and read `list_it…`: rich assumed 80 columns off a terminal."""
    from mcprt.cli.status_cmd import _print

    monkeypatch.delenv("COLUMNS", raising=False)
    _print({"server": {"name": "n", "version": "0", "transport": "stdio", "endpoint": None, "sessions": 1},
            "sources": [{"name": "inventory_service", "kind": "openapi", "state": "up", "restarts": 0, "error": None}],
            "tools": [{"name": "list_items_by_owner", "source": "inventory_service", "calls": 3, "error_rate": 0,
                       "p50": 1000.0, "p95": 2000.0, "bytes_raw": 1_000_000, "bytes_sent": 100_000, "saved_ratio": 0.9}],
            "reload": {}})
    out = capsys.readouterr().out
    assert "│ list_items_by_owner │ inventory_service │" in out and "…" not in out, out
    assert "sent: what the model reads (the result's blocks; structuredContent unless a text block repeats it)" in out
