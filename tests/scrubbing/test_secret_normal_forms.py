"""A secret is scrubbed in every Unicode normal form (`scrubbing.scrubber._normal_forms`).

The i18n trial: `QK=Schlüssel-日本-9f8e7d6c5b4a` sent as a query `api_key`; an upstream echoing the query NFD-normalised
(`u` + U+0308, as macOS and Java's `Normalizer` write it) put the secret in clear in the model's result, while its raw,
%-encoded and decoded echoes were scrubbed."""

from __future__ import annotations

import json
import re
import unicodedata
from urllib.parse import quote
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcprt.scrubbing.scrubber import REDACTED, Scrubber, _normal_forms

from tests.support.i18n_upstream import i18n_app, write_project
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app

SECRETS = [
    "Schlüssel-日本-9f8e7d6c5b4a",  # the trial's: NFC as typed, NFD differs
    "ﬁle-Ｋｅｙ-①-ｶﾀｶﾅ-42",  # compatibility characters: NFKC/NFKD differ (ligature, full/half width, circled)
    "한국어-비밀-7",  # Hangul syllables: NFD splits each into jamo
]
FORMS = ("NFC", "NFD", "NFKC", "NFKD")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_app(i18n_app()) as url:
        yield url


@pytest.mark.parametrize("secret", SECRETS)
def test_an_echo_in_any_normal_form_never_reaches_the_client(tmp_path: Path, upstream: str, secret: str) -> None:
    """Through `mcprt up` over streamable HTTP (SDK client): the upstream echoes the query raw, decoded, NFD and
    NFKD; every echo of the key is `[redacted]`."""
    (tmp_path / ".env").write_text(f"QK={secret}\n", encoding="utf-8")
    manifest = write_project(tmp_path, upstream, '    auth: {api_key: {name: key, in: query, value: "${QK}"}}\n')

    async def echoed(url: str) -> str:
        async with http_client(url) as client:
            return text_of(await client.call_tool("echo", {"id": "1"}))

    with mcprt_http(manifest, "--no-reload", env=child_env()) as up:
        text = anyio.run(echoed, up.url)
    answer = json.loads(text)
    for field in ("decoded", "nfd", "nfkd"):
        assert answer[field] == "/echo/1?key=[redacted]", (field, answer[field])
    for form in FORMS:
        assert unicodedata.normalize(form, secret) not in text


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("form", FORMS)
def test_each_normal_form_and_its_wire_forms_are_known(secret: str, form: str) -> None:
    variant = unicodedata.normalize(form, secret)
    scrubber = Scrubber()
    scrubber.add(secret)
    for sent in (variant, json.dumps(variant)[1:-1], quote(variant, safe=""), _lower_hex(quote(variant, safe=""))):
        assert scrubber.scrub_text(f"before {sent} after") == f"before {REDACTED} after", sent


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), text)


def test_an_ascii_secret_has_one_variant() -> None:
    """ASCII is its own normal form: no extra patterns, no extra cost per call."""
    assert _normal_forms("bench/bearer+Token=1") == {"bench/bearer+Token=1"}
    assert len(_normal_forms(SECRETS[0])) == 2  # NFC as typed, and NFD (its NFKC/NFKD are the same two)


@pytest.mark.parametrize(("secret", "echoed", "scrubbed"), [
    ("9f8e7d6c5b4a3f2e", "key 9F8E7D6C5B4A3F2E end", f"key {REDACTED} end"),  # a hex key echoed upper-cased (`%X`)
    ("9F8E7D6C5B4A3F2E", "key=9f8e7d6c5b4a3f2e&x=1", f"key={REDACTED}&x=1"),
    ("550e8400-e29b-41d4-a716-446655440000", '{"id": "550E8400-E29B-41D4-A716-446655440000"}',
     f'{{"id": "{REDACTED}"}}'),  # a UUID token as Java's UUID.toString... upper-cased
    ("550e8400-e29b-41d4-a716-446655440000", "q=%22550E8400-E29B-41D4-A716-446655440000%22",
     f"q=%22{REDACTED}%22"),
])
def test_a_hex_secret_echoed_in_the_other_case_is_scrubbed(secret: str, echoed: str, scrubbed: str) -> None:
    """Review of fixi1, problem 5: no case form was scrubbed. Hex digits (RFC 4648 §8, RFC 9562 §4) are the
    same value in either case, so an upstream may echo them so; their case forms are known, in text and bytes."""
    scrubber = Scrubber()
    scrubber.add(secret)
    assert scrubber.scrub_text(echoed) == scrubbed
    assert scrubber.scrub_bytes(echoed.encode()) == scrubbed.encode()


@pytest.mark.parametrize("echoed", [
    SECRETS[0].upper(),  # not hex: another case is another value, and README says it is not covered
    unicodedata.normalize("NFD", SECRETS[0]).casefold(),
    "deadbeef-Token",  # a hex-looking start of a non-hex secret's other case is not made a form
])
def test_other_case_changes_are_not_forms(echoed: str) -> None:
    """What README says is not covered, so that a change of it is a decision: the case of non-hex text."""
    scrubber = Scrubber()
    scrubber.add(SECRETS[0], "DEADBEEF-token")
    assert scrubber.scrub_text(echoed) == echoed
