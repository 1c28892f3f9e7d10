"""A call refused only for a missing OAuth scope, where no HTTP status can be sent (the in-process call
path stdio, tasks and discovery's `call_tool` share): the policy's tool error names the scope to ask for
(over HTTP the same refusal is MCP's 403 scope challenge: tests/identity/test_identity_oauth.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcprt.identity.principal import Principal
from mcprt.pipeline import Runtime
from mcprt.settings import Settings
from mcprt.toolset.invoke import call_tool

HERE = Path(__file__).parent
MANIFEST = """\
version: 1
server:
  auth:
    oauth: {issuer: "http://127.0.0.1:9", scopes: [ops:read]}
sources:
  ops:
    python: policy_tools
policy:
  default: allow
  rules:
    - {match: {tools: [add], scopes: [ops:guest]}, action: deny, reason: guests may not add}
    - {match: {tools: [refund], scopes: [ops:intern]}, action: hide}
    - {match: {tools: [delete_item], scopes: [ops:admin, ops:root]}, action: allow, name: admins}
    - {match: {tools: [delete_item]}, action: deny, reason: admins only}
    - {match: {tools: [write_note]}, action: deny, reason: notes are closed}
"""


def oauth(*scopes: str) -> Principal:
    return Principal("u-1", "oauth", client_id="agent", scopes=frozenset(scopes))


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    (tmp_path / "policy_tools.py").write_text((HERE / "policy_tools.py").read_text())
    (tmp_path / "mcp.yaml").write_text(MANIFEST)
    runtime = Runtime(tmp_path / "mcp.yaml", Settings(cache_dir=tmp_path / "cache", reload=False))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()


async def text_of_call(runtime: Runtime, name: str, arguments: dict, principal: Principal) -> tuple[bool, str]:
    assert runtime.holder is not None
    tool = runtime.holder.current.get_for(name, principal)
    assert tool is not None
    result = await call_tool(tool, arguments, principal=principal)
    return result.is_error, result.content[0]["text"]


async def test_the_tool_error_names_the_scopes_that_would_admit_the_call(runtime: Runtime) -> None:
    error, text = await text_of_call(runtime, "delete_item", {"item": "x"}, oauth("ops:read"))
    assert error and text == (
        "delete_item was refused by policy: admins only; it needs one of the OAuth scopes ops:admin, ops:root, "
        'which this access token lacks: sign in again asking the authorization server for scope "ops:read ops:admin"')
    assert await text_of_call(runtime, "delete_item", {"item": "x"}, oauth("ops:read", "ops:root")) == (
        False, "deleted x")


async def test_a_refusal_no_scope_would_lift_says_nothing_of_scopes(runtime: Runtime) -> None:
    assert await text_of_call(runtime, "write_note", {"text": "t"}, oauth("ops:read")) == (
        True, "write_note was refused by policy: notes are closed")
    # a static token gets no scopes: its refusal is the plain one
    assert await text_of_call(runtime, "delete_item", {"item": "x"}, Principal("ci", "token")) == (
        True, "delete_item was refused by policy: admins only")


def test_the_metadata_scopes_are_the_required_then_the_policys(runtime: Runtime) -> None:
    # only scopes an `allow` rule names: a client is never challenged for `ops:guest` (a deny rule's) or
    # `ops:intern` (a hide rule's), and with no required scopes the SDK would ask for all of
    # scopes_supported at its first sign-in (review of authfix2, problem 1)
    assert runtime.holder is not None
    current = runtime.holder.current
    assert current.gate.scopes == ["ops:admin", "ops:root"]
    # per tool: what a call may be stepped up to; empty, the HTTP check reads no body (problem 3)
    assert [current.gate.step_up_scopes(current.get(name)) for name in ("delete_item", "add", "refund", "write_note")] \
        == [("ops:admin", "ops:root"), (), (), ()]


async def test_a_refusal_for_holding_a_scope_offers_no_step_up(runtime: Runtime) -> None:
    assert await text_of_call(runtime, "add", {"a": 1, "b": 2}, oauth("ops:read", "ops:guest")) == (
        True, "add was refused by policy: guests may not add")
    assert await text_of_call(runtime, "add", {"a": 1, "b": 2}, oauth("ops:read")) == (False, "3")
