"""A failed call's error text reaches the log and the audit record without the argument values it quotes.

Found by a review: `without_argument_values` redacted only top-level strings of 4+ characters, so a tool's error
quoting a list argument put `acct-4111111111111111` on the JSON log line (`error_message`) and the audit `error`
carried every value even with `audit_arguments: false`. Real `mcprt call`, a Python tool raising an error that
quotes its arguments, the JSON log line and the audit file read back.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.scrubbing.given import without_argument_values
from tests.support.cli import mcprt_process

TOOLS = '''
def boom(items: list[str], note: str = "", n: int = 0, deep: dict | None = None) -> str:
    """Fail, quoting what it was sent."""
    raise RuntimeError(f"bad items {items} note={note} n={n} deep={deep}")
'''

ARGUMENTS = {"items": ["acct-4111111111111111", "ssn 078-05-1120"], "note": "pw hunter2", "n": 31337,
             "deep": {"k": [{"v": "inner-secret"}]}}
VALUES = ("4111111111111111", "078-05-1120", "hunter2", "31337", "inner-secret")


def test_nested_values_and_numbers_leave_the_log_line_and_the_audit_error(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: leak\n  observability: {audit: audit.jsonl}\n"
                        "sources:\n  py: {python: [tools:boom]}\n")
    done = mcprt_process("call", str(manifest), "boom", "--args", json.dumps(ARGUMENTS), cwd=tmp_path,
                         env={"MCPRT_LOG_FORMAT": "json"}, forked=True)
    assert "bad items" in done.stdout + done.stderr  # the model's answer keeps its text
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    call = next(line for line in lines if "error_message" in line)
    assert "bad items" in call["error_message"] and "[redacted]" in call["error_message"]
    record = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert record["arguments"] == ["deep", "items", "n", "note"] and "bad items" in record["error"]
    for value in VALUES:
        assert value not in call["error_message"], call["error_message"]
        assert value not in record["error"], record["error"]


def test_with_audit_arguments_the_audit_error_keeps_its_text(tmp_path: Path) -> None:
    (tmp_path / "tools.py").write_text(TOOLS)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nserver:\n  name: leak\n  observability: {audit: audit.jsonl, "
                        "audit_arguments: true}\nsources:\n  py: {python: [tools:boom]}\n")
    mcprt_process("call", str(manifest), "boom", "--args", json.dumps(ARGUMENTS), cwd=tmp_path, forked=True)
    record = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert "hunter2" in record["error"]  # the values are in the record anyway: the operator asked for them


def test_forms_of_a_value_are_redacted_and_short_words_kept() -> None:
    text = 'get /files/a%2Fb%20c failed: "say \\"hi\\" there" not found; id=7 en'
    arguments = {"path": "a/b c", "q": 'say "hi" there', "id": 7, "lang": "en"}
    assert without_argument_values(text, arguments) == "get /files/[redacted] failed: \"[redacted]\" not found; id=7 en"
