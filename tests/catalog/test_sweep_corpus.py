"""catalog/_tools/sweep_corpus.py on a small corpus: each outcome is told apart, and every kind the APIs.guru
sweep found (tests/fixtures/specs/kinds/) now comes out ok."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "catalog" / "_tools" / "sweep_corpus.py"
KINDS = ROOT / "tests" / "fixtures" / "specs" / "kinds"


def test_the_sweep_sorts_outcomes_and_finds_the_kinds_fixed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(KINDS, corpus / "kinds")
    (corpus / "not-an-api.json").write_text('{"hello": "world"}')
    (corpus / "broken.yaml").write_text("openapi: 3.0.0\ninfo: {title: x\n")
    # a description whose tool would carry markup: the check sees through mcprt's output, not its code
    (corpus / "markup.json").write_text(json.dumps({
        "openapi": "3.0.0", "info": {"title": "Markup", "version": "1"}, "servers": [{"url": "https://x.example"}],
        "paths": {"/a": {"get": {"operationId": "getA", "summary": "Get &amp;amp;lt;p&amp;amp;gt; thrice escaped",
                                 "responses": {"200": {"description": "ok"}}}}}}))
    out = tmp_path / "sweep.json"
    done = subprocess.run([sys.executable, str(SWEEP), str(corpus), "--jobs", "2", "--timeout", "300",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    records = {r["spec"]: r for r in json.loads(out.read_text())["records"]}
    for kind in KINDS.glob("*.json"):
        record = records[f"kinds/{kind.name}"]
        assert record["outcome"] == "ok", record
        assert record["tools"] == record["operations"] > 0
    assert records["not-an-api.json"]["outcome"] == "refused", records["not-an-api.json"]
    assert records["broken.yaml"]["outcome"] == "refused", records["broken.yaml"]
    assert "traceback" not in records["broken.yaml"] and "broken.yaml:" in records["broken.yaml"]["message"]
    assert records["markup.json"]["outcome"] == "faulty"
    assert list(records["markup.json"]["faults"]) == ["HTML in a description"]
    assert "| ok | 4 |" in done.stdout and "| refused | 2 |" in done.stdout and "| faulty | 1 |" in done.stdout
