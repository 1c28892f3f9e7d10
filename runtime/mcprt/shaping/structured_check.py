"""Does a structuredContent conform to the outputSchema mcprt derived for the tool? (checked before sending)

MCP (2025-06-18, "Output Schema"): structuredContent MUST conform to the tool's outputSchema, and the
SDK clients reject the whole call when it does not ("Invalid structured content"), so the model gets
nothing. A schema mcprt derives from an API description (`toolset.build`, README "Response schemas and
`outputSchema`") can be broken by the upstream itself: a documented `integer` id sent as `"abc"`.
`shaping.result` then sends `{}` (which a derived schema, having no `required`, accepts) with the
whole result as text and a note, and logs the problem.

Cost: one compiled check per tool (`schema.validator.result_check`: fastjsonschema's shortcut before
jsonschema's validator), built on the first structured result; jsonschema's validator runs only when
the compiled check does not say "valid", to word the problem.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_log = logging.getLogger("mcprt")


class StructuredCheck:
    """The check of one tool's structuredContent against its derived `schema` (a JSON Schema dict)."""

    __slots__ = ("schema", "_check", "_lock")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._check: Any = None  # `schema.validator.result_check`, or False for a schema it refuses
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:  # a reload compares tools: the same schema is the same check
        return isinstance(other, StructuredCheck) and other.schema == self.schema

    def __hash__(self) -> int:
        return hash(type(self))

    def _compiled(self) -> Any:
        if self._check is None:
            from ..schema.validator import result_check  # fastjsonschema/jsonschema: loaded on first use
            with self._lock:
                if self._check is None:
                    self._check = result_check(self.schema) or False
        return self._check

    def problem(self, value: Any) -> str | None:
        """None when `value` conforms (or the schema cannot be checked), else the first problem in at most
        `MAX_PROBLEM` characters, by JSON path and types only: `$.id: array, expected integer/null`, or
        `$.n: number, fails "minimum"` for a keyword other than `type`. Never the value itself: jsonschema's
        message quotes it whole (a 10 kB list made an unbounded note, and the value may be a secret)."""
        check = self._compiled()
        error = check.first_error(value) if check else None
        return None if error is None else _worded(error)


MAX_PROBLEM = 200  # characters: the note stays small whatever the data (a long key shortens the path)
_MAX_PATH = 120
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _worded(error: Any) -> str:
    """A jsonschema `ValidationError` as path and types (see `StructuredCheck.problem`)."""
    path = "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.absolute_path)
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH - 1] + "…"
    found = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
    if error.validator == "type":
        expected = error.validator_value
        wanted = "/".join(expected) if isinstance(expected, list) else str(expected)
        problem = f"{path}: {found}, expected {wanted}"
    else:
        problem = f'{path}: {found}, fails "{error.validator}"'
    return problem if len(problem) <= MAX_PROBLEM else problem[:MAX_PROBLEM - 1] + "…"


def log_mismatch(tool: str, problem: str) -> None:
    """One log line per such result: the operator's sign that an API breaks its own description."""
    where = problem.split(": ", 1)[0]  # the path only
    _log.warning("tool %s: the upstream's result does not match its documented response schema at %s; "
                 "sent as text with an empty structuredContent", tool, where)
