"""A schema error in one block of `server:` leaves that block out, and no check runs on a stand-in default.

A tenant-gateway trial (fault 5): one wrong `server.observability.audit` (a mapping) left all of `server` out of
the partial manifest the later checks ran on, so `validate` printed six false warnings besides the error — every
policy principal "is never a caller here: server.auth gives anonymous, stdio", and "add server.auth.tokens"
though the tokens were defined. Now only the failing block is left out, and a check reading a setting that was
left out (`LoadedManifest.settled`) stands aside instead of judging its default.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio

from tests.support.cli import mcprt_process
from tests.support.served import child_env, mcprt_http

HERE = Path(__file__).parent
TOKENS = {"ACME_TOKEN": "acme-secret-token-1111", "GLOBEX_TOKEN": "globex-secret-token-2222",
          "OPS_TOKEN": "ops-secret-token-5555"}

MANIFEST = """\
version: 1
server:
  auth:
    tokens:
      acme: "${ACME_TOKEN}"
      globex: "${GLOBEX_TOKEN}"
      ops: "${OPS_TOKEN}"
  observability:
    audit: audit.jsonl
sources:
  ops:
    python: policy_tools
policy:
  default: allow
  rules:
    - {match: {tools: [delete_item], principals: [globex]}, action: deny, reason: "globex is read-only"}
    - {match: {tools: [refund], principals: [acme], when: "amount > `1000`"}, action: approve}
  approvals: {wait: 5s, valid_for: 10m, approvers: [ops]}
  rate_limits:
    - {match: {principals: [acme]}, per: principal, limit: 10/min, name: acme}
"""
BAD_AUDIT = ("    audit: audit.jsonl", "    audit: {path: audit.jsonl}")


def _validate(folder: Path, text: str) -> tuple[int, list[str]]:
    shutil.copy(HERE.parent / "policy" / "policy_tools.py", folder)
    (folder / "mcp.yaml").write_text(text)
    done = mcprt_process("validate", "mcp.yaml", cwd=folder, env={**TOKENS, "MCPRT_TRANSPORT": "http"}, forked=True)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [line for line in done.stderr.splitlines() if line.startswith("mcp.yaml:")]


def test_a_wrong_audit_setting_is_the_only_thing_said(tmp_path: Path) -> None:
    """The trial's input: `observability: {audit: {path: …}}` — one error, no warning about principals or auth."""
    code, lines = _validate(tmp_path, MANIFEST.replace(*BAD_AUDIT))
    assert code == 2
    assert lines == ["mcp.yaml:9:12: server.observability.audit: expected a string, got a mapping"], lines


def test_the_checks_of_the_blocks_that_stand_still_run(tmp_path: Path) -> None:
    """Only the failing block is left out: a principal no token names is still warned about in the same pass,
    against the tokens written (not a stand-in `anonymous, stdio`)."""
    text = MANIFEST.replace(*BAD_AUDIT).replace("principals: [globex]}", "principals: [globexx]}")
    code, lines = _validate(tmp_path, text)
    assert code == 2
    assert lines[0] == "mcp.yaml:9:12: server.observability.audit: expected a string, got a mapping"
    assert lines[1:] == ["mcp.yaml:16:51: warning: policy.rules.0: principal 'globexx' is never a caller here: server.auth "
                         "gives acme, globex, ops, stdio (no OAuth) (did you mean 'globex'?)"], lines


def test_an_error_inside_server_auth_judges_no_principal(tmp_path: Path) -> None:
    """`server.auth` itself fails (a token name the schema refuses): what it would give is unknown, so no
    principal, approver or "add server.auth.tokens" warning; a `when` on an argument no tool takes still is."""
    text = MANIFEST.replace("      ops: ", '      "ops team": ').replace("amount > `1000`", "amont > `1000`")
    code, lines = _validate(tmp_path, text)
    assert code == 2
    [error] = [line for line in lines if "warning" not in line]
    assert error.startswith("mcp.yaml:7:7: server.auth.tokens.ops team: "), lines
    assert all("never a caller" not in line and "add server.auth.tokens" not in line for line in lines), lines
    [when] = [line for line in lines if "warning" in line]
    assert "policy.rules.1: `when` reads 'amont', which none of its tools (refund) takes" in when, lines


def test_the_manifest_as_written_validates(tmp_path: Path) -> None:
    code, lines = _validate(tmp_path, MANIFEST)
    assert code == 0 and not [line for line in lines if "warning" in line], lines


async def test_a_reload_failing_in_one_server_block_says_only_that(tmp_path: Path) -> None:
    """The same on a reload: the failed attempt's log names the error and no false warning; the tools keep serving."""
    shutil.copy(HERE.parent / "policy" / "policy_tools.py", tmp_path)
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST)
    with mcprt_http(manifest, env=child_env(**TOKENS)) as up:
        mark = up.log_mark()
        manifest.write_text(MANIFEST.replace(*BAD_AUDIT))
        # the attempt's lines follow its "reload failed" summary: wait for the error itself (a sleep raced it)
        await anyio.to_thread.run_sync(lambda: up.wait_log("server.observability.audit: expected a string"))
        said = up.log_since(mark)
        assert "reload failed" in said, said
        assert "server.observability.audit: expected a string, got a mapping" in said, said
        assert "never a caller" not in said and "add server.auth.tokens" not in said, said
        assert up.health()["status"] == "ok"


# Two GET operations whose descriptions differ only after the first paragraph: `style: full` tells them apart,
# the default `brief` does not (a review's input)
ALIKE_SPEC = """\
openapi: 3.0.3
info: {title: T, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /a:
    get:
      operationId: list_a
      description: "Lists things.\\n\\nThe pets, all of them."
      responses: {"200": {description: ok}}
  /b:
    get:
      operationId: list_b
      description: "Lists things.\\n\\nThe cats, all of them."
      responses: {"200": {description: ok}}
"""
FULL = """\
version: 1
defaults:
  descriptions: {style: full}
sources:
  api: {openapi: spec.yaml}
"""


def _validate_alike(folder: Path, text: str) -> tuple[int, list[str]]:
    (folder / "spec.yaml").write_text(ALIKE_SPEC)
    (folder / "mcp.yaml").write_text(text)
    done = mcprt_process("validate", "mcp.yaml", cwd=folder, forked=True)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [line for line in done.stderr.splitlines() if line.startswith("mcp.yaml:")
                             and not line.startswith("mcp.yaml: ok")]


def test_an_error_in_one_defaults_block_leaves_the_others_standing(tmp_path: Path) -> None:
    """A wrong `defaults.timeout` leaves out that block only: the written `style: full` still tells the two tools
    apart, so the one error is all that is said (before: all of `defaults` was left out, and the stand-in `brief`
    made a false "same description" warning)."""
    code, lines = _validate_alike(tmp_path, FULL)
    assert code == 0 and lines == [], lines
    code, lines = _validate_alike(tmp_path, FULL.replace("{style: full}\n", "{style: full}\n  timeout: bogus\n"))
    assert code == 2
    assert lines == ["mcp.yaml:4:12: defaults.timeout: invalid duration 'bogus': use a number of seconds or '30s', "
                     "'500ms', '2m', '1h'"], lines


def test_no_likeness_is_judged_on_stand_in_descriptions(tmp_path: Path) -> None:
    """`defaults.descriptions` itself fails: the descriptions built are the default's, so no warning that they are
    alike; under the default `brief` written out they are, and the warning is given."""
    code, lines = _validate_alike(tmp_path, FULL.replace("{style: full}", "{style: full, max_chars: -5}"))
    assert code == 2
    assert lines == ["mcp.yaml:3:42: defaults.descriptions.max_chars: Input should be greater than or equal to 20"], \
        lines
    code, lines = _validate_alike(tmp_path, FULL.replace("style: full", "style: brief"))
    assert code == 0
    assert len(lines) == 1 and "tools 'list_a', 'list_b' have the same description" in lines[0], lines
