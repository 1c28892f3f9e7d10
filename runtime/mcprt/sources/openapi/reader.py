"""Reading a document's operations into the internal model (OpenAPI 3.0/3.1 and Swagger 2.0).

Problems of the whole document (not OpenAPI, no `paths`, `paths` not an object) are SpecErrors
naming the document and JSON pointer. A problem of one element skips only that element, with a
warning naming its JSON pointer (`DocumentModel.skipped` keeps the errors): a parameter without a
usable `name`/`in` or that does not resolve is left out — its whole operation when the parameter
is required (the operation cannot work without it) — and an operation or path item that cannot be
read is left out. Odd but legal things (unknown parameter locations, undeclared path parameters,
unsupported keywords) degrade with a warning too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from mcprt.cancellation import check_abandoned
from mcprt.errors import SpecError

from .media import choose_media_type, media_kind
from .model import BodySpec, OperationSpec, ParamSpec, PropertyEncoding, SchemaRef, ServerSpec, UnreadOperation
from .refs import Resolver, join

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
LOCATIONS = ("path", "query", "header", "cookie")
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_TEMPLATE_VAR = re.compile(r"{([^{}]+)}")
_SUCCESS_CODE = re.compile(r"2\d\d")


@dataclass
class DocumentModel:
    """What a document holds that compiling needs: version, operations, servers, security."""

    version: str  # "2.0", "3.0" or "3.1"
    title: str | None
    operations: list[OperationSpec]
    servers: list[ServerSpec]
    security: list[dict[str, Any]]
    schemes: dict[str, dict[str, Any]]  # raw security scheme objects, dereferenced
    warnings: list[str] = field(default_factory=list)
    # elements left out outside any operation (each also a warning); an operation's own are with it
    skipped: list[SpecError] = field(default_factory=list)
    unread: list[UnreadOperation] = field(default_factory=list)  # operations skipped, with their warnings


class _Reader:
    def __init__(self, resolver: Resolver, uri: str) -> None:
        self.resolver = resolver
        self.uri = uri
        self.label = resolver.label(uri)
        self.warnings: list[str] = []
        self.skipped: list[SpecError] = []
        self.unread: list[UnreadOperation] = []

    def read_operation(self, path: str, method: str, raw: Any, op_ptr: str,
                       read: Callable[[dict[str, Any]], OperationSpec]) -> OperationSpec | None:
        """One operation read by `read`, its own warnings and skipped elements kept with it
        (`OperationSpec.warnings`, `.skipped`), not the document's: the compile reports them only for
        operations `include`/`exclude` serve. One that cannot be read is skipped (None), kept in `unread`
        with what a filter can match of it."""
        mark, skip_mark = len(self.warnings), len(self.skipped)
        try:
            op = self.mapping(raw, op_ptr, "an operation")
            spec = read(op)
        except SpecError as exc:
            self.skip(exc, "operation")
            known = raw if isinstance(raw, dict) else {}
            op_id = known.get("operationId")
            self.unread.append(UnreadOperation(method.upper(), path, op_id if isinstance(op_id, str) else None,
                                               self.tags(known), self.warnings[mark:], self.skipped[skip_mark:]))
            del self.warnings[mark:], self.skipped[skip_mark:]
            return None
        spec.warnings, spec.skipped = self.warnings[mark:], self.skipped[skip_mark:]
        del self.warnings[mark:], self.skipped[skip_mark:]
        return spec

    def skip(self, error: SpecError, what: str) -> None:
        """Leave one element out: a warning naming its pointer, and the error kept for the caller."""
        self.skipped.append(error)
        self.warnings.append(f"{error}; {what} skipped")

    def fail(self, pointer: str, message: str) -> SpecError:
        return SpecError(self.label, pointer, message)

    def warn(self, pointer: str, message: str) -> None:
        self.warnings.append(f"{self.label}#{pointer}: {message}")

    def success_schema(
        self, raw: Any, uri: str, pointer: str, produces: list[str] | None, default: bool = False
    ) -> SchemaRef | None:
        """The schema of the success response in JSON: the lowest 2xx code (then `2XX`) that has one.

        OpenAPI 3.x: `content` with a JSON media type; Swagger 2.0 (`produces` given): the
        response's `schema` when the operation produces JSON (or declares nothing). `default` is
        used (`default=True` gives its schema instead: some APIs send errors with status 200).
        """
        if not isinstance(raw, dict):
            return None
        if default:
            codes = ["default"] if "default" in raw else []
        else:
            codes = sorted((str(c) for c in raw if _SUCCESS_CODE.fullmatch(str(c))), key=int)
            codes += [c for c in raw if str(c).upper() == "2XX"]
        for code in codes:
            try:
                response, r_uri, r_ptr = self.resolver.deref(raw[code], uri, join(pointer, code))
            except SpecError:
                continue  # response_types already warned
            if not isinstance(response, dict):
                continue
            if produces is not None:
                if "schema" in response and (not produces or any(media_kind(t) == "json" for t in produces)):
                    return SchemaRef(response["schema"], r_uri, join(r_ptr, "schema"))
                continue
            content = response.get("content")
            if not isinstance(content, dict):
                continue
            for media_type, media in content.items():
                if isinstance(media, dict) and "schema" in media and media_kind(str(media_type)) == "json":
                    return SchemaRef(media["schema"], r_uri, join(r_ptr, "content", str(media_type), "schema"))
        return None

    def mapping(self, value: Any, pointer: str, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(pointer, f"{what} must be an object, got {_type_name(value)}")
        return value

    def listing(self, value: Any, pointer: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(pointer, f"{what} must be an array, got {_type_name(value)}")
        return value

    def text(self, value: Any) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    def path_items(self, root: dict[str, Any], required: bool) -> list[tuple[str, dict[str, Any], str, str]]:
        """(path, path item, uri, pointer) for every path, following path item `$ref`s."""
        if "paths" not in root:
            if required:
                raise self.fail("", "the document has no `paths`")
            self.warn("", "the document has no `paths`; no tools")
            return []
        paths = root["paths"]
        if paths is None:
            return []
        paths = self.mapping(paths, "/paths", "`paths`")
        items = []
        for path, item in paths.items():
            check_abandoned()  # reading a huge document's paths: a superseded reload stops here
            pointer = join("/paths", path)
            if not isinstance(path, str) or not path.startswith("/"):
                if not (isinstance(path, str) and path.startswith("x-")):
                    self.warn(pointer, "path does not start with `/`; skipped")
                continue
            if item is None:
                continue
            try:
                item, uri, target = self.resolver.deref(item, self.uri, pointer)
                items.append((path, self.mapping(item, target, "a path item"), uri, target))
            except SpecError as exc:
                self.skip(exc, "path item")
        return items

    def param_list(self, raw: Any, uri: str, pointer: str) -> list[tuple[dict[str, Any], str, str]]:
        if raw is None:
            return []
        params = []
        for index, param in enumerate(self.listing(raw, pointer, "`parameters`")):
            where = join(pointer, index)
            try:
                param, p_uri, p_ptr = self.resolver.deref(param, uri, where)
                params.append((self.mapping(param, p_ptr, "a parameter"), p_uri, p_ptr))
            except SpecError as exc:  # unknown whether it was required: the operation may still work
                self.skip(exc, "parameter")
        return params

    def merged_params(
        self, item: dict[str, Any], op: dict[str, Any], uri: str, item_ptr: str, op_ptr: str
    ) -> list[tuple[dict[str, Any], str, str]]:
        """Path-level parameters, replaced by operation-level ones with the same name and location."""
        path_level = self.param_list(item.get("parameters"), uri, join(item_ptr, "parameters"))
        op_level = self.param_list(op.get("parameters"), uri, join(op_ptr, "parameters"))
        keys = {(p.get("name"), p.get("in")) for p, _, _ in op_level}
        return [p for p in path_level if (p[0].get("name"), p[0].get("in")) not in keys] + op_level

    def check_param(self, param: dict[str, Any], pointer: str) -> tuple[str, str] | None:
        """(name, location), or None (with a warning) for a parameter that cannot be sent; a SpecError
        when it is required, so its operation, which cannot work without it, is skipped."""
        name, location = param.get("name"), param.get("in")
        problem = None
        if not isinstance(location, str) or not location:
            problem = "a parameter needs an `in` string"
        elif (not isinstance(name, str) or not name) and location != "body":
            problem = "a parameter needs a non-empty `name` string"
        if problem is None:
            return str(name or "body"), str(location)
        if location == "path" or param.get("required") is True:
            raise self.fail(pointer, f"{problem}, and this one is required")
        self.skip(self.fail(pointer, problem), "parameter")
        return None

    def complete_path_params(self, path: str, params: list[ParamSpec], op_ptr: str) -> list[ParamSpec]:
        """Declare template variables the document forgot; drop path parameters the path lacks."""
        names = _TEMPLATE_VAR.findall(path)
        declared = {p.name for p in params if p.location == "path"}
        kept = []
        for p in params:
            if p.location == "path" and p.name not in names:
                self.warn(op_ptr, f"path parameter `{p.name}` is not in the path {path}; ignored")
                continue
            kept.append(p)
        for name in names:
            if name not in declared:
                self.warn(op_ptr, f"path variable `{name}` has no parameter; treated as a required string")
                kept.append(ParamSpec(name, "path", True, None, style="simple", explode=False))
                declared.add(name)
        return kept

    def servers(self, raw: Any, uri: str, pointer: str) -> list[ServerSpec] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            self.warn(pointer, "`servers` is not an array; ignored")
            return None
        result = []
        for index, server in enumerate(raw):
            where = join(pointer, index)
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                self.warn(where, "server without a `url` string; ignored")
                continue
            variables = server.get("variables") if isinstance(server.get("variables"), dict) else {}
            result.append(ServerSpec(server["url"], variables, uri, where))
        return result or None

    def tags(self, op: dict[str, Any]) -> list[str]:
        tags = op.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def security(self, op: dict[str, Any], pointer: str) -> list[dict[str, Any]] | None:
        if "security" not in op:
            return None
        sec = op["security"]
        if sec is None:
            return None
        if not isinstance(sec, list):
            self.warn(join(pointer, "security"), "`security` is not an array; ignored")
            return None
        return [s for s in sec if isinstance(s, dict)]


# --- OpenAPI 3.0 / 3.1 -----------------------------------------------------------------------------


class OpenAPI3Reader(_Reader):
    def read(self, root: dict[str, Any], version: str) -> DocumentModel:
        ops: list[OperationSpec] = []
        for path, item, uri, item_ptr in self.path_items(root, required=version == "3.0"):
            item_servers = self.servers(item.get("servers"), uri, join(item_ptr, "servers"))
            for method in METHODS:
                if method not in item:
                    continue
                op_ptr = join(item_ptr, method)
                spec = self.read_operation(path, method, item[method], op_ptr, lambda op: self.operation(
                    path, method, item, op, uri, item_ptr, op_ptr, item_servers))  # noqa: B023 (called at once)
                if spec is not None:
                    ops.append(spec)
        components = root.get("components") if isinstance(root.get("components"), dict) else {}
        return DocumentModel(
            version=version,
            title=_title(root),
            operations=ops,
            servers=self.servers(root.get("servers"), self.uri, "/servers") or [],
            security=self.security(root, "") or [],
            schemes=self.schemes(components.get("securitySchemes"), "/components/securitySchemes"),
            warnings=self.warnings,
            skipped=self.skipped,
            unread=self.unread,
        )

    def schemes(self, raw: Any, pointer: str) -> dict[str, dict[str, Any]]:
        if not isinstance(raw, dict):
            return {}
        result = {}
        for name, scheme in raw.items():
            scheme, _, _ = self.resolver.deref(scheme, self.uri, join(pointer, name))
            if isinstance(scheme, dict):
                result[name] = scheme
        return result

    def operation(
        self,
        path: str,
        method: str,
        item: dict[str, Any],
        op: dict[str, Any],
        uri: str,
        item_ptr: str,
        op_ptr: str,
        item_servers: list[ServerSpec] | None,
    ) -> OperationSpec:
        params: list[ParamSpec] = []
        for param, p_uri, p_ptr in self.merged_params(item, op, uri, item_ptr, op_ptr):
            spec = self.parameter(param, p_uri, p_ptr)
            if spec is not None:
                params.append(spec)
        params = self.complete_path_params(path, params, op_ptr)
        body = None
        if op.get("requestBody") is not None:
            body = self.request_body(op["requestBody"], uri, join(op_ptr, "requestBody"))
        op_servers = self.servers(op.get("servers"), uri, join(op_ptr, "servers"))
        return OperationSpec(
            method=method.upper(),
            path=path,
            pointer=op_ptr,
            uri=uri,
            operation_id=self.text(op.get("operationId")),
            summary=self.text(op.get("summary")) or self.text(item.get("summary")),
            description=self.text(op.get("description")) or self.text(item.get("description")),
            tags=self.tags(op),
            deprecated=op.get("deprecated") is True,
            params=params,
            body=body,
            servers=op_servers or item_servers,
            security=self.security(op, op_ptr),
            response_types=self.response_types(op.get("responses"), uri, join(op_ptr, "responses")),
            answer_types=self.answer_types(op.get("responses"), uri, join(op_ptr, "responses")),
            response_schema=self.success_schema(op.get("responses"), uri, join(op_ptr, "responses"), None),
            default_schema=self.success_schema(op.get("responses"), uri, join(op_ptr, "responses"), None, True),
        )

    def parameter(self, param: dict[str, Any], uri: str, pointer: str) -> ParamSpec | None:
        checked = self.check_param(param, pointer)
        if checked is None:
            return None
        name, location = checked
        if location not in LOCATIONS:
            self.warn(pointer, f"parameter `{name}` has unknown location `{location}`; ignored")
            return None
        if location == "header" and name.lower() in IGNORED_HEADERS:
            return None
        style = param.get("style")
        default_style = "simple" if location in ("path", "header") else "form"
        if not isinstance(style, str):
            style = default_style
        explode = param.get("explode")
        if not isinstance(explode, bool):
            explode = style == "form"
        schema: SchemaRef | None = None
        content_type = None
        if "schema" in param:
            schema = SchemaRef(param["schema"], uri, join(pointer, "schema"))
        elif isinstance(param.get("content"), dict) and param["content"]:
            content_type = next(iter(param["content"]))
            media = param["content"][content_type]
            if isinstance(media, dict) and "schema" in media:
                schema = SchemaRef(media["schema"], uri, join(pointer, "content", content_type, "schema"))
        return ParamSpec(
            name=name,
            location=location,
            required=location == "path" or param.get("required") is True,
            schema=schema,
            description=self.text(param.get("description")),
            style=style,
            explode=explode,
            allow_reserved=param.get("allowReserved") is True,
            content_type=content_type,
            deprecated=param.get("deprecated") is True,
        )

    def request_body(self, raw: Any, uri: str, pointer: str) -> BodySpec | None:
        body, uri, pointer = self.resolver.deref(raw, uri, pointer)
        body = self.mapping(body, pointer, "`requestBody`")
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            self.warn(pointer, "request body without `content`; ignored")
            return None
        media_type = choose_media_type([k for k in content if isinstance(k, str)])
        if media_type is None:
            return None
        media_ptr = join(pointer, "content", media_type)
        media, m_uri, media_ptr = self.resolver.deref(content[media_type], uri, media_ptr)
        media = media if isinstance(media, dict) else {}
        schema = SchemaRef(media["schema"], m_uri, join(media_ptr, "schema")) if "schema" in media else None
        return BodySpec(
            media_type=media_type,
            required=body.get("required") is True,
            schema=schema,
            description=self.text(body.get("description")),
            encoding=self.encoding(media.get("encoding"), media_type),
        )

    def encoding(self, raw: Any, media_type: str) -> dict[str, PropertyEncoding]:
        if not isinstance(raw, dict):
            return {}
        result = {}
        kind = media_kind(media_type)
        for prop, enc in raw.items():
            if not isinstance(enc, dict):
                continue
            style = enc.get("style") if isinstance(enc.get("style"), str) else "form"
            explode = enc.get("explode") if isinstance(enc.get("explode"), bool) else style == "form"
            content_type = enc.get("contentType") if isinstance(enc.get("contentType"), str) else None
            if kind == "multipart" and "style" not in enc and "explode" not in enc:
                style, explode = "form", True
            result[prop] = PropertyEncoding(content_type, style, explode, enc.get("allowReserved") is True,
                                            styled="style" in enc or "explode" in enc)
        return result

    def response_types(self, raw: Any, uri: str, pointer: str) -> list[str]:
        """The media types an `Accept` header offers: the first 2xx response's that documents content
        (with `default`'s before it)."""
        found: list[str] = []
        for code, types in self.answer_types(raw, uri, pointer).items():
            found.extend(t for t in types if t not in found)
            if code != "default" and found:
                break
        return found

    def answer_types(self, raw: Any, uri: str, pointer: str) -> dict[str, list[str]]:
        """Each success status code's (`2xx`, `2XX`, `default`) documented media types, in document
        order (OpenAPI 3.x `responses` object, OAS 3.1 §4.8.16). A response in another file is left
        empty (only the answer check reads it, and never loads a document for that): empty documents
        nothing, so any answer goes."""
        if not isinstance(raw, dict):
            return {}
        found: dict[str, list[str]] = {}
        for code, response in raw.items():
            code = str(code)
            if not (code.startswith("2") or code == "default"):
                continue
            found[code] = []
            if isinstance(response, dict) and not str(response.get("$ref", "#")).startswith("#"):
                continue
            try:
                response, _, _ = self.resolver.deref(response, uri, join(pointer, code))
            except SpecError as exc:
                self.warn(exc.pointer, exc.message)
                continue
            content = response.get("content") if isinstance(response, dict) else None
            if isinstance(content, dict):
                found[code] = list(dict.fromkeys(k for k in content if isinstance(k, str)))
        return found


# --- Swagger 2.0 ------------------------------------------------------------------------------------

_SIMPLE_KEYS = (
    "type", "format", "enum", "default", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "multipleOf", "x-nullable",
)
_COLLECTION = {
    # collectionFormat → (style in query, explode, delimiter override)
    "csv": ("form", False, None),
    "ssv": ("spaceDelimited", False, None),
    "tsv": ("form", False, "\t"),
    "pipes": ("pipeDelimited", False, None),
    "multi": ("form", True, None),
}

# collectionFormat → the character between a path or header array's items (csv is the `simple` style's own)
_SEPARATED = {"ssv": " ", "tsv": "\t", "pipes": "|"}


def swagger_item_schema(param: dict[str, Any]) -> dict[str, Any]:
    """A JSON-Schema-like node for a non-body Swagger 2 parameter (or `items` of one)."""
    schema = {k: param[k] for k in _SIMPLE_KEYS if k in param}
    if isinstance(param.get("items"), dict):
        items = param["items"]
        schema["items"] = items if "$ref" in items else swagger_item_schema(items)
    return schema


class Swagger2Reader(_Reader):
    produces: list[str] = []  # the document's `produces`, operations inherit it

    def read(self, root: dict[str, Any]) -> DocumentModel:
        consumes = _str_list(root.get("consumes"))
        self.produces = _str_list(root.get("produces"))
        ops: list[OperationSpec] = []
        for path, item, uri, item_ptr in self.path_items(root, required=True):
            for method in METHODS:
                if method not in item:
                    continue
                op_ptr = join(item_ptr, method)
                spec = self.read_operation(path, method, item[method], op_ptr, lambda op: self.operation(
                    path, method, item, op, uri, item_ptr, op_ptr, consumes))  # noqa: B023 (called at once)
                if spec is not None:
                    ops.append(spec)
        return DocumentModel(
            version="2.0",
            title=_title(root),
            operations=ops,
            servers=self.servers_from_host(root),
            security=self.security(root, "") or [],
            schemes=self.schemes(root.get("securityDefinitions")),
            warnings=self.warnings,
            skipped=self.skipped,
            unread=self.unread,
        )

    def servers_from_host(self, root: dict[str, Any]) -> list[ServerSpec]:
        schemes = _str_list(root.get("schemes"))
        scheme = "https" if "https" in schemes or not schemes else schemes[0]
        host = root.get("host") if isinstance(root.get("host"), str) else None
        base_path = root.get("basePath") if isinstance(root.get("basePath"), str) else ""
        if base_path and not base_path.startswith("/"):
            base_path = "/" + base_path
        url = f"{scheme}://{host}{base_path}" if host else (base_path or "/")
        return [ServerSpec(url, {}, self.uri, "/host")]

    def schemes(self, raw: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(raw, dict):
            return {}
        result: dict[str, dict[str, Any]] = {}
        for name, scheme in raw.items():
            if not isinstance(scheme, dict):
                continue
            kind = scheme.get("type")
            if kind == "basic":
                result[name] = {"type": "http", "scheme": "basic"}
            elif kind == "apiKey":
                result[name] = {"type": "apiKey", "name": scheme.get("name"), "in": scheme.get("in")}
            elif kind == "oauth2":
                flow = {"application": "clientCredentials", "accessCode": "authorizationCode"}.get(
                    scheme.get("flow"), scheme.get("flow")
                )
                result[name] = {
                    "type": "oauth2",
                    "flows": {str(flow): {"tokenUrl": scheme.get("tokenUrl"), "scopes": scheme.get("scopes") or {}}},
                }
            else:
                result[name] = dict(scheme)
        return result

    def operation(
        self,
        path: str,
        method: str,
        item: dict[str, Any],
        op: dict[str, Any],
        uri: str,
        item_ptr: str,
        op_ptr: str,
        global_consumes: list[str],
    ) -> OperationSpec:
        consumes = _str_list(op["consumes"]) if "consumes" in op else global_consumes
        params: list[ParamSpec] = []
        body: BodySpec | None = None
        form: list[tuple[dict[str, Any], str, str]] = []
        for param, p_uri, p_ptr in self.merged_params(item, op, uri, item_ptr, op_ptr):
            checked = self.check_param(param, p_ptr)
            if checked is None:
                continue
            name, location = checked
            if location == "body":
                media = choose_media_type(consumes) or "application/json"
                if media_kind(media) in ("form", "multipart"):
                    media = "application/json"
                schema = SchemaRef(param["schema"], p_uri, join(p_ptr, "schema")) if "schema" in param else None
                body = BodySpec(media, param.get("required") is True, schema, self.text(param.get("description")))
            elif location == "formData":
                form.append((param, p_uri, p_ptr))
            elif location in ("path", "query", "header"):
                if location == "header" and name.lower() in IGNORED_HEADERS:
                    continue
                params.append(self.parameter(param, name, location, p_uri, p_ptr))
            else:
                self.warn(p_ptr, f"parameter `{name}` has unknown location `{location}`; ignored")
        if form and body is None:
            body = self.form_body(form, consumes, uri, op_ptr)
        params = self.complete_path_params(path, params, op_ptr)
        # An operation's `produces` replaces the document's, which it otherwise inherits (Swagger 2.0
        # "Operation Object": "overrides the produces definition at the Swagger Object").
        produces = _str_list(op.get("produces")) if "produces" in op else self.produces
        return OperationSpec(
            method=method.upper(),
            path=path,
            pointer=op_ptr,
            uri=uri,
            operation_id=self.text(op.get("operationId")),
            summary=self.text(op.get("summary")),
            description=self.text(op.get("description")),
            tags=self.tags(op),
            deprecated=op.get("deprecated") is True,
            params=params,
            body=body,
            servers=None,
            security=self.security(op, op_ptr),
            response_types=produces,
            answer_types={"2XX": produces},  # one list for every response of the operation
            response_schema=self.success_schema(op.get("responses"), uri, join(op_ptr, "responses"), produces),
            default_schema=self.success_schema(op.get("responses"), uri, join(op_ptr, "responses"), produces, True),
        )

    def parameter(self, param: dict[str, Any], name: str, location: str, uri: str, pointer: str) -> ParamSpec:
        style = "form" if location == "query" else "simple"
        explode, delimiter = False, None
        if param.get("type") == "array":
            fmt = param.get("collectionFormat", "csv")
            q_style, explode, delimiter = _COLLECTION.get(fmt, _COLLECTION["csv"])
            if location == "query":
                style = q_style
            elif fmt in _SEPARATED:  # Swagger 2.0 §Parameter Object: csv, ssv, tsv, pipes for every location
                explode, delimiter = False, _SEPARATED[fmt]
            elif fmt != "csv":  # `multi`: query and formData only
                self.warn(pointer, f"collectionFormat `{fmt}` is not defined for {location}; csv used")
                explode, delimiter = False, None
        return ParamSpec(
            name=name,
            location=location,
            required=location == "path" or param.get("required") is True,
            schema=SchemaRef(swagger_item_schema(param), uri, pointer),
            description=self.text(param.get("description")),
            style=style,
            explode=explode,
            delimiter=delimiter,
        )

    def form_body(
        self, form: list[tuple[dict[str, Any], str, str]], consumes: list[str], uri: str, op_ptr: str
    ) -> BodySpec:
        has_file = any(p.get("type") == "file" for p, _, _ in form)
        kinds = [media_kind(c) for c in consumes]
        if "multipart" in kinds and (has_file or "form" not in kinds):
            media = "multipart/form-data"
        elif "form" in kinds and not has_file:
            media = "application/x-www-form-urlencoded"
        else:
            media = "multipart/form-data" if has_file else "application/x-www-form-urlencoded"
        properties: dict[str, Any] = {}
        required: list[str] = []
        encoding: dict[str, PropertyEncoding] = {}
        for param, _, _ in form:
            name = param["name"]
            schema = swagger_item_schema(param)
            if isinstance(param.get("description"), str):
                schema["description"] = param["description"]
            properties[name] = schema
            if param.get("required") is True:
                required.append(name)
            if param.get("type") == "array":
                q_style, explode, _ = _COLLECTION.get(param.get("collectionFormat", "csv"), _COLLECTION["csv"])
                encoding[name] = PropertyEncoding(None, q_style, explode)
        schema_node: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema_node["required"] = required
        return BodySpec(media, bool(required), SchemaRef(schema_node, uri, join(op_ptr, "parameters")),
                        encoding=encoding)


# --- entry ------------------------------------------------------------------------------------------


def read_document(resolver: Resolver) -> DocumentModel:
    """Detect the version and read every operation of the root document."""
    doc = resolver.doc
    root = doc.data
    reader_label = doc.location
    if not isinstance(root, dict):
        raise SpecError(reader_label, "", f"an API description must be an object, got {_type_name(root)}")
    if "openapi" in root:
        version = str(root["openapi"])
        if version.startswith("3.0"):
            return OpenAPI3Reader(resolver, doc.uri).read(root, "3.0")
        if version.startswith("3."):
            return OpenAPI3Reader(resolver, doc.uri).read(root, "3.1")
        raise SpecError(reader_label, "/openapi", f"unsupported OpenAPI version {version!r} (3.0, 3.1 and 2.0 are)")
    if "swagger" in root:
        if str(root["swagger"]).startswith("2"):
            return Swagger2Reader(resolver, doc.uri).read(root)
        raise SpecError(reader_label, "/swagger", f"unsupported Swagger version {root['swagger']!r} (2.0 is)")
    raise SpecError(reader_label, "", "not an OpenAPI or Swagger document (no `openapi` or `swagger` field)")


def _title(root: dict[str, Any]) -> str | None:
    info = root.get("info")
    return info.get("title") if isinstance(info, dict) and isinstance(info.get("title"), str) else None


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__
    )
