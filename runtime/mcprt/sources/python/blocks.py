"""A content block a Python prompt function wrote by hand (`{"type": "image", …}`), checked as MCP
defines it before it reaches the SDK.

Unchecked, a block with a known `type` but a missing or mistyped field (`{"type": "image"}` without
`data`) made the SDK refuse the whole `prompts/get` answer as an invalid result: the client saw a
generic internal error and nobody learnt which prompt or block was wrong. The models are the SDK's
own (`mcp_types.ContentBlock`: MCP 2025-11-25 schema, `ContentBlock`), so the check and the SDK's
validation cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import mcp_types
from pydantic import BaseModel, ValidationError

from .signature import validation_problems

# `type` → the SDK's model of that block (text, image, audio, resource_link, resource)
_MODELS: dict[str, type[BaseModel]] = {model.model_fields["type"].default: model
                                       for model in get_args(mcp_types.ContentBlock)}


class BadBlock(ValueError):
    """What is wrong with a block, in one sentence without the block's values (they may be large)."""


def content_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """`block` as MCP's wire form (camelCase fields, nothing unset added), or BadBlock saying which
    field is missing or wrong (`data: Field required`) or that the type is none MCP knows."""
    kind = block.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise BadBlock(f"its type {kind!r} is none of MCP's content blocks ({', '.join(_MODELS)})")
    try:
        checked = model.model_validate(dict(block))
    except ValidationError as exc:
        raise BadBlock(f"it is not a valid {kind!r} content block: " + "; ".join(validation_problems(exc))) from None
    return checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
