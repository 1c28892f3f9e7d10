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
    names = choose_names(taken)
    meta = build_meta_tools(catalog, names, loaded.manifest.defaults)
    # Models often skip a search step they were not told about; saying it once at initialize helps.
    hint = (f"Most operations of this server are not listed as tools: find them with {names.search}, "
            f"read their arguments with {names.describe}, then run them with {names.call}.")
    served = ToolSet(list(toolset), extra=[*toolset.extra.values(), *meta], instructions=hint, offers=toolset.offers,
                     finder=f"search with {names.search}")
    catalog.served = served  # what a reload later says about names it no longer serves (`ToolSet.retired`)
    return served
