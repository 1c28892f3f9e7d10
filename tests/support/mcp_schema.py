"""The official MCP schema of each handshake-era version (tests/fixtures/mcp-schema), closed, to
validate what a client of that version is sent."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).parents[1] / "fixtures" / "mcp-schema"


@cache
def schema(version: str) -> dict[str, Any]:
    """The version's schema with every definition closed: a field it does not define is an error
    (the schemas leave `additionalProperties` open; what a version does not define is what it does
    not have). Nested open objects (`_meta`, an `inputSchema`'s own keywords) stay open."""
    loaded = json.loads((SCHEMAS / f"{version}.json").read_text(encoding="utf-8"))
    closed = copy.deepcopy(loaded)
    for definition in closed[_defs(closed)].values():
        if "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    return closed


def _defs(loaded: dict[str, Any]) -> str:
    return "$defs" if "$defs" in loaded else "definitions"  # 2025-11-25 is JSON Schema 2020-12


RESULTS = {"initialize": "InitializeResult", "tools/list": "ListToolsResult", "tools/call": "CallToolResult",
           "resources/list": "ListResourcesResult", "resources/templates/list": "ListResourceTemplatesResult",
           "resources/read": "ReadResourceResult", "prompts/list": "ListPromptsResult",
           "prompts/get": "GetPromptResult", "completion/complete": "CompleteResult",
           "logging/setLevel": "EmptyResult", "resources/subscribe": "EmptyResult"}
NOTIFICATIONS = {"notifications/message": "LoggingMessageNotification",
                 "notifications/resources/updated": "ResourceUpdatedNotification",
                 "notifications/progress": "ProgressNotification"}

def check(version: str, method: str, response: dict[str, Any]) -> dict[str, Any]:
    """The JSON-RPC `response`'s result, asserted valid for `method` in `version`'s closed schema."""
    assert "result" in response, response
    _valid(version, RESULTS[method], response["result"], method)
    return response["result"]


def check_notification(version: str, message: dict[str, Any]) -> None:
    """A server→client notification (log, resources/updated, progress), asserted valid in `version`'s
    closed schema: the whole JSON-RPC message against the notification's definition."""
    method = message.get("method")
    assert method in NOTIFICATIONS, f"{version}: a notification this check does not know: {message}"
    definition = NOTIFICATIONS[method]
    loaded = schema(version)
    if "jsonrpc" not in loaded[_defs(loaded)][definition]["properties"]:  # 2025-11-25 has it, older ones not
        message = {key: value for key, value in message.items() if key != "jsonrpc"}
    _valid(version, definition, message, method)


def _valid(version: str, definition: str, value: Any, what: Any) -> None:
    loaded = schema(version)
    whole = {**loaded, "$ref": f"#/{_defs(loaded)}/{definition}"}
    validator = jsonschema.validators.validator_for(loaded)(whole)
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(value)]
    assert not errors, f"{version} {what}: " + "; ".join(errors)
