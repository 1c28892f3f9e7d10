"""`mcprt init --openapi SPEC`: write a commented manifest, then compile it once to report its size."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ManifestError, McprtError
from .common import run_async
from .errors import EXIT_BAD_INPUT, EXIT_OK, print_diagnostics


def run_init(spec: str, tags: list[str], out: Path, force: bool, no_input: bool = False) -> int:
    """Write the manifest; on a terminal without `--tag` or `--no-input`, ask which tags to include first."""
    from ..authoring.scaffold import open_spec, scaffold, tag_counts, with_size
    from ..settings import load_settings
    from .choose_tags import choose_tags, interactive

    if out.exists() and not force:
        raise McprtError(f"{out} exists; choose another --out or pass --force to overwrite it")
    settings = load_settings()
    opened = open_spec(spec, out, settings.cache_dir)
    if not tags and not no_input and interactive():
        untagged = sum(1 for op in opened.compiled.operations if not op.tags)
        tags = choose_tags(tag_counts(opened.compiled), untagged)
    made = scaffold(spec, tags, out, settings.cache_dir, opened)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(made.text, encoding="utf-8")

    async def measure() -> tuple[int, int] | None:
        from ..pipeline import Runtime
        from ..testing.overrides import load_for_replay

        runtime = Runtime(out, settings)
        try:
            compiled = await runtime.compile(load_for_replay(out, None, settings))
        except ManifestError as exc:
            print_diagnostics(exc.diagnostics)
            return None
        finally:
            await runtime.aclose()
        return len(compiled.toolset.listed), len(compiled.toolset.list_result_json().encode())

    measured = run_async(measure)
    if measured is None:
        print(f"{out}: written, but it does not validate yet (see above)", file=sys.stderr)
        return EXIT_BAD_INPUT
    tools, size = measured
    out.write_text(with_size(made.text, tools, size), encoding="utf-8")
    print(f"{out}: {made.operations} operations, {made.included} included ({tools} tools, {size:,} bytes of "
          f"tools/list), {made.pruned} with a suggested prune. Next: review it, then `mcprt validate {out}`.",
          file=sys.stderr)
    return EXIT_OK
