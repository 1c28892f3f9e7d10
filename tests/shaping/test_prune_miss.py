"""The rule that tells a prune that missed its body from one that found empty values (prune_miss.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mcprt.expressions.prune import compile_prune
from mcprt.shaping.prune_miss import missed

SLACK_ERROR = {"ok": False, "error": "channel_not_found"}


@pytest.mark.parametrize(
    ("body", "prune"),
    [
        (SLACK_ERROR, "messages[].{ts: ts, text: text}"),  # null
        (SLACK_ERROR, "{channels: channels[].name, next: response_metadata.next_cursor}"),  # every value null
        (SLACK_ERROR, "[messages, has_more]"),  # a list of nulls
        ({"fault": {"reason": "no such order"}}, "{id: id, lines: lines[].{sku: sku}}"),  # no `ok` flag at all
        ({"data": {"other": 1}}, "{user: data.user.{login: login}}"),  # nested nulls
    ],
)
def test_a_prune_that_reads_none_of_its_fields_missed(body: dict[str, Any], prune: str) -> None:
    assert missed(body, compile_prune(prune).apply(body))


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
    ],
)
def test_found_values_however_empty_are_not_a_miss(body: Any, prune: str) -> None:
    assert not missed(body, compile_prune(prune).apply(body))
