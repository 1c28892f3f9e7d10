"""Who reads the status page (`GET /status`, `/status.json`): the one identity rule of what they see.

Imports nothing from mcprt, so the page (`status_page`) and the sections other rooms register
(`sections`) judge a reader alike: an administrator sees every caller's calls and every section; anyone
else sees the calls they made, and of a section only what is theirs (their own pending approvals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads the page: `subject`, the principal's owner key (`Principal.owner`: its name, kept apart
    from a client id's by `owner_key`, so a user whose `sub` equals a client id is not that client);
    `admin`, whether they
    administer this server (`PolicyService.may_administer`: `policy.admins`, else the approvers, else
    anyone admitted)."""

    subject: str
    admin: bool

    def owns(self, principal: str | None) -> bool:
        """Whether a record made by `principal` (a call's, an approval request's caller: its owner key) is
        this viewer's to read: an admin reads every record, anyone else those they made (the same key, exactly)."""
        return self.admin or principal == self.subject

    def sees(self, call: Any) -> bool:
        """Whether this viewer may see `call` (a `recent.RecentCall`: its caller, arguments and bodies)."""
        return self.owns(call.owner)


ADMIN = Viewer("", admin=True)  # the whole page: the default of `render`/`summary` (tests, tools)
