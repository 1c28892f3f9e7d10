"""Two rules of `mcprt init`'s suggested prunes, through the real CLI and a real server:
links that let their holder in are never suggested, and an expandable field (an id, or the
object it names, which refers back) keeps its id form — while the outputSchema built from the
same response schema admits every form a real response takes (id, null, expanded object)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mcprt.authoring.table import as_objects
from tests.authoring.test_init import CATALOG, mcprt
from tests.support.served import http_client, mcprt_http

MEETINGS = """openapi: 3.0.3
info: {title: Meetings, version: "1"}
servers: [{url: "https://meetings.example.com/v2"}]
paths:
  /meetings/{id}:
    get:
      operationId: get_meeting
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: integer}
                  topic: {type: string}
                  start_url: {type: string, description: URL to start the meeting.}
                  join_url: {type: string, description: "URL for participants to join. Share it only with the users you invite."}
                  host_link: {type: string, format: uri, description: "Anyone with this link can log in as the host."}
                  recording_url: {type: string, description: "Append the access token to download the file."}
                  presigned_download: {type: string, format: uri}
                  agenda: {type: string}
"""


def suggested_prunes(text: str) -> dict[str, str]:
    """`override key → prune` of a manifest written by `mcprt init` (read as YAML: a long prune is a folded block)."""
    from ruamel.yaml import YAML

    tools = next(iter(YAML(typ="safe").load(text)["sources"].values()))["tools"] or {}
    return {key: override["prune"] for key, override in tools.items() if override and "prune" in override}


def test_links_that_grant_access_are_never_suggested(tmp_path: Path) -> None:
    spec = tmp_path / "meetings.yaml"
    spec.write_text(MEETINGS)
    made = mcprt("init", "--openapi", str(spec), "--out", str(tmp_path / "mcp.yaml"))
    assert made.returncode == 0, made.stderr
    prune = suggested_prunes((tmp_path / "mcp.yaml").read_text())["get_meeting"]
    assert "join_url: join_url" in prune and "topic: topic" in prune and "agenda: agenda" in prune
    # by name (a host's start link, a presigned link) and by description (log in as, a token)
    for leaked in ("start_url", "host_link", "recording_url", "presigned_download"):
        assert leaked not in prune, prune


def test_zooms_host_start_url_is_not_suggested(tmp_path: Path) -> None:
    out = tmp_path / "zoom" / "mcp.yaml"
    made = mcprt("init", "--openapi", str(CATALOG / "zoom" / "spec" / "zoom.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    prunes = suggested_prunes(out.read_text())
    assert any("join_url" in p for p in prunes.values()), prunes  # the participants' link is kept
    assert not [k for k, p in prunes.items() if "start_url" in p]


PAYMENTS = """openapi: 3.0.3
info: {title: Payments, version: "1"}
servers: [{url: "UPSTREAM"}]
paths:
  /payments/{id}:
    get:
      operationId: get_payment
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/payment'}}}
components:
  schemas:
    payment:
      type: object
      properties:
        id: {type: string}
        amount: {type: integer}
        customer:
          nullable: true
          description: The customer's id, or the customer when expanded.
          anyOf: [{type: string}, {$ref: '#/components/schemas/customer'}]
    customer:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
        last_payment:
          nullable: true
          anyOf: [{type: string}, {$ref: '#/components/schemas/payment'}]
"""

RESPONSES = {
    "/payments/by-id": {"id": "pi_1", "amount": 500, "customer": "cus_1"},
    "/payments/guest": {"id": "pi_2", "amount": 700, "customer": None},
    "/payments/expanded": {"id": "pi_3", "amount": 900,
                           "customer": {"id": "cus_3", "name": "Jenny", "last_payment": "pi_0"}},
    "/payments/expanded-twice": {"id": "pi_4", "amount": 100, "customer": {
        "id": "cus_4", "name": "Ann", "last_payment": {"id": "pi_0", "amount": 1, "customer": "cus_4"}}},
}


@contextmanager
def payments_api() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = json.dumps(RESPONSES[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_expandable_fields_keep_their_id_form_and_every_form_fits_the_output_schema(tmp_path: Path) -> None:
    with payments_api() as upstream:
        spec = tmp_path / "payments.yaml"
        spec.write_text(PAYMENTS.replace("UPSTREAM", upstream))
        written = tmp_path / "init" / "mcp.yaml"
        made = mcprt("init", "--openapi", str(spec), "--out", str(written))
        assert made.returncode == 0, made.stderr
        # the id form, whatever the object: never `customer.id` (null for the usual, unexpanded answer)
        assert "customer: [customer][?type(@) != 'object'] | [0]" in suggested_prunes(written.read_text())["get_payment"]

        manifest = tmp_path / "mcp.yaml"  # no prune, `output_schema: true`: the outputSchema is the response schema
        manifest.write_text(f"version: 1\nserver: {{name: payments}}\nsources:\n  payments:\n    openapi: {spec}\n"
                            "    tools: {get_payment: {output_schema: true}}\n")
        listed = mcprt("tools", str(manifest), "--json")
        assert listed.returncode == 0, listed.stderr
        schema = next(t for t in json.loads(listed.stdout)["tools"] if t["name"] == "get_payment")["outputSchema"]
        customer = schema["properties"]["customer"]
        # the string alternative is kept (was: `{}`, anything), null is admitted (`nullable` beside `anyOf`)
        assert {"type": "string"} in customer["anyOf"] and {"type": "null"} in customer["anyOf"]
        expanded = next(o for o in customer["anyOf"] if "properties" in o)
        # the reference back to `payment` (recursion) keeps the type its target declares
        assert {"type": "object"} in expanded["properties"]["last_payment"]["anyOf"]

        with mcprt_http(manifest) as up:
            async with http_client(up.url) as client:  # the SDK client checks structuredContent against it
                for path, body in RESPONSES.items():
                    result = await client.call_tool("get_payment", {"id": path.rsplit("/", 1)[1]})
                    assert not result.is_error, result.content
                    assert result.structured_content == body


TRACKER = """openapi: 3.0.3
info: {title: Tracker, version: "1"}
servers: [{url: "https://tracker.example.com/api"}]
paths:
  /v1/projects/{project_id}/tickets:
    get:
      operationId: list_tickets
      parameters:
        - {name: project_id, in: path, required: true, schema: {type: string}}
        - {name: priority, in: query, schema: {type: string}}
        - {name: sort, in: query, schema: {type: string, enum: [created, resolved]}}
      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Ticket'}}}}}}
  /v2/projects/{project_id}/tickets/{ticket_number}:
    get:
      operationId: get_ticket
      parameters:
        - {name: project_id, in: path, required: true, schema: {type: string}}
        - {name: ticket_number, in: path, required: true, schema: {type: integer}}
      responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Ticket'}}}}}
components:
  schemas:
    Ticket:
      type: object
      required: [number, title]
      properties:
        id: {type: integer}
        number: {type: integer}
        title: {type: string}
        body: {type: string, description: "The ticket's text (markdown)."}
        project_id: {type: string}
        reporter_id: {type: string}
        milestone_id: {type: string}
        etag: {type: string}
        checksum: {type: string}
        resource_version: {type: string, description: "An opaque value the server uses to detect changes."}
        severity: {type: string}
        priority: {type: string}
        created_at: {type: string, format: date-time}
        resolved_at: {type: string, format: date-time}
        os: {type: object, properties: {id: {type: integer}, slug: {type: string}, name: {type: string},
                                        distribution: {type: string, enum: [Ubuntu, Debian]}}}
        commits: {type: array, items: {type: object, properties: {sha: {type: string}, url: {type: string}}}}
        attachment: {type: object, properties: {id: {type: integer}, uuid: {type: string}, type: {type: string}}}
        screenshot_url: {type: string, format: uri}
        is_pinned: {type: boolean}
        images: {type: array, items: {type: object, properties: {url: {type: string}, width: {type: integer}}}}
        sla: {type: object, nullable: true, properties: {policy: {type: string}, breach_at: {type: string, format: date-time}}}
        customer: {anyOf: [{type: string}, {type: object, properties: {id: {type: string}, email: {type: string}}}]}
        assignee: {anyOf: [{type: string}, {type: object, properties: {id: {type: string}, email: {type: string}}}]}
        watcher: {type: object, properties: {id: {type: integer}, login: {type: string, format: email}, name: {type: string}}}
        agent: {type: object, properties: {id: {type: integer}, login: {type: string, format: email}, email: {type: string}}}
        created_by: {anyOf: [{type: string}, {type: object, properties: {id: {type: string}, email: {type: string}}}]}
        assigned_to: {anyOf: [{type: string}, {type: object, properties: {id: {type: string}, email: {type: string}}}]}
        approved_by_id: {type: string}
        json_metadata: {oneOf: [{type: string}, {type: object, additionalProperties: true}], description: Content of the metadata}
        payload: {anyOf: [{type: string}, {type: object, additionalProperties: true}, {type: array, items: {}},
                          {type: integer}, {type: number}, {type: boolean}], description: Content of the ticker}
        pool: {type: object, nullable: true, properties: {url: {type: string}, ticker: {type: string}, name: {type: string}}}
"""


def test_list_items_leave_out_what_the_api_tells_apart(tmp_path: Path) -> None:
    """In a list's items (not in one result): another id beside the key the API addresses items by
    (`{ticket_number}` of the sibling operation, across a version prefix), the parent's id the caller passed
    (`{project_id}`), other records' ids (`milestone_id`, an expandable `customer`, and references named by a bare
    id) — not the person in a role (`reporter_id`, an expandable `assignee`: who reported it is the record's
    content) —, an optional free text beside a label, bookkeeping, checksums, pictures, `is_*` flags the record's
    `required` list leaves out, and a part documented as possibly null (`sla`) unless it names something (`pool`,
    with its `name`); a reference keeps one name under its own key (`os: os.slug`), an email address being no name
    beside a label (`watcher: watcher.name`, not its `login`) but better than a number (`agent: agent.login`). A
    person in a role spelled as a phrase stays (`created_by`, `assigned_to`, `approved_by_id`), and a value of any
    JSON form is content, not an id (`json_metadata`, `payload`: kept whole)."""
    spec = tmp_path / "tracker.yaml"
    spec.write_text(TRACKER)
    made = mcprt("init", "--openapi", str(spec), "--out", str(tmp_path / "mcp.yaml"))
    assert made.returncode == 0, made.stderr
    prunes = suggested_prunes((tmp_path / "mcp.yaml").read_text())
    listed, single = as_objects(prunes["list_tickets"]), prunes["get_ticket"]
    for kept in ("number: number", "title: title", "severity: severity", "priority: priority",
                 "created_at: created_at", "resolved_at: resolved_at", "os: os.slug", "watcher: watcher.name",
                 "reporter_id: reporter_id", "assignee: [assignee][?type(@) != 'object'] | [0]",
                 "agent: agent.login", "created_by: [created_by][?type(@) != 'object'] | [0]",
                 "assigned_to: [assigned_to][?type(@) != 'object'] | [0]", "approved_by_id: approved_by_id",
                 "json_metadata: json_metadata", "payload: payload", "pool: pool.{"):
        assert kept in listed, listed
    for left_out in ("id: id", "body", "project_id", "milestone_id", "etag", "checksum", "resource_version",
                     "distribution", "commits", "attachment", "uuid", "screenshot_url", "images", "is_pinned",
                     "sla", "customer", "os.name", "watcher.login", "agent.id"):
        assert left_out not in listed, listed
    # the one result keeps them all (its own operation is where details live), and a reference's enum (its kind)
    for kept in ("id: id", "body: body", "reporter_id: reporter_id", "etag: etag", "checksum: checksum",
                 "os_slug: os.slug", "os_name: os.name", "os_distribution: os.distribution",
                 "watcher_login: watcher.login", "watcher_name: watcher.name", "commits: commits[].sha", "attachment: attachment.",
                 "screenshot_url: screenshot_url", "images: images[]", "is_pinned: is_pinned",
                 "sla: sla.{policy: policy, breach_at: breach_at}", "customer: [customer][?type(@) != 'object'] | [0]",
                 "json_metadata: json_metadata", "payload: payload"):
        assert kept in single, single
    assert mcprt("validate", str(tmp_path / "mcp.yaml")).returncode == 0


def test_fields_the_parameters_name_rank_first_under_a_budget(tmp_path: Path) -> None:
    """`Budget` keeps a record's fields by rank: the addressing key and label, then what the operation's own
    query parameters name (`priority`, and `sort=created|resolved` → `created_at`, `resolved_at`), before
    fields nothing names (`severity`)."""
    from mcprt.authoring.signals import operation_signals
    from mcprt.authoring.suggest import Budget, suggest_prune
    from mcprt.sources.openapi import load_document

    spec = tmp_path / "tracker.yaml"
    spec.write_text(TRACKER)
    found = operation_signals(load_document(str(spec), tmp_path, None))["list_tickets"]
    assert found.hints.keys == frozenset({"ticket_number"}) and "priority" in found.hints.filters
    prune = suggest_prune(found.success, found.default, Budget(single=99, item=5, part=99), found.hints)
    assert as_objects(prune) == ("[].{number: number, title: title, priority: priority, created_at: created_at, "
                            "resolved_at: resolved_at}"), prune
    unranked = suggest_prune(found.success, found.default, Budget(single=99, item=5, part=99), found.hints,
                             signals=frozenset())  # without the signals: neither the key nor what parameters name
    assert unranked == "[].{id: id, title: title, created_at: created_at, resolved_at: resolved_at, os: os.slug}"
