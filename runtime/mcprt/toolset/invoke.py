"""The call pipeline shared by every transport, the CLI and discovery mode.

validate arguments → complete them (defaults, fixed) → upstream → shape → log. Every failure
becomes an `isError` result a model can act on; nothing raised here reaches the protocol layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..errors import (CallTimeout, PolicyDenied, QueueTimeout, SourceUnavailable, ToolCallError, UnknownTool,
                      UpstreamError, UpstreamRefused)
from ..observability.hooks import mark_call
from ..identity.principal import Principal
from ..observability.events import BUS, CallEvent, Outcome, UnknownToolEvent, new_call_id
from ..observability.log import log_call, logger
from ..schema.validator import argument_validator
from ..scrubbing.given import without_argument_values
from ..offerings.offerset import OfferSet
from ..shaping.exposed_uris import EXPOSE_ON_LOOP_BYTES, uri_exposer
from ..shaping.result import shape_result
from ..shaping.sent import sent_size
from ..contracts import CallContext, ClientPeer, ToolResult
from .argument_errors import said_once, short, unknown_argument
from .nesting import check_depth
from .scrub import scrub_message, scrub_upstream
from .stopping import CLOSED, CONNECTION_CLOSED, NOT_STARTED, RUNNING, STDIN_CLOSED, STOPPED
from .tool import Tool

if TYPE_CHECKING:
    from .gate import GiveBack
    from .toolset import ToolSet


_MAX_PROBLEMS = 10  # argument problems said in one refusal; the rest are counted


def error_result(message: str) -> ToolResult:
    message = scrub_message(message)
    content = [{"type": "text", "text": message}]
    # measured as every shaped result is (`shaping.sent`), so sent bytes add up per tool
    return ToolResult(content=content, is_error=True, sent_bytes=sent_size(content))


def check_arguments(tool: Tool, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Validate the model's arguments against the exposed schema; list every problem at once.

    Raises ToolCallError (a message the model can act on) for bad arguments, and nothing else:
    schema keywords mcprt cannot evaluate are skipped (see `mcprt.schema.validator`). An argument the
    manifest sets (`fixed`, `hidden`), absent from the schema, is refused like any other the tool does not
    show, whatever its value (`_set_by_server`): one rule for every source kind."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolCallError(f"arguments for {tool.name} must be a JSON object")
    problems = list(refused_arguments(tool, arguments).values())
    arguments = {k: v for k, v in arguments.items() if k not in tool.args.hidden}
    schema = tool.input_schema
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    if tool._validator is None:
        tool._validator = argument_validator(schema)
    errors = sorted(tool._validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    refused = len(problems)
    problems = problems[:_MAX_PROBLEMS]  # a model need not read a thousand of one mistake
    described, distinct = said_once(errors, schema, _MAX_PROBLEMS - len(problems))
    problems.extend(described)
    total = refused + distinct
    if total > len(problems):
        problems.append(f"… {total - len(problems)} more")
    if problems:
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        allowed = ", ".join(
            f"{n}{'*' if n in required else ''}" for n in properties
        ) or "none"
        raise ToolCallError(
            f"invalid arguments for {tool.name}: " + "; ".join(problems) + f". Arguments (* required): {allowed}."
        )
    completed = {**tool.args.defaults, **arguments, **tool.args.fixed}
    return completed


def refused_arguments(tool: Tool, arguments: dict[str, Any]) -> dict[str, str]:
    """The arguments in `arguments` the tool refuses whatever their value, each with the problem
    `check_arguments` states for it: one the manifest sets (`fixed`, `hidden`: `_set_by_server`), and one
    its schema does not have (`additionalProperties` false or absent: "unknown argument", with a close
    name when there is one). A recorded case sending one is told to remove it from `args:`."""
    schema = tool.input_schema
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    refused: dict[str, str] = {}
    for name in arguments:
        if name in tool.args.hidden:
            refused[name] = _set_by_server(tool, name)
        elif name not in properties and not schema.get("additionalProperties", False):
            refused[name] = unknown_argument(name, properties)
    return refused


def _set_by_server(tool: Tool, name: str) -> str:
    """The problem with a client's value for `name`, an argument the manifest hides (`fixed`, or `hidden`), whatever
    the value. It was silently replaced by the fixed one (or dropped): the model believed it had passed `b: 3` and
    read a result computed with `b: 10`. An equal value is refused too: taking it would tell a client that guessed
    the fixed value right (a `${SECRET}`, a tenant id, an internal host), and a client that keeps to the schema
    never sends it. The problem never says the fixed value (a manifest may take it from the environment); an
    argument hidden without one is unknown to the model, and said so."""
    if name not in tool.args.fixed:
        return f"unknown argument {short(name)}"
    return f"{short(name)} is set by the server, which always sends its own value: leave it out"


def refuse_unserved(name: str, hidden: Tool | None, message: str, *, started: float,
                    principal: Principal | None = None, session_id: str | None = None,
                    request_id: str | None = None, call_id: str | None = None, publish: bool = True) -> ToolResult:
    """Answer a call naming a tool its caller cannot call, without running anything, and account for
    it as every call is accounted for: one call log line and one event (an operator grepping the log
    for a client's failing calls finds these too). `started`: `time.perf_counter()` when the call arrived.

    `hidden` None: no tool has the name `name` — log status `unknown_tool`, the name (the client's
    string) cut to `NAME_LIMIT` characters, source `-`; an `UnknownToolEvent` (audit; the operation
    histogram counts it as `rejected`, no series ever carries the name). Else `hidden` is the tool a
    policy hides from this caller — status `hidden`, a `CallEvent` with outcome `denied` as any call a
    policy refused (the `hidden` decision itself is published by the policy: `ToolSet.get_for`).
    `publish=False`: the line only — discovery's `call_tool` naming an operation hidden from the caller
    reached no operation, and its own event counts the call (`CallEvent.via`)."""
    latency = time.perf_counter() - started
    result = error_result(message)
    result.outcome = "rejected" if hidden is None else "denied"
    unknown = UnknownToolEvent.of(time.time() - latency, name, principal, session_id, request_id, latency)
    log_call(tool=unknown.tool if hidden is None else hidden.name, source="-" if hidden is None else hidden.source,
             status="unknown_tool" if hidden is None else "hidden", latency_ms=latency * 1000, raw_bytes=0,
             sent_bytes=result.sent_bytes, is_error=True, call=call_id, session=session_id)
    if publish and BUS.active:
        BUS.publish(unknown if hidden is None else CallEvent(
            time=unknown.time, tool=hidden.name, source=hidden.source, outcome="denied", latency=latency,
            raw_bytes=0, sent_bytes=result.sent_bytes, principal=principal, session_id=session_id,
            request_id=request_id, error=message, call_id=call_id))
    return result


def resolve_or_refuse(toolset: ToolSet, name: str, principal: Principal | None, *, started: float, call_id: str,
                      session_id: str | None = None, request_id: str | None = None,
                      message: Callable[[], str] | None = None) -> Tool | ToolResult:
    """The tool `principal` calls by `name` (`ToolSet.get_for`), or, when none has the name or a policy
    hides it from them, that refusal answered and accounted for (`refuse_unserved`): the one step every
    entry point takes before `call_tool` — a served `tools/call` (`server.app`), a one-shot call
    (`mcprt.oneshot`) — so they cannot drift apart. `message()`: the refusal's words (default
    `toolset.unknown_tool_message(name, principal)`)."""
    tool = toolset.get_for(name, principal, session_id, call_id)
    if tool is not None:
        return tool
    words = message() if message is not None else toolset.unknown_tool_message(name, principal)
    return refuse_unserved(name, toolset.get(name), words, started=started, principal=principal,
                           session_id=session_id, request_id=request_id, call_id=call_id)


async def call_tool(tool: Tool, arguments: dict[str, Any] | None, *, request_id: str | None = None,
                    progress: Any = None, principal: Principal | None = None,
                    session_id: str | None = None, peer: ClientPeer | None = None,
                    via: str | None = None, call_id: str | None = None,
                    meta: Mapping[str, Any] | None = None, offers: OfferSet | None = None) -> ToolResult:
    """Run one call end to end, log it and publish a `CallEvent`; never raises for upstream or
    argument problems. A cancelled call (asyncio.CancelledError) is logged and published with the
    outcome `cancelled` (nothing sent: `sent_bytes` 0), then the cancellation is re-raised; but a
    call ended by a stop whose drain ran out (`stopping.RUNNING.end_all`) answers a tool error saying
    the server is restarting (outcome `cancelled`), so the client gets a result, not a cut connection.
    `via`: the meta-tool that relays this call (discovery's `call_tool`), or None for a direct call
    (`CallEvent.via`). `call_id`: the relay's, for its target (one id per `tools/call`); else a new one.
    `meta`: the client's request `_meta` (`CallContext.meta`). `offers`: the resources served beside the
    tools — the result's resource URIs of a prefixed source are rewritten to the ones a client reads through
    mcprt, before the result size limit (shaping/exposed_uris.py); None: left as the source wrote them."""
    started = time.perf_counter()
    call_id = call_id or new_call_id()
    # the tools/call span names the call, and the call's log line and audit record name the span (joins)
    trace = mark_call(call_id)
    task = RUNNING.enter()
    cancelled: asyncio.CancelledError | None = None
    status: Any = "-"
    outcome: Outcome = "ok"
    upstream_status: int | None = None
    attempts: int | None = None  # requests sent upstream, retries included (HTTP sources)
    upstream = None
    unreachable = False  # the upstream could not be reached (CallEvent.unreachable)
    context: CallContext | None = None
    reason: str | None = None  # a refusal the operator should read on the log line (ToolCallError.reason)
    give_back: GiveBack | None = None  # what the gate took for this call (an approval of one execution)
    invoked = False  # the source was asked to run the call: from here the upstream may have acted
    try:
        _refuse_if_gated()  # e.g. an audit log that cannot record the call
        completed = check_arguments(tool, arguments)
        context = CallContext(
            tool=tool.name,
            timeout=tool.timeout,
            max_response_bytes=tool.max_response_bytes,
            request_id=request_id,
            progress=progress,
            principal=principal,
            session_id=session_id,
            peer=peer,
            output_declared=tool.output_schema is not None,
            hidden_arguments=tool.args.hidden,
            call_id=call_id,
            meta=meta,
            offers=offers,
        )
        if tool.gate is not None:  # the manifest's policy: may refuse, or wait for a human
            give_back = await tool.gate.admit(tool, arguments or {}, completed, context)
            # asked again after the wait (minutes, for a human's approval): an audit log that began failing
            # meanwhile must not see an approved, governed action run unrecorded
            _refuse_if_gated()
        if tool.operation.invoke is None:
            raise ToolCallError(f"tool {tool.name} is not available: source '{tool.source}' is not running")
        invoked = True
        upstream = await tool.operation.invoke(completed, context)
        upstream_status = upstream.status
        attempts = _attempts(upstream.meta)
        status = upstream.status if upstream.status is not None else ("tool_error" if upstream.is_error else "ok")
        check_depth(upstream)
        await scrub_upstream(upstream)  # shaping scrubs again only the text a prune or template writes (`result`)
        expose = uri_exposer(offers, tool.source, tool.output_schema) if offers is not None else None
        # A template or a prune may take its whole time budget (`budget`, `prune_budget`), and rewriting a large
        # result's URIs a schema walk (bench/structured_uris.py): not on the loop.
        if tool.shaping.output is not None or tool.shaping.pruner is not None or \
                (expose is not None and upstream.raw_bytes > EXPOSE_ON_LOOP_BYTES):
            result = await asyncio.to_thread(shape_result, upstream, tool.shaping, principal, expose)
        else:
            result = shape_result(upstream, tool.shaping, principal, expose)
        if upstream.is_error or result.is_error:
            # An HTTP error status is the upstream's fault; an error a proxied tool or a Python
            # function answered is the tool's.
            outcome = "upstream_error" if upstream.status is not None else "tool_error"
            if upstream.relayed_outcome not in (None, "ok"):
                # A relay (discovery's `call_tool`) failed the way its target did: its log line, metrics and
                # audit say how, as the target's own do (a rejected argument is no tool error of the relay).
                status = outcome = cast(Outcome, upstream.relayed_outcome)
    except ToolCallError as exc:
        outcome = "denied" if isinstance(exc, PolicyDenied) else "queue_timeout" if isinstance(exc, QueueTimeout) \
            else "timeout" if isinstance(exc, CallTimeout) else "upstream_error" if isinstance(exc, UpstreamError) \
            else "rejected"
        # No HTTP status to show: the log line names the outcome, as metrics and the audit log do
        # (an operator grepping `status=rejected` for bad arguments must not also get denials and timeouts),
        # a policy's refusal by its decision (`rate_limited`, `paused`…: PolicyDenied.status), as the audit does
        # an unknown operation named through discovery: `unknown_tool`, as a direct call of one writes
        status = exc.status if isinstance(exc, PolicyDenied | UnknownTool) else outcome
        if isinstance(exc, UpstreamError):
            unreachable = exc.unreachable
            # what the upstream answered before the call failed (a 503, then the deadline during a retry)
            upstream_status, attempts = exc.upstream_status, exc.attempts
        reason = exc.reason
        result = error_result(str(exc))
        # the call never reached its upstream (refused by the audit gate after the wait, its source not running,
        # or it waited out mcprt's own queue: `QueueTimeout`, which never started it; or its source said it sent
        # nothing: `CallContext.never_started`, e.g. a proxied MCP server that is down): what the gate took for it
        # is given back, so the same call can run on the approval a human gave (README: used when the call starts)
        if give_back is not None and (not invoked or isinstance(exc, QueueTimeout) or (
                context is not None and context.never_started)):
            given = await give_back()
            if given is not None:
                result = error_result(f"{exc} {given}")
        if isinstance(exc, PolicyDenied | SourceUnavailable) and exc.meta:  # `mcprt/retryAfter`, `mcprt/approval`
            result.meta = dict(exc.meta)
        if isinstance(exc, UpstreamRefused):
            # message and data scrubbed where they entered (sources/mcp/source.py: scrubbing.errors)
            result.protocol_error = {"code": exc.code, "message": exc.upstream_message}
            if exc.data is not None:  # relayed to the client (server/upstream_errors.py)
                result.protocol_error["data"] = exc.data
    except asyncio.CancelledError as exc:
        # Cut before it reached its upstream — in the gate's wait (nothing taken yet) or in mcprt's own queue
        # (`CallContext.never_started`): it did nothing, so what the gate took is given back, as for a queue
        # timeout; one cut after it was sent keeps it (it may have acted). The give-back is shielded (`_give_back`).
        given = await give_back() if give_back is not None and (
            not invoked or (context is not None and context.never_started)) else None
        if RUNNING.take_stop(task):
            # The stop's drain ran out with this call in flight: answer it (the transport writes the
            # answer before the server closes) instead of letting the shutdown cut the connection.
            assert task is not None
            task.uncancel()
            status = outcome = "cancelled"
            seconds = time.perf_counter() - started
            if RUNNING.why == STDIN_CLOSED:  # the client left: the JSON-RPC error the stdio transport answers
                result = error_result(CLOSED.format(tool=tool.name, seconds=seconds))
                result.protocol_error = {"code": CONNECTION_CLOSED, "message": result.content[0]["text"]}
            elif given is not None:  # it never started: it did nothing, and its approval stands for the same call
                result = error_result(f"{NOT_STARTED.format(tool=tool.name, seconds=seconds, why=RUNNING.why)} {given}")
            else:
                result = error_result(STOPPED.format(tool=tool.name, seconds=seconds, why=RUNNING.why))
        else:
            # The client cancelled (or left): still one log line and one event, so metrics and the
            # audit log count every call a client made. Nothing is answered: 0 bytes sent, no error
            # to count. Re-raised below.
            cancelled = exc
            status = outcome = "cancelled"
            result = ToolResult(content=[])
    except RecursionError:  # a value nested deeper than shaping can walk: the result's fault, not ours
        status = outcome = "upstream_error"
        result = error_result(f"the result of {tool.name} nests too deeply to process")
    except Exception as exc:  # a bug in mcprt or a source: keep serving, tell the model plainly
        status = "internal"
        outcome = "internal"
        logger.log(logging.ERROR, "tool %s failed unexpectedly", tool.name, exc_info=exc)
        result = error_result(f"internal error in mcprt while calling {tool.name}: {type(exc).__name__}")
    finally:
        RUNNING.leave(task)  # whatever ends the call (an exception none of the above takes included)
    latency = time.perf_counter() - started
    result.outcome = outcome
    if context is not None and context.relay_reached:
        # a relay that started its target's call, however it ended (cancelled, or failing after the target
        # answered): the target's own event counts the call and its bytes
        result.relayed = True
    error_text = result.content[0].get("text") if result.is_error and result.content else None
    log_call(
        tool=tool.name,
        source=tool.source,
        status=status,
        latency_ms=latency * 1000,
        raw_bytes=result.raw_bytes,
        sent_bytes=result.sent_bytes,
        is_error=result.is_error,
        task=getattr(peer, "task_id", None),
        reason=reason,
        call=call_id,
        session=session_id,
        # a log line carries no argument value, and an error may quote one (a refused path value, a URL)
        error_text=None if error_text is None else without_argument_values(
            error_text, arguments if isinstance(arguments, dict) else None),
        upstream_status=upstream_status,
        attempts=attempts,
        trace=trace,
    )
    if BUS.active:
        BUS.publish(CallEvent(
            time=time.time() - latency,
            tool=tool.name,
            source=tool.source,
            outcome=outcome,
            latency=latency,
            raw_bytes=result.raw_bytes,
            sent_bytes=result.sent_bytes,
            principal=principal,
            session_id=session_id,
            request_id=request_id,
            arguments=arguments if isinstance(arguments, dict) else None,
            upstream_status=upstream_status,
            upstream_attempts=attempts,
            upstream_latency=_upstream_seconds(upstream),
            error=error_text,
            unreachable=unreachable,
            task_id=getattr(peer, "task_id", None),  # set once the call became a task (server.roundtrip)
            relayed=result.relayed,
            via=via,
            call_id=call_id,
            trace_id=trace[0] if trace is not None else None,
            span_id=trace[1] if trace is not None else None,
            # by reference, only for a subscriber that reads payloads (the status page's inspector)
            detail={"upstream": upstream, "result": result} if BUS.wants_payloads else {},
        ))
    if cancelled is not None:
        raise cancelled
    return result


def _refuse_if_gated() -> None:
    """Raise the refusal a call gate gives now (`EventBus.add_gate`: an audit log that cannot record the
    call, under `audit_on_failure: refuse`), as a ToolCallError whose `reason` is the gate's."""
    if (refusal := BUS.refusal()) is not None:
        refused = ToolCallError(refusal[1])
        refused.reason = refusal[0]
        raise refused


def _attempts(meta: dict[str, Any]) -> int | None:
    attempts = meta.get("attempts")
    return attempts if isinstance(attempts, int) else None


def _upstream_seconds(upstream: Any) -> float | None:
    latency_ms = upstream.meta.get("latency_ms") if upstream is not None else None
    return latency_ms / 1000 if isinstance(latency_ms, int | float) else None
