"""A token written literally in a source's `headers:` under a name that does not say so never reaches the model.

The fault (review of prunedepth, item 3): `mcprt validate` warned about `X-Custom: "Bearer sk-live-…"` (its value
reads as a token: `scrubbing.is_literal_credential`) and `mcprt diff` hid it, but only headers named as
credentials were registered with the runtime scrubber, so an upstream echoing its request headers handed
the token to the model. End to end: a real upstream on 127.0.0.1 echoing every header it received, `mcprt up`
over stdio, the SDK client calling the tool.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import stdio_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import child_env, stdio_up, text_of
from tests.support.upstream import serve_app

TOKEN = "pk9Live4Partner7Token2025xyz"
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Echo", "version": "1"},
    "paths": {"/echo": {"get": {
        "operationId": "echo",
        "responses": {"200": {"description": "the request's headers",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}
# Under names that say nothing: by value only. A scheme word before the token, the token alone, and two
# values that are no token (a version, a region), which must come back as sent.
HEADERS = {"X-Custom": f"Bearer {TOKEN}", "X-Partner": f"{TOKEN}-2", "X-Api-Version": "2024-01-01",
           "X-Region": "eu-west-1",
           # Review of prunedepth, problem 1: registering by looks took a media type with a digit and a path
           # from ${VAR}, and redacted them from every result: neither is a token.
           "X-Media": "application/vnd.github.v3+json", "X-Data-Dir": "${DATA_DIR}",
           # Review of mendpd, problem 1: judging only literal values dropped every token from ${VAR}: an
           # upstream echoing X-Partner-Env handed ${PARTNER_TOKEN} to the model. A variable whose name says
           # credential (its value need not read as a token), and a token-like value with a scheme word or
           # inside a longer value, from ${VAR} as written literally.
           "X-Partner-Env": "${PARTNER_TOKEN}", "X-Custom-Env": "Bearer ${PARTNER}", "X-Mixed": "id=${PARTNER}",
           # a build id that reads as a token cannot be told from one: redacted, as a literal one would be
           "X-Build": "${BUILD_ID}",
           # Review of mendrev3, problems 1 and 2: a host name, a version, a UUID, a relative path and a short value
           # under a variable named like a credential (SESSION_TIMEOUT) were redacted from every result; a token in
           # a long option was not
           "X-Upstream-Host": "${UP_HOST}", "X-Release": "${RELEASE}", "X-Tenant": "${TENANT}",
           "X-Data": "${DATA_SUBDIR}", "X-Timeout": "${SESSION_TIMEOUT}", "X-Extra-Args": "${EXTRA_ARGS}"}
SETTINGS = {"UP_HOST": "api-v2.eu-west-1.example.com", "RELEASE": "v2024.10.01-beta1",
            "TENANT": "123e4567-e89b-12d3-a456-426614174000", "DATA_SUBDIR": "data2024/reports/q1",
            "SESSION_TIMEOUT": "3600"}
ECHOED_AS = {"UP_HOST": "x-upstream-host", "RELEASE": "x-release", "TENANT": "x-tenant", "DATA_SUBDIR": "x-data",
             "SESSION_TIMEOUT": "x-timeout"}
BUILD_ID = "build2024release7candidate"
PARTNER_TOKEN = "partner-secret-letters-only"  # no digit: a token by its variable's name only
PARTNER = "sk9live4Partner7Secret2025abc"
DATA_DIR = "/srv/data2024/reports"  # reads as a token but for the slashes: a path, which comes back as sent
ENV = {"BUILD_ID": BUILD_ID, "PARTNER_TOKEN": PARTNER_TOKEN, "PARTNER": PARTNER, "DATA_DIR": DATA_DIR, **SETTINGS,
       "EXTRA_ARGS": f"--api-key={PARTNER}"}


SENT: list[dict[str, str]] = []  # what the upstream received, before anything scrubbed it


async def echo(request: Request) -> JSONResponse:
    SENT.append(dict(request.headers))
    return JSONResponse({"received": dict(request.headers)})


def test_an_echoed_literal_token_header_is_scrubbed_and_plain_headers_are_not(tmp_path: Path) -> None:
    with serve_app(Starlette(routes=[Route("/echo", echo)])) as base:
        (tmp_path / "echo.json").write_text(json.dumps(SPEC))
        headers = ", ".join(f'{name}: "{value}"' for name, value in HEADERS.items())
        manifest = tmp_path / "mcp.yaml"
        manifest.write_text(f"version: 1\nsources:\n  echo:\n    openapi: echo.json\n    base_url: {base}\n"
                            f"    headers: {{{headers}}}\n")
        log = tmp_path / "stderr.log"

        async def call() -> str:
            with open(log, "w") as errlog:
                async with Client(stdio_client(stdio_up(manifest, env=child_env(**ENV)), errlog=errlog),  # type: ignore[arg-type]
                                  mode="legacy") as client:
                    with anyio.fail_after(60):
                        result = await client.call_tool("echo", {})
                        assert not result.is_error, text_of(result)
                        return text_of(result)

        text = anyio.run(call)
    assert SENT[-1]["x-custom"] == f"Bearer {TOKEN}" and SENT[-1]["x-partner"] == f"{TOKEN}-2"  # sent as written
    received = json.loads(text)["received"]
    assert received["x-custom"] == "Bearer [redacted]", received
    assert received["x-partner"] == "[redacted]", received
    assert received["x-api-version"] == "2024-01-01" and received["x-region"] == "eu-west-1", received
    assert received["x-media"] == "application/vnd.github.v3+json" and received["x-data-dir"] == DATA_DIR, received
    assert SENT[-1]["x-partner-env"] == PARTNER_TOKEN and SENT[-1]["x-mixed"] == f"id={PARTNER}"  # sent as set
    assert received["x-partner-env"] == "[redacted]", received
    assert received["x-custom-env"] == "Bearer [redacted]", received
    assert received["x-mixed"] == "[redacted]" and received["x-build"] == "[redacted]", received
    for name, value in SETTINGS.items():  # settings come back as sent
        assert received[ECHOED_AS[name]] == value, (name, received)
    assert received["x-extra-args"] == "--api-key=[redacted]", received  # the option's value, not its name
    for secret in (TOKEN, PARTNER, PARTNER_TOKEN, BUILD_ID):
        assert secret not in text
        assert secret not in log.read_text()


def test_env_entries_from_variables_are_registered_by_the_same_rule(tmp_path: Path) -> None:
    """A `command:` source's `env:` is judged as `headers:` are (review of mendpd, problem 1: an
    `UPSTREAM_CRED: ${PARTNER}` handed to a child process was no longer registered), and a path or a
    command-line option from a variable is still no secret (review of prunedepth, problem 1)."""
    from mcprt.manifest.loader import load_manifest
    from mcprt.manifest.secrets import configured_secrets

    manifest = tmp_path / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  cmd:\n    command: [python3, -c, pass]\n    env:\n"
                        "      UPSTREAM_CRED: ${PARTNER}\n      PARTNER_REF: ${PARTNER_TOKEN}\n"
                        "      DATA_DIR: ${DATA_DIR}\n      NODE_OPTIONS: ${NODE_OPTIONS}\n"
                        "      HOME_CACHE: ${HOME_CACHE}\n")
    environment = {**ENV, "NODE_OPTIONS": "--max-old-space-size=4096", "HOME_CACHE": "~/cache/v2024build7"}
    loaded = load_manifest(manifest, env=environment)
    assert sorted(configured_secrets(loaded.manifest, loaded.written)) == sorted([PARTNER, PARTNER_TOKEN])
