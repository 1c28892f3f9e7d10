"""A proxied server's question during a resource read, a prompt or a completion is its requester's, and a
cancelled request voids it at that client, as a cancelled tool call does.

Found in the proxy/discovery pass: only `tools/call` waited, when its client cancelled it, until the
questions its server had out with that client were voided there (`notifications/cancelled`, sources/mcp/
relay.py `Relay.settle`); a cancelled `resources/read` or `prompts/get` ended its response stream first, so
over HTTP the client never heard that the question was void and its dialog stayed open. And
`completion/complete` named no client at all: its server's question went to whichever one call happened to
be in flight (another client's) or was refused. Now every request that relays (read, prompt, completion)
runs with its requester as the addressee and settles its voided questions before it ends.

Real `mcprt up` over streamable HTTP and over stdio (handshake era, where questions are relayed mid-request),
the MCP SDK client, and a proxied stdio server built on the SDK (tests/proxy/asking_offers_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.support.served import Unanswered, UpProcess, client_over, http_client, mcprt_http, text_of
from tests.support.zygote import script_command_yaml

pytestmark = [pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
              pytest.mark.xdist_group("test_proxy_offer_questions")]  # one gateway per run

SERVER = Path(__file__).with_name("asking_offers_server.py")
UNTRACED = Path(__file__).with_name("untraced_asking_server.py")  # sends no trace context


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("offer_questions")
    (folder / "mcp.yaml").write_text("version: 1\nserver: {name: asking}\nsources:\n"
                                     f"  ask:\n    command: {script_command_yaml(SERVER)}\n"
                                     f"  untraced:\n    prefix: u_\n    command: {script_command_yaml(UNTRACED)}\n")
    return folder / "mcp.yaml"


@pytest.fixture(scope="module")
def served(manifest: Path) -> Iterator[UpProcess]:
    with mcprt_http(manifest, "--no-reload") as up:
        yield up


Elicit = Callable[[Any, Any], Awaitable[types.ElicitResult]]


def _client(transport: str, manifest: Path, served: UpProcess, elicitation: Elicit) -> AbstractAsyncContextManager[Client]:
    return client_over(transport, manifest, served.url, mode="legacy", elicitation_callback=elicitation)




async def _read(client: Client) -> str:
    return (await client.read_resource("ask://resource")).contents[0].text  # type: ignore[union-attr]


async def _prompt(client: Client) -> str:
    return (await client.get_prompt("ask", {})).messages[0].content.text  # type: ignore[union-attr]


async def _complete(client: Client) -> str:
    result = await client.complete(types.PromptReference(type="ref/prompt", name="ask"), {"name": "name", "value": ""})
    return result.completion.values[0]


REQUESTS: dict[str, Callable[[Client], Awaitable[str]]] = {"resources/read": _read, "prompts/get": _prompt, "completion/complete": _complete}
TRANSPORTS = ["stdio", "http"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", list(REQUESTS))
async def test_the_servers_question_reaches_the_requester_and_its_answer_the_server(
        transport: str, method: str, manifest: Path, served: UpProcess) -> None:
    async def elicitation(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"name": "ada"})

    async with _client(transport, manifest, served, elicitation) as client:
        with anyio.fail_after(20):
            assert await REQUESTS[method](client) == 'asked: accept {"name": "ada"}'


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", list(REQUESTS))
async def test_cancelling_the_request_voids_its_pending_question_at_the_client(
        transport: str, method: str, manifest: Path, served: UpProcess) -> None:
    question = Unanswered()  # the user never answers; voided when the server cancels its request

    async with _client(transport, manifest, served, question) as client:
        with anyio.fail_after(20):
            with anyio.CancelScope() as request:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(REQUESTS[method], client)
                    await question.asked.wait()
                    request.cancel()  # the SDK client sends notifications/cancelled for its request
            with anyio.move_on_after(8):
                await question.voided.wait()
            assert question.voided.is_set(), served.log()[-3000:]
            after = await client.call_tool("slow", {"seconds": 0})  # the source serves on
            assert text_of(after) == "slept"


@pytest.mark.parametrize("prefix", ["", "u_"], ids=["traced", "untraced"])
async def test_a_question_during_a_shared_subscribe_reaches_no_other_client(served: UpProcess, prefix: str) -> None:
    """`resources/subscribe` is one upstream subscription for every client subscribed to the URI, so what its
    server asks meanwhile has no one addressee: it is refused (relay.py `Relay.unaddressed`). It went to the
    client of whichever one call was in flight: alice, calling `slow`, was asked on behalf of bob's subscribe.
    Untraced (review of proxyleft #4): the subscribe's question was found only by its `_meta.traceparent`; a
    server that sends none (hand-written, tests/proxy/untraced_asking_server.py, prefix `u_`) had it relayed to
    the one call in flight — alice was asked "subscriber, who are you?" and the server got her answer. A
    question that names no call while a request no one client made is out is ambiguous now: refused."""
    alice_asked = anyio.Event()

    async def alice_elicitation(context: Any, params: Any) -> types.ElicitResult:
        alice_asked.set()
        return types.ElicitResult(action="accept", content={"name": "alice"})

    async def bob_elicitation(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"name": "bob"})

    scheme = "u+ask" if prefix else "ask"
    async with http_client(served.url, elicitation_callback=alice_elicitation) as alice, \
            http_client(served.url, elicitation_callback=bob_elicitation) as bob:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(alice.call_tool, f"{prefix}slow", {"seconds": 3})
                await anyio.sleep(0.5)  # alice's call is the one in flight on the source
                await bob.subscribe_resource(f"{scheme}://resource")
            answers = json.loads(text_of(await bob.call_tool(f"{prefix}subscribe_answers", {})))
    assert not alice_asked.is_set(), answers
    assert answers and answers[-1].startswith("refused: ") and "no one client to ask" in answers[-1], answers
    if prefix:
        assert "names no call" in answers[-1], answers
