"""A prune as deep as `prune_depth.MAX_DEPTH` runs through `mcprt up`; one level deeper is a validate error.

The fault (review of prunedepth, item 1): prunes thousands of stages long compiled, but jmespath evaluates
by recursion, so past ~330 plain pipe stages every call failed with `maximum recursion depth exceeded`
while `mcprt validate` said ok. The limit leaves room for the stack a call already uses: here the SDK
client calls `mcprt up` over stdio, which evaluates each prune in a worker thread, with the costliest
shapes measured (ordering comparisons take four frames a level, `max_by` about 3.7) as deep as allowed.
"""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from mcprt.expressions.prune_depth import MAX_DEPTH
from tests.support.cli import mcprt_cli
from tests.support.served import child_env, stdio_up

FUNCTIONS = '''
def numbers() -> dict:
    """Numbers."""
    return {"a": 7, "b": 1}


def nested() -> list:
    """A list of lists, 100 deep."""
    value: object = 1
    for _ in range(100):
        value = [value]
    return value
'''

# each nests exactly MAX_DEPTH levels: (tool, its prune, the result the model gets)
AT_THE_LIMIT = {
    "numbers": (" | ".join(["@"] * (MAX_DEPTH - 1) + ["a"]), "7"),  # 200 pipe stages
    "nots": ("!" * (MAX_DEPTH - 1) + "b", "false"),  # 199 `!` of a true value
    # `(a < a) < a`…: false, then null (a boolean is not ordered), in a list beside `a`
    "comparisons": ("[" + " < ".join(["a"] * (MAX_DEPTH - 1)) + ", a]", "[null,7]"),
    # three levels a stage (function, `&`, length()), and one for the `@` inside; the one item of the
    # outermost list, 99 deep
    "nested": ("max_by(@, &length(" * ((MAX_DEPTH - 1) // 3) + "@" + "))" * ((MAX_DEPTH - 1) // 3),
               "[" * 99 + "1" + "]" * 99),
}


def _project(folder: Path, prunes: dict[str, str]) -> Path:
    (folder / "deep_tools.py").write_text(FUNCTIONS)
    tools = "".join(f"      {tool}:\n        prune: \"{prune}\"\n" for tool, prune in prunes.items())
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  deep:\n    python: [deep_tools:numbers, deep_tools:nested]\n"
                        f"    tools:\n{tools}")
    return manifest


async def test_prunes_as_deep_as_the_limit_run_through_mcprt_up(tmp_path: Path) -> None:
    import jmespath

    from mcprt.expressions.prune_depth import nesting_depth

    for prune, _ in AT_THE_LIMIT.values():
        assert MAX_DEPTH - 2 <= nesting_depth(jmespath.compile(prune).parsed) <= MAX_DEPTH, prune[:40]
    # one manifest per prune: `numbers` serves three of them in turn
    for name, (prune, expected) in AT_THE_LIMIT.items():
        tool = "nested" if name == "nested" else "numbers"
        (tmp_path / name).mkdir()
        manifest = _project(tmp_path / name, {tool: prune})
        checked = mcprt_cli("validate", "--offline", str(manifest), cwd=manifest.parent)
        assert checked.returncode == 0, checked.stderr
        async with Client(stdio_up(manifest, env=child_env())) as client:
            result = await client.call_tool(tool, {})
        text = "".join(getattr(block, "text", "") for block in result.content)
        assert not result.is_error, text
        assert "recursion" not in text and "failed on this result" not in text, text
        assert text == expected, (name, text[:300])


def test_a_prune_one_level_deeper_is_a_validate_error_at_its_position(tmp_path: Path) -> None:
    deeper = " | ".join(["@"] * MAX_DEPTH + ["a"])  # 201 pipe stages
    manifest = _project(tmp_path, {"numbers": deeper})
    run = mcprt_cli("validate", "--offline", str(manifest), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert (f"{manifest}:7:17: prune: the expression nests {MAX_DEPTH + 1} levels deep; "
            f"at most {MAX_DEPTH} levels can run") in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
