"""No configured secret reaches a client on any server→client path of a proxied server, end to end: the
SDK client talks to `mcprt up` over stdio, which proxies real SDK servers given the secret in their `env:`
that write it everywhere they can: `leaky_server.py` (handshake era) and `modern_leaky_server.py`
(2026-07-28 only: its questions come inside an `InputRequiredResult`). Each path below is a case; the test
fails naming every path that leaked. Values a client or upstream needs to match on stay usable: the
scrubbed schema is still a valid schema, and names and URIs are untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.support.served import child_env, launch_command, text_of
from tests.support.zygote import script_command_yaml

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

SERVER = Path(__file__).with_name("leaky_server.py")
MODERN_SERVER = Path(__file__).with_name("modern_leaky_server.py")
TOKEN = "second-token-choice"  # also one of the server's enum values: a secret that is a listed value


def _manifest(folder: Path) -> Path:
    manifest = folder / "mcp.yaml"
    env = '    env: {LEAKY_TOKEN: "${LEAKY_TOKEN}"}\n'
    manifest.write_text(f"version: 1\nsources:\n  leaky:\n    command: {script_command_yaml(SERVER)}\n{env}"
                        f"  modern:\n    command: {script_command_yaml(MODERN_SERVER)}\n{env}", encoding="utf-8")
    return manifest


async def test_no_secret_reaches_the_client_on_any_path_of_a_proxied_server(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    era = {"suffix": ""}  # which server's questions the callbacks are recording

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        seen["notifications/message"] = params.model_dump(mode="json")

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen["notifications/progress"] = message

    async def on_elicit(context: Any, params: Any) -> types.ElicitResult:
        if params.mode == "url":  # the user is sent to a page: no content comes back
            seen["elicitation/create url" + era["suffix"]] = params.model_dump(mode="json")
            return types.ElicitResult(action="accept")
        seen["elicitation/create" + era["suffix"]] = params.model_dump(mode="json")
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        seen["sampling/createMessage" + era["suffix"]] = params.model_dump(mode="json")
        return types.CreateMessageResult(role="assistant", model="m", content=types.TextContent(type="text", text="hi"))

    manifest = _manifest(tmp_path)
    command = launch_command(manifest, "--no-reload")
    params = StdioServerParameters(command=command[0], args=command[1:], env=child_env(LEAKY_TOKEN=TOKEN),
                                   cwd=str(tmp_path))
    async with Client(params, mode="legacy", logging_callback=on_log, sampling_callback=on_sampling,  # type: ignore[arg-type]
                      elicitation_callback=on_elicit) as client:
        with anyio.fail_after(60):
            seen["initialize instructions"] = client.instructions
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            seen["tools/list"] = [tool.model_dump(mode="json") for tool in tools.values()]
            await client.set_logging_level("debug")
            called = await client.call_tool("chatter", {}, progress_callback=on_progress)
            seen["tools/call chatter"] = text_of(called)
            try:
                seen["resources/read error"] = (await client.read_resource("leak://bad")).model_dump(mode="json")
            except MCPError as exc:
                seen["resources/read error"] = {"message": exc.error.message, "data": exc.error.data}
            templates = (await client.list_resource_templates()).resource_templates
            seen["resources/templates/list"] = [t.model_dump(mode="json") for t in templates]
            prompt = await client.get_prompt("greet")
            seen["prompts/get"] = prompt.model_dump(mode="json")
            completed = await client.complete(types.ResourceTemplateReference(uri=templates[0].uri_template),
                                              {"name": "item", "value": "x"})
            seen["completion/complete"] = completed.model_dump(mode="json")
            era["suffix"] = " (2026-07-28 InputRequiredResult)"
            asked = await client.call_tool("ask", {})
            seen["tools/call ask"] = text_of(asked)

    leaked = {path: value for path, value in seen.items() if TOKEN in json.dumps(value)}
    assert leaked == {}, f"the secret reached the client on {sorted(leaked)}: {json.dumps(leaked)[:3000]}"
    modern = " (2026-07-28 InputRequiredResult)"
    missing = {"notifications/message", "notifications/progress", "elicitation/create", "elicitation/create url",
               "sampling/createMessage", "elicitation/create" + modern, "sampling/createMessage" + modern} - set(seen)
    assert not missing, f"never reached the client (the test proves nothing for them): {missing}"
    assert "[redacted]" in seen["notifications/message"]["data"]["note"]
    assert seen["notifications/message"]["logger"] == "leaky [redacted]"
    assert seen["elicitation/create url"]["url"] == "https://leaky.example/connect?token=[redacted]"
    assert called.is_error is False and text_of(called) == "accept; accept; hi"
    # The request state is the server's own, returned to it untouched; tool use keeps its argument names.
    assert asked.is_error is False and text_of(asked) == "answered; state kept"
    history = seen["sampling/createMessage" + modern]["messages"]
    assert history[1]["content"][0]["input"] == {"key": "[redacted]"}
    assert history[2]["content"][0]["structured_content"] == {"found": "[redacted]"}

    # Scrubbed values leave a valid schema, and the names stay as the server wrote them.
    schema = tools["values"].input_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {"mode", "choice", "fixed"}
    assert schema["properties"]["mode"]["default"] == "[redacted]"
    assert templates[0].uri_template.startswith("leak://")
