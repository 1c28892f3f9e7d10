"""`mcprt record`: call the live upstream once through the real pipeline and store the exchange as a case.

The request and response come from the HTTP executor's capture hook (`mcprt.outbound.capture`):
the request exactly as the runtime built it, credentials never included and sensitive values
redacted, the response body decoded. A case with a recorded upstream exchange (OpenAPI) is then replayed
once against that exchange to write its snapshot, so `mcprt test` passes right after recording; a case with
none (a `python:` function, a proxied MCP server's tool) takes its snapshot from the live call's result, as
replaying it would run the function or the server's tool a second time (side effects, audit records).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import McprtError
from ..manifest.loader import find_manifest
from ..outbound.capture import Exchange, capturing
from ..contracts import ToolResult
from .cases import (
    CASES_DIR,
    Body,
    Case,
    CaseError,
    RecordedRequest,
    RecordedResponse,
    case_name_for,
    case_owners,
    case_roots,
    cases_dir,
    check_case_name,
    write_case,
)
from .harness import CaseRun, ReplaySession
from .runner import CaseOutcome, check_case
from .snapshots import SnapshotStore
from .wire import VOLATILE_HEADERS

# Response headers kept in a case: the ones that change what the runtime makes of a response.
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "content-disposition", "location"})
_REQUEST_HEADERS_DROPPED = VOLATILE_HEADERS - {"content-type"}


@dataclass
class Recorded:
    case: Case
    live_raw: int
    live_sent: int
    replay: CaseOutcome
    warnings: list[str] = field(default_factory=list)


def record_case(manifest: str | Path | None, tool_name: str, arguments: dict[str, Any], name: str | None) -> Recorded:
    path = find_manifest(manifest)
    case_name = check_case_name(name) if name else case_name_for(arguments)
    live = asyncio.run(_call_live(path, tool_name, arguments, case_name))
    tool, result, exchanges = live.tool, live.result, live.exchanges
    root = live.cases_root  # beside the manifest that defines the tool's source (an included one too)
    target = root / tool / f"{case_name}.yaml"
    if target.exists():
        raise CaseError(f"{target} already exists: delete it to record it again, or pass --name for another case")
    warnings: list[str] = []
    if not exchanges and result.is_error:
        text = " ".join(b.get("text", "") for b in result.content if b.get("type") == "text")
        if result.outcome not in ("tool_error", "upstream_error", "timeout"):  # refused by mcprt: nothing ran
            raise McprtError(f"nothing recorded: the call failed before reaching upstream: {text}")
        # a Python function that raised, a proxied server's isError: the tool's own answer, worth a case
        warnings.append(f"the tool answered with an error; the case records it: {text}")
    request = response = None
    if exchanges:
        if len(exchanges) > 1:
            warnings.append(f"the call made {len(exchanges)} HTTP exchanges; the last one is recorded")
        exchange = exchanges[-1]
        request, response = _request_of(exchange), _response_of(exchange)
        if exchange.truncated:
            warnings.append("the response was cut at the response size limit; the case holds the cut body")
        if exchange.status >= 400:
            warnings.append(f"upstream answered HTTP {exchange.status}; the case records that error")
    owner = case_owners(path).get(root, path)  # an included manifest's: replayed as `mcprt test` will
    case = Case(target, case_name, tool, dict(arguments), operation=live.operation,
                request=request, response=response, root=root, owner=None if owner == path else owner)
    source = f" from {request.method} {request.url}" if request else ""
    write_case(case, f"Recorded by `mcprt record`{source} on {dt.date.today().isoformat()}.\n"
                     "Edit freely: `mcprt test` replays it and compares the result with its snapshot.")
    replay = _write_snapshot(path, case) if response is not None else _snapshot_of_live(case, tool, result)
    return Recorded(case, result.raw_bytes, result.sent_bytes, replay, warnings)


@dataclass
class _LiveCall:
    tool: str
    operation: str
    result: ToolResult
    exchanges: list[Exchange]
    cases_root: Path


async def _call_live(manifest: Path, tool_name: str, arguments: dict[str, Any], case_name: str) -> _LiveCall:
    from ..observability.log import setup_logging
    from ..oneshot import LOCAL, call_once, governed
    from ..pipeline import compile_once
    from ..settings import load_settings

    settings = load_settings()  # as the other one-shot commands: warnings and errors on stderr
    setup_logging(settings.log_level if settings.log_level != "info" else "warning", settings.log_format)
    runtime, compiled = await compile_once(manifest, settings)
    try:
        toolset = compiled.toolset
        _refuse_secrets(arguments, case_name)
        # a live upstream call with the manifest's credentials: audited and governed as `mcprt call` is
        async with governed(runtime, compiled.loaded, settings, entry_point="mcprt record"):
            with capturing() as exchanges:
                result = await call_once(toolset, tool_name, arguments, lambda: McprtError(
                    f"{manifest}: {toolset.unknown_tool_message(tool_name, LOCAL)}"))
        tool = toolset.get(tool_name)
        assert tool is not None  # `call_once` raised otherwise
        return _LiveCall(tool.name, tool.operation.key, result, list(exchanges),
                         _cases_root(manifest, compiled.loaded.source_dirs.get(tool.source)))
    finally:
        await runtime.aclose()


def _refuse_secrets(arguments: dict[str, Any], case_name: str) -> None:
    """Refuse, before anything is sent, a call whose arguments or case name hold a configured secret.

    A case is committed and replayed: its `args` must match what the replayed call sends, but the request the
    capture hook recorded has the secret redacted, so no case could hold it both safely and replayably (and
    the case's file name, made from the arguments, would hold it too). McprtError naming the arguments,
    never the value."""
    from ..scrubbing import SECRETS

    if not SECRETS:
        return
    held = [key for key, value in arguments.items() if SECRETS.found_in(json.dumps(value, ensure_ascii=False))]
    if held or SECRETS.found_in(case_name):
        where = ", ".join(f"`{key}`" for key in held) if held else "--name"
        raise McprtError(f"nothing recorded: {where} holds the value of a secret the manifest configures (a case "
                         "is committed and shared, and never holds a secret); record with a placeholder value")


def _cases_root(manifest: Path, source_dir: Path | None) -> Path:
    """The cases folder of the manifest that defines a source: the one `find_cases` reads for it."""
    for root in case_roots(manifest):
        if source_dir is not None and root.resolve() == (source_dir / CASES_DIR).resolve():
            return root
    return cases_dir(manifest)


def _request_of(exchange: Exchange) -> RecordedRequest:
    headers = [(n, v) for n, v in exchange.request_headers if n.lower() not in _REQUEST_HEADERS_DROPPED]
    content_type = next((v for n, v in exchange.request_headers if n.lower() == "content-type"), None)
    body = Body.from_bytes(exchange.request_body, content_type) if exchange.request_body else None
    return RecordedRequest(exchange.method.upper(), exchange.url, headers, body)


def _response_of(exchange: Exchange) -> RecordedResponse:
    headers = [(n.lower(), v) for n, v in exchange.response_headers if n.lower() in KEPT_RESPONSE_HEADERS]
    content_type = next((v for n, v in headers if n == "content-type"), None)
    body = Body.from_bytes(exchange.response_body, content_type) if exchange.response_body else None
    return RecordedResponse(exchange.status, headers, body)


def _snapshot_of_live(case: Case, tool: str, result: ToolResult) -> CaseOutcome:
    """The snapshot of a case with no upstream exchange, from the result its one live call produced: what a
    replay would produce too, as `mcprt test` calls such a tool live through the same pipeline."""
    store = SnapshotStore(case.cases_root)
    return CaseOutcome(case, CaseRun(case, tool, result), store.check(case, result, update=True))


def _write_snapshot(manifest: Path, case: Case) -> CaseOutcome:
    store = SnapshotStore(case.cases_root)
    with ReplaySession(manifest, entry_point="mcprt record") as session:
        return check_case(session, store, case, update=True)
