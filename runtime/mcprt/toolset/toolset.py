"""The tool set served at one moment, and the holder that swaps it atomically on reload.

A ToolSet is immutable once built; a call keeps a reference to the set it started on, so a swap
never disturbs calls in flight. Listing results are computed once per set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from ..identity.principal import Principal
from ..offerings.offerset import OfferSet
from ..scrubbing import SECRETS
from .tool import Tool

# difflib similarity a name must reach to be suggested for an unknown one (2·matches / total length):
# 0.7 keeps typos (`get_nte` → `get_note`, 0.93) and drops mere shared words (`add_note`, 0.53;
# `create_note` for `delete_nte`, 0.67: discovery's `call_tool` used 0.7, the direct call 0.6, until
# both used `near_names`)
SUGGEST_CUTOFF = 0.7
SOURCE_JOINERS = frozenset("./:_-")  # how a model may join a source and an operation name (`github.issues_list`)


def near_names(name: str, candidates: Iterable[str], source_of: Callable[[str], str | None]) -> list[str]:
    """Up to 3 of `candidates` close to `name` (`SUGGEST_CUTOFF`), closest first, except that those of a
    source `name` starts with (`pets.createPets`: source `pets`) come before other sources' (`pets_createPets`
    of source `zoo`). `source_of(candidate)`: its source, None for a tool of none (a meta-tool). The one
    did-you-mean of a direct call (`ToolSet`) and of discovery's `call_tool`/`describe_tools`."""
    import difflib  # only for a typo's hint: not on every start

    close = difflib.get_close_matches(name, list(candidates), n=6, cutoff=SUGGEST_CUTOFF)

    def elsewhere(candidate: str) -> bool:
        source = source_of(candidate)
        return not (source and name.startswith(source) and name[len(source):len(source) + 1] in SOURCE_JOINERS)

    return sorted(close, key=elsewhere)[:3]  # a stable sort: within each group, closest first


class ToolSet:
    """Every callable tool by exposed name, plus extra tools (e.g. discovery meta-tools) in front."""

    def __init__(self, tools: Iterable[Tool], *, extra: Iterable[Tool] = (), offers: OfferSet | None = None,
                 instructions: str | None = None, finder: str | None = None) -> None:
        """`instructions`: what whoever added `extra` tools wants the model told at initialize
        (discovery mode: how to reach unlisted operations); appended to the server's instructions.
        `offers`: the resources, templates and prompts served with these tools.
        `finder`: how a client finds a tool this set does not list (discovery mode: "search with
        search_tools"); None: listing tools shows every tool."""
        self.tools: dict[str, Tool] = {tool.name: tool for tool in tools}
        self.extra: dict[str, Tool] = {tool.name: tool for tool in extra}
        self.offers = offers or OfferSet()
        self.instructions = instructions
        self._listing: list[dict[str, Any]] | None = None
        # Names an earlier set of this process served and this one does not (`ToolSetHolder.swap`): a
        # client that listed before the reload may call them; it is told so, not only "unknown".
        self.retired: frozenset[str] = frozenset()
        # Of those, the ones whose operation this set serves under another name (same source and
        # operation: an override renamed it) → that name.
        self.renamed: dict[str, str] = {}
        self.finder = finder
        self._fingerprint: str | None = None
        self.gate: Any = None  # a policy's CallGate (toolset/gate.py); None: everything visible
        self._listings: dict[frozenset[str], list[dict[str, Any]]] = {}
        self._has_tasks: bool | None = None

    def __len__(self) -> int:
        return len(self.tools)

    @property
    def has_tasks(self) -> bool:
        """Some tool's calls may run as tasks (`Tool.task_support`): the server then offers the extension."""
        if self._has_tasks is None:
            self._has_tasks = any(tool.task_support != "forbidden" for tool in self.tools.values())
        return self._has_tasks

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools.values())

    def get(self, name: str) -> Tool | None:
        """A tool by exposed name: meta-tools first, then every tool (listed or reachable by discovery)."""
        return self.extra.get(name) or self.tools.get(name)

    def get_for(self, name: str, principal: Principal | None, session_id: str | None = None,
                call_id: str | None = None, *, report: bool = True) -> Tool | None:
        """The tool `principal` calls by `name`: `get`, except that a tool a policy hides from them
        does not exist for them (the attempt is reported to the policy, for the audit log, as a
        decision of the call `call_id`; `report=False`: a look ahead of the call, which reports it)."""
        tool = self.get(name)
        if tool is None or self.gate is None or name not in self.gate.hidden(principal):
            return tool
        if report:
            self.gate.refused_hidden(tool, principal, session_id, call_id)
        return None

    def unknown_tool_message(self, name: str, principal: Principal | None = None, *,
                             list_hint: str | None = None, reloading: bool = False,
                             incoming: ToolSet | None = None) -> str:
        """`_unknown_message` with why the name may be missing: a reload under way may bring it, or an
        earlier manifest of this server had it (`retired`); calling again or listing tools again helps.

        The reload hint ("call again in a moment") is given only when the name is plausibly coming, as far
        as is known at that point: once the reload compiled its set (`incoming`, while it is applied),
        when that set serves the name to `principal`; while it compiles (names not known yet), when this
        server served the name before (an edit may bring it back) or it is no near miss of a name served
        now — a typo of a served tool is told "did you mean", not to call again."""
        close = self._close_names(name, principal)
        message = self._unknown_message(name, principal, list_hint=list_hint, close=close)
        if reloading and (_serves(incoming, name, principal) if incoming is not None
                          else name in self.retired or not close):
            return (f"{message} (this server is reloading its manifest right now: call again in a moment, or list "
                    "tools again once it notifies that the list changed)")
        if name in self.retired:  # a real name, not a typo: no "did you mean" another tool
            if _serves(self, self.renamed.get(name, ""), principal):
                return f"unknown tool '{name}' ({self.retired_hint(name, principal)})"
            plain = self._unknown_message(name, principal, list_hint=list_hint, close=[])
            return f"{plain} ({self.retired_hint(name, principal)})"
        return message

    def retired_hint(self, name: str, principal: Principal | None) -> str:
        """Why a name this server served before is gone, and where to go: its new name when a reload
        renamed its operation, else how to find what is served now (listing, or discovery's search,
        which is all a listing shows there). No "did you mean": the name was real, not a typo, and a
        near name is another operation."""
        now = self.renamed.get(name)
        if now is not None and _serves(self, now, principal):
            return f"this server served '{name}' until its manifest changed; the same operation is now '{now}'"
        find = f"{self.finder} to find" if self.finder else "list tools again to see"
        return f"this server served '{name}' until its manifest changed: {find} what it serves now"

    def _close_names(self, name: str, principal: Principal | None) -> list[str]:
        """Up to 3 served names close to `name` (`near_names`), none hidden from `principal`."""
        hidden = self.gate.hidden(principal) if self.gate is not None else frozenset()
        return near_names(name, [n for n in [*self.extra, *self.tools] if n not in hidden],
                          lambda n: tool.source if (tool := self.tools.get(n)) is not None else None)

    def _unknown_message(self, name: str, principal: Principal | None = None, *,
                        list_hint: str | None = None, close: list[str] | None = None) -> str:
        """What to say about a name that is not here: close matches (`close`, else computed), else what is listed.

        One wording for the model (server), the CLI (`call`, `show`) and recording (`record`). Only
        close matches are suggested (`SUGGEST_CUTOFF`: `get_nte` → `get_note`, never `add_note`).
        Without one, the model is told the listed tools; a command line, which has `mcprt tools`
        for that, passes `list_hint` (what to run instead) and lists none. Tools hidden from
        `principal` are never suggested (a hidden tool must not leak through a "did you mean").
        """
        if close is None:
            close = self._close_names(name, principal)
        if close:
            return f"unknown tool '{name}'; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        if list_hint is not None:
            return f"unknown tool '{name}'; {list_hint}"
        hidden = self.gate.hidden(principal) if self.gate is not None else frozenset()
        names = [tool.name for tool in self.listed if tool.name not in hidden]
        if not names:
            return f"unknown tool '{name}'; this server has no tools right now"
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        return f"unknown tool '{name}'; available tools: {shown}"

    @property
    def listed(self) -> list[Tool]:
        return [*self.extra.values(), *(t for t in self.tools.values() if t.listed)]

    def list_tools(self) -> list[dict[str, Any]]:
        """The `tools` array of the MCP tools/list result."""
        if self._listing is None:
            # Scrubbed once, here, for every way out (the server, `mcprt tools --json`, the stdio early
            # listing); prose only, so names stay what `list_tools_for` filters hidden tools by.
            self._listing = SECRETS.scrub_prose([tool.definition() for tool in self.listed])
        return self._listing

    def list_tools_for(self, principal: Principal | None) -> list[dict[str, Any]]:
        """The `tools` array for `principal`: without the tools a policy hides from them."""
        hidden = self.gate.hidden(principal) if self.gate is not None else frozenset()
        if not hidden:
            return self.list_tools()
        listing = self._listings.get(hidden)
        if listing is None:
            listing = [self._described_for(d, hidden) for d in self.list_tools() if d["name"] not in hidden]
            if len(self._listings) < 64:  # one per distinct hidden set, not per caller
                self._listings[hidden] = listing
        return listing

    def _described_for(self, definition: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
        """`definition` as a caller with `hidden` names sees it (`Tool.described_for`)."""
        tool = self.extra.get(definition["name"])
        if tool is None or tool.described_for is None:
            return definition
        return SECRETS.scrub_prose([{**definition, "description": tool.described_for(hidden)}])[0]

    def list_result_json(self) -> str:
        """The tools/list result as compact JSON text."""
        return self.list_result_bytes().decode()

    def fingerprint(self) -> str:
        """Changes exactly when what a client sees in tools/list changes (names, descriptions, schemas)."""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self.list_result_bytes()).hexdigest()
        return self._fingerprint

    def list_result_bytes(self, output_schemas: bool = True, only: Collection[str] | None = None) -> bytes:
        """The tools/list result as compact JSON, UTF-8 (`mcprt tools --json` prints exactly this).
        `output_schemas=False`: as it would be with every tool's `outputSchema` left out (`output_schema: false`),
        what `mcprt init` tells beside the size (big-API trial, fault 8). `only`: as it would be listing only the
        tools of these names (discovery mode's meta-tools: the floor of `budget.max_tools_bytes`).

        Written by orjson (GitHub's 1.1 MB: ~0.003 s; `json` ~0.017 s), which is
        what the server's wire carries: non-finite numbers as `null` and tiny ones as `1e-7`, where
        `json` wrote the invalid `NaN` and `1e-07`; every other value is written as `json` writes
        it. What orjson refuses (an integer beyond 64 bits, a non-str key, a lone surrogate) is
        written by `json`, a lone surrogate as its `\\u` escape."""
        tools = self.list_tools()
        if only is not None:
            tools = [tool for tool in tools if tool.get("name") in only]
        if not output_schemas:
            tools = [{key: value for key, value in tool.items() if key != "outputSchema"} for tool in tools]
        listing = {"tools": tools}
        try:
            import orjson

            return orjson.dumps(listing)
        except (ImportError, TypeError):  # orjson.JSONEncodeError is a TypeError
            pass
        text = json.dumps(listing, separators=(",", ":"), ensure_ascii=False)
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate (from a `\ud800` escape): escaped, still valid JSON
            return json.dumps(listing, separators=(",", ":")).encode()


def _serves(toolset: ToolSet, name: str, principal: Principal | None) -> bool:
    """Whether `toolset` has `name` for `principal` (not hidden from them: a hint must not leak it)."""
    return toolset.get(name) is not None and (toolset.gate is None or name not in toolset.gate.hidden(principal))


def _renames(old: ToolSet, new: ToolSet) -> dict[str, str]:
    """Retired names of `new` whose operation (source and operation key) `new` serves under another name,
    → that name; renames `old` knew are carried on (a → b, then b → c: a → c)."""
    by_operation = {(tool.source, tool.operation.key): tool.name for tool in new.tools.values()}
    found = {name: by_operation[(tool.source, tool.operation.key)] for name, tool in old.tools.items()
             if name in new.retired and (tool.source, tool.operation.key) in by_operation
             and by_operation[(tool.source, tool.operation.key)] != name}
    for name, then in old.renamed.items():
        if name in new.retired and name not in found:
            now = found.get(then, then)
            if now in new.tools:
                found[name] = now
    return found


RETIRED_KEPT = 1000  # names of tools no longer served remembered for hints (a bound on a long-lived server)


def old_gate_hides_nothing(toolset: ToolSet) -> bool:
    """Whether `toolset`'s names may be repeated to any caller once gone: not when a policy hid some tool
    from someone (a hint must not tell them the hidden tool existed)."""
    return toolset.gate is None or not toolset.gate.hides_any


class ToolSetHolder:
    """The one swappable reference the server reads; swapping is a single assignment."""

    def __init__(self, initial: ToolSet) -> None:
        self._current = initial
        self._listeners: list[Callable[[ToolSet, ToolSet], Any]] = []
        self.reloading = False  # a reload is compiling or applying a new set (set by `reload.Reloader`)
        self.incoming: ToolSet | None = None  # the set that reload compiled, while it is applied (ditto)

    @property
    def current(self) -> ToolSet:
        return self._current

    def on_swap(self, listener: Callable[[ToolSet, ToolSet], Any]) -> Callable[[], None]:
        """Called as listener(old, new) after every swap (e.g. to send list_changed); returns the
        function that removes it again."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def swap(self, new: ToolSet) -> bool:
        """Install `new`; return True when the listing changed (clients should be notified)."""
        if old_gate_hides_nothing(self._current):
            gone = (self._current.retired | self._current.tools.keys() | self._current.extra.keys())
            gone -= new.tools.keys() | new.extra.keys()
            new.retired = frozenset(sorted(gone)[:RETIRED_KEPT])
            new.renamed = _renames(self._current, new)
        old, self._current = self._current, new
        changed = old.fingerprint() != new.fingerprint()
        for listener in list(self._listeners):
            listener(old, new)
        return changed
