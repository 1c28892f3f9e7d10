"""An OpenAPI source at run time: the compiled operations bound to one pooled HTTP upstream.

Compiling is CPU work (and maybe a download), so it runs in a worker thread; the compile cache
makes a restart of an unchanged source cheap. Each operation's invoker builds the request from its
plan (pure, percent-encoded) and sends it through the source's `HttpUpstream`.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import Diagnostic, Severity, SourceConfigError
from ...manifest.model import OpenAPISource
from ...contracts import CallContext, Operation, UpstreamResult
from ..base import SourceContext
from ..tls_setting import tls_context, tls_files
from ...wording import noun
from . import compile_openapi, missing_auth
from .answer_headers import header_notes, not_found_note
from .answers import lines_of_json, may_be_json, mismatch
from .fetch import source_tls
from .pinned import open_description
from .security import Access, credential_access, unenforced_problems, unrequired_auth

if TYPE_CHECKING:
    from ...outbound import HttpUpstream
    from .loader import LoadedDocument


class OpenAPIRunningSource:
    kind = "openapi"

    def __init__(self, name: str, config: OpenAPISource, retries: int, files: list[Path],
                 tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self._tls = tls  # from the source's `tls:` (None: the default trust, outbound/tls.py)
        self.fingerprint = ""
        self._operations: list[Operation] = []
        self.left_out: frozenset[str] = frozenset()  # override keys `include`/`exclude` leave out (`RunningSource`)
        self._config = config
        self._retries = retries
        self._upstream: HttpUpstream | None = None
        self._files = files
        self._document: LoadedDocument | None = None  # while its response shapes are pending

    def upstream(self) -> HttpUpstream:
        """The pooled HTTP upstream, made on the first call: listing tools never imports httpx."""
        if self._upstream is None:
            from ...outbound import HttpUpstream

            self._upstream = HttpUpstream(
                source=self.name, auth=self._config.auth, headers=self._config.headers, retries=self._retries,
                tls=self._tls,
            )
        return self._upstream

    async def warm_up(self) -> None:
        """Load the HTTP client while the server is idle (optional `RunningSource` hook, see
        `server.serve`): its import (aiohttp and httpx, ~0.2 s of CPU) otherwise lands on the first
        call. The import runs in a thread so a request arriving meanwhile is not held behind it;
        one that needs the module waits on Python's import lock, as it would have imported it."""
        import importlib

        await asyncio.to_thread(importlib.import_module, "mcprt.outbound.upstream")
        self.upstream()

    @property
    def operations(self) -> list[Operation]:
        return self._operations

    def local_files(self) -> list[Path]:
        if self._document is not None:  # files that pending response shapes' `$ref`s loaded (see `track`)
            late = [Path(p) for p in self._document.local_files()]
            if not self._document.shapes_pending:
                self._files = list(dict.fromkeys([*self._files, *late]))
                self._document = None
                return list(self._files)
            return list(dict.fromkeys([*self._files, *late]))
        return list(self._files)

    def track(self, document: LoadedDocument) -> None:
        """Keep asking `document` for its files: its response shapes are computed after the first
        tools/list (`compiler.PendingShapes`), and a `$ref` only they reach loads one more file."""
        self._document = document

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()


def _compile(ctx: SourceContext, tls: ssl.SSLContext | None) -> tuple[Any, Any, list[str], list[str], list[Path]]:
    config = ctx.config
    assert isinstance(config, OpenAPISource)
    cache_dir = Path(ctx.settings.cache_dir)
    # the description ($refs the compile follows too) fetched with the source's `tls:` where it is the
    # API's origin (`base_url`; without one, the description's own URL: the only host known to be the API's)
    with source_tls(tls, config.base_url or config.openapi):
        document, warnings, notes, files = open_description(ctx.name, config.openapi, ctx.base_dir, cache_dir,
                                                            offline=bool(getattr(ctx.settings, "offline", False)))
        compiled = compile_openapi(document, config, ctx.defaults, cache_dir=cache_dir)
    return document, compiled, warnings, notes, files


async def open_openapi_source(ctx: SourceContext) -> OpenAPIRunningSource:
    config = ctx.config
    assert isinstance(config, OpenAPISource)
    tls = tls_context(config, ctx.base_dir, False, ())  # the source's own `tls:`, None without it
    document, compiled, fetch_warnings, fetch_notes, files = await asyncio.to_thread(_compile, ctx, tls)
    problems = [*compiled.config_problems, *unenforced_problems(compiled, config)]
    if problems:  # e.g. a `server_variables` typo: an error at its key, not a wrong base URL
        raise SourceConfigError(problems)
    retries = config.retries if config.retries is not None else ctx.defaults.retries
    files += [Path(p) for p in document.local_files()]
    files += tls_files(config, ctx.base_dir)  # watched like the description
    https = any((item.plan.base_url or "").lower().startswith("https://") for item in compiled.operations) or bool(
        config.base_url and config.base_url.lower().startswith("https://"))
    if tls is None:  # the default trust: checked now that the API's scheme is known
        tls_context(config, ctx.base_dir, https, ("base_url",) if config.base_url else ())
    source = OpenAPIRunningSource(ctx.name, config, retries, files, tls)
    source.left_out = compiled.left_out
    if document.shapes_pending:
        source.track(document)
    slashes = frozenset(config.path_slashes)
    accesses = credential_access(compiled, config)  # the operations' credentials, and `missing_auth`'s warnings
    for item, access in zip(compiled.operations, accesses, strict=True):
        item.operation.invoke = _invoker(item.plan, item.answer_types, config.base_url, source, access,
                                         item.operation.input_schema.get("properties") or {}, slashes)
        # what `OpenAPIKind.request_of` describes for `mcprt diff`, on demand: nothing is built per operation
        # on a compile, nor stored in the compile cache (a review measured +45% on a 3,000-operation entry)
        item.operation.invoke.plan, item.operation.invoke.servers = item.plan, item.servers  # type: ignore[attr-defined]
        source.operations.append(item.operation)
    _warn(ctx, fetch_warnings)
    _warn(ctx, fetch_notes, "note")  # where the description came from: the pinned copy served offline
    # Each compile warning already names its document (`api.json#/paths/…`, or the referenced file a
    # `$ref` led to): prefixing `config.openapi` doubled the name, or named the wrong file.
    _warn(ctx, compiled.warnings)
    _warn(ctx, compiled.notes, "note")
    _warn(ctx, missing_auth(compiled, config, access=accesses))
    for path, message in unrequired_auth(compiled, config):  # at the entry's own line (a typo'd key name)
        ctx.warnings_at.append((path, Diagnostic("", 0, 0, f"source '{ctx.name}': {message}", "warning")))
    filtered = config.include is not None or config.exclude is not None
    _warn(ctx, _unknown_path_slashes(compiled, config), "note" if filtered else "warning")
    for path, message in _prunes_of_no_json(compiled, config):  # at the prune's own line
        ctx.warnings_at.append((path, Diagnostic("", 0, 0, f"source '{ctx.name}': {message}", "warning")))
    return source


def _prunes_of_no_json(compiled: Any, config: OpenAPISource) -> list[tuple[tuple[str | int, ...], str]]:
    """(path below the source, message) for each tool `prune` whose operation documents only answers that are no
    JSON (`text/csv`, `application/xml`): a prune applies to JSON (and lines of JSON) only, so it would be skipped
    on every call (with a note then). A wildcard (`*/*`) or an undocumented answer may be JSON: no warning."""
    found = []
    for item in compiled.operations:
        operation = item.operation
        for key in (operation.key, operation.name, *operation.aliases):
            override = config.tools.get(key)
            if override is not None:
                break
        else:
            continue
        if not override.prune:
            continue
        documented = tuple(dict.fromkeys(t for code, types in item.answer_types.items()
                                         if code.upper().startswith("2") for t in types))
        if not may_be_json(documented):
            found.append((("tools", key, "prune"), (
                f"tool '{operation.name}': its prune cannot apply: the operation documents only "
                f"{', '.join(documented)} answers, which are not JSON; a prune selects from a JSON result (or the "
                "list of an NDJSON one) and is skipped, with a note, on any other")))
    return found


def _unknown_path_slashes(compiled: Any, config: OpenAPISource) -> list[str]:
    """`path_slashes` names no operation's path parameter has: a typo would leave `/` refused, silently (a
    warning). Under `include`/`exclude` it is a note: the name may be a parameter of the operations the filter
    leaves out (an `init` manifest narrowed with `include`, the README's advice), which the compile never reads;
    ignoring it widens nothing, as `/` stays refused where it is not named."""
    names = {p.name for item in compiled.operations for p in item.plan.params if p.location == "path"}
    selected = " that its `include`/`exclude` selects" if config.include is not None or config.exclude is not None \
        else ""
    return [f"`path_slashes` names '{name}', which is no path parameter of this source's operations{selected}"
            for name in config.path_slashes if name not in names]


def _invoker(plan: Any, answer_types: dict[str, tuple[str, ...]], base_url: str | None,  # type: ignore[no-untyped-def]
             source: OpenAPIRunningSource, access: Access, properties: dict[str, Any], slashes: frozenset[str]):
    async def invoke(arguments: dict[str, Any], ctx: CallContext) -> UpstreamResult:
        request = plan.build(arguments, base_url, slashes)
        request.credentials, request.foreign = access.credentials, access.foreign
        upstream = source.upstream()
        result = await upstream.send(request, ctx)
        final = lines_of_json(answer_types, result) or mismatch(answer_types, result) or result
        if result.headers and not final.is_error:
            shown = {name: schema for name, schema in properties.items() if name not in ctx.hidden_arguments}
            final.notes.extend(header_notes(result, request.url, plan, shown, upstream.redact_url,
                                            upstream.is_secret_name))
        # The API's own JSON error ("No such customer") says the base URL is right: a note there would be
        # noise on every missing record; a wrong base URL gets the web server's plain or empty 404.
        if result.status == 404 and result.kind != "json":
            final.notes.append(not_found_note(request.method, request.url))
        return final

    return invoke


def _warn(ctx: SourceContext, messages: list[str], severity: Severity = "warning") -> None:
    """Warnings (or notes) point at the source's `openapi:` line; at most a handful, then a count."""
    if not messages:
        return
    for message in messages[:5]:
        ctx.warnings.append(Diagnostic("", 0, 0, f"source '{ctx.name}': {message}", severity))
    if len(messages) > 5:
        more = len(messages) - 5
        ctx.warnings.append(Diagnostic("", 0, 0, f"source '{ctx.name}': … and {more} more {noun(more, severity)} of "
                                       "this kind", severity, stands_for=more))
