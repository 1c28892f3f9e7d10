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
    assert ("warning: source 'api': api.yaml: 3 operationIds with letters a tool name cannot hold (A-Z a-z 0-9 _ -): "
            "named from what the operationId keeps (from the method and the path's ASCII parts when it keeps little) "
            "and a hash of the operationId: `ユーザー取得` "
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


# review of fixi2, item 2: operationIds half ASCII (`取得_v1`, `削除_v1`: as many letters kept as lost) were `v1`,
# `v1_2` in document order, and `消_v1` (a DELETE) added first took `v1` from the GET with no warning
HALF = '''openapi: 3.0.3
info: {title: t, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
FIRST  /items1:
    get: {operationId: 取得_v1, summary: ユーザーを取得するAPI, responses: {"200": {description: ok}}}
  /items2:
    get: {operationId: 削除_v1, responses: {"200": {description: ok}}}
'''
FIRST = '''  /items0:
    delete: {operationId: 消_v1, summary: 全部消す, responses: {"200": {description: ok}}}
'''


def _write_half(folder: Path, *, first: bool) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "api.yaml").write_text(HALF.replace("FIRST", FIRST if first else ""), encoding="utf-8")
    manifest = folder / "mcp.yaml"
    manifest.write_text("version: 1\nsources:\n  api:\n    openapi: api.yaml\n", encoding="utf-8")
    return manifest


def test_half_ascii_operation_ids_keep_their_names_when_one_is_added_first(tmp_path: Path) -> None:
    d1, d2 = _write_half(tmp_path / "d1", first=False), _write_half(tmp_path / "d2", first=True)
    done = mcprt_cli("validate", str(d1), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    # what the operationId keeps (`v1`) and the first 7 hex of SHA-1 of it: never `v1_2` by its place
    assert "`取得_v1` (GET /items1) → v1_ebc16cb; `削除_v1` (GET /items2) → v1_f12d1df" in out
    diff = mcprt_cli("diff", str(d1), str(d2), cwd=tmp_path).stdout
    assert "+ v1_a4a6b84" in diff, diff  # the DELETE is a new name; the GETs keep theirs
    assert "no breaking changes; 1 added" in diff and "BREAKING" not in diff and "! " not in diff, diff


def test_init_writes_no_code_point_escapes_for_half_ascii_operation_ids(tmp_path: Path) -> None:
    """Review of fixi2, item 2 (related): `init` wrote `u53d6_u5f97_v1` for `取得_v1`; the path names it."""
    _write_half(tmp_path, first=False)
    (tmp_path / "mcp.yaml").unlink()
    done = mcprt_cli("init", "--openapi", "api.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    written = (tmp_path / "mcp.yaml").read_text(encoding="utf-8")
    assert "_u5" not in written and "u53d6" not in written, written
    assert "name: list_items1" in written and "name: list_items2" in written, written
