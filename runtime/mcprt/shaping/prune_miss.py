"""When a prune missed its body: the response is not the shape the prune was written for.

Some APIs answer errors with a 2xx status and a body of their own shape — Slack's
`{"ok": false, "error": "channel_not_found"}`, others without any shared flag. A prune written for
the success shape (by hand, or `mcprt init`'s suggestion when the API's description documents no
error shape) then reads none of its fields, and the model would get `null`, `{}` or a list of
nothing, with no way to tell what went wrong. `shape_result` sends such a body unpruned instead.

The rule (`missed`): the body is a JSON object with at least one member, and the prune's value is
*vacant* — `null`, or a non-empty array or object whose every value is vacant in turn
(`{channels: channels[].name, next: response_metadata.next_cursor}` → `{"channels": null, "next":
null}`). JMESPath gives `null` for a field that is absent, so a vacant value means the prune found
none of the fields it reads. Anything found counts, however empty: `[]`, `{}`, `0`, `""` and
`false` are values the body holds, so a legitimate empty page (`{"items": [], "total": 0}` pruned
by `items` → `[]`) stays as it is. Bodies that are arrays or scalars are left to the prune: an
error has no reason to come as a bare array, and a scalar body has no fields to miss.
"""

from __future__ import annotations

from typing import Any


def vacant(value: Any) -> bool:
    """True for `null`, and for a non-empty array or object made only of vacant values."""
    if value is None:
        return True
    if isinstance(value, dict):
        return bool(value) and all(vacant(item) for item in value.values())
    if isinstance(value, list):
        return bool(value) and all(vacant(item) for item in value)
    return False


def missed(body: Any, pruned: Any) -> bool:
    """True when a prune of `body` that gave `pruned` found none of the fields it reads (see above)."""
    return isinstance(body, dict) and bool(body) and vacant(pruned)
