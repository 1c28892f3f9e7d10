"""What the last reload did, kept for `/healthz` and for people reading why their edit did not apply.

A failed reload leaves the previous tool set serving; without this record the only trace would be a
log line that scrolled away, so the server can show it next to its health. An abandoned reload (a
newer save superseded it, or it ran over `MCPRT_RELOAD_TIMEOUT`) is not a failed one: nothing was
wrong with the manifest as far as it got, its result was dropped. A refused one compiled, but would
have removed much of what is served (`reload.guard`: a half-written save). `outcome` tells them apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReloadStatus:
    """The outcome of the most recent reload attempt (and a few running totals)."""

    ok: bool | None = None  # None: no reload attempted since start; False: failed or abandoned
    outcome: str | None = None  # "applied", "failed", "abandoned" or "refused" (None before any reload)
    reason: str | None = None  # why the last attempt was abandoned or refused
    at: float | None = None  # epoch seconds of the last attempt's end
    seconds: float | None = None  # how long the last attempt took
    trigger: str | None = None  # "files", "upstream" or "signal"
    errors: list[str] = field(default_factory=list)  # `file:line:col: message` lines of a failed attempt
    # warnings of the set served: the start's, then the last applied attempt's (e.g. an item a re-list left out:
    # its name was taken; an override naming an operation its description no longer has)
    warnings: list[str] = field(default_factory=list)
    reloads: int = 0  # attempts that applied
    failures: int = 0  # attempts that kept the previous set because of errors
    abandoned: int = 0  # attempts dropped part-way (superseded or over the time budget)
    refused: int = 0  # saves that would have removed much of what is served (`reload.guard`)
    last_ok_at: float | None = None

    def succeeded(self, trigger: str, seconds: float, warnings: list[str] | None = None) -> None:
        self.ok, self.at, self.seconds, self.trigger, self.errors = True, time.time(), seconds, trigger, []
        self.warnings = list(warnings or [])
        self.outcome, self.reason = "applied", None
        self.reloads += 1
        self.last_ok_at = self.at

    def failed(self, trigger: str, seconds: float, errors: list[str]) -> None:
        self.ok, self.at, self.seconds, self.trigger, self.errors = False, time.time(), seconds, trigger, list(errors)
        self.outcome, self.reason = "failed", None
        self.failures += 1

    def gave_up(self, trigger: str, seconds: float, reason: str) -> None:
        """The attempt was abandoned (`reason`); the previous tools keep serving."""
        self.ok, self.at, self.seconds, self.trigger, self.errors = False, time.time(), seconds, trigger, []
        self.outcome, self.reason = "abandoned", reason
        self.abandoned += 1

    def refused_it(self, trigger: str, seconds: float, reason: str) -> None:
        """The save compiled but was not applied (`reason`: `reload.guard`); the previous tools keep serving."""
        self.ok, self.at, self.seconds, self.trigger, self.errors = False, time.time(), seconds, trigger, []
        self.outcome, self.reason = "refused", reason
        self.refused += 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (timestamps as ISO 8601 UTC)."""
        return {
            "ok": self.ok,
            "outcome": self.outcome,
            "reason": self.reason,
            "at": _iso(self.at),
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "trigger": self.trigger,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "reloads": self.reloads,
            "failures": self.failures,
            "abandoned": self.abandoned,
            "refused": self.refused,
            "last_ok_at": _iso(self.last_ok_at),
        }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"
