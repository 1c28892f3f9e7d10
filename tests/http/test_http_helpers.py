"""The pure helpers others reuse: redaction, Retry-After parsing, backoff, content types."""

from __future__ import annotations

import asyncio
import gc
import random
import warnings
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.http.http_support import Upstream

from mcprt.outbound import BuiltRequest, HttpUpstream, redact_headers, redact_url
from mcprt.outbound.redaction import redact_value
from mcprt.outbound.decoding import decode_body, parse_content_type
from mcprt.outbound.retry import backoff_delay, parse_retry_after
from mcprt import __version__
from mcprt.contracts import CallContext


def test_redact_headers_hides_credentials_and_keeps_the_rest() -> None:
    headers = [
        ("Authorization", "Bearer abc.def"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Cookie", "sid=1"),
        ("Set-Cookie", "sid=2; HttpOnly"),
        ("X-Api-Key", "k"),
        ("X-Custom", "k2"),
        ("X-Refresh-Token", "t"),
        ("Client-Secret", "s"),
        ("Accept", "application/json"),
        ("User-Agent", f"mcprt/{__version__}"),
    ]
    assert redact_headers(headers, extra=["x-custom"]) == [
        ("Authorization", "Bearer [redacted]"),
        ("Proxy-Authorization", "Basic [redacted]"),
        ("Cookie", "[redacted]"),
        ("Set-Cookie", "[redacted]"),
        ("X-Api-Key", "[redacted]"),
        ("X-Custom", "[redacted]"),
        ("X-Refresh-Token", "[redacted]"),
        ("Client-Secret", "[redacted]"),
        ("Accept", "application/json"),
        ("User-Agent", f"mcprt/{__version__}"),
    ]
    assert redact_headers({"authorization": "opaque-value"}) == [("authorization", "[redacted]")]


def test_credential_names_are_whole_words() -> None:
    """Found by a new-user trial: `author` (and `keywords`) were hidden as if they were credentials, in the
    audit log's arguments and in the payload inspector's copy of what the model received."""
    shown = redact_value({"author": "you", "keywords": ["retry"], "tokenizer": "bpe", "AUTHOR_NAME": "a",
                          "authored_at": "2026", "api_key": "k", "accessToken": "t", "sessionId": "s",
                          "X-Hub-Signature-256": "h", "oauth": "o", "sig": "azure", "db_passwd": "p", "APIKEY": "K",
                          "nested": [{"refresh_token": "r", "title": "kept"}]})
    assert shown == {"author": "you", "keywords": ["retry"], "tokenizer": "bpe", "AUTHOR_NAME": "a",
                     "authored_at": "2026", "api_key": "[redacted]", "accessToken": "[redacted]",
                     "sessionId": "[redacted]", "X-Hub-Signature-256": "[redacted]", "oauth": "[redacted]",
                     "sig": "[redacted]", "db_passwd": "[redacted]", "APIKEY": "[redacted]",
                     "nested": [{"refresh_token": "[redacted]", "title": "kept"}]}
    assert redact_url("http://h/p?author=me&key=k&keywords=a") == "http://h/p?author=me&key=[redacted]&keywords=a"


def test_an_upstream_redacts_its_own_api_key_name() -> None:
    from mcprt.manifest.model import OutboundAuth

    credentials = OutboundAuth.model_validate({"api_key": {"name": "X-Custom", "value": "v"}})
    http = HttpUpstream(source="s", auth=credentials, headers={}, retries=0)
    assert http.redact_headers({"X-Custom": "v", "X-Other": "o"}) == [("X-Custom", "[redacted]"), ("X-Other", "o")]
    assert http.redact_url("https://u:p@h/x?X-Custom=v&a=1#frag") == "https://h/x?X-Custom=[redacted]&a=1"


def test_redact_url_hides_sensitive_query_values_and_userinfo() -> None:
    assert redact_url("https://user:pw@api.test/v1?q=x&access_token=abc&page=2") == (
        "https://api.test/v1?q=x&access_token=[redacted]&page=2"
    )
    assert redact_url("http://h/p?sig=1", extra=["sig"]) == "http://h/p?sig=[redacted]"


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("") is None
    # RFC 9110 §10.2.3: delay-seconds are non-negative; a negative value is invalid, not "now" (it printed 0s)
    assert parse_retry_after("-5") is None and parse_retry_after("nan") is None and parse_retry_after("inf") is None
    # an HTTP-date has second precision: whole seconds, rounded up (88.2321s was printed)
    late = now.replace(microsecond=767900)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=89), usegmt=True), now=late) == 89


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    first = [backoff_delay(0, rng=rng) for _ in range(50)]
    third = [backoff_delay(2, rng=rng) for _ in range(50)]
    assert all(0.1 <= d <= 0.2 for d in first) and len(set(first)) > 40
    assert all(0.4 <= d <= 0.8 for d in third)
    assert all(5.0 <= backoff_delay(20, rng=rng) <= 10.0 for _ in range(20))


def test_content_types() -> None:
    assert parse_content_type("Application/JSON; charset=UTF-8") == ("application/json", "UTF-8")
    assert parse_content_type(None) == (None, None)
    problem = decode_body(422, "application/problem+json", b'{"title": "bad"}', truncated=False, limit=100)
    assert problem.kind == "json" and problem.is_error and problem.body == {"title": "bad"}
    untyped = decode_body(200, None, b'{"a": 1}', truncated=False, limit=100)
    assert untyped.kind == "json" and untyped.media_type == "application/json"
    assert decode_body(200, None, b"plain words", truncated=False, limit=100).kind == "text"
    assert decode_body(200, None, b"\xff\xfe\x00", truncated=False, limit=100).kind == "binary"
    unknown_charset = decode_body(200, "text/plain; charset=klingon", b"ok", truncated=False, limit=100)
    assert unknown_charset.body == "ok"


def test_one_upstream_survives_a_change_of_event_loop(_upstream_server: Upstream) -> None:
    """A runtime restarted on a new loop (tests, reloads) must not reuse the old loop's pool."""
    http = HttpUpstream(source="s", auth=None, headers={}, retries=0)
    request = BuiltRequest(method="GET", url=_upstream_server.url("/echo"))
    context = CallContext(tool="t", timeout=5, max_response_bytes=1000)

    async def second_life() -> int:
        try:
            return (await http.send(request, context)).status
        finally:
            await http.aclose()

    with warnings.catch_warnings():
        # The first loop's pool is abandoned with its loop; collect it here, quietly.
        warnings.simplefilter("ignore", ResourceWarning)
        assert asyncio.run(http.send(request, context)).status == 200
        assert asyncio.run(second_life()) == 200
        gc.collect()


@pytest.mark.parametrize(("body", "value"), [
    (b'{"party": "\\ud83c\\udf89 ok"}', {"party": "\U0001f389 ok"}),  # an escaped pair, as json.dumps writes an emoji
    (b'{"party": "\\uD83C\\uDF89"}', {"party": "\U0001f389"}),  # upper-case hex, as Java writes it
    (b'{"path": "a\\\\ud800"}', {"path": "a\\ud800"}),  # an escaped backslash, then text: no surrogate
])
def test_escaped_surrogate_pairs_are_the_characters_they_encode(body: bytes, value: dict[str, str]) -> None:
    result = decode_body(200, "application/json", body, truncated=False, limit=1000)
    assert (result.kind, result.is_error, result.body) == ("json", False, value)


@pytest.mark.parametrize(("body", "where"), [
    (b'{"a": "x\\ud83c"}', "result['a'] holds the lone surrogate U+D83C at character 1"),  # a high one, nothing after
    (b'{"a": "\\ud83c\\ud83c\\udf89"}', "result['a'] holds the lone surrogate U+D83C at character 0"),  # high, high+low
    (b'{"a": "\\udf89x"}', "result['a'] holds the lone surrogate U+DF89 at character 0"),  # a low one, none before
    (b'{"a": "\\ud83c\\udf89", "b": "\\udc00"}', "result['b'] holds the lone surrogate U+DC00 at character 0"),
])
def test_an_unpaired_surrogate_escape_is_found_beside_pairs(body: bytes, where: str) -> None:
    """Review of fixi1, problem 3: the cheap look matched pairs too, so one escaped emoji made a 2.25 MB body walked
    in Python (64 -> 132 ms). It now matches only an unpaired escape; each of these still is one."""
    result = decode_body(200, "application/json", body, truncated=False, limit=1000)
    assert result.is_error and where in result.body
