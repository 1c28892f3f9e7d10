"""`mcprt call`: compile, call one tool through the real pipeline, print the tools/call result. The call is
governed as a served one (`mcprt.oneshot`): audited, decided by the policy on the server's shared state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import McprtError
from ..stdout_claim import command_output
from .common import compile_once, run_async
from .errors import EXIT_FAILED_CHECK, EXIT_OK


def split_targets(targets: list[str]) -> tuple[Path | None, str]:
    """`[MANIFEST] TOOL`: one word is the tool; two are the manifest and the tool."""
    if len(targets) == 1:
        return None, targets[0]
    if len(targets) == 2:
        return Path(targets[0]), targets[1]
    raise McprtError("expected [MANIFEST] TOOL")


def unknown_tool(toolset: Any, manifest: Path | None, tool_name: str) -> McprtError:
    """The error for a tool name the manifest does not expose: close matches only, else where to look —
    in discovery mode `mcprt tools` lists only the meta-tools, so the hint names the search one."""
    target = f" {manifest}" if manifest is not None else ""
    hint = f"`mcprt tools{target}` lists the tools"
    from ..discovery.meta import names_in

    meta = names_in(toolset)
    if meta is not None and any(not tool.listed for tool in toolset):
        search = meta.search
        hint = (f"`mcprt tools{target}` lists the meta-tools of discovery mode and counts the other tools, which "
                f"`{search}` finds (e.g. `mcprt call{target} {search} --args '{{\"query\": \"...\"}}'`)")
    from ..oneshot import LOCAL

    return McprtError(toolset.unknown_tool_message(tool_name, LOCAL, list_hint=hint))  # hidden from LOCAL: unknown


def parse_args(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McprtError(f"--args is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise McprtError("--args must be a JSON object, e.g. '{\"id\": 1}'")
    return value


def run_call(targets: list[str], args_text: str) -> int:
    manifest, tool_name = split_targets(targets)
    arguments = parse_args(args_text)
    out = command_output()  # the original stdout, claimed before the manifest's Python code runs (its prints: stderr)

    async def work() -> int:
        from ..oneshot import call_once, governed
        from ..settings import load_settings

        runtime, compiled = await compile_once(manifest)
        try:
            # audited, paused, rate-limited and approved as `mcprt up` would (`oneshot`)
            async with governed(runtime, compiled.loaded, load_settings(), entry_point="mcprt call"):
                result = await call_once(compiled.toolset, tool_name, arguments,
                                         lambda: unknown_tool(compiled.toolset, manifest, tool_name))
            out.write(json.dumps(result.to_wire(), indent=2, ensure_ascii=False) + "\n")
            out.flush()
            return EXIT_FAILED_CHECK if result.is_error else EXIT_OK
        finally:
            await runtime.aclose()

    return run_async(work)
