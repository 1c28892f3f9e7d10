"""`mcprt show FILE TOOL`: one tool as the model sees it, and how the manifest made it so."""

from __future__ import annotations

import json
import os
from typing import Any

from .call_cmd import split_targets, unknown_tool
from .common import compile_once, run_async
from .errors import EXIT_OK
from ..scrubbing import SECRETS
from ..scrubbing.streams import scrubbing
from ..stdout_claim import command_output


def run_show(targets: list[str], as_json: bool, offline: bool = False) -> int:
    manifest, tool_name = split_targets(targets)
    # the original stdout, claimed before the manifest's Python code runs (its prints: stderr, in either mode);
    # the text is scrubbed as text, as sys.stdout scrubs it, the JSON as values (`tool_facts`)
    out = command_output() if as_json else scrubbing(command_output())

    async def work() -> int:
        runtime, compiled = await compile_once(manifest, offline=offline, offline_hint=True)
        try:
            tool = compiled.toolset.get(tool_name)
            if tool is None:
                raise unknown_tool(compiled.toolset, manifest, tool_name)
            facts = tool_facts(compiled.loaded, tool, meta=tool_name in compiled.toolset.extra)
        finally:
            await runtime.aclose()
        if as_json:
            out.write(json.dumps(facts, indent=2, ensure_ascii=False) + "\n")
            out.flush()
        else:
            out.write(format_facts(facts))
            out.flush()
        return EXIT_OK

    return run_async(work)


def tool_facts(loaded: Any, tool: Any, *, meta: bool = False) -> dict[str, Any]:
    """The exposed definition, its origin, the overrides with their lines, shaping and a sample.

    `listed`: whether tools/list shows it; in discovery mode an operation is reached through the
    meta-tools instead (`meta`: one of those, `search_tools`…, which no manifest source defines).
    Scrubbed of configured secrets as tools/list is (`ToolSet.list_tools`: the definition's prose and
    schema values), and so is each override's value."""
    op = tool.operation
    listed = meta or tool.listed
    origin: dict[str, Any] = {"source": tool.source, "key": op.key}
    if op.meta.method:
        origin["method"], origin["path"] = op.meta.method, op.meta.path
    if op.aliases:
        origin["aliases"] = list(op.aliases)
    facts: dict[str, Any] = {"definition": SECRETS.scrub_prose(tool.definition()), "size_bytes": tool.definition_size(),
                             "listed": listed, "meta_tool": meta, "operation": origin, "overrides": {}}
    if tool.override_key is not None and not meta:
        source = loaded.manifest.sources[tool.source]
        base = ("sources", tool.source, "tools", tool.override_key)
        at = loaded.locate(base, prefer="key")
        override = source.tools[tool.override_key]
        fields = {}
        for name, value in override.model_dump(mode="json", exclude_unset=True).items():
            where = loaded.locate((*base, name), prefer="key")
            fields[name] = {"value": SECRETS.scrub_value(value), "at": f"{where.file}:{where.line}"}
        facts["overrides"] = {"key": tool.override_key, "at": f"{at.file}:{at.line}", "fields": fields}
    defaults_prune = loaded.defaults_for(tool.source).prune.model_dump(mode="json", exclude_defaults=True)
    facts["shaping"] = {
        "prune": tool.shaping.pruner.expression if tool.shaping.pruner else None,
        "defaults.prune": defaults_prune or None,
        "output": tool.shaping.output.source if tool.shaping.output else None,
        "max_result_bytes": tool.shaping.max_result_bytes,
    }
    facts["sample"] = _sample(loaded, tool)
    return facts


def _sample(loaded: Any, tool: Any) -> dict[str, Any] | None:
    """The first recorded success case of this tool, shaped as the model would receive it."""
    from ..shaping.result import shape_result
    from ..testing.cases import CaseError, find_cases
    from ..testing.rendering import recorded_upstream

    try:
        cases = find_cases(loaded.path)
    except CaseError:
        return None
    for case in cases:
        upstream = recorded_upstream(case) if case.tool == tool.name else None
        if upstream is None:
            continue
        result = shape_result(upstream, tool.shaping)
        return {"case": os.path.relpath(case.path, loaded.base_dir), "raw_bytes": result.raw_bytes,
                "sent_bytes": result.sent_bytes, "result": result.to_wire()}
    return None


def format_facts(facts: dict[str, Any]) -> str:
    definition = facts["definition"]
    op = facts["operation"]
    if facts["listed"]:
        size = f"{facts['size_bytes']:,} bytes of tools/list"
    else:  # discovery mode: the model finds it with search_tools and reads it with describe_tools
        size = f"{facts['size_bytes']:,} bytes; not in tools/list: reached through discovery (search_tools, call_tool)"
    by = _overridden(facts["overrides"])
    lines = [f"{definition['name']}  ({size})"]
    if by("name"):  # the header is the name the model sees; say that the manifest gave it
        lines.append("name" + by("name") + f": {definition['name']}")
    if definition.get("title"):
        lines.append("title" + by("title") + f": {definition['title']}")
    lines.append("description" + by("description") + f": {definition['description']}")
    where = f"{op.get('method')} {op.get('path')}" if op.get("method") else op["key"]
    if facts["meta_tool"]:
        lines.append("from: mcprt, a discovery meta-tool (`expose: discovery`)")
    else:
        lines.append(f"from: source '{op['source']}', operation {op['key']}"
                     + (f" ({where})" if where != op["key"] else ""))
    overrides = facts["overrides"]
    if overrides:
        lines.append(f"overrides: {overrides['key']} at {overrides['at']}")
        for name, field in overrides["fields"].items():
            lines.append(f"  {name}: {_short(field['value'])}  ({field['at']})")
    else:
        lines.append("overrides: none")
    shaping = facts["shaping"]
    lines.append("prune" + by("prune") + f": {shaping['prune'] or '(none)'}")
    if shaping["defaults.prune"]:
        lines.append(f"defaults.prune: {json.dumps(shaping['defaults.prune'])}")
    if shaping["output"]:
        from ..expressions.templates import dropped_line_breaks

        lines.append("output template" + by("output") + ":")
        lines += [f"  {line}" for line in shaping["output"].rstrip().splitlines()]
        dropped = dropped_line_breaks(shaping["output"])
        if dropped:  # trim_blocks: the sample below shows the effect; this says which line causes it
            lines.append(f"  (line {', '.join(map(str, dropped))}: ends in a {{% … %}} tag or {{# … #}}, so its line break is not "
                         "sent (trim_blocks); end the line before the tag, or write +%} to keep it)")
    lines.append("input schema" + by("args") + ": " + json.dumps(definition["inputSchema"], ensure_ascii=False))
    if "outputSchema" in definition:
        lines.append("output schema" + by("output_schema") + ": "
                     + json.dumps(definition["outputSchema"], ensure_ascii=False))
    if definition.get("annotations"):
        lines.append("annotations: " + json.dumps(definition["annotations"]))
    sample = facts["sample"]
    if sample:
        lines.append(f"sample ({sample['case']}, {sample['raw_bytes']:,} → {sample['sent_bytes']:,} bytes):")
        for block in sample["result"]["content"]:
            text = block.get("text") if block.get("type") == "text" else f"[{block.get('type')} block]"
            lines += [f"  {line}" for line in str(text).splitlines()]
    return "\n".join(lines) + "\n"


def _overridden(overrides: dict[str, Any]) -> Any:
    """`by(field)`: ` (override KEY, FILE:LINE)` when the tool override gave `field`, else "": every
    line of the definition says whether the manifest wrote it and where (issue #20), not only the list
    of overrides below it."""
    fields = overrides.get("fields", {}) if overrides else {}

    def by(field: str) -> str:
        return f" (override {overrides['key']}, {fields[field]['at']})" if field in fields else ""

    return by


def _short(value: Any) -> str:
    """One line for an override's value: runs of spaces and tabs made one, a line break written `\\n` (as a
    space it hid a template's line break, which is what decides whether the model gets one line or many)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = "\\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    return text if len(text) <= 100 else text[:99] + "…"
