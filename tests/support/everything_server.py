"""A handshake-era MCP server offering every feature the conformance suite's server scenarios expect.

    python everything_server.py                      # stdio
    python everything_server.py --http               # streamable HTTP on localhost, prints "PORT <n>"
    python everything_server.py --features prompts   # offer only some of tools,resources,prompts

Written for mcprt's tests from the scenario descriptions of `@modelcontextprotocol/conformance`
0.1.16 (`conformance list --server`): the `test_*` tools, `test://…` resources and `test_*` prompts,
completion, logging, progress, sampling, elicitation, subscriptions. Beyond the suite it has
`test_fields` (a tool with `icons`, `_meta`, `execution` and a result `_meta`), `test_roots`,
`test_slow` (records its cancellation in the file named by `$FIXTURE_CANCEL_FILE`),
`touch_watched` (sends `notifications/resources/updated` to the subscribers) and `add_prompt`
(adds a prompt and a resource, then sends both list_changed notifications).
From the 0.2 suite (0.2.0-alpha.11, its 2026-07-28 scenarios) it has, written the handshake-era
way (asking the client mid-call, which a proxy turns into InputRequiredResult rounds): the
`test_input_required_result_*` tools and prompt, `test_missing_capability` (needs sampling, no
fallback), `test_trigger_tool_change` / `test_trigger_prompt_change` (list mutations for
`subscriptions/listen`), `test_custom_header` (an `x-mcp-header` parameter, SEP-2243),
`test_invalid_custom_header` (an annotation the spec forbids, on an object), the
suite's full `json_schema_2020_12_tool` schema ($anchor, allOf/anyOf, if/then/else) and the tasks
scenarios' tools (`greet`, `slow_compute`, `failing_job`, `protocol_error_job`, `confirm_delete`,
`multi_input`, `test_tool_with_task`), each declaring its `execution.taskSupport` as the suite
expects; they work a second before they end or ask, since a proxy answers directly a call that
ends or asks within its `answer_within` (`test_tool_with_task` asks at once: its question is an
InputRequiredResult round before its task).
With the `nosubscribe` feature its resources offer no subscriptions (`resources.subscribe` false).
With the `rounds` feature it also offers `test_two_questions` (asks the user, then for the roots) and
`test_ask_then_wait` (asks the user, writes the answer to the file `marker`, then waits `seconds`).
It refuses `server/discover`, so SDK clients in "auto" mode fall back to `initialize`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.connection import Connection

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
        "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
    )
).decode()
WAV = base64.b64encode(b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00D\xac\x00\x00\x88X\x01\x00"
                       b"\x02\x00\x10\x00data\x00\x00\x00\x00").decode()
TEXT = "This is a simple text response for testing."
NO_ARGS = {"type": "object", "properties": {}}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


# test_big_result's kinds: the block type its `kb` KiB are sent in ("structured": all in structuredContent,
# "wrapped": a text block and the `{"result": <text>}` copy an SDK server sends for a `-> str` tool).
BIG_KINDS = ("text", "image", "audio", "resource", "blob", "resource_link", "structured", "wrapped")
ITEMS_SCHEMA = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"n": {"type": "integer"}, "word": {"type": "string"}},
    "required": ["n", "word"], "additionalProperties": False}}, "result": {"type": "string"}}}


def big_result(kind: str, kb: float) -> dict[str, Any]:
    """test_big_result's answer: `kb` KiB of payload in `kind` blocks, beside a small structuredContent
    (all of it in structuredContent for "structured"; the SDK's string wrapper for "wrapped")."""
    size = int(kb * 1024)
    small = {"items": [{"n": 1, "word": "one"}]}
    data = base64.b64encode(b"\x00" * (size * 3 // 4)).decode()
    if kind == "text":
        return {"content": [_text("word " * (size // 5))], "structuredContent": small}
    if kind in ("image", "audio"):
        return {"content": [_text("see the attachment"),
                            {"type": kind, "data": data, "mimeType": "image/png" if kind == "image" else "audio/wav"}],
                "structuredContent": small}
    if kind == "resource":
        return {"content": [{"type": "resource", "resource": {"uri": "test://big", "mimeType": "text/plain",
                                                              "text": "line\n" * (size // 5)}}],
                "structuredContent": small}
    if kind == "blob":
        return {"content": [{"type": "resource", "resource": {"uri": "test://big.bin", "blob": data}}],
                "structuredContent": small}
    if kind == "resource_link":
        links = [{"type": "resource_link", "uri": f"test://item/{n:08d}", "name": f"item {n}"}
                 for n in range(size // 22)]
        return {"content": [_text("items:"), *links], "structuredContent": small}
    if kind == "structured":
        items = [{"n": n, "word": f"word{n:05d}"} for n in range(size // 25)]
        return {"content": [_text(f"{len(items)} items")], "structuredContent": {"items": items}}
    text = "x" * size
    return {"content": [_text(text)], "structuredContent": {"result": text}}


TOOLS: list[dict[str, Any]] = [
    {"name": "test_simple_text", "description": "Returns simple text.", "inputSchema": NO_ARGS},
    {"name": "test_image_content", "description": "Returns an image.", "inputSchema": NO_ARGS},
    {"name": "test_audio_content", "description": "Returns audio.", "inputSchema": NO_ARGS},
    {"name": "test_embedded_resource", "description": "Returns an embedded resource.", "inputSchema": NO_ARGS},
    {"name": "test_multiple_content_types", "description": "Returns text, image and resource.", "inputSchema": NO_ARGS},
    {"name": "test_tool_with_logging", "description": "Logs three messages.", "inputSchema": NO_ARGS},
    {"name": "test_error_handling", "description": "Always fails.", "inputSchema": NO_ARGS},
    {"name": "test_tool_with_progress", "description": "Reports progress.", "inputSchema": NO_ARGS},
    {"name": "test_sampling", "description": "Asks the client's LLM.",
     "inputSchema": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}},
    {"name": "test_elicitation", "description": "Asks the user.",
     "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}},
    {"name": "test_elicitation_sep1034_defaults", "description": "Elicitation with defaults.", "inputSchema": NO_ARGS},
    {"name": "test_elicitation_sep1330_enums", "description": "Elicitation with enums.", "inputSchema": NO_ARGS},
    {
        "name": "json_schema_2020_12_tool",
        "description": "Tool with JSON Schema 2020-12 features",
        # The 0.2 suite's schema (SEP-1613 and SEP-2106): $defs with an $anchor, allOf/anyOf,
        # if/then/else next to the required root "type": "object".
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                                  "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                           "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                           "phone": {"type": "string"}, "email": {"type": "string"}},
            "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
            "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
            "then": {"required": ["phone"]},
            "else": {"required": ["email"]},
            "additionalProperties": False,
        },
    },
    {"name": "test_reconnection", "description": "Closes the SSE stream mid-call.", "inputSchema": NO_ARGS},
    {
        "name": "test_fields",
        "title": "Fields",
        "description": "A tool with every optional field.",
        "inputSchema": NO_ARGS,
        "outputSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
        "annotations": {"readOnlyHint": True},
        "icons": [{"src": "https://example.com/icon.png", "mimeType": "image/png", "sizes": ["48x48"]}],
        "_meta": {"example.com/owner": "team-a"},
        "execution": {"taskSupport": "optional"},
    },
    {"name": "test_big_result", "description": "A result of `kb` KiB in blocks of one `kind`, with structuredContent.",
     "inputSchema": {"type": "object", "properties": {"kind": {"type": "string", "enum": list(BIG_KINDS)},
                                                      "kb": {"type": "number"}}, "required": ["kind", "kb"]},
     "outputSchema": ITEMS_SCHEMA},
    {"name": "test_roots", "description": "Lists the client's roots.", "inputSchema": NO_ARGS},
    {"name": "test_slow", "description": "Sleeps until cancelled.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "touch_watched", "description": "Announces that test://watched-resource changed.", "inputSchema": NO_ARGS},
    {"name": "add_prompt", "description": "Adds a prompt and a resource, and announces both lists changed.",
     "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    # The 0.2 suite's 2026-07-28 fixtures, written as a handshake-era server writes them: each asks
    # the client mid-call (elicitation, sampling, roots) and a proxy turns the questions into
    # InputRequiredResult rounds (input-required-result-*.ts, stateless.ts).
    {"name": "test_input_required_result_elicitation", "description": "Asks the user's name.", "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_sampling", "description": "Asks the client's LLM a question.",
     "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_list_roots", "description": "Lists the client's roots.", "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_request_state", "description": "Asks for a confirmation.",
     "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_multiple_inputs",
     "description": "Asks an elicitation, a sampling and a roots/list question at once.", "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_multi_round", "description": "Asks two questions, one after the other.",
     "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_tampered_state", "description": "Asks for a confirmation.",
     "inputSchema": NO_ARGS},
    {"name": "test_input_required_result_capabilities",
     "description": "Asks by elicitation, or by sampling when the client refuses elicitation.", "inputSchema": NO_ARGS},
    {"name": "test_missing_capability", "description": "Needs sampling; fails without it.", "inputSchema": NO_ARGS},
    {"name": "test_trigger_tool_change", "description": "Adds a tool and announces the tool list changed.",
     "inputSchema": NO_ARGS},
    {"name": "test_trigger_prompt_change", "description": "Adds a prompt and announces the prompt list changed.",
     "inputSchema": NO_ARGS},
    {"name": "test_custom_header", "description": "Echoes a parameter mirrored in the Mcp-Param-Region header.",
     "inputSchema": {"type": "object", "properties": {
         "region": {"type": "string", "x-mcp-header": "Region"},
         "query": {"type": "string"}}, "required": ["region"]}},
    {"name": "test_invalid_custom_header", "description": "x-mcp-header on an object: clients must drop this tool.",
     "inputSchema": {"type": "object", "properties": {"filter": {"type": "object", "x-mcp-header": "Filter"}}}},
    # The 0.2 suite's tasks fixtures (tasks/*.ts, SEP-2663), with the task support each scenario expects
    # declared the handshake-era way (`execution.taskSupport`, which a proxy takes over). Each works a
    # while before it ends or asks: a proxy answers a call that ends or asks at once directly.
    {"name": "greet", "description": "Says hello (sync only).",
     "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    {"name": "slow_compute", "description": "Sleeps `seconds`, then answers.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}, "label": {"type": "string"}}},
     "execution": {"taskSupport": "optional"}},
    {"name": "failing_job", "description": "Works 1 s, then answers a tool error.", "inputSchema": NO_ARGS,
     "execution": {"taskSupport": "required"}},
    {"name": "protocol_error_job", "description": "Works 1 s, then fails with a JSON-RPC error.",
     "inputSchema": NO_ARGS, "execution": {"taskSupport": "required"}},
    {"name": "confirm_delete", "description": "Looks the file up (1 s), then asks the user to confirm deleting it.",
     "inputSchema": {"type": "object", "properties": {"filename": {"type": "string"}}, "required": ["filename"]},
     "execution": {"taskSupport": "required"}},
    {"name": "multi_input", "description": "Prepares (1 s), then asks two questions at once.", "inputSchema": NO_ARGS,
     "execution": {"taskSupport": "optional"}},
    {"name": "test_tool_with_task", "description": "Asks the user's name at once, then works 2 s and greets them.",
     "inputSchema": NO_ARGS, "execution": {"taskSupport": "required"}},
]

# Offered with the `rounds` feature: questions over several round trips, and a call still running after one.
ROUND_TOOLS: list[dict[str, Any]] = [
    {"name": "test_two_questions", "description": "Asks the user who they are, then lists the client's roots.",
     "inputSchema": NO_ARGS},
    {"name": "test_ask_then_wait", "description": "Asks the user, then waits.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}, "marker": {"type": "string"}},
                     "required": ["seconds", "marker"]}},
]
WHO = {"type": "object", "properties": {"username": {"type": "string"}}, "required": ["username"]}

RESOURCES = [
    {"uri": "test://static-text", "name": "static-text", "description": "A static text resource.",
     "mimeType": "text/plain"},
    {"uri": "test://static-binary", "name": "static-binary", "description": "A static PNG.", "mimeType": "image/png"},
    {"uri": "test://watched-resource", "name": "watched-resource", "description": "A resource that changes.",
     "mimeType": "text/plain"},
]
TEMPLATES = [
    {"uriTemplate": "test://template/{id}/data", "name": "template-data", "description": "Data by id.",
     "mimeType": "application/json"},
]
PROMPTS = [
    {"name": "test_simple_prompt", "description": "A simple prompt."},
    {"name": "test_prompt_with_arguments", "description": "A prompt with arguments.",
     "arguments": [{"name": "arg1", "description": "First test argument", "required": True},
                   {"name": "arg2", "description": "Second test argument", "required": True}]},
    {"name": "test_prompt_with_embedded_resource", "description": "A prompt embedding a resource.",
     "arguments": [{"name": "resourceUri", "description": "URI of the resource to embed", "required": True}]},
    {"name": "test_prompt_with_image", "description": "A prompt with an image."},
    {"name": "test_input_required_result_prompt", "description": "A prompt that asks the user for its context."},
]
COMPLETIONS = {"arg1": ["paris", "park", "party"], "arg2": ["world", "wonder"], "id": ["123", "124", "999"]}

subscribers: dict[str, list[Connection]] = {}


def _connection(ctx: ServerRequestContext[Any]) -> Connection | None:
    connection = getattr(ctx.session, "_connection", None)
    return connection if isinstance(connection, Connection) else None


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
    name, args = params.name, params.arguments or {}
    rid = ctx.request_id
    if name == "test_simple_text":
        return {"content": [_text(TEXT)]}
    if name == "test_image_content":
        return {"content": [{"type": "image", "data": PNG, "mimeType": "image/png"}]}
    if name == "test_audio_content":
        return {"content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]}
    if name == "test_embedded_resource":
        return {"content": [{"type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."}}]}
    if name == "test_multiple_content_types":
        return {"content": [
            _text("Multiple content types test:"),
            {"type": "image", "data": PNG, "mimeType": "image/png", "annotations": {"audience": ["user"]}},
            {"type": "resource", "resource": {"uri": "test://mixed-content-resource", "mimeType": "application/json",
                                              "text": json.dumps({"test": "data", "value": 123})}},
        ]}
    if name == "test_tool_with_logging":
        for message in ("Tool execution started", "Tool processing data", "Tool execution completed"):
            await ctx.session.send_log_message("info", message, "fixture", related_request_id=rid)
            await anyio.sleep(0.05)
        return {"content": [_text("Logging completed")]}
    if name == "test_error_handling":
        return {"content": [_text("This tool intentionally returns an error for testing")], "isError": True}
    if name == "test_tool_with_progress":
        for done in (0, 50, 100):
            await ctx.session.report_progress(done, 100, None)
            await anyio.sleep(0.05)
        return {"content": [_text("Progress completed")]}
    if name == "test_sampling":
        result = await ctx.session.create_message(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=args["prompt"]))],
            max_tokens=100, related_request_id=rid)
        text = result.content.text if isinstance(result.content, types.TextContent) else str(result.content)
        return {"content": [_text(f"LLM response: {text}")]}
    if name == "test_elicitation":
        schema = {"type": "object", "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"}}, "required": ["username", "email"]}
        return await _elicit(ctx, args["message"], schema, "User response")
    if name == "test_elicitation_sep1034_defaults":
        schema = {"type": "object", "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "default": True}}}
        return await _elicit(ctx, "Please review your details", schema, "Elicitation completed")
    if name == "test_elicitation_sep1330_enums":
        schema = {"type": "object", "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "oneOf": [{"const": "value1", "title": "First Option"},
                                                         {"const": "value2", "title": "Second Option"},
                                                         {"const": "value3", "title": "Third Option"}]},
            "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                           "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                                                  {"const": "value2", "title": "Second Choice"},
                                                                  {"const": "value3", "title": "Third Choice"}]}}}}
        return await _elicit(ctx, "Pick your options", schema, "Elicitation completed")
    if name == "json_schema_2020_12_tool":
        return {"content": [_text(json.dumps(args))]}
    if name == "test_reconnection":
        if ctx.close_sse_stream is not None:
            await ctx.close_sse_stream()
        await anyio.sleep(0.2)
        return {"content": [_text("Reconnection test completed")]}
    if name == "test_fields":
        return {"content": [_text('{"ok": true}')], "structuredContent": {"ok": True},
                "_meta": {"example.com/trace": "t-1"}}
    if name == "test_big_result":
        return big_result(args["kind"], float(args["kb"]))
    if name == "test_roots":
        roots = await ctx.session.send_request(types.ListRootsRequest(), types.ListRootsResult,
                                               metadata=_related(rid))
        return {"content": [_text(json.dumps([str(r.uri) for r in roots.roots]))]}
    if name == "test_two_questions":
        request = types.ElicitRequest(params=types.ElicitRequestFormParams(message="Who are you?", requested_schema=WHO))
        who = await ctx.session.send_request(request, types.ElicitResult, metadata=_related(rid))
        roots = await ctx.session.send_request(types.ListRootsRequest(), types.ListRootsResult,
                                               metadata=_related(rid))
        return {"content": [_text(f"{(who.content or {}).get('username')} works in {roots.roots[0].uri}")]}
    if name == "test_ask_then_wait":
        request = types.ElicitRequest(params=types.ElicitRequestFormParams(message="Go on?", requested_schema=WHO))
        who = await ctx.session.send_request(request, types.ElicitResult, metadata=_related(rid))
        with open(args["marker"], "w", encoding="utf-8") as out:
            out.write(json.dumps(who.content))
        await anyio.sleep(float(args["seconds"]))
        return {"content": [_text("waited")]}
    if name == "test_slow":
        try:
            await anyio.sleep(float(args.get("seconds", 60)))
        except anyio.get_cancelled_exc_class():
            marker = os.environ.get("FIXTURE_CANCEL_FILE")
            if marker:
                with open(marker, "a", encoding="utf-8") as out:
                    out.write("cancelled\n")
            raise
        return {"content": [_text("slept")]}
    if name == "touch_watched":
        for connection in list(subscribers.get("test://watched-resource", [])):
            await connection.send_resource_updated("test://watched-resource")
        return {"content": [_text(f"notified {len(subscribers.get('test://watched-resource', []))}")]}
    if name == "add_prompt":
        PROMPTS.append({"name": args["name"], "description": f"Added at runtime: {args['name']}."})
        RESOURCES.append({"uri": f"test://added/{args['name']}", "name": args["name"], "mimeType": "text/plain"})
        await ctx.session.send_prompt_list_changed()
        await ctx.session.send_resource_list_changed()
        return {"content": [_text("added")]}
    if name in TASK_TOOLS:
        return await _task_tool(ctx, name, args)
    if name.startswith("test_input_required_result_") or name in ("test_missing_capability",
                                                                  "test_trigger_tool_change",
                                                                  "test_trigger_prompt_change", "test_custom_header"):
        return await _suite_2026_tool(ctx, name, args)
    return {"content": [_text(f"unknown tool {name}")], "isError": True}


def _schema(**properties: str) -> dict[str, Any]:
    """A flat elicitation schema: every property required, of the given JSON type."""
    return {"type": "object", "properties": {key: {"type": kind} for key, kind in properties.items()},
            "required": list(properties)}


async def _ask(ctx: ServerRequestContext[Any], message: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Elicit from the client; the accepted content (an error when it declined)."""
    request = types.ElicitRequest(params=types.ElicitRequestFormParams(message=message, requested_schema=schema))
    result = await ctx.session.send_request(request, types.ElicitResult, metadata=_related(ctx.request_id))
    if result.action != "accept" or not isinstance(result.content, dict):
        raise ValueError(f"the user chose {result.action}")
    return result.content


async def _sample(ctx: ServerRequestContext[Any], prompt: str, max_tokens: int) -> str:
    result = await ctx.session.create_message(
        messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
        max_tokens=max_tokens, related_request_id=ctx.request_id)
    return result.content.text if isinstance(result.content, types.TextContent) else str(result.content)


async def _roots(ctx: ServerRequestContext[Any]) -> list[str]:
    roots = await ctx.session.send_request(types.ListRootsRequest(), types.ListRootsResult,
                                           metadata=_related(ctx.request_id))
    return [str(root.uri) for root in roots.roots]


async def _suite_2026_tool(ctx: ServerRequestContext[Any], name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The 0.2 suite's 2026-07-28 fixture tools, asking the client the handshake-era way."""
    from mcp.shared.exceptions import MCPError

    if name == "test_input_required_result_elicitation":
        answer = await _ask(ctx, "What is your name?", _schema(name="string"))
        return {"content": [_text(f"Hello, {answer.get('name')}!")]}
    if name == "test_input_required_result_sampling":
        return {"content": [_text(f"LLM response: {await _sample(ctx, 'What is the capital of France?', 100)}")]}
    if name == "test_input_required_result_list_roots":
        return {"content": [_text(f"Roots: {json.dumps(await _roots(ctx))}")]}
    if name in ("test_input_required_result_request_state", "test_input_required_result_tampered_state"):
        answer = await _ask(ctx, "Please confirm", _schema(ok="boolean"))
        return {"content": [_text(f"state-ok: confirmed={answer.get('ok')}")]}
    if name == "test_input_required_result_multiple_inputs":
        # All three asked at once, as a server that needs them together does.
        found: dict[str, Any] = {}

        async def ask_name() -> None:
            found["name"] = (await _ask(ctx, "What is your name?", _schema(name="string"))).get("name")

        async def ask_greeting() -> None:
            found["greeting"] = await _sample(ctx, "Generate a greeting", 50)

        async def ask_roots() -> None:
            found["roots"] = await _roots(ctx)

        async with anyio.create_task_group() as tasks:
            for ask in (ask_name, ask_greeting, ask_roots):
                tasks.start_soon(ask)
        return {"content": [_text(json.dumps(found, sort_keys=True))]}
    if name == "test_input_required_result_multi_round":
        first = await _ask(ctx, "Step 1: What is your name?", _schema(name="string"))
        second = await _ask(ctx, "Step 2: What is your favorite color?", _schema(color="string"))
        return {"content": [_text(f"{first.get('name')} likes {second.get('color')}")]}
    if name == "test_input_required_result_capabilities":
        try:
            answer = await _ask(ctx, "What is your name?", _schema(name="string"))
            return {"content": [_text(f"elicited: {answer.get('name')}")]}
        except MCPError:  # the client cannot be asked that way: ask its LLM instead
            return {"content": [_text(f"sampled: {await _sample(ctx, 'Pick a name', 20)}")]}
    if name == "test_missing_capability":
        # No fallback: the request fails as the client's refusal says (the error propagates).
        return {"content": [_text(f"sampled: {await _sample(ctx, 'Say hello', 20)}")]}
    if name == "test_trigger_tool_change":
        added = f"added_tool_{len(TOOLS)}"
        TOOLS.append({"name": added, "description": "Added at runtime.", "inputSchema": NO_ARGS})
        await ctx.session.send_tool_list_changed()
        return {"content": [_text(f"added {added}")]}
    if name == "test_trigger_prompt_change":
        added = f"added_prompt_{len(PROMPTS)}"
        PROMPTS.append({"name": added, "description": "Added at runtime."})
        await ctx.session.send_prompt_list_changed()
        return {"content": [_text(f"added {added}")]}
    if name == "test_custom_header":
        return {"content": [_text(f"region={args.get('region')}")]}
    return {"content": [_text(f"unknown tool {name}")], "isError": True}


TASK_TOOLS = frozenset({"greet", "slow_compute", "failing_job", "protocol_error_job", "confirm_delete", "multi_input",
                        "test_tool_with_task"})


async def _task_tool(ctx: ServerRequestContext[Any], name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The 0.2 suite's tasks fixtures (written handshake-era: a proxy makes the tasks)."""
    from mcp.shared.exceptions import MCPError

    if name == "greet":
        return {"content": [_text(f"Hello, {args.get('name')}!")]}
    if name == "slow_compute":
        seconds = float(args.get("seconds", 1))
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            marker = os.environ.get("FIXTURE_CANCEL_FILE")
            if marker:
                with open(marker, "a", encoding="utf-8") as out:
                    out.write(f"slow_compute {args.get('label')} cancelled\n")
            raise
        return {"content": [_text(f"computed {args.get('label', '')} after {seconds:g}s")]}
    if name == "failing_job":
        await anyio.sleep(1)
        return {"content": [_text("the job failed: no such input")], "isError": True}
    if name == "protocol_error_job":
        await anyio.sleep(1)
        raise MCPError(-32603, "the job crashed")
    if name == "confirm_delete":
        await anyio.sleep(1)
        answer = await _ask(ctx, f"Delete {args['filename']}?", _schema(confirm="boolean"))
        return {"content": [_text(f"deleted {args['filename']}" if answer.get("confirm") else "kept")]}
    if name == "multi_input":
        await anyio.sleep(1)
        found: dict[str, Any] = {}

        async def ask(key: str, message: str) -> None:
            found[key] = await _ask(ctx, message, _schema(name="string"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask, "first", "First question: your name?")
            tasks.start_soon(ask, "second", "Second question: your name again?")
        return {"content": [_text(json.dumps(found, sort_keys=True))]}
    # test_tool_with_task: asks at once (an InputRequiredResult round), then works long (a task)
    answer = await _ask(ctx, "What is your name?", _schema(name="string"))
    await anyio.sleep(2)
    return {"content": [_text(f"Hello, {answer.get('name')}!")]}


def _related(rid: Any) -> Any:
    from mcp.shared.message import ServerMessageMetadata

    return ServerMessageMetadata(related_request_id=rid)


async def _elicit(ctx: ServerRequestContext[Any], message: str, schema: dict[str, Any], label: str) -> dict[str, Any]:
    request = types.ElicitRequest(params=types.ElicitRequestFormParams(message=message, requested_schema=schema))
    result = await ctx.session.send_request(request, types.ElicitResult, metadata=_related(ctx.request_id))
    return {"content": [_text(f"{label}: action={result.action}, content={json.dumps(result.content)}")]}


async def read_resource(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> dict[str, Any]:
    uri = str(params.uri)
    if uri == "test://static-text":
        return {"contents": [{"uri": uri, "mimeType": "text/plain",
                              "text": "This is the content of the static text resource."}]}
    if uri == "test://static-binary":
        return {"contents": [{"uri": uri, "mimeType": "image/png", "blob": PNG}]}
    if uri == "test://watched-resource":
        return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": "watched"}]}
    if uri.startswith("test://template/") and uri.endswith("/data"):
        ident = uri[len("test://template/"):-len("/data")]
        body = json.dumps({"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"})
        return {"contents": [{"uri": uri, "mimeType": "application/json", "text": body}]}
    from mcp.shared.exceptions import MCPError

    raise MCPError(code=-32002, message=f"Resource not found: {uri}")


async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> dict[str, Any]:
    args = params.arguments or {}
    if params.name == "test_simple_prompt":
        return {"messages": [{"role": "user", "content": _text("This is a simple prompt for testing.")}]}
    if params.name == "test_prompt_with_arguments":
        text = f"Prompt with arguments: arg1='{args.get('arg1')}', arg2='{args.get('arg2')}'"
        return {"messages": [{"role": "user", "content": _text(text)}]}
    if params.name == "test_prompt_with_embedded_resource":
        return {"messages": [
            {"role": "user", "content": {"type": "resource", "resource": {
                "uri": args.get("resourceUri", "test://example-resource"), "mimeType": "text/plain",
                "text": "Embedded resource content for testing."}}},
            {"role": "user", "content": _text("Please process the embedded resource above.")}]}
    if params.name == "test_input_required_result_prompt":
        answer = await _ask(ctx, "What context should the prompt use?", _schema(context="string"))
        return {"messages": [{"role": "user", "content": _text(f"Use this context: {answer.get('context')}")}]}
    if params.name == "test_prompt_with_image":
        return {"messages": [
            {"role": "user", "content": {"type": "image", "data": PNG, "mimeType": "image/png"}},
            {"role": "user", "content": _text("Please analyze the image above.")}]}
    from mcp.shared.exceptions import MCPError

    raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown prompt: {params.name}")


async def complete(ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> dict[str, Any]:
    values = [v for v in COMPLETIONS.get(params.argument.name, []) if v.startswith(params.argument.value)]
    return {"completion": {"values": values, "total": len(values), "hasMore": False}}


async def subscribe(ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> dict[str, Any]:
    connection = _connection(ctx)
    if connection is not None:
        subscribers.setdefault(str(params.uri), []).append(connection)
    return {}


async def unsubscribe(ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams) -> dict[str, Any]:
    connection = _connection(ctx)
    listeners = subscribers.get(str(params.uri), [])
    if connection in listeners:
        listeners.remove(connection)
    return {}


async def set_level(ctx: ServerRequestContext[Any], params: types.SetLevelRequestParams) -> dict[str, Any]:
    return {}


def build(features: set[str]) -> Server[Any]:
    rounds = ROUND_TOOLS if "rounds" in features else []

    async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
        return {"tools": TOOLS + rounds}  # read per request: test_trigger_tool_change adds to TOOLS

    async def list_resources(ctx: Any, params: Any) -> dict[str, Any]:
        return {"resources": RESOURCES}

    async def list_templates(ctx: Any, params: Any) -> dict[str, Any]:
        return {"resourceTemplates": TEMPLATES}

    async def list_prompts(ctx: Any, params: Any) -> dict[str, Any]:
        return {"prompts": PROMPTS}

    handlers: dict[str, Any] = {}
    if "tools" in features:
        handlers.update(on_list_tools=list_tools, on_call_tool=call_tool)
    if "resources" in features:
        handlers.update(on_list_resources=list_resources, on_list_resource_templates=list_templates,
                        on_read_resource=read_resource)
        if "nosubscribe" not in features:  # the feature `nosubscribe`: resources without subscriptions
            handlers.update(on_subscribe_resource=subscribe, on_unsubscribe_resource=unsubscribe)
    if "prompts" in features:
        handlers.update(on_list_prompts=list_prompts, on_get_prompt=get_prompt)
    if features & {"resources", "prompts"}:
        handlers.update(on_completion=complete)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = Server("everything-fixture", version="1.0.0", on_set_logging_level=set_level, **handlers)
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--features", default="tools,resources,prompts")
    options = parser.parse_args()
    server = build(set(options.features.split(",")))
    if not options.http:
        async def run() -> None:
            # Answer `server/discover` with "method not found" before the SDK sees it: a
            # handshake-era server, so "auto" clients fall back to initialize.
            sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script
            from tests.support.stdio_refusing import serve_stdio_refusing

            await serve_stdio_refusing(server, "server/discover")

        anyio.run(run)
        return
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", options.port))
    sock.listen(64)
    app = server.streamable_http_app(host="localhost")
    config = uvicorn.Config(app, log_level="critical", lifespan="on")
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
