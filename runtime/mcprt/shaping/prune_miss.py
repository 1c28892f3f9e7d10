"""When a prune missed its body: the response is not the shape the prune was written for.

Some APIs answer errors with a 2xx status and a body of their own shape — Slack's
`{"ok": false, "error": "channel_not_found"}`, others without any shared flag. A prune written for
the success shape (by hand, or `mcprt init`'s suggestion when the API's description documents no
error shape) then reads none of its fields, and the model would get `null`, `{}` or a list of
nothing, with no way to tell what went wrong.

The rule (`missed`): the body is a JSON object with at least one member, the prune's value is
*vacant* — `null`, or a non-empty array or object whose every value is vacant in turn — and the body
holds none of the members the prune reads (`expressions.prune_reads.root_fields`), by name: a member
present with a null value is found (`{"discount": null, "note": null}` is the record the prune was
written for, with its selected fields empty). `[]`, `{}`, `0`, `""` and `false` are values: a
legitimate empty page stays as it is. Bodies that are arrays or scalars are left to the prune: an error
has no reason to come as a bare array, and a scalar body has no fields to miss.

What the model gets on a miss (`shown`): never a member the operator's prune was written to drop
(shaping trial, fault 1: `{discount: discount, note: note}` on an order whose two nullable fields
were null sent the whole order, customer e-mail and card digits included, and skipped the
template). A body that holds a member the prune reads is the prune's shape, documented or not, so the
prune's value stands (and the `output` template renders it) — whatever the API description leaves
out. A body holding none of them is another shape (an error sent with a 2xx status): when the
operation documents its success response as an object, only the body's members that shape does *not*
declare in `properties` are shown (an error's `error`, `message`, GraphQL's `errors`; for an open
object, its additional members) — the operator cannot have pruned away what the document does not
describe; with none such the prune's value stands. An undocumented response is shown whole.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def missed(body: Any, pruned: Any, reads: frozenset[str] | None = None) -> bool:
    """True when a prune of `body` that gave `pruned` found none of the fields it reads (see above): its value
    is vacant and the body holds no member it reads (a member with a null value is held). `reads`: the members
    the prune looks up on the body (`root_fields`); None: it reads the body whole, so only the value can tell.
    Whether a miss shows anything is `shown`'s to say."""
    if not (isinstance(body, dict) and body and vacant(pruned)):
        return False
    return reads is None or not any(name in body for name in reads)


def shown(body: dict[str, Any], members: Members | None) -> dict[str, Any] | None:
    """What a `missed` body shows instead of the prune's value, or None for the prune's value to stand.

    Documented response (`members`): the members the shape does not declare, if any (GraphQL's `errors`
    beside `"data": null`, Slack's `error`). Undocumented: the whole body."""
    if members is not None:
        return members.foreign(body) or None
    return body


@dataclass(frozen=True)
class Members:
    """The members an operation's documented success response declares in `properties` at its top level
    (over its `anyOf` options). An open object's additional members are not among them: a miss shows them
    (review of shapefix, problem 2: Slack's `{"ok": false, "error": …}` under `additionalProperties: true`
    gave the prune's `{"channels": null}` with no note)."""

    names: frozenset[str]

    def foreign(self, body: dict[str, Any]) -> dict[str, Any]:
        """The members of `body` the documented shape does not declare, in the body's order."""
        return {name: value for name, value in body.items() if name not in self.names}


def documented_members(shape: dict[str, Any] | None) -> Members | None:
    """The `Members` of a response `shape` (`schema_paths` shapes); None when the response is not
    documented as an object (no shape, `{}`, a list), so a miss shows the body whole. Called for tools with a
    prune only: `schema_paths` loads jmespath's parser."""
    from .schema_paths import ANY, field_names

    if shape is None or shape == ANY:
        return None
    options = shape.get("anyOf") if isinstance(shape.get("anyOf"), list) else [shape]
    objects = [option for option in options if isinstance(option, dict)
               and ("properties" in option or "additionalProperties" in option)]
    if not objects:
        return None
    return Members(frozenset(field_names(shape)))
