"""The item rules on their own, at the 2026-07-28 revision (its list pages carry `cacheScope`): an item
is checked inside its page's other fields, and a page whose own fields are malformed is said to be,
not blamed on each of its items. (The served behaviour is in test_proxy_malformed.py.)"""

from __future__ import annotations

import pytest

from mcprt.sources.mcp.wellformed import MalformedPage, vet_listing

GOOD = {"name": "good", "inputSchema": {"type": "object"}}


def test_a_2026_page_loses_only_its_malformed_item() -> None:
    said: list[str] = []
    page = {"tools": [GOOD, {"name": "no_schema"}], "cacheScope": "private", "resultType": "complete",
            "ttlMs": 0}
    assert vet_listing("tools/list", "2026-07-28", page, said.append) == {**page, "tools": [GOOD]}
    assert said == ["tools/list: tool 'no_schema' left out: inputSchema: Field required"]


def test_a_2026_page_without_its_own_required_field_is_one_problem_not_one_per_item() -> None:
    said: list[str] = []
    with pytest.raises(MalformedPage, match=r"the server's tools/list answer is malformed \(cacheScope: Field "
                                            r"required\)"):
        page = {"tools": [GOOD, {"name": "no_schema"}], "resultType": "complete", "ttlMs": 0}
        vet_listing("tools/list", "2026-07-28", page, said.append)
    assert said == []
