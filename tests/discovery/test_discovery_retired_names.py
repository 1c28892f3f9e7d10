"""Discovery mode's messages about names, end to end: `mcprt up` as a real subprocess on streamable HTTP, the official
SDK client, an OpenAPI source and a real upstream on 127.0.0.1.

The new-user trial (faults 4, 7, 9) found: after a hot reload renamed `issues_list_for_repo` (here
`issues_list-for-repo`) and disabled `issues_create`, a call through `call_tool` got "no operation named …. Did you
mean 'issues_list_for_org'…" — other operations, and not the README's "this server served 'X' until its manifest
changed" — and the direct call said "list tools again", though the list holds only the meta-tools; neither said the
new name. Also `describe_tools` of a meta-tool said "not through call_tool"; "who am I" was refused as having no
words; a search counted operations a policy hides from the caller; and a "did you mean" put another source's copy
of an operation first."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client

from tests.discovery.test_discovery_roundtrip import SPEC
from tests.support.served import http_client, mcprt_http, text_of
from tests.support.upstream import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

USERS = {
    "/user": {"get": {"operationId": "users/get-authenticated", "summary": "Get the authenticated user",
                      "tags": ["users"], "responses": {"200": {"description": "the user"}}}},
    "/user/followers": {"get": {"operationId": "users/list-followers-for-authenticated-user",
                                "summary": "List followers of the authenticated user", "tags": ["users"],
                                "responses": {"200": {"description": "users"}}}},
    "/repos/{owner}/{repo}": {"delete": {
        "operationId": "repos/delete", "summary": "Delete a repository", "tags": ["repos"],
        "parameters": [{"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"204": {"description": "deleted"}}}},
}


def _app() -> Starlette:
    async def anything(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "method": request.method})

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


def _manifest(base: str, tools: str = "", extra: str = "") -> str:
    return ("version: 1\nserver:\n  name: tracker\n  expose: discovery\n" + extra
            + f"sources:\n  gh:\n    openapi: spec.json\n    base_url: {base}\n"
            + (f"    tools:\n{tools}" if tools else ""))


async def _reloaded(client: Client, name: str) -> None:
    """Wait until a search finds `name` (the reload is applied)."""
    for _ in range(400):
        found = text_of(await client.call_tool("search_tools", {"query": "list issues repository", "limit": 8}))
        if name in found:
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"{name} never served")


async def test_a_name_a_reload_renamed_or_removed_is_said_so_through_call_tool_and_directly(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps({**SPEC, "paths": {**SPEC["paths"], **USERS}}))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(_manifest(base))
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                assert "issues_list-for-repo" in text_of(await client.call_tool("search_tools",
                                                                                {"query": "list issues"}))
                (tmp_path / "mcp.yaml").write_text(_manifest(
                    base, tools="      issues/list-for-repo: {name: list_repo_issues}\n"
                                "      issues/create: {enabled: false}\n"))
                await _reloaded(client, "list_repo_issues")
                arguments = {"owner": "o", "repo": "r"}
                renamed = await client.call_tool("call_tool", {"name": "issues_list-for-repo", "arguments": arguments})
                assert renamed.is_error
                assert text_of(renamed) == ("no operation named 'issues_list-for-repo' (this server served "
                                            "'issues_list-for-repo' until its manifest changed; the same operation "
                                            "is now 'list_repo_issues').")
                removed = await client.call_tool("call_tool", {"name": "issues_create", "arguments": arguments})
                assert removed.is_error
                assert text_of(removed) == ("no operation named 'issues_create' (this server served 'issues_create' "
                                            "until its manifest changed: search with search_tools to find what it "
                                            "serves now).")
                direct = await client.call_tool("issues_list-for-repo", arguments)
                assert direct.is_error and "the same operation is now 'list_repo_issues'" in text_of(direct)
                gone = await client.call_tool("issues_create", {"owner": "o", "repo": "r", "title": "t"})
                assert gone.is_error and "list tools again" not in text_of(gone), text_of(gone)
                assert "search with search_tools to find what it serves now" in text_of(gone)
                assert "did you mean" not in text_of(gone).lower()  # a real name, not a typo
                # the new name works
                done = await client.call_tool("call_tool", {"name": "list_repo_issues", "arguments": arguments})
                assert not done.is_error, text_of(done)


async def test_who_am_i_searches_and_meta_tools_are_named_right(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps({**SPEC, "paths": {**SPEC["paths"], **USERS}}))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(_manifest(base))
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                for question in ("who am I", "who am I logged in as"):
                    found = await client.call_tool("search_tools", {"query": question, "limit": 3})
                    assert not found.is_error, text_of(found)
                    assert text_of(found).splitlines()[1].startswith("users_get-authenticated:"), text_of(found)
                meta = await client.call_tool("describe_tools", {"names": ["search_tools"]})
                assert meta.is_error
                assert text_of(meta) == ("'search_tools' is a discovery tool itself: call it directly, not through "
                                         "describe_tools")
                many = await client.call_tool("describe_tools", {"names": [f"n{i}" for i in range(11)]})
                assert many.is_error and "(11 items; at most 10 items)" in text_of(many), text_of(many)


async def test_a_search_counts_only_what_the_caller_may_see(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps({**SPEC, "paths": {**SPEC["paths"], **USERS}}))
    policy = "policy:\n  rules:\n    - {match: {tools: [\"repos_delete*\"]}, action: hide}\n"
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(_manifest(base) + policy)
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                found = text_of(await client.call_tool("search_tools", {"query": "list issues", "limit": 2}))
                total = 4 + len(USERS)  # 4 tracker operations, 3 user/repo ones, one of them hidden
                assert found.startswith(f"Best 2 of {total - 1} operations for"), found
                [search] = [t for t in (await client.list_tools()).tools if t.name == "search_tools"]
                assert search.description.startswith(f"This server has {total - 1} gh operations"), search.description


async def test_did_you_mean_puts_the_named_sources_operation_first(tmp_path: Path) -> None:
    """Two sources from one description (`gh`, and `ghe` with `prefix: ghe_`): "gh.issues_list-for-repo"
    suggested `ghe_issues_list-for-repo` (the other source's copy, closer by letters) first."""
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            _manifest(base) + f"  ghe:\n    openapi: spec.json\n    base_url: {base}\n    prefix: ghe_\n")
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                wrong = await client.call_tool("call_tool", {"name": "gh.issues_list-for-repo", "arguments": {}})
                assert wrong.is_error
                assert "Did you mean 'issues_list-for-repo', 'ghe_issues_list-for-repo'" in text_of(wrong), \
                    text_of(wrong)


async def test_who_am_i_without_a_current_user_operation_matches_nothing(tmp_path: Path) -> None:
    """Review of discofix, problem 6: on an API with no current-user operation "who am I" answered with
    unrelated writes (Petstore: `createPets`; here `issues/create`, `pulls/merge`). It now matches only a
    safe operation about the authenticated user, else nothing."""
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(_manifest(base))
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                for question in ("who am I", "who am I logged in as"):
                    found = await client.call_tool("search_tools", {"query": question})
                    assert not found.is_error and text_of(found).startswith(
                        f"No operation matches \"{question}\"."), text_of(found)


async def test_the_example_query_and_the_count_are_of_what_the_caller_may_see(tmp_path: Path) -> None:
    """Review of discofix, problems 7 and 8: the search tool's example quoted the summary of an operation the
    policy hides from the caller ("list repository issues"), and with `source` the results line counted every
    source's operations."""
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    policy = "policy:\n  rules:\n    - {match: {tools: [\"issues_list-for-repo\"]}, action: hide}\n"
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            _manifest(base) + f"  ghe:\n    openapi: spec.json\n    base_url: {base}\n    prefix: ghe_\n" + policy)
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                [search] = [t for t in (await client.list_tools()).tools if t.name == "search_tools"]
                assert "list repository issues" not in search.description.lower(), search.description
                empty = await client.call_tool("search_tools", {"query": "the"})
                assert empty.is_error and "list repository issues" not in text_of(empty).lower(), text_of(empty)
                found = text_of(await client.call_tool("search_tools",
                                                       {"query": "merge a pull request", "source": "ghe", "limit": 1}))
                # ghe's 4 tracker operations (the hidden one is gh's), not the 7 of both sources
                assert found.startswith("Best 1 of 4 operations of ghe for"), found


async def test_a_direct_call_and_call_tool_suggest_the_named_sources_operation_first(tmp_path: Path) -> None:
    """Review of discofix, problem 9: the direct call's did-you-mean (ToolSet) put the other source's copy first
    while `call_tool`'s put the named source's first: two near-copies. One function (`toolset.near_names`)."""
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with serve_app(_app()) as base:
        (tmp_path / "mcp.yaml").write_text(
            _manifest(base) + f"  ghe:\n    openapi: spec.json\n    base_url: {base}\n    prefix: ghe_\n")
        with mcprt_http(tmp_path / "mcp.yaml") as up:
            async with http_client(up.url) as client:
                direct = await client.call_tool("gh.issues_list-for-repo", {})
                assert direct.is_error
                assert "did you mean 'issues_list-for-repo' or 'ghe_issues_list-for-repo'" in text_of(direct), \
                    text_of(direct)
