"""Policies as reviewed code: `mcprt validate` warnings, `mcprt diff` flags loosening, `mcprt test`
cases assert decisions for principals, bad rules are `file:line:col` errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli
from tests.support.zygote import script_command_yaml

HERE = Path(__file__).parent
BASE = """\
version: 1
server:
  auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}}
sources:
  ops:
    python: policy_tools
policy:
  rules:
    - {match: {tools: ["delete*"]}, action: deny, reason: "deleting is not allowed here"}
    - {match: {tools: [showSecret], principals: [ci-bot]}, action: hide}
    - {match: {tools: [refund], when: "amount > `1000`"}, action: approve}
  approvals: {approvers: [alice], required: 1}
  rate_limits:
    - {match: {tools: ["*"]}, per: principal, limit: 60/min}
"""


def mcprt(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=folder,
                     env={"ALICE_TOKEN": "alice-token", "CI_TOKEN": "ci-token",
                          "MCPRT_CACHE_DIR": str(folder / ".cache")})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    (tmp_path / "mcp.yaml").write_text(BASE)
    return tmp_path


def test_validate_warns_about_unreachable_rules_and_unnamed_twin_limits(folder: Path) -> None:
    """… and about unnamed rate limits alike in match, per and window (only their order keys their
    buckets across a reload); a daily limit beside a per-minute one over the same calls is told apart."""
    (folder / "mcp.yaml").write_text(BASE.replace(
        "  approvals:", "    - {match: {}, action: allow}\n    - {match: {tools: [add]}, action: deny}\n  approvals:")
        + '    - {match: {tools: ["*"]}, per: principal, limit: 1000/day}\n'
        + '    - {match: {tools: ["*"]}, limit: 120/min}\n')
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert "mcp.yaml:13:7: warning: policy.rules.4 is unreachable: policy.rules.3 matches every call first" in result.stderr
    assert "mcp.yaml:18:7: warning: policy.rate_limits.2 has the same match, per and window as policy.rate_limits.0: " \
           "give each a `name`" in result.stderr, result.stderr
    assert "policy.rate_limits.1 has" not in result.stderr


# Found by a later pass: a misspelt source or tool in a rule or rate limit was only a warning (exit 0 without
# `--strict`), so `deny` on a typo left the tool allowed and a rate limit on `locl` limited nothing.
NAMING_NOTHING = [
    ('["delete*"]', '["delete*", "remove"]', "mcp.yaml:9:35: policy.rules.0: 'remove' matches no tool: "
     "it would govern no call"),
    ("tools: [refund],", "tools: [refnud],", "mcp.yaml:11:24: policy.rules.2: 'refnud' matches no tool "
     "(did you mean 'refund'?): it would govern no call"),
    ("tools: [showSecret]", "sources: [op], tools: [showSecret]", "mcp.yaml:10:26: policy.rules.1: no source named "
     "'op' (did you mean 'ops'?): it would govern no call"),
    ('{match: {tools: ["*"]}, per', '{match: {sources: [locl]}, per', "mcp.yaml:14:26: policy.rate_limits.0: no source "
     "named 'locl': it would govern no call"),
]


@pytest.mark.parametrize(("old", "new", "said"), NAMING_NOTHING, ids=["name", "tool", "rule source", "limit source"])
def test_a_rule_or_limit_naming_no_tool_or_source_is_a_located_error(folder: Path, old: str, new: str,
                                                                      said: str) -> None:
    assert old in BASE
    (folder / "mcp.yaml").write_text(BASE.replace(old, new, 1))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert said in result.stderr.splitlines(), result.stderr


def test_a_wildcard_glob_matching_nothing_is_a_defensive_warning(folder: Path) -> None:
    """Found by review: `hide: admin_*` kept for tools to come (README's worked example) was refused like a
    typo. A glob with `*`, `?` or `[` that matches nothing is a warning; an exact name stays an error (above)."""
    (folder / "mcp.yaml").write_text(BASE.replace('["delete*"]', '["delete*", "remove*", "admin_[ab]", "x?"]'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    for col, glob in ((35, "remove*"), (46, "admin_[ab]"), (60, "x?")):
        assert f"mcp.yaml:9:{col}: warning: policy.rules.0: '{glob}' matches no tool now: it governs no call until a tool " \
               "it matches is served (an exact name matching nothing is an error)" in result.stderr.splitlines(), \
               result.stderr
    assert mcprt(folder, "validate", "mcp.yaml", "--strict").returncode != 0  # --strict still refuses warnings


def test_the_readmes_worked_example_validates_on_the_petstore_catalog(tmp_path: Path) -> None:
    """Found by review: README's worked policy example pasted onto catalog/petstore exited 2 (its `admin_*` glob,
    and its exact `refund`, matched nothing there)."""
    readme = (HERE.parent.parent / "README.md").read_text()
    example = readme[readme.index("Worked example — read-only by default"):]
    example = example[example.index("```yaml\n") + 8:example.index("```", example.index("```yaml\n") + 8)]
    auth, policy = example.removeprefix("server:\n").split("policy:", 1)
    shutil.copytree(HERE.parent.parent / "catalog" / "petstore", tmp_path, dirs_exist_ok=True)
    manifest = (tmp_path / "mcp.yaml").read_text()
    assert "server:\n  name: petstore\n" in manifest
    (tmp_path / "mcp.yaml").write_text(manifest.replace("server:\n", "server:\n" + auth, 1) + "policy:" + policy)
    result = mcprt(tmp_path, "validate", "mcp.yaml", "--offline")
    assert result.returncode == 0, result.stderr
    assert "warning: policy.rules.1: 'admin_*' matches no tool now" in result.stderr, result.stderr


def test_validate_no_exec_counts_the_sources_it_does_not_open(folder: Path) -> None:
    """Found by review: `validate --offline --no-exec` (README's command for untrusted pull requests) left the
    `python:`/`command:` sources out and then refused every rule naming them or their tools; they wait now,
    as for a source that is down, while a misspelt source is still an error."""
    (folder / "mcp.yaml").write_text(BASE.replace("tools: [showSecret]", "sources: [ops], tools: [showSecret]"))
    result = mcprt(folder, "validate", "mcp.yaml", "--offline", "--no-exec")
    assert result.returncode == 0, result.stderr
    assert "not checked (--no-exec; these run code): ops (python)" in result.stderr, result.stderr
    (folder / "mcp.yaml").write_text(BASE.replace("tools: [showSecret]", "sources: [op], tools: [showSecret]"))
    result = mcprt(folder, "validate", "mcp.yaml", "--offline", "--no-exec")
    assert result.returncode == 2 and "policy.rules.1: no source named 'op' (did you mean 'ops'?)" in result.stderr, \
        result.stderr


def test_a_glob_only_a_proxied_source_could_provide_is_a_warning(folder: Path) -> None:
    """A proxied server's tools are known once it answers and change while it runs: a glob it could provide
    but does not list now is a warning (said again at each rebuild), not a refused manifest; a glob that
    names the Python source only (`sources: [ops]`) is still an error."""
    server = HERE.parent / "sources" / "fixtures" / "mcp_server.py"
    (folder / "mcp.yaml").write_text(BASE.replace("    python: policy_tools\n", "    python: policy_tools\n"
                                                  f"  remote: {{command: {script_command_yaml(server)}, "
                                                  "prefix: r_}\n")
                                     + '    - {match: {tools: ["r_ech"]}, limit: 5/min}\n')
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert "mcp.yaml:16:24: warning: policy.rate_limits.1: 'r_ech' matches no tool (did you mean 'r_echo'?): " \
           "proxied source 'remote' lists no such tool now (checked again whenever its tool list changes)" \
           in result.stderr.splitlines(), result.stderr
    (folder / "mcp.yaml").write_text((folder / "mcp.yaml").read_text().replace('tools: ["r_ech"]',
                                                                               'tools: ["r_ech"], sources: [ops]'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "policy.rate_limits.1: 'r_ech' matches no tool (did you mean 'r_echo'?): " \
        "it would govern no call" in result.stderr, result.stderr


def test_bad_rules_are_located_errors(folder: Path) -> None:
    text = BASE.replace("when: \"amount > `1000`\"", "when: \"amount >> `1000`\"")
    (folder / "mcp.yaml").write_text(text)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mcp.yaml:11:39: policy.rules.2.match.when: invalid JMESPath in when: invalid token (column 9)" in result.stderr
    (folder / "mcp.yaml").write_text(BASE.replace("limit: 60/min", "limit: 60/fortnight").replace(
        "principals: [ci-bot]}", "principals: [ci-bot], when: \"a\"}"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2
    assert "mcp.yaml:10:7: policy.rules.1: a `hide` rule cannot use `when`" in result.stderr
    assert "mcp.yaml:14:54: policy.rate_limits.0.limit: invalid rate '60/fortnight'" in result.stderr


def test_diff_flags_loosening_as_breaking(folder: Path) -> None:
    looser = BASE.replace("action: deny, reason: \"deleting is not allowed here\"", "action: approve").replace(
        "approvers: [alice]", "approvers: [alice, ci-bot]").replace("60/min", "600/min")
    (folder / "new.yaml").write_text(looser)
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml", "--fail-on", "breaking")
    assert result.returncode == 1
    assert "BREAKING policy rule action changed (loosened): rules[0]: deny → approve" in result.stdout
    assert "BREAKING approvers changed (loosened): alice → alice, ci-bot" in result.stdout
    assert "BREAKING rate limit changed (loosened): rate_limits[0]: 60 per 60 s per principal → 600 per 60 s" \
        in result.stdout
    stricter = BASE.replace("approvers: [alice], required: 1", "approvers: [alice], required: 2")
    (folder / "new.yaml").write_text(stricter)
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml", "--fail-on", "breaking")
    assert result.returncode == 0, result.stdout
    assert "approvals required changed: 1 → 2" in result.stdout and "BREAKING" not in result.stdout


def test_diff_pairs_rate_limits_as_their_buckets_are(folder: Path) -> None:
    """Unnamed twins (same match, per and window) reordered: diff paired them by position and flagged
    "rate limit changed" twice (once as loosened) while the runtime swapped their buckets. Buckets now
    follow the count, and diff pairs limits as buckets are: the reorder is no change; a limit whose
    `match` changed says its buckets start afresh."""
    limit = '    - {match: {tools: ["*"]}, per: principal, limit: 60/min}\n'
    twin = '    - {match: {tools: ["*"]}, per: principal, limit: 600/min}\n'
    burst = '    - {match: {tools: ["add"]}, per: global, limit: 5/s}\n'
    (folder / "mcp.yaml").write_text(BASE + twin + burst)
    (folder / "new.yaml").write_text(BASE.replace(limit, twin + limit) + burst.replace('"add"', '"ping"'))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "per principal" not in result.stdout, result.stdout  # the twins: no change
    assert "rate limit changed (loosened): rate_limits[2]: 5 per 1 s per global → 5 per 1 s per global (new buckets: " \
           "the calls already made stop counting)" in result.stdout, result.stdout


def test_cases_assert_decisions_per_principal(folder: Path) -> None:
    cases = folder / "cases"
    (cases / "delete_item").mkdir(parents=True)
    (cases / "delete_item" / "policy.yaml").write_text(
        "tool: delete_item\nargs: {item: x}\npolicy:\n  - {principal: ci-bot, decision: deny}\n"
        "  - {principal: alice, decision: deny}\n")
    (cases / "refund").mkdir()
    (cases / "refund" / "big.yaml").write_text(
        "tool: refund\nargs: {order: o, amount: 5000}\npolicy:\n  - {principal: ci-bot, decision: approve}\n")
    (cases / "showSecret").mkdir()
    (cases / "showSecret" / "who.yaml").write_text(
        "tool: showSecret\npolicy:\n  - {principal: ci-bot, decision: hide}\n  - {principal: alice, decision: allow}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    (cases / "refund" / "small.yaml").write_text(
        "tool: refund\nargs: {order: o, amount: 5}\npolicy:\n  - {principal: ci-bot, decision: approve}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 1
    assert "policy for ci-bot: expected approve, got allow (default)" in result.stdout + result.stderr


def test_a_case_naming_a_caller_the_server_never_has_is_a_case_error(folder: Path) -> None:
    """`principal: alcie` (a typo of alice) passed as the anonymous-looking caller the rules do not name, and
    `scopes` without OAuth were accepted: the case asserted decisions for a caller that cannot exist. Each is
    a case error at the case's line, naming what the server gives."""
    cases = folder / "cases" / "refund"
    cases.mkdir(parents=True)
    (cases / "typo.yaml").write_text("tool: refund\nargs: {order: o, amount: 5}\npolicy:\n"
                                     "  - {principal: alice, decision: allow}\n  - {principal: alcie, decision: allow}\n")
    (cases / "scoped.yaml").write_text("tool: refund\nargs: {order: o, amount: 5}\npolicy:\n"
                                       "  - {principal: ci-bot, decision: allow, scopes: [refunds]}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert ("typo.yaml:5:17: policy[1]: principal 'alcie' is never a caller here: server.auth gives alice, ci-bot, "
            "stdio (no OAuth) (did you mean 'alice'?)") in out
    assert ("scoped.yaml:4:17: policy[0]: `client`, `scopes` and `claims` come only with OAuth access tokens, and "
            "server.auth has no oauth") in out


def test_with_oauth_a_case_scope_no_rule_reads_or_a_claim_not_kept_is_impossible() -> None:
    """With OAuth any name can call, but a scope no rule, limit or `oauth.scopes` names decides nothing (a
    typo of one that does), and a claim OAuth does not keep is never on the principal."""
    from mcprt.manifest.model import InboundAuth
    from mcprt.manifest.policy import Policy
    from mcprt.policy.never import impossible_caller

    auth = InboundAuth.model_validate({"oauth": {"issuer": "https://idp.example.com", "scopes": ["mcp"]}})
    policy = Policy.model_validate({"rules": [{"match": {"scopes": ["pets:write"]}, "action": "allow"}]})
    assert impossible_caller(policy, auth, "u-17", ["pets:write", "mcp"], ["groups"]) == []
    assert impossible_caller(policy, auth, "u-17", ["pets:wirte"], ["team"]) == [
        "scope 'pets:wirte' is in no rule's or rate limit's `scopes` (nor server.auth.oauth.scopes): it decides "
        "nothing (did you mean 'pets:write'?)",
        "claim 'team' is never on the principal: server.auth.oauth.claims does not keep it"]


NEVER = BASE.replace("""  approvals: {approvers: [alice], required: 1}""", """\
    - {match: {tools: [delete_item]}, action: allow}
    - {match: {tools: [showSecret], principals: [carol]}, action: hide}
    - {match: {tools: [refund], when: "amount > '1000'"}, action: deny}
    - {match: {tools: [refund], when: "amout > `1000`"}, action: deny}
    - {match: {tools: [transfer], scopes: [payments]}, action: deny}
    - {match: {tools: [transfer], when: "to == `7` || !(amount <= `5`)"}, action: deny}
  approvals: {approvers: [alice, dave], required: 2}
  admins: [eve]""")


def test_validate_warns_about_rule_parts_that_can_never_hold(folder: Path) -> None:
    """Each of these rules silently decided nothing (a deny that never refuses, approvals nobody can
    give) and `mcprt validate` said `ok` with no warning."""
    (folder / "mcp.yaml").write_text(NEVER)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    callers = "is never a caller here: server.auth gives alice, ci-bot, stdio (no OAuth)"
    for line in [
        "mcp.yaml:12:7: warning: policy.rules.3 is unreachable: policy.rules.0 matches every call it matches (delete_item) first",
        f"mcp.yaml:13:50: warning: policy.rules.4: principal 'carol' {callers}",
        # an ordering the argument's type cannot make fails the condition (review of mendrev3, problem 3)
        "mcp.yaml:14:39: warning: policy.rules.5: `when` compares 'amount' (integer) with '1000' (a string): an integer "
        "cannot be ordered with a string, so the condition fails on every call that gives it, and a `when` that "
        "fails applies a `deny` or `approve` rule to the call and never an `allow` rule (write a number in "
        "backticks: `1000`)",
        "mcp.yaml:15:39: warning: policy.rules.6: `when` reads 'amout', which none of its tools (refund) takes: it is null "
        "on every call (did you mean 'amount'?)",
        "mcp.yaml:16:43: warning: policy.rules.7: `scopes` never match: only OAuth access tokens carry scopes, and "
        "server.auth has no oauth",
        "mcp.yaml:17:41: warning: policy.rules.8: `when` compares 'to' (string) with `7` (an integer): it never holds",
        f"mcp.yaml:18:34: warning: approvals: approver 'dave' {callers}",
        "mcp.yaml:18:51: warning: policy.rules.2 needs 2 approvals but only 1 principal can approve (alice): those calls "
        "can never be approved",
        f"mcp.yaml:19:12: warning: admins: 'eve' {callers}",
    ]:
        assert line in result.stderr, result.stderr
    assert "policy.rules.8: `when` reads" not in result.stderr  # `amount` is an argument of transfer: no warning
    (folder / "mcp.yaml").write_text(NEVER.replace("server:\n  auth: {tokens: {alice: \"${ALICE_TOKEN}\", ci-bot: "
                                                   "\"${CI_TOKEN}\"}}\n", ""))
    result = mcprt(folder, "validate", "mcp.yaml")  # no auth: one warning says approvals cannot work, not two
    assert "approvals need named principals" in result.stderr and "can never be approved" not in result.stderr


def test_validate_knows_what_oauth_can_produce(folder: Path) -> None:
    """With OAuth any subject can call (no principal warning), scopes can match, and only the claims
    `server.auth.oauth.claims` keeps are on the principal."""
    oauth = NEVER.replace('ci-bot: "${CI_TOKEN}"}}', 'ci-bot: "${CI_TOKEN}"}, oauth: {issuer: "https://sso.example.com", '
                          'audience: "https://mcp.example.com/mcp", claims: [groups]}}').replace(
        "scopes: [payments]}", "scopes: [payments], claims: {groups: admins, department: ops}}")
    (folder / "mcp.yaml").write_text(oauth)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert "is never a caller" not in result.stderr and "scopes` never match" not in result.stderr
    assert "can never be approved" not in result.stderr and "claim 'groups'" not in result.stderr
    assert "warning: policy.rules.7: claim 'department' is never on the principal: add it to server.auth.oauth.claims " \
        "(only the claims listed there are kept)" in result.stderr


def test_diff_judges_a_rules_own_approvals_like_the_shared_ones(folder: Path) -> None:
    """A rule's own `approvals` loosened (fewer required, another approver) was one unflagged line,
    "policy rule settings changed: rules[2]", saying neither what changed nor who gains what."""
    old = BASE.replace("action: approve}", "action: approve, approvals: {required: 2, approvers: [alice, ci-bot]}}")
    (folder / "mcp.yaml").write_text(old)
    (folder / "new.yaml").write_text(old.replace("{required: 2, approvers: [alice, ci-bot]}",
                                                 "{required: 1, approvers: [alice, ops-*]}").replace(
        "deleting is not allowed here", "no deleting"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml", "--fail-on", "breaking")
    assert result.returncode == 1, result.stdout
    assert "BREAKING rules[2] approvals required changed (loosened): 2 → 1" in result.stdout
    assert "BREAKING rules[2] approvers changed (loosened): alice, ci-bot → alice, ops-* (may now decide: ops-*; " \
        "may no longer decide: ci-bot)" in result.stdout
    assert "policy rule reason changed: rules[0]: deleting is not allowed here → no deleting" in result.stdout
    (folder / "new.yaml").write_text(old.replace("required: 2, approvers: [alice, ci-bot]", "approvers: [alice, ci-bot]"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")  # the override dropped: policy.approvals' 1 applies
    assert "BREAKING rules[2] approvals required changed (loosened): 2 → 1" in result.stdout


def test_diff_names_whom_a_principals_change_concerns(folder: Path) -> None:
    """A rule's `principals` edited showed only the two JSON matches: a reviewer had to work out who gains
    or loses the tool."""
    (folder / "new.yaml").write_text(BASE.replace("principals: [ci-bot]}, action: hide",
                                                  "principals: [carol, ops-*]}, action: hide"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "(now hidden from: carol; no longer applies to: ci-bot; pattern changed: (none) → ops-*)" in result.stdout, \
        result.stdout
    assert "BREAKING policy rule match changed (loosened): rules[1]:" in result.stdout  # ci-bot sees showSecret again


@pytest.mark.parametrize(("was", "now", "said"), [
    # a name the old glob already covered gains nothing: the glob changed (it said "now hidden from: ops-a")
    ('["ops-*"]', "[ops-a]", "(pattern changed: ops-* → (none))"),
    ("[ops-a]", '["ops-*"]', "(pattern changed: (none) → ops-*)"),
    ('["ops-*", carol]', '["ops-*", carol, ops-b]', None),  # ops-b was covered: nobody to name
    ("[alice, bob]", "[alice]", "(no longer applies to: bob)"),
    ("[]", "[ops-a]", "(now hidden from only: ops-a (was: everyone))"),
    ("[ops-a]", "[]", "(now hidden from: everyone (was: ops-a))"),
])
def test_diff_names_only_principals_a_change_of_patterns_really_concerns(
        folder: Path, was: str, now: str, said: str | None) -> None:
    (folder / "mcp.yaml").write_text(BASE.replace("principals: [ci-bot]", f"principals: {was}"))
    (folder / "new.yaml").write_text(BASE.replace("principals: [ci-bot]", f"principals: {now}"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith(said) if said else line.endswith("}"), line


def test_diff_shows_a_rules_approvals_change_that_keeps_the_quorum(folder: Path) -> None:
    """Only `approvals.wait` changed: BASE printed "policy rule settings changed: rules[2]", then nothing."""
    (folder / "new.yaml").write_text(BASE.replace("action: approve}", "action: approve, approvals: {wait: 5s}}"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "policy rule settings changed: rules[2]: approvals {} → {\"wait\":5.0}" in result.stdout, result.stdout
    assert "BREAKING" not in result.stdout


def test_diff_flags_approvals_running_more_calls_as_loosened(folder: Path) -> None:
    """`approvals.uses` toward `valid_for` lets one approval run more calls: breaking for review; toward `once`
    narrows. A rule's own `uses` is judged as in force (its value, else `policy.approvals`')."""
    (folder / "new.yaml").write_text(BASE.replace("required: 1}", "required: 1, uses: valid_for}"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "BREAKING approval uses changed (loosened): auto → valid_for" in result.stdout, result.stdout
    (folder / "new.yaml").write_text(BASE.replace("action: approve}", "action: approve, approvals: {uses: once}}"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "rules[2] approval uses changed: auto → once" in result.stdout, result.stdout
    assert "BREAKING" not in result.stdout


def test_diff_approvers_from_anyone_to_a_list_narrows(folder: Path) -> None:
    """approvers: anyone → [alice] was flagged "(loosened)": it narrows who may decide."""
    old = BASE.replace("approvals: {approvers: [alice], required: 1}", "approvals: {required: 1}")
    (folder / "mcp.yaml").write_text(old)
    (folder / "new.yaml").write_text(BASE)
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "approvers changed: (anyone) → alice" in result.stdout, result.stdout
    assert "loosened" not in result.stdout and "BREAKING" not in result.stdout
    back = mcprt(folder, "diff", "new.yaml", "mcp.yaml")  # a list → anyone: loosened
    assert "BREAKING approvers changed (loosened): alice → (anyone)" in back.stdout, back.stdout


def test_validate_warns_when_a_matchs_tool_keys_fit_no_tool_together(folder: Path) -> None:
    """`methods: [DELETE]` on tools that have no HTTP method (or none that is DELETE) matched nothing and
    validate said ok: each key was checked alone (tool globs, sources), never together. Said for rules that
    grant (allow, approve) and rate limits; a deny or hide rule that fits nothing today is defensive (the
    README's worked example's `methods: [DELETE]` deny failed `validate --strict`)."""
    (folder / "mcp.yaml").write_text(BASE.replace("  approvals:", "    - {match: {methods: [DELETE]}, action: approve}\n"
                                                  "    - {match: {tools: [add], annotations: {readOnlyHint: true}}, "
                                                  "action: allow}\n"
                                                  "    - {match: {methods: [DELETE]}, action: deny}\n"
                                                  "    - {match: {methods: [DELETE]}, action: hide}\n  approvals:")
                                     + "    - {match: {methods: [DELETE]}, limit: 5/min}\n")
    result = mcprt(folder, "validate", "mcp.yaml")
    assert "mcp.yaml:12:15: warning: policy.rules.3 applies to no served tool: none fits its methods" in result.stderr, \
        result.stderr
    assert "mcp.yaml:13:15: warning: policy.rules.4 applies to no served tool: none fits its tools and annotations" \
        in result.stderr
    assert "policy.rate_limits.1 applies to no served tool: none fits its methods" in result.stderr
    for quiet in ("policy.rules.0", "policy.rules.5", "policy.rules.6"):
        assert f"{quiet} applies to no served tool" not in result.stderr
    defensive = BASE.replace("  approvals:", "    - {match: {methods: [DELETE]}, action: deny}\n  approvals:")
    (folder / "mcp.yaml").write_text(defensive)
    strict = mcprt(folder, "validate", "--strict", "mcp.yaml")
    assert strict.returncode == 0 and "warning" not in strict.stderr, strict.stderr


FUNCTIONS = ["length(amount) > `3`", "!contains(amount, '1')", "starts_with(to, `7`)", "contains(to, 'acct')",
             "lenght(to) > `1`", "abs(amount, amount) > `1`", "length(to) > `3` && abs(amount) > `9`"]


def test_validate_warns_about_a_when_function_that_fails_on_every_call(folder: Path) -> None:
    """`length(amount)` on an integer argument raises on every call, so the rule never matched (not even
    under `!`), and `validate` said nothing. A function given a type its signature never takes, an unknown
    function or a wrong count of arguments is now a located warning; fitting calls are not. An unknown function
    or a wrong count fails whatever the tools take: an error (exit 2), not a warning that ships a rule deciding
    every call by failing (review of mendrev3, problem 5)."""
    rules = "".join(f'    - {{match: {{tools: [transfer], when: "{w}"}}, action: deny}}\n' for w in FUNCTIONS)
    (folder / "mcp.yaml").write_text(BASE.replace("  approvals:", rules + "  approvals:"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2, result.stderr
    assert "2 errors" in result.stderr and "Traceback" not in result.stderr, result.stderr
    fails = ("it fails on every call that reaches it, and a `when` that fails applies a `deny` or `approve` rule "
             "to the call and never an `allow` rule")
    for line in [
        f"mcp.yaml:12:41: warning: policy.rules.3: `when` calls length() on 'amount' (integer), which takes string or array "
        f"or object: {fails}",
        f"mcp.yaml:13:41: warning: policy.rules.4: `when` calls contains() on 'amount' (integer), which takes array or "
        f"string: {fails}",
        f"mcp.yaml:14:41: warning: policy.rules.5: `when` calls starts_with() on `7` (integer), which takes string: {fails}",
        f"mcp.yaml:16:41: policy.rules.7: `when` calls lenght(), which JMESPath does not have: {fails} "
        "(did you mean 'length'?)",
        f"mcp.yaml:17:41: policy.rules.8: `when` calls abs() with 2 argument(s); it takes 1: {fails}",
    ]:
        assert line in result.stderr, result.stderr
    assert "policy.rules.6" not in result.stderr and "policy.rules.9" not in result.stderr, result.stderr


TAG_TOOLS = """\
def tag(item: str, labels: list[str] | None = None, color: str = "red", size: int | None = 3) -> str:
    \"\"\"Tag an item.\"\"\"
    return f"tagged {item}"
"""


def test_a_null_literal_holds_for_an_argument_a_call_can_leave_out(folder: Path) -> None:
    """`labels == `null`` on an optional argument was reported "never holds" (it matches when the argument
    is left out), and messages showed Python's `None`/`True`. Null can hold unless the argument is required
    or a default fills it; literals are shown as JSON."""
    (folder / "tag_tools.py").write_text(TAG_TOOLS)
    rules = ["labels == `null`", "`null` == labels", "item == `null`", "color == `null`", "size == `true`",
             "size == `null`"]
    text = BASE.replace("    python: policy_tools\n", "    python: policy_tools\n  tags:\n    python: tag_tools\n")
    text = text.replace("  approvals:", "".join(f'    - {{match: {{tools: [tag], when: "{r}"}}, action: deny}}\n'
                                                for r in rules) + "  approvals:")
    (folder / "mcp.yaml").write_text(text)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    warned = {line.split("warning: ")[1].split(":")[0]: line for line in result.stderr.splitlines() if "never holds" in line}
    assert set(warned) == {"policy.rules.5", "policy.rules.6", "policy.rules.7"}, result.stderr  # item (required), color (default), size
    assert "compares 'item' (string) with `null` (a null): it never holds" in warned["policy.rules.5"]
    assert "with `true` (a boolean)" in warned["policy.rules.7"]
    assert "None" not in result.stderr and "True" not in result.stderr


@pytest.mark.parametrize("huge", [
    pytest.param('{match: {tools: [refund], when: "amount == `HUGE`"}, action: deny}', id="when-literal"),
    pytest.param('{match: {tools: [refund], when: "`HUGE` == amount"}, action: deny}', id="when-literal-flipped"),
])
def test_a_huge_integer_literal_in_when_is_checked_not_an_internal_error(folder: Path, huge: str) -> None:
    """float() of a 400-digit integer overflows: `validate` (and a reload) said `internal error:
    OverflowError`. An integer literal of any size is compared as an integer."""
    rule = huge.replace("HUGE", "9" * 400)
    (folder / "mcp.yaml").write_text(BASE.replace("  approvals:", f"    - {rule}\n  approvals:"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0 and "internal error" not in result.stderr, result.stderr
    assert "never holds" not in result.stderr


@pytest.mark.parametrize("limit", ["HUGE/min", "5/HUGEmin", "HUGE/HUGEs"])
def test_a_rate_beyond_a_floats_range_is_a_located_error(folder: Path, limit: str) -> None:
    (folder / "mcp.yaml").write_text(BASE.replace("limit: 60/min", f"limit: {limit.replace('HUGE', '9' * 400)}"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "internal error" not in result.stderr, result.stderr
    assert "mcp.yaml:14:54: policy.rate_limits.0.limit: invalid rate '" in result.stderr
    assert "the count or period is too large" in result.stderr


# --- `clients`: rules matching the OAuth client a caller acts through --------------------------------

OAUTH_AUTH = ('auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}, oauth: {issuer: "https://sso.example.com", '
              'audience: "https://mcp.example.com/mcp"}}')
CLIENTS = BASE.replace('auth: {tokens: {alice: "${ALICE_TOKEN}", ci-bot: "${CI_TOKEN}"}}', OAUTH_AUTH).replace(
    """  approvals: {approvers: [alice], required: 1}""", """\
    - {match: {tools: [transfer], clients: [rogue-app, old-app]}, action: deny, reason: "not through that app"}
    - {match: {tools: [transfer], clients: ["known-*"]}, action: allow, name: known-clients}
    - {match: {tools: [transfer]}, action: approve, name: other-callers}
  approvals: {approvers: [alice], required: 1}""")


def test_cases_assert_decisions_per_oauth_client(folder: Path) -> None:
    """One user through three clients, and through none: each decided by its own client (the decision cache
    is keyed by the client too), and a caller without a client is no client (`clients` fails closed)."""
    (folder / "mcp.yaml").write_text(CLIENTS)
    cases = folder / "cases" / "transfer"
    cases.mkdir(parents=True)
    (cases / "clients.yaml").write_text(
        "tool: transfer\nargs: {to: acct-1, amount: 5}\npolicy:\n"
        "  - {principal: u-1, client: known-app, decision: allow}\n"
        "  - {principal: u-1, client: rogue-app, decision: deny}\n"
        "  - {principal: u-1, client: other-app, decision: approve}\n"
        "  - {principal: u-1, decision: approve}\n"
        "  - {principal: ci-bot, decision: approve}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    (cases / "wrong.yaml").write_text("tool: transfer\nargs: {to: acct-1, amount: 5}\npolicy:\n"
                                      "  - {principal: u-1, client: other-app, decision: allow}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 1
    assert "policy for u-1 through client other-app: expected allow, got approve (other-callers)" in result.stdout


def test_a_case_with_a_client_but_no_oauth_is_a_case_error(folder: Path) -> None:
    cases = folder / "cases" / "refund"
    cases.mkdir(parents=True)
    (cases / "client.yaml").write_text("tool: refund\nargs: {order: o, amount: 5}\npolicy:\n"
                                       "  - {principal: alice, client: agent, decision: allow}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 1
    assert ("client.yaml:4:17: policy[0]: `client`, `scopes` and `claims` come only with OAuth access tokens, and "
            "server.auth has no oauth") in result.stdout + result.stderr


def test_bad_client_ids_are_located_errors(folder: Path) -> None:
    (folder / "mcp.yaml").write_text(CLIENTS.replace("[rogue-app, old-app]", '["", "caf\\u00e9", " svc"]').replace(
        '["known-*"]', '"known-app"'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mcp.yaml:12:45: policy.rules.3.match.clients.0: a client id cannot be empty" in result.stderr
    assert ("mcp.yaml:12:49: policy.rules.3.match.clients.1: 'café' holds 'é': a client id is printable ASCII "
            "(RFC 6749 Appendix A.1, VSCHAR)") in result.stderr
    assert ("mcp.yaml:12:62: policy.rules.3.match.clients.2: ' svc' starts or ends with a space: write the client id "
            "as the token carries it") in result.stderr
    assert "mcp.yaml:13:44: policy.rules.4.match.clients: expected a list, got a string 'known-app'" in result.stderr


def test_validate_warns_about_clients_that_never_match(folder: Path) -> None:
    """Without OAuth no caller has a client; with it, a static token's name under `clients` matches only an
    OAuth client of that id, never the token (its caller has no client): `principals` was meant."""
    (folder / "mcp.yaml").write_text(CLIENTS.replace(OAUTH_AUTH, 'auth: {tokens: {alice: "${ALICE_TOKEN}", '
                                                     'ci-bot: "${CI_TOKEN}"}}').replace("scopes", "x"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert ("mcp.yaml:13:44: warning: policy.rules.4: `clients` never match: only OAuth access tokens carry a client id, and "
            "server.auth has no oauth") in result.stderr
    (folder / "mcp.yaml").write_text(CLIENTS.replace("[rogue-app, old-app]", "[rogue-app, ci-bot]"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert ("mcp.yaml:12:56: warning: policy.rules.3: client 'ci-bot' is the name of a caller with no OAuth client") \
        in result.stderr and "only OAuth access tokens carry a client id" not in result.stderr


@pytest.mark.parametrize(("old", "new", "breaking", "said"), [
    # a deny rule naming fewer clients refuses fewer calls
    ("[rogue-app, old-app]", "[rogue-app]", True, "(no longer applies to clients: old-app)"),
    ("[rogue-app, old-app]", "[rogue-app, old-app, new-app]", False, "(now denied to clients: new-app)"),
    ("[rogue-app, old-app]", "[]", False, "(now denied to: every caller (was: clients rogue-app, old-app))"),
    # an allow rule naming more clients (or a glob dropped for every caller) allows more calls
    ('["known-*"]', '["known-*", partner-app]', True, "(now allowed for clients: partner-app)"),
    ('["known-*"]', "[]", True, "(now allowed for: every caller (was: clients known-*))"),
    ('["known-*"]', "[known-app]", False, "(client pattern changed: known-* → (none))"),
])
def test_diff_flags_a_clients_change_that_loosens_a_rule(folder: Path, old: str, new: str, breaking: bool,
                                                         said: str) -> None:
    (folder / "mcp.yaml").write_text(CLIENTS)
    (folder / "new.yaml").write_text(CLIENTS.replace(f"clients: {old}", f"clients: {new}"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml", "--fail-on", "breaking")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith(said), line
    assert ("BREAKING" in line) == breaking, result.stdout


def test_a_clients_entry_is_literal_but_for_its_star_in_diff_and_validate(folder: Path) -> None:
    """`[ ] ?` are VSCHAR, legal in a client id: an entry holding them names that id (review of govleft,
    problem 1: read as a glob, it never matched the id it named). diff reads it so too: a deny rule naming
    one more client refuses more, not fewer, so it is no loosening; `\\*` is a literal star; a backslash
    before anything else is a located error, not an entry read two ways."""
    old = CLIENTS.replace("[rogue-app, old-app]", '["rogue[eu]", "old?app"]')
    (folder / "mcp.yaml").write_text(old)
    (folder / "new.yaml").write_text(old.replace('"old?app"]', '"old?app", "new\\\\*app"]'))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml", "--fail-on", "breaking")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith("(now denied to clients: new\\*app)") and "BREAKING" not in line, result.stdout
    assert result.returncode == 0, result.stdout
    (folder / "new.yaml").write_text(old.replace('"old?app"]', '"old\\\\?app"]'))
    result = mcprt(folder, "validate", "new.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("new.yaml:12:58: policy.rules.3.match.clients.1: 'old\\\\?app': a backslash in a client id escapes only "
            "'*' or '\\'") in result.stderr, result.stderr


def test_diff_flags_an_allow_rule_widened_to_more_principals(folder: Path) -> None:
    """The same kind for `principals`: an `allow` rule naming one more caller (bob, ahead of the approve rule
    that governed him) printed "now allowed for: bob" unflagged — only a narrowed refusing rule was loosening."""
    old = CLIENTS.replace('clients: ["known-*"]', "principals: [alice]")
    (folder / "mcp.yaml").write_text(old)
    (folder / "new.yaml").write_text(old.replace("principals: [alice]", "principals: [alice, bob]"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    assert "BREAKING policy rule match changed (loosened): rules[4] (known-clients): " in result.stdout, result.stdout
    assert "(now allowed for: bob)" in result.stdout
    (folder / "new.yaml").write_text(old.replace("principals: [alice]", "principals: [alice], methods: [POST]"))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")  # narrowed: it allows fewer calls
    assert "policy rule match changed: rules[4]" in result.stdout and "BREAKING policy rule match" not in result.stdout


# --- `client:` entries: an OAuth client acting for itself -------------------------------------------------


def test_a_client_entry_without_oauth_is_a_validate_warning(folder: Path) -> None:
    """Without `server.auth.oauth` no caller is an OAuth client acting for itself, so a `client:` entry never
    matches — not even the static token whose name is its id (`client:ci-bot` is not the token ci-bot)."""
    (folder / "mcp.yaml").write_text(BASE.replace("principals: [ci-bot]", 'principals: ["client:ci-bot"]').replace(
        "approvers: [alice]", 'approvers: [alice, "client:alice"]') + '  admins: [alice, "client:*"]\n')
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    never = ("is never a caller here: a `client:` entry names an OAuth client acting for itself (a client-credentials "
             "token), and server.auth has no oauth (it gives alice, ci-bot, stdio; a `client:` entry never matches a "
             "static token or user of that name)")
    for line in (f"mcp.yaml:10:50: warning: policy.rules.1: principal 'client:ci-bot' {never}",
                 f"mcp.yaml:12:34: warning: approvals: approver 'client:alice' {never}",
                 f"mcp.yaml:15:19: warning: admins: 'client:*' {never}"):
        assert line in result.stderr, result.stderr
    assert "'alice'" not in result.stderr  # the plain entry names the static token: no warning


def test_bad_principal_entries_are_located_errors(folder: Path) -> None:
    """A `client:` entry's id is checked as a `clients` entry is (VSCHAR, no spaces at its ends, not empty);
    a plain entry keeps its name pattern, and its error says how to write a client."""
    (folder / "mcp.yaml").write_text(BASE.replace(
        "principals: [ci-bot]", 'principals: ["client:", "client: x", "al ice", "client:caf\\u00e9"]'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    client = "a `client:` entry names an OAuth client acting for itself"
    for line in (
            f"mcp.yaml:10:50: policy.rules.1.match.principals.0: 'client:': {client}: a client id cannot be empty",
            f"mcp.yaml:10:61: policy.rules.1.match.principals.1: 'client: x': {client}: ' x' starts or ends with a "
            "space: write the client id as the token carries it",
            "mcp.yaml:10:74: policy.rules.1.match.principals.2: 'al ice' is not a principal name or glob: 1 to 128 of "
            "A-Z a-z 0-9 _ . @ : - and the wildcards * ? (write `client:ID` for an OAuth client acting for itself)",
            f"mcp.yaml:10:84: policy.rules.1.match.principals.3: 'client:café': {client}: 'café' holds 'é': a client "
            "id is printable ASCII (RFC 6749 Appendix A.1, VSCHAR)"):
        assert line in result.stderr, result.stderr


CLIENT_PRINCIPALS = CLIENTS.replace("""    - {match: {tools: [transfer]}, action: approve, name: other-callers}""", """\
    - {match: {tools: [transfer], principals: [ci-bot]}, action: allow, name: ci-bot-token}
    - {match: {tools: [transfer], principals: ["client:ci-*"]}, action: allow, name: ci-clients}
    - {match: {tools: [transfer], principals: ["*"]}, action: deny, name: everyone-else}
    - {match: {tools: [transfer]}, action: approve, name: other-callers}""")


def test_cases_assert_decisions_for_a_client_acting_for_itself(folder: Path) -> None:
    """`principal: "client:ID"` in a case is that OAuth client acting for itself: an `allow` lists it by `client:`
    entries only (the plain `ci-bot` is not for it), while a `deny` with `*` refuses it as every caller; the static
    token ci-bot is allowed by `ci-bot` and never by `client:ci-*`."""
    (folder / "mcp.yaml").write_text(CLIENT_PRINCIPALS)
    cases = folder / "cases" / "transfer"
    cases.mkdir(parents=True)
    (cases / "clients.yaml").write_text(
        "tool: transfer\nargs: {to: acct-1, amount: 5}\npolicy:\n"
        "  - {principal: ci-bot, decision: allow}\n"
        '  - {principal: "client:ci-bot", decision: allow}\n'
        '  - {principal: "client:alice", decision: deny}\n'
        "  - {principal: alice, decision: deny}\n")
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    (cases / "wrong.yaml").write_text("tool: transfer\nargs: {to: acct-1, amount: 5}\npolicy:\n"
                                      '  - {principal: "client:alice", decision: approve}\n')
    result = mcprt(folder, "test", "mcp.yaml")
    assert result.returncode == 1
    assert "policy for client:alice: expected approve, got deny (everyone-else)" in result.stdout, result.stdout


def test_diff_tells_a_client_entry_from_the_name_it_holds(folder: Path) -> None:
    """`ci-bot` → `client:ci-bot` in a `hide` rule takes it from the static token ci-bot and keeps it for the OAuth
    client ci-bot acting for itself — a restricting rule's plain entry already matched that client (review problem
    1) — so diff says the rule no longer applies to ci-bot and decides nothing new for client:ci-bot. A bare `*`
    covers every caller, `client:` entries too; a `client:` entry added next to unrelated names is named."""
    (folder / "mcp.yaml").write_text(CLIENTS)
    (folder / "new.yaml").write_text(CLIENTS.replace("principals: [ci-bot]", 'principals: ["client:ci-bot"]'))
    result = mcprt(folder, "diff", "mcp.yaml", "new.yaml")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith("(no longer applies to: ci-bot)"), line
    assert "policy decision changed: for ci-bot: hide (rules[1]) → allow (default)" in result.stdout, result.stdout
    assert "for client:ci-bot" not in result.stdout, result.stdout  # hidden from the client before and after
    (folder / "new.yaml").write_text(CLIENTS.replace("principals: [ci-bot]", 'principals: ["*"]'))
    (folder / "newer.yaml").write_text(CLIENTS.replace("principals: [ci-bot]", 'principals: ["*", "client:ci-bot"]'))
    result = mcprt(folder, "diff", "new.yaml", "newer.yaml")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith('["showSecret"]}'), line  # no "now hidden from": `*` already hid it from client:ci-bot
    (folder / "new.yaml").write_text(CLIENTS.replace("principals: [ci-bot]", 'principals: [alice]'))
    (folder / "newer.yaml").write_text(CLIENTS.replace("principals: [ci-bot]", 'principals: [alice, "client:ci-bot"]'))
    result = mcprt(folder, "diff", "new.yaml", "newer.yaml")
    [line] = [line for line in result.stdout.splitlines() if "policy rule match changed" in line]
    assert line.endswith("(now hidden from: client:ci-bot)"), line


def test_a_bare_star_shadows_every_later_rule_for_the_same_tools(folder: Path) -> None:
    """A bare `*` names every caller, OAuth clients acting for themselves included (the branch had it leave them
    out, so a `deny` with `*` let them through: review problem 1), so a later rule for `client:` callers is
    unreachable, as one for plain names is, with or without OAuth."""
    star = CLIENTS.replace('    - {match: {tools: [transfer], clients: [rogue-app, old-app]}',
                           '    - {match: {tools: [transfer], principals: ["*"]}, action: deny, name: star}\n'
                           '    - {match: {tools: [transfer], principals: ["client:ci-*"]}, action: allow, name: ci}\n'
                           '    - {match: {tools: [transfer], clients: [rogue-app, old-app]}')
    (folder / "mcp.yaml").write_text(star)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert "policy.rules.4 is unreachable: policy.rules.3 matches every call it matches (transfer) first" in result.stderr
    (folder / "mcp.yaml").write_text(star.replace('["client:ci-*"]', "[alice]"))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert "policy.rules.4 is unreachable: policy.rules.3 matches every call it matches (transfer) first" in result.stderr
    (folder / "mcp.yaml").write_text(star.replace(OAUTH_AUTH, 'auth: {tokens: {alice: "${ALICE_TOKEN}", '
                                                  'ci-bot: "${CI_TOKEN}"}}'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert "policy.rules.4 is unreachable: policy.rules.3 matches every call it matches (transfer) first" in result.stderr


def test_a_restricting_rule_after_an_allow_of_the_same_plain_names_is_reachable_with_oauth(folder: Path) -> None:
    """`allow [ci-bot]` then `deny [ci-bot]`: the allow grants only the user or token ci-bot, the deny restricts the
    client ci-bot acting for itself too, so with OAuth the deny still decides calls; without OAuth it does not."""
    pair = CLIENTS.replace('    - {match: {tools: [transfer], clients: [rogue-app, old-app]}',
                           '    - {match: {tools: [transfer], principals: [ci-bot]}, action: allow, name: ci}\n'
                           '    - {match: {tools: [transfer], principals: [ci-bot]}, action: deny, name: not-ci}\n'
                           '    - {match: {tools: [transfer], clients: [rogue-app, old-app]}')
    (folder / "mcp.yaml").write_text(pair)
    result = mcprt(folder, "validate", "mcp.yaml")
    assert result.returncode == 0, result.stderr
    assert "policy.rules.4 is unreachable" not in result.stderr, result.stderr
    (folder / "mcp.yaml").write_text(pair.replace(OAUTH_AUTH, 'auth: {tokens: {alice: "${ALICE_TOKEN}", '
                                                  'ci-bot: "${CI_TOKEN}"}}'))
    result = mcprt(folder, "validate", "mcp.yaml")
    assert "policy.rules.4 is unreachable: policy.rules.3 matches every call it matches (transfer) first" in result.stderr
