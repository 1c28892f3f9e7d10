"""Readable tool names for `mcprt init`, where operationIds are missing or poor.

Rule: a usable operationId becomes snake_case (`findPetsByStatus` → `find_pets_by_status`,
`issues/list-for-repo` → `issues_list_for_repo`). An operationId is *poor* when missing, shorter
than 3 characters, a bare generic verb (`GENERIC`: `get`, `list`, `post`, `index`, …) or without
Latin letters (`取得`: names are ASCII, `sources/naming.py`); then the name is `<verb>_<path words>`,
the words being the path's literal segments. The verb:
- GET: from the documented success response when there is one — an array is `list`, an object `get`
  (an object holding an array on a collection path, a page `{data: [...]}`, is `list`) — else from
  the path: a collection `list`, an item or `/` `get` (`GET /` → `get_root`, `GET /addresses/{address}/txs`
  → `list_addresses_txs`, `GET /health` answering an object → `get_health`, `GET /pets/{id}` → `get_pets`;
  an array below an item is listed `by` it: `GET /epochs/{number}/stakes/{pool_id}` → `list_epochs_stakes_by_pool_id`);
- POST: the last literal segment when it is itself a verb (`ACTION_VERBS`: `POST /ipfs/pin/remove/{path}`
  → `remove_ipfs_pin`), else `create`;
- PUT/PATCH `update`, DELETE `delete`, others the method.
Path segments without a Latin letter (`ユーザー`) give no word; a path with none left keeps the served name
(`sources/naming.derived_tool_name`), and `init` says in a comment that it was derived and from what.
Names are fitted to 64 characters and made unique with `_2`, `_3`… in document order.
"""

from __future__ import annotations

from typing import Any

from ..schema.shapes import declared_types
from ..sources.naming import (dedupe_names, fit_tool_name, has_latin_letter, sanitize_tool_name, transliterate,
                              unspellable)

GENERIC = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "list", "create", "update",
                     "index", "show", "root", "handler", "default", "main", "api", "endpoint", "read", "fetch",
                     "query", "call", "run", "op", "operation"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
# A POST whose last literal path segment is one of these does that, not `create`: Blockfrost's
# `/ipfs/pin/remove/{path}`, GitHub's `…/merge`, Stripe's `…/cancel`, DigitalOcean's `…/restart`.
ACTION_VERBS = frozenset({
    "accept", "activate", "add", "approve", "archive", "assign", "attach", "block", "cancel", "capture", "close",
    "confirm", "copy", "deactivate", "decline", "deploy", "detach", "disable", "dismiss", "enable", "execute",
    "export", "finalize", "follow", "import", "invite", "lock", "merge", "mute", "pause", "pin", "publish",
    "reboot", "refund", "reject", "remove", "rename", "reopen", "rerun", "reset", "resize", "restart", "restore",
    "resume", "retry", "revoke", "rotate", "run", "search", "send", "start", "stop", "submit", "subscribe", "sync",
    "test", "transfer", "trigger", "unarchive", "unassign", "unblock", "unfollow", "unlock", "unmute", "unpin",
    "unpublish", "unsubscribe", "upgrade", "upload", "validate", "verify", "void",
})


def is_poor(operation_id: str | None) -> bool:
    if not operation_id:
        return True
    snake = _snake(operation_id)
    # a letter with no ASCII spelling (`取得_v1`) would be written as a `_u53d6_` escape: the path spells it better
    return len(snake) < 3 or snake in GENERIC or not has_latin_letter(operation_id) or unspellable(operation_id)


def readable_name(operation_id: str | None, method: str, path: str, response: Any = None) -> str | None:
    """The readable name of one operation; `response`: its success response's shape (`sources/openapi/
    responses.py`), None when undocumented. None when neither the operationId nor the path has a word to
    spell it with (`GET /ユーザー/{名前}`, operationId `ユーザー取得`): `_u30e6_…` escapes are no readable name,
    and the served one (`naming.derived_tool_name`) is kept."""
    if not is_poor(operation_id):
        # GitHub has operationIds of 70+ characters: fitted as the compiler fits default names, else the
        # written `name:` fails the manifest's own 64-character rule (MCP clients refuse longer names)
        return fit_tool_name(_snake(str(operation_id).replace("-", "_")))
    segments = [s for s in path.split("/") if s]
    literal = [s for s in segments if not (s.startswith("{") and s.endswith("}"))]
    words = [_snake(s) for s in literal if has_latin_letter(s)]  # `ユーザー` has no word to spell
    if not words and len(words) < len(literal):
        return None
    item = bool(segments) and segments[-1].startswith("{")
    upper = method.upper()
    if upper == "GET":
        verb = _get_verb(response, item, bool(words))
        if verb == "list" and item:  # a list below an item (`/epochs/{number}/stakes/{pool_id}`): by what
            words = [*words, "by", _snake(segments[-1].strip("{}"))]
    elif upper == "POST" and words and words[-1] in ACTION_VERBS:
        verb, words = words[-1], words[:-1]
    else:
        verb = _VERBS.get(upper) or method.lower()
    return fit_tool_name("_".join([verb, *(words or ["root"])]))


def _get_verb(response: Any, item: bool, has_words: bool) -> str:
    """`list` or `get` for a GET: what the response is when documented (an array, or a page — an object with an
    array field — of a collection path, is a list), else what the path addresses."""
    types = declared_types(response) if isinstance(response, dict) else None
    if types and "array" in types:
        return "list"
    if types and "object" in types:
        props = response.get("properties")
        page = not item and has_words and isinstance(props, dict) and any(
            isinstance(p, dict) and "array" in (declared_types(p) or []) for p in props.values())
        return "list" if page else "get"
    return "get" if item or not has_words else "list"


def _snake(raw: str) -> str:
    """`raw` as snake_case ASCII words: transliterated (`größe` → `grosse`), only here, for the `name:` init
    writes; the served default names are not (`sources/naming.py`)."""
    return sanitize_tool_name(transliterate(raw), snake=True)


def readable_names(operations: list[tuple[str | None, str, str, Any]], defaults: list[str]) -> list[str]:
    """Readable, unique names for (operationId, method, path, success response shape) tuples, in order;
    `defaults`: each operation's default (served) name, in the same order.

    A readable name equal to its operation's default is kept. Any other is made unique (`_2`, `_3`…) against
    every default name and every name given before it: a written `name:` never takes another operation's
    name, so `größe` (default `gr_e`) is written `grosse_2` beside an operation `grosse`, which keeps `grosse`."""
    proposed = [readable_name(*op) or default for op, default in zip(operations, defaults, strict=True)]
    renamed = iter(dedupe_names([p for p, d in zip(proposed, defaults, strict=True) if p != d], taken=defaults))
    return [p if p == d else next(renamed) for p, d in zip(proposed, defaults, strict=True)]
