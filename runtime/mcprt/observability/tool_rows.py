"""Which tools get a row on the status page and in `mcprt status`: one rule for both.

An operator reads the tools table to see what is used and how it fares. GitHub in discovery mode
serves 1,223 operations; listing each one never called buried the three meta-tools and the few
operations actually called under 1,223 rows of zeros (a new-user trial), and a manifest of 300 listed
tools did the same. So: a tool that was called, and a discovery meta-tool (the entry point of every
unlisted operation, called or not), always has a row; the tools never called get rows too while they
are few (at most `IDLE_ROWS`), else one line counting them — unless everything is asked for
(`mcprt status --all`, `/status?all=1`). `/status.json` lists every tool whatever this rule says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..wording import noun

IDLE_ROWS = 10  # never-called tools still shown one per row; more than this are one line
META = "meta"  # the `exposure` of a discovery meta-tool (`state.ToolInfo.exposure`)
DISCOVERY = "discovery"  # the `exposure` of an operation reached through the meta-tools only

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rows(Generic[T]):
    shown: list[T]  # in the order given
    idle: int  # tools never called that have no row
    idle_discovery: int  # of those, how many are reached through discovery only

    def idle_line(self) -> str | None:
        """The one line that stands for the rows left out (None: none left out), e.g. `1,220 tools never
        called (1,220 reached through discovery) are not shown`; the caller says how to list them."""
        if not self.idle:
            return None
        through = f" ({self.idle_discovery:,} reached through discovery)" if self.idle_discovery else ""
        verb = "is" if self.idle == 1 else "are"
        return f"{self.idle:,} {noun(self.idle, 'tool')} never called{through} {verb} not shown"


def tool_rows(tools: Sequence[T], calls: Callable[[T], int], exposure: Callable[[T], str], *,
              show_all: bool = False) -> Rows[T]:
    """The tools that get a row (see the module's rule), and a count of the rest.

    `calls(t)`: the tool's calls since the server started; `exposure(t)`: `tools` (listed),
    `discovery` or `meta` (`state.ToolInfo.exposure`)."""
    idle = [t for t in tools if calls(t) == 0 and exposure(t) != META]
    if show_all or len(idle) <= IDLE_ROWS:
        return Rows(list(tools), 0, 0)
    left_out = {id(t) for t in idle}
    shown = [t for t in tools if id(t) not in left_out]
    return Rows(shown, len(idle), sum(1 for t in idle if exposure(t) == DISCOVERY))
