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
out. A body holding none of them is judged against the operation's documented success response
(`Members.fits`):

- *The documented shape, its optional fields left out* (an API that omits nulls: `{id, customer}` for
  an order whose `discount` and `note` the prune reads): the body holds every member the description
  `required`s, at least one member it declares, each declared member it holds has a declared JSON type
  its value has, and every member the prune reads is declared and so, not being required, may be
  absent. The prune's value stands, whatever the body holds that the description leaves out (shapeleft,
  fault 1: such an order's undocumented `customer` was shown). Only its undeclared error carriers
  (`error_carriers`: OAuth 2.0's `error`, GraphQL's and JSON:API's `errors`, the usual `message`, `detail`,
  `reason`, `code`, an RFC 9457 problem's members, `ok`/`success` when false, …) are shown: the body is then
  an error sent with a 2xx status, and an empty result would hide it. This matters most when the description
  states no `required` (many do not): then any body holding one declared member of its type fits, an error
  body `{"status": "error", "message": "no order 9"}` included, and its `message` must reach the model (review
  of shapeleft, problem 1: it was emptied).
- *Another shape* (an error body, a different object): a required member is missing, a declared member
  has a value of another type, no declared member is there, or the prune reads a member the
  description does not declare. Only the body's members the shape does *not* declare in `properties`
  are shown (an error's `error`, `message`, GraphQL's `errors`; for an open object, its additional
  members) — the operator cannot have pruned away what the document does not describe; with none such
  the prune's value stands.

An undocumented response is shown whole: nothing tells its shapes apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Members that carry an error by the field's conventions: OAuth 2.0's error response (RFC 6749 §5.2: `error`,
# `error_description`, `error_uri`, also Slack's and OData's `error`), GraphQL's and JSON:API's `errors`, SOAP's
# `fault`, and the names most JSON APIs give an error's text or code (`message` — Google's, GitHub's —, `msg`,
# `reason`, `error_message`/`errorMessage`, `code`/`error_code`/`errorCode`). A body of the documented shape
# shows these, undeclared, when its prune found nothing; never any other undeclared member (it may be PII).
ERROR_MEMBERS = frozenset({
    "error", "errors", "error_description", "error_uri", "fault", "message", "msg", "reason",
    "error_message", "errorMessage", "code", "error_code", "errorCode"})
# RFC 9457 (formerly 7807) problem details members, shown together when the body is a problem: it holds
# `detail`, or `title` with `status`.
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})
# Success flags (Slack's `ok`, many APIs' `success`): shown when false, the body then says it failed.
FAILURE_FLAGS = frozenset({"ok", "success"})


def error_carriers(body: dict[str, Any]) -> frozenset[str]:
    """The members of `body` that carry an error by the field's conventions (see `ERROR_MEMBERS`,
    `PROBLEM_MEMBERS`, `FAILURE_FLAGS`), whether or not a description declares them."""
    names = {name for name in body if name in ERROR_MEMBERS}
    if "detail" in body or {"title", "status"} <= body.keys():
        names |= PROBLEM_MEMBERS & body.keys()
    names |= {name for name in FAILURE_FLAGS if body.get(name) is False}
    return frozenset(names)


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


def shown(body: dict[str, Any], members: Members | None, reads: frozenset[str] | None = None) -> dict[str, Any] | None:
    """What a `missed` body shows instead of the prune's value, or None for the prune's value to stand.

    Documented response (`members`): a body that `fits` it shows its undeclared `error_carriers` only, another
    shape the members the description does not declare (GraphQL's `errors` beside `"data": null`, Slack's
    `error`); either only if there are some. Undocumented: the whole body. `reads`: the members the prune reads
    (`missed`'s)."""
    if members is None:
        return body
    foreign = members.foreign(body)
    if members.fits(body, reads):
        carriers = error_carriers(body)
        foreign = {name: value for name, value in foreign.items() if name in carriers}
    return foreign or None


@dataclass(frozen=True)
class Members:
    """The members an operation's documented success response declares in `properties` at its top level
    (over its `anyOf` options), those it requires, and the JSON types it declares for them. An open object's
    additional members are not among them: a miss shows them (review of shapefix, problem 2: Slack's
    `{"ok": false, "error": …}` under `additionalProperties: true` gave the prune's `{"channels": null}` with
    no note)."""

    names: frozenset[str]
    required: frozenset[str] = frozenset()
    # declared member -> the JSON types (`type`) its value may have; a member whose shape states none is absent
    types: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def foreign(self, body: dict[str, Any]) -> dict[str, Any]:
        """The members of `body` the documented shape does not declare, in the body's order."""
        return {name: value for name, value in body.items() if name not in self.names}

    def fits(self, body: dict[str, Any], reads: frozenset[str] | None) -> bool:
        """`body` is of the documented shape with the members the prune `reads` left out as optional (see the
        module docstring): every required member held, at least one declared member held, each held declared
        member of a declared type, and every member read declared (None: unknown, nothing to check)."""
        if not self.required <= body.keys():
            return False
        if reads is not None and not reads <= self.names:
            return False
        held = [name for name in body if name in self.names]
        return bool(held) and all(_has_type(body[name], self.types.get(name)) for name in held)


def _has_type(value: Any, types: frozenset[str] | None) -> bool:
    """`value` has one of the JSON Schema `types` (JSON Schema 2020-12 validation §6.1.1; an integer is a
    number); None: no type stated, any value fits."""
    if types is None:
        return True
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int):
        return bool(types & {"integer", "number"})
    elif isinstance(value, float):
        return "number" in types or ("integer" in types and value.is_integer())
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, list):
        kind = "array"
    elif isinstance(value, dict):
        kind = "object"
    else:
        return True
    return kind in types


def documented_members(shape: dict[str, Any] | None, required: frozenset[str] | None = None) -> Members | None:
    """The `Members` of a response `shape` (`schema_paths` shapes) whose description requires `required` at
    its top level (`Operation.response_required`; None: unknown, taken as none); None when the response is
    not documented as an object (no shape, `{}`, a list), so a miss shows the body whole. Called for tools
    with a prune only: `schema_paths` loads jmespath's parser."""
    from .schema_paths import ANY, field_names, field_of

    if shape is None or shape == ANY:
        return None
    options = shape.get("anyOf") if isinstance(shape.get("anyOf"), list) else [shape]
    objects = [option for option in options if isinstance(option, dict)
               and ("properties" in option or "additionalProperties" in option)]
    if not objects:
        return None
    names = field_names(shape)
    types: dict[str, frozenset[str]] = {}
    for name in names:
        found, _ = field_of(shape, name)
        stated = found.get("type") if isinstance(found, dict) and "anyOf" not in found else None
        if isinstance(stated, (str, list)):
            types[name] = frozenset([stated] if isinstance(stated, str) else map(str, stated))
    return Members(frozenset(names), frozenset(required or ()), types)
