"""Build a catalog entry's cases from an API's documented example responses, through the real runtime.

For each planned call the documented response is served by the replay upstream, the tool is called
through the entry's manifest exactly as `mcprt test` does, and the request the runtime sent is
stored in the case beside the response (on the API's real host) — so a case records what the
runtime builds, never what someone guessed. Then the snapshot is written.

    python catalog/_tools/build_cases.py catalog/_tools/plans/github.yaml [--examples-from SPEC.json]

A plan: `manifest:` (relative to the plan), `source:` (where the examples come from, for the case
headers), optionally `spec:` (the entry's pinned description, relative to the plan) and `cases:`,
each with `tool`, `name`, `args`, `status` (200), and `json:` (inline), `example:` (a JSON pointer
into `--examples-from`, whose `value` is used), `documented: OPERATION` (the response example the
description itself documents for that operation; with `page: KEY` its list is filled to
`list_length` items by copying the documented item with distinct ids) or `generate: true` (a schema-complete response
built from the operation's 2xx schema in `spec:` by `schema_example.py`, with `list_length` items
in a list page, default 30, and an optional `seed`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from mcprt.testing.cases import Body, Case, RecordedRequest, RecordedResponse, cases_dir, write_case
from mcprt.settings import load_settings
from mcprt.testing.harness import ReplaySession
from mcprt.testing.overrides import load_for_replay
from mcprt.testing.runner import check_case
from mcprt.testing.snapshots import SnapshotStore
from mcprt.testing.wire import VOLATILE_HEADERS
from mcprt.sources.http import is_sensitive_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema_example import documented_example, fill_page, response_example  # noqa: E402


def _pointer(doc: Any, pointer: str) -> Any:
    node = doc
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", type=Path)
    parser.add_argument("--examples-from", type=Path)
    args = parser.parse_args()
    plan = YAML(typ="safe", pure=True).load(args.plan.read_text(encoding="utf-8"))
    manifest = (args.plan.parent / plan["manifest"]).resolve()
    examples = json.loads(args.examples_from.read_text(encoding="utf-8")) if args.examples_from else None
    spec = json.loads((args.plan.parent / plan["spec"]).read_text(encoding="utf-8")) if "spec" in plan else None
    store = SnapshotStore(cases_dir(manifest))
    original = load_for_replay(manifest, None, load_settings())  # the real base URLs, for the cases' URLs
    with ReplaySession(manifest) as session:
        for item in plan["cases"]:
            if item.get("documented"):
                if spec is None:
                    sys.exit(f"{item['name']}: `documented` needs the plan's `spec:`")
                value = documented_example(spec, item["documented"])
                origin = f"the documented response example of `{item['documented']}` in {plan['source']}"
                if item.get("page"):
                    value = fill_page(value, item["page"], item.get("list_length", 30))
                    origin += (f", its `{item['page']}` list filled to {item.get('list_length', 30)} items "
                               "(copies of the documented item with distinct ids)")
            elif item.get("generate"):
                if spec is None:
                    sys.exit(f"{item['name']}: `generate` needs the plan's `spec:`")
                value = response_example(spec, item["operation"], list_length=item.get("list_length", 30),
                                         seed=item.get("seed", item["name"]), page=item.get("page"),
                                         max_depth=item.get("max_depth", 6))
                origin = (f"the response schema of `{item['operation']}` in {plan['source']} (schema-complete: "
                          f"every documented field, {item.get('list_length', 30)} items per list page)")
            elif "example" in item:
                if examples is None:
                    sys.exit(f"{item['name']}: needs --examples-from")
                value = _pointer(examples, item["example"])["value"]
                origin = f"the documented example `{item['example']}` of {plan['source']}"
            elif "text_lines" in item:
                value = None
                origin = f"a plain-text response of {plan['source']}"
            else:
                value = item["json"]
                origin = f"the documented example of {plan['source']}"
            if item.get("text_lines"):  # a plain-text response (logs): the lines joined
                value = "\n".join(item["text_lines"]) + "\n"
                origin = item.get("origin", origin)
                response = RecordedResponse(item.get("status", 200), [("content-type", "text/plain")], Body("text", value))
            else:
                response = RecordedResponse(item.get("status", 200), [("content-type", "application/json")],
                                            Body("json", value))
            path = cases_dir(manifest) / item["tool"] / f"{item['name']}.yaml"
            probe = Case(path, item["name"], item["tool"], item.get("args") or {}, response=response)
            run = session.run(probe)
            if len(run.received) != 1:
                sys.exit(f"{probe.id}: expected one request, got {len(run.received)}: {run.result.content}")
            got = run.received[0]
            tool = session.harness.find_tool(probe)[0]
            source = original.manifest.sources[tool.source]
            base = urlsplit(getattr(source, "base_url", None) or "")
            if not base.scheme:
                sys.exit(f"{probe.id}: the catalog manifest must set base_url")
            url = f"{base.scheme}://{base.netloc}{got.raw_path}" + (f"?{got.raw_query}" if got.raw_query else "")
            headers = [(n, v) for n, v in got.headers
                       if n.lower() not in VOLATILE_HEADERS - {"content-type"} and not is_sensitive_name(n)]
            content_type = next((v for n, v in got.headers if n.lower() == "content-type"), None)
            body = Body.from_bytes(got.body, content_type) if got.body else None
            case = Case(path, probe.name, probe.tool, probe.args, operation=tool.operation.key,
                        description=item.get("description"),
                        request=RecordedRequest(got.method, url, headers, body), response=response)
            write_case(case, f"Built from {origin}\nby catalog/_tools/build_cases.py: the request is the one "
                             "the runtime sent for these arguments.")
            outcome = check_case(session, store, case, update=True)
            print(f"{case.id}: {outcome.status}, {run.raw_bytes:,} -> {run.sent_bytes:,} bytes")


if __name__ == "__main__":
    main()
