"""An upstream JSON-RPC error's text and data: one scrubbing rule (scrubbing/errors.py).

The values are those a review of proxyfix (problem 2) saw pass: URL credentials in the `message`, a literal
key in a `data` string under no credential-like key. What a client acts on (a -32042 elicitation's id and
URL) and ordinary prose (dates, file paths, options) stay as written. The served path is covered by
tests/proxy/test_proxy_server_errors.py::test_an_upstream_errors_message_and_data_are_scrubbed_alike.
"""

from __future__ import annotations

import pytest

from mcprt.scrubbing import scrub_error_data, scrub_error_text


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("db failed: postgres://admin:hunter2@db.internal:5432/prod", "db failed: postgres://***@db.internal:5432/prod"),
    ("retry with key sk_live_51HqLyjWDarjtT1zdp7dcXyz12345", "retry with key [redacted]"),
    ('bad key "ghp_abcdef1234567890XYZ", try again', 'bad key "[redacted]", try again'),
    ("auth failed: password=hunter2", "auth failed: [redacted]"),
    ("token:abc", "token:[redacted]"),
    ("see https://api.example/v1?access_token=ghp_abcdef1234567890XYZ&page=2",
     "see https://api.example/v1?access_token=***&page=2"),
])
def test_credentials_in_error_text_are_hidden(text: str, scrubbed: str) -> None:
    assert scrub_error_text(text) == scrubbed


@pytest.mark.parametrize("text", [
    "database is locked",
    "no such file /srv/data2024/reports at 2024-01-01T10:00:00",
    "run with --max-old-space-size=4096",
    "expected application/vnd.github.v3+json",
])
def test_ordinary_error_text_is_kept(text: str) -> None:
    assert scrub_error_text(text) == text


def test_data_strings_go_through_the_same_rule_and_identifiers_stay() -> None:
    data = {"detail": "retry with key sk_live_51HqLyjWDarjtT1zdp7dcXyz12345",
            "dsn": "postgres://admin:hunter2@db.internal/prod", "apiKey": "short",
            "elicitations": [{"mode": "url", "elicitationId": "550e8400-e29b-41d4-a716-446655440000",
                              "url": "https://auth.example/signin?client=app1", "message": "Sign in"}]}
    assert scrub_error_data(data) == {
        "detail": "retry with key [redacted]", "dsn": "postgres://***@db.internal/prod", "apiKey": "[redacted]",
        "elicitations": [{"mode": "url", "elicitationId": "550e8400-e29b-41d4-a716-446655440000",
                          "url": "https://auth.example/signin?client=app1", "message": "Sign in"}]}
    assert scrub_error_data(None) is None
