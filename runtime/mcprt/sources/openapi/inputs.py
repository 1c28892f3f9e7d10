"""One operation's tool arguments: the input schema and how each argument maps onto the request.

Argument names (the rule, in order):
1. Names are the wire names made safe for every client and model API (property names must match
   `^[a-zA-Z0-9_.-]{1,64}$`): characters outside `[A-Za-z0-9_.-]` become `_` (so `filter[name]` →
   `filter_name`, `größe` → `gr_e`), at most 64 characters; `arg` when nothing is left (`!!`); letters no ASCII spelling keeps add a hash of the name (`日本` → `arg_44da6bb`):
   `sources/naming.arg_name`, the one rule Python and proxied tools' argument names follow too.
   Not transliterated: an argument name is what clients call, and `grosse` for `größe` would rename it
   and could take the name of a parameter `grosse` (`sources/naming.py`). A wire name that is not ASCII
   is said in the argument's description instead (`The 'größe' query parameter.`): it changes no name.
2. Parameters are named in the order path, query, header, cookie. A name already taken gets its
   location as a prefix: a query `id` next to a path `id` becomes `query_id` (then `_2`, `_3`…).
3. An object request body (JSON, form or multipart) is flattened: its properties become top-level
   arguments, required when the body is required and they are. If any property name collides with
   a parameter's (or the body is not a plain object: arrays, unions, free-form maps), the whole body
   is one argument `body` instead (`request_body` if a parameter is already called `body`).
4. Text and binary bodies are one argument `body` (files: see `bodies`).
Header parameters named Accept, Content-Type or Authorization are ignored (as OpenAPI says), and
parameters that carry an API key of a security scheme are left to the source's `auth`.
A path, query or header parameter whose schema admits exactly one value (`const`, a one-value `enum`;
through `$ref` and `allOf`) is no argument: mcprt sends that value on every call (`sole_value`), as it
sends a manifest's `fixed` argument. AWS's JSON-protocol APIs select the operation so: a required header
`X-Amz-Target: {enum: [HealthLake.CreateFHIRDatastore]}` the model would otherwise have to copy. An optional
one is fixed only when its `default` is that value (sending it means what leaving it out does); otherwise
sending it or not is a choice (`?expand=all`), and it stays an argument. The same rule (`sent_value`) holds for
the properties of a flattened body (a JSON body's, Swagger 2.0 `formData`: the AWS query protocol's `Action` and
`Version` on every operation), sent whenever the body is, and inside a required object property of it: filled
into the object the model gives, or, when nothing in it is left to give, the object sent whole (`_sent_fields`).
A body that is one `body` argument, and an optional object property, are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcprt.sources.naming import arg_name

from .media import media_kind, wire_content_type
from .model import BodySpec, OperationSpec, ParamSpec
from .plan import BodyPlan, ParamPlan
from .schemas import FILE_HINT, SchemaConverter
from .text import arg_description

_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
_STRUCTURAL_OK = frozenset({"type", "properties", "required", "description", "title", "additionalProperties"})
_STRING = {"type": "string"}


@dataclass(slots=True)
class OperationInputs:
    """An operation's tool input schema, and where each argument goes in the request."""

    schema: dict[str, Any]
    params: tuple[ParamPlan, ...]
    body: BodyPlan | None

    def sent_values(self) -> dict[str, Any]:
        """What mcprt sends itself in place of arguments, by the argument name each would have had
        (`Operation.sent_values`): one-value parameters and top-level one-value body properties."""
        sent = {arg_name(p.name): p.fixed[0] for p in self.params if p.fixed}
        for prop, value in self.body.fixed if self.body is not None else ():
            sent.setdefault(arg_name(prop), value)
        return sent


class _Names:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, base: str, prefix: str | None = None) -> str:
        name = base
        if name in self.taken and prefix:
            name = arg_name(f"{prefix}_{base}")
        candidate, n = name, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{name[:60]}_{n}"
        self.taken.add(candidate)
        return candidate


def build_inputs(
    op: OperationSpec, conv: SchemaConverter, key_params: set[tuple[str, str]]
) -> OperationInputs:
    names = _Names()
    properties: dict[str, Any] = {}
    required: list[str] = []
    plans: list[ParamPlan] = []
    for spec in sorted(op.params, key=lambda p: _ORDER[p.location]):
        wire_key = spec.name.lower() if spec.location == "header" else spec.name
        if (spec.location, wire_key) in key_params:
            continue
        sole = sole_value(spec, conv)
        if sole is not None:
            plans.append(ParamPlan(arg="", name=spec.name, location=spec.location, style=spec.style,
                                   explode=spec.explode, required=spec.required, allow_reserved=spec.allow_reserved,
                                   json_content=bool(spec.content_type and "json" in spec.content_type),
                                   delimiter=spec.delimiter, fixed=sole))
            continue
        arg = names.claim(arg_name(spec.name), spec.location)
        properties[arg] = _param_schema(spec, conv)
        if spec.required:
            required.append(arg)
        plans.append(
            ParamPlan(
                arg=arg,
                name=spec.name,
                location=spec.location,
                style=spec.style,
                explode=spec.explode,
                required=spec.required,
                allow_reserved=spec.allow_reserved,
                json_content=bool(spec.content_type and "json" in spec.content_type),
                delimiter=spec.delimiter,
            )
        )
    body_plan = None
    if op.body is not None:
        body_plan = _body(op.body, conv, names, properties, required)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return OperationInputs(conv.finish(schema), tuple(plans), body_plan)


_FIXABLE = frozenset({"path", "query", "header", "cookie"})  # every parameter location (OpenAPI 3 `in`)
_NO_DEFAULT = object()


def sole_value(spec: ParamSpec, conv: SchemaConverter) -> tuple[Any] | None:
    """`(value,)` when `spec` is a path, query, header or cookie parameter whose schema admits exactly that one
    value (JSON Schema 2020-12 §6.1.2 `enum`, §6.1.3 `const`; OpenAPI 2.0's parameter `enum` and 3.0's
    schema alike, as converted) and that mcprt sends on every call: a required one, or an optional one whose
    `default` is that value. None otherwise (see the module docstring)."""
    if spec.location not in _FIXABLE or spec.schema is None:
        return None
    return sent_value(conv.convert(spec.schema, spec.name), spec.required, conv)


def sent_value(schema: Any, required: bool, conv: SchemaConverter) -> tuple[Any] | None:
    """`(value,)` when mcprt sends the one value a converted `schema` admits in place of an argument (the one
    rule for parameters and body properties): it is required, or optional with that value as its `default`
    (sending it means what leaving it out does). None otherwise: an optional one-value property without that
    default stays an argument, since sending it or not is a choice (`?expand=all`)."""
    value = _only_value(schema, conv, 0)
    if value is None:
        return None
    if not required and _default(schema, conv) != value[0]:
        return None
    return value


def _only_value(schema: Any, conv: SchemaConverter, depth: int) -> tuple[Any] | None:
    """The one value `schema` (a converted schema) admits by its `const` or one-value `enum`, looking through
    `$ref` and each `allOf` part; None when it fixes none (a `null` included: a parameter cannot send it)."""
    schema = conv.definition(schema)
    if not isinstance(schema, dict) or depth > 16:
        return None
    if "const" in schema:
        return None if schema["const"] is None else (schema["const"],)
    enum = schema.get("enum")
    if isinstance(enum, list) and len(enum) == 1:
        return None if enum[0] is None else (enum[0],)
    parts = schema.get("allOf")
    for part in parts if isinstance(parts, list) else ():
        found = _only_value(part, conv, depth + 1)
        if found is not None:
            return found
    return None


def _default(schema: Any, conv: SchemaConverter) -> Any:
    schema = conv.definition(schema)
    return schema.get("default", _NO_DEFAULT) if isinstance(schema, dict) else _NO_DEFAULT


def _param_schema(spec: ParamSpec, conv: SchemaConverter) -> Any:
    schema = conv.convert(spec.schema, spec.name) if spec.schema is not None else _STRING
    description = arg_description(spec.description, conv.policy)
    if spec.deprecated:
        description = f"Deprecated. {description}" if description else "Deprecated."
    return with_wire_name(conv.with_description(schema, description), spec.name, f"{spec.location} parameter", conv)


def with_wire_name(schema: Any, wire: str, what: str, conv: SchemaConverter) -> Any:
    """`schema` with `The '<wire>' <what>.` before its description when the wire name is not ASCII: the
    argument's name lost those letters (`größe` → `gr_e`, `日本` → `arg`), and the description is where the
    model reads what it stands for."""
    if wire.isascii() or not isinstance(schema, dict):
        return schema
    said = f"The '{wire}' {what}."
    current = schema.get("description")
    return conv.with_description(schema, f"{said} {current}" if current else said)


def _object_view(schema: Any, conv: SchemaConverter, depth: int = 0) -> tuple[dict[str, Any], list[str]] | None:
    """(properties, required) when a converted schema is a plain object that can be flattened."""
    schema = conv.definition(schema)
    if not isinstance(schema, dict) or depth > 8:
        return None
    if isinstance(schema.get("allOf"), list) and set(schema) <= {"allOf", "type", "description", "title"}:
        props: dict[str, Any] = {}
        req: list[str] = []
        for part in schema["allOf"]:
            view = _object_view(part, conv, depth + 1)
            if view is None:
                return None
            for name, sub in view[0].items():
                if name in props and props[name] is not sub:
                    return None
                props[name] = sub
            req += [r for r in view[1] if r not in req]
        return (props, req) if props else None
    if not set(schema) <= _STRUCTURAL_OK:
        return None
    if schema.get("type", "object") != "object":
        return None
    if schema.get("additionalProperties", False) not in (False, None):
        return None
    props = schema.get("properties")
    if not isinstance(props, dict) or not props:
        return None
    return props, list(schema.get("required", []))


def _body(
    body: BodySpec, conv: SchemaConverter, names: _Names, properties: dict[str, Any], required: list[str]
) -> BodyPlan:
    kind = media_kind(body.media_type)
    content_type = wire_content_type(body.media_type)
    description = arg_description(body.description, conv.policy)
    if kind in ("text", "binary"):
        arg = names.claim("body") if "body" not in names.taken else names.claim("request_body")
        is_file = kind == "binary"
        schema: Any = conv.convert(body.schema) if body.schema is not None and not is_file else _STRING
        if is_file:
            text = f"{description.rstrip('.')}. {FILE_HINT}" if description else FILE_HINT
            schema = {"type": "string", "description": text}
        else:
            schema = conv.with_description(schema, description)
        properties[arg] = schema
        if body.required:
            required.append(arg)
        return BodyPlan(kind, content_type, body.required, whole_arg=arg,
                        files=frozenset({arg}) if is_file else frozenset())
    converted = conv.convert(body.schema) if body.schema is not None else {}
    files = conv.file_properties(body.schema) if body.schema is not None and kind == "multipart" else frozenset()
    view = _object_view(converted, conv)
    if view is not None:
        props, sent = _sent_fields(*view, conv)
        req = view[1]
        planned = [(arg_name(p), p) for p in props]
        arg_names = [a for a, _ in planned]
        if len(set(arg_names)) == len(arg_names) and not (set(arg_names) & names.taken):
            for arg, prop in planned:
                names.taken.add(arg)
                properties[arg] = with_wire_name(props[prop], prop, "field of the request body", conv)
                if body.required and prop in req:
                    required.append(arg)
            return BodyPlan(kind, content_type, body.required, fields=tuple(planned),
                            encoding=body.encoding, files=files,
                            fixed=tuple((p, v[0]) for p, v in sent.items() if isinstance(v, tuple)),
                            fills=tuple((p, v) for p, v in sent.items() if isinstance(v, dict)))
    arg = names.claim("body") if "body" not in names.taken else names.claim("request_body")
    properties[arg] = conv.with_description(converted, description)
    if body.required:
        required.append(arg)
    return BodyPlan(kind, content_type, body.required, whole_arg=arg, encoding=body.encoding, files=files)


def _sent_fields(props: dict[str, Any], req: list[str], conv: SchemaConverter,
                 depth: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The properties of a flattened body (or of a required object inside one) the model still gives, and
    what mcprt sends itself in place of the others, by property: `(value,)` for one whose schema admits one
    value (`sent_value`: required, or optional with that value as its `default`) — a required object whose
    every property is so becomes such a value too — or, for a required object some of whose properties are
    so, a dict of the same shape, filled into the object the model gives (`plan.fill`). An object behind a
    recursive `$defs` definition is left whole: its one body serves every place it is used."""
    kept: dict[str, Any] = {}
    sent: dict[str, Any] = {}
    for name, sub in props.items():
        value = sent_value(sub, name in req, conv)
        if value is not None:
            sent[name] = value
            continue
        view = _object_view(sub, conv) if name in req and depth < 8 and conv.definition(sub) is sub else None
        if view is not None:
            inner, inner_sent = _sent_fields(*view, conv, depth + 1)
            if inner_sent and not inner:
                sent[name] = (_plain(inner_sent),)
                continue
            if inner_sent:
                sent[name] = inner_sent
                sub = _stripped(sub, inner, view[1])
        kept[name] = sub
    return kept, sent


def _plain(sent: dict[str, Any]) -> dict[str, Any]:
    """The object value a `_sent_fields` dict stands for when nothing in it is left to the model."""
    return {name: value[0] if isinstance(value, tuple) else _plain(value) for name, value in sent.items()}


def _stripped(schema: dict[str, Any], kept: dict[str, Any], req: list[str]) -> dict[str, Any]:
    """A copy of an object schema (plain, or an `allOf` of objects, as `_object_view` reads it) with only the
    `kept` properties: converted schemas are shared, so the one in place is never changed."""
    if "allOf" in schema:
        out: dict[str, Any] = {k: schema[k] for k in ("description", "title") if k in schema}
        out["type"] = "object"
    else:
        out = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    out["properties"] = kept
    still = [r for r in req if r in kept]
    if still:
        out["required"] = still
    return out
