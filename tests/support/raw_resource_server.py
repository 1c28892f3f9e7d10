"""A proxied MCP server with no path security of its own, for the hostile tests: hand-written JSON-RPC over
stdio, no SDK, so it reads every URI it is sent and matches nothing. It lists the resource templates in the JSON
file named by its second argument and appends each URI it is asked to read or subscribe to (a line `method uri`)
to the file named by its first, so a test sees exactly what reached it. Run as a script (`command:`)."""

import json
import sys

SEEN = open(sys.argv[1], "a")
with open(sys.argv[2]) as listed:  # the resource templates it lists, as JSON
    TEMPLATES = json.load(listed)


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    message = json.loads(line)
    method, ident = message.get("method"), message.get("id")
    if ident is None:
        continue
    if method == "initialize":
        result = {"protocolVersion": message["params"]["protocolVersion"], "serverInfo": {"name": "raw", "version": "1"},
                  "capabilities": {"resources": {"subscribe": True}}}
    elif method == "resources/list":
        result = {"resources": []}
    elif method == "resources/templates/list":
        result = {"resourceTemplates": TEMPLATES}
    elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        uri = message["params"]["uri"]
        SEEN.write(method + " " + uri + "\n")
        SEEN.flush()
        result = {"contents": [{"uri": uri, "text": "GOT " + uri}]} if method == "resources/read" else {}
    elif method == "ping":
        result = {}
    else:
        send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "Method not found"}})
        continue
    send({"jsonrpc": "2.0", "id": ident, "result": result})
