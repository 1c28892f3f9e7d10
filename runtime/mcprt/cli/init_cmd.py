"""`mcprt init --openapi SPEC`: write a commented manifest, then compile it once to report its size."""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from ..authoring.base_url import measurable
from ..errors import ManifestError, McprtError
from .common import run_async
from .errors import EXIT_BAD_INPUT, EXIT_FAILED_CHECK, EXIT_OK, print_diagnostics
from ..wording import noun

# Above this a tools/list is a noticeable share of a model's context (GitHub's issues tag alone is 68 KB):
# `init` points at narrowing it or at discovery mode.
LARGE_TOOL_LIST = 100_000
# Above this (bytes of the tools/list listing every tool) no model's context holds the list, so `init` writes
# `server: {expose: discovery}` itself: Microsoft Graph (105 MB), Graph beta (336 MB), docusign.net (~17 MB).
# GitHub's full description (1.4 MB as `init` writes it) stays listed, with the LARGE_TOOL_LIST advice.
DISCOVERY_ABOVE = 10_000_000
# Input ended (Ctrl-D) at the tag question: not bad input, and not success either, so the exit code a
# script tells apart from both (the CLI's 1)
EXIT_ABORTED = EXIT_FAILED_CHECK


def run_init(spec: str, tags: list[str], out: Path, force: bool, no_input: bool = False) -> int:
    """Write the manifest; on a terminal without `--tag` or `--no-input`, ask which tags to include first."""
    from ..home_paths import expand_home

    out = expand_home(out)  # `--out ~/proj/mcp.yaml` without a shell wrote a folder named `~` (`home_paths`)
    from ..authoring.scaffold import (left_out_note, open_spec, output_schema_note, scaffold, tag_counts,
                                      with_discovery, with_size)
    from ..settings import load_settings
    from .common import quiet_logging
    from .choose_tags import choose_tags, interactive

    if out.suffix.lower() not in (".yaml", ".yml"):  # the scaffold is YAML (comments, commented-out blocks)
        raise McprtError(f"--out {out}: init writes a commented YAML manifest, so the file must end in .yaml or "
                         f".yml (e.g. --out {out.with_suffix('.yaml')}); an mcp.toml holds the same tree")
    if out.exists() and not force:
        raise McprtError(f"{out} exists; choose another --out or pass --force to overwrite it")
    settings = load_settings()
    quiet_logging(settings)  # e.g. the warning of a .env line that does not parse
    opened = open_spec(spec, out, settings.cache_dir)
    for warning in opened.compiled.warnings:  # what the description loses (a refused $ref…) is said, as in validate
        print(f"warning: {warning}", file=sys.stderr)
    if not tags and not no_input and interactive():
        untagged = sum(1 for op in opened.compiled.operations if not op.tags)
        chosen = choose_tags(tag_counts(opened.compiled), untagged)
        if chosen is None:  # Ctrl-D at the question: nothing was chosen, so nothing is written
            print(f"{out}: not written: input ended before tags were chosen", file=sys.stderr)
            return EXIT_ABORTED
        tags = chosen
    _check_tags(spec, tags, tag_counts(opened.compiled))
    made = scaffold(spec, tags, out, settings.cache_dir, opened)
    made_dirs = [d for d in (out.parent, *out.parent.parents) if not d.exists()]  # removed again if not written
    out.parent.mkdir(parents=True, exist_ok=True)
    # The manifest is checked before it is written: compiled from a draft beside `out` (its `openapi:` path is
    # relative to that folder), and only a manifest that validates replaces `out`. A draft that does not is a
    # fault of init's (a repeated operationId once made a duplicate YAML key): its errors are shown, named as
    # `out`, and nothing is written, so no half-made file with a placeholder header is left for the user.
    # A fresh name (mkstemp): a fixed one (`.mcp.yaml.init-draft.yaml`) would overwrite and then delete a
    # user's file that happens to have it.
    handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
    os.close(handle)
    draft = Path(name)

    schemas: list[tuple[int, int]] = []  # per measure: the listed tools with an outputSchema, the bytes without any

    async def measure() -> tuple[int, int] | None:
        """The draft compiled: its listed tools and the bytes of its tools/list (None: it does not validate);
        appends to `schemas` how many listed tools declare an outputSchema and the bytes without them."""
        from ..pipeline import Runtime
        from ..testing.overrides import load_for_replay

        runtime = Runtime(draft, settings)
        try:
            compiled = await runtime.compile(load_for_replay(draft, None, settings))
        except ManifestError as exc:
            print_diagnostics([dataclasses.replace(d, file=str(out)) if Path(d.file).name == draft.name else d
                               for d in exc.diagnostics])
            return None
        finally:
            await runtime.aclose()
        listed = compiled.toolset.listed
        schemas.append((sum(1 for tool in listed if tool.output_schema is not None),
                        len(compiled.toolset.list_result_bytes(output_schemas=False))))
        return len(listed), len(compiled.toolset.list_result_bytes())

    text = made.text
    discovery: tuple[int, int] | None = None  # what discovery mode lists, when init chose it
    try:
        draft.write_text(measurable(text), encoding="utf-8")
        measured = run_async(measure)
        if measured is not None and measured[1] > DISCOVERY_ABOVE:
            text = with_discovery(text, measured[1], DISCOVERY_ABOVE)
            draft.write_text(measurable(text), encoding="utf-8")
            discovery = run_async(measure)
            if discovery is None:
                measured = None
    finally:
        draft.unlink(missing_ok=True)
    if measured is None:
        for folder in made_dirs:  # innermost first
            folder.rmdir()
        print(f"{out}: not written: the manifest init made does not validate (see above). This is a fault of "
              f"`mcprt init`: please report it with the API description ({spec})", file=sys.stderr)
        return EXIT_BAD_INPUT
    tools, size = measured
    typed, without = schemas[0]  # of the manifest listing every tool (the first measure)
    schema_note = output_schema_note(typed, size, without)
    out.write_text(with_size(text, tools, size, discovery, made.left_out, schema_note), encoding="utf-8")
    print(f"{out}: {made.operations} {noun(made.operations, 'operation')}, {made.included} included ({tools} "
          f"{noun(tools, 'tool')}, {size:,} bytes of "
          f"tools/list), {made.pruned} with a suggested prune. Next: review it, then `mcprt validate {out}`.",
          file=sys.stderr)
    if schema_note:
        print(f"{out}: {schema_note}", file=sys.stderr)
    if made.left_out:
        print(f"{out}: {left_out_note(made.left_out, discovery is not None)}", file=sys.stderr)
    if discovery:
        print(f"{out}: a tools/list of {size:,} bytes is more than any model's context holds (over "
              f"{DISCOVERY_ABOVE:,}), so the manifest sets `server.expose: discovery`: clients list "
              f"{discovery[0]} meta-tools ({discovery[1]:,} bytes) that search, describe and call every tool "
              "(README, Big APIs); removing that line lists every tool", file=sys.stderr)
    elif size > LARGE_TOOL_LIST:
        print(f"{out}: a tools/list of {size:,} bytes goes into the model's context in every conversation: keep "
              f"fewer operations (--tag, `include`) or set `server.expose: discovery` (three meta-tools, "
              f"about 2 KB: README, Big APIs)", file=sys.stderr)
    return EXIT_OK


def _check_tags(spec: str, tags: list[str], known: list[tuple[str, int]]) -> None:
    """McprtError for a `--tag` no operation carries (matched as `include: {tags}` does: exact,
    case-insensitive): it would write a manifest whose every tool is commented out, which does not
    validate, before saying so."""
    names = {tag.lower() for tag, _ in known}
    unknown = [tag for tag in tags if tag.lower() not in names]
    if not unknown:
        return
    from .choose_tags import tag_hint

    hint = tag_hint(unknown[0], {tag.lower(): tag for tag, _ in known})
    shown = ", ".join(f"{tag} ({count})" for tag, count in known[:40]) + (" …" if len(known) > 40 else "")
    said = ", ".join(repr(tag) for tag in unknown)
    raise McprtError(f"--tag {said}: no operation of {spec} has {'that tag' if len(unknown) == 1 else 'those tags'}"
                     f"{hint}; " + (f"its tags (operations): {shown}" if known else
                                    "it tags no operation, so leave --tag out"))
