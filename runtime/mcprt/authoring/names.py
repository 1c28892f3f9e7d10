"""Readable tool names for `mcprt init`, where operationIds are missing or poor.

Rule: a usable operationId becomes snake_case (`findPetsByStatus` → `find_pets_by_status`,
`issues/list-for-repo` → `issues_list_for_repo`). An operationId is *poor* when missing, shorter
than 3 characters, a bare generic verb (`GENERIC`: `get`, `list`, `post`, `index`, …) or without
Latin letters (`取得`: names are ASCII, `sources/naming.py`); then the name is `<verb>_<path words>`: the verb from the method (GET on a collection
`list`, GET on an item or on `/` `get`, POST `create`, PUT/PATCH `update`, DELETE `delete`, others
the method), the words being the path's literal segments (`GET /` → `get_root`,
`GET /addresses/{address}/txs` → `list_addresses_txs`, `GET /pets/{id}` → `get_pets`).
Names are fitted to 64 characters and made unique with `_2`, `_3`… in document order.
"""

from __future__ import annotations


from ..sources.naming import dedupe_names, fit_tool_name, has_latin_letter, sanitize_tool_name

GENERIC = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "list", "create", "update",
                     "index", "show", "root", "handler", "default", "main", "api", "endpoint", "read", "fetch",
                     "query", "call", "run", "op", "operation"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


def is_poor(operation_id: str | None) -> bool:
    if not operation_id:
        return True
    snake = sanitize_tool_name(operation_id, snake=True)
    return len(snake) < 3 or snake in GENERIC or not has_latin_letter(operation_id)


def readable_name(operation_id: str | None, method: str, path: str) -> str:
    if not is_poor(operation_id):
        # GitHub has operationIds of 70+ characters: fitted as the compiler fits default names, else the
        # written `name:` fails the manifest's own 64-character rule (MCP clients refuse longer names)
        return fit_tool_name(sanitize_tool_name(str(operation_id).replace("-", "_"), snake=True))
    segments = [s for s in path.split("/") if s]
    words = [sanitize_tool_name(s, snake=True) for s in segments if not (s.startswith("{") and s.endswith("}"))]
    item = bool(segments) and segments[-1].startswith("{")
    verb = _VERBS.get(method.upper()) or (
        ("get" if item or not words else "list") if method.upper() == "GET" else method.lower()
    )
    return fit_tool_name("_".join([verb, *(words or ["root"])]))


def readable_names(operations: list[tuple[str | None, str, str]]) -> list[str]:
    """Readable, unique names for (operationId, method, path) triples, in order."""
    return dedupe_names([readable_name(*op) for op in operations])
