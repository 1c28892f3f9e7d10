"""Templates print values in JSON's form, the form a model sends (SDK client over `mcprt up`, real upstream).

Trial "fastmcp", fault 7: `description: "Delete a customer (hard={{ hard }})."` with `args: {hard: {fixed: true}}`
showed the model `hard=True`, and `expand: {default: [items, customer]}` showed `['items', 'customer']`. Every
`{{ value }}` of a template (`description:` and `output:` alike: both are text a model reads) now prints a
boolean, null, list or object as JSON (`expressions.templates.json_form`), and so do the `~` and `%` operators and
every filter that makes text of a value (`join`, `string`, `format`, `trim`, `shorten`, …: review of fixfm1,
problem 2); strings and numbers as before. `pprint` alone is Python's pretty-printer (documented).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcprt.expressions.templates import compile_template
from tests.support.served import stdio_up, text_of
from tests.support.upstream import serve_app

ORDER = {"type": "object", "properties": {"id": {"type": "string"}, "paid": {"type": "boolean"},
                                         "note": {"type": ["string", "null"]},
                                         "tags": {"type": "array", "items": {"type": "string"}}}}
SPEC = {
    "openapi": "3.0.3", "info": {"title": "Acme", "version": "1"},
    "paths": {
        "/customers/{customer_id}": {"delete": {
            "operationId": "deleteCustomer", "summary": "Delete a customer",
            "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "hard", "in": "query", "schema": {"type": "boolean", "default": False}}],
            "responses": {"200": {"description": "OK"}}}},
        "/orders/{order_id}": {"get": {
            "operationId": "getOrder", "summary": "Get an order",
            "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "expand", "in": "query", "schema": {"type": "array", "items": {
                               "type": "string", "enum": ["customer", "items", "payments"]}}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ORDER}}}}}},
    },
}


def upstream() -> Starlette:
    async def order(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["order_id"], "paid": True, "note": None, "tags": ["vip", "eu"]})

    return Starlette(routes=[Route("/orders/{order_id}", order)])


async def test_descriptions_and_outputs_print_json_values(tmp_path: Path) -> None:
    (tmp_path / "acme.json").write_text(json.dumps(SPEC))
    manifest = tmp_path / "mcp.yaml"
    with serve_app(upstream()) as base:
        manifest.write_text(f"""\
version: 1
server: {{name: acme}}
sources:
  acme:
    openapi: acme.json
    base_url: {base}
    tools:
      deleteCustomer:
        description: "Delete a customer (hard={{{{ hard }}}}, short={{{{ hard | shorten(20) }}}}, fmt={{{{ '%s' | format(hard) }}}})."
        args: {{hard: {{fixed: true}}}}
      getOrder:
        description: "Get an order; expands {{{{ expand }}}} unless told otherwise ({{{{ 'e=' ~ expand }}}}); tags {{{{ tags }}}}."
        args: {{expand: {{default: [items, customer]}}}}
        output: "{{{{ result.id }}}} paid={{{{ result.paid }}}} note={{{{ result.note }}}} tags={{{{ result.tags }}}}
          {{{{ [result.paid, result.note] | join(',') }}}} {{{{ result.paid | string }}}} {{{{ 'p=%s' % result.paid }}}}
          {{{{ result.tags | upper }}}}"
""")
        async with Client(stdio_client(stdio_up(manifest))) as client:  # type: ignore[arg-type]
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            result = await client.call_tool("getOrder", {"order_id": "o1"})
    assert tools["deleteCustomer"].description == "Delete a customer (hard=true, short=true, fmt=true)."
    assert tools["getOrder"].description == \
        'Get an order; expands ["items","customer"] unless told otherwise (e=["items","customer"]); tags [].'
    assert text_of(result) == \
        'o1 paid=true note=null tags=["vip","eu"] true,null true p=true ["VIP","EU"]'  # `join`, `string`, `%` too


# The review's table (`render(flag=True, l=["items", "customer", None])`), each input with its right value
@pytest.mark.parametrize(("source", "printed"), [
    ("{{ '%s'|format(flag) }}", "true"),
    ("{{ '%(f)s'|format(f=flag) }}", "true"),
    ("{{ 'x=%s' % flag }}", "x=true"),
    ("{{ '%s and %s' % (flag, l) }}", 'true and ["items","customer",null]'),
    ("{{ '%(f)s' % {'f': l} }}", '["items","customer",null]'),
    ("{{ '%d items' % 3 }}", "3 items"),
    ("{{ l|trim }}", '["items","customer",null]'),
    ("{{ l|replace('a','a') }}", '["items","customer",null]'),
    ("{{ l|center(30) }}", '  ["items","customer",null]   '),
    ("{{ l|shorten(40) }}", '["items","customer",null]'),
    ("{{ l|shorten(12) }}", '["items","c…'),  # no space to cut at
    ("{{ l|firstline }}", '["items","customer",null]'),
    ("{{ flag|split|first }}", "true"),
    ("{{ flag|upper }}", "TRUE"),
    ("{{ flag|capitalize }}", "True"),  # the JSON `true`, capitalized as asked
    ("{{ l|truncate(12, true, '…', 0) }}", '["items","c…'),
    ("{{ 'f=' ~ flag ~ ', list=' ~ l ~ ', n=' ~ 3 }}", 'f=true, list=["items","customer",null], n=3'),
    ("{{ 'a b'|upper ~ 'c'|trim }}", "A Bc"),  # strings stay themselves
    ("{{ l|pprint }}", "['items', 'customer', None]"),  # Python's pretty-printer, documented so
])
def test_text_made_of_a_value_is_json_s_form(source: str, printed: str) -> None:
    values = {"flag": True, "l": ["items", "customer", None]}
    assert compile_template(source, kind="description").render(**values) == printed
    output = re.sub(r"\b(flag|l)\b", r"result.\1", source)  # an output template reads `result`
    assert compile_template(output, kind="output").render(result=values) == printed


def test_an_undefined_operand_of_tilde_still_fails_by_name() -> None:
    with pytest.raises(Exception, match="'missing' is undefined"):
        compile_template("{{ 'a' ~ missing }}", kind="description").render(flag=True)
