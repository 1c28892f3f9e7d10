"""Which view of the status page (`GET /status`) the user chose, and the address that keeps it.

A view is two query parameters: `all=1` (a row for every tool, never-called ones included:
`tool_rows`) and `call=ID` (the payload inspector open on that call). Every link and form on the
page — "show them", a call's time, the approvals section's forms, the sign-in form — goes to an
address built here from the current view with one part changed, so no click loses the other part
(a refresh keeps the address as it is). Each address starts with the view's `prefix`, the path of
`server.public_url` (`/tools`): behind a proxy that strips it, a link without it leaves mcprt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

STATUS_PATH = "/status"
_CALL_ID = re.compile(r"[0-9]{1,18}")  # a recorded call's id (a counter): ASCII digits, fits an int64


@dataclass(frozen=True, slots=True)
class View:
    show_all: bool = False  # `all=1`
    call: int | None = None  # `call=ID`: a recorded call's id (`recent.RecentCall.id`)
    prefix: str = ""  # `ServeOptions.public_prefix`: before every address of the page

    def query(self) -> str:
        """`?all=1&call=7`, `?call=7`, … or "" for the default view."""
        params = {"all": "1"} if self.show_all else {}
        if self.call is not None:
            params["call"] = str(self.call)
        return "?" + urlencode(params) if params else ""

    def address(self) -> str:
        """The page's path with this view's query: where a form on the page returns to."""
        return self.prefix + STATUS_PATH + self.query()

    def with_(self, **changes: object) -> View:
        return replace(self, **changes)  # type: ignore[arg-type]


def view_of(params: Mapping[str, str], prefix: str = "") -> View:
    """The view a request's query parameters ask for; anything else in them is ignored. Never raises:
    it reads unauthenticated requests (the sign-in page keeps the view), so a `call` that is not 1-18
    ASCII digits is no call — `str.isdigit` accepts "²", and `int()` refuses over 4,300 digits.
    `prefix`: the public path prefix its addresses start with (`View.prefix`)."""
    call = params.get("call") or ""
    return View(params.get("all") == "1", int(call) if _CALL_ID.fullmatch(call) else None, prefix)


def status_return(address: object, prefix: str = "") -> View | None:
    """The view a form's `back` address names when it is the status page (`prefix` + `/status`), else None.
    Its `address()` is what to redirect to: only `/status` and the view's own parameters come through (never
    an open redirect, nothing else injected)."""
    if not isinstance(address, str):
        return None
    parts = urlsplit(address)
    if parts.scheme or parts.netloc or parts.path != prefix + STATUS_PATH:
        return None
    return view_of(dict(parse_qsl(parts.query)), prefix)


def return_address(address: object, prefix: str = "") -> str | None:
    """Where to redirect a form posted from the status page: `status_return(address, prefix).address()`, or
    None when `address` is not the status page (the caller's own page then)."""
    view = status_return(address, prefix)
    return view.address() if view is not None else None
