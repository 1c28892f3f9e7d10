"""The README's manifest reference is the one generated from the models, and its quick-start manifest works."""

from __future__ import annotations

import json
from pathlib import Path

from mcprt.manifest.reference import END, START, manifest_reference_markdown

from tests.support.cli import mcprt_process

REPO = Path(__file__).resolve().parents[2]


def test_readme_reference_matches_the_schema() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, "the README lost its manifest-reference markers"
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == manifest_reference_markdown().strip(), (
        "README's manifest reference is stale: run `python -m mcprt.manifest.reference --write`"
    )


def test_every_model_field_is_in_the_readme_reference() -> None:
    reference = manifest_reference_markdown()
    for key in ("bearer_tokens", "max_tools_bytes", "drop_keys", "server_variables", "startup_timeout", "fixed",
                "pinned", "expose", "json_response", "token_url"):
        assert f"`{key}`" in reference


def test_the_quick_start_manifest_validates() -> None:
    done = mcprt_process("validate", str(REPO / "catalog" / "quickstart" / "mcp.yaml"))
    assert done.returncode == 0, done.stderr
    assert "4 tools" in done.stderr


def test_the_quick_start_call_is_pruned() -> None:
    done = mcprt_process("call", str(REPO / "catalog" / "quickstart" / "mcp.yaml"), "search_notes",
                         "--args", '{"query": "retry"}')  # the README's quick start, as a user types it
    assert done.returncode == 0, done.stderr
    text = json.loads(done.stdout)["content"][0]["text"]
    notes = json.loads(text)
    assert notes[0] == {"id": 4, "title": "Retry budgets", "tags": ["design", "notes"]}
    assert all(set(note) == {"id", "title", "tags"} for note in notes)


def test_durations_that_may_be_zero_are_called_durations() -> None:
    # Review: `ping_every` (DurationOrZero, whose examples lack "30s") was listed as a "size"
    reference = manifest_reference_markdown()
    for key in ("ping_every", "ping_timeout"):
        rows = [line for line in reference.splitlines() if line.startswith(f"| `{key}` |")]
        assert rows and all(row.split("|")[2].strip() == "duration" for row in rows), rows
    assert "| `max_request_bytes` | size |" in reference
