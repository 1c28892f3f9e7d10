"""A policy rule's `when` nested deeper than jmespath can evaluate is refused at load, as a prune is
(`expressions.prune_depth.MAX_DEPTH`): before, it validated ok and then raised RecursionError on every
call, which the condition read as "no match" — a `deny` rule of 800 pipe stages let every refund through.
One just under the limit still decides a real call; one evaluated past the stack fails closed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mcprt.expressions.prune_depth import MAX_DEPTH
from mcprt.policy.when import WhenError, compile_when
from tests.support.cli import mcprt_cli

HERE = Path(__file__).parent
RULE = "sort_by([@], &amount)[0].amount > `100`"  # a function: jmespath's own interpreter (the slow path)


def manifest(stages: int) -> str:
    when = "@ | " * stages + RULE
    return ("version: 1\nsources:\n  ops:\n    python: policy_tools\npolicy:\n  rules:\n"
            f'    - {{match: {{tools: [refund], when: "{when}"}}, action: deny, reason: "big refunds are not allowed"}}\n')


def mcprt(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mcprt_cli(*args, cwd=folder, env={"MCPRT_CACHE_DIR": str(folder / ".cache")})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(HERE / "policy_tools.py", tmp_path)
    return tmp_path


def test_a_when_nested_past_the_limit_is_a_located_validate_error(folder: Path) -> None:
    (folder / "mcp.yaml").write_text(manifest(799))
    result = mcprt(folder, "validate", "mcp.yaml", "--offline")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (f"mcp.yaml:7:39: policy.rules.0.match.when: the expression nests 800 levels deep; "
            f"at most {MAX_DEPTH} levels can run") in result.stderr, result.stderr


def test_a_when_just_under_the_limit_still_denies_a_real_call(folder: Path) -> None:
    (folder / "mcp.yaml").write_text(manifest(MAX_DEPTH - 10))
    assert mcprt(folder, "validate", "mcp.yaml", "--offline").returncode == 0
    big = mcprt(folder, "call", "mcp.yaml", "refund", "--args", json.dumps({"order": "o-1", "amount": 5000}))
    assert "refund was refused by policy: big refunds are not allowed" in big.stdout + big.stderr, big
    small = mcprt(folder, "call", "mcp.yaml", "refund", "--args", json.dumps({"order": "o-1", "amount": 5}))
    assert "refunded 5 on o-1" in small.stdout, small


def test_a_condition_past_the_stack_raises_rather_than_reading_as_no_match() -> None:
    """Compiled without the load check (as a manifest from before it would be): not `False`."""
    deep = compile_when("@ | " * 799 + RULE)
    with pytest.raises(WhenError, match="it nests too deeply to evaluate"):
        deep({"amount": 500})
    assert compile_when("@ | " * 10 + RULE)({"amount": 500}) is True


async def test_a_rule_whose_condition_overflows_at_a_call_denies_it(folder: Path) -> None:
    """Fail closed: the compiled gate of a real manifest, its rule's `when` swapped for one past the stack
    (what the load check now refuses, set here without validation, as an older check let through). A `deny`
    rule refuses the call; an `allow` rule grants nothing (the default decides; review of mendpd, problem 2:
    an evaluation error matches a `deny` or `approve` rule and never an `allow` one,
    test_policy_when_errors); a rate limit whose match cannot be evaluated applies."""
    from mcprt.pipeline import compile_once
    from mcprt.policy.gate import PolicyGate
    from mcprt.settings import Settings

    (folder / "mcp.yaml").write_text(manifest(10) + "  rate_limits:\n    - {match: {tools: [refund], when: \"amount > `1`\"}, limit: 5/min}\n")
    runtime, compiled = await compile_once(folder / "mcp.yaml", Settings(cache_dir=folder / ".cache"))
    try:
        gate = compiled.toolset.gate
        tool = compiled.toolset.tools["refund"]
        arguments = {"order": "o-1", "amount": 5000}
        assert gate.decide(tool, None, arguments).action == "deny"  # as written: it matches
        deep = "@ | " * 799 + RULE
        for action, expected in (("deny", ("deny", "rules[0]")), ("allow", ("allow", "default"))):
            rule = gate.policy.rules[0]
            swapped = rule.model_copy(update={"action": action, "match": rule.match.model_copy(update={"when": deep})})
            limit = gate.policy.rate_limits[0]
            deep_limit = limit.model_copy(update={"match": limit.match.model_copy(update={"when": deep})})
            policy = gate.policy.model_copy(update={"rules": [swapped], "rate_limits": [deep_limit]})
            decided = PolicyGate(policy, gate.service, gate.tools).decide(tool, None, arguments)
            assert (decided.action, decided.rule) == expected, (action, decided)
            if action == "deny":
                assert decided.reason == ("big refunds are not allowed; its condition (`when`) cannot be evaluated "
                                          "on these arguments: it nests too deeply to evaluate")
            compiled_limit = PolicyGate(policy, gate.service, gate.tools).limits[0]
            assert compiled_limit.match.fits_arguments(arguments) is True
    finally:
        await runtime.aclose()
