"""Discovery mode: big APIs a model can still use.

Instead of listing every tool (GitHub's REST API is 1,223 operations, 12 MB of tools/list), the
server lists three meta-tools — `search_tools`, `describe_tools`, `call_tool` — plus any pinned
tools. Search is a BM25F ranking built in memory once per ToolSet (`index.py`, words in
`text.py`); calls go through the same pipeline as direct calls. If a real tool already has a
meta-tool's name, that meta-tool is named `mcprt_<name>` instead.
"""

from __future__ import annotations

from ..manifest.loader import LoadedManifest
from ..toolset.toolset import ToolSet
from .catalog import Catalog
from .index import Hit, SearchIndex
from .meta import CALL, DESCRIBE, SEARCH, MetaNames, build_meta_tools, choose_names

__all__ = ["CALL", "DESCRIBE", "SEARCH", "Catalog", "Hit", "MetaNames", "SearchIndex", "attach_discovery",
           "choose_names"]


def attach_discovery(loaded: LoadedManifest, toolset: ToolSet) -> ToolSet:
    """A new ToolSet: the same tools, with the meta-tools in front when any tool is behind discovery."""
    catalog = Catalog(toolset, order=list(loaded.manifest.sources))
    if not catalog.searchable:
        return toolset
    taken = set(toolset.tools) | set(toolset.extra)
    meta = build_meta_tools(catalog, choose_names(taken), loaded.manifest.defaults)
    return ToolSet(list(toolset), extra=[*toolset.extra.values(), *meta], offers=toolset.offers)
