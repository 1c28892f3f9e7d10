"""Schema-complete example responses for catalog cases, built from an operation's response schema.

Where a vendor documents only tiny examples (or none), a case built from them says little about
what a model would really receive. This builds the response an API of that shape sends: every
documented property present (nullable ones too), values realistic for their name and format,
the documented `example`/`enum`/`default` where there is one, and the page of a list response
filled with `list_length` items (30 by default; nested lists get 3). It is deterministic: the same
schema and seed give the same bytes, so cases and their figures are reproducible.

    from schema_example import response_example
    value = response_example(spec, "GetCustomers", list_length=30)

Rules, in order, for one schema node:
- `$ref` (local `#/...`) is followed; a reference already open three times on the path yields
  null (recursive shapes such as comment threads end there);
- `allOf` merges the members' properties; `oneOf`/`anyOf` take the first member that is not
  `type: null` (expandable Stripe-style fields: the id string, as the API sends by default);
- `example`, then `enum[0]`, then `default`, then a value made from the property's name and
  `format` (ids, names, e-mails, URLs, timestamps, amounts, counts, states);
- objects get every property; `additionalProperties` alone gives two entries; arrays give
  `list_length` items for the list page (the `page` property, else the response itself when it
  is an array, else its first top-level array of objects) and 1 everywhere else;
- a schema with `items` but no `type` is taken as its item schema (Slack wraps objects so);
- below depth 6 (or the plan's `max_depth`) objects and arrays are left empty (`{}`, `[]`; scalars are still
  made, so every value keeps its documented type), which keeps cases reviewable.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import unquote
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 6
NESTED_LIST = 1
FIRST_NAMES = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia",
               "Tim", "Frances", "Edsger", "Hedy", "John", "Sophie", "Donald", "Anita", "Guido", "Joan"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
              "Perlman", "Berners-Lee", "Allen", "Dijkstra", "Lamarr", "McCarthy", "Wilson", "Knuth", "Borg",
              "van Rossum", "Clarke"]
WORDS = ["invoice", "quarterly", "review", "deploy", "checkout", "onboarding", "billing", "release", "roadmap",
         "incident", "migration", "design", "support", "analytics", "launch", "audit", "renewal", "backlog"]


class _Maker:
    def __init__(self, doc: dict[str, Any], list_length: int, seed: str, page: str | None = None,
                 max_depth: int = MAX_DEPTH) -> None:
        self.doc = doc
        self.max_depth = max_depth
        self.page = page
        self.list_length = list_length
        self.seed = seed
        self.page_used = False

    def _n(self, *parts: Any) -> int:
        digest = hashlib.sha256("/".join([self.seed, *map(str, parts)]).encode()).digest()
        return int.from_bytes(digest[:6], "big")

    def resolve(self, ref: str) -> Any:
        return _resolve(self.doc, ref)

    def make(self, schema: Any, name: str, path: tuple[Any, ...], refs: tuple[str, ...]) -> Any:
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            ref = schema["$ref"]
            if refs.count(ref) >= 3:
                return None
            return self.make(self.resolve(ref), name, path, refs + (ref,))
        if len(path) > self.max_depth and self._is_container(schema, refs):
            return {} if self._deref(schema, refs).get("type") != "array" else []
        if "allOf" in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}}
            self._merge_all_of(schema, merged, refs, 0)
            rest = {k: v for k, v in schema.items() if k not in ("allOf", "properties")}
            return self.make({**rest, **merged}, name, path, refs)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [o for o in schema[key] if self._deref(o, refs).get("type") != "null"] or schema[key]
                return self.make(options[0], name, path, refs)
        if "example" in schema and not isinstance(schema["example"], (dict, list)):
            example = schema["example"]
            index = next((p for p in reversed(path) if isinstance(p, int)), 0)
            if index and isinstance(example, str) and (name == "gid" or name.lower().endswith("id")):
                return f"{example}{index:02d}"  # items of a page are different objects
            return example
        if schema.get("enum"):
            values = [v for v in schema["enum"] if v is not None]
            return values[self._n(path) % len(values)] if values else None
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind is None and "items" in schema and "properties" not in schema:
            # A schema with `items` but no `type` constrains arrays only; Slack's description wraps
            # its object schemas (user, conversation, …) this way, and the API sends the object.
            item = schema["items"][0] if isinstance(schema["items"], list) and schema["items"] else schema["items"]
            return self.make(item, name, path, refs)
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, path, refs)
        if kind == "array":
            return self._array(schema, name, path, refs)
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        if kind == "boolean":
            return self._n(path) % 3 == 0
        if kind in ("integer", "number"):
            return self._number(schema, name, path, kind)
        return self._string(schema, name, path)

    def _is_container(self, schema: Any, refs: tuple[str, ...]) -> bool:
        """Objects and arrays (below the depth limit they are left empty); scalars are always made."""
        node = self._deref(schema, refs)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind in ("object", "array"):
            return True
        if kind is not None:
            return False
        return any(k in node for k in ("properties", "items", "allOf", "additionalProperties")) or \
            any(self._is_container(o, refs) for o in (node.get("oneOf") or node.get("anyOf") or [])[:1])

    def _merge_all_of(self, schema: Any, merged: dict[str, Any], refs: tuple[str, ...], depth: int) -> None:
        """Every property of `schema`, its `allOf` members and theirs (bounded), into `merged`."""
        schema = self._deref(schema, refs)
        if depth > 10:
            return
        for member in schema.get("allOf") or ():
            self._merge_all_of(member, merged, refs, depth + 1)
        merged["properties"].update(schema.get("properties") or {})
        for key in ("example",):
            if key in schema and not isinstance(schema[key], (dict, list)):
                merged.setdefault(key, schema[key])

    def _deref(self, schema: Any, refs: tuple[str, ...]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 10:
            schema = self.resolve(schema["$ref"])
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def _object(self, schema: dict[str, Any], path: tuple[Any, ...], refs: tuple[str, ...]) -> Any:
        properties = schema.get("properties") or {}
        if not properties:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return {f"{WORDS[(self._n(path, i)) % len(WORDS)]}_{i}": self.make(extra, "value", path + (i,), refs)
                        for i in range(2)}
            if "example" in schema:
                return schema["example"]
            return {}
        return {key: self.make(sub, key, path + (key,), refs) for key, sub in properties.items()}

    def _array(self, schema: dict[str, Any], name: str, path: tuple[Any, ...], refs: tuple[str, ...]) -> list[Any]:
        item = schema.get("items") or {}
        if isinstance(item, list):  # draft-4 tuple form
            item = item[0] if item else {}
        is_page = (name == self.page) if self.page else (
            len(path) <= 1 and "properties" in self._deref(item, refs) or len(path) == 0)
        if is_page and not self.page_used:
            self.page_used = True
            count = self.list_length
        else:
            count = NESTED_LIST
        return [self.make(item, _singular(name), path + (i,), refs) for i in range(count)]

    def _number(self, schema: dict[str, Any], name: str, path: tuple[Any, ...], kind: str) -> Any:
        lowered = name.lower()
        n = self._n(path)
        if name.endswith("At") or any(w in lowered for w in ("created", "updated", "time", "date", "expires", "_at",
                                                              "timestamp", "since", "until")):
            value = 1_760_000_000 + n % 20_000_000
        elif any(w in lowered for w in ("amount", "price", "balance", "total", "cost")):
            value = (n % 500 + 1) * 100
        elif "id" in lowered:
            value = 10_000 + n % 9_000_000
        else:
            value = n % 100
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        if minimum is not None and value < minimum:
            value = minimum
        if maximum is not None and value > maximum:
            value = maximum
        return float(value) + 0.5 if kind == "number" and "amount" not in lowered and value < 100 else value

    def _string(self, schema: dict[str, Any], name: str, path: tuple[Any, ...]) -> str:
        fmt = schema.get("format", "")
        lowered = name.lower()
        n = self._n(path)
        person = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // 7) % len(LAST_NAMES)]}"
        word = WORDS[n % len(WORDS)]
        if fmt.startswith("date-time") or name.endswith("At") or lowered.endswith(("_at", "_time", "date", "timestamp")) \
                or lowered in ("created", "updated"):
            return f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n // 60) % 60:02d}Z"
        if fmt == "date":
            return f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}"
        if fmt == "email" or "email" in lowered:
            first, last = person.lower().split(" ", 1)
            return f"{first}.{last.replace(' ', '')}@example.com"
        if fmt in ("uri", "url") or lowered.endswith(("url", "uri", "href", "link")):
            return f"https://api.example.com/v1/{word}s/{n % 100000}"
        if fmt == "uuid" or lowered.endswith("uuid"):
            h = hashlib.sha256(f"{self.seed}{path}".encode()).hexdigest()
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        if lowered in ("id", "gid") or lowered.endswith(("_id", "id")):
            return f"{(lowered.removesuffix('id').strip('_') or 'obj')[:4]}_{hashlib.sha256(f'{self.seed}{path}'.encode()).hexdigest()[:14]}"
        if lowered in ("name", "full_name", "display_name", "real_name", "username", "login", "owner", "author"):
            return person if "user" not in lowered and "login" not in lowered else person.lower().replace(" ", "")
        if lowered in ("title", "summary", "subject", "label"):
            return f"{word.capitalize()} {WORDS[(n // 3) % len(WORDS)]} for {FIRST_NAMES[(n // 5) % len(FIRST_NAMES)]}"
        if lowered in ("description", "body", "text", "notes", "message", "comment", "content", "bio", "purpose"):
            return (f"{word.capitalize()} notes: the {WORDS[(n // 3) % len(WORDS)]} team reviewed the "
                    f"{WORDS[(n // 5) % len(WORDS)]} plan and agreed on next steps for the {WORDS[(n // 11) % len(WORDS)]}.")
        if lowered in ("status", "state"):
            return ["active", "open", "closed", "pending"][n % 4]
        if lowered in ("currency",):
            return "usd"
        if lowered in ("country", "country_code"):
            return ["US", "DE", "FR", "JP"][n % 4]
        if lowered in ("color", "colour"):
            return f"#{n % 0xFFFFFF:06x}"
        if lowered in ("phone", "phone_number"):
            return f"+1415555{n % 10000:04d}"
        pattern = schema.get("pattern")
        if pattern and re.fullmatch(r"\^?\[a-z\]\+\$?", pattern):
            return word
        return f"{word}-{n % 1000}"


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 3 else name


def _success_contents(doc: dict[str, Any], operation_id: str) -> Iterator[dict[str, Any]]:
    """The JSON media entries (`{schema, example, examples}`) of the operation's 2xx responses, lowest first."""
    for item in doc["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                for status, response in sorted(operation.get("responses", {}).items()):
                    if not str(status).startswith("2"):
                        continue
                    while "$ref" in response:
                        response = _resolve(doc, response["$ref"])
                    for media, content in (response.get("content") or {}).items():
                        if "json" in media:
                            yield content
                return
    raise KeyError(f"operation {operation_id} not found")


def success_schema(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The JSON schema of the operation's first 2xx response."""
    for content in _success_contents(doc, operation_id):
        if "schema" in content:
            return content["schema"]
    raise KeyError(f"{operation_id}: no JSON 2xx response schema")


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    """A local JSON pointer (`#/a/b~1c/0`): `~1`/`~0` unescaped, percent-decoded, list indices."""
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def response_example(doc: dict[str, Any], operation_id: str, *, list_length: int = 30, seed: str = "",
                     page: str | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """A schema-complete response of `operation_id` (see the module docstring); `page` names the
    property holding the list page (default: the first top-level array of objects); objects below
    `max_depth` are `{}`."""
    return _Maker(doc, list_length, seed or operation_id, page, max_depth).make(
        success_schema(doc, operation_id), "response", (), ())


def documented_example(doc: dict[str, Any], operation_id: str) -> Any:
    """The response example the description documents for the operation's first 2xx JSON response
    (`example`, or the first of `examples`; a JSON string is parsed)."""
    for content in _success_contents(doc, operation_id):
        example = content.get("example")
        if example is None and content.get("examples"):
            example = next(iter(content["examples"].values())).get("value")
        if example is not None:
            return json.loads(example) if isinstance(example, str) else example
    raise KeyError(f"{operation_id}: no documented JSON example")


def fill_page(value: Any, key: str, length: int) -> Any:
    """Fill the list at `value[key]` to `length` items by copying its items round robin, giving each
    copy distinct `id`/`key`/`gid`/`sid` values (a page of different objects, as an API sends)."""
    items = value[key]
    if not items:
        return value
    filled = []
    for i in range(length):
        copy = json.loads(json.dumps(items[i % len(items)]))
        if i >= len(items) and isinstance(copy, dict):
            for name in ("id", "key", "gid", "sid"):
                if isinstance(copy.get(name), str):
                    copy[name] = f"{copy[name]}{i + 1}" if not copy[name][-1:].isdigit() else \
                        f"{copy[name].rstrip('0123456789')}{int(''.join(c for c in copy[name] if c.isdigit())[-6:] or 0) + i}"
                elif isinstance(copy.get(name), int):
                    copy[name] = copy[name] + i
        filled.append(copy)
    return {**value, key: filled}
