"""A stdio MCP server written as raw JSON-RPC lines, with no trace context (it sends no `_meta.traceparent`,
as a hand-written server or an SDK without SEP-414 does), for tests/proxy/test_proxy_offer_questions.py:

- `resources/subscribe` of any URI: asks its client "subscriber, who are you?" (`elicitation/create`) and
  answers the subscribe once that question is answered; what the question got (the answer's content, or
  `refused: <message>`) is kept;
- `slow` (a tool): answers `slept` after `seconds`, other requests served meanwhile;
- `subscribe_answers` (a tool): what the subscribe questions got, as a JSON list.
"""

from __future__ import annotations

import json
import sys
import threading

LOCK = threading.Lock()
ANSWERS: list[str] = []
WAITING: dict[str, object] = {}  # our question's id -> the subscribe request's id
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


def send(message: dict) -> None:
    with LOCK:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def answer(ident: object, result: dict) -> None:
    send({"jsonrpc": "2.0", "id": ident, "result": result})


def text(value: str) -> dict:
    return {"content": [{"type": "text", "text": value}]}


TOOLS = [{"name": "slow", "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
         {"name": "subscribe_answers", "inputSchema": {"type": "object"}}]


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        method, ident = message.get("method"), message.get("id")
        if method is None and ident in WAITING:  # the client's answer to our question
            outcome = message.get("result", {}).get("content") if "result" in message else \
                "refused: " + str(message.get("error", {}).get("message"))
            ANSWERS.append(outcome if isinstance(outcome, str) else json.dumps(outcome))
            answer(WAITING.pop(ident), {})
            continue
        if ident is None:
            continue
        params = message.get("params") or {}
        if method == "initialize":
            answer(ident, {"protocolVersion": params["protocolVersion"],
                           "serverInfo": {"name": "untraced", "version": "1"},
                           "capabilities": {"tools": {}, "resources": {"subscribe": True}}})
        elif method == "tools/list":
            answer(ident, {"tools": TOOLS})
        elif method == "tools/call" and params.get("name") == "slow":
            seconds = float((params.get("arguments") or {}).get("seconds", 0))
            threading.Timer(seconds, answer, (ident, text("slept"))).start()
        elif method == "tools/call":
            answer(ident, text(json.dumps(ANSWERS)))
        elif method == "resources/list":
            answer(ident, {"resources": [{"uri": "ask://resource", "name": "asking"}]})
        elif method == "resources/templates/list":
            answer(ident, {"resourceTemplates": []})
        elif method == "resources/subscribe":
            question = f"q{ident}"
            WAITING[question] = ident
            send({"jsonrpc": "2.0", "id": question, "method": "elicitation/create",
                  "params": {"message": "subscriber, who are you?", "requestedSchema": SCHEMA}})
        elif method in ("resources/unsubscribe", "ping"):
            answer(ident, {})
        else:
            send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
