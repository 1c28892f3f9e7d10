"""Which tool names a source whose tools are not known yet could still provide.

A proxied server down since `mcprt up` started (`SyncResult.down`) has no operations until it
answers, so a check that names its tools — a `tools:` override, a `server.pinned` entry, a policy
`tools` glob — cannot tell a typo from a tool that is coming. Such checks wait for it: they skip
what `may_come_from` says it could provide, and run in full at the rebuild its first tool list
triggers (the reload that installs its tools), where an override naming a tool it really lacks is
an error of that reload.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Mapping

from ..manifest.model import SourceBase

_WILDCARD = re.compile(r"[*?\[]")


def is_glob(pattern: str) -> bool:
    """Whether a policy `tools` pattern is an `fnmatch` glob (`*`, `?` or `[`), not one exact name."""
    return _WILDCARD.search(pattern) is not None


def may_come_from(source: SourceBase, pattern: str) -> bool:
    """Whether a served tool named by `pattern` (an exact name, or an `fnmatch` glob as policy rules
    write them) could be one of `source`'s once its tools are known: a `name` its overrides give,
    or a name that starts with its `prefix` (any name, without one)."""
    if any(override.name and fnmatch.fnmatchcase(override.name, pattern) for override in source.tools.values()):
        return True
    prefix = source.prefix or ""
    literal = _WILDCARD.split(pattern, maxsplit=1)[0]  # the part every name the glob matches starts with
    return literal.startswith(prefix) or (literal != pattern and prefix.startswith(literal))


def pending_for(sources: Mapping[str, SourceBase], pending: Collection[str], pattern: str) -> bool:
    """Whether any source in `pending` could provide a tool `pattern` names; a pending name without a
    configuration in `sources` (a source the schema left out whole: `LoadedManifest.left_out`) could provide any."""
    return any(name not in sources or may_come_from(sources[name], pattern) for name in pending)
