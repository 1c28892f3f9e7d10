"""Sections other rooms contribute to the status page (`GET /status`) and to `/status.json`.

The status page (observability) renders its own parts, then each registered section in order. A
section is a callable returning an HTML fragment that it has escaped itself; it runs on every page
load, so it must be cheap and must not raise (a section that raises is shown as an error line).
Policy registers pending approvals (with approve/deny forms posting to its own endpoints) here, so
observability never imports policy.

Every section is rendered for one reader (`viewer.Viewer`). One marked `admins_only` is left out for
anyone who does not administer the server; one that is not renders what that reader may see — its
`render(back, viewer)` returning None leaves it out for them (nothing of theirs to show). A section may
also give JSON (`data(viewer)`), which `/status.json` carries under the section's `key`, for the same
readers as its HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .viewer import Viewer

# `render(back, viewer)`: the fragment `viewer` may read, or None to leave the section out for them; `back`
# is the status page's address in the view the user chose (`status_view.View.address`), for its forms to
# return to.
Render = Callable[[str, Viewer], "str | None"]
# `data(viewer)`: the section's JSON for `viewer` (`/status.json`'s member named by the section's key).
Data = Callable[[Viewer], Any]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # stable id, used as the HTML element id and the `/status.json` member
    title: str
    render: Render
    # shown to the status page's administrators only (`viewer.Viewer`): a section another room adds
    # holds its operators' data (pending approvals: callers and their arguments) unless it says otherwise
    admins_only: bool = True
    data: Data | None = None

    def shown_to(self, viewer: Viewer) -> bool:
        return viewer.admin or not self.admins_only


SECTIONS: list[Section] = []


def add_section(key: str, title: str, render: Render, *, admins_only: bool = True,
                data: Data | None = None) -> Callable[[], None]:
    """Register a status page section (`admins_only`, `data`: see `Section`); returns a function that
    removes it (at server shutdown)."""
    section = Section(key, title, render, admins_only, data)
    SECTIONS.append(section)

    def remove() -> None:
        if section in SECTIONS:
            SECTIONS.remove(section)

    return remove
