"""An override, pin or filter naming an operation the description no longer has stops nothing (big-API trial,
fault 1): GitHub retires operations regularly, and one `tools:` entry for a removed one made `mcprt up`, every
restart and every reload fail for all 1,200 other tools. Such an entry is now a warning at its line
(`validate --strict` fails), said in `mcprt up`'s log, `/status.json` and at a reload, and the rest is served.
A policy rule naming an exact tool that is not served stays an error: policy fails closed.

Real processes throughout: the description and the API are served over HTTP on 127.0.0.1 by the test, the CLI
runs as a subprocess, and the served tools are called with the MCP SDK client over streamable HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import mcprt_cli, mcprt_process
from tests.support.served import child_env, http_client, mcprt_http, text_of


def _operation(operation_id: str, summary: str) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary,
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}


def _description(base: str, *, lock: bool, renamed: bool = False, new_id: str = "items/lockItem",
                 unlock: bool = False) -> dict[str, Any]:
    """`lock`: whether `items/lock` is there at all; `renamed`: under the new operationId `new_id`
    (an upstream renaming it, as GitHub does); `unlock`: with `items/unlock` (PUT /items/{id}/unlock) too."""
    paths: dict[str, Any] = {"/items": {"get": {**_operation("items/list", "List items"), "parameters": [
        {"name": "limit", "in": "query", "schema": {"type": "integer"}}]}}}
    if lock:  # the operation an upstream retires
        paths["/items/{id}/lock"] = {"put": {**_operation(new_id if renamed else "items/lock",
                                                          "Lock an item"), "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}}
    if unlock:
        paths["/items/{id}/unlock"] = {"put": {**_operation("items/unlock", "Unlock an item"), "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}}
    return {"openapi": "3.0.3", "info": {"title": "Items", "version": "1"}, "servers": [{"url": base}],
            "paths": paths}


class _Api:
    """The description at `/api.json` (with or without `items/lock`, as `lock` says) and the API itself."""

    def __init__(self) -> None:
        self.lock = True
        self.renamed = False
        self.seen: list[str] = []  # the method and path of each call the API was sent
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/api.json":
                    body = json.dumps(_description(api.base, lock=api.lock, renamed=api.renamed)).encode()
                elif self.path.split("?")[0] == "/items":
                    api.seen.append(f"GET {self.path}")
                    body = b'{"items": ["a", "b"]}'
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:  # noqa: N802 (http.server's name)
                api.seen.append(f"PUT {self.path}")
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def api() -> Iterator[_Api]:
    served = _Api()
    yield served
    served.server.shutdown()
    served.server.server_close()


MANIFEST = """\
version: 1
server:
  name: items
  pinned: [lock_item]
sources:
  items:
    openapi: {openapi}
    tools:
      "items/list": {{name: list_items}}
      "items/lock": {{name: lock_item, description: Lock one item}}
"""


def test_an_operation_removed_upstream_is_a_warning_and_the_rest_is_served(api: _Api, tmp_path: Path) -> None:
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(openapi=f"{api.base}/api.json"))
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
    assert mcprt_cli("validate", str(manifest), env=env).returncode == 0
    api.lock = False  # the upstream retires `items/lock`
    checked = mcprt_cli("validate", str(manifest), env=env)
    assert checked.returncode == 0, checked.stderr
    assert (f"{manifest}:10:7: warning: source 'items' has no operation 'items/lock' (did you mean 'items/list'?): "
            "this override applies to nothing and is ignored (the source's other tools are served)") \
        in checked.stderr, checked.stderr
    assert f"{manifest}:4:12: warning: pinned tool 'lock_item' does not exist" in checked.stderr, checked.stderr
    assert "1 tool from 1 source" in checked.stderr, checked.stderr
    strict = mcprt_cli("validate", "--strict", str(manifest), env=env)
    assert strict.returncode == 2 and "2 warnings treated as errors (--strict)" in strict.stderr, strict.stderr

    with mcprt_http(manifest, env=env) as up:
        assert "source 'items' has no operation 'items/lock'" in up.log(), up.log()
        health = httpx.get(f"{up.base}/healthz", timeout=10).json()
        assert health["tools"] == 1 and health["manifest"]["warnings"] == 2, health
        warnings = httpx.get(f"{up.base}/status.json", timeout=10).json()["reload"]["warnings"]
        assert any("mcp.yaml:10:7: warning: source 'items' has no operation 'items/lock'" in w for w in warnings), \
            warnings

        async def call() -> str:
            async with http_client(up.url) as client:
                assert [tool.name for tool in (await client.list_tools()).tools] == ["list_items"]
                return text_of(await client.call_tool("list_items", {}))

        import anyio
        assert '"items"' in anyio.run(call)


def test_a_reload_after_the_description_drops_an_operation_is_applied(api: _Api, tmp_path: Path) -> None:
    """The trial's `reload failed; the previous tools keep serving … errors=48` (and nothing served after the
    next restart): a local description losing an overridden operation now reloads, with the warning."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps(_description(api.base, lock=True)))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(openapi="api.json"))
    with mcprt_http(manifest) as up:
        assert httpx.get(f"{up.base}/healthz", timeout=10).json()["tools"] == 2
        assert "has no operation" not in up.log()
        spec.write_text(json.dumps(_description(api.base, lock=False)))
        up.wait_log("reload applied", timeout=60)
        # the attempt's warnings are said on the lines after "reload applied" (written once its count is known)
        applied = up.wait_log("source 'items' has no operation 'items/lock'", timeout=10)
        assert "reload failed" not in applied, applied
        deadline = time.monotonic() + 10
        while (health := httpx.get(f"{up.base}/healthz", timeout=10).json())["tools"] != 1:
            assert time.monotonic() < deadline, health
            time.sleep(0.1)
        assert health["manifest"]["status"] != "error", health


def test_a_policy_rule_naming_an_exact_tool_that_is_gone_still_refuses_the_manifest(api: _Api, tmp_path: Path) -> None:
    """Policy fails closed: a deny naming a tool that is not served may be one renamed upstream, now allowed."""
    api.lock = False
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(MANIFEST.format(openapi=f"{api.base}/api.json")
                        + "policy:\n  rules:\n    - {match: {tools: [lock_item]}, action: deny}\n")
    checked = mcprt_cli("validate", str(manifest), env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache")))
    assert checked.returncode == 2, checked.stderr
    assert "policy.rules.0: 'lock_item' matches no tool" in checked.stderr, checked.stderr


LIMITING = """\
version: 1
server:
  name: items
sources:
  items:
    openapi: {openapi}
{filter}    tools:
      "items/list": {{name: list_items, args: {{limit: {{fixed: 5}}}}}}
      "items/lock": {{enabled: false}}
      "items/gone": {{description: Cosmetic only}}
"""


def test_an_override_that_limits_an_operation_renamed_upstream_stays_an_error(api: _Api, tmp_path: Path) -> None:
    """Review of initfix, problem 1: an upstream renaming `items/lock` (disabled here) made the override a
    warning and served the renamed operation, a PUT the manifest disables; a limit fails closed, with the
    new key as its did-you-mean. A cosmetic override naming nothing stays a warning."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(LIMITING.format(openapi=f"{api.base}/api.json", filter=""))
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
    before = mcprt_cli("validate", str(manifest), env=env)
    assert before.returncode == 0 and "1 tool from 1 source" in before.stderr, before.stderr
    api.renamed = True
    checked = mcprt_cli("validate", str(manifest), env=env)
    assert checked.returncode == 2, checked.stderr
    # the first validate kept the source's routes: the rename is named by its method and path
    assert (f"{manifest}:9:7: source 'items' has no operation 'items/lock' (did you mean 'items/lockItem'? it is now "
            "at this operation's method and path, PUT /items/{id}/lock), and "
            "this override limits it (enabled: false): an operation renamed upstream would be served under its new "
            "key without the limit, so this stays an error; move the override to the operation's key, or remove "
            "it") in checked.stderr, checked.stderr
    assert f"{manifest}:10:7: warning: source 'items' has no operation 'items/gone'" in checked.stderr, checked.stderr
    assert "1 error" in checked.stderr, checked.stderr


def test_under_a_filter_a_left_out_key_is_a_note_and_a_missing_one_is_checked(api: _Api, tmp_path: Path) -> None:
    """Review of initfix, problem 2: under `include`, every unmatched key was one note, so a typo or a rename
    passed `validate --strict`. A key the filter leaves out is a note; a key the description does not have is
    an error when its override limits, else a warning, each with its did-you-mean."""
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(LIMITING.format(openapi=f"{api.base}/api.json", filter="    include: {methods: [GET]}\n"))
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
    left_out = mcprt_cli("validate", str(manifest), env=env)
    assert left_out.returncode == 0, left_out.stderr
    assert (f"{manifest}:7:5: note: source 'items': 1 `tools:` override names an operation outside those its "
            "`include` selects ('items/lock'): they shape nothing, and apply again if the operation is selected") \
        in left_out.stderr, left_out.stderr
    assert f"{manifest}:11:7: warning: source 'items' has no operation 'items/gone'" in left_out.stderr
    assert mcprt_cli("validate", "--strict", str(manifest), env=env).returncode == 2  # the cosmetic warning
    api.renamed = True  # `items/lock` is now no key of the description: not a left-out one
    renamed = mcprt_cli("validate", str(manifest), env=env)
    assert renamed.returncode == 2, renamed.stderr
    assert (f"{manifest}:10:7: source 'items' has no operation 'items/lock' (did you mean 'items/lockItem'?), and "
            "this override limits it (enabled: false)") in renamed.stderr, renamed.stderr
    assert "outside those its" not in renamed.stderr, renamed.stderr


def test_a_reload_after_an_upstream_rename_of_a_limited_operation_keeps_the_previous_tools(
        api: _Api, tmp_path: Path) -> None:
    """The review's live case: the reload applied `+removeTags` and a call sent the disabled DELETE upstream.
    Now the reload fails with the error, the previous tools keep serving, and the renamed operation is not
    callable; the limited `list_items` still sends its fixed `limit`."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps(_description(api.base, lock=True)))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(LIMITING.replace('      "items/gone": {{description: Cosmetic only}}\n', "")
                        .format(openapi="api.json", filter=""))
    with mcprt_http(manifest) as up:
        assert httpx.get(f"{up.base}/healthz", timeout=10).json()["tools"] == 1
        spec.write_text(json.dumps(_description(api.base, lock=True, renamed=True)))
        up.wait_log("reload failed", timeout=60)
        # the attempt's error is written on the lines after 'reload failed': wait for that line itself
        failed = up.wait_log("has no operation 'items/lock'", timeout=10)
        assert ("source 'items' has no operation 'items/lock' (did you mean 'items/lockItem'? it is now at this "
                "operation's method and path, PUT /items/{id}/lock)") in failed, failed

        async def calls() -> tuple[list[str], bool]:
            async with http_client(up.url) as client:
                listed = [tool.name for tool in (await client.list_tools()).tools]
                await client.call_tool("list_items", {})
                refused = await client.call_tool("items_lockItem", {"id": "a"})
                return listed, bool(refused.is_error)

        import anyio
        listed, refused = anyio.run(calls)
        assert listed == ["list_items"] and refused, listed
        assert api.seen == ["GET /items?limit=5"], api.seen  # no PUT reached the API


def test_a_reload_names_the_operation_now_at_the_renamed_ones_method_and_path(api: _Api, tmp_path: Path) -> None:
    """Review of oaleft, item 4: the did-you-mean of an override whose operation an upstream renamed named the
    closest key by spelling — `items/unlock` for `items/lock` renamed `items/acquireExclusiveHold`, another
    operation (moving the `enabled: false` there would disable unlocking and serve the lock). A reload knows the
    operation the key had: the one now at its method and path (`PUT /items/{id}/lock`) is the rename, and is
    named, however far by spelling."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps(_description(api.base, lock=True, unlock=True)))
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(LIMITING.replace('      "items/gone": {{description: Cosmetic only}}\n', "")
                        .format(openapi="api.json", filter=""))
    with mcprt_http(manifest) as up:
        assert httpx.get(f"{up.base}/healthz", timeout=10).json()["tools"] == 2  # list_items, items_unlock
        spec.write_text(json.dumps(_description(api.base, lock=True, renamed=True, unlock=True,
                                                new_id="items/acquireExclusiveHold")))
        up.wait_log("reload failed", timeout=60)
        # the attempt's error is written on the lines after 'reload failed': wait for that line itself
        failed = up.wait_log("has no operation 'items/lock'", timeout=10)
        assert ("source 'items' has no operation 'items/lock' (did you mean 'items/acquireExclusiveHold'? it is now "
                "at this operation's method and path, PUT /items/{id}/lock), and this override limits it "
                "(enabled: false)") in failed, failed
        assert "did you mean 'items/unlock'" not in failed, failed


@pytest.mark.parametrize("new_path", ["/items/{id}/lock", "/items/{item_id}/lock"])
def test_diff_names_the_operation_now_at_the_old_sides_method_and_path(tmp_path: Path, new_path: str) -> None:
    """Review of oaleft, problems 2 and 3: `mcprt diff OLD NEW` — where a spec bump is reviewed — compiled the new
    side knowing nothing of the old one, so its error named `items/unlock` (the closest spelling, another
    operation) for `items/lock` renamed `items/acquireExclusiveHold`; and a rename that also renamed the path
    variable (`{id}` → `{item_id}`, the same route: OpenAPI 3.1 §4.8.8.2) was not matched. The new side now knows
    the old side's operations and compares routes with their variables unnamed."""
    api = "http://127.0.0.1:9"  # nothing is called: diff compiles both sides and replays no case
    for side, renamed in (("old", False), ("new", True)):
        folder = tmp_path / side
        folder.mkdir()
        description = _description(api, lock=True, renamed=renamed, unlock=True, new_id="items/acquireExclusiveHold")
        if renamed:  # the same route, its variable perhaps renamed with the parameter
            lock = description["paths"][new_path] = description["paths"].pop("/items/{id}/lock")
            lock["put"]["parameters"][0]["name"] = new_path.split("{")[1].split("}")[0]
        (folder / "api.json").write_text(json.dumps(description))
        (folder / "mcp.yaml").write_text(LIMITING.replace('      "items/gone": {{description: Cosmetic only}}\n', "")
                                         .format(openapi="api.json", filter=""))
    shown = mcprt_cli("diff", str(tmp_path / "old" / "mcp.yaml"), str(tmp_path / "new" / "mcp.yaml"),
                      env=child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache")))
    assert shown.returncode == 2, shown.stderr
    assert (f"new/mcp.yaml:9:7: source 'items' has no operation 'items/lock' (did you mean "
            f"'items/acquireExclusiveHold'? it is now at this operation's method and path, PUT {new_path}), and this "
            "override limits it (enabled: false)") in shown.stderr, shown.stderr
    assert "items/unlock" not in shown.stderr, shown.stderr


def test_validate_and_a_fresh_up_name_the_rename_from_the_last_good_compile(tmp_path: Path) -> None:
    """Review of oaleft, problem 2: `validate` and a fresh `up` knew no earlier description, so the error named
    `items/unlock` (closest by spelling, another operation). Each source's routes at its last good compile are
    kept in the cache folder: after the spec bump, `validate` (in process) and `mcprt up` (a real process, stdio)
    name `items/acquireExclusiveHold`, the operation now at PUT /items/{id}/lock."""
    api = "http://127.0.0.1:9"  # nothing is called: the compile fails before serving
    spec, manifest = tmp_path / "api.json", tmp_path / "mcp.yaml"
    spec.write_text(json.dumps(_description(api, lock=True, unlock=True)))
    manifest.write_text(LIMITING.replace('      "items/gone": {{description: Cosmetic only}}\n', "")
                        .format(openapi="api.json", filter=""))
    env = child_env(MCPRT_CACHE_DIR=str(tmp_path / "cache"))
    good = mcprt_cli("validate", str(manifest), env=env)
    assert good.returncode == 0, good.stderr
    spec.write_text(json.dumps(_description(api, lock=True, renamed=True, unlock=True,
                                            new_id="items/acquireExclusiveHold")))
    hint = ("source 'items' has no operation 'items/lock' (did you mean 'items/acquireExclusiveHold'? it is now at "
            "this operation's method and path, PUT /items/{id}/lock), and this override limits it (enabled: false)")
    for done in (mcprt_cli("validate", str(manifest), env=env),
                 mcprt_process("up", str(manifest), "--transport", "stdio", env=env, forked=True)):
        assert done.returncode == 2, done.stderr
        assert f"{manifest}:9:7: {hint}" in done.stderr, done.stderr
        assert "items/unlock" not in done.stderr, done.stderr


def test_a_reload_another_source_failed_still_names_the_rename(api: _Api, tmp_path: Path) -> None:
    """Review of oaleft, problem 2: a reload whose other source fails to open reports the overrides' checks from
    the sources that did open (`Runtime._checks_without`), which built without the previous sources' operations and
    so named `items/unlock`. It names the operation now at PUT /items/{id}/lock too."""
    spec = tmp_path / "api.json"
    spec.write_text(json.dumps(_description(api.base, lock=True, unlock=True)))
    (tmp_path / "helper_tools.py").write_text('def ping() -> str:\n    """Answer."""\n    return "pong"\n')
    manifest = tmp_path / "mcp.yaml"
    manifest.write_text(LIMITING.replace('      "items/gone": {{description: Cosmetic only}}\n', "")
                        .format(openapi="api.json", filter="") + "  helper:\n    python: helper_tools\n")
    with mcprt_http(manifest) as up:
        assert httpx.get(f"{up.base}/healthz", timeout=10).json()["tools"] == 3  # list_items, items_unlock, ping
        (tmp_path / "helper_tools.py").write_text("def ping(:\n")  # the other source no longer opens
        spec.write_text(json.dumps(_description(api.base, lock=True, renamed=True, unlock=True,
                                                new_id="items/acquireExclusiveHold")))
        up.wait_log("reload failed", timeout=60)
        failed = up.wait_log("has no operation 'items/lock'", timeout=30)
        assert ("source 'items' has no operation 'items/lock' (did you mean 'items/acquireExclusiveHold'? it is now "
                "at this operation's method and path, PUT /items/{id}/lock)") in failed, failed
        assert "did you mean 'items/unlock'" not in failed, failed
