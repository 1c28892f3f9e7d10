"""`results.to_call_result`: a plainly valid result goes to the SDK as its wire object (one
validation and one dump fewer); what the SDK then answers is the same as for the model, in both
protocol eras, and a result that is not valid MCP still becomes a readable error."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp.server.runner import _dump_result
from mcp_types import methods

from mcprt.contracts import ToolResult
from mcprt.server.results import to_call_result

RESULTS = {
    "text": ToolResult(content=[{"type": "text", "text": "plain"}]),
    "structured": ToolResult(content=[{"type": "text", "text": '{"a":1}'}],
                             structured_content={"a": 1, "b": [1.5, None, {"c": 2**70}]}),
    "error": ToolResult(content=[{"type": "text", "text": "bad"}], is_error=True),
    "meta": ToolResult(content=[{"type": "text", "text": "x"}], meta={"io.example/k": {"v": 1}}),
    "no content": ToolResult(content=[]),
    "image": ToolResult(content=[{"type": "image", "data": "aGk=", "mimeType": "image/png"}]),
    "annotated text": ToolResult(content=[{"type": "text", "text": "x", "annotations": {"priority": 0.5}}]),
}


def _answer(value: Any, version: str) -> dict[str, Any]:
    """What the SDK's request kernel writes for a handler's return (`ServerRunner._serialize`'s sieve)."""
    return methods.serialize_server_result("tools/call", version, _dump_result(value))


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25", "2026-07-28"])
@pytest.mark.parametrize("name", list(RESULTS))
def test_the_sdk_answers_the_same_as_for_the_model(name: str, version: str) -> None:
    result = RESULTS[name]
    model = types.CallToolResult.model_validate(result.to_wire(), by_name=False)
    handed = to_call_result(result, "t")
    assert isinstance(handed, dict) == (name not in ("image", "annotated text"))
    assert _answer(handed, version) == _answer(model, version)


def test_a_python_tools_other_keys_take_the_models_way() -> None:
    handed = to_call_result(ToolResult(content=[{"type": "text", "text": "x"}], structured_content={1: "v"}), "t")
    assert isinstance(handed, types.CallToolResult)  # the model keeps it; its JSON dump writes the key "1"
    assert _answer(handed, "2025-06-18")["structuredContent"] == {"1": "v"}


def test_a_result_that_is_not_valid_mcp_is_a_readable_error() -> None:
    handed = to_call_result(ToolResult(content=[{"type": "text", "txt": "a typo"}]), "t")
    assert isinstance(handed, types.CallToolResult) and handed.is_error
    assert "could not be encoded" in handed.content[0].text  # type: ignore[union-attr]
