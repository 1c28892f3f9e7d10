"""A proxied server's `notifications/elicitation/complete` reaches only the session that was sent the page.

MCP 2025-11-25 (client/elicitation, "Completion Notifications for URL Mode Elicitation"): the server sends
it "only to the client that initiated the elicitation request", naming the `elicitationId` of that
request. One upstream connection carries every client's calls, so mcprt routes it per ask
(sources/mcp/url_asks.py). A real `mcprt up --transport http` proxies two processes of
`url_complete_server.py` (sources `one` and `two`); SDK clients in legacy mode (2025-11-25) call it at
once, each on its own session. Whether a notification went to the wrong session is seen without waiting
on a clock: completions of one upstream are sent in order, so a session that received a later one of
its own (a marker) would have received a misrouted earlier one before it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.everything import write_manifest
from tests.support.served import UpProcess, child_env, http_client, launch_command, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_url_complete")]  # one started server per run

SERVER = Path(__file__).with_name("url_complete_server.py")
ARRIVES_WITHIN = 20.0  # s: bounds a hang only (a notification never relayed); never reached when it works


def _sources() -> list[str]:
    return [f"  {name}:\n    command: {script_command_yaml(SERVER)}\n    prefix: {name}_\n" for name in ("one", "two")]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """One `mcprt up` for the HTTP tests, logging at debug (a dropped completion is logged there); each
    test uses ids of its own, so none completes another's ask."""
    folder = tmp_path_factory.mktemp("url_complete")
    with mcprt_http(write_manifest(folder, *_sources()), "--no-reload", env=child_env(MCPRT_LOG_LEVEL="debug"),
                    startup_timeout=60) as served:
        yield served


def completions(up: UpProcess, source: str) -> dict[str, float]:
    """`mcprt_elicitation_completions_total` of `source` by result, from `/metrics`."""
    response = httpx.get(f"{up.base}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {s.labels["result"]: s.value for family in text_string_to_metric_families(response.text)
            for s in family.samples if s.name == "mcprt_elicitation_completions_total" and s.labels["source"] == source}


def assert_logged_since(up: UpProcess, mark: int, text: str) -> None:
    """`text` is in the server's log after `mark`. Its stderr is read by a thread, so a line written before an
    answer may be collected after it (on a loaded machine the declined-page test read the log too soon)."""
    deadline = time.monotonic() + ARRIVES_WITHIN
    while text not in up.log_since(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in up.log_since(mark), up.log_since(mark)


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {result: count - before.get(result, 0) for result, count in after.items() if count != before.get(result, 0)}


class Person:
    """One client session: accepts every URL-mode elicitation (noting the id it was given) and keeps the
    `notifications/elicitation/complete` ids it receives, in order."""

    def __init__(self, client: Client, action: str) -> None:
        self.client = client
        self.action = action  # the answer to every elicitation
        self.asked: list[str | None] = []
        self.completed: list[str] = []
        self._arrived = anyio.Event()

    async def elicit(self, context: Any, params: Any) -> types.ElicitResult:
        self.asked.append(getattr(params, "elicitation_id", None))
        return types.ElicitResult(action=self.action)  # type: ignore[arg-type]

    async def on_message(self, message: Any) -> None:
        if isinstance(message, types.ElicitCompleteNotification):
            self.completed.append(message.params.elicitation_id)
            self._arrived.set()

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        with anyio.fail_after(60):
            return text_of(await self.client.call_tool(tool, arguments))

    async def until_completed(self, elicitation_id: str) -> list[str]:
        """Its completions once `elicitation_id` is among them (AssertionError after ARRIVES_WITHIN s)."""
        with anyio.move_on_after(ARRIVES_WITHIN):
            while elicitation_id not in self.completed:
                await self._arrived.wait()
                self._arrived = anyio.Event()
        assert elicitation_id in self.completed, (elicitation_id, self.completed)
        return self.completed


@asynccontextmanager
async def person(url: str, action: str = "accept") -> AsyncIterator[Person]:
    holder: list[Person] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        return await holder[0].elicit(context, params)

    async def on_message(message: Any) -> None:
        if holder:
            await holder[0].on_message(message)

    async with http_client(url, elicitation_callback=elicit, message_handler=on_message) as client:
        holder.append(Person(client, action))
        yield holder[0]


async def test_a_completion_reaches_only_the_session_that_was_sent_the_page(up: UpProcess) -> None:
    """ada and bob are each sent a page by the same upstream; its completion of ada's reaches ada, under
    the id she was given, and not bob, even when bob's call is the one during which it is sent. Before,
    mcprt dropped it (and a reverted relay sent it to the session asked last under that id)."""
    async with person(up.url) as ada, person(up.url) as bob:
        assert await ada.call("one_sign_in", {"elicitation_id": "ada-page"}) == "sign_in: accept"
        assert await bob.call("one_sign_in", {"elicitation_id": "bob-page"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["ada-page", "bob-page"]}) == "finished: 2"
        assert await ada.until_completed("ada-page") == ["ada-page"]
        assert await bob.until_completed("bob-page") == ["bob-page"]  # ada's came first: it never came here
        assert (ada.asked, bob.asked) == (["ada-page"], ["bob-page"])

        mark = up.log_mark()  # a completion said twice: the ask was forgotten at the first
        assert await ada.call("one_sign_in", {"elicitation_id": "ada-second"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["ada-page", "ada-second"]}) == "finished: 2"
        assert await ada.until_completed("ada-second") == ["ada-page", "ada-second"]
    assert bob.completed == ["bob-page"]
    assert_logged_since(up, mark, "notifications/elicitation/complete dropped (unmatched)")
    assert "ada-page" not in up.log_since(mark)  # the id is the upstream's (maybe a state token): not logged


async def test_a_url_elicitation_required_errors_completion_reaches_the_session_that_got_it(up: UpProcess) -> None:
    """-32042 URLElicitationRequired (MCP 2025-11-25) relayed to ada and to bob, each with its own id: the
    upstream's later completion of each reaches the session that was sent it, as for an `elicitation/create`
    (review of proxyfix, problem 3: the ids were never remembered, so both completions were dropped as
    unmatched)."""
    before = completions(up, "one")
    async with person(up.url) as ada, person(up.url) as bob:
        for who, mine in ((ada, "ada-required"), (bob, "bob-required")):
            with pytest.raises(MCPError) as raised, anyio.fail_after(60):
                await who.client.call_tool("one_need_sign_in", {"elicitation_id": mine})
            assert raised.value.code == types.URL_ELICITATION_REQUIRED, raised.value
            assert [e["elicitationId"] for e in raised.value.data["elicitations"]] == [mine], raised.value.data
        assert await bob.call("one_finish", {"elicitation_ids": ["ada-required", "bob-required"]}) == "finished: 2"
        assert await ada.until_completed("ada-required") == ["ada-required"]
        assert await bob.until_completed("bob-required") == ["bob-required"]  # ada's came first: never here
    assert (ada.completed, bob.completed) == (["ada-required"], ["bob-required"])
    assert grown(before, completions(up, "one")) == {"delivered": 2}


async def test_the_same_upstream_id_on_two_sources_reaches_each_asker_from_its_own(up: UpProcess) -> None:
    """Both sessions were sent `conn-7`, by different upstream servers: each server's completion reaches
    the session it asked, once."""
    async with person(up.url) as ada, person(up.url) as bob:
        assert await ada.call("one_sign_in", {"elicitation_id": "conn-7"}) == "sign_in: accept"
        assert await bob.call("two_sign_in", {"elicitation_id": "conn-7"}) == "sign_in: accept"
        assert await ada.call("two_finish", {"elicitation_ids": ["conn-7"]}) == "finished: 1"
        assert await bob.until_completed("conn-7") == ["conn-7"]
        assert await ada.call("one_sign_in", {"elicitation_id": "ada-mark"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["conn-7", "ada-mark"]}) == "finished: 2"
        assert await ada.until_completed("ada-mark") == ["conn-7", "ada-mark"]  # two's conn-7 never came here
    assert bob.completed == ["conn-7"]


async def test_an_id_asked_of_two_sessions_at_once_completes_to_neither(up: UpProcess) -> None:
    """One upstream sends `dup` to ada and to bob while both asks are live (the spec has ids unique within
    the server): which session its completion is for cannot be told, so it goes to neither, and is
    logged as ambiguous; their other asks still complete. Once those asks are gone (completed to
    none), `dup` asked of one session again completes to that session."""
    before = completions(up, "one")
    async with person(up.url) as ada, person(up.url) as bob:
        mark = up.log_mark()
        for who, mine in ((ada, "ada-own"), (bob, "bob-own")):
            assert await who.call("one_sign_in", {"elicitation_id": "dup"}) == "sign_in: accept"
            assert await who.call("one_sign_in", {"elicitation_id": mine}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["dup", "ada-own", "bob-own"]}) == "finished: 3"
        assert await ada.until_completed("ada-own") == ["ada-own"]
        assert await bob.until_completed("bob-own") == ["bob-own"]
        assert_logged_since(up, mark, "notifications/elicitation/complete dropped (ambiguous)")

        assert await bob.call("one_sign_in", {"elicitation_id": "dup"}) == "sign_in: accept"
        assert await ada.call("one_finish", {"elicitation_ids": ["dup"]}) == "finished: 1"
        assert await bob.until_completed("dup") == ["bob-own", "dup"]
    assert ada.completed == ["ada-own"]
    assert grown(before, completions(up, "one")) == {"delivered": 3, "ambiguous": 1}  # the metric counts each


async def test_a_completion_for_an_ended_session_reaches_no_other(up: UpProcess) -> None:
    """ada was sent `left-page` and closed her session: its completion, said while bob's session is open,
    goes nowhere (logged as unmatched: her ask was let go when her session ended), and bob is told only
    of his own page."""
    async with person(up.url) as bob:
        async with person(up.url) as ada:
            assert await ada.call("one_sign_in", {"elicitation_id": "left-page"}) == "sign_in: accept"
        mark = up.log_mark()
        assert await bob.call("one_sign_in", {"elicitation_id": "bob-mark"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["left-page", "bob-mark"]}) == "finished: 2"
        assert await bob.until_completed("bob-mark") == ["bob-mark"]
    assert_logged_since(up, mark, "notifications/elicitation/complete dropped (unmatched)")


async def test_a_2026_client_is_never_sent_a_completion(up: UpProcess) -> None:
    """MCP 2026-07-28 removed `notifications/elicitation/complete` (and `elicitationId`): a 2026-07-28
    client sent the page through `InputRequiredResult` rounds is not told, nor is anyone else; the
    notification is dropped and mcprt serves on."""
    answered = []
    told: list[Any] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        answered.append(params.url)
        return types.ElicitResult(action="accept")

    async def on_message(message: Any) -> None:  # without one, the test could not see a completion arrive
        if isinstance(message, types.ElicitCompleteNotification):
            told.append(message.params.elicitation_id)

    async with http_client(up.url, mode="auto", elicitation_callback=elicit, message_handler=on_message) as modern, \
            person(up.url) as bob:
        assert modern.protocol_version == "2026-07-28"
        with anyio.fail_after(60):
            assert text_of(await modern.call_tool("one_sign_in", {"elicitation_id": "modern-page"})) == "sign_in: accept"
        mark = up.log_mark()
        assert await bob.call("one_sign_in", {"elicitation_id": "bob-late"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["modern-page", "bob-late"]}) == "finished: 2"
        assert await bob.until_completed("bob-late") == ["bob-late"]
        with anyio.fail_after(60):
            await modern.list_tools()  # a round trip on the modern session after the upstream said both
    assert answered == ["https://auth.example/signin"] and told == []
    assert_logged_since(up, mark, "notifications/elicitation/complete dropped (unmatched)")


def source_metric(up: UpProcess, name: str, source: str) -> float:
    response = httpx.get(f"{up.base}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return next((s.value for family in text_string_to_metric_families(response.text) for s in family.samples
                 if s.name == name and s.labels.get("source") == source), 0.0)


async def test_an_upstream_restart_forgets_its_ids_so_a_reused_one_reaches_its_new_asker(up: UpProcess) -> None:
    """ada was sent `re-7` by source two, whose process then died; the restarted process asks bob under the
    same id (a new connection's ids are its own) and completes it: bob is told, ada is not. Had ada's ask
    outlived the connection, `re-7` would be live in two sessions — ambiguous, told to neither — or, had
    ambiguity not been kept, ada could have been told of bob's page (review of elicomplete, problem 5: only a
    unit test covered `UrlAsks.upstream_ended`)."""
    restarts = source_metric(up, "mcprt_source_restarts_total", "two")
    async with person(up.url) as ada, person(up.url) as bob:
        assert await ada.call("two_sign_in", {"elicitation_id": "re-7"}) == "sign_in: accept"
        with anyio.fail_after(60):
            crashed = await ada.client.call_tool("two_crash", {})
        assert crashed.is_error, text_of(crashed)
        with anyio.fail_after(60):  # the restart: a new process, a new connection
            while not (source_metric(up, "mcprt_source_restarts_total", "two") > restarts
                       and source_metric(up, "mcprt_source_up", "two") == 1):
                await anyio.sleep(0.1)
        assert await bob.call("two_sign_in", {"elicitation_id": "re-7"}) == "sign_in: accept"
        assert await ada.call("two_finish", {"elicitation_ids": ["re-7"]}) == "finished: 1"
        assert await bob.until_completed("re-7") == ["re-7"]
        assert await ada.call("two_sign_in", {"elicitation_id": "ada-after"}) == "sign_in: accept"
        assert await bob.call("two_finish", {"elicitation_ids": ["ada-after"]}) == "finished: 1"
        assert await ada.until_completed("ada-after") == ["ada-after"]  # re-7, said before it, never came here
    assert bob.completed == ["re-7"]


async def test_a_declined_page_is_not_said_complete(up: UpProcess) -> None:
    """A client that declined the page never started the interaction: a completion of its id reaches no
    session (the ask was forgotten at the answer)."""
    async with person(up.url, "decline") as ada, person(up.url) as bob:
        assert await ada.call("one_sign_in", {"elicitation_id": "ada-declined"}) == "sign_in: decline"
        mark = up.log_mark()
        assert await bob.call("one_sign_in", {"elicitation_id": "bob-mark-2"}) == "sign_in: accept"
        assert await bob.call("one_finish", {"elicitation_ids": ["ada-declined", "bob-mark-2"]}) == "finished: 2"
        assert await bob.until_completed("bob-mark-2") == ["bob-mark-2"]
    assert ada.completed == []
    assert_logged_since(up, mark, "notifications/elicitation/complete dropped (unmatched)")


def _stdio_params(folder: Path) -> StdioServerParameters:
    command = launch_command(write_manifest(folder, _sources()[0]), "--no-reload")
    return StdioServerParameters(command=command[0], args=command[1:], env=child_env(), cwd=str(folder))


async def test_over_stdio_the_one_client_is_told(tmp_path: Path) -> None:
    """mcprt served over stdio: the completion of the page its one client was sent reaches it."""
    completed = anyio.Event()
    completions: list[str] = []

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="accept")

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ElicitCompleteNotification):
            completions.append(message.params.elicitation_id)
            completed.set()

    async with Client(_stdio_params(tmp_path), mode="legacy", elicitation_callback=on_elicit,  # type: ignore[arg-type]
                      message_handler=on_message) as client:
        with anyio.fail_after(60):
            assert text_of(await client.call_tool("one_sign_in", {"elicitation_id": "conn-7"})) == "sign_in: accept"
            assert text_of(await client.call_tool("one_finish", {"elicitation_ids": ["conn-7"]})) == "finished: 1"
        with anyio.move_on_after(ARRIVES_WITHIN):
            await completed.wait()
    assert completions == ["conn-7"]


async def test_over_stdio_a_2026_client_is_never_sent_a_completion(tmp_path: Path) -> None:
    """MCP 2026-07-28 has no `notifications/elicitation/complete`: over stdio, where mcprt's one session is
    the client's, a 2026-07-28 client sent the page is still never told of it (review of elicomplete,
    problem 4: the era check had no test that could fail, over stdio none at all). The page's completion
    and a later marker are said by the upstream in order; the marker's own completion is nobody's, so the
    test waits on what the upstream saw: `finished: 2` is its answer after sending both."""
    arrived: list[Any] = []
    answered: list[str] = []

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        answered.append(params.url)
        return types.ElicitResult(action="accept")

    async def on_message(message: Any) -> None:
        arrived.append(message)

    async with Client(_stdio_params(tmp_path), mode="auto", elicitation_callback=on_elicit,  # type: ignore[arg-type]
                      message_handler=on_message) as client:
        assert client.protocol_version == "2026-07-28"
        with anyio.fail_after(60):
            assert text_of(await client.call_tool("one_sign_in", {"elicitation_id": "modern-stdio"})) == \
                "sign_in: accept"
            assert text_of(await client.call_tool("one_finish", {"elicitation_ids": ["modern-stdio"]})) == \
                "finished: 1"
            await client.list_tools()  # answered after the notification on the one stdio stream, if it was sent
    assert answered == ["https://auth.example/signin"]
    assert not [m for m in arrived if isinstance(m, types.ElicitCompleteNotification)], arrived
