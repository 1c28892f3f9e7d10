"""Compile a manifest plus its sources' operations into a ToolSet.

This is where the per-tool overrides meet the operations, identically for every kind of source:
rename, describe (sandboxed Jinja2), hide/fix/default arguments, prune, output template, timeout,
enable/disable, exposure. Mistakes become diagnostics at the manifest line that caused them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..cancellation import check_abandoned
from ..errors import Diagnostic
from ..manifest.loader import LoadedManifest
from ..manifest.model import SourceBase, ToolOverride
from ..manifest.written import as_source, integer_expected
from ..offerings.owners import Claim, ServedNames, left_out_warning
from ..shaping.autoprune import AutoPruner, compile_autoprune
from ..expressions.absent_fields import AbsentFields
from ..expressions.prune import compile_prune
from ..expressions.prune_growth import WARN_GROWTH
from ..schema.shapes import certainly_fits, declared_types
from ..shaping.pagination import cursor_parameters, page_size_parameter
from ..shaping.prune_miss import Members, documented_members
from ..shaping.result import Shaping
from ..schema.structured_check import StructuredCheck
from ..expressions.template_errors import TemplateError, TemplateRenderError
from ..sources.filters import each, selected
from ..sources.kind import SourceKind, kind_of
from ..sources.naming import fit_tool_name
from ..sources.sentences import fit
from ..contracts import Operation
from .pending import pending_for
from .renames import Route, renamed_to
from .tool import ArgPlan, Tool
from .toolset import ToolSet


@dataclass
class BuildResult:
    """A built tool set and the diagnostics found while building it."""

    toolset: ToolSet
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def build_toolset(loaded: LoadedManifest, operations: Mapping[str, Sequence[Operation]],
                  pending: Collection[str] = (), served: ServedNames | None = None,
                  left_out: Mapping[str, Collection[str]] | None = None,
                  before: Mapping[str, Mapping[str, Route]] | None = None) -> BuildResult:
    """Apply every override of the manifest to the sources' operations.

    `operations` maps source name → its operations, before `include`/`exclude` (a kind may already
    have applied them while opening; applying the same filter again keeps the same operations).
    `pending`: sources whose operations are not known yet (`SyncResult.down`: a proxied server down
    since the start): no tools, and the checks naming their tools (a `tools:` override's key, a
    `server.pinned` entry it could provide) wait for the rebuild that lists them (`toolset.pending`).
    `left_out`: source → the override keys of operations its `include`/`exclude` left out while it opened
    (`SyncResult.left_out`): an override naming one is a note, not a vanished operation.
    `served`: the tool names the set now served gives out (None for the first compile): a proxied
    server's newly listed tool taking a name another source keeps is left out with a warning
    (`offerings.owners`), so the rest of that server's change still applies.
    `before`: source → the routes its operation keys had in an earlier description (`renames.routes_of`: a reload's
    previous sources, the old side of `mcprt diff`): an override whose key is gone is told of the operation now at
    the same method and path (`renames.renamed_to`).
    Returns the tool set and every diagnostic (errors make the result unusable for serving).
    CPU work (it renders `description` templates): the pipeline runs it in a worker thread. Raises
    `Abandoned` between operations, and inside a template, once the current cancel token is set.
    """
    manifest = loaded.manifest
    diagnostics: list[Diagnostic] = []
    tools: list[Tool] = []
    for source_name, source in manifest.sources.items():
        kind = kind_of(source)
        if _check_criteria(loaded, source_name, source, kind, diagnostics):
            continue
        if source_name in pending:  # no operations yet: its overrides are checked when it lists them
            continue
        ops, outside = [], set((left_out or {}).get(source_name, ()))
        for op in operations.get(source_name, ()):
            if selected(source.include, source.exclude, op.key, op.name, op.meta):
                ops.append(op)
            else:
                outside.update((op.key, *op.aliases, op.name))
        tools += _source_tools(loaded, source_name, source, kind, ops, diagnostics, outside,
                               before)
    if served is not None:
        tools = _leave_out_taken(loaded, tools, served, diagnostics)
    _check_collisions(loaded, tools, diagnostics)
    _check_pinned(loaded, tools, diagnostics, pending)
    return BuildResult(ToolSet(tools), diagnostics)


def _check_criteria(
    loaded: LoadedManifest, source_name: str, source: SourceBase, kind: SourceKind, out: list[Diagnostic]
) -> bool:
    """A filter criterion the kind's operations carry no metadata for could only match all or nothing:
    an error at its line (True when there was one)."""
    found = False
    for which in ("include", "exclude"):
        filters = getattr(source, which)
        listed = isinstance(filters, list)
        for index, flt in enumerate(each(filters)):
            at: tuple[Any, ...] = (which, index) if listed else (which,)
            for criterion in kind.unsupported_criteria(flt):
                supported = ", ".join(f"`{c}`" for c in sorted(kind.criteria))
                written = f"{which}[{index}]" if listed else which
                out.append(loaded.diagnostic(("sources", source_name, *at, criterion),
                                             f"`{written}.{criterion}` cannot select operations of a `{kind.key}:` "
                                             f"source (its operations have no {criterion}); it supports {supported}",
                                             prefer="key"))
                found = True
    return found


def _source_tools(
    loaded: LoadedManifest,
    source_name: str,
    source: SourceBase,
    kind: SourceKind,
    ops: list[Operation],
    out: list[Diagnostic],
    left_out: Collection[str] = (),
    before: Mapping[str, Mapping[str, Route]] | None = None,
) -> list[Tool]:
    by_key: dict[str, Operation] = {}
    for op in ops:
        for key in (op.key, *op.aliases, op.name):
            by_key.setdefault(key, op)
    overrides: dict[int, tuple[str, ToolOverride]] = {}
    unmatched: list[str] = []
    for key, override in source.tools.items():
        op = by_key.get(key)
        if op is None:
            unmatched.append(key)
            continue
        if id(op) in overrides:
            out.append(loaded.diagnostic(("sources", source_name, "tools", key),
                                         f"operation '{op.key}' is already overridden as '{overrides[id(op)][0]}'",
                                         prefer="key"))
            continue
        overrides[id(op)] = (key, override)
    if unmatched:
        unclaimed = [key for key, op in by_key.items() if id(op) not in overrides]  # a renamed operation's new key
        # only now is an earlier description's routes read (`renames.RememberedRoutes` reads its file when asked)
        renamed = renamed_to(unmatched, (before or {}).get(source_name) or {},
                             [op for op in ops if id(op) not in overrides])
        out += _unmatched_overrides(loaded, source_name, source, unmatched, list(by_key), left_out, unclaimed,
                                    renamed)

    defaults = loaded.defaults_for(source_name)
    source_autoprune = compile_autoprune(defaults.prune)
    tools = []
    no_override = (None, ToolOverride())  # one (frozen) default for every operation without an override
    for op in ops:
        check_abandoned()  # a superseded reload stops here, between operations (its result is dropped)
        key, override = overrides.get(id(op), no_override)
        if not override.enabled:
            continue
        base = ("sources", source_name, "tools", key) if key else ("sources", source_name)
        name = override.name or fit_tool_name(f"{source.prefix or ''}{op.name}")
        schema, plan = _shape_arguments(loaded, base, op, override, kind, out)
        description = _describe(loaded, base, op, override, plan, out)
        pruner = compile_prune(override.prune) if override.prune else None
        # `drop_keys` leaves what the tool's prune selects by name (`AutoPruner.keeping`): its own `autoprune`
        autoprune = source_autoprune.keeping(pruner.builds) if pruner is not None and source_autoprune else \
            source_autoprune
        output = _template(override.output, "output") if override.output else None
        if override.output:
            _check_refused_lookups(loaded, base, override.output, out)
        identity = pruner is None and output is None and autoprune is None
        wanted = override.output_schema if override.output_schema is not None else source.output_schema
        declared, documented = _declared_output_schema(loaded, base, op, override, wanted, autoprune, out)
        if declared is not None and autoprune is not None:  # `defaults.prune` runs after the tool's own prune
            declared = autoprune.project_schema(declared)
        if declared is None and identity and wanted is not False:
            declared_as_is = op.output_schema  # a function's or upstream tool's own, for results passed unchanged
        else:
            declared_as_is = None
        shaping = Shaping(
            pruner=pruner,
            autoprune=autoprune,
            output=output,
            max_result_bytes=override.max_result_bytes or defaults.max_result_bytes,
            tool=name,
            structured=declared is not None,
            structured_check=StructuredCheck(declared) if declared is not None else None,
            output_schema=declared if declared is not None else declared_as_is,  # what the client is told
            documented=documented,
            page_size=page_size_parameter(schema),
            cursor_parameters=cursor_parameters(schema),
            template_origin=_origin(loaded, (*base, "output")) if output is not None else None,
            members=_members(op, override) if pruner is not None else None,
        )
        max_response = kind.max_response_bytes(source, defaults)
        tools.append(
            Tool(
                name=name,
                source=source_name,
                operation=op,
                description=description,
                input_schema=schema,
                args=plan,
                shaping=shaping,
                timeout=override.timeout or source.timeout or defaults.timeout,
                max_response_bytes=max_response,
                title=override.title or op.title,
                output_schema=declared if declared is not None else declared_as_is,
                annotations=dict(op.annotations),
                expose=source.expose or loaded.manifest.server.expose,
                pinned=override.pinned,
                override_key=key,
                task_support=override.task_support or source.task_support or upstream_task_support(op),
            )
        )
    own = getattr(source, "descriptions", None)  # OpenAPI overrides it
    max_chars = (own or defaults.descriptions).max_chars
    # compacted by a stand-in `defaults.descriptions` (left out for a schema error): alike or not, that is no
    # finding on what the author wrote, so no warning (a review: `style: full` plus a bad `defaults.timeout`
    # warned of the likeness only the default `brief` makes)
    _distinguish_descriptions(loaded, source_name, tools, max_chars,
                              out if own is not None or loaded.settled(("defaults", "descriptions")) else [])
    _check_name_lengths(loaded, source_name, tools, out)
    return tools


def _members(op: Operation, override: ToolOverride) -> Members | None:
    """The top-level members `op`'s success response documents, with those the manifest vouches for
    (`undocumented_fields`): what a prune miss leaves out (`prune_miss`)."""
    shape = op.response_schema
    if shape is not None and override.undocumented_fields:
        from ..shaping.schema_paths import with_fields

        shape = with_fields(shape, override.undocumented_fields)
    return documented_members(shape, getattr(op, "response_required", None))  # older compile caches lack it


# Up to this many unmatched override keys are named in the one note of a filtered source (`_unmatched_overrides`)
SHOWN_UNMATCHED = 5


# The code of an override that limits an operation the description no longer has (an error; a warning on the
# old side of `mcprt diff`, `Runtime.refuse_unmatched_policy`)
LOST_LIMIT = "override.lost_limit"


def limits_of(override: ToolOverride) -> list[str]:
    """What `override` narrows of what a model can do with its operation, as the manifest writes it
    (`enabled: false`, `args.limit.fixed`, `args.owner.hidden`); empty for a cosmetic override (`name`,
    `description`, `prune`, `output`, `output_schema`, annotations, timeouts, nothing set)."""
    found = [] if override.enabled else ["enabled: false"]
    for arg, shaping in override.args.items():
        if shaping.has_fixed:
            found.append(f"args.{arg}.fixed")
        elif shaping.hidden:
            found.append(f"args.{arg}.hidden")
    return found


def _unmatched_overrides(loaded: LoadedManifest, source_name: str, source: SourceBase, keys: list[str],
                         known: list[str], left_out: Collection[str] = (),
                         unclaimed: Collection[str] = (),
                         renamed: Mapping[str, Operation] | None = None) -> list[Diagnostic]:
    """What an override naming no operation of the source is, by what ignoring it would do.

    - One that limits its operation (`limits_of`: `enabled: false`, an argument `fixed` or `hidden`) is an
      error with the closest key: an upstream that renames the operation (GitHub, a URL spec changing under a
      running gateway) would otherwise have it served under its new key without the limit, so it fails
      closed as `policy:` does (a reload with it keeps the previous tools serving).
    - One that only renames, describes or shapes the result is a warning at its line (`validate --strict`
      fails): one operation an upstream drops must not stop the source's other tools, `mcprt up`, a restart
      or a reload, and ignoring such an override widens nothing.
    - A key the source's `include`/`exclude` leaves out (`left_out`: the keys of the description's other
      operations, as the OpenAPI compile read them) is expected there (an `init` manifest narrowed with
      `include`, the README's advice): one note at the filter's line names them (`--strict` passes).

    The did-you-mean is the operation now at the key's former method and path (`renamed`, `renamed_to`: that is
    the rename, however far its new operationId is by spelling), else the closest of `unclaimed` (the keys of
    operations no override names: a renamed operation's new key has none yet), else of every key (`known`,
    then `left_out`)."""
    filtered = [which for which in ("include", "exclude") if getattr(source, which) is not None]
    found = []
    outside = [key for key in keys if key in left_out]
    if outside:
        shown = ", ".join(f"'{key}'" for key in outside[:SHOWN_UNMATCHED])
        more = f" and {len(outside) - SHOWN_UNMATCHED:,} more" if len(outside) > SHOWN_UNMATCHED else ""
        noun_ = "override names an operation" if len(outside) == 1 else "overrides name operations"
        found.append(loaded.diagnostic(("sources", source_name, filtered[0] if filtered else "tools"), (
            f"source '{source_name}': {len(outside):,} `tools:` {noun_} outside those its `{filtered[0]}`"
            f"{'/`exclude`' if len(filtered) == 2 else ''} selects ({shown}{more}): "
            "they shape nothing, and apply again if the operation is selected"), severity="note", prefer="key"))
    for key in keys:
        if key in left_out:
            continue
        successor = (renamed or {}).get(key)
        if successor is not None:
            suffix = (f" (did you mean '{successor.key}'? it is now at this operation's method and path, "
                      f"{successor.meta.method} {successor.meta.path})")
        else:
            hint = close_names(key, unclaimed) or close_names(key, [*known, *sorted(left_out)])
            suffix = f" (did you mean {hint}?)" if hint else ""
        limits = limits_of(source.tools[key])
        if limits:
            found.append(replace(loaded.diagnostic(("sources", source_name, "tools", key), (
                f"source '{source_name}' has no operation '{key}'{suffix}, and this override limits it "
                f"({', '.join(limits)}): an operation renamed upstream would be served under its new key without "
                "the limit, so this stays an error; move the override to the operation's key, or remove it"),
                prefer="key"), code=LOST_LIMIT))
        else:
            found.append(loaded.diagnostic(("sources", source_name, "tools", key), (
                f"source '{source_name}' has no operation '{key}'{suffix}: this override applies to nothing and "
                "is ignored (the source's other tools are served)"), severity="warning", prefer="key"))
    return found


def close_names(key: str, known: Collection[str]) -> str:
    """The closest of `known` to a mistyped or renamed `key`, quoted ("'listTags'"), or ""; one that is `key` in
    another Unicode form (`größe` decomposed, NFD, written; composed, NFC, in the description) is said to be."""
    from ..errors import closest
    from ..unicode_forms import alike_in, in_another_form

    alike = alike_in(key, known)
    if alike is not None:
        return f"'{alike}', {in_another_form(key, alike)}"
    hint = closest(key, list(known))
    return f"'{hint}'" if hint else ""


PRACTICAL_NAME_LENGTH = 48
"""Longest tool name validate accepts without a warning: MCP allows 64 characters, but clients prefix the
server's name and many model APIs cap the whole at 64 (Claude Code: `mcp__<server>__<tool>`), so 48 leaves
a server name of about 10 characters room."""


def _check_name_lengths(loaded: LoadedManifest, source_name: str, tools: list[Tool], out: list[Diagnostic]) -> None:
    """One warning per source naming its tools longer than `PRACTICAL_NAME_LENGTH` (an error under `--strict`)."""
    long = [tool for tool in tools if len(tool.name) > PRACTICAL_NAME_LENGTH]
    if not long:
        return
    shown = ", ".join(f"'{tool.name}' ({len(tool.name)})" for tool in long[:5])
    more = f" and {len(long) - 5} more" if len(long) > 5 else ""
    out.append(loaded.diagnostic(("sources", source_name), (
        f"{len(long)} tool name(s) longer than {PRACTICAL_NAME_LENGTH} characters: {shown}{more}; clients prefix "
        "the server's name (Claude Code: `mcp__<server>__`) and many cap the whole at 64, so such a tool may be "
        "renamed or refused: give it a shorter `name:` under `tools:`"), severity="warning", prefer="key"))


def _distinguish_descriptions(loaded: LoadedManifest, source_name: str, tools: list[Tool], max_chars: int,
                              out: list[Diagnostic]) -> None:
    """Tools of one source with one description are alike to a model (readme's `parameters-common`:
    `get_anything`, `_2`, `_3`; Petstore's two `create_users_with_*_input`): each such HTTP tool's
    description gets its method and path added (the prose cut so the whole stays within `max_chars`,
    `descriptions.max_chars`, when it was), and a warning (an error under `--strict`) says what was
    done and asks for descriptions that tell them apart."""
    alike: dict[str, list[Tool]] = {}
    for tool in tools:
        alike.setdefault(tool.description.strip(), []).append(tool)
    for description, group in alike.items():
        if len(group) < 2:
            continue
        added = 0
        for tool in group:
            meta = tool.operation.meta
            if meta.method and meta.path:
                tool.description = _with_suffix(description, f"({meta.method.upper()} {meta.path})", max_chars)
                added += 1
        names = ", ".join(f"'{tool.name}'" for tool in group)
        done = ("their method and path were added to it" if added == len(group)
                else f"the method and path were added to the {added} that have them" if added
                else "nothing was added to it (they have no method and path)")
        out.append(loaded.diagnostic(("sources", source_name), (
            f"tools {names} have the same description, so a model cannot tell them apart: {done}; give each a "
            "`description` that says how they differ"), severity="warning", prefer="key"))


def _with_suffix(description: str, suffix: str, max_chars: int) -> str:
    """`description` then `suffix`; when the description fitted `max_chars` the whole still does (the prose
    is cut at a sentence or word, the suffix is what tells the tool apart). A longer description (an
    override's, not compacted) keeps its length."""
    if not description:
        return suffix
    room = max_chars - len(suffix) - 1
    if len(description) <= max_chars and len(description) > room:
        description = fit(description, max(room, 1))
    return f"{description} {suffix}"


def upstream_task_support(op: Operation) -> str:
    """What a proxied server declares for its tool (`execution.taskSupport`), else `forbidden`."""
    execution = op.extra.get("execution")
    declared = execution.get("taskSupport") if isinstance(execution, Mapping) else None
    return declared if declared in ("optional", "required") else "forbidden"


def _declared_output_schema(
    loaded: LoadedManifest,
    base: tuple[Any, ...],
    op: Operation,
    override: ToolOverride,
    wanted: bool | None,
    autoprune: AutoPruner | None,
    out: list[Diagnostic],
) -> tuple[dict[str, Any] | None, AbsentFields | None]:
    """Check `prune` and `output` against the response shape; the outputSchema to declare, if any,
    and the fields an `output` template may read although a record lacks them (`absence`).

    The shape is the operation's `response_schema`, whatever the kind: an OpenAPI success response,
    a Python function's return type. A field that cannot exist is an error when it is a typo of a
    documented one, looked up on a list, or missing from an object the prune's own `{…}` builds
    (it has exactly its keys), else a warning: documents often leave fields out (`opt_fields`,
    vendor extras). Declared (by default) when the tool has a prune, no output
    template (a rendered result has no structuredContent) and the prune provably gives an object;
    `wanted` (the tool's or source's `output_schema`) true declares the response shape itself for
    an unpruned tool, false never.
    """
    shape = op.response_schema
    if shape is None:
        return None, None
    if not (override.prune or override.output or wanted):
        return None, None  # nothing to check and nothing to declare (most tools): no JMESPath analysis loaded
    if override.prune and compile_prune(override.prune).peak_growth > WARN_GROWTH:
        # The shape of a result that repeats its input 2^n times is 2^n shapes (schema_paths expanded the
        # security trial's 40-stage prune for minutes at load): validate warns of it, nothing is derived.
        return None, None
    if op.default_response_schema is not None:  # e.g. Slack: `{ok: false, error}` with status 200
        shape = {"anyOf": [shape, op.default_response_schema]}
    from ..manifest.checks import at_line, at_offset
    from ..shaping.schema_paths import analyze, output_schema, with_fields

    # a return annotation lists every field (an Operation from an older compile cache lacks the flag)
    exact = getattr(op, "response_schema_exact", False)
    if override.undocumented_fields:  # the manifest author vouches for fields the document leaves out
        shape = with_fields(shape, override.undocumented_fields)

    unpruned = shape
    if override.prune:
        analysis = analyze(override.prune, shape, exact=exact)
        for problem in analysis.problems:
            message = f"prune: {problem.message}" + ("" if problem.certain else _UNDOCUMENTED)
            out.append(at_offset(loaded.index, (*base, "prune"), override.prune, problem.offset, message,
                                 severity="error" if problem.certain else "warning"))
        shape = analysis.shape
    documented: AbsentFields | None = None
    if override.output:
        from ..shaping.absence import absence_rules
        from ..shaping.template_paths import check_template  # Jinja2: only for a tool with a template

        absence = absence_rules(unpruned, shape, autoprune)
        documented = absence.documented
        seen: set[tuple[int, int, str]] = set()  # a finding once; distinct ones at one place all shown
        for t in check_template(override.output, shape, exact=exact, absence=absence):
            if (t.line, t.col, t.message) in seen:
                continue
            seen.add((t.line, t.col, t.message))
            message = f"output template, line {t.line}: {t.message}"
            if t.absent:
                out.append(at_line(loaded.index, (*base, "output"), override.output, t.line, t.col, message,
                                   severity="warning"))
                continue
            if t.guarded:
                message += " (guarded by `is defined`/`default`, so the template still renders)"
            elif not t.certain:
                message += _UNDOCUMENTED
            out.append(at_line(loaded.index, (*base, "output"), override.output, t.line, t.col, message,
                               severity="error" if t.certain and not t.guarded else "warning"))
    if wanted is False or override.output or not (override.prune or wanted):
        return None, documented
    declared = output_schema(shape)
    if declared is None and override.output_schema is True:  # asked for on this tool, and cannot be given
        out.append(loaded.diagnostic((*base, "output_schema"), "output_schema: true, but the result is not "
                                     "provably an object, and an MCP outputSchema describes an object: none is "
                                     "declared (prune the result into an object to declare one)",
                                     severity="warning"))
    return declared, documented


_UNDOCUMENTED = (" (if the result carries it anyway, its schema is incomplete — the API's description or the "
                 "function's return type; `undocumented_fields` vouches for it: a warning, not an error)")


def _check_refused_lookups(loaded: LoadedManifest, base: tuple[Any, ...], output: str, out: list[Diagnostic]) -> None:
    """An error at each look-up of the `output` template the sandbox refuses at render time (`__class__`,
    `pop`): it compiles, but would fail every call."""
    from ..manifest.checks import at_line
    from ..shaping.template_safety import refused_lookups

    for refused in refused_lookups(output):
        message = f"output template, line {refused.line}: {refused.message}"
        out.append(at_line(loaded.index, (*base, "output"), output, refused.line, refused.col, message))


def _origin(loaded: LoadedManifest, path: tuple[Any, ...]) -> str:
    """`file:line` where a template's text starts (a block scalar's text starts on the next line)."""
    span = loaded.index.span(path)
    where = loaded.locate(path)
    line = where.line + 1 if span is not None and span.block else where.line
    return f"{where.file}:{line}"


def _shape_arguments(
    loaded: LoadedManifest, base: tuple[Any, ...], op: Operation, override: ToolOverride, kind: SourceKind,
    out: list[Diagnostic],
) -> tuple[dict[str, Any], ArgPlan]:
    """The input schema the model sees, and how its arguments are completed before the upstream call."""
    if not override.args:
        return op.input_schema, ArgPlan()
    schema = copy.deepcopy(op.input_schema)
    properties: dict[str, Any] = schema.setdefault("properties", {})
    required: list[str] = list(schema.get("required", []))
    fixed: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    hidden: set[str] = set()
    sent = getattr(op, "sent_values", None) or {}  # an Operation from an older compile cache lacks it
    for arg, spec in override.args.items():
        where = (*base, "args", arg)
        served = None
        if arg not in properties:  # imported here: argument_errors loads jsonschema, which `validate` of a
            from .argument_errors import renamed_from  # python: manifest never needs (tests/cli/test_cli_imports.py)

            served = renamed_from(arg, properties)
        if served is not None and served not in override.args:
            # the original name of an argument served under a safe one (`名前` of `arg_d54d12f`): the name the code
            # or description says, and what an override was keyed by before names were made safe (review of fixi2,
            # item 8), so it applies to that argument
            arg = served
        if arg not in properties and arg in sent:
            out.append(_sent_by_source(loaded, where, op, arg, spec, sent[arg]))
            continue
        if arg not in properties:
            from ..errors import did_you_mean

            suffix = did_you_mean(arg, list(properties)) or f" (it has: {', '.join(properties) or 'none'})"
            out.append(loaded.diagnostic(where, f"tool '{op.key}' has no argument '{arg}'{suffix}", prefer="key"))
            continue
        if not _no_float_for_an_integer(loaded, where, op, properties[arg], arg, spec, out):
            continue
        if kind.schema_enforced and not _value_fits(loaded, where, op, schema, arg, spec, out):
            continue
        if spec.has_fixed:
            fixed[arg] = spec.fixed
            hidden.add(arg)
        elif spec.hidden:
            if arg in required and not spec.has_default:
                out.append(loaded.diagnostic(where, f"argument '{arg}' is required: give it a `default` or make it "
                                                    "`fixed` to hide it", prefer="key"))
                continue
            hidden.add(arg)
            if spec.has_default:
                fixed[arg] = spec.default  # hidden with a default: always sent, like fixed
        elif spec.has_default:
            defaults[arg] = spec.default
            properties[arg] = {**properties[arg], "default": spec.default}
        if spec.description is not None and arg not in hidden:
            properties[arg] = {**properties[arg], "description": spec.description}
    for arg in hidden:
        properties.pop(arg, None)
    schema["required"] = [r for r in required if r not in hidden and r not in defaults]
    if not schema["required"]:
        schema.pop("required")
    return schema, ArgPlan(fixed=fixed, defaults=defaults, hidden=frozenset(hidden))


def _sent_by_source(loaded: LoadedManifest, where: tuple[Any, ...], op: Operation, arg: str, spec: Any,
                    value: Any) -> Diagnostic:
    """The finding for an override of an argument the source now sends itself (`Operation.sent_values`: a
    parameter whose schema admits one value). Pinning it with `fixed` was the way to stop asking the model for
    it before mcprt did so, and a manifest that did must keep loading (review of carried, problem 7): the same
    value is a warning (the override changes nothing), another value an error (it cannot be sent)."""
    shown = json.dumps(value, ensure_ascii=False)
    said = f"tool '{op.key}': mcprt now sends '{arg}' itself (its schema admits only {shown})"
    keyword = "fixed" if spec.has_fixed else "default" if spec.has_default else None
    given = spec.fixed if spec.has_fixed else spec.default if spec.has_default else value
    if given != value:
        return loaded.diagnostic((*where, keyword), f"{said}, so this `{keyword}` (another value) "
                                 "cannot be sent: remove this override")
    return loaded.diagnostic(where, f"{said}: this override changes nothing; remove it", severity="warning",
                             prefer="key")


def _no_float_for_an_integer(loaded: LoadedManifest, where: tuple[Any, ...], op: Operation, node: Any, arg: str,
                             spec: Any, out: list[Diagnostic]) -> bool:
    """False (and a finding) when an argument whose schema says `integer` gets a float `fixed`/`default`
    (`default = 5.0`), or a list of them (`items`). JSON Schema calls 5.0 an integer (2020-12 Validation
    §6.1.1), but the model would be shown `"default": 5.0` beside `"type": "integer"`, and the manifest's
    one rule for integers refuses it (`manifest.written.integer_expected`), for every kind of source."""
    keyword = "fixed" if spec.has_fixed else "default" if spec.has_default else None
    if keyword is None or not isinstance(node, dict):
        return True
    value = spec.fixed if spec.has_fixed else spec.default
    bad = _float_for_integer(node, value)
    if bad is None and isinstance(value, list) and isinstance(node.get("items"), dict):
        bad = next((item for item in value if _float_for_integer(node["items"], item) is not None), None)
    if bad is None:
        return True
    said = integer_expected(bad) if bad is not value else as_source(integer_expected(bad), bad,
                                                                      loaded.index.written((*where, keyword)))
    out.append(loaded.diagnostic((*where, keyword), f"`{keyword}` of argument '{arg}' of tool '{op.key}': {said}"))
    return False


def _float_for_integer(node: dict[str, Any], value: Any) -> float | None:
    """`value` when it is a float and `node` types it as an integer (and not also as a number)."""
    types = declared_types(node) or []
    return value if isinstance(value, float) and "integer" in types and "number" not in types else None


def _value_fits(loaded: LoadedManifest, where: tuple[Any, ...], op: Operation, schema: dict[str, Any], arg: str,
                spec: Any, out: list[Diagnostic]) -> bool:
    """Whether an argument's `fixed` or `default` value satisfies the argument's own schema.

    Checked for kinds whose upstream enforces the schema (`SourceKind.schema_enforced`): there the
    model, which never sees a fixed value (and rarely overrides a default), would get a refusal on
    every call it could do nothing about. Refused here instead, at the value's line.
    """
    keyword = "fixed" if spec.has_fixed else "default" if spec.has_default else None
    if keyword is None:
        return True
    value = spec.fixed if spec.has_fixed else spec.default
    if certainly_fits(schema["properties"][arg], value):  # the common case, without loading jsonschema
        return True
    wrapper: dict[str, Any] = {"type": "object", "properties": {arg: schema["properties"][arg]}}
    if "$defs" in schema:  # the argument's `$ref`s point into the tool's own definitions
        wrapper["$defs"] = schema["$defs"]
    from ..schema.validator import argument_validator  # jsonschema: only for a value to check (not on start-up)
    from ..manifest.written import in_words
    from .argument_errors import problem_key

    # each problem once (`argument_errors.problem_key`): an `allOf` of two objects declaring one property checks it
    # twice; two unions' problems read alike in jsonschema's words, and are written once
    errors = argument_validator(wrapper, shortcut=False).iter_errors({arg: value})
    source = loaded.index.written((*where, keyword))  # the value's text in a TOML file: quoted as written
    problems = list(dict.fromkeys({problem_key(e): as_source(in_words(e.message, e.instance), e.instance, source)
                                   if e.instance is value else in_words(e.message, e.instance)
                                   for e in errors}.values()))
    if not problems:
        return True
    out.append(loaded.diagnostic((*where, keyword), f"`{keyword}` of argument '{arg}' of tool '{op.key}' does not "
                                                    f"fit its schema: {'; '.join(problems)}"))
    return False


def _describe(
    loaded: LoadedManifest,
    base: tuple[Any, ...],
    op: Operation,
    override: ToolOverride,
    plan: ArgPlan,
    out: list[Diagnostic],
) -> str:
    """The tool description: the source's, or the override rendered once with the operation's facts."""
    if override.description is None:
        return op.description
    properties = op.input_schema.get("properties", {})
    context: dict[str, Any] = {name: f"<{name}>" for name in properties}
    # The source's own default (an OpenAPI parameter's schema `default`, a Python parameter's default)
    # is the argument's default too; the manifest's `default`/`fixed` win over it.
    context.update({name: schema["default"] for name, schema in properties.items()
                    if isinstance(schema, dict) and "default" in schema})
    context.update(plan.defaults)
    context.update(plan.fixed)
    context.update(
        description=op.description,
        summary=op.meta.summary or op.title or "",
        method=op.meta.method,
        path=op.meta.path,
        tags=list(op.meta.tags),
        name=op.name,
    )
    try:
        return _template(override.description, "description").render(**context).strip()
    except (TemplateError, TemplateRenderError) as exc:
        out.append(loaded.diagnostic((*base, "description"), f"description template: {exc}"))
        return op.description


def tool_claim(tool: Tool) -> Claim:
    """The name `tool` takes, for `offerings.owners` (its upstream name: the operation's key)."""
    return Claim(tool.name, tool.source, tool.operation.key)


def _leave_out_taken(loaded: LoadedManifest, tools: list[Tool], served: ServedNames,
                     out: list[Diagnostic]) -> list[Tool]:
    """`tools` without those `served` leaves out (a warning each); the clashes left are `_check_collisions`'."""
    first: dict[str, Tool] = {}
    dropped: set[int] = set()
    for tool in tools:
        earlier = first.setdefault(tool.name, tool)
        if earlier is tool:
            continue
        gone = served.left_out(tool_claim(earlier), tool_claim(tool))
        if gone is None:
            continue
        loser, keeper = (earlier, tool) if gone.source == earlier.source else (tool, earlier)
        dropped.add(id(loser))
        first[tool.name] = keeper
        out.append(loaded.diagnostic(("sources", loser.source), left_out_warning("tool name", gone, tool_claim(keeper)),
                                     severity="warning", prefer="key"))
    return [tool for tool in tools if id(tool) not in dropped]


def _check_collisions(loaded: LoadedManifest, tools: list[Tool], out: list[Diagnostic]) -> None:
    """Two tools with one name: ask for a prefix (different sources) or a distinct `name` override."""
    seen: dict[str, Tool] = {}
    between: dict[tuple[str, str], list[str]] = {}  # (source, earlier source) → colliding names, one error each pair
    for tool in tools:
        other = seen.get(tool.name)
        if other is None:
            seen[tool.name] = tool
            continue
        if tool.override_key and loaded.manifest.sources[tool.source].tools[tool.override_key].name:
            path: tuple[Any, ...] = ("sources", tool.source, "tools", tool.override_key, "name")
            out.append(loaded.diagnostic(path, f"duplicate tool name '{tool.name}' (also from source "
                                               f"'{other.source}', operation '{other.operation.key}')"))
        elif other.source != tool.source:
            between.setdefault((tool.source, other.source), []).append(tool.name)
        else:
            out.append(loaded.diagnostic(("sources", tool.source), f"duplicate tool name '{tool.name}' in source "
                                         f"'{tool.source}': rename one with a `name` override", prefer="key"))
    for (source, other_source), names in between.items():
        if len(names) == 1:
            what = f"tool name '{names[0]}' from source '{source}' collides"
        else:  # two sources offering the same module or server: one finding, not one line per tool
            shown = ", ".join(f"'{n}'" for n in names[:5]) + (f", … {len(names) - 5} more" if len(names) > 5 else "")
            what = f"{len(names)} tool names from source '{source}' ({shown}) collide"
        out.append(loaded.diagnostic(("sources", source), f"{what} with source '{other_source}': give one of them "
                                     "a `prefix`", prefer="key"))


def _check_pinned(loaded: LoadedManifest, tools: list[Tool], out: list[Diagnostic], pending: Collection[str]) -> None:
    names = {tool.name for tool in tools}
    for i, name in enumerate(loaded.manifest.server.pinned):
        if name not in names and not pending_for(loaded.manifest.sources, pending, name):
            import difflib  # only for a typo's hint: not on every start
            hint = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            # a warning, not an error: a tool an upstream drops must not stop the others (nothing to pin; pinning
            # only lists a tool in discovery mode, so ignoring the name widens no access)
            out.append(loaded.diagnostic(("server", "pinned", i), f"pinned tool '{name}' does not exist{suffix}: "
                                         "nothing to pin", severity="warning"))
    pinned = set(loaded.manifest.server.pinned)
    for tool in tools:
        if tool.name in pinned:
            tool.pinned = True


def _template(source: str, kind: str) -> Any:
    """A compiled `description:`/`output:` template; Jinja2 is imported only for a manifest that
    has one (`mcprt up` of a plain description never loads it)."""
    from ..expressions.templates import compile_template

    return compile_template(source, kind=kind)
