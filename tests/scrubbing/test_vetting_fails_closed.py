"""A bug in the checks of a proxied server's messages must not let a secret through (assignment mendsc2,
item 5): `_VettedRead.receive` handed the SDK the raw message when `Vetter.incoming` raised, so a log
message quoting a configured secret reached the session unscrubbed. The fault is injected into the
notification check (the one thing replaced here); the stream, the vetter and the scrubber are real."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import mcp_types as types
import pytest
from mcp.shared.message import SessionMessage

from mcprt.scrubbing import REDACTED, SECRETS
from mcprt.sources.mcp import vetting
from mcprt.sources.mcp.lost import Link

TOKEN = "fail-closed-token-4711"


@pytest.fixture
def secret() -> Iterator[str]:
    before = SECRETS.saved()
    SECRETS.add(TOKEN)
    yield TOKEN
    SECRETS.restore(before)


async def test_a_message_whose_check_fails_goes_on_scrubbed(secret: str, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: vetting.Vetter, notification: types.JSONRPCNotification) -> bool:
        raise RuntimeError("a bug in the checks")

    monkeypatch.setattr(vetting.Vetter, "_notification_ok", broken)
    sent, received = anyio.create_memory_object_stream[SessionMessage](1)
    log = logging.getLogger("mcprt.test.vetting")
    read = vetting._VettedRead(received, vetting.Vetter("leaky", log), Link())
    note = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/message",
                                     params={"level": "info", "data": f"calling with {secret}"})
    async with sent, read:
        await sent.send(SessionMessage(note))
        with anyio.fail_after(5):
            got = await read.receive()
    assert isinstance(got, SessionMessage)
    assert got.message.params == {"level": "info", "data": f"calling with {REDACTED}"}
    assert "source leaky: checking a message failed" in caplog.text


async def test_a_message_that_cannot_be_scrubbed_either_is_dropped(secret: str, monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """When scrubbing fails as well, the message is dropped with an error in mcprt's log (never passed on
    raw), and the next one still arrives."""
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(vetting.Vetter, "incoming", broken)
    monkeypatch.setattr(vetting, "_scrubbed", broken)
    sent, received = anyio.create_memory_object_stream[object](2)
    read = vetting._VettedRead(received, vetting.Vetter("leaky", logging.getLogger("mcprt.test.vetting")), Link())
    note = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/message",
                                     params={"level": "info", "data": f"calling with {secret}"})
    async with sent, read:
        await sent.send(SessionMessage(note))
        await sent.send(anyio.BrokenResourceError())  # the next item: a transport fault, passed on as it is
        with anyio.fail_after(5):
            got = await read.receive()
    assert isinstance(got, anyio.BrokenResourceError)
    assert "source leaky: scrubbing a message failed; it was dropped" in caplog.text
