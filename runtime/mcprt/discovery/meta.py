"""The three meta-tools of discovery mode: search_tools, describe_tools, call_tool.

They are ordinary `Tool`s whose operation runs in-process, so the server lists, validates, logs
and calls them like any other tool. `call_tool` hands the target to the same call pipeline a
direct call uses (`mcprt.toolset.invoke.call_tool`), so overrides, fixed/hidden arguments,
pruning, templates, auth and logs apply unchanged. Their descriptions say *when* to use them,
with the number of operations and their areas: models skip a search step they don't understand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PolicyDenied, ToolCallError, UnknownTool
from ..manifest.model import Defaults
from ..shaping.result import Shaping
from ..identity.principal import Principal
from ..toolset.gate import visible_to
from ..toolset.invoke import call_tool, refuse_unserved
from ..contracts import CallContext, Invoker, Operation, UpstreamResult
from ..toolset.tool import ArgPlan, Tool
from ..toolset.toolset import ToolSet, near_names
from .catalog import Catalog, SourceSummary
from .text import terms
from ..wording import noun

SEARCH, DESCRIBE, CALL = "search_tools", "describe_tools", "call_tool"
FALLBACK_PREFIX = "mcprt_"  # used when a real tool already has a meta-tool's name
META_SOURCE = "mcprt"  # the `source` of meta-tools in logs
DEFAULT_LIMIT, MAX_LIMIT = 8, 25
# A search query is a few words: longer is a model pasting a document, which the answer would echo
# (a 100,000-character query got a 100 KB answer). Names are operation names.
MAX_QUERY_CHARS, MAX_NAME_CHARS = 500, 200
MAX_DESCRIBE = 10
UNLIMITED = 1 << 40  # meta-tools never shorten: the target's own limits already applied


@dataclass(frozen=True)
class MetaNames:
    search: str = SEARCH
    describe: str = DESCRIBE
    call: str = CALL


def choose_names(taken: set[str]) -> MetaNames:
    """The meta-tools' names: the plain ones unless a real tool has them, then `mcprt_…` (then `_2`…)."""
    def pick(base: str) -> str:
        if base not in taken:
            return base
        name, n = FALLBACK_PREFIX + base, 2
        while name in taken:
            name, n = f"{FALLBACK_PREFIX}{base}_{n}", n + 1
        return name

    return MetaNames(pick(SEARCH), pick(DESCRIBE), pick(CALL))


def names_in(toolset: ToolSet) -> MetaNames | None:
    """The names of the meta-tools `toolset` serves (`attach_discovery` put them among its extra tools,
    after any it had), or None when it is not in discovery mode."""
    found = [tool.name for tool in toolset.extra.values() if tool.source == META_SOURCE]
    return MetaNames(*found) if len(found) == 3 else None


def build_meta_tools(catalog: Catalog, names: MetaNames, defaults: Defaults) -> list[Tool]:
    """The three meta-tools over `catalog`, in the order a model should use them."""
    reader = {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False}
    search = _meta_tool(names.search, _search_description(catalog, names), _search_schema(catalog),
                        _search_invoker(catalog, names), defaults, reader)
    search.described_for = lambda hidden: _search_description(catalog, names, hidden)
    return [
        search,
        _meta_tool(names.describe, _describe_description(names), _describe_schema(),
                   _describe_invoker(catalog, names, defaults.max_result_bytes), defaults, reader),
        _forwarding(_meta_tool(names.call, _call_description(names), _call_schema(),
                               _call_invoker(catalog, names), defaults, {"openWorldHint": True}), catalog),
    ]


def _forwarding(tool: Tool, catalog: Catalog) -> Tool:
    """The call tool forwards to the operation it names: a call of a task-supporting operation
    through it may run as a task, as a direct call would (`Tool.reached`)."""

    def target(arguments: Mapping[str, Any] | None, principal: Principal | None) -> Tool | None:
        name = arguments.get("name") if isinstance(arguments, Mapping) else None
        return _visible(catalog, name, principal) if isinstance(name, str) else None

    tool.forwards_to = target
    return tool


def _meta_tool(name: str, description: str, schema: dict[str, Any], invoke: Invoker, defaults: Defaults,
               annotations: dict[str, Any]) -> Tool:
    operation = Operation(key=name, name=name, description=description, input_schema=schema, invoke=invoke,
                          annotations=annotations)
    return Tool(
        name=name,
        source=META_SOURCE,
        operation=operation,
        description=description,
        input_schema=schema,
        args=ArgPlan(),
        shaping=Shaping(max_result_bytes=UNLIMITED, tool=name),
        timeout=defaults.timeout,
        max_response_bytes=defaults.max_response_bytes,
        annotations=annotations,
    )


# --- descriptions ------------------------------------------------------------------------------


def _areas(summary: SourceSummary) -> str:
    if not summary.areas:
        return ""
    return f" (areas: {', '.join(summary.areas)}{', …' if summary.more_areas else ''})"


def _search_description(catalog: Catalog, names: MetaNames, hidden_names: frozenset[str] = frozenset()) -> str:
    """What the search tool says, counting only operations not in `hidden_names` (hidden from the caller)."""
    summaries = catalog.summaries(hidden_names)
    total = sum(s.count for s in summaries)
    unlisted = sum(1 for tool in catalog.searchable if not tool.listed and tool.name not in hidden_names)
    hidden = "that are not listed as tools" if unlisted == total else \
        f"({unlisted:,} of them not listed as tools)"
    if len(summaries) == 1:
        only = summaries[0]
        what = f"{total:,} {only.name} {noun(total, 'operation')}{_areas(only)} {hidden}"
        subject = only.name
    else:
        parts = "; ".join(f"{s.count:,} from {s.name}{_areas(s)}" for s in summaries)
        what = f"{total:,} {noun(total, 'operation')} {hidden}: {parts}"
        subject = " or ".join(s.name for s in summaries)
    return (
        f"This server has {what}. To do anything with {subject}: "
        f"1) call {names.search} with a few words saying what you want to do, e.g. \"{catalog.example_query(hidden_names)}\"; "
        f"2) call {names.describe} with the names you picked, to get their arguments; "
        f"3) call {names.call} with a name and its arguments. "
        f"Returns the best matches, best first, one per line as `name: summary`."
    )


def _describe_description(names: MetaNames) -> str:
    return (
        f"Get the full definitions (description and input schema) of operations found with {names.search}, "
        f"before calling them with {names.call}. Give one or several exact names (up to {MAX_DESCRIBE})."
    )


def _call_description(names: MetaNames) -> str:
    return (
        f"Call an operation found with {names.search} by its exact name, with `arguments` following the input "
        f"schema that {names.describe} returned. Arguments are checked exactly as for a listed tool; an error "
        f"says what to fix. Returns the operation's result."
    )


# --- input schemas ------------------------------------------------------------------------------


def _search_schema(catalog: Catalog) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS,
                  "description": "What you want to do, in a few words, e.g. \"list open issues\"."},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                  "description": "Most results to return."},
    }
    if len(catalog.sources) > 1:
        properties["source"] = {"type": "string", "enum": list(catalog.sources),
                                "description": "Only operations of this source."}
    return {"type": "object", "properties": properties, "required": ["query"], "additionalProperties": False}


def _describe_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "names": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS},
                      "minItems": 1,
                      "maxItems": MAX_DESCRIBE, "description": "Exact operation names from search results."},
        },
        "required": ["names"],
        "additionalProperties": False,
    }


def _call_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS,
                     "description": "Exact operation name."},
            "arguments": {"type": "object", "default": {},
                          "description": "The operation's arguments, as its input schema describes."},
        },
        "required": ["name"],
        "additionalProperties": False,
    }


# --- behaviour ------------------------------------------------------------------------------------


def _text(text: str) -> UpstreamResult:
    return UpstreamResult(kind="text", body=text, raw_bytes=len(text.encode()))


def _visible(catalog: Catalog, name: str, principal: Principal | None) -> Tool | None:
    """The operation `name`, unless a policy hides it from `principal` (then it does not exist)."""
    tool = catalog.get(name)
    return tool if tool is not None and visible_to(tool, principal) else None


def _unknown(catalog: Catalog, name: str, names: MetaNames, principal: Principal | None = None, *,
             via: str | None = None) -> str:
    """An actionable message for a name that is not an operation (hidden ones are never suggested).

    `via`: the meta-tool the name was given to (a meta-tool's own name is to be called directly, not
    through it). A name an earlier manifest served gets `ToolSet.retired_hint` (its new name when a
    reload renamed its operation), as a direct call of it does. Suggestions prefer operations of
    the source the name looks like it belongs to (`github.issues_list` → github's, not a copy's).
    """
    if name in (names.search, names.describe, names.call):
        return f"'{name}' is a discovery tool itself: call it directly, not through {via or names.call}"
    served = catalog.served
    if name in served.retired:
        return f"no operation named '{name}' ({served.retired_hint(name, principal)})."
    candidates = [n for n in catalog.names() if _visible(catalog, n, principal) is not None]
    hint = near_names(name, candidates, lambda n: tool.source if (tool := catalog.get(n)) is not None else None)
    suggestion = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
    return f"no operation named '{name}'.{suggestion} Use {names.search} to find operation names."


def _hidden_names(catalog: Catalog, context: CallContext) -> frozenset[str]:
    """The operations a policy hides from the caller (search asks for that many more hits, and counts
    without them)."""
    tool = next(iter(catalog.searchable), None)
    gate = tool.gate if tool is not None else None
    return gate.hidden(context.principal) if gate is not None else frozenset()


def _search_invoker(catalog: Catalog, names: MetaNames) -> Invoker:
    async def search(arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        query = str(arguments.get("query", "")).strip()
        limit = int(arguments.get("limit", DEFAULT_LIMIT))
        source = arguments.get("source")
        index = catalog.index
        hidden = _hidden_names(catalog, context)
        if not terms(query) and not index.pronoun_terms(query):  # "who am I" means the authenticated user
            raise ToolCallError(
                f"the query '{query}' has no searchable words: say what you want to do, e.g. "
                f"\"{catalog.example_query(hidden)}\""
            )
        hits = index.search(query, limit=limit + len(hidden), sources=[source] if source else None)
        hits = [h for h in hits if visible_to(h.tool, context.principal)][:limit]
        # out of what this caller may see: counting hidden operations would tell it how many there are
        # and of the source asked for, when one is
        among = sum(1 for t in index.tools if t.name not in hidden and (not source or t.source == source))
        scope = f" of {source}" if source else ""
        if not hits:
            areas = ", ".join(a for s in catalog.summaries(hidden) for a in s.areas[:5])
            tip = f" (areas: {areas})" if areas else ""
            return _text(f"No operation{scope} matches \"{query}\". Try other words{tip}.")
        many = len(catalog.sources) > 1 and not source
        lines = [f"Best {len(hits)} of {among:,} {noun(among, 'operation')}{scope} for \"{query}\":"]
        for hit in hits:
            origin = f" [{hit.tool.source}]" if many else ""
            listed = " (also listed as a tool)" if hit.tool.listed else ""
            lines.append(f"{hit.tool.name}{origin}: {hit.summary}{listed}")
        lines.append(f"Next: {names.describe} with the names you want, then {names.call}.")
        return _text("\n".join(lines))

    return search


def _describe_invoker(catalog: Catalog, names: MetaNames, max_bytes: int) -> Invoker:
    async def describe(arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        wanted = list(dict.fromkeys(str(n) for n in arguments.get("names", [])))
        found, unknown, not_shown = [], [], []
        used = 0
        for name in wanted:
            tool = _visible(catalog, name, context.principal)
            if tool is None:
                unknown.append(_unknown(catalog, name, names, context.principal, via=names.describe))
                continue
            size = tool.definition_size()
            if found and used + size > max_bytes:
                not_shown.append(name)
                continue
            found.append(tool.definition())
            used += size
        if not found:
            raise ToolCallError("; ".join(unknown))
        body: dict[str, Any] = {"tools": found}
        if unknown:
            body["unknown"] = unknown
        if not_shown:
            body["not_shown"] = not_shown
            body["note"] = f"too large to show together; call {names.describe} again with the names not shown"
        return _text(json.dumps(body, ensure_ascii=False, separators=(",", ":")))

    return describe


def _call_invoker(catalog: Catalog, names: MetaNames) -> Invoker:
    async def call(arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        started = time.perf_counter()
        name = str(arguments.get("name", ""))
        target = _visible(catalog, name, context.principal)
        if target is None:
            message = _unknown(catalog, name, names, context.principal)
            hidden = catalog.get(name)
            if hidden is None or hidden.gate is None:
                raise UnknownTool(message)  # the call_tool line's status: `unknown_tool`
            # exists, but not for this caller: the policy's `hidden` decision, and the operation's own call
            # line (`hidden`), as a direct call of it writes; the relay ends as its target did (`denied`),
            # and being no operation's call it is the one that counts (`CallEvent.via`)
            hidden.gate.refused_hidden(hidden, context.principal, context.session_id, context.call_id)
            refuse_unserved(name, hidden, message, started=started, principal=context.principal,
                            session_id=context.session_id, request_id=context.request_id, publish=False)
            raise PolicyDenied(message, action="hidden")
        # `peer`: what the operation asks its client (a proxied server's elicitation) reaches the caller, and
        # the call's task id (it runs as a task) is the operation's too; `meta`: the client's request `_meta`,
        # as a direct call hands it on (a proxied server gets its vendor keys, a Python tool reads it), and
        # `progress` its progress token's reporter (a direct call's `_progress_reporter`)
        context.relay_reached = True  # before the await: a cancel during the target's call is counted there
        result = await call_tool(target, arguments.get("arguments") or {}, request_id=context.request_id,
                                 progress=context.progress, principal=context.principal,
                                 session_id=context.session_id, peer=context.peer, via=names.call,
                                 call_id=context.call_id, meta=context.meta, offers=context.offers)
        return UpstreamResult(
            kind="content",
            content=result.content,
            structured=result.structured_content,
            is_error=result.is_error,
            raw_bytes=result.raw_bytes,  # what the target's upstream sent, not its shaped result: the same
            raw_measured=True,  # "saved" figure on the meta-tool's row as on the target's own
            relayed_outcome=result.outcome,  # a failed target: the meta-tool's call failed the same way
            result_meta=result.meta,  # the target's `_meta` (an approval's id, a rate limit's retry time) as a
            # direct call returns it
        )

    return call
