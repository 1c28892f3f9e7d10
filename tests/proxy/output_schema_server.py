"""An SDK (`MCPServer`) stdio server whose tools declare an outputSchema (a pydantic model) and send a
`structuredContent` they choose (a raw `CallToolResult`, which the SDK's server passes on unchecked):
`forecast(kind)` answers

    valid       a conforming result (with a `_meta` and the text block the SDK would write)
    wrong_type  `celsius` a string where the schema wants a number
    missing     no `city`, which the schema requires
    extra       an `api_key` key the schema's `additionalProperties: false` refuses (its value looks secret)
    absent      a text block and no structuredContent at all
    null        `"structuredContent": null` said outright
    keyed       a map key (data, here secret-looking) whose value is a string where the map wants integers
    format      `contact` "n/a" where the schema says `format: email`: conforms (`format` is an annotation)

The SDK's server would check `forecast`'s results against its model and refuse to send the bad ones, so
that check is switched off (the model kept as the published schema only): this server misbehaves on purpose.
`lenient(n)` declares an outputSchema of open objects and conforms: what a `prune` projects."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

server = MCPServer("forecasts", log_level="CRITICAL")

SECRET_LOOKING = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


class Forecast(BaseModel):
    """A forecast: the schema's `additionalProperties: false` refuses any other key."""

    model_config = ConfigDict(extra="forbid")
    city: str
    celsius: float
    hourly: list[int]
    contact: str = Field("", json_schema_extra={"format": "email"})
    by_station: dict[str, int] = {}


VALID: dict[str, Any] = {"city": "Oslo", "celsius": 4.5, "hourly": [3, 4, 5]}
ANSWERS: dict[str, Any] = {
    "valid": VALID,
    "wrong_type": {**VALID, "celsius": SECRET_LOOKING},
    "missing": {"celsius": 4.5, "hourly": [3]},
    "extra": {**VALID, "api_key": SECRET_LOOKING},
    "nested": {**VALID, "hourly": [3, SECRET_LOOKING]},
    "keyed": {**VALID, "by_station": {SECRET_LOOKING: "x"}},
    "format": {**VALID, "contact": "n/a"},
}


@server.tool()
def forecast(kind: str) -> Annotated[CallToolResult, Forecast]:
    """A forecast whose structuredContent is as `kind` says (see the module docstring)."""
    if kind == "absent":
        return CallToolResult(content=[TextContent(text="Oslo, 4.5 °C")])
    if kind == "null":
        return CallToolResult(content=[TextContent(text="Oslo, 4.5 °C")], structured_content=None)
    data = ANSWERS[kind]
    return CallToolResult(content=[TextContent(text=json.dumps(data))], structured_content=data,
                          _meta={"source": "met.no"})


# Publish the schema, check nothing: the SDK reads `output_model` live, on each call (FuncMetadata).
_published = server._tool_manager.get_tool("forecast")  # noqa: SLF001
assert _published is not None and _published.fn_metadata.output_schema is not None
_published.fn_metadata.output_model = None


class Station(BaseModel):
    """A weather station: open objects (more keys allowed)."""

    id: int
    name: str
    readings: list[dict[str, float]]


@server.tool()
def lenient(n: int) -> Station:
    """A station with `n` readings."""
    return Station(id=7, name="Blindern", readings=[{"t": float(i), "p": 1000.0 + i} for i in range(n)])


if __name__ == "__main__":
    server.run("stdio")
