"""What discovery mode knows about one ToolSet: the tools behind the meta-tools, by source.

Built with every ToolSet (so a reload rebuilds it); the search index is built on first use and
then kept for the life of the set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from ..toolset.tool import Tool
from ..toolset.toolset import ToolSet
from .index import SearchIndex, one_line_summary

MAX_AREAS = 10


@dataclass(frozen=True)
class SourceSummary:
    """How one source appears in the meta-tools' descriptions."""

    name: str
    count: int
    areas: tuple[str, ...]  # most common tags, most common first
    more_areas: bool


class Catalog:
    """The tools reachable through discovery, and everything the meta-tools say about them."""

    def __init__(self, toolset: ToolSet, order: Sequence[str] = ()) -> None:
        self.toolset = toolset
        self.searchable: list[Tool] = [tool for tool in toolset if tool.expose == "discovery"]
        rank = {name: i for i, name in enumerate(order)}
        names = {tool.source for tool in self.searchable}
        self.sources: list[str] = sorted(names, key=lambda s: (rank.get(s, len(rank)), s))
        self.unlisted = sum(1 for tool in self.searchable if not tool.listed)
        self.served: ToolSet = toolset  # the set the server serves (with the meta-tools), once attached

    @cached_property
    def index(self) -> SearchIndex:
        return SearchIndex(self.searchable)

    def get(self, name: str) -> Tool | None:
        """Any tool of the set by exposed name (listed or not), never a meta-tool."""
        return self.toolset.tools.get(name)

    def names(self) -> list[str]:
        return list(self.toolset.tools)

    def summaries(self, hidden: frozenset[str] = frozenset()) -> list[SourceSummary]:
        """Per source, its operations (those not in `hidden`: a policy hides them from the caller) and areas."""
        out = []
        for source in self.sources:
            tools = [tool for tool in self.searchable if tool.source == source and tool.name not in hidden]
            if not tools:
                continue
            tags: Counter[str] = Counter()
            for tool in tools:
                tags.update(tool.operation.meta.tags)
            common = [tag for tag, _ in tags.most_common(MAX_AREAS)]
            out.append(SourceSummary(source, len(tools), tuple(common), len(tags) > MAX_AREAS))
        return out

    def example_query(self, hidden: frozenset[str] = frozenset()) -> str:
        """A real, short task of this catalog for the description's example (e.g. "get a repository"), from
        the operations not in `hidden` (a policy hides them from the caller: their summaries are not told)."""
        summaries = self.summaries(hidden)
        top_area = summaries[0].areas[0] if summaries and summaries[0].areas else None
        for tool in self.searchable:
            if tool.name in hidden or top_area is not None and top_area not in tool.operation.meta.tags:
                continue
            text = one_line_summary(tool)
            if 2 <= len(text.split()) <= 5 and text.isascii():
                return text[0].lower() + text[1:]
        return "what you want to do"
