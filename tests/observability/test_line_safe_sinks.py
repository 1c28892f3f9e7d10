"""Every log and audit sink writes one line per record whatever text a client sends (`observability.log.LINE_UNSAFE`).

The i18n trial: with `audit_arguments: true`, `{"text": "a\\u2028b\\u0085c\\u202ed\\u001b[31me"}` was written raw to the
audit log: `str.splitlines()` read 3 records as 7 pieces, none of those records passed `json.loads`, and the RLO
reversed the rest of the line in a viewer. The text log escaped U+2028/NEL but not the bidi controls."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import anyio
import pytest

from mcprt.observability.log import LINE_UNSAFE, json_line

from tests.support.served import child_env, http_client, mcprt_http, text_of

# the trial's argument, then every character of the rule, then a lone surrogate (`os.fsdecode` of a bad file name)
HOSTILE = [
    "a\u2028b\u0085c\u202ed\u001b[31me",
    "x" + "".join(sorted(LINE_UNSAFE)) + "y",
    "\u2066isolated\u2069 \u202bembedded\u202c \u2029para",
]
RAW = re.compile("[" + "".join(sorted(LINE_UNSAFE)) + "]")

TOOLS = "def echo(text: str) -> str:\n    return text\n"


def served_project(folder: Path) -> Path:
    (folder / "echotools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: lines\n  observability: {audit: \"監査 log/audit.jsonl\", "
                        "audit_arguments: true}\nsources:\n  py: {python: echotools}\n", encoding="utf-8")
    return manifest


async def call_each(url: str) -> None:
    async with http_client(url) as client:
        for text in HOSTILE:
            result = await client.call_tool("echo", {"text": text})
            assert text_of(result) == text  # the answer itself is the text, unchanged


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_three_records_stay_three_lines_in_the_audit_log_and_the_log(tmp_path: Path, log_format: str) -> None:
    manifest = served_project(tmp_path)
    with mcprt_http(manifest, "--no-reload", env=child_env(MCPRT_LOG_FORMAT=log_format)) as up:
        anyio.run(call_each, up.url)
        up.wait_log("echo", timeout=10)
        audit = tmp_path / "監査 log" / "audit.jsonl"
        deadline = time.monotonic() + 10  # a writer thread writes the records: wait for its 3 lines
        while not (audit.is_file() and audit.read_bytes().count(b"\n") >= 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        content = audit.read_text(encoding="utf-8")
        log = up.log()
    lines = content.splitlines()
    assert len(lines) == 3, lines
    assert [json.loads(line)["arguments"]["text"] for line in lines] == HOSTILE
    assert not RAW.search(content)
    call_lines = [line for line in log.splitlines() if "tool=echo" in line or '"tool": "echo"' in line]
    assert len(call_lines) == 3, log
    assert not RAW.search(log), [line for line in log.splitlines() if RAW.search(line)]
    if log_format == "json":
        for line in log.splitlines():
            json.loads(line)


def test_json_line_escapes_the_rule_and_lone_surrogates_and_reads_back() -> None:
    value = {"k\u2028": ["a\ud800b", *HOSTILE], "n": 1}
    line = json_line(value)
    assert line.isascii() or not RAW.search(line)
    assert len(line.splitlines()) == 1
    assert json.loads(line) == value
    line.encode("utf-8")  # no lone surrogate left raw
    assert json_line({"plain": "Größe 東京 🎉"}) == '{"plain": "Größe 東京 🎉"}'  # other text is written as is
