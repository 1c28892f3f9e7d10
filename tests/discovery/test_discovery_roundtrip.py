"""search → describe → call through discovery, end to end: `mcprt up` as a real subprocess on stdio,
the official SDK client, an OpenAPI source, and a real HTTP upstream on 127.0.0.1 that records what
it received. A fixed argument, a prune and the source's credentials apply to the call made through
`call_tool` exactly as to a direct call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.served import launch_command
from tests.support.upstream import serve_app

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Tiny tracker", "version": "1"},
    "paths": {
        "/repos/{owner}/{repo}/issues": {
            "parameters": [
                {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "get": {
                "operationId": "issues/list-for-repo",
                "summary": "List repository issues",
                "tags": ["issues"],
                "parameters": [{"name": "state", "in": "query", "schema": {"type": "string",
                                                                            "enum": ["open", "closed", "all"]}}],
                "responses": {"200": {"description": "issues", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"type": "object"}}}}}},
            },
            "post": {
                "operationId": "issues/create",
                "summary": "Create an issue",
                "tags": ["issues"],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}}}},
                "responses": {"201": {"description": "created"}},
            },
        },
        "/repos/{owner}/{repo}/pulls/{pull_number}/merge": {
            "put": {
                "operationId": "pulls/merge",
                "summary": "Merge a pull request",
                "tags": ["pulls"],
                "parameters": [
                    {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "pull_number", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "merged"}},
            },
        },
        "/gists": {
            "post": {"operationId": "gists/create", "summary": "Create a gist", "tags": ["gists"],
                     "responses": {"201": {"description": "created"}}},
        },
    },
}

TOKEN = "tracker-secret-0123456789"

ISSUES = [
    {"number": 7, "title": "Crash on start", "state": "open", "url": "http://x/7", "user": {"login": "ana"},
     "body": "It crashes. " * 50},
    {"number": 9, "title": "Typo in docs", "state": "open", "url": "http://x/9", "user": {"login": "bo"},
     "body": "A typo. " * 50},
]


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def issues(request: Request) -> JSONResponse:
        seen.append(f"{request.method} {request.url.path}?{request.url.query}")
        seen.append(request.headers.get("authorization", "-"))
        return JSONResponse(ISSUES)

    app = Starlette(routes=[Route("/repos/{owner}/{repo}/issues", issues, methods=["GET"])])
    with serve_app(app) as base:
        yield base, seen


def write_manifest(folder: Path, base_url: str) -> Path:
    (folder / "tracker.json").write_text(json.dumps(SPEC))
    path = folder / "mcp.yaml"
    path.write_text(
        "version: 1\n"
        "server:\n"
        "  name: tracker\n"
        "  expose: discovery\n"
        "sources:\n"
        "  tracker:\n"
        "    openapi: tracker.json\n"
        f"    base_url: {base_url}\n"
        "    auth: {bearer: '${TRACKER_TOKEN}'}\n"
        "    tools:\n"
        "      issues/list-for-repo:\n"
        "        args: {owner: {fixed: octo}}\n"
        "        prune: '[].{number: number, title: title}'\n"
        "      gists/create: {pinned: true}\n"
    )
    return path


def stdio(manifest: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
    env["MCPRT_CACHE_DIR"] = str(manifest.parent / ".cache")
    env["TRACKER_TOKEN"] = TOKEN
    command = launch_command(manifest)  # forked from the suite's warm zygote: no ~1.5 s of imports
    return StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(manifest.parent))


def text_of(result: object) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")  # type: ignore[attr-defined]


async def test_search_describe_call_round_trip(tmp_path: Path, upstream: tuple[str, list[str]]) -> None:
    base_url, seen = upstream
    async with Client(stdio(write_manifest(tmp_path, base_url)), mode="legacy") as client:
        listed = await client.list_tools()
        assert [tool.name for tool in listed.tools] == ["search_tools", "describe_tools", "call_tool",
                                                        "gists_create"]
        assert client.instructions == (  # told once at initialize: models skip a step they don't know
            "Most operations of this server are not listed as tools: find them with search_tools, "
            "read their arguments with describe_tools, then run them with call_tool."
        )
        search = next(tool for tool in listed.tools if tool.name == "search_tools")
        assert (search.description or "").startswith(
            "This server has 4 tracker operations (areas: issues, pulls, gists) (3 of them not listed as tools). "
            "To do anything with tracker: 1) call search_tools with a few words")

        found = await client.call_tool("search_tools", {"query": "list open issues in a repository", "limit": 3})
        assert not found.is_error
        lines = text_of(found).splitlines()
        assert lines[1] == "issues_list-for-repo: List repository issues"

        described = await client.call_tool("describe_tools", {"names": ["issues_list-for-repo"]})
        definition = json.loads(text_of(described))["tools"][0]
        schema = definition["inputSchema"]
        assert "owner" not in schema["properties"]  # fixed, so hidden through discovery too
        assert schema["required"] == ["repo"]
        assert set(schema["properties"]) == {"repo", "state"}

        called = await client.call_tool(
            "call_tool", {"name": "issues_list-for-repo", "arguments": {"repo": "hello", "state": "open"}}
        )
        assert not called.is_error, text_of(called)
        assert json.loads(text_of(called)) == [{"number": 7, "title": "Crash on start"},
                                               {"number": 9, "title": "Typo in docs"}]  # pruned
        assert seen == ["GET /repos/octo/hello/issues?state=open",  # the fixed owner was sent
                        f"Bearer {TOKEN}"]  # with the source's credentials

        wrong = await client.call_tool("call_tool", {"name": "issues_list-for-repo",
                                                     "arguments": {"repo": "hello", "state": "shut"}})
        assert wrong.is_error
        assert "state" in text_of(wrong) and "'shut' is not one of" in text_of(wrong)
        assert len(seen) == 2  # rejected before reaching upstream

        direct = await client.call_tool("gists_create", {})  # pinned: listed and callable directly
        assert direct.is_error  # the upstream has no /gists route: a 404 the model can read
        assert "404" in text_of(direct)
        for result in (found, described, called, wrong, direct):
            assert TOKEN not in text_of(result)
