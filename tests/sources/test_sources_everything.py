"""The reference server from npm, `@modelcontextprotocol/server-everything`, as a `command:` source
(skipped, saying why, where node/npm are missing). Its `get-env` tool prints the environment, so
it is never called here and nothing of its output is logged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sources_support import call, json_of, running, text_of, write_manifest


async def test_server_everything_is_listed_called_pruned_and_renamed(tmp_path: Path, everything_server: Path) -> None:
    manifest = write_manifest(tmp_path, json.dumps({
        "version": 1,
        "sources": {
            "everything": {
                "command": [shutil.which("node"), str(everything_server), "stdio"],
                "prefix": "ev_",
                "exclude": {"operations": ["get-env"]},
                "tools": {
                    "echo": {"name": "say", "args": {"message": {"description": "What to say back."}}},
                    "get-structured-content": {"prune": "{temperature: temperature}"},
                },
            }
        },
    }, indent=2))
    async with running(manifest) as (_, compiled):
        listed = {tool["name"]: tool for tool in compiled.toolset.list_tools()}
        assert {"say", "ev_get-sum", "ev_get-structured-content", "ev_get-tiny-image"} <= set(listed)
        assert "ev_get-env" not in listed
        assert listed["say"]["inputSchema"]["properties"]["message"]["description"] == "What to say back."
        assert listed["ev_get-sum"]["inputSchema"]["type"] == "object"

        assert text_of(await call(compiled, "say", {"message": "hello"})) == "Echo: hello"
        assert text_of(await call(compiled, "ev_get-sum", {"a": 2, "b": 40})) == "The sum of 2 and 40 is 42."

        weather = await call(compiled, "ev_get-structured-content", {"location": "New York"})
        assert set(json_of(weather)) == {"temperature"}
        assert set(weather["structuredContent"]) == {"temperature"}

        image = await call(compiled, "ev_get-tiny-image")
        assert any(block["type"] == "image" and block["mimeType"] == "image/png" for block in image["content"])
