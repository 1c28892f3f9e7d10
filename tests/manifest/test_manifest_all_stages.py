"""Validation reports every problem in one pass: a schema error in one part no longer hides what the
later stages (opening sources, checking tool overrides) find in the valid parts. Real CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

TOOLS = 'def search(q: str) -> str:\n    """Search."""\n    return q\n'


def _project(tmp_path: Path, manifest: str) -> Path:
    (tmp_path / "tools_all_stages.py").write_text(TOOLS)
    path = tmp_path / "mcp.yaml"
    path.write_text(textwrap.dedent(manifest))
    return path


@pytest.mark.parametrize("offline", [(), ("--offline",)], ids=["online", "offline"])
def test_an_override_typo_is_reported_with_the_schema_errors(tmp_path: Path, offline: tuple[str, ...]) -> None:
    """`--offline` too (found by a new-user trial: `validate --offline`, what CI runs, stopped at the schema
    errors: its loader ran before the stage that checks the valid rest)."""
    manifest = _project(tmp_path, """\
        version: 1
        server: {name: v, bogus_key: 1}
        sources:
          a:
            python: tools_all_stages
            retries: many
          b:
            python: tools_all_stages
            prefix: b_
            tools:
              serch: {description: typo}
        """)
    done = mcprt_cli("validate", str(manifest), *offline)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{manifest}:2:") and "unknown key 'bogus_key'" in line for line in lines), lines
    assert any(":6:5: sources.a: unknown key 'retries'" in line for line in lines), lines
    # an override naming no operation is a warning (an upstream's removed operation must not stop the others)
    assert any(":11:" in line and "warning: source 'b' has no operation 'serch' (did you mean 'search'?)" in line
               for line in lines), lines
    assert "2 errors" in done.stderr


def test_a_source_that_cannot_open_is_reported_with_the_schema_errors(tmp_path: Path) -> None:
    manifest = _project(tmp_path, """\
        version: 1
        defaults: {timeout: soon}
        sources:
          a:
            python: no_such_module_anywhere
          b:
            openapi: missing.json
        """)
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2
    assert "defaults.timeout" in done.stderr or ":2:" in done.stderr, done.stderr
    assert "no_such_module_anywhere" in done.stderr, done.stderr
    assert "missing.json" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_version_still_stops_at_the_schema(tmp_path: Path) -> None:
    manifest = _project(tmp_path, """\
        version: 7
        sources:
          b:
            python: tools_all_stages
            tools:
              serch: {description: typo}
        """)
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2
    assert "version" in done.stderr and "serch" not in done.stderr


def test_a_schema_error_in_one_override_leaves_the_sources_other_overrides_checked(tmp_path: Path) -> None:
    """Found by a new-user trial: a misspelt key in one tool's override (`output_schma`) left the whole source
    out of the later stages, so a misspelt operation key in the same source's next override went unreported."""
    manifest = _project(tmp_path, """\
        version: 1
        sources:
          a:
            python: tools_all_stages
            tools:
              search: {description: fine, output_schma: false}
              serch: {description: typo}
        """)
    for offline in ((), ("--offline",)):
        done = mcprt_cli("validate", str(manifest), *offline)
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert any(":6:" in line and "unknown key 'output_schma' (did you mean 'output_schema'?)" in line
                   for line in lines), lines
        assert any(":7:" in line and "warning: source 'a' has no operation 'serch' (did you mean 'search'?)" in line
                   for line in lines), (offline, lines)
        assert "1 error" in done.stderr, done.stderr



# The trial's Tickets API, cut to the two operations its manifest names (tests/gitops trial "gitops", fault 7).
TICKETS_API = """\
openapi: 3.0.3
info: {title: Tickets API, version: "1.0"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /tickets:
    post:
      operationId: createTicket
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [title]
              properties: {title: {type: string}, priority: {type: integer}}
      responses: {"201": {description: created}}
  /tickets/{id}/comments:
    post:
      operationId: addComment
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {body: {type: string}}}}}
      responses: {"201": {description: created}}
"""

TICKETS_MANIFEST = """\
version: 1
server:
  name: tickets_api
  auth:
    tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}
policy:
  default: allow
  rules:
    - {match: {tools: [create_tiket]}, action: deny}
    - {match: {tools: [create_ticket], when: "priorty == `1`"}, action: approve}
    - {match: {principals: [ci_bot], tools: [create_ticket]}, action: deny}
sources:
  tickets_api:
    openapi: tickets-api.yaml
    tools:
      createTicket:
        name: create_ticket
      addComment:
        name: COMMENT_NAME
"""


def _tickets(tmp_path: Path, comment_name: str) -> Path:
    (tmp_path / "tickets-api.yaml").write_text(TICKETS_API)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(TICKETS_MANIFEST.replace("COMMENT_NAME", comment_name))
    return manifest


@pytest.mark.parametrize("offline", [(), ("--offline",)], ids=["online", "offline"])
def test_a_duplicate_tool_name_does_not_hide_the_policy_problems(tmp_path: Path, offline: tuple[str, ...]) -> None:
    """Trial "gitops", fault 7: a duplicate `name: create_ticket` was the only line reported; the policy's
    three problems (a rule naming no tool, a `when` on an argument no tool takes, a principal nobody is)
    appeared only once the duplicate was gone. Every check that does not need the failed part still runs."""
    manifest = _tickets(tmp_path, "create_ticket")
    done = mcprt_cli("validate", str(manifest), *offline)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{manifest}:19:15: duplicate tool name 'create_ticket'") for line in lines), lines
    assert any(line.startswith(f"{manifest}:9:") and "policy.rules.0: 'create_tiket' matches no tool "
               "(did you mean 'create_ticket'?)" in line for line in lines), lines
    assert any(line.startswith(f"{manifest}:10:") and "warning: policy.rules.1: `when` reads 'priorty'" in line
               for line in lines), lines
    assert any(line.startswith(f"{manifest}:11:") and "warning: policy.rules.2: principal 'ci_bot' is never a caller"
               in line and "(did you mean 'ci-bot'?)" in line for line in lines), lines
    assert lines[-1] == "2 errors", lines
    assert "Traceback" not in done.stderr

    # the same file without the duplicate: the same policy findings, now the only ones (nothing was hidden)
    fixed = _tickets(tmp_path, "add_comment")
    again = mcprt_cli("validate", str(fixed), *offline)
    assert again.returncode == 2
    policy_lines = [line for line in again.stderr.splitlines() if "policy.rules." in line]
    assert len(policy_lines) == 3, again.stderr
    assert again.stderr.splitlines()[-1] == "1 error"


def test_a_source_that_cannot_open_leaves_the_others_overrides_and_the_policy_checked(tmp_path: Path) -> None:
    """The same kind one stage earlier: a source that fails to open stopped the build of every other
    source's tools, so their override typos and the policy went unchecked. The failed source's own
    overrides and the rules that could name its tools wait (they cannot be judged), as for a source down."""
    manifest = _project(tmp_path, """\
        version: 1
        policy:
          rules:
            - {match: {tools: [serch]}, action: deny}
            - {match: {tools: [gone_tool]}, action: deny}
        sources:
          a:
            python: tools_all_stages
            tools:
              serch: {description: typo}
          gone:
            openapi: missing.json
            prefix: gone_
            tools:
              anything: {name: gone_tool}
        """)
    done = mcprt_cli("validate", str(manifest))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any("missing.json" in line for line in lines), lines
    assert any(":10:" in line and "warning: source 'a' has no operation 'serch' (did you mean 'search'?)" in line
               for line in lines), lines
    # a policy rule's exact name matching nothing stays an error: policy fails closed
    assert any(":4:" in line and "policy.rules.0: 'serch' matches no tool (did you mean 'search'?)" in line
               for line in lines), lines
    assert not any("gone_tool" in line or "'anything'" in line for line in lines), lines  # waits for its source
    assert lines[-1] == "2 errors", lines


def test_a_schema_error_leaves_the_policy_checked(tmp_path: Path) -> None:
    """And the partial load: a schema error elsewhere in the file left the policy unchecked."""
    manifest = _project(tmp_path, """\
        version: 1
        defaults: {timeout: soon}
        policy:
          rules:
            - {match: {tools: [serch]}, action: deny}
        sources:
          a:
            python: tools_all_stages
        """)
    done = mcprt_cli("validate", str(manifest), "--offline")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any(":2:" in line for line in lines), lines
    assert any(":5:" in line and "policy.rules.0: 'serch' matches no tool (did you mean 'search'?)" in line
               for line in lines), lines
    assert lines[-1] == "2 errors", lines


@pytest.mark.parametrize(("source", "said"), [
    # a tool's `name` the schema refuses: the rule names the name meant, which the partial manifest lacks
    ("    python: tools_all_stages\n    tools:\n      search: {name: 'fetch ticket!'}\n", "sources.t.tools.search.name"),
    # the whole source refused: neither its tools nor the source itself are unknown names
    ("    python: tools_all_stages\n    retries: many\n", "sources.t: unknown key 'retries'"),
], ids=["tool-name", "whole-source"])
def test_a_part_the_schema_left_out_is_pending_for_the_policy(tmp_path: Path, source: str, said: str) -> None:
    """Review of the "all of them at once" pass: after a schema error in a tool's `name`, the policy ran on the
    partial manifest (which lacks that override) and added "policy.rules.0: 'fetch_ticket' matches no tool (did you mean
    …?)" — an error that only follows from the first, with a wrong suggestion. A source the schema left out, whole
    or in part, is pending for the policy, as one that is down (`policy.checks`; the build still checks its
    other overrides); the policy's own typo elsewhere is still said."""
    manifest = _project(tmp_path, "version: 1\npolicy:\n  rules:\n"
                                  "    - {match: {tools: [fetch_ticket], sources: [t]}, action: deny}\n"
                                  "    - {match: {sources: [othr]}, action: deny}\n"
                                  "sources:\n  t:\n" + source + "  other:\n    python: tools_all_stages\n"
                                  "    prefix: o_\n")
    done = mcprt_cli("validate", "--offline", str(manifest))
    assert done.returncode == 2, done.stderr
    assert said in done.stderr, done.stderr
    assert "'fetch_ticket' matches no tool" not in done.stderr and "no source named 't'" not in done.stderr, done.stderr
    assert "policy.rules.1: no source named 'othr' (did you mean 'other'?)" in done.stderr, done.stderr
    assert "2 errors" in done.stderr, done.stderr
