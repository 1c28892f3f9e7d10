"""Sections other rooms contribute to the status page (`GET /status`).

The status page (observability) renders its own parts, then each registered section in order. A
section is a callable returning an HTML fragment that it has escaped itself; it runs on every page
load, so it must be cheap and must not raise (a section that raises is shown as an error line).
Policy registers pending approvals (with approve/deny forms posting to its own endpoints) here, so
observability never imports policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# `render(back)`: the fragment; `back` is the status page's address in the view the user chose
# (`status_view.View.address`), for the fragment's forms to return to.
Render = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # stable id, used as the HTML element id
    title: str
    render: Render
    # shown to the status page's administrators only (`status_page.Viewer`): a section another room adds
    # holds its operators' data (pending approvals: callers and their arguments) unless it says otherwise
    admins_only: bool = True


SECTIONS: list[Section] = []


def add_section(key: str, title: str, render: Render, *, admins_only: bool = True) -> Callable[[], None]:
    """Register a status page section (`admins_only`: see `Section`); returns a function that removes it
    (at server shutdown)."""
    section = Section(key, title, render, admins_only)
    SECTIONS.append(section)

    def remove() -> None:
        if section in SECTIONS:
            SECTIONS.remove(section)

    return remove
