"""Does a structuredContent conform to a tool's outputSchema? The one check of results, worded without data.

MCP (2025-06-18 and 2025-11-25 server/tools, "Output Schema"): structuredContent MUST conform to the
tool's outputSchema, and the SDK clients reject the whole call when it does not ("Invalid structured
content"), so the model gets nothing. Two callers:
- `shaping.result`, for a schema mcprt derives from an API description (`toolset.build`, README
  "Response schemas and `outputSchema`"), which the upstream itself can break (a documented `integer`
  id sent as `"abc"`): it sends `{}` with the whole result as text and a note (`shaping.structured_check`);
- `sources.mcp.source`, for a proxied server's own outputSchema, which the server can break: the call
  becomes a tool error naming the server, the tool and the first problem (README "Proxied MCP servers");
  `format` is not asserted there (an annotation, as the SDK clients read it), and a result over 64 KiB is
  checked in a worker thread.

Cost: one compiled check per tool (`schema.validator.result_check`: fastjsonschema's shortcut before
jsonschema's validator), built on the first structured result; jsonschema's validator runs only when
the compiled check does not say "valid", to word the problem.
"""

from __future__ import annotations

import threading
from itertools import islice
from typing import Any


class StructuredCheck:
    """The check of one tool's structuredContent against `schema` (a JSON Schema dict). `formats=False` treats
    `format` as an annotation (JSON Schema 2020-12's default, and what the SDK clients check): a proxied
    server's own outputSchema, whose results a client working without mcprt would accept (review of carried,
    problem 6: `format: email` refused `"n/a"`). A schema mcprt derives asserts it (`True`)."""

    __slots__ = ("schema", "formats", "_check", "_lock")

    def __init__(self, schema: dict[str, Any], *, formats: bool = True) -> None:
        self.schema = schema
        self.formats = formats
        self._check: Any = None  # `schema.validator.result_check`, or False for a schema it refuses
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:  # a reload compares tools: the same schema is the same check
        return isinstance(other, StructuredCheck) and other.schema == self.schema \
            and other.formats == self.formats

    def __hash__(self) -> int:
        return hash(type(self))

    def _compiled(self) -> Any:
        if self._check is None:
            from .validator import result_check  # fastjsonschema/jsonschema: loaded on first use
            with self._lock:
                if self._check is None:
                    self._check = result_check(self.schema, formats=self.formats) or False
        return self._check

    def problem(self, value: Any) -> str | None:
        """None when `value` conforms (or the schema cannot be checked), else the first problem in at most
        `MAX_PROBLEM` characters, by JSON path and types only: `$.id: array, expected integer/null`, or
        `$.n: number, fails "minimum"` for a keyword other than `type`. Never the value itself: jsonschema's
        message quotes it whole (a 10 kB list made an unbounded note, and the value may be a secret)."""
        check = self._compiled()
        error = check.first_error(value) if check else None
        return None if error is None else _worded(error)


    def error_paths(self, value: Any, limit: int | None = 16) -> list[tuple[str | int, ...]]:
        """The JSON paths (`absolute_path` steps) of the first `limit` (None: all) places the schema refuses in
        `value`; empty when it conforms (fastjsonschema's shortcut says so without a walk) or the schema cannot
        be checked. Paths only: no message, no value."""
        check = self._compiled()
        if not check:
            return []
        return [tuple(error.absolute_path) for error in islice(check.iter_errors(value), limit)]


MAX_PROBLEM = 200  # characters: the note stays small whatever the data (a long key shortens the path)
_MAX_PATH = 120
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _worded(error: Any) -> str:
    """A jsonschema `ValidationError` as path and types (see `StructuredCheck.problem`). A missing `required`
    property and one `additionalProperties: false` refuses are named by their key (a key is structure, not
    data): `$.name: missing (required)`, `$.debug: not allowed (additionalProperties: false)`. A key on the
    way is named only where a schema's `properties` lists it; a key of a map (`additionalProperties`,
    `patternProperties`) is data, shown as `*` (review of carried, problem 8: `$.token_map.sk-live-…`)."""
    steps = _path_steps(error)
    found = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
    key = _named_key(error)
    if key is not None:
        steps.append(key)
        what = "missing (required)" if error.validator == "required" else "not allowed (additionalProperties: false)"
    elif error.validator == "type":
        expected = error.validator_value
        wanted = "/".join(expected) if isinstance(expected, list) else str(expected)
        what = f"{found}, expected {wanted}"
    else:
        what = f'{found}, fails "{error.validator}"'
    path = "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps)
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH - 1] + "…"
    problem = f"{path}: {what}"
    return problem if len(problem) <= MAX_PROBLEM else problem[:MAX_PROBLEM - 1] + "…"


def _path_steps(error: Any) -> list[str | int]:
    """`error.absolute_path` with each object key that no `properties` on the schema path lists as `*`: a key
    is named when `properties`, that key appears in `absolute_schema_path` after the previous step's."""
    schema_path = list(error.absolute_schema_path)
    steps: list[str | int] = []
    at = 0
    for step in error.absolute_path:
        if isinstance(step, int):
            steps.append(step)
            continue
        found = next((i for i in range(at, len(schema_path) - 1)
                      if schema_path[i] == "properties" and schema_path[i + 1] == step), None)
        if found is None:
            steps.append("*")
        else:
            steps.append(step)
            at = found + 2
    return steps


def _named_key(error: Any) -> str | None:
    """The key a `required` or `additionalProperties: false` failure is about, where it is certain: the first
    listed required key the object lacks; the first key of an object whose schema has no `patternProperties`
    (a pattern would need its own engine to tell) that `properties` does not list."""
    instance = error.instance
    if not isinstance(instance, dict):
        return None
    if error.validator == "required" and isinstance(error.validator_value, list):
        return next((str(k) for k in error.validator_value if k not in instance), None)
    if error.validator == "additionalProperties" and error.validator_value is False \
            and isinstance(error.schema, dict) and not error.schema.get("patternProperties"):
        listed = error.schema.get("properties")
        listed = listed if isinstance(listed, dict) else {}
        return next((str(k) for k in instance if k not in listed), None)
    return None
