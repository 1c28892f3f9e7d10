"""Compiling a loaded API description into Operations and request plans.

Tool names: the operationId passed through `sanitize_tool_name` (characters outside `[A-Za-z0-9_-]`
become `_`, case kept: GitHub's `issues/list-for-repo` → `issues_list-for-repo`, `größe` → `gr_e`),
or `<method>_<path>` without one (`GET /pets/{petId}` → `get_pets_petId`); an operationId mostly of other
letters (`作成`, `ユーザー取得`) gives `<method>_<path's ASCII parts>_<hash of the operationId>`
(`naming.derived_tool_name`: `POST /items3` → `post_items3_<7 hex>`), one with some (`取得_v1`) what it keeps
and that hash (`v1_<7 hex>`), never a place in the document, and one warning lists them; fitted to 64 characters with a hash suffix when longer, and made unique in document order
(`_2`, `_3`…) when two are still alike (a repeated operationId). Names are given before filtering, so a tool keeps its name whatever
`include`/`exclude` select.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcprt import progress
from mcprt.cancellation import check_abandoned
from mcprt.errors import SpecError
from mcprt.wording import noun
from mcprt.manifest.model import Defaults, DescriptionPolicy, OpenAPISource
from mcprt.sources.filters import selected
from mcprt.sources.naming import (dedupe_names, fit_tool_name, sanitize_tool_name, served_tool_name,
                                  unspellable)
from mcprt.contracts import Operation, OperationMeta

from .fetch import SOURCE_TLS
from .inputs import build_inputs
from .loader import LoadedDocument
from .media import media_kind
from .model import OperationSpec, SchemaRef, ServerSpec
from .plan import RequestPlan
from .reader import read_document
from .refs import Resolver
from .responses import ResponseShapes
from .schemas import SchemaConverter
from .security import Requirement, SecurityScheme, api_key_locations, is_public, parse_schemes, requirement
from .servers import pick_base_url, variable_problems
from .text import clean, tool_description

_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(slots=True)
class CompiledOperation:
    """One compiled operation: the tool's definition, its request plan and security requirement."""

    operation: Operation  # invoke is None: the HTTP executor binds it
    plan: RequestPlan
    security: Requirement  # alternatives of required scheme names; () = none
    base_url: str | None
    method: str
    path: str
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    # documented media types per success status code (`answers.mismatch` checks by them)
    answer_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    public: bool = False  # its `security` is `[]`: sent without credentials (security.credential_access)
    # the servers as the document writes them (templates): where calls go without `base_url` (`mcprt diff`
    # compares them); one tuple shared by the operations with the same servers, so the cache stores it once
    servers: tuple[str, ...] = ()


@dataclass(slots=True)
class CompiledOpenAPI:
    """A compiled source: its operations, security schemes and warnings (what the compile cache stores)."""

    operations: list[CompiledOperation]
    security_schemes: dict[str, SecurityScheme]
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    spec_version: str = "3.0"
    from_cache: bool = False
    notes: list[str] = field(default_factory=list)  # told to the operator, never warnings (`--strict` passes)
    # the document's own base URL (its first server; `base_url` aside): the origin its credentials belong to
    api_base: str | None = None
    # the scopes the selected operations' security requirements ask of each scheme, in first-use order
    # (`init`'s oauth2 hint asks for them: a token without them is refused by the API)
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the manifest's own mistakes the compile found, (path below the source, message): `server_variables`
    # a server does not declare or allow (servers.variable_problems); the source refuses to open with them
    config_problems: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    # the override keys (operationId, `METHOD /path`, tool name) of the operations `include`/`exclude` leave
    # out: an override naming one is expected there, one naming no key at all names a gone operation
    # (`toolset.build._unmatched_overrides`)
    left_out: frozenset[str] = frozenset()


def _unread_warnings(model: Any, config: OpenAPISource, warnings: list[str], skipped: list[SpecError],
                     keys: set[str]) -> int:
    """The warnings and skipped elements of operations that could not be read, added to `warnings` and
    `skipped` for those `include`/`exclude` serve (matched by what could be read of them: operationId,
    method, path, tags); the number left out, whose problems never become the document's error. The keys
    of those left out are added to `keys`."""
    left_out = 0
    for unread in model.unread:
        key = unread.operation_id or f"{unread.method} {unread.path}"
        meta = OperationMeta(summary="", tags=tuple(unread.tags), method=unread.method, path=unread.path,
                             operation_id=unread.operation_id or "", deprecated=False)
        if selected(config.include, config.exclude, key, key, meta):
            warnings.extend(unread.warnings)
            skipped.extend(unread.skipped)
        else:
            left_out += 1
            keys.update((key, f"{unread.method} {unread.path}"))
    return left_out


def effective_policy(config: OpenAPISource, defaults: Defaults) -> DescriptionPolicy:
    return config.descriptions or defaults.descriptions


_log = logging.getLogger("mcprt.source.openapi")


class PendingShapes:
    """Response shapes left for later: `mcprt up` over stdio answers its first tools/list before
    they are computed (~0.025 s of CPU for GitHub's 1,223 operations, 15 % of the compile).

    A tools/list needs no shape: only the tool-set build reads them, for a tool with a `prune`, an
    `output` template or `output_schema` (`_shapes_needed`; such a source computes them at once),
    and the compile-cache entry stores them, so they are filled in (`fill`, once, by the deferred
    cache write) before the entry is pickled and before the SDK serves. `ResponseShapes` has its
    own memo and the `Resolver` only caches lookups, so the shapes are the same whichever comes
    first (`tests/openapi/test_openapi_deferred_shapes.py` compares them with the serial compile's
    pinned digests, `test_openapi_compile_digests.py`). A `$ref`
    that only a response schema reaches loads its document during `fill`: it is in the cache
    entry's externals (read after `fill`) and in the source's watched files from then on.
    """

    def __init__(self) -> None:
        self._shapes: ResponseShapes | None = None
        self._doc: LoadedDocument | None = None
        self._items: list[tuple[Operation, SchemaRef | None, SchemaRef | None]] = []
        self._warnings: list[str] = []
        self._lock = threading.Lock()
        # the source's `tls:` the compile fetched with: `fill`, after that block ended, loads the `$ref`s
        # only response schemas reach and must follow the same rule (fetch.source_tls)
        self._tls = SOURCE_TLS.get()

    def bind(self, shapes: ResponseShapes, doc: LoadedDocument, warnings: list[str]) -> None:
        """The converter (with the compile's `Resolver`) that `fill` uses, its document, and the
        compiled source's warning list (`fill` adds a response schema it cannot read there, so the
        cache entry, written after `fill`, reports it on every later load)."""
        self._shapes = shapes
        self._doc = doc
        self._warnings = warnings
        doc.shapes_pending = True

    def add(self, operation: Operation, success: SchemaRef | None, default: SchemaRef | None) -> None:
        self._items.append((operation, success, default))

    def fill(self) -> None:
        """Compute every pending shape into its Operation (in compile order); later calls do nothing."""
        with self._lock:
            items, self._items = self._items, []
            shapes, self._shapes = self._shapes, None  # its Resolver holds the parsed document
            doc, self._doc = self._doc, None
            token = SOURCE_TLS.set(self._tls)
            try:
                for operation, success, default in items:
                    assert shapes is not None
                    operation.response_schema = shapes.convert(success)
                    operation.response_required = shapes.required(success)
                    operation.default_response_schema = shapes.convert(default) if success else None
            finally:
                SOURCE_TLS.reset(token)
            if shapes is not None:
                before = len(self._warnings)
                report_shape_problems(shapes, self._warnings)
                # The running source showed the compile's warnings when it opened, before this fill
                # (deferred to after the first tools/list): say the new ones now, once (a later load
                # from the cache entry shows them at open).
                for line in self._warnings[before:]:
                    _log.warning("%s", line)
            if doc is not None:
                doc.shapes_pending = False
                doc.release()  # a running source may keep the document for `local_files()`: not its tree


def report_shape_problems(shapes: ResponseShapes, warnings: list[str]) -> None:
    """Move what `shapes` could not read into `warnings` (once each): like a request body's `$ref`
    that does not resolve, at its JSON pointer; only the response schema is left out, the tool works."""
    for exc in shapes.problems:
        line = f"{exc}; response schema left out (no outputSchema; prune and output are not checked against it)"
        if line not in warnings:
            warnings.append(line)
    shapes.problems.clear()


def _shapes_needed(config: OpenAPISource) -> bool:
    """Whether building this source's tools reads response shapes (`toolset.build`: a tool's
    `prune`, `output` or `output_schema`, or the source's `output_schema`)."""
    return bool(config.output_schema) or any(o.prune or o.output or o.output_schema for o in config.tools.values())


def compile_openapi(
    doc: LoadedDocument, config: OpenAPISource, defaults: Defaults, *, cache_dir: Path | None = None
) -> CompiledOpenAPI:
    """Compile (or fetch from the compile cache under `cache_dir`) one OpenAPI source. Inside
    `cache.writes_deferred()` the response shapes wait for the deferred write (`PendingShapes`)
    unless the tool-set build needs them."""
    from . import cache

    policy = effective_policy(config, defaults)
    if cache_dir is not None:
        if doc.digest_pending:  # a file met for the first time: parse it while its digest is computed
            doc.data
        key = cache.cache_key(doc, config, policy)
        hit = cache.load(cache_dir, key, doc)
        if hit is not None:
            return hit
    pending = PendingShapes() if cache_dir is not None and cache.deferring() and not _shapes_needed(config) else None
    compiled = compile_document(doc, config, policy, pending=pending)
    if cache_dir is not None:
        cache.store(cache_dir, key, doc, compiled, pending)
    return compiled


def annotations_for(method: str) -> dict[str, Any]:
    if method in _READ_ONLY:
        return {"readOnlyHint": True}
    if method == "DELETE":
        return {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}
    if method == "PUT":
        return {"readOnlyHint": False, "idempotentHint": True}
    return {"readOnlyHint": False}


def _accept(types: list[str]) -> str | None:
    for mt in types:
        if media_kind(mt) == "json" and "*" not in mt:
            return mt
    concrete = [t for t in types if "*" not in t]
    return ", ".join(concrete[:3]) or None


def _tool_names(ops: list[OperationSpec]) -> list[str]:
    raw = [served_tool_name(op.operation_id, op.method.lower(), op.path) if op.operation_id
           else fit_tool_name(sanitize_tool_name(f"{op.method.lower()} {op.path}")) for op in ops]
    return dedupe_names(raw)


def _derived(op: OperationSpec) -> bool:
    """Whether `op`'s tool name carries a hash of its operationId (`naming.served_tool_name`) because the
    operationId has letters a tool name cannot hold: derived from its method and path when mostly such letters."""
    return bool(op.operation_id) and unspellable(op.operation_id)


_DERIVED_SHOWN = 5


def _derived_warning(label: str, derived: list[tuple[OperationSpec, str]]) -> str:
    """One warning for every tool named with a hash of its operationId (a CJK API has one per operation)."""
    shown = "; ".join(f"`{op.operation_id}` ({op.method} {op.path}) → {name}" for op, name in derived[:_DERIVED_SHOWN])
    more = f"; … {len(derived) - _DERIVED_SHOWN} more" if len(derived) > _DERIVED_SHOWN else ""
    return (f"{label}: {len(derived)} {noun(len(derived), 'operationId')} with letters a tool name cannot hold "
            f"(A-Z a-z 0-9 _ -): named from what the operationId keeps (from the method and the path's ASCII parts "
            f"when it keeps little) and a hash of the operationId: {shown}{more}; give "
            "each a readable `name:` under `tools:` (`mcprt init` writes them)")


PROGRESS_FROM = 200  # smaller descriptions compile in well under a second: no bar
PROGRESS_EVERY = 25


def compile_document(doc: LoadedDocument, config: OpenAPISource, policy: DescriptionPolicy,
                     pending: PendingShapes | None = None) -> CompiledOpenAPI:
    """Compile a loaded description; with `pending`, the operations' response shapes are left to
    `pending.fill()` (None until then)."""
    resolver = Resolver(doc)
    model = read_document(resolver)
    schemes = parse_schemes(model.schemes)
    key_params = api_key_locations(schemes)
    # Parameters the manifest says carry a credential (descriptions that declare the token as an
    # ordinary parameter, e.g. Slack's `token`): like API-key scheme parameters, never model arguments.
    key_params |= {(where, name.lower() if where == "header" else name)
                   for name in config.credential_parameters for where in ("query", "header", "cookie")}
    conv = SchemaConverter(resolver, model.version, policy)
    shapes = ResponseShapes(resolver, model.version)
    warnings: list[str] = list(doc.warnings) + model.warnings
    if pending is not None:
        pending.bind(shapes, doc, warnings)
    label = doc.location
    doc_servers = model.servers or [ServerSpec("/", {}, doc.uri, "/servers")]
    bases: dict[tuple[str, str], str | None] = {}

    used: list[ServerSpec] = []  # the servers the selected operations use: `server_variables` are checked on them

    def base_for(servers: list[ServerSpec]) -> str | None:
        if config.base_url:
            return config.base_url.rstrip("/")
        first = servers[0]
        memo_key = (first.uri, first.pointer)
        if memo_key not in bases:
            used.append(first)
            bases[memo_key] = pick_base_url(servers, config.server_variables, doc.uri, label, warnings)
        return bases[memo_key]

    skipped: list[SpecError] = list(model.skipped)
    notes: list[str] = []
    left_out_keys: set[str] = set()
    left_out_with_problems = _unread_warnings(model, config, warnings, skipped, left_out_keys)
    seen_ids: dict[str, str] = {}
    compiled: list[CompiledOperation] = []
    server_urls: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct list (`servers`)
    scopes: dict[str, dict[str, None]] = {}
    total = len(model.operations)
    tell = progress.reporting() and total >= PROGRESS_FROM
    names = _tool_names(model.operations)
    derived = [(op, name) for op, name in zip(model.operations, names, strict=True) if _derived(op)]
    if derived:
        warnings.append(_derived_warning(label, derived))
    for index, (op, name) in enumerate(zip(model.operations, names, strict=True)):
        if tell and index % PROGRESS_EVERY == 0:
            progress.report(f"{label}: operations", index, total)
        check_abandoned()  # a superseded reload stops here (a huge document compiles for seconds)
        key = op.operation_id or f"{op.method} {op.path}"
        if op.operation_id:
            if op.operation_id in seen_ids:
                warnings.append(f"{label}#{op.pointer}: operationId `{op.operation_id}` is used twice")
            seen_ids[op.operation_id] = op.pointer
        meta = OperationMeta(
            summary=op.summary or "",
            tags=tuple(op.tags),
            method=op.method,
            path=op.path,
            operation_id=op.operation_id or "",
            deprecated=op.deprecated,
        )
        if not selected(config.include, config.exclude, key, name, meta):
            left_out_with_problems += bool(op.warnings)
            left_out_keys.update((key, f"{op.method} {op.path}", name))
            continue
        warnings.extend(op.warnings)
        skipped.extend(op.skipped)
        try:
            inputs = build_inputs(op, conv, key_params)
        except SpecError as exc:  # e.g. a schema `$ref` that does not resolve: this operation only
            skipped.append(exc)
            warnings.append(f"{exc}; operation skipped")
            continue
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            warnings.append(f"{label}#{op.pointer}: operation skipped, it could not be read ({type(exc).__name__})")
            continue
        base_url = base_for(op.servers or doc_servers)
        plan = RequestPlan(op.method, op.path, base_url, inputs.params, inputs.body, _accept(op.response_types))
        description = tool_description(op.summary, op.description, policy) or f"{op.method} {op.path}"
        if op.deprecated:
            description = f"Deprecated. {description}"
        aliases = tuple(dict.fromkeys(a for a in (f"{op.method} {op.path}", name) if a != key))
        operation = Operation(
            key=key,
            name=name,
            description=description,
            input_schema=inputs.schema,
            aliases=aliases,
            title=clean(op.summary) if op.summary else None,
            annotations=annotations_for(op.method),
            meta=meta,
            sent_values=inputs.sent_values(),
        )
        if pending is not None:
            pending.add(operation, op.response_schema, op.default_schema)
        else:
            operation.response_schema = shapes.convert(op.response_schema)
            operation.response_required = shapes.required(op.response_schema)
            operation.default_response_schema = shapes.convert(op.default_schema) if op.response_schema else None
            report_shape_problems(shapes, warnings)
        effective = op.security if op.security is not None else model.security
        for alternative in effective or ():
            for scheme_name, wanted in alternative.items():
                if isinstance(wanted, list):
                    scopes[scheme_name] = {**scopes.get(scheme_name, {}), **dict.fromkeys(map(str, wanted))}
        compiled.append(
            CompiledOperation(operation, plan, requirement(effective), base_url, op.method, op.path, tuple(op.tags),
                              op.deprecated, {code: tuple(types) for code, types in op.answer_types.items()},
                              is_public(op.security),  # the operation's own: a top-level `[]` is often a stub
                              server_urls.setdefault(urls := tuple(s.url for s in op.servers or doc_servers), urls))
        )
    if tell:
        progress.report(f"{label}: operations", total, total)
    if left_out_with_problems:
        notes.append(f"{label}: {left_out_with_problems} {noun(left_out_with_problems, 'operation')} that "
                     "`include`/`exclude` leave out "
                     f"{'has' if left_out_with_problems == 1 else 'have'} problems (such as a `$ref` that does not "
                     "resolve), not shown: they are not served")
    warnings.extend(conv.warnings)
    if skipped and not compiled:
        raise skipped[0]  # nothing could be compiled: the first problem is the document's error
    if not compiled and model.operations:
        warnings.append(f"{label}: the include/exclude filters select no operation")
    elif not compiled and not skipped and not left_out_with_problems:
        # An empty `paths` (a description's skeleton, a URL answering another document's JSON) would
        # otherwise validate as "ok — 0 tools" with nothing said.
        warnings.append(f"{label}: the description has no operations (nothing under `paths`), "
                        "so this source serves no tools")
    declaring = [*model.servers, *(server for op in model.operations for server in op.servers or ())]
    problems = (variable_problems(declaring, used, config.server_variables)
                if compiled and not config.base_url else [])
    return CompiledOpenAPI(compiled, schemes, warnings, model.title, model.version, notes=notes,
                           api_base=_document_base(doc_servers, config, doc.uri, label), config_problems=problems,
                           scopes={name: tuple(wanted) for name, wanted in scopes.items()},
                           left_out=frozenset(left_out_keys))


def _document_base(servers: list[ServerSpec], config: OpenAPISource, doc_uri: str, label: str) -> str | None:
    """The document's first server resolved (what its operations without their own `servers` use), or
    None; its warnings and errors are the operations' to report, so none are raised here."""
    try:
        return pick_base_url(servers, config.server_variables, doc_uri, label, [])
    except SpecError:
        return None
