"""The value scrubber itself: one pass finds every form of every secret, in bytes and in text.

`tests/hostile/test_hostile_secrets.py` proves the end-to-end promise (no reflected credential in
any result, log or case); these pin the search: every form `secret_forms` lists is gone after one
`scrub_text`/`scrub_bytes`, wherever it sits, whatever surrounds it, overlapping forms included.
"""

from __future__ import annotations

import asyncio
import base64
import json

import jsonschema

from hypothesis import given, settings
from hypothesis import strategies as st

from mcprt.scrubbing import REDACTED, Scrubber, secret_forms

SECRET = "zz/secret+Value=1 é"
OTHER = "another-token-42"


def _scrubber(*secrets: str) -> Scrubber:
    scrubber = Scrubber()
    scrubber.add(*secrets)
    return scrubber


def test_every_form_is_scrubbed_from_text_and_bytes() -> None:
    scrubber = _scrubber(SECRET, OTHER)
    forms = secret_forms(SECRET) | secret_forms(OTHER)
    assert len(forms) > 10  # raw, percent (both hex cases), form, JSON (both), base64 (std/url, aligned)
    for form in forms:
        text = f'{{"echo": "x{form}y", "n": 1}}'
        scrubbed = scrubber.scrub_text(text)
        assert form not in scrubbed and REDACTED in scrubbed, form
        assert scrubbed.startswith('{"echo": "x') and scrubbed.endswith('y", "n": 1}')
        assert scrubber.scrub_bytes(text.encode()) == scrubbed.encode()
        assert scrubber.found_in(text)


def test_the_known_examples_of_issue_13() -> None:
    scrubber = _scrubber("zz/secret-client", "alice:pa55word")
    body = ("client_secret=zz%2Fsecret-client&grant_type=client_credentials "
            "Authorization: Basic " + base64.b64encode(b"alice:pa55word").decode())
    assert scrubber.scrub_text(body) == f"client_secret={REDACTED}&grant_type=client_credentials " \
                                        f"Authorization: Basic {REDACTED}"


def test_a_secret_inside_a_longer_base64_value_is_scrubbed_at_any_alignment() -> None:
    scrubber = _scrubber("s3cret-token-value")
    for prefix in (b"", b"u:", b"user:", b"Bearer "):
        encoded = base64.b64encode(prefix + b"s3cret-token-value" + b"!tail").decode()
        scrubbed = scrubber.scrub_text(encoded)
        assert scrubbed.count(REDACTED) == 1, (prefix, scrubbed)
        # The redaction covers every base64 character made of the secret's bits alone (18 bytes =
        # 144 bits: at least 22 whole characters), so at most boundary bits are left.
        kept = len(scrubbed) - len(REDACTED)
        assert len(encoded) - kept >= 22, (prefix, scrubbed)


def test_overlapping_and_nested_forms_leave_no_part_behind() -> None:
    scrubber = _scrubber("abcdef-123", "123-ghijkl")
    assert scrubber.scrub_text("x abcdef-123-ghijkl y") == f"x {REDACTED} y"
    assert scrubber.scrub_text("abcdef-123abcdef-123") == REDACTED


def test_nothing_found_returns_the_same_object_and_short_inputs_are_not_searched() -> None:
    scrubber = _scrubber(SECRET)
    text = json.dumps({"a": "b" * 1000})
    data = text.encode()
    assert scrubber.scrub_text(text) is text and scrubber.scrub_bytes(data) is data
    assert scrubber.scrub_text("tiny") == "tiny" and not scrubber.found_in("")
    value = {"k": ["v", {"w": 1}]}
    assert scrubber.scrub_value(value) is value


def test_non_ascii_and_lone_surrogates_survive_scrubbing() -> None:
    scrubber = _scrubber(SECRET)
    text = f"\ud800 before {SECRET} — after ✓ {json.dumps(SECRET)[1:-1]}"
    assert scrubber.scrub_text(text) == f"\ud800 before {REDACTED} — after ✓ {REDACTED}"


def test_empty_and_cleared_scrubbers_do_nothing() -> None:
    scrubber = Scrubber()
    assert not scrubber and scrubber.scrub_text(SECRET) == SECRET and scrubber.scrub_bytes(b"abcd") == b"abcd"
    scrubber.add(SECRET)
    assert scrubber and scrubber.scrub_text(SECRET) == REDACTED
    scrubber.clear()
    assert not scrubber and scrubber.scrub_text(SECRET) == SECRET


def test_issued_tokens_are_scrubbed_for_their_whole_life_however_many() -> None:
    """A trial: with one RFC 8693 token per user, a count-bounded list (64) forgot the first user's token while it
    was still in use; every issued token is kept until it expires, in the newest and the older index alike."""
    scrubber = Scrubber()
    for i in range(300):  # past NEWEST_ISSUED several times: the older index is rebuilt, none is lost
        scrubber.add_issued(f"exchanged-user{i:03d}-token", 600)
    text = " ".join(f"exchanged-user{i:03d}-token" for i in range(300))
    assert scrubber.scrub_text(text) == " ".join([REDACTED] * 300)
    assert scrubber.scrub_bytes(b"Bearer exchanged-user000-token") == b"Bearer " + REDACTED.encode()


def test_issued_tokens_are_forgotten_once_expired_and_an_unknown_lifetime_is_kept() -> None:
    import mcprt.scrubbing.scrubber as module

    scrubber = Scrubber()
    scrubber.add_issued("short-lived-token-1", -module.ISSUED_KEPT_AFTER_EXPIRY_S - 1)  # expired already
    scrubber.add_issued("no-expiry-given-token")
    assert scrubber.scrub_text("short-lived-token-1") == REDACTED  # until the next rebuild of the older tokens
    for i in range(module.NEWEST_ISSUED + 1):
        scrubber.add_issued(f"filler-token-{i:03d}", 600)
    assert scrubber.scrub_text("short-lived-token-1") == "short-lived-token-1"
    assert scrubber.scrub_text("no-expiry-given-token") == REDACTED
    saved = scrubber.saved()
    scrubber.clear()
    assert not scrubber
    scrubber.restore(saved)
    assert scrubber.scrub_text("filler-token-000 no-expiry-given-token") == f"{REDACTED} {REDACTED}"


def test_issued_tokens_past_many_segments_stay_scrubbed_and_each_build_is_bounded(monkeypatch) -> None:
    """Review of authfix1: every 65th token rebuilt the search of all live ones on the event loop (1.7 s CPU at
    20,000). Now tokens are sealed into segments of at most `SEGMENT_TOKENS`: no build is larger, and none is lost."""
    import mcprt.scrubbing.scrubber as module

    built: list[int] = []
    real = module.Scrubber._index_for
    monkeypatch.setattr(module.Scrubber, "_index_for", lambda self, tokens: (built.append(len(tokens)), real(self, tokens))[1])
    scrubber = Scrubber()
    tokens = [f"exchanged-user{i:04d}-token" for i in range(3 * module.SEGMENT_TOKENS + 100)]
    for token in tokens:
        scrubber.add_issued(token, 600)
    assert max(built) == module.SEGMENT_TOKENS
    assert 3 <= len(scrubber._segments) <= 3 + 4  # full ones and at most log2(512/64) + 1 partial ones
    text = " ".join(tokens)
    assert scrubber.scrub_text(text) == " ".join([REDACTED] * len(tokens))
    assert scrubber.scrub_bytes(b"Bearer " + tokens[0].encode()) == b"Bearer " + REDACTED.encode()


def test_past_max_issued_the_segment_expiring_first_is_forgotten_not_one_registered_again(monkeypatch) -> None:
    import mcprt.scrubbing.scrubber as module

    monkeypatch.setattr(module, "MAX_ISSUED", 2 * module.SEGMENT_TOKENS)
    scrubber = Scrubber()
    soon = [f"soon-expiring-{i:04d}-token" for i in range(module.SEGMENT_TOKENS)]
    for token in soon:
        scrubber.add_issued(token, 60)
    scrubber.add_issued(soon[5], 7200)  # registered again with a longer life: searched among the newest too
    for i in range(2 * module.SEGMENT_TOKENS):
        scrubber.add_issued(f"later-expiring-{i:04d}-token", 3600)
    assert len(scrubber._issued) <= module.MAX_ISSUED + module.NEWEST_ISSUED
    assert scrubber.scrub_text(soon[0]) == soon[0]  # the earliest to expire went first
    assert scrubber.scrub_text(soon[5]) == REDACTED
    assert scrubber.scrub_text("later-expiring-0000-token") == REDACTED


def test_forms_sharing_their_last_bytes_are_each_found_whole() -> None:
    """The automata hold each form's last `ANCHOR_BYTES` bytes: forms with the same ending are all compared."""
    scrubber = Scrubber()
    scrubber.add_issued("AAAA-shared-ending-0123456789", 600)
    scrubber.add_issued("BB-shared-ending-0123456789", 600)
    scrubber.add("ending-0123456789")  # a configured secret that is the end of both
    assert scrubber.scrub_text("x AAAA-shared-ending-0123456789 y") == f"x {REDACTED} y"
    assert scrubber.scrub_text("x BB-shared-ending-0123456789 y") == f"x {REDACTED} y"
    assert scrubber.scrub_text("x CC-shared-ending-0123456789 y") == f"x CC-shared-{REDACTED} y"
    assert scrubber.scrub_text("x shared-ending-012345678 y") == "x shared-ending-012345678 y"


def test_a_form_spanning_a_configured_secret_and_an_issued_token_is_one_redaction() -> None:
    scrubber = Scrubber()
    scrubber.add("configured-secret")
    scrubber.add_issued("secret-and-token", 600)  # overlaps the end of the configured one
    assert scrubber.scrub_text("a configured-secret-and-token b") == f"a {REDACTED} b"


@settings(max_examples=200, deadline=None)
@given(secret=st.text(min_size=4, max_size=40).filter(lambda s: s.strip() == s and "\x00" not in s),
       before=st.text(max_size=50), after=st.text(max_size=50), which=st.integers(min_value=0))
def test_any_secret_any_form_any_surroundings(secret: str, before: str, after: str, which: int) -> None:
    forms = sorted(secret_forms(secret))
    form = forms[which % len(forms)]
    scrubber = _scrubber(secret)
    assert form not in scrubber.scrub_text(before + form + after)
    assert form.encode("utf-8", "surrogatepass") not in scrubber.scrub_bytes(
        (before + form + after).encode("utf-8", "surrogatepass"))


def _json_spelled(secret: str, escaped: list[bool], upper: list[bool]) -> str:
    """`secret` inside a JSON string with the chosen characters written as `\\uXXXX` (a surrogate pair past the
    BMP) in the chosen hex case, the others as RFC 8259 requires (`\\"`, `\\\\`, control characters)."""
    out = []
    for i, char in enumerate(secret):
        if escaped[i % len(escaped)] or ord(char) < 0x20:
            code = ord(char)
            units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
            out += [("\\u%04X" if upper[i % len(upper)] else "\\u%04x") % unit for unit in units]
        else:
            out.append({'"': '\\"', "\\": "\\\\"}.get(char, char))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(secret=st.text(min_size=4, max_size=30).filter(lambda s: s.strip() == s and "\x00" not in s),
       escaped=st.lists(st.booleans(), min_size=1, max_size=8), upper=st.lists(st.booleans(), min_size=1, max_size=3),
       before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_secret_with_any_of_its_characters_json_escaped_is_redacted(
        secret: str, escaped: list[bool], upper: list[bool], before: str, after: str) -> None:
    """Trial of untidy REST APIs, fault 1: an encoder may escape any character (Gson writes `=` as `\\u003d`), so
    no list of whole-encoder spellings holds every form: any mix of escaped and plain characters is found,
    in text (an error's body, an NDJSON line) and in a parsed value, key or string (the walk of `scrub_parsed`)."""
    scrubber = _scrubber(secret)
    spelled = _json_spelled(secret, escaped, upper)
    document = '{"k": "' + _json_spelled(before, [False], [False]) + spelled + _json_spelled(after, [False], [False]) + '"}'
    assert secret not in json.loads(scrubber.scrub_text(document))["k"], (document, scrubber.scrub_text(document))
    assert REDACTED in scrubber.scrub_text(document)
    value = json.loads(document)
    parsed = scrubber.scrub_parsed({"k": value["k"], value["k"]: [value["k"]]})
    assert all(secret not in text for text in (*parsed, parsed["k"], *parsed.get(REDACTED + after, []))), parsed
    assert REDACTED in parsed["k"], parsed


def test_json_escapes_are_redacted_over_the_escapes_that_spell_the_secret() -> None:
    """The report's inputs, each with what the model then reads: only the characters that spelled the secret go."""
    scrubber = _scrubber("c2VjcmV0LWtleS12YWx1ZQ==", "qk-1234567890", "ab/cd+ef=gh<ij&k")
    cases = {
        '{"error":"invalid api_key c2VjcmV0LWtleS12YWx1ZQ\\u003d\\u003d"}': '{"error":"invalid api_key [redacted]"}',
        "key qk\\u002d1234567890.": "key [redacted].",
        "\\u0071k-1234567890\\u0021": "[redacted]\\u0021",
        '"ab\\u002fcd+ef=gh<ij&k"': '"[redacted]"',
        '["a\\/b", "ab\\/cd\\u002Bef\\u003dgh\\u003cij\\u0026k\\u0026"]': '["a\\/b", "[redacted]\\u0026"]',
        "no secret \\u00e9 \\/ here": "no secret \\u00e9 \\/ here",
    }
    assert {text: scrubber.scrub_text(text) for text in cases} == cases
    assert scrubber.scrub_parsed({"c2VjcmV0LWtleS12YWx1ZQ==": "qk-1234567890", "n": [1, 2.5, None, True]}) == {
        REDACTED: REDACTED, "n": [1, 2.5, None, True]}
    untouched = {"a": ["b", {"c": 1}]}
    assert scrubber.scrub_parsed(untouched) is untouched  # nothing found: no copy


def test_many_secrets_more_forms_than_one_probe_group_takes() -> None:
    secrets = [f"configured-secret-{i:02d}/x" for i in range(30)]
    scrubber = _scrubber(*secrets)
    forms = set().union(*(secret_forms(s) for s in secrets))
    assert len(forms) > 3 * 64
    for form in sorted(forms)[::7]:
        assert scrubber.scrub_text(f"<{form}>") == f"<{REDACTED}>", form


def test_json_and_html_spellings_of_other_encoders_are_forms() -> None:
    """PHP's `\\/`, Go's HTML-safe `\\u0026`, .NET's and Java's upper-case `\\u00E9`/`\\u002B`, a
    character outside the BMP as a surrogate pair, and HTML references (`&amp;`, `&#39;`)."""
    secret = "k/1+a&b<c>'\"é😀"
    forms = secret_forms(secret)
    spelled = [
        "k\\/1+a&b<c>'\\\"\\u00e9\\ud83d\\ude00",  # PHP json_encode
        "k/1+a\\u0026b\\u003cc\\u003e'\\\"é😀",  # Go encoding/json
        "k/1\\u002Ba\\u0026b\\u003Cc\\u003E\\u0027\\u0022\\u00E9\\uD83D\\uDE00",  # .NET System.Text.Json
        "k/1+a&b<c>'\\\"\\u00E9\\uD83D\\uDE00",  # Java, ASCII-only output
        "k/1+a&amp;b&lt;c&gt;&#x27;&quot;é😀",  # Python html.escape
        "k/1+a&amp;b&lt;c&gt;&#39;&#34;é😀",  # numeric references
    ]
    scrubber = _scrubber(secret)
    for form in spelled:
        assert form in forms, form
        assert scrubber.scrub_text(f"<p>{form}</p>") == f"<p>{REDACTED}</p>", form


def test_protocol_identifiers_are_never_rewritten_only_prose() -> None:
    """Review of bombfix, item 2: with a secret `admin` (or `type`) the whole-value scrub renamed the
    tool `list_admin_users`, its schema property and `required` entry, and every schema `type` key."""
    scrubber = _scrubber("admin", "type")
    listing = [{
        "name": "list_admin_users",
        "title": "List admin users",
        "description": "Lists every admin; pass type.",
        "inputSchema": {"type": "object", "properties": {"admin": {"type": "string", "enum": ["admin", "x"],
                                                                   "description": "the admin to show"}},
                        "required": ["admin"]},
    }]
    scrubbed = scrubber.scrub_prose(listing)[0]
    assert scrubbed["name"] == "list_admin_users"
    assert scrubbed["inputSchema"]["properties"]["admin"]["type"] == "string"
    # An enum's entries are values a client is shown and sends, not names: scrubbed like a `default`.
    assert scrubbed["inputSchema"]["properties"]["admin"]["enum"] == [REDACTED, "x"]
    assert scrubbed["inputSchema"]["required"] == ["admin"]
    assert scrubbed["inputSchema"]["type"] == "object"
    assert scrubbed["title"] == f"List {REDACTED} users"
    assert scrubbed["description"] == f"Lists every {REDACTED}; pass {REDACTED}."
    assert scrubbed["inputSchema"]["properties"]["admin"]["description"] == f"the {REDACTED} to show"
    read = {"contents": [{"uri": "file:///admin/type.txt", "mimeType": "text/plain", "text": "admin here"}]}
    assert scrubber.scrub_prose(read) == {
        "contents": [{"uri": "file:///admin/type.txt", "mimeType": "text/plain", "text": f"{REDACTED} here"}]}
    untouched = {"name": "ping", "description": "Pong."}
    assert scrubber.scrub_prose(untouched) is untouched  # nothing found: the same object, no copy


def test_schema_values_log_data_and_relayed_prose_are_scrubbed_and_the_schema_stays_valid() -> None:
    """Assignment scrub2, items 1-4: a secret in a schema's `default`/`examples`/`example`/`const`/`enum`,
    in log or error `data`, completion `values`, a progress or elicitation `message`, a task's
    `statusMessage` or a sampling `systemPrompt` passed `scrub_prose` untouched. Property names (also one
    called `default`), `required` and `type` stay; an enum whose entries scrub alike keeps one of them."""
    scrubber = _scrubber("tok-12345", "tok-67890")
    schema = {"type": "object", "required": ["default"], "properties": {
        "default": {"type": "string", "default": "tok-12345", "examples": ["a tok-12345 b"], "example": "tok-12345"},
        "enum": {"enum": ["tok-12345", "tok-67890", "plain"], "const": "tok-12345"},
        "obj": {"type": "object", "default": {"tok-12345": ["tok-67890"]}}},
        "$defs": {"data": {"type": "string"}}}
    scrubbed = scrubber.scrub_prose(schema)
    assert set(scrubbed["properties"]) == {"default", "enum", "obj"} and scrubbed["required"] == ["default"]
    assert scrubbed["properties"]["default"] == {"type": "string", "default": REDACTED,
                                                "examples": [f"a {REDACTED} b"], "example": REDACTED}
    assert scrubbed["properties"]["enum"] == {"enum": [REDACTED, "plain"], "const": REDACTED}
    assert scrubbed["properties"]["obj"]["default"] == {REDACTED: [REDACTED]}
    assert scrubbed["$defs"] == {"data": {"type": "string"}}
    jsonschema.Draft202012Validator.check_schema(scrubbed)
    for message in ({"level": "info", "data": {"headers": {"auth": "Bearer tok-12345"}}},
                    {"progressToken": 1, "progress": 1, "message": "with tok-12345"},
                    {"taskId": "t", "status": "failed", "statusMessage": "tok-12345 refused"},
                    {"mode": "form", "message": "tok-12345?", "requestedSchema": {"properties": {"x": {"default": "tok-12345"}}}},
                    {"messages": [{"role": "user", "content": {"type": "text", "text": "tok-12345"}}],
                     "systemPrompt": "key tok-12345", "maxTokens": 1},
                    {"completion": {"values": ["tok-12345"]}},
                    {"code": -32050, "message": "refused tok-12345", "data": ["tok-12345"]}):
        assert "tok-12345" not in json.dumps(scrubber.scrub_prose(message)), message


def test_legacy_titled_enum_labels_are_scrubbed_and_stay_parallel_to_the_values() -> None:
    """Assignment mendsc2, item 2: de-duplicating a scrubbed `enum` shifted its sibling `enumNames` (MCP
    2025-11-25 LegacyTitledEnumSchema: one label per value, by position), so a value was shown with
    another's label, and the labels themselves kept the secret. A titled `oneOf` keeps its `const`s'
    `title`s scrubbed too."""
    scrubber = _scrubber("tok-12345", "tok-67890")
    legacy = {"type": "string", "enum": ["tok-12345", "tok-67890", "plain"],
              "enumNames": ["first tok-12345", "second tok-67890", "Plain"]}
    assert scrubber.scrub_prose(legacy) == {"type": "string", "enum": [REDACTED, "plain"],
                                            "enumNames": [f"first {REDACTED}", "Plain"]}
    labels_only = {"type": "string", "enum": ["a", "b"], "enumNames": ["A tok-12345", "B"]}
    assert scrubber.scrub_prose(labels_only) == {"type": "string", "enum": ["a", "b"],
                                                 "enumNames": [f"A {REDACTED}", "B"]}
    titled = {"type": "string", "oneOf": [{"const": "tok-12345", "title": "Key tok-12345"},
                                          {"const": "p", "title": "P"}]}
    assert "tok-12345" not in json.dumps(scrubber.scrub_prose(titled))


def test_sampling_tool_use_input_and_tool_result_structured_content_are_scrubbed_keys_kept() -> None:
    """Assignment mendsc2, item 3: a sampling request's `tool_use` `input` and `tool_result`
    `structuredContent` (MCP 2025-11-25 ToolUseContent, ToolResultContent) kept the secret; their keys
    are argument names and stay, even one that is the secret's word."""
    scrubber = _scrubber("tok-12345", "admin")
    params = {"maxTokens": 5, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "u1", "name": "lookup",
                                           "input": {"admin": "tok-12345", "n": 1, "deep": ["x tok-12345"]}}]},
        {"role": "user", "content": [{"type": "tool_result", "toolUseId": "u1",
                                      "content": [{"type": "text", "text": "tok-12345"}],
                                      "structuredContent": {"admin": {"found": "tok-12345"}}}]}]}
    scrubbed = scrubber.scrub_prose(params)
    assert scrubbed["messages"][0]["content"][0]["input"] == {"admin": REDACTED, "n": 1, "deep": [f"x {REDACTED}"]}
    assert scrubbed["messages"][0]["content"][0]["name"] == "lookup"
    assert scrubbed["messages"][1]["content"][0]["structuredContent"] == {"admin": {"found": REDACTED}}
    assert scrubbed["messages"][1]["content"][0]["content"] == [{"type": "text", "text": REDACTED}]


def test_a_log_messages_logger_and_a_url_elicitations_url_are_scrubbed_a_resource_uri_is_not() -> None:
    """Review of pyscrub, problem 2: a log message's `logger` (MCP LoggingMessageNotification: free text) and a
    URL-mode elicitation's `url` (ElicitRequestURLParams: shown to the user, opened in their browser) passed
    `scrub_prose` untouched beside their scrubbed `data` and `message`. A URL holds the key percent-encoded
    as often as raw. A resource's `uri` is an identifier clients match on and stays as written; a capability's
    `url` is an object; a property called `url` or `logger` is a name."""
    scrubber = _scrubber("tok+12345/x")
    log = {"level": "error", "logger": "db tok+12345/x", "data": "plain tok+12345/x"}
    assert scrubber.scrub_prose(log) == {"level": "error", "logger": f"db {REDACTED}", "data": f"plain {REDACTED}"}
    for url in ("https://pay.example/start?k=tok+12345/x", "https://pay.example/start?k=tok%2B12345%2Fx"):
        ask = {"mode": "url", "message": "go tok+12345/x", "url": url, "elicitationId": "e1"}
        assert scrubber.scrub_prose(ask) == {"mode": "url", "message": f"go {REDACTED}",
                                             "url": f"https://pay.example/start?k={REDACTED}", "elicitationId": "e1"}
    kept = [{"contents": [{"uri": "file:///tok+12345/x", "text": "t"}]},
            {"capabilities": {"elicitation": {"form": {}, "url": {}}}},
            {"type": "object", "properties": {"url": {"type": "string"}, "logger": {"type": "string"}}},
            {"level": "info", "logger": "db", "data": "d"}]
    for message in kept:
        assert scrubber.scrub_prose(message) is message  # nothing scrubbed: the same object


KEY = "sk-live-SUPERSECRET-1234567890"  # the Python trial's key (faults 3 and 4)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_base64_payloads_are_scrubbed_as_the_bytes_they_encode_at_every_offset() -> None:
    """Fault 3: the base64 of raw bytes holding the key went out unscrubbed (a `blob` is neither prose nor data
    to `scrub_prose`). The decoded bytes are searched (every offset: three base64 spellings), the key's bytes
    are overwritten with `[redacted]` and the payload re-encoded, so it stays valid base64."""
    scrubber = _scrubber(KEY)
    for prefix in (b"", b"d", b"ab", b"abc", b"data:", b"\x89PNG\r\n\x1a\n\x00\xff"):
        for suffix in (b"", b"\x00tail", b"x" * 1000):
            scrubbed = scrubber.scrub_base64(_b64(prefix + KEY.encode() + suffix))
            assert base64.b64decode(scrubbed, validate=True) == prefix + b"[redacted]" + suffix, (prefix, suffix)
    clean = _b64(b"\x00" * 100)
    assert scrubber.scrub_base64(clean) is clean  # nothing found: the same object
    assert scrubber.scrub_base64("not base64 " + KEY) == "not base64 [redacted]"  # not base64: scrubbed as text
    assert scrubber.scrub_base64(_b64(KEY.encode()) + "é") == "[redacted]é"  # undecodable: its base64 text form


async def test_a_large_base64_payload_is_scrubbed_in_pieces_and_off_the_loop_as_a_small_one_is() -> None:
    """Review of prunedepth, item 2: a payload past 1,000,000 characters is scrubbed in a worker thread
    (`scrub_prose_async`/`scrub_value_async`), and decoded and re-encoded a piece at a time (binascii holds
    the GIL for a whole call, so one call held the loop although a thread made it). The key at a piece's
    boundary (pieces of 2^18 characters: 196,608 bytes), at the end, and in line-wrapped (MIME) base64,
    which is decoded whole: each scrubbed, the rest byte for byte."""
    scrubber = _scrubber(KEY)
    filler = bytes(range(256)) * 4096  # 1 MiB, no form of the key
    piece = (1 << 18) // 4 * 3
    for at in (0, piece - 5, piece, 2 * piece + 1, len(filler)):
        raw = filler[:at] + KEY.encode() + filler[at:]
        expected = filler[:at] + b"[redacted]" + filler[at:]
        whole = _b64(raw)
        for encoded in (whole, "\r\n".join(whole[i:i + 76] for i in range(0, len(whole), 76))):
            assert len(encoded) > 1_000_000
            assert base64.b64decode(scrubber.scrub_base64(encoded), validate=True) == expected, at
            result = {"contents": [{"uri": "file:///big", "blob": encoded}],
                      "content": [{"type": "image", "data": encoded, "mimeType": "image/png"}]}
            for scrubbed in (await scrubber.scrub_prose_async(result), await scrubber.scrub_value_async(result)):
                assert base64.b64decode(scrubbed["contents"][0]["blob"], validate=True) == expected, at
                assert base64.b64decode(scrubbed["content"][0]["data"], validate=True) == expected, at
    clean = {"contents": [{"uri": "file:///big", "blob": _b64(filler)}]}
    assert await scrubber.scrub_prose_async(clean) is clean  # nothing found: the same object, from the thread too
    assert scrubber.scrub_base64(_b64(filler)[:-1]) == _b64(filler)[:-1]  # bad padding: text, and no key in it


async def test_a_message_holding_over_a_megabyte_of_base64_is_scrubbed_in_a_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Review of prunedepth, problems 2 and 5: the budget is the message's base64 in all, not one payload's
    (14 images of 999,000 characters each were scrubbed inline: the loop held 136 ms), and the tests must
    see the thread: `asyncio.to_thread` is watched (the standard library's, not our code) — one large
    blob and many just-under ones go to a thread, a small result does not; each is still scrubbed."""
    real, calls = asyncio.to_thread, []

    async def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", watched)
    scrubber = _scrubber(KEY)
    filler = (bytes(range(256)) * 2930)[:749_000 - len(KEY)]
    near = _b64(KEY.encode() + filler)  # 999,… characters: under the limit alone
    assert 990_000 < len(near) < 1_000_000
    one_large = {"contents": [{"uri": "file:///big", "blob": _b64(KEY.encode() + filler * 11)}]}
    many = {"content": [{"type": "image", "data": near, "mimeType": "image/png"} for _ in range(14)]}
    small = {"content": [{"type": "image", "data": near[:4000] + "====", "mimeType": "image/png"}],
             "contents": [{"uri": "file:///s", "blob": _b64(KEY.encode())}]}
    for message, threaded in ((one_large, True), (many, True), (small, False)):
        calls.clear()
        for scrub in (scrubber.scrub_prose_async, scrubber.scrub_value_async):
            scrubbed = await scrub(message)
            assert KEY.encode() not in json.dumps(scrubbed).encode()
            blobs = [c["blob"] for c in scrubbed.get("contents", [])] + [c["data"] for c in scrubbed.get("content", [])]
            assert all(KEY.encode() not in base64.b64decode(b) for b in blobs)
            assert base64.b64decode(blobs[0]).startswith(b"[redacted]") or message is small
        assert len(calls) == (2 if threaded else 0), (len(calls), threaded)


async def test_a_results_body_content_and_structured_content_share_one_budget(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Review of mendpd, problem 5: `scrub_upstream` scrubbed `body`, `content` and `structuredContent` with a
    budget each, so an image just under a megabyte in `content` and again in `structuredContent` (as a
    proxied server sends both) was scrubbed inline: about 2 MB on the loop, no thread. The three are one
    message: past a megabyte of base64 in all, one worker thread scrubs them; both copies are scrubbed."""
    from mcprt.contracts import UpstreamResult
    from mcprt.scrubbing import SECRETS
    from mcprt.toolset.scrub import scrub_upstream

    real, calls = asyncio.to_thread, []

    async def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", watched)
    SECRETS.add(KEY)
    near = _b64(KEY.encode() + (bytes(range(256)) * 2930)[:749_000 - len(KEY)])
    assert 990_000 < len(near) < 1_000_000
    image = {"type": "image", "data": near, "mimeType": "image/png"}
    shapes = [  # (kind, body, content, structured, threaded)
        ("content", None, [image], {"image": dict(image)}, True),
        ("json", {"picture": dict(image)}, [image], None, True),
        ("json", {"picture": dict(image)}, None, None, False),  # one near payload alone: inline
    ]
    for kind, body, content, structured, threaded in shapes:
        calls.clear()
        result = UpstreamResult(kind, body=body, content=content, structured=structured)
        await scrub_upstream(result)
        assert len(calls) == (1 if threaded else 0), (kind, len(calls))
        for part in (result.body, result.content, result.structured):
            assert part is None or KEY.encode() not in json.dumps(part).encode()
            for block in ([part["picture"]] if kind == "json" and part is result.body else
                          part if isinstance(part, list) else [part["image"]] if part else []):
                assert base64.b64decode(block["data"]).startswith(b"[redacted]"), kind


def test_a_large_payload_with_inner_padding_decodes_as_b64decode_does() -> None:
    """Review of prunedepth, problem 4: two base64 texts joined, the first's `=` ending exactly a piece
    (2^18 characters), passed each piece's strict check, so decoding went on past the padding, where
    `base64.b64decode` (and the small-payload path) stops; the re-encoded result then held other bytes.
    Inner padding anywhere, at a piece's end or inside one, decodes as `b64decode` does."""
    scrubber = _scrubber(KEY)
    second = _b64(bytes(range(256)) * 1024)
    for first_bytes in ((1 << 18) // 4 * 3 - 1, 100_000):  # its padding at a piece's end; inside the first piece
        first = KEY.encode() + b"\x01" * (first_bytes - len(KEY))
        joined = _b64(first) + second
        assert joined.index("=") < len(joined) - 2 and len(joined) > (1 << 18)
        expected = base64.b64encode(base64.b64decode(joined).replace(KEY.encode(), b"[redacted]")).decode()
        assert scrubber.scrub_base64(joined) == expected, first_bytes


def test_blob_and_image_and_audio_data_are_scrubbed_wherever_a_message_holds_them() -> None:
    """A resources/read result, a prompt's or a tool result's content blocks: `blob` and an image's or audio's
    `data` are binary; a log message's `data` stays data (scrubbed as text), and URIs stay as they are."""
    scrubber = _scrubber(KEY)
    inner = _b64(b"ab" + KEY.encode())
    message = {
        "contents": [{"uri": "py://blob", "mimeType": "application/octet-stream", "blob": inner}],
        "content": [{"type": "image", "mimeType": "image/png", "data": inner},
                    {"type": "audio", "mimeType": "audio/wav", "data": inner},
                    {"type": "resource", "resource": {"uri": "srv://x", "blob": inner}}],
        "data": {"note": f"log {KEY}"},
    }
    for scrubbed in (scrubber.scrub_prose(message), scrubber.scrub_value(message)):
        blobs = [scrubbed["contents"][0]["blob"], scrubbed["content"][0]["data"], scrubbed["content"][1]["data"],
                 scrubbed["content"][2]["resource"]["blob"]]
        assert [base64.b64decode(b, validate=True) for b in blobs] == [b"ab[redacted]"] * 4
        assert scrubbed["data"] == {"note": "log [redacted]"}
        assert scrubbed["contents"][0]["uri"] == "py://blob"
    schema = {"type": "object", "properties": {"blob": {"type": "string", "default": KEY}}}
    assert scrubber.scrub_prose(schema)["properties"]["blob"] == {"type": "string", "default": "[redacted]"}


def test_printed_text_is_scrubbed_as_it_is_written() -> None:
    """Fault 4: `print()` in a Python tool wrote the key to the log. A `ScrubbingStream` keeps back what may
    begin a secret until its end, a line end or a flush, so a key written in pieces (print's arguments are
    written apart) is found (more in test_scrubbing_streams.py)."""
    import io

    from mcprt.scrubbing.streams import ScrubbingStream

    inner = io.StringIO()
    stream = ScrubbingStream(inner, _scrubber(KEY))  # type: ignore[arg-type]
    print("print key", KEY, file=stream)  # type: ignore[arg-type]
    stream.write("split " + KEY[:9])
    assert inner.getvalue() == "print key [redacted]\n"  # the partial line is held (shorter than a batch)
    stream.write(KEY[9:] + " and more")
    stream.flush()
    assert inner.getvalue() == "print key [redacted]\nsplit [redacted] and more"
    empty = io.StringIO()
    ScrubbingStream(empty, Scrubber()).write(KEY)  # type: ignore[arg-type]
    assert empty.getvalue() == KEY  # nothing configured: written through, nothing held
