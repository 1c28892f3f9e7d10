"""`mcprt record` and the server's log line give one figure for one call's upstream bytes.

A new-user trial saw `mcprt record` print "207 from upstream" where the log's `raw_bytes` for the same
call read 225: record printed the replay's figure (the case's body re-sent as compact JSON) while the
log counts the upstream body as received — the documented rule (README, Metrics: `raw` is the upstream
body bytes). An upstream answering indented, escaped JSON shows the difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.gitops.pets_api import PETS, Workspace, make_workspace
from tests.support.served import child_env, http_client, mcprt_http, text_of
from tests.support.upstream import serve_app


def _indented_pets() -> Starlette:
    async def show_pet(request: Request) -> Response:
        pet = PETS[int(request.path_params["pet_id"]) - 1]
        body = json.dumps({**pet, "note": "café"}, indent=2)  # layout and \u00e9: bytes compact JSON drops
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/v1/pets/{pet_id:int}", show_pet, methods=["GET"])])


@pytest.fixture
def indented(tmp_path: Path) -> Iterator[Workspace]:
    with serve_app(_indented_pets()) as base:
        yield make_workspace(tmp_path / "project", base, tmp_path / "cache")


def _body_size() -> int:
    return len(json.dumps({**PETS[0], "note": "café"}, indent=2).encode())


def test_record_prints_the_upstream_bytes_the_log_line_counts(indented: Workspace) -> None:
    raw = _body_size()
    env = {"MCPRT_LOG_LEVEL": "debug", "MCPRT_LOG_FORMAT": "json"}
    indented.env.update(env)
    recorded = indented.mcprt("record", "mcp.yaml", "get_pet", "--args", '{"petId": 1}', "--name", "first")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    call, *_replay = [json.loads(line) for line in recorded.stderr.splitlines()
                      if line.startswith("{") and json.loads(line).get("msg") == "call"]  # live first
    assert call["raw_bytes"] == raw, call  # the log counts the body as upstream sent it
    said = re.search(r"^bytes: ([\d,]+) from upstream -> ([\d,]+) to the model", recorded.stdout, re.M)
    assert said, recorded.stdout
    assert int(said.group(1).replace(",", "")) == raw and int(said.group(2).replace(",", "")) == call["sent_bytes"]
    # the replay re-sends the case's JSON compact: said as such, never as the call's figure
    replayed = re.search(r"^replayed: ([\d,]+) from upstream .*compact JSON", recorded.stdout, re.M)
    assert replayed and int(replayed.group(1).replace(",", "")) < raw, recorded.stdout

    # the same call through `mcprt up` and an MCP client logs the same raw figure
    with mcprt_http(indented.manifest, "--no-reload", env=child_env(**{**indented.env, **env})) as up:
        async def call_once() -> str:
            async with http_client(up.url) as client:
                return text_of(await client.call_tool("get_pet", {"petId": 1}))

        assert '"id":1' in anyio.run(call_once).replace(" ", "")
        log = up.wait_log('"msg": "call"')
    (served,) = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"msg": "call"' in line]
    assert served["raw_bytes"] == raw and served["sent_bytes"] == call["sent_bytes"], served
