"""A stdio proxied server's questions while several calls run on it: one tied to a call (its trace
context, SEP-414) reaches that call's client; one that names no call in flight is refused, as before.

A real `mcprt up --transport http` proxies `tests/support/asking_server.py` over stdio; two SDK clients
call it at once over streamable HTTP (handshake era, so questions are relayed on their sessions).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.everything import write_manifest
from tests.support.served import UpProcess, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_relay_stdio")]  # one started server per run, not one per worker

SERVER = Path(__file__).resolve().parents[1] / "support" / "asking_server.py"
BOTH_ASKED_WITHIN = 20.0  # s: only bounds a hang (a question never relayed); never reached when it works


def _manifest(folder: Path) -> Path:
    return write_manifest(folder, f'  asking:\n    command: {script_command_yaml(SERVER)}\n')


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    """One `mcprt up` proxying the asking server for both tests: each opens its own sessions, and every
    call a test makes has ended (answered) before it returns, so no question of one is in flight in the other."""
    with mcprt_http(_manifest(tmp_path_factory.mktemp("asking")), "--no-reload", startup_timeout=60) as served:
        yield served


async def test_two_calls_on_one_stdio_server_each_get_their_own_question(up: UpProcess) -> None:
    asked = {"ada": anyio.Event(), "bob": anyio.Event()}
    results: dict[str, str] = {}

    def answering(name: str, other: str) -> Any:
        async def elicit(context: Any, params: Any) -> types.ElicitResult:
            asked[name].set()
            with anyio.move_on_after(BOTH_ASKED_WITHIN):  # both questions are out while both calls run
                await asked[other].wait()
            return types.ElicitResult(action="accept", content={"name": name})
        return elicit

    async def caller(name: str, other: str) -> None:
        async with Client(streamable_http_client(up.url), mode="legacy",
                          elicitation_callback=answering(name, other)) as client:  # type: ignore[arg-type]
            results[name] = text_of(await client.call_tool("ask", {}))

    with anyio.fail_after(90):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(caller, "ada", "bob")
            tasks.start_soon(caller, "bob", "ada")
    assert results == {"ada": 'asked: accept {"name": "ada"}', "bob": 'asked: accept {"name": "bob"}'}
    assert all(event.is_set() for event in asked.values())


async def test_a_question_no_call_in_flight_names_is_refused_while_several_run(up: UpProcess) -> None:
    """While bob's call runs (its own question is out with bob), `ask_untied` asks from a trace of its
    own: no call is named, so the relay refuses it (never guessing a client); ada's tied question still
    reaches ada, and bob's call ends with bob's answer."""
    bob_asked, release = anyio.Event(), anyio.Event()
    questions: list[str] = []

    async def bobs_answer(context: Any, params: Any) -> types.ElicitResult:
        bob_asked.set()
        with anyio.move_on_after(BOTH_ASKED_WITHIN):  # bob's call stays in flight while ada calls
            await release.wait()
        return types.ElicitResult(action="accept", content={"name": "bob"})

    async def adas_answer(context: Any, params: Any) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "ada"})

    results: dict[str, str] = {}
    async with Client(streamable_http_client(up.url), mode="legacy",
                      elicitation_callback=bobs_answer) as bob, \
            Client(streamable_http_client(up.url), mode="legacy",
                   elicitation_callback=adas_answer) as ada:  # type: ignore[arg-type]

        async def bobs_call() -> None:
            results["bob"] = text_of(await bob.call_tool("ask", {}))

        with anyio.fail_after(90):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(bobs_call)
                await bob_asked.wait()
                results["untied"] = text_of(await ada.call_tool("ask_untied", {}))
                results["tied"] = text_of(await ada.call_tool("ask", {}))
                assert not release.is_set() and "bob" not in results  # both ran beside bob's call
                release.set()
    assert results["untied"].startswith("refused: ") and "names no call in progress" in results["untied"], results
    assert results["tied"] == 'asked: accept {"name": "ada"}'
    assert questions == ["Who are you?"]  # the refused question never reached ada (nor bob)
    assert results["bob"] == 'asked: accept {"name": "bob"}'


async def test_a_question_naming_another_trace_is_refused_with_one_call_in_flight(up: UpProcess) -> None:
    """`ask_untied` alone: the one call in flight is ada's, but the question's trace context names another
    request (as a cancelled call's late question does), so it was given to ada; now it is refused."""
    questions: list[str] = []

    async def adas_answer(context: Any, params: Any) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "ada"})

    async with Client(streamable_http_client(up.url), mode="legacy",
                      elicitation_callback=adas_answer) as ada:  # type: ignore[arg-type]
        with anyio.fail_after(60):
            untied = text_of(await ada.call_tool("ask_untied", {}))
            tied = text_of(await ada.call_tool("ask", {}))
    assert untied.startswith("refused: ") and "names no call in progress" in untied, untied
    assert tied == 'asked: accept {"name": "ada"}'
    assert questions == ["Who are you?"]
