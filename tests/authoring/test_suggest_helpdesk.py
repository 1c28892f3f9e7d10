"""`mcprt init`'s suggested prunes on a help-desk API shaped like Zendesk's (a trial's "Deskly", 34 operations).

The trial found the suggestion keeping `body`, `html_body` and `plain_body` (one text three times), a comment's
`metadata.system.ip_address` (personal data), `custom_fields[].id` without the values, `attachments[].id`
without the file names, and each list item's long `description` and `raw_subject`. Each is a kind; each is
checked here on its general form and on a neighbour that must stay. The description is served over HTTP on
127.0.0.1 and `init` runs as a real `python -m mcprt`.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.authoring.table import as_objects
from tests.authoring.test_suggest_rules import suggested_prunes
from tests.support.cli import mcprt_process
from tests.support.upstream import serve_app

S: dict[str, Any] = {"type": "string"}
I: dict[str, Any] = {"type": "integer"}
CUSTOM_FIELD = {"type": "object", "properties": {"id": I, "value": {"type": ["string", "null"]}}}
ATTACHMENT = {"type": "object", "properties": {"id": I, "file_name": S, "content_url": S, "size": I,
                                               "content_type": S}}
TICKET = {"type": "object", "properties": {
    "id": I, "url": S, "subject": S, "raw_subject": S, "description": S, "status": {"type": "string",
                                                                                    "enum": ["new", "open", "solved"]},
    "requester_id": I, "assignee_id": I, "group_id": I, "organization_id": I, "custom_fields": {"type": "array", "items": CUSTOM_FIELD},
    "created_at": {"type": "string", "format": "date-time"}}}
COMMENT = {"type": "object", "properties": {
    "id": I, "type": S, "author_id": I, "body": S, "html_body": S, "plain_body": S, "public": {"type": "boolean"},
    "attachments": {"type": "array", "items": ATTACHMENT},
    "metadata": {"type": "object", "properties": {"system": {"type": "object", "properties": {
        "client": S, "ip_address": S, "location": S, "latitude": {"type": "number"},
        "longitude": {"type": "number"}}}}},
    "created_at": {"type": "string", "format": "date-time"}}}
# no plain `body`: of its renderings the plain one stays
NOTE = {"type": "object", "properties": {"id": I, "html_body": S, "plain_body": S, "bodyHtml": S,
                                         "html_url": S, "url": S}}
# a server's own address is content; a customer's bounded free text: dropped in a list when long, kept when short
DROPLET = {"type": "object", "properties": {"id": I, "name": S, "networks": {"type": "object", "properties": {
    "v4": {"type": "array", "items": {"type": "object", "properties": {"ip_address": S, "netmask": S, "type": S}}}}}}}
CUSTOMER = {"type": "object", "properties": {"id": S, "name": S, "description": {"type": "string", "maxLength": 5000},
                                             "tagline": {"type": "string", "maxLength": 200}, "text_color": S,
                                             "color": S}}
# a person's record, plural or not: every address it holds is theirs; an event names whose address by its word;
# a CDN's origin is a server; a form's fields named by a bare id keep their label and shown value
USER = {"type": "object", "properties": {"id": I, "name": S, "email": S, "location": S, "last_login_ip": S,
                                         "current_sign_in_ip": S, "ip_address": S}}
EVENT = {"type": "object", "properties": {"id": I, "action": S, "actor_ip": S, "remote_ip": S}}
CDN = {"type": "object", "properties": {"id": I, "endpoint": S, "origin": {"type": "object", "properties": {
    "hostname": S, "ip_address": S}}}}
FORM = {"type": "object", "properties": {"id": I, "name": S, "fields": {"type": "array", "items": {
    "type": "object", "properties": {"id": I, "label": S, "display_value": S}}}}}


def _get(operation: str, path: str, schema: dict[str, Any], params: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"get": {"operationId": operation, "parameters": [
        {"name": p, "in": "path", "required": True, "schema": I} for p in params],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}}}


def _page(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": item}, "next_page": S, "count": I}}


SPEC = {"openapi": "3.0.3", "info": {"title": "Deskly", "version": "1"},
        "servers": [{"url": "https://deskly.example.com/api/v2"}],
        "paths": {
            "/tickets": _get("ListTickets", "/tickets", _page("tickets", TICKET)),
            "/tickets/{ticket_id}": _get("ShowTicket", "", {"type": "object", "properties": {"ticket": TICKET}},
                                         ("ticket_id",)),
            "/tickets/{ticket_id}/comments": _get("ListTicketComments", "", _page("comments", COMMENT), ("ticket_id",)),
            "/tickets/{ticket_id}/comments/{comment_id}": _get(
                "ShowComment", "", {"type": "object", "properties": {"comment": COMMENT}}, ("ticket_id", "comment_id")),
            "/notes/{note_id}": _get("ShowNote", "", {"type": "object", "properties": {"note": NOTE}}, ("note_id",)),
            "/droplets": _get("ListDroplets", "", _page("droplets", DROPLET)),
            "/customers": _get("ListCustomers", "", _page("data", CUSTOMER)),
            "/groups/{group_id}": _get("ShowGroup", "", {"type": "object", "properties": {"group": {
                "type": "object", "properties": {"id": I, "name": S}}}}, ("group_id",)),
            "/users": _get("ListUsers", "", _page("users", USER)),
            "/users/{user_id}": _get("ShowUser", "", {"type": "object", "properties": {"user": USER}}, ("user_id",)),
            "/events": _get("ListEvents", "", _page("events", EVENT)),
            "/cdns/{cdn_id}": _get("ShowCdn", "", {"type": "object", "properties": {"cdn": CDN}}, ("cdn_id",)),
            "/forms/{form_id}": _get("ShowForm", "", {"type": "object", "properties": {"form": FORM}}, ("form_id",)),
        }}


@pytest.fixture(scope="module")
def prunes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    async def spec(_request: Any) -> JSONResponse:
        return JSONResponse(SPEC)

    folder = tmp_path_factory.mktemp("deskly")
    with serve_app(Starlette(routes=[Route("/deskly-api.json", spec)])) as base:
        made = mcprt_process("init", "--openapi", f"{base}/deskly-api.json", "--out", str(folder / "mcp.yaml"),
                             cwd=folder, forked=True)
    assert made.returncode == 0, made.stderr
    return {key: as_objects(" ".join(prune.split())) for key, prune in suggested_prunes((folder / "mcp.yaml").read_text()).items()}


def test_one_rendering_of_a_text_is_kept(prunes: dict[str, str]) -> None:
    comments = prunes["ListTicketComments"]
    assert "body: body" in comments and "html_body" not in comments and "plain_body" not in comments, comments
    ticket = prunes["ShowTicket"]
    assert "subject: subject" in ticket and "raw_subject" not in ticket, ticket
    note = prunes["ShowNote"]  # no plain field: its plain rendering stays, a page link is no rendering
    assert "plain_body: plain_body" in note and "html_body" not in note and "bodyHtml" not in note, note
    assert "html_url: html_url" in note, note
    customers = prunes["ListCustomers"]
    assert "text_color: text_color" in customers and "color: color" in customers, customers  # not a text rendering


def test_what_a_record_says_of_its_client_is_not_kept_a_servers_address_is(prunes: dict[str, str]) -> None:
    """A commenter's address, whereabouts and user agent (`metadata.system.{ip_address, latitude, longitude,
    location, client}`) go; so does every address on a person's record, listed (`users[]`) or not, and one whose
    name says whose it is (`actor_ip`, `remote_ip`). A droplet's and a CDN origin's addresses stay."""
    for key in ("ListTicketComments", "ShowComment"):
        for name in ("ip_address", "latitude", "longitude", "location", "client"):
            assert f"{name}: {name}" not in prunes[key], (name, prunes[key])
    for key in ("ListUsers", "ShowUser"):
        for name in ("last_login_ip", "current_sign_in_ip", "ip_address"):
            assert name not in prunes[key], (name, prunes[key])
        assert "email: email" in prunes[key], prunes[key]
    assert "location: location" in prunes["ShowUser"], prunes["ShowUser"]  # a profile's stated place, not a fix
    events = prunes["ListEvents"]
    assert "actor_ip" not in events and "remote_ip" not in events and "action: action" in events, events
    assert "ip_address: ip_address" in prunes["ListDroplets"], prunes["ListDroplets"]
    assert "ip_address: ip_address" in prunes["ShowCdn"], prunes["ShowCdn"]


def test_list_items_keep_who_did_what_and_drop_other_records_ids_alike(prunes: dict[str, str]) -> None:
    """A comment's `author_id` tells the customer's words from the agent's, a ticket's requester and assignee who
    asked and who answers: role ids stay in list items. Other records' ids go, a group's as an organization's —
    `group_id` was kept as if it were the ticket's key because `/groups/{group_id}` exists."""
    comments = prunes["ListTicketComments"]
    assert "author_id: author_id" in comments, comments
    tickets = prunes["ListTickets"]
    assert "requester_id: requester_id" in tickets and "assignee_id: assignee_id" in tickets, tickets
    assert "group_id" not in tickets and "organization_id" not in tickets, tickets
    assert "id: id" in tickets, tickets
    assert "group_id: group_id" in prunes["ShowTicket"], prunes["ShowTicket"]  # the one ticket keeps it


def test_items_named_by_an_id_alone_keep_what_the_id_stands_for(prunes: dict[str, str]) -> None:
    ticket = prunes["ShowTicket"]
    assert "custom_fields: custom_fields[].{id: id, value: value}" in ticket, ticket
    comment = prunes["ShowComment"]
    assert "attachments: attachments[].{id: id, file_name: file_name}" in comment, comment
    form = prunes["ShowForm"]  # a label and a shown value, by their last word as `file_name`
    assert "fields: fields[].{id: id, label: label, display_value: display_value}" in form, form


def test_list_items_leave_long_free_text_out(prunes: dict[str, str]) -> None:
    tickets = prunes["ListTickets"]
    assert "subject: subject" in tickets and "description" not in tickets, tickets  # beside its `subject`
    assert "description: description" in prunes["ShowTicket"]  # the one ticket keeps it
    customers = prunes["ListCustomers"]
    assert "description" not in customers and "tagline: tagline" in customers, customers  # 5,000 vs 200 characters

