"""Tool names of operations whose operationIds are mostly letters a tool name cannot hold (trial_i18n fault 3).

`ユーザー取得`, `作成` were all served as `tool`, `tool_2`…: unreadable, and an operation added earlier in the document
moved `tool_2` from POST (create) to DELETE, which a hot reload served at once. Names are now derived from what
identifies the operation — method, the path's ASCII parts, a hash of the operationId (`naming.derived_tool_name`) —
so an unrelated edit renames nothing; `validate` and `init` say which names were derived and from what, `init` writes
no `_u30e6_…` escapes, and `mcprt diff` shows a name moved to another operation as a rename plus the change."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from tests.support.cli import mcprt_cli
from tests.support.served import http_client, mcprt_http

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")

# the trial's description (stab/api.yaml), cut to what names are about
API = '''openapi: 3.0.3
info: {title: 日本語API, version: "1.0"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /ユーザー/{名前}:
    get:
      operationId: ユーザー取得
      summary: ユーザーを取得する
      parameters: [{name: 名前, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /items/{id}:
    get:
      operationId: größe
      summary: Größe holen
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
DELETE_HERE  /items3:
    post:
      operationId: 作成
      summary: 作成する
      requestBody: {content: {application/json: {schema: {type: object, properties: {タイトル: {type: string}}}}}}
      responses: {"200": {description: ok}}
'''
DELETE = '''  /items4/{id}:
    delete:
      operationId: 削除
      summary: 全部削除する
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
'''
# each name: method, the path's ASCII parts, the first 7 hex of SHA-1 of the operationId (UTF-8, NFC)
GET_USER, CREATE, REMOVE = "get_92f0c53", "post_items3_614f2ea", "delete_items4_id_5cbdf1f"


def _write(folder: Path, *, with_delete: bool, tools: str = "") -> Path:
    (folder / "api.yaml").write_text(API.replace("DELETE_HERE", DELETE if with_delete else ""), encoding="utf-8")
    manifest = folder / "mcp.yaml"
    manifest.write_text(f"version: 1\nsources:\n  api:\n    openapi: api.yaml\n{tools}", encoding="utf-8")
    return manifest


async def test_names_stay_with_their_operations_when_one_is_added_before_them_on_a_hot_reload(tmp_path: Path) -> None:
    manifest = _write(tmp_path, with_delete=False)
    with mcprt_http(manifest) as up:
        async with http_client(up.url) as client:
            before = {t.name: t.title for t in (await client.list_tools()).tools}
            assert before == {GET_USER: "ユーザーを取得する", "gr_e": "Größe holen", CREATE: "作成する"}
            _write(tmp_path, with_delete=True)
            deadline = time.monotonic() + 30
            while len(after := {t.name: t.title for t in (await client.list_tools()).tools}) == 3:
                assert time.monotonic() < deadline, "the edit was not reloaded"
                await anyio.sleep(0.2)
            assert after == {**before, REMOVE: "全部削除する"}  # the create tool is still the create tool


def test_validate_says_which_names_were_derived_and_from_what(tmp_path: Path) -> None:
    manifest = _write(tmp_path, with_delete=True)
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("warning: source 'api': api.yaml: 3 operationIds mostly of letters a tool name cannot hold (A-Z a-z 0-9 _ -): "
            "named from the method, the path's ASCII parts and a hash of the operationId: `ユーザー取得` "
            f"(GET /ユーザー/{{名前}}) → {GET_USER}; `削除` (DELETE /items4/{{id}}) → {REMOVE}; `作成` (POST /items3) → "
            f"{CREATE}; give each a readable `name:` under `tools:`") in done.stdout + done.stderr
    tools = mcprt_cli("tools", str(manifest), cwd=tmp_path)
    assert "tool_2" not in tools.stdout and "│ tool " not in tools.stdout


def test_init_writes_no_code_point_escapes_and_says_a_name_was_derived(tmp_path: Path) -> None:
    _write(tmp_path, with_delete=True)
    (tmp_path / "mcp.yaml").unlink()
    done = mcprt_cli("init", "--openapi", "api.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    written = (tmp_path / "mcp.yaml").read_text(encoding="utf-8")
    assert "_u30" not in written
    assert (f"# GET /ユーザー/{{名前}} — ユーザーを取得する (served as {GET_USER}: derived from its method, path and a "
            "hash of the operationId `ユーザー取得`; write a readable `name:`)") in written
    assert '"作成":\n        name: create_items3' in written and '"削除":\n        name: delete_items4' in written
    assert mcprt_cli("validate", "mcp.yaml", cwd=tmp_path).returncode == 0


def test_diff_shows_a_name_moved_to_another_operation_as_a_rename(tmp_path: Path) -> None:
    old = _write(tmp_path / "old" if (tmp_path / "old").mkdir() is None else tmp_path, with_delete=False,
                 tools="    tools:\n      作成: {name: make}\n")
    new = _write(tmp_path / "new" if (tmp_path / "new").mkdir() is None else tmp_path, with_delete=True,
                 tools="    tools:\n      削除: {name: make}\n")
    done = mcprt_cli("diff", str(old), str(new), cwd=tmp_path)
    out = done.stdout
    assert f"! make → {CREATE}: renamed (operation 作成): calls by the old name fail" in out, out
    assert "BREAKING operation changed: 作成 → 削除: calls by this name now reach another operation" in out
    assert f"+ {CREATE}" not in out and "added" not in out.splitlines()[1]
