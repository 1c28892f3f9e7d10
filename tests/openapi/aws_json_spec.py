"""A small AWS JSON-protocol API description (the shape aws2openapi writes for every AWS service): each
operation is a POST to `/` told apart by the header `X-Amz-Target`, whose schema admits one value.

`aws_spec(version)` gives it as OpenAPI 3.1, 3.0 or Swagger 2.0, each way of saying "one value" the
version has: a one-value `enum` (all), through a `$ref` (3.x), with `default` beside it (3.0), `const`
(3.1); and beside them parameters that stay arguments (an optional one-value query with no default, a
free header). The operations:

    GetForecast    header X-Amz-Target (one-value enum); body {City}; header X-Amz-Date (free)
    ListForecasts  header X-Amz-Target (`$ref`, or `const` in 3.1); query Version (required, one value);
                   query Format (optional, one value, default it); query Expand (optional, one value, no
                   default: a choice); query MaxResults
    GetRegion      path Partition (one value); header X-Amz-Target (enum with that default)
"""

from __future__ import annotations

from typing import Any

TARGETS = {"GetForecast": "Forecasts_20240101.GetForecast", "ListForecasts": "Forecasts_20240101.ListForecasts",
           "GetRegion": "Forecasts_20240101.GetRegion"}


def _one(version: str, value: str, *, default: bool = False, const: bool = False) -> dict[str, Any]:
    if const and version == "3.1":
        return {"type": "string", "const": value}
    schema: dict[str, Any] = {"type": "string", "enum": [value]}
    if default:
        schema["default"] = value
    return schema


def _param(version: str, name: str, where: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    if version == "2.0":  # Swagger 2.0: the schema's keywords on the parameter itself
        return {"name": name, "in": where, "required": required, **{k: v for k, v in schema.items() if k != "$ref"}}
    return {"name": name, "in": where, "required": required, "schema": schema}


def aws_spec(version: str) -> dict[str, Any]:
    """The description in OpenAPI `version` ("3.1", "3.0" or "2.0")."""
    listed_target = (_one(version, TARGETS["ListForecasts"], const=True) if version != "3.0"
                     else {"$ref": "#/components/schemas/ListTarget"})
    if version == "2.0":
        listed_target = _one(version, TARGETS["ListForecasts"])
    ok = {"description": "Success", **({"schema": {"type": "object"}} if version == "2.0"
                                       else {"content": {"application/json": {"schema": {"type": "object"}}}})}
    get_forecast: dict[str, Any] = {
        "operationId": "GetForecast", "summary": "The forecast of one city.",
        "parameters": [_param(version, "X-Amz-Target", "header", _one(version, TARGETS["GetForecast"]), True),
                       _param(version, "X-Amz-Date", "header", {"type": "string"}, False)],
        "responses": {"200": ok},
    }
    body_schema = {"type": "object", "required": ["City"], "properties": {"City": {"type": "string"}}}
    if version == "2.0":
        get_forecast["parameters"].append({"name": "body", "in": "body", "required": True, "schema": body_schema})
    else:
        get_forecast["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
    list_forecasts = {
        "operationId": "ListForecasts", "summary": "Every forecast.",
        "parameters": [
            _param(version, "X-Amz-Target", "header", listed_target, True),
            _param(version, "Version", "query", _one(version, "2024-01-01"), True),
            _param(version, "Format", "query", _one(version, "json", default=True), False),
            _param(version, "Expand", "query", _one(version, "all"), False),
            _param(version, "MaxResults", "query", {"type": "integer"}, False),
        ],
        "responses": {"200": ok},
    }
    get_region = {
        "operationId": "GetRegion", "summary": "One region of a partition.",
        "parameters": [
            _param(version, "Partition", "path", _one(version, "aws"), True),
            _param(version, "X-Amz-Target", "header", _one(version, TARGETS["GetRegion"], default=True), True),
        ],
        "responses": {"200": ok},
    }
    paths = {
        "/#X-Amz-Target=Forecasts_20240101.GetForecast": {"post": get_forecast},
        "/#X-Amz-Target=Forecasts_20240101.ListForecasts": {"post": list_forecasts},
        "/partitions/{Partition}#X-Amz-Target=Forecasts_20240101.GetRegion": {"post": get_region},
    }
    info = {"title": "Forecasts", "version": "2024-01-01"}
    if version == "2.0":
        return {"swagger": "2.0", "info": info, "host": "forecasts.us-east-1.amazonaws.com", "schemes": ["https"],
                "consumes": ["application/json"], "produces": ["application/json"], "paths": paths}
    spec: dict[str, Any] = {"openapi": "3.1.0" if version == "3.1" else "3.0.3", "info": info,
                            "servers": [{"url": "https://forecasts.us-east-1.amazonaws.com"}], "paths": paths}
    if version == "3.0":
        spec["components"] = {"schemas": {"ListTarget": {"type": "string", "enum": [TARGETS["ListForecasts"]]}}}
    return spec
