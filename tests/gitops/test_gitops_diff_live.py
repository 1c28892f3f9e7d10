"""`mcprt diff` calls no tool for real: a case that would need a live call is listed as not checked.

The fault (review of upfix, problem 3): a case with no recorded response (a `python:`, `command:` or `url:`
tool's) was run by `mcprt diff` on both sides — a python function's side effects happened twice per diff,
a `url:` or `command:` tool would have reached the real server with the manifest's credentials — and none of
it was audited. A diff is a review, run on a pull request: it now runs none of them, and says so in every
format. Real CLI, a python tool with a side effect (it appends to a file), the pets upstream for the replayed
cases beside it."""

from __future__ import annotations

import json

from tests.gitops.pets_api import Workspace

LIVE = ("not checked (live): the case has no recorded response, so only a real call of the tool could give its "
        "output; `mcprt diff` calls no tool for real (`mcprt test` does)")
TOOLS = '''
import pathlib


def send(text: str) -> str:
    """Send a message (a side effect: it is appended to side.log)."""
    with open(pathlib.Path(__file__).with_name("side.log"), "a", encoding="utf-8") as log:
        log.write(text + "\\n")
    return f"sent {text}"
'''


def test_diff_runs_no_live_case_and_lists_it_as_not_checked_in_every_format(workspace: Workspace) -> None:
    (workspace.root / "side_tools.py").write_text(TOOLS, encoding="utf-8")
    workspace.edit("sources:\n", "server:\n  observability: {audit: audit.jsonl}\nsources:\n"
                                 "  talk: {python: side_tools}\n")
    for tool, args in (("send", {"text": "hi"}), ("get_pet", {"petId": 1})):
        recorded = workspace.mcprt("record", "mcp.yaml", tool, "--args", json.dumps(args), "--name", "one")
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    side, audit = workspace.root / "side.log", workspace.root / "audit.jsonl"
    assert side.read_text(encoding="utf-8") == "hi\n"  # recorded: one real call
    audited = audit.read_text(encoding="utf-8")

    outputs = {}
    for fmt in ("text", "markdown", "json"):
        diffed = workspace.mcprt("diff", "mcp.yaml", "mcp.yaml", "--format", fmt, "--fail-on", "any")
        assert diffed.returncode == 0, diffed.stdout + diffed.stderr
        outputs[fmt] = diffed.stdout
    assert side.read_text(encoding="utf-8") == "hi\n"  # the function never ran during the three diffs
    assert audit.read_text(encoding="utf-8") == audited  # and nothing was audited

    assert f"send/one: {LIVE}" in outputs["text"], outputs["text"]
    assert "recorded cases: 0 of 2 change (what the model receives, or what `mcprt test` says); 1 not checked (live)" \
        in outputs["text"], outputs["text"]
    assert "- `send/one`: not checked (live): " in outputs["markdown"], outputs["markdown"]
    assert "1 not checked (live)" in outputs["markdown"]
    cases = {c["case"]: c for c in json.loads(outputs["json"])["cases"]}
    assert (cases["send/one"]["checked"], cases["send/one"]["not_checked"], cases["send/one"]["changed"]) == \
        (False, LIVE, False)
    assert cases["get_pet/one"]["checked"] is True  # a replayed case is still compared
