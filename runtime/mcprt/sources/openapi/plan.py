"""The request plan of one operation: tool arguments → BuiltRequest, pure and network-free.

Built at compile time (and pickled in the compile cache), so a call does no spec work: it fills the
path template, serializes parameters by style, encodes the body and returns the request. Arguments
are validated against the input schema before this runs; build() is still safe on its own: missing
path values and header injection are refused with a ToolCallError a model can act on.

Explicit `null` (the one rule, for every location):
- JSON bodies carry it: a flattened body property given `null` is sent as `"prop": null` (JSON
  Merge Patch, RFC 7396, clears a field that way) and a whole JSON body given `null` is the body
  `null`. The input schema says where null is allowed (3.0 `nullable`, 3.1 `type: [..., "null"]`).
- Parameters (path, query, header, cookie) and form, multipart and text bodies have no wire form
  for null: an optional one given `null` is left out, exactly as if it were not given; a required
  one given `null` is refused with a ToolCallError naming it (nothing is sent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from mcprt import path_segments
from mcprt.errors import ToolCallError
from mcprt.observability.hooks import Route
from mcprt.outbound.request import BuiltRequest

from . import bodies, styles
from .media import MediaKind
from .model import PropertyEncoding

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_TEMPLATE = re.compile(r"{([^{}]+)}")
_LITERAL_SAFE = "/:@!$&'()*+,;=-._~%"


@lru_cache(maxsize=4096)  # path pieces recur (`/repos/`, `/issues/`): quoted once each
def _literal(text: str) -> str:
    """Literal path text percent-encoded, reserved characters and existing escapes kept."""
    return quote(text, safe=_LITERAL_SAFE)


@dataclass(slots=True)
class ParamPlan:
    arg: str  # tool argument name
    name: str  # wire name
    location: str  # path | query | header | cookie
    style: str
    explode: bool
    required: bool = False
    allow_reserved: bool = False
    json_content: bool = False  # `content: application/json` parameter: the value is sent as JSON text
    delimiter: str | None = None
    # The one value the parameter's schema admits (`inputs.sole_value`), sent on every call: such a
    # parameter is no argument (`arg` is ""), as a manifest's `fixed` one is not (AWS's `X-Amz-Target`)
    fixed: tuple[Any, ...] = ()


@dataclass(slots=True)
class BodyPlan:
    kind: MediaKind
    content_type: str  # what is sent (wildcards made concrete)
    required: bool
    whole_arg: str | None = None  # the body is this one argument …
    fields: tuple[tuple[str, str], ...] = ()  # … or these (argument, property) pairs, flattened
    encoding: dict[str, PropertyEncoding] = field(default_factory=dict)
    files: frozenset[str] = frozenset()  # file properties (multipart), or the whole body is a file
    # Flattened bodies: (property, value) pairs whose schema admits one value, sent by mcprt whenever the body
    # is (`inputs._sent_fields`: AWS query-protocol `Action`/`Version`) and no argument; and (property, fill)
    # pairs, a required object whose required one-value properties are filled into the object given (`fill`)
    fixed: tuple[tuple[str, Any], ...] = ()
    fills: tuple[tuple[str, Any], ...] = ()


@dataclass(slots=True)
class RequestPlan:
    method: str
    path: str  # the template as in the document, e.g. /repos/{owner}/{repo}
    base_url: str | None
    params: tuple[ParamPlan, ...] = ()
    body: BodyPlan | None = None
    accept: str | None = None
    _pieces: tuple[str | int, ...] = ()  # literal text and indexes into params, from the template
    _fixed_query: str = ""
    _route: Route | None = None  # the path template without its fixed query or fragment, and the query's
    # declared names, its fixed query's included (BuiltRequest.route)

    def __post_init__(self) -> None:
        # A `#…` in a documented path is a fragment (some documents use it to tell variants
        # apart); fragments are never sent, so it is dropped.
        template, _, query = self.path.split("#", 1)[0].partition("?")
        self._fixed_query = query
        fixed = {piece.split("=", 1)[0] for piece in query.split("&") if piece}
        self._route = Route(template, frozenset({p.name for p in self.params if p.location == "query"} | fixed))
        by_name = {p.name: i for i, p in enumerate(self.params) if p.location == "path"}
        pieces: list[str | int] = []
        last = 0
        for match in _TEMPLATE.finditer(template):
            if match.start() > last:
                pieces.append(_literal(template[last : match.start()]))
            index = by_name.get(match.group(1))
            pieces.append(index if index is not None else _literal(match.group(0)))
            last = match.end()
        if last < len(template):
            pieces.append(_literal(template[last:]))
        self._pieces = tuple(pieces)

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    def describe(self) -> dict[str, Any]:
        """What the request is made of, JSON-able, for review (`OpenAPIKind.request_of`, `mcprt diff`): method,
        path template, each argument's wire place (`{"in": "query", "name": "state", "style": "form",
        "explode": true, ...}`), the body's media type and fields, and `Accept`. Not the base URL: a replay
        points it elsewhere (the source's `base_url` and the document's servers are compared apart)."""
        parameters = {p.arg: {"in": p.location, "name": p.name, "style": p.style, "explode": p.explode,
                              "required": p.required, "allowReserved": p.allow_reserved,
                              "json": p.json_content, "delimiter": p.delimiter} for p in self.params if not p.fixed}
        described: dict[str, Any] = {"method": self.method, "path": self.path, "parameters": parameters}
        fixed = {f"{p.location} {p.name}": p.fixed[0] for p in self.params if p.fixed}
        if self.body is not None:
            fixed.update((f"body {prop}", value) for prop, value in self.body.fixed)
            for prop, sent in self.body.fills:
                fixed.update((f"body {prop}.{path}", value) for path, value in _fill_paths(sent))
        if fixed:  # sent on every call, set by the document (`ParamPlan.fixed`), never by an argument
            described["fixed"] = fixed
        if self.body is not None:
            described["body"] = {
                "contentType": self.body.content_type, "required": self.body.required,
                "argument": self.body.whole_arg, "fields": {arg: prop for arg, prop in self.body.fields},
                "encoding": {name: {"contentType": e.content_type, "style": e.style, "explode": e.explode,
                                    "allowReserved": e.allow_reserved} for name, e in self.body.encoding.items()},
                "files": sorted(self.body.files)}
        if self.accept:
            described["accept"] = self.accept
        return described

    def build(self, arguments: dict[str, Any], base_url: str | None = None,
              path_slashes: frozenset[str] = frozenset()) -> BuiltRequest:
        """The HTTP request for these arguments (ToolCallError when they cannot make one).

        `path_slashes`: path parameters (wire names) whose values may hold `/` or `\\` (the source's
        `path_slashes`); any other path value holding one is refused."""
        if not isinstance(arguments, dict):
            raise ToolCallError("Arguments must be a JSON object.")
        base = base_url or self.base_url
        if not base:
            raise ToolCallError(
                "This tool has no base URL: the API description names no usable server; set `base_url` "
                "for this source in the manifest."
            )
        url = base.rstrip("/") + self._build_path(arguments, path_slashes)
        query: list[str] = [self._fixed_query] if self._fixed_query else []
        headers: list[tuple[str, str]] = []
        cookies: list[tuple[str, str]] = []
        for p in self.params:
            if p.location == "path":
                continue
            value = p.fixed[0] if p.fixed else arguments.get(p.arg)
            if value is None:
                if p.required:
                    raise _missing(p.arg, f"{p.location} parameter `{p.name}`", p.arg in arguments)
                continue
            if p.json_content:
                value = styles.atom(value) if isinstance(value, str) else bodies.json_body(value).decode()
            if p.location == "query":
                if isinstance(value, dict) and p.explode and p.style == "form":
                    self._refuse_taken_names(p, value)
                query.extend(styles.query_pieces(p.name, value, p.style, p.explode, p.allow_reserved, p.delimiter))
            elif p.location == "header":
                headers.append((p.name, styles.header_value(p.arg, value, p.explode, p.delimiter)))
            elif p.location == "cookie":
                cookies.extend(styles.cookie_pairs(p.name, value, p.explode))
        if query:
            url += ("&" if "?" in url else "?") + "&".join(q for q in query if q)
        if self.accept:
            headers.append(("Accept", self.accept))
        body, content_type = self._build_body(arguments)
        return BuiltRequest(
            method=self.method,
            url=url,
            headers=headers,
            cookies=cookies,
            body=body,
            content_type=content_type,
            idempotent=self.idempotent,
            route=self._route,
        )

    def _refuse_taken_names(self, param: ParamPlan, value: dict[str, Any]) -> None:
        """An exploded form object sends each key as a query parameter of its own (OAS 3.1 §4.8.12.4.1): a key
        naming another of the operation's query parameters (a `fixed` one, one of the path's fixed query)
        would add a second value to it, which many frameworks read first."""
        assert self._route is not None
        taken = sorted(k for k in value if k in self._route.query and k != param.name and value[k] is not None)
        if taken:
            raise ToolCallError(f"Argument `{param.arg}` has the key `{taken[0]}`, which is sent as a query parameter "
                                f"of its own and would duplicate the operation's parameter `{taken[0]}`; leave it "
                                "out of the object.")

    def _build_path(self, arguments: dict[str, Any], path_slashes: frozenset[str]) -> str:
        out: list[str] = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            p = self.params[piece]
            value = p.fixed[0] if p.fixed else arguments.get(p.arg)
            if value is None:
                raise _missing(p.arg, f"path parameter `{p.name}` (part of the URL path)", p.arg in arguments)
            if p.json_content:
                value = styles.atom(value) if isinstance(value, str) else bodies.json_body(value).decode()
            if isinstance(value, str) and not value and p.style == "simple":
                raise ToolCallError(f"Argument `{p.arg}` must not be empty (it is part of the URL path).")
            _refuse_dot_segments(p.arg, value)
            if p.name not in path_slashes:
                _refuse_separators(p.arg, p.name, value)
            out.append(styles.path_value(p.name, value, p.style, p.explode, p.delimiter))
        path = "".join(out)
        if _has_dot_segment(path):  # made by a value with its style's prefix (label: `.` + `.`)
            names = ", ".join(f"`{self.params[i].arg}`" for i in self._pieces if not isinstance(i, str))
            raise ToolCallError(f"Arguments {names} would make a '.' or '..' segment of the URL path, which servers "
                                "read as a step up the path; give other values.")
        return path

    def _build_body(self, arguments: dict[str, Any]) -> tuple[bytes | None, str | None]:
        plan = self.body
        if plan is None:
            return None, None
        is_json = plan.kind == "json"
        if plan.whole_arg is not None:
            value = arguments.get(plan.whole_arg)
            if value is None:
                if is_json and plan.whole_arg in arguments:
                    return b"null", plan.content_type  # an explicit JSON null body
                if plan.required:
                    raise _missing(plan.whole_arg, "the request body", plan.whole_arg in arguments)
                return None, None
        else:
            # JSON keeps explicit nulls (they clear fields); other media types have no null.
            value = {prop: arguments[arg] for arg, prop in plan.fields
                     if arg in arguments and (is_json or arguments[arg] is not None)}
            if not value and not plan.required:
                return None, None
            if plan.fixed or plan.fills:
                value = {**dict(plan.fixed), **value}
                for prop, sent in plan.fills:
                    if isinstance(value.get(prop), dict):
                        value[prop] = fill(value[prop], sent)
        if is_json:
            return bodies.json_body(value), plan.content_type
        if plan.kind == "form":
            if isinstance(value, str):
                return value.encode("utf-8"), plan.content_type
            if not isinstance(value, dict):
                raise ToolCallError("The request body must be an object of form fields.")
            return bodies.form_body(value, plan.encoding), plan.content_type
        if plan.kind == "multipart":
            if not isinstance(value, dict):
                raise ToolCallError("The request body must be an object of form fields.")
            return bodies.multipart_body(value, plan.files, plan.encoding)
        if plan.kind == "text":
            return bodies.text_body(value), plan.content_type
        file = bodies.decode_file(plan.whole_arg or "body", value)
        return file.data, file.media_type or plan.content_type


def fill(given: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """`given` (an object argument) with the one-value properties mcprt sends set (`BodyPlan.fills`): a
    `(value,)` is set, a dict filled into the object given there. A copy: the caller's arguments stay as given."""
    out = dict(given)
    for name, part in sent.items():
        if isinstance(part, tuple):
            out[name] = part[0]
        elif isinstance(out.get(name), dict):
            out[name] = fill(out[name], part)
    return out


def _fill_paths(sent: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`(dotted.path, value)` of each value a fill sets, for `describe`."""
    found: list[tuple[str, Any]] = []
    for name, part in sent.items():
        if isinstance(part, tuple):
            found.append((f"{prefix}{name}", part[0]))
        else:
            found += _fill_paths(part, f"{prefix}{name}.")
    return found


def _has_dot_segment(text: str) -> bool:
    """Whether `text` holds a `.` or `..` path segment in any form a server may decode it to (the one
    rule of `mcprt.path_segments`, which resource template variables follow too)."""
    return path_segments.has_dot_segment(text)


def _refuse_dot_segments(arg: str, value: Any) -> None:
    """Refuse a path value holding a `.` or `..` segment in any form a server may decode it to.

    Percent-encoding alone does not keep it in its segment: Python's `http.server` and nginx decode
    the path, `%2F` included, and then remove dot segments (RFC 3986 §5.2.4), so `..%2Fprivate` and
    `%2E%2E` both climbed out of the directory the operation names. No identifier is `..`."""
    for atom in _atoms(value):
        # Only a `.`, an escape or a non-ASCII character can make one: the usual id skips the work.
        if isinstance(atom, str) and ("." in atom or "%" in atom or not atom.isascii()) and _has_dot_segment(atom):
            raise ToolCallError(
                f"Argument `{arg}` is part of the URL path and must not contain '.' or '..' as a segment "
                f"({atom[:80]!r}): servers read it as a step up the path, even percent-encoded."
            )


def _atoms(value: Any) -> list[Any]:
    """The scalars a path value is made of: an array's items; an object's keys and values (every style
    sends both: `a=b` exploded, `a,b` not), so a key is checked like a value."""
    if isinstance(value, dict):
        return [part for pair in value.items() for part in pair]
    return value if isinstance(value, list) else [value]


def _refuse_separators(arg: str, name: str, value: Any) -> None:
    """Refuse a path value holding `/` or `\\` in any form a server may decode it to.

    Sent as `%2F` it stays one segment only for servers that route on the raw path: Starlette (so
    FastAPI) and Python's http.server route on the decoded one, so `1%2Ftokens` for `/users/{id}`
    reached `/users/{id}/tokens`, an operation the manifest may not expose. A parameter that really
    holds a path (GitHub's `path`) is named in the source's `path_slashes`."""
    for atom in _atoms(value):
        if isinstance(atom, str) and ("/" in atom or "\\" in atom or "%" in atom or not atom.isascii()) \
                and _has_separator(atom):
            refused = ToolCallError(
                f"Argument `{arg}` is one segment of the URL path and must not contain '/' or '\\' "
                f"({atom[:80]!r}): servers that decode the path would read it as another path. If `{name}` "
                f"really holds a path, list it under the source's `path_slashes` in the manifest."
            )
            # the operator's to decide: said on the call's log line, without the value (it may be private)
            refused.reason = f"path parameter '{name}' got '/' or '\\' and is not in path_slashes"
            raise refused


def _has_separator(text: str) -> bool:
    """Whether `text` holds `/` or `\\` in any form a server may decode it to (`a%2Fb`, `a／b`:
    `mcprt.path_segments`)."""
    return path_segments.has_separator(text)


def _missing(arg: str, where: str, given_null: bool) -> ToolCallError:
    if given_null:
        return ToolCallError(f"Argument `{arg}` is null, but {where} is required and null has no form there: "
                             "give a value.")
    return ToolCallError(f"Missing required argument `{arg}` ({where}).")
