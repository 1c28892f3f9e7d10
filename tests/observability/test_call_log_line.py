"""The per-call log line: written without `logging`'s per-record machinery when that cannot change
it (`observability.log._CallLines`), and then the same text as the ordinary way, in both formats."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mcprt.observability import log as call_log
from mcprt.scrubbing import Scrubber

FIELDS = dict(tool="get_item", source="items", status=200, latency_ms=12.3456, raw_bytes=2048, sent_bytes=1500,
              is_error=False)


class _Stderr(io.StringIO):
    """What `setup_logging` finds as `sys.stderr` (set in the test's own phase: pytest's capture
    puts its own back between set-up and call)."""

    def setup_logging(self, level: str, fmt: str) -> None:
        saved, sys.stderr = sys.stderr, self
        try:
            call_log.setup_logging(level, fmt)
        finally:
            sys.stderr = saved


@pytest.fixture()
def stderr() -> Iterator[_Stderr]:
    """A stderr for `setup_logging`; the logger and the fast writer put back afterwards."""
    logger = logging.getLogger(call_log.LOGGER_NAME)
    saved = (logger.handlers[:], logger.level, logger.propagate, call_log._CALL_LINES)
    yield _Stderr()
    logger.handlers[:], logger.level, logger.propagate, call_log._CALL_LINES = saved


class _PassAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return True


def _both_ways(captured: _Stderr, fmt: str, is_error: bool = False) -> tuple[str, str]:
    """The same call logged the fast way, then the ordinary way (a filter that passes everything
    makes the fast way step aside)."""
    captured.setup_logging("info", fmt)
    assert call_log._CALL_LINES is not None and call_log._CALL_LINES.usable(logging.INFO)
    call_log.log_call(**{**FIELDS, "is_error": is_error})
    logger = logging.getLogger(call_log.LOGGER_NAME)
    logger.addFilter(_PassAll())
    try:
        assert not call_log._CALL_LINES.usable(logging.INFO)
        call_log.log_call(**{**FIELDS, "is_error": is_error})
    finally:
        logger.filters.clear()
    fast, ordinary = captured.getvalue().splitlines()
    return fast, ordinary


@pytest.mark.parametrize("is_error", [False, True])
def test_the_text_line_is_the_one_logging_writes(stderr: _Stderr, is_error: bool) -> None:
    fast, ordinary = _both_ways(stderr, "text", is_error)
    clock = re.compile(r"^\d\d:\d\d:\d\d ")
    assert clock.match(fast) and clock.match(ordinary), (fast, ordinary)
    assert clock.sub("", fast) == clock.sub("", ordinary)
    level = "WARNING" if is_error else "INFO   "
    assert clock.sub("", fast) == (f"{level} mcprt: call tool=get_item source=items status=200 latency_ms=12.3 "
                                   f"raw_bytes=2048 sent_bytes=1500 error={str(is_error).lower()}")


def test_the_json_line_is_the_one_logging_writes(stderr: _Stderr) -> None:
    fast, ordinary = (json.loads(line) for line in _both_ways(stderr, "json"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fast.pop("ts"))
    ordinary.pop("ts")
    assert fast == ordinary == {"level": "info", "logger": "mcprt", "msg": "call", "tool": "get_item",
                                "source": "items", "status": 200, "latency_ms": 12.3, "raw_bytes": 2048,
                                "sent_bytes": 1500, "error": False}


def test_a_secret_in_a_field_is_scrubbed_the_fast_way_too(stderr: _Stderr, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-token-value-for-the-line-test"
    scrubber = Scrubber()  # this test's own registry: the process-wide one stays as other tests left it
    scrubber.add(secret)
    monkeypatch.setattr(call_log, "SECRETS", scrubber)
    stderr.setup_logging("info", "text")
    call_log.log_call(**{**FIELDS, "tool": f"x{secret}"})
    assert secret not in stderr.getvalue() and "tool=x" in stderr.getvalue()


def test_a_level_below_the_threshold_writes_nothing(stderr: _Stderr) -> None:
    stderr.setup_logging("warning", "text")
    call_log.log_call(**FIELDS)  # INFO: below the threshold
    assert stderr.getvalue() == ""
    call_log.log_call(**{**FIELDS, "is_error": True})
    assert "WARNING mcprt: call tool=get_item" in stderr.getvalue()


def test_another_handler_gets_the_record_the_ordinary_way(stderr: _Stderr) -> None:
    stderr.setup_logging("info", "text")
    records: list[logging.LogRecord] = []
    extra = logging.Handler()
    extra.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(call_log.LOGGER_NAME)
    logger.addHandler(extra)
    call_log.log_call(**FIELDS)
    assert [r.getMessage() for r in records] == ["call"] and records[0].fields["tool"] == "get_item"  # type: ignore[attr-defined]
    assert "call tool=get_item" in stderr.getvalue()


@contextmanager
def _fast_then_ordinary(captured: _Stderr, message: str, fields: dict[str, Any]) -> Iterator[logging.Logger]:
    """Text logs; `message` with `fields` logged the fast way, then the ordinary way (and whatever the
    body logs on the yielded logger: still the ordinary way)."""
    captured.setup_logging("info", "text")
    call_log.log_event(message, **fields)
    logger = logging.getLogger(call_log.LOGGER_NAME)
    logger.addFilter(_PassAll())
    try:
        call_log.log_event(message, **fields)
        yield logger
    finally:
        logger.filters.clear()


HOSTILE = {"reason": "no such pet", "query": "a=b", "said": 'he said "hi"', "path": "C:\\dir name",
           "forged": "x\n12:00:00 ERROR   mcprt: call tool=admin status=200", "cr": "a\rb", "escape": "\x1b[2J",
           "empty": "", "none": None, "plain": "get_item"}


def test_text_values_are_quoted_as_logfmt_and_a_record_is_one_line(stderr: _Stderr) -> None:
    """The text format wrote `k=v` unquoted: `reason=no such pet` reads as `reason=no` and two bare words,
    `query=a=b` and quotes were ambiguous, and a value with a line break (an upstream's error text, a
    tool name a client sent) wrote a second line that read as a record of its own. Values are quoted
    and escaped as logfmt does; the message's line breaks and a traceback are escaped too: one line per
    record, the fast way and the ordinary way alike."""
    with _fast_then_ordinary(stderr, "said\nforged", HOSTILE) as logger:
        try:
            raise ValueError("bad\n12:00:00 ERROR   mcprt: forged")
        except ValueError:
            logger.exception("failed", extra={"fields": {"tool": "t"}})
    fast, ordinary, failed = stderr.getvalue().splitlines()
    tail = ('msg="said\\nforged" reason="no such pet" query="a=b" said="he said \\"hi\\"" path="C:\\\\dir name" '
            'forged="x\\n12:00:00 ERROR   mcprt: call tool=admin status=200" cr="a\\rb" escape="\\u001b[2J" '
            'empty= none= plain=get_item')
    assert fast.split("mcprt: ", 1)[1] == ordinary.split("mcprt: ", 1)[1] == tail
    assert failed.split("mcprt: ", 1)[1].startswith('failed tool=t exc_info="Traceback (most recent call last):\\n')
    assert failed.endswith('ValueError: bad\\n12:00:00 ERROR   mcprt: forged"'), failed


def test_a_secret_is_scrubbed_before_it_is_escaped(stderr: _Stderr, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret with a line break or a quote (a PEM key, a password) is escaped in a text line; the
    scrubber knows its raw form, so it scrubs before escaping: neither form is written."""
    secret = 'line-one-of-a-key\nline-two "quoted" of-the-key'
    scrubber = Scrubber()
    scrubber.add(secret)
    monkeypatch.setattr(call_log, "SECRETS", scrubber)
    stderr.setup_logging("info", "text")
    call_log.log_event(f"message {secret}", detail=f"value {secret}")
    written = stderr.getvalue()
    assert "line-two" not in written and written.count("[redacted]") == 2, written


# Line breaks beyond C0 (NEL, the Unicode line and paragraph separators) and C1 terminal controls (CSI)
SEPARATORS = {"ls": "a\u2028b", "ps": "a\u2029b", "nel": "a\u0085b", "csi": "\u009b2J", "c1": "a\u0080b\u009fc",
              "slash": "back\\slash\u2028"}
# a logfmt reader's view of a line: key, `=`, then a quoted value (with escapes) or a bare one
_PAIR = re.compile(r'([^\s="]+)=("(?:\\.|[^"\\])*"|[^\s"]*)')


def test_unicode_line_separators_and_c1_controls_are_escaped_and_quoted(stderr: _Stderr) -> None:
    """logfmter escapes C0 controls only: U+2028, U+2029, NEL (U+0085) and the C1 controls (CSI U+009B)
    passed raw and unquoted, in values and in the message; a reader that breaks lines on them (Python's
    `splitlines`, editors, JavaScript) saw a second record, a terminal ran the escape. Escaped (`\u2028`)
    and quoted now, the fast way and the ordinary way alike."""
    with _fast_then_ordinary(stderr, "said\u2028forged", SEPARATORS):
        pass
    written = stderr.getvalue()
    fast, ordinary = written.splitlines()  # every kind of line break: exactly two lines
    tail = ('msg="said\\u2028forged" ls="a\\u2028b" ps="a\\u2029b" nel="a\\u0085b" csi="\\u009b2J" '
            'c1="a\\u0080b\\u009fc" slash="back\\\\slash\\u2028"')
    assert fast.split("mcprt: ", 1)[1] == ordinary.split("mcprt: ", 1)[1] == tail, written
    assert written.isascii(), written


def test_a_message_cannot_forge_a_field(stderr: _Stderr) -> None:
    """The message was written bare: `upstream said x status=ok tool="admin` read, to a logfmt parser
    (Loki's `| logfmt`), as the field status=ok, and its unbalanced quote swallowed the real fields. A
    message with `=`, `"` or a character to escape is the quoted field `msg` now; any other stays bare."""
    stderr.setup_logging("info", "text")
    call_log.log_event('upstream said x status=ok tool="admin', tool="real", status="error")
    call_log.log_event("reload applied", tool="t")
    forged, plain = stderr.getvalue().splitlines()
    pairs = dict(_PAIR.findall(forged.split("mcprt: ", 1)[1]))
    assert pairs == {"msg": '"upstream said x status=ok tool=\\"admin"', "tool": "real", "status": "error"}, forged
    assert plain.split("mcprt: ", 1)[1] == "reload applied tool=t"
