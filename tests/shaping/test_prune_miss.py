"""The rule that tells a prune that missed its body from one that found empty values (prune_miss.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mcprt.expressions.prune import compile_prune
from mcprt.shaping.prune_miss import Members, documented_members, missed, shown

SLACK_ERROR = {"ok": False, "error": "channel_not_found"}


@pytest.mark.parametrize(
    ("body", "prune"),
    [
        (SLACK_ERROR, "messages[].{ts: ts, text: text}"),  # null
        (SLACK_ERROR, "{channels: channels[].name, next: response_metadata.next_cursor}"),  # every value null
        (SLACK_ERROR, "[messages, has_more]"),  # a list of nulls
        ({"fault": {"reason": "no such order"}}, "{id: id, lines: lines[].{sku: sku}}"),  # no `ok` flag at all
        ({"errors": [{"message": "no user"}]}, "{user: data.user.{login: login}}"),  # GraphQL's, without data
    ],
)
def test_a_prune_that_reads_none_of_its_fields_missed(body: dict[str, Any], prune: str) -> None:
    pruner = compile_prune(prune)
    assert missed(body, pruner.apply(body), pruner.reads)


@pytest.mark.parametrize(
    ("body", "prune"),
    [
        ({"items": [], "total": 0}, "items"),  # [] is what the body holds
        ({"items": [], "total": 0}, "{ids: items[].id, total: total}"),
        ({"items": [{"name": "a"}]}, "items[].id"),  # a projection skips the nulls: [] — found, empty
        ({"next": "", "ok": True}, "next"),
        ({"count": 0}, "{count: count, more: more}"),  # one value found (0) is enough
        ({"flag": False}, "flag"),
        ({"meta": {}}, "meta"),
        ({}, "messages"),  # an empty object has nothing to show either way
        ([SLACK_ERROR], "[].messages"),  # not an object body: left to the prune
        ("text", "messages"),
        ({"data": {"other": 1}}, "{user: data.user.{login: login}}"),  # a member it reads has a value: a record
        # a member it reads is present, null: the prune's shape (review of shapefix, problem 1)
        ({"id": 3, "email": "c3@x.io", "discount": None, "note": None}, "{discount: discount, note: note}"),
        ({"id": 3, "email": "c3@x.io", "note": None}, "[discount, note]"),
        ({"id": 3, "email": "c3@x.io", "note": None}, "@.note"),
        ({"data": None, "errors": [{"message": "no user"}]}, "{user: data.user.{login: login}}"),  # README says so
    ],
)
def test_found_values_however_empty_are_not_a_miss(body: Any, prune: str) -> None:
    pruner = compile_prune(prune)
    assert not missed(body, pruner.apply(body), pruner.reads)


@pytest.mark.parametrize(
    ("prune", "reads"),
    [
        ("{a: x.y, b: z[].w}", {"x", "z"}),
        ("data[?status == 'open'].id", {"data"}),
        ("sort_by(items, &price)[0].sku", {"items"}),  # `&price` reads the items, not the body
        ("a || b.c", {"a", "b"}),
        ("@.note", {"note"}),
        ("x | y", {"x"}),
        ("keys(@)", None),  # the body whole
        ("*.name", None),
    ],
)
def test_the_members_a_prune_reads(prune: str, reads: set[str] | None) -> None:
    assert compile_prune(prune).reads == (frozenset(reads) if reads is not None else None)


def test_a_miss_on_a_documented_response_shows_only_its_undocumented_members() -> None:
    body = {"id": 5, "email": "c5@x.io", "error": "order_locked"}
    pruner = compile_prune("{discount: discount, note: note}")
    documented = Members(frozenset({"id", "email", "discount", "note"}))
    assert missed(body, pruner.apply(body), pruner.reads)
    assert shown(body, documented) == {"error": "order_locked"}
    assert shown(body, Members(frozenset({"id", "email", "error"}))) is None  # every member documented
    assert shown(body, None) == body  # undocumented, none of its members read: shown whole


@pytest.mark.parametrize("extra", [True, {"type": "string"}, {}])
def test_a_miss_on_an_open_object_shows_its_additional_members(extra: Any) -> None:
    """Review of shapefix, problem 2: under `additionalProperties` the error body was hidden behind the prune's
    `{"channels": null, "next": null}` with no note; the members `properties` does not declare are shown."""
    body = {"ok": False, "error": "channel_not_found"}
    pruner = compile_prune("{channels: channels[].name, next: response_metadata.next_cursor}")
    declared = documented_members({"type": "object", "properties": {"ok": {"type": "boolean"}},
                                   "additionalProperties": extra})
    assert missed(body, pruner.apply(body), pruner.reads)
    assert shown(body, declared) == {"error": "channel_not_found"}
    assert shown(body, documented_members({"type": "object", "additionalProperties": extra})) == body


ORDER = Members(frozenset({"id", "status", "discount", "note"}), frozenset({"id"}),
                {"id": frozenset({"integer"}), "status": frozenset({"string"}),
                 "discount": frozenset({"integer", "null"}), "note": frozenset({"string", "null"})})
DISCOUNT_NOTE = frozenset({"discount", "note"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the documented order with its optional fields omitted (an API that leaves nulls out): the prune's value
        # stands, the undeclared `customer` (an e-mail) is never shown — shapeleft, fault 1
        ({"id": 4, "customer": {"email": "c4@x.io"}}, None),
        ({"id": 4, "status": "open", "customer": {"email": "c4@x.io"}}, None),
        ({"id": 4.0, "customer": {"email": "c4@x.io"}}, None),  # 4.0 is an integer (JSON Schema)
        # the same record carrying an error: the error member only, never the rest
        ({"id": 5, "customer": {"email": "c5@x.io"}, "error": "order_locked"}, {"error": "order_locked"}),
        ({"id": 5, "customer": "c5@x.io", "error": "invalid_grant", "error_description": "expired"},
         {"error": "invalid_grant", "error_description": "expired"}),
        # another shape: the required `id` missing
        ({"status": "error", "message": "no order 9"}, {"message": "no order 9"}),
        # another shape: a declared member of another type
        ({"id": "not_found", "message": "no order 9"}, {"message": "no order 9"}),
        ({"id": True, "message": "no order 9"}, {"message": "no order 9"}),
        # another shape: no declared member at all
        ({"fault": {"reason": "no such order"}}, {"fault": {"reason": "no such order"}}),
    ],
)
def test_a_miss_on_the_documented_shape_is_pruned_and_another_shape_shows_its_own_members(
        body: dict[str, Any], expected: dict[str, Any] | None) -> None:
    pruner = compile_prune("{discount: discount, note: note}")
    assert pruner.reads == DISCOUNT_NOTE and missed(body, pruner.apply(body), pruner.reads)
    assert shown(body, ORDER, pruner.reads) == expected


def test_a_prune_reading_a_member_the_description_does_not_declare_cannot_explain_the_absence() -> None:
    """The description says `discount` may be absent; it says nothing of `coupon`: a body without either is
    not known to be the documented record, so its undeclared members are shown."""
    body = {"id": 4, "customer": "c4@x.io"}
    assert not ORDER.fits(body, frozenset({"discount", "coupon"}))
    assert shown(body, ORDER, frozenset({"discount", "coupon"})) == {"customer": "c4@x.io"}
    assert ORDER.fits(body, DISCOUNT_NOTE) and shown(body, ORDER, DISCOUNT_NOTE) is None


# The order's description without `required` (many API descriptions state none): any body holding one declared
# member of its type fits it, an error body included.
ORDER_UNREQUIRED = Members(ORDER.names, frozenset(), ORDER.types)


@pytest.mark.parametrize(
    ("members", "body", "expected"),
    [
        # review of shapeleft, problem 1: these were emptied, the model read "no discount"
        (ORDER_UNREQUIRED, {"status": "error", "message": "no order 9"}, {"message": "no order 9"}),
        (ORDER_UNREQUIRED, {"status": "error", "msg": "no order 9", "customer": "c9@x.io"}, {"msg": "no order 9"}),
        (ORDER, {"id": 9, "message": "order locked"}, {"message": "order locked"}),
        (ORDER, {"id": 9, "reason": "locked", "code": "E_LOCKED", "customer": "c9@x.io"},
         {"reason": "locked", "code": "E_LOCKED"}),
        (ORDER, {"id": 9, "errorMessage": "locked", "errorCode": 423}, {"errorMessage": "locked", "errorCode": 423}),
        (ORDER, {"id": 9, "error_message": "locked", "error_code": 423}, {"error_message": "locked", "error_code": 423}),
        # an RFC 9457 problem beside the declared `status` (a string there: the problem's numeric one does not fit)
        (ORDER_UNREQUIRED, {"title": "Not found", "detail": "no order 9", "type": "about:blank", "note": "x"},
         {"title": "Not found", "detail": "no order 9", "type": "about:blank"}),
        (ORDER, {"id": 9, "title": "Locked", "status": "423", "instance": "/orders/9"},
         {"title": "Locked", "instance": "/orders/9"}),
        # a failure flag is shown when false, never when true; an undeclared `title` alone is not a problem
        (ORDER, {"id": 9, "ok": False, "customer": "c9@x.io"}, {"ok": False}),
        (ORDER, {"id": 9, "ok": True, "customer": "c9@x.io"}, None),
        (ORDER, {"id": 9, "success": False}, {"success": False}),
        (ORDER, {"id": 9, "title": "Mr", "customer": "c9@x.io"}, None),
        # the record with its optional fields omitted, no error carrier: still pruned, `customer` never shown
        (ORDER_UNREQUIRED, {"id": 4, "customer": {"email": "c4@x.io"}}, None),
        (ORDER_UNREQUIRED, {"status": "open", "customer": {"email": "c4@x.io"}}, None),
    ],
)
def test_a_body_that_fits_the_documented_shape_shows_its_error_carriers_and_nothing_else(
        members: Members, body: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert members.fits(body, DISCOUNT_NOTE)
    assert shown(body, members, DISCOUNT_NOTE) == expected


def test_documented_members_reads_the_declared_types_and_the_required_members() -> None:
    shape = {"type": "object", "properties": {"id": {"type": "integer"}, "note": {"type": ["string", "null"]},
                                              "tags": {"anyOf": [{"type": "string"}, {"type": "array"}]},
                                              "raw": {}}}
    members = documented_members(shape, frozenset({"id"}))
    assert members is not None
    assert members.names == {"id", "note", "tags", "raw"} and members.required == {"id"}
    assert members.types == {"id": {"integer"}, "note": {"string", "null"}}  # no single stated type: any value
    assert members.fits({"id": 1, "tags": ["a"], "raw": 3}, frozenset({"note"}))
    assert not members.fits({"note": "x"}, frozenset({"tags"}))  # `id` is required
    assert documented_members(shape).required == frozenset()  # type: ignore[union-attr]
