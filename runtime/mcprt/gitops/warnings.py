"""The `mcprt validate` warnings a change introduces, for `mcprt diff`: a reviewer reads the diff of a
pull request, not a validate run of its branch.

A warning is new when the new manifest's compile gives more warnings of its message than the old one's;
positions and list indexes (`rules[3]`) move with any edit above them, so they are not compared. A
policy glob or source that a change leaves matching nothing (`policy.checks.MATCHES_NOTHING`: a tool
renamed or prefixed away) is breaking: the calls the rule or limit governed are now decided by the
rules after it, or the default.
"""

from __future__ import annotations

import re
from collections import Counter

from ..errors import Diagnostic
from ..policy.checks import MATCHES_NOTHING
from .compare import Change
from .revisions import ManifestRef

_INDEX = re.compile(r"\[\d+\]")


def new_warnings(old: list[Diagnostic], new: list[Diagnostic], old_ref: ManifestRef,
                 new_ref: ManifestRef) -> list[Change]:
    """One `new warning` change per warning of `new` that `old` does not have, as `file:line:col: message`
    with the files named as the user knows them (`ManifestRef.shown`)."""
    before = Counter(_key(old_ref.shown(d.message)) for d in old)
    changes: list[Change] = []
    for diagnostic in new:
        message = new_ref.shown(diagnostic.message)
        if before[_key(message)] > 0:
            before[_key(message)] -= 1
            continue
        where = f"{new_ref.shown(diagnostic.file)}:{diagnostic.line}:{diagnostic.col}"
        breaking = diagnostic.code == MATCHES_NOTHING
        changes.append(Change("new warning", f"{where}: {message}"
                              + (" (this rule or limit now applies to no call)" if breaking else ""), breaking))
    return changes


def _key(message: str) -> str:
    return _INDEX.sub("[]", message)
