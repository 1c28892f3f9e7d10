"""`scrubbing.streams.ScrubbingStream`, the process's `sys.stdout`/`sys.stderr`: what it writes and when, on a
real stream, and in a real process where the garbage collector writes to it from inside its own write."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcprt.scrubbing import Scrubber
from mcprt.scrubbing.streams import ScrubbingStream

HERE = Path(__file__).parent
KEY = "sk-live-SUPERSECRET-1234567890"


@pytest.mark.parametrize("kind", ["finalizers", "tasks"])
def test_a_finalizer_writing_inside_a_write_does_not_hang_the_process(kind: str) -> None:
    """Review of scrubfix, problem 1: the stream held a non-reentrant lock while scrubbing and writing; a
    collection there ran a `__del__` that prints (or asyncio's "Task was destroyed but it is pending!" logged
    to stderr), which waited for that lock in the same thread: the process hung after 45 lines (131 log
    lines) and never wrote again. Now every write returns, and the finalizers' lines are scrubbed too."""
    rounds = 2000
    run = subprocess.run([sys.executable, str(HERE / "finalizer_writes.py"), kind, str(rounds)],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"finished {rounds}" in run.stderr, run.stderr[-2000:]
    finalizer_lines = "finalizer says bye [redacted]" if kind == "finalizers" else "Task was destroyed but it is pending"
    assert finalizer_lines in run.stderr, run.stderr[-2000:]
    assert "SUPERSECRET" not in run.stderr


def _stream(*secrets: str) -> tuple[io.StringIO, ScrubbingStream]:
    scrubber = Scrubber()
    scrubber.add(*secrets)
    inner = io.StringIO()
    return inner, ScrubbingStream(inner, scrubber)  # type: ignore[arg-type]


def test_a_progress_line_is_written_at_once() -> None:
    """Review of scrubfix, problem 2: a `\\rdownloading 25%` progress line on stderr appeared only when the
    line ended, 3.6 s later; stderr is write-through when piped, and flushed at `\\r` on a terminal. A
    `\\r` ends a line here, and what cannot begin a secret is not kept back."""
    inner, stream = _stream(KEY)
    for done in (25, 50, 75):
        stream.write(f"\rdownloading {done}%")
        assert inner.getvalue().endswith(f"\rdownloading {done}%"), inner.getvalue()
    stream.write(f"\r{KEY} used\n")
    assert inner.getvalue() == "\rdownloading 25%\rdownloading 50%\rdownloading 75%\r[redacted] used\n"


def test_only_what_may_begin_a_secret_is_kept_back() -> None:
    """Problem 2's partial messages: text without a line end is written once more than the kept-back
    tail waits, keeping back only where a secret may be beginning."""
    inner, stream = _stream(KEY)
    stream.write("x" * 200 + " then " + KEY[:12])
    assert inner.getvalue() == "x" * 200 + " then ", inner.getvalue()  # the key's beginning waits for its end
    stream.write(KEY[12:] + " done")
    stream.flush()
    assert inner.getvalue() == "x" * 200 + " then [redacted] done"


@pytest.mark.parametrize("before", [65536 - 5, 65536 + 3, 100_000])
def test_a_secret_across_a_long_line_is_found_whole(before: int) -> None:
    """Review of scrubfix, problem 5: past 64K characters of one line the whole held text was written, the
    beginning of a secret with it (`"." * (64K - 5)`, `KEY[:15]`, `KEY[15:] + "\\n"`: the key was in the
    output). The tail that may begin a secret is always kept back; the long line itself is written as it comes."""
    inner, stream = _stream(KEY)
    stream.write("." * before)
    assert len(inner.getvalue()) >= before - 200  # not held until the line ends
    stream.write(KEY[:15])
    stream.write(KEY[15:] + "\n")
    assert inner.getvalue() == "." * before + "[redacted]\n"


def test_a_secret_written_a_character_at_a_time_is_found() -> None:
    """Problem 4: pieces are kept in a list and joined when searched; one-character writes, a key among
    them at every alignment to the searches, still give the key whole to the search."""
    for offset in range(0, 130, 7):
        inner, stream = _stream(KEY, "p@ss w0rd/with+chars")
        for char in "." * offset + KEY + "," + "p@ss w0rd/with+chars" + "!" * 300:
            stream.write(char)
        stream.flush()
        assert inner.getvalue() == "." * offset + "[redacted],[redacted]" + "!" * 300, offset


def test_bytes_written_beneath_the_stream_keep_their_order(tmp_path: Path) -> None:
    """Review of scrubfix, problem 6: `write('header: ')`, `buffer.write(b'BINARY\\n')`, `write('end\\n')` came
    out `BINARY\\nheader: end\\n`: the partial text was still held when the bytes went to the buffer."""
    scrubber = Scrubber()
    scrubber.add(KEY)
    target = tmp_path / "out"
    with open(target, "w", encoding="utf-8") as inner:
        stream = ScrubbingStream(inner, scrubber)
        stream.write("header: ")
        stream.buffer.write(b"BINARY\n")
        stream.write(f"end {KEY}\n")
        stream.write("no line end, then fd ")
        os.write(stream.fileno(), b"RAW\n")
        stream.flush()
    assert target.read_text() == "header: BINARY\nend [redacted]\nno line end, then fd RAW\n"


def test_log_lines_are_written_beneath_the_scrubbing_stderr_and_still_scrubbed() -> None:
    """Review of scrubfix, problem 7: every log line, scrubbed whole by mcprt's formatter, was searched again
    by the scrubbing stderr (~10 % of a call's log line, inside its lock). The handler writes to the stream
    beneath; a line quoting the key is still redacted, a traceback's too, in text and JSON format."""
    script = (
        "import logging, sys\n"
        "from mcprt.scrubbing import SECRETS\n"
        "from mcprt.scrubbing.streams import scrub_standard_streams\n"
        "from mcprt.observability.log import setup_logging\n"
        "scrub_standard_streams()\n"
        f"SECRETS.add({KEY!r})\n"
        "for fmt in ('text', 'json'):\n"
        "    setup_logging('info', fmt)\n"
        "    handler = logging.getLogger('mcprt').handlers[0]\n"
        "    assert handler.stream is sys.stderr.inner, handler.stream\n"
        f"    logging.getLogger('mcprt').info('upstream said %s', {KEY!r})\n"
        "    try:\n"
        f"        raise ValueError({KEY!r})\n"
        "    except ValueError:\n"
        "        logging.getLogger('mcprt').exception('failed')\n"
        "    logging.getLogger('some.library').warning('library says %s', "
        f"{KEY!r})\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "SUPERSECRET" not in run.stderr, run.stderr
    assert run.stderr.count("[redacted]") == 5, run.stderr  # the JSON format writes no traceback
