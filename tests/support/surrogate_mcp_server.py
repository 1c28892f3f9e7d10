"""A stdio MCP server written by hand (JSON-RPC lines, no SDK) whose `files` tool answers text holding an unpaired
`\\udce9` escape — valid JSON (RFC 8259 §7) that no Unicode text can carry — and whose `fine` tool answers plain text."""

import json
import sys

FILES = '{"jsonrpc": "2.0", "id": %s, "result": {"content": [{"type": "text", "text": "caf\\udce9.txt"}]}}'

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue  # a notification
    method, ident = message.get("method"), json.dumps(message["id"])
    if method == "initialize":
        result = {"protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "surrogates", "version": "1"}}
    elif method == "tools/list":
        schema = {"type": "object", "properties": {}}
        result = {"tools": [{"name": "files", "inputSchema": schema}, {"name": "fine", "inputSchema": schema}]}
    elif method == "tools/call" and message["params"]["name"] == "files":
        sys.stdout.write(FILES % ident + "\n")
        sys.stdout.flush()
        continue
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "Größe 東京"}]}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n")
    sys.stdout.flush()
