"""An MCP server that says malformed things on purpose: raw JSON-RPC, no SDK (the SDK's server would
refuse to send most of them).

    misbehaving_server.py SCENARIO.json              # stdio, one JSON-RPC message per line
    misbehaving_server.py SCENARIO.json --http PORT  # streamable HTTP (JSON answers) on 127.0.0.1

SCENARIO.json is read again for every list request, so a test can rewrite it and then have the
server announce the change (the `announce` tool). Its keys:

    tools / resources / templates / prompts: the items of one page (a list), or
        {"pages": {"": {"items": [...], "next": "c1"}, "c1": {...}}}  pages by cursor, or
        {"endless": N}  every page N items and a new cursor, forever
    redirect (HTTP only): {"from": "/old", "to": "http://…"}  answer POSTs to `from` with a 307
    get_status (HTTP only): the status the optional GET stream is answered (default 405)

Tools every scenario has, whatever its `tools` list says, answer `tools/call`:
    echo {text}            → the text (the normal tool the other items must not break)
    announce               → sends tools/resources/prompts list_changed notifications, then answers
    content_not_list       → result {"content": "oops"}
    unknown_block          → one text block and one {"type": "hologram"} block
    only_unknown_block     → only a {"type": "hologram"} block
    not_an_object          → result 42
    bad_structured         → structuredContent {"count": "many"} (its outputSchema wants an integer)
    stray_response         → first a response with an id nobody asked, then the answer
    bad_notification       → first notifications/progress and notifications/message with bad params
    garbage_line           → first a line that is not JSON on stdout, then the answer
    http500 (HTTP only)    → HTTP 500 with a plain-text body, no JSON-RPC message
Every call is answered with "ok: <tool>" in a text block unless said otherwise. `resources/read` of
test://broken answers contents without a `uri`.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

SCENARIO = Path(sys.argv[1])
LIST_KEYS = {"tools/list": ("tools", "tools"), "resources/list": ("resources", "resources"),
             "resources/templates/list": ("templates", "resourceTemplates"), "prompts/list": ("prompts", "prompts")}


def _scenario() -> dict[str, Any]:
    return json.loads(SCENARIO.read_text())


def _page(key: str, field: str, cursor: str | None) -> dict[str, Any]:
    spec = _scenario().get(key, [])
    if isinstance(spec, list):
        return {field: spec}
    if "endless" in spec:
        n = int(cursor or 0)
        size = spec["endless"]
        numbers = range(n * size, (n + 1) * size)
        items = ([{"uri": f"test://endless/{i}", "name": f"endless_{i}"} for i in numbers] if key == "resources"
                 else [{"name": f"endless_{i}", "inputSchema": {"type": "object"}} for i in numbers])
        return {field: items, "nextCursor": str(n + 1)}
    page = spec["pages"][cursor or ""]
    result: dict[str, Any] = {field: page["items"]}
    if page.get("next") is not None:
        result["nextCursor"] = page["next"]
    return result


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}]}


def handle(message: dict[str, Any], emit: Any) -> dict[str, Any] | None:
    """The response to one message (None for notifications); `emit(raw_line_or_message)` sends extra ones first."""
    method, mid, params = message.get("method"), message.get("id"), message.get("params") or {}
    if mid is None:
        return None
    if method == "initialize":
        result: Any = {"protocolVersion": params.get("protocolVersion", "2025-11-25"),
                       "capabilities": {"tools": {"listChanged": True}, "resources": {"listChanged": True},
                                        "prompts": {"listChanged": True}},
                       "serverInfo": {"name": "misbehaving", "version": "1"}}
    elif method in LIST_KEYS:
        result = _page(*LIST_KEYS[method], params.get("cursor"))
    elif method == "ping":
        result = {}
    elif method == "resources/read" and params["uri"] == "test://broken":
        result = {"contents": [{"text": "a content without its uri"}]}
    elif method == "resources/read":
        result = {"contents": [{"uri": params["uri"], "text": "content of " + params["uri"]}]}
    elif method == "prompts/get":
        result = {"messages": [{"role": "user", "content": {"type": "text", "text": "prompt " + params["name"]}}]}
    elif method == "tools/call":
        result = _call(params.get("name"), params.get("arguments") or {}, emit)
    else:
        return {"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": mid, "result": result}


def _call(name: str, arguments: dict[str, Any], emit: Any) -> Any:
    if name == "echo":
        return _text(str(arguments.get("text", "")))
    if name == "announce":
        for kind in ("tools", "resources", "prompts"):
            emit({"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed"})
    elif name == "content_not_list":
        return {"content": "oops"}
    elif name == "unknown_block":
        return {"content": [{"type": "text", "text": "the usable part"}, {"type": "hologram", "data": 1}]}
    elif name == "only_unknown_block":
        return {"content": [{"type": "hologram", "data": 1}]}
    elif name == "not_an_object":
        return 42
    elif name == "bad_structured":
        return {"content": [{"type": "text", "text": "{}"}], "structuredContent": {"count": "many"}}
    elif name == "stray_response":
        emit({"jsonrpc": "2.0", "id": 987654, "result": {"content": []}})
    elif name == "bad_notification":
        emit({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": "lots"}})
        emit({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "shouting"}})
    elif name == "garbage_line":
        emit("this is not JSON {")
    return _text(f"ok: {name}")


def _line(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item)


def serve_stdio() -> None:
    lock = threading.Lock()

    def write(item: Any) -> None:
        with lock:
            sys.stdout.write(_line(item) + "\n")
            sys.stdout.flush()

    for raw in sys.stdin:
        if not raw.strip():
            continue
        response = handle(json.loads(raw), write)
        if response is not None:
            write(response)


def serve_http(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def mcp(request: Request) -> Response:
        redirect = _scenario().get("redirect")
        if redirect and request.url.path == redirect["from"]:
            return Response(status_code=307, headers={"location": redirect["to"]})
        if request.method != "POST":
            return Response(status_code=int(_scenario().get("get_status", 405)))
        message = json.loads(await request.body())
        if message.get("method") == "tools/call" and message.get("params", {}).get("name") == "http500":
            return Response("boom", status_code=500, media_type="text/plain")
        extra: list[Any] = []  # over plain JSON answers there is no stream for extra messages: dropped
        response = handle(message, extra.append)
        if response is None:
            return Response(status_code=202)
        return JSONResponse(response, headers={"mcp-session-id": "s1"})

    paths = ["/mcp"] + ([_scenario()["redirect"]["from"]] if _scenario().get("redirect") else [])
    app = Starlette(routes=[Route(path, mcp, methods=["GET", "POST", "DELETE"]) for path in paths])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    print(f"PORT {port}", flush=True)
    server.run()


if __name__ == "__main__":
    if "--http" in sys.argv:
        serve_http(int(sys.argv[sys.argv.index("--http") + 1]))
    else:
        serve_stdio()
