"""CPU a prefixed proxied source's tool result pays for its resource URIs in structuredContent, in this process.

    python bench/structured_uris.py [--rounds 9]

`OfferSet.exposed_structured` (offerings/structured_uris.py) walks every structuredContent of a prefixed
source that offers resources, looking for string values that are URIs of that source's resources. Shapes,
each about 1 MB of compact JSON (a large result; the default `max_result_bytes` is 100 KB):
  - `no URIs`: 10,000 objects of short strings and numbers (the common case: the walk finds nothing);
  - `URIs, no schema`: the same with one `files://…` URI per object (10,000 rewritten);
  - `URIs, schema ok`: as above, checked against an outputSchema that accepts the rewritten values (one
    compiled fastjsonschema check);
  - `URIs, pinned`: checked against an outputSchema whose `anyOf` pins `uri` by `pattern` in one object in
    ten (the rewritten result is walked by jsonschema, the refused values given back, checked again).
Printed: median ms per result over `--rounds`, and µs per matched URI of the template matcher.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from mcprt.offerings.offerset import Exposed, OfferSet, SourceOffers  # noqa: E402
from mcprt.offerings.uris import template_matcher  # noqa: E402


def offers() -> OfferSet:
    provider: Any = None  # a provider is never called here
    made = OfferSet()
    made.sources["s"] = SourceOffers("s", provider, has_resources=True)
    made.templates["s+files://{name}"] = Exposed("s+files://{name}", "files://{name}", "s", {}, provider)
    made.resources["s+docs://readme"] = Exposed("s+docs://readme", "docs://readme", "s", {}, provider)
    return made


def shapes() -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    plain = {"items": [{"id": i, "name": f"item {i}", "state": "open", "size": i * 3.5} for i in range(10_000)]}
    linked = {"items": [{"id": i, "name": f"item {i}", "uri": f"files://f{i}.txt"} for i in range(10_000)]}
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"anyOf": [
        {"type": "object", "properties": {"id": {"type": "integer", "multipleOf": 10},
                                          "uri": {"type": "string", "pattern": "^files://"}}, "required": ["id"]},
        {"type": "object", "properties": {"id": {"type": "integer", "not": {"multipleOf": 10}}}}]}}}}
    accepting = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"id": {"type": "integer"}, "uri": {"type": "string"}}}}}}
    return {"no URIs": (plain, None), "URIs, no schema": (linked, None), "URIs, schema ok": (linked, accepting),
            "URIs, pinned": (linked, schema)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    served = offers()
    for name, (value, schema) in shapes().items():
        size = len(json.dumps(value, separators=(",", ":")))
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            out = served.exposed_structured("s", value, schema)
            times.append((time.perf_counter() - started) * 1000)
        changed = sum(1 for a, b in zip(value["items"], out["items"]) if a != b)
        print(f"{name:17} {size / 1e6:.2f} MB  {statistics.median(times):8.1f} ms/result  {changed:,} objects changed")
    matches = template_matcher("files://{name}")
    uris = [f"files://f{i}.txt" for i in range(10_000)]
    started = time.perf_counter()
    assert all(matches(uri) for uri in uris)
    print(f"template match   {(time.perf_counter() - started) / len(uris) * 1e6:.2f} µs/URI")


if __name__ == "__main__":
    main()
