"""Trim a large OpenAPI document to the operations a catalog entry includes (for its pinned `spec/` copy).

Keeps the selected operations (by operationId) with their path-level parameters, every component
they reference (transitively), the servers, security schemes and the tags in use. Drops documented
examples (the entry's cases carry the ones it uses) so the copy stays small. Nothing else is changed.

    python catalog/_tools/trim_spec.py SOURCE.json OUT.json --operations issues/get,pulls/list,...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import unquote
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(("#/components/", "#/paths/")):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _without_examples(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_examples(v) for k, v in node.items() if k != "examples"}
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def trim(doc: dict[str, Any], operations: list[str]) -> dict[str, Any]:
    wanted = set(operations)
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        kept = {m: op for m, op in item.items() if m in METHODS and op.get("operationId") in wanted}
        if kept:
            if "parameters" in item:
                kept["parameters"] = item["parameters"]
            paths[path] = kept
            wanted -= {op["operationId"] for op in kept.values() if isinstance(op, dict) and "operationId" in op}
    if wanted:
        sys.exit(f"operations not found: {', '.join(sorted(wanted))}")
    paths = _without_examples(paths)
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    _refs(paths, pending)
    done: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        if ref.startswith("#/paths/"):
            # Bundled documents point into other path items (shared parameters): keep that path item
            # whole; the manifest's `include` still selects the operations that become tools.
            path = unquote(ref.split("/")[2]).replace("~1", "/").replace("~0", "~")
            if path not in paths:
                paths[path] = _without_examples(doc["paths"][path])
                _refs(paths[path], pending)
            continue
        _, _, kind, name = ref.split("/", 3)
        value = _without_examples(doc["components"][kind][name])
        components.setdefault(kind, {})[name] = value
        _refs(value, pending)
    if "securitySchemes" in doc.get("components", {}):
        components["securitySchemes"] = doc["components"]["securitySchemes"]
    used_tags = {t for item in paths.values() for op in item.values() if isinstance(op, dict) for t in op.get("tags", [])}
    out: dict[str, Any] = {"openapi": doc["openapi"], "info": doc["info"]}
    for key in ("servers", "security", "externalDocs"):
        if key in doc:
            out[key] = doc[key]
    if "tags" in doc:
        out["tags"] = [t for t in doc["tags"] if t.get("name") in used_tags]
    out["paths"] = paths
    out["components"] = {k: dict(sorted(v.items())) for k, v in sorted(components.items())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--operations", required=True, help="comma-separated operationIds")
    args = parser.parse_args()
    doc = json.loads(args.source.read_text(encoding="utf-8"))
    trimmed = trim(doc, [o.strip() for o in args.operations.split(",") if o.strip()])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(trimmed['paths'])} paths, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
