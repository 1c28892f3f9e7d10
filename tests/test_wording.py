"""The message-wording helpers (`mcprt.wording`), on the texts that showed the faults."""

from __future__ import annotations

import pytest

from mcprt.cli.status_cmd import unreachable
from mcprt.wording import clause


@pytest.mark.parametrize(("text", "expected"), [
    ("Error 111 connecting to 127.0.0.1:6379. Connection refused.", "Error 111 connecting to 127.0.0.1:6379. Connection refused"),
    ("Connection refused.; ", "Connection refused"),
    ("timed out: ", "timed out"),
    ("[Errno 111] Connection refused", "[Errno 111] Connection refused"),
    ("version 2.3.0", "version 2.3.0"),  # only the end is touched
    ("...", ""),
])
def test_a_clause_ends_without_its_own_punctuation(text: str, expected: str) -> None:
    assert clause(text) == expected


def test_a_connection_error_ending_in_a_period_is_not_doubled_in_the_cli_message() -> None:
    # redis-py and some OS errors end their text with a period; "…refused.. Is `mcprt up` running" read badly
    message = unreachable("http://127.0.0.1:9/status.json", "ConnectionError: Connection refused.", "given")
    assert "refused. Is `mcprt up --transport http` running" in message and ".." not in message
