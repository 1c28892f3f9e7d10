"""A policy `when` that fails to evaluate at a call fails closed, whatever made it fail.

The fault (review of mendpd, problem 2): only `RecursionError` failed closed; any other error while
evaluating `when` read as "no match". A python tool taking `dest: str | list[str]` behind
`{when: "starts_with(dest, 'evil')", action: deny}` refused `"evil.com"` and ran for `["evil.com"]`: the
caller stepped around the deny rule by sending an argument of another type. Now a `deny` or `approve`
rule whose condition fails matches (its reason says why), an `allow` rule does not, and a rate limit
whose condition fails applies. End to end through `mcprt call` on a real python source, and on the
compiled gate of a real manifest for the siblings (other JMESPath functions given a type they refuse).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mcprt_cli

TOOLS = '''
def send(dest: str | list[str], count: int | str = 1) -> str:
    """Send to one or more destinations."""
    return f"sent to {dest}"
'''
DENY = "starts_with(dest, 'evil')"


def mcprt(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=folder, env={"MCPRT_CACHE_DIR": str(folder / ".cache")})


def write(folder: Path, rules: str, limits: str = "") -> Path:
    (folder / "send_tools.py").write_text(TOOLS)
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  ops:\n    python: send_tools\npolicy:\n  default: allow\n"
                        f"  rules:\n{rules}{limits}")
    return manifest


def test_a_deny_rule_refuses_an_argument_of_another_type(tmp_path: Path) -> None:
    """The reviewer's case, end to end: the list the condition cannot read is refused, as the string is."""
    write(tmp_path, f'    - {{match: {{tools: [send], when: "{DENY}"}}, action: deny, reason: "no evil"}}\n')
    assert mcprt(tmp_path, "validate", "mcp.yaml", "--offline").returncode == 0
    text = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "evil.com"}))
    assert "send was refused by policy: no evil" in text.stdout + text.stderr, text
    listed = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": ["evil.com"]}))
    out = listed.stdout + listed.stderr
    assert "sent to" not in out, listed
    assert ("send was refused by policy: no evil; its condition (`when`) cannot be evaluated on these arguments: "
            "starts_with() was given an array, which it does not take (it takes string)") in out, listed
    fine = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "good.com"}))
    assert "sent to good.com" in fine.stdout, fine


# Each condition fails on the arguments given (a function handed a type it does not take, an unknown
# function); each also holds or not on ordinary arguments, so the rule still decides normal calls.
SIBLINGS = [
    ("length(count) > `3`", {"dest": "a", "count": 5}, "length() was given a number"),
    ("contains(count, '1')", {"dest": "a", "count": 12}, "contains() was given a number"),
    ("!contains(count, '1')", {"dest": "a", "count": 12}, "contains() was given a number"),
    ("abs(count) > `9`", {"dest": "a", "count": "12"}, "abs() was given a string"),
    ("ends_with(dest, '.evil')", {"dest": ["x.evil"]}, "ends_with() was given an array"),
    ("length(dest) > `0` && starts_with(dest, 'x')", {"dest": ["x"]}, "starts_with() was given an array"),
]  # an unknown function (`lenght(dest)`) fails every call: `mcprt validate` refuses it (test_policy_gitops)


@pytest.mark.parametrize(("when", "arguments", "why"), SIBLINGS, ids=[w for w, _, _ in SIBLINGS])
async def test_a_condition_that_fails_applies_deny_and_approve_and_never_allow(
        tmp_path: Path, when: str, arguments: dict[str, object], why: str) -> None:
    from mcprt.pipeline import compile_once
    from mcprt.settings import Settings

    rules = (f'    - {{name: guard, match: {{tools: [send], when: "{when}"}}, action: deny, reason: "guarded"}}\n'
             '    - {name: rest, match: {tools: [send]}, action: approve, approvals: {approvers: [alice]}}\n')
    limits = f'  rate_limits:\n    - {{match: {{tools: [send], when: "{when}"}}, limit: 5/min}}\n'
    manifest = write(tmp_path, rules, limits)
    runtime, compiled = await compile_once(manifest, Settings(cache_dir=tmp_path / ".cache"))
    try:
        gate = compiled.toolset.gate
        tool = compiled.toolset.tools["send"]
        decided = gate.decide(tool, None, arguments)
        assert (decided.action, decided.rule) == ("deny", "guard"), decided
        assert decided.reason.startswith("guarded; its condition (`when`) cannot be evaluated on these arguments: "
                                         + why), decided.reason
        assert gate.limits[0].match.fits_arguments(arguments) is True  # the limit applies

        from mcprt.policy.gate import PolicyGate

        for action, expected in (("approve", ("approve", "guard")), ("allow", ("approve", "rest"))):
            rule = gate.policy.rules[0]
            swapped = gate.policy.model_copy(update={"rules": [rule.model_copy(update={"action": action}),
                                                                *gate.policy.rules[1:]]})
            decided = PolicyGate(swapped, gate.service, gate.tools).decide(tool, None, arguments)
            # an `approve` rule holds the call for a human; an `allow` rule grants nothing, the next rule decides
            assert (decided.action, decided.rule) == expected, (action, decided)
    finally:
        await runtime.aclose()


def test_an_ordering_a_value_of_another_type_cannot_make_applies_the_deny_rule(tmp_path: Path) -> None:
    """Review of mendrev3, problem 3: `count > `3`` on `count: int | str` refused 5 and ran for "5" (an ordering
    comparison of a string with a number is null in JMESPath, read as no match), and `validate` said `ok`."""
    write(tmp_path, '    - {match: {tools: [send], when: "count > `3`"}, action: deny, reason: "too many"}\n')
    checked = mcprt(tmp_path, "validate", "mcp.yaml", "--offline")
    assert checked.returncode == 0, checked
    assert ("`when` compares 'count' (integer or string) with `3` (an integer): a string cannot be ordered with an "
            "integer, so the condition fails on each call that gives it as a string") in checked.stderr, checked
    for count in (5, "5"):  # other types are refused by the argument check first (test_policy_when)
        done = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "a", "count": count}))
        out = done.stdout + done.stderr
        assert "sent to" not in out and "send was refused by policy: too many" in out, (count, out)
    said = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "a", "count": "5"}))
    assert ("too many; its condition (`when`) cannot be evaluated on these arguments: it orders a string with a "
            "number, which cannot be compared (only two numbers or two strings can)") in said.stdout + said.stderr
    for fine in ({"dest": "a", "count": 2}, {"dest": "a"}):  # a smaller count; none given (null: no match)
        done = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps(fine))
        assert "sent to a" in done.stdout, (fine, done)


def test_an_allow_rule_that_cannot_be_evaluated_is_named_in_the_refusal_and_the_audit(tmp_path: Path) -> None:
    """Review of mendrev3, problem 4: with `default: deny`, a skipped `allow` rule left the same record as a plain
    no-match (`rule: default, reason: not allowed`): a rule broken for some inputs could not be told apart."""
    (tmp_path / "send_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text(
        "version: 1\nserver: {observability: {audit: audit.jsonl}}\nsources:\n  ops:\n    python: send_tools\n"
        "policy:\n  default: deny\n  rules:\n"
        "    - {name: small, match: {tools: [send], when: \"starts_with(count, '1')\"}, action: allow}\n")
    skipped = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "a", "count": 12}))
    assert ("send was refused by policy: not allowed (small could not be evaluated on these arguments: "
            "starts_with() was given a number, which it does not take (it takes string))") in skipped.stdout + skipped.stderr
    plain = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "a", "count": "99"}))
    assert "send was refused by policy: not allowed" in plain.stdout + plain.stderr
    assert "could not be evaluated" not in plain.stdout + plain.stderr
    granted = mcprt(tmp_path, "call", "mcp.yaml", "send", "--args", json.dumps({"dest": "a", "count": "12"}))
    assert "sent to a" in granted.stdout, granted
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    reasons = [(r.get("rule"), r.get("reason")) for r in records if r.get("action") == "deny"]
    assert reasons == [("default", "not allowed (small could not be evaluated on these arguments: starts_with() was "
                                   "given a number, which it does not take (it takes string))"),
                       ("default", None)], records
