"""Who keeps a name two sources list: the one rule for tools, prompts, resource URIs and templates.

At start, and for any clash the manifest makes (two static sources, a new `prefix`, a renamed
item), two sources' items with one name are an error asking for a `prefix`. A proxied server
(`command:`/`url:`) lists its items at run time, though: a name it newly lists that another source
already takes must not fail every rebuild until an operator acts (a later manifest edit or SIGHUP
included). So, in a rebuild with a set already served, such a newly listed item is left out with a
warning: the source serving the name keeps it; for a name nobody serves (two servers newly listing
it in one rebuild, a server down at start coming up), the first source in manifest order keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..manifest.loader import LoadedManifest
from ..manifest.model import CommandSource, UrlSource


@dataclass(frozen=True)
class Claim:
    """One item taking a name: its exposed name (or URI), its source, and its name at that source."""

    key: str
    source: str
    upstream: str


class ServedNames:
    """The names of one kind (tools, prompts, ...) the set now served gives out, and who lists at run time."""

    def __init__(self, claims: Iterable[Claim], proxied: Iterable[str]) -> None:
        claims = list(claims)
        self._owner = {claim.key: claim.source for claim in claims}
        self._served = {(claim.source, claim.upstream) for claim in claims}  # what each source listed before
        self._proxied = frozenset(proxied)

    def left_out(self, earlier: Claim, later: Claim) -> Claim | None:
        """Of two items taking one key (`earlier` first in manifest order), the one to leave out, or
        None when the clash is an error (one source twice, or a clash not made by a newly listed item)."""
        if earlier.source == later.source:
            return None
        other = earlier if self._owner.get(later.key) == later.source else later  # the served owner keeps it
        return other if self._newly_listed(other) else None

    def _newly_listed(self, claim: Claim) -> bool:
        """A proxied server's item not served before: the server's list brought it, not the manifest."""
        return claim.source in self._proxied and (claim.source, claim.upstream) not in self._served


def proxied_sources(loaded: LoadedManifest) -> set[str]:
    """The manifest's sources that list their items at run time (`command:` and `url:` MCP servers)."""
    return {name for name, source in loaded.manifest.sources.items() if isinstance(source, (CommandSource, UrlSource))}


def left_out_warning(what: str, dropped: Claim, keeper: Claim) -> str:
    """The warning for an item left out because another source keeps its name."""
    return (f"{what} '{dropped.key}' newly listed by source '{dropped.source}' is left out: source "
            f"'{keeper.source}' serves that name (the rest of the change applies; give one of them a `prefix` to "
            f"serve both)")
