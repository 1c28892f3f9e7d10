"""Python entry points as a source: each typed function becomes one Operation.

Calls: the arguments are validated and coerced by the function's pydantic model; a sync function
runs in a worker thread (so a slow one never blocks the server), an async one is awaited, both
within the tool's timeout; a returned generator is consumed there too, bounded (calling.py). An exception raised by the function is the tool's answer, not a crash:
an `isError` result whose text is `<ExceptionType>: <message>` (plus the traceback with
`MCPRT_DEBUG=1`), which a model can read and act on. A function that wants to refuse a call with
a message of its own may raise `mcprt.errors.ToolCallError`; its message is passed on verbatim.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread

from ...observability.log import adopt_source_logger, in_python_source
from ...errors import (
    CallTimeout, Diagnostic, McprtError, QueueTimeout, SourceConfigError, SourceProblem, UpstreamError, source_problem,
)
from ...manifest import python_env
from ...manifest.model import DescriptionPolicy, PythonSource
from ..naming import mostly_unspellable, served_tool_name, unspellable
from ...contracts import CallContext, Operation, OperationMeta, UpstreamResult
from ..base import SourceContext
from ..kind import response_limit
from ...offerings.model import Offerings
from ..sentences import fit  # the one sentence-aware cut every description gets
from .calling import DeadlinePassed, run_function
from .lanes import Lane
from .docstrings import Docstring, parse_docstring
from .frameworks import decorated, left_out_advice, not_a_tool
from .importing import (AlreadyReported, Entry, ModuleImports, as_named, forget_tree, functions_of, make_importable,
                        module_files, parse_entries, refuse_shadowing_files, tree_files)
from .offers import load_offers
from .raised import exception_message, exception_text, stops_the_call, tool_error_text
from .results import to_upstream, visible_text
from .signature import FunctionSignature, bind_arguments, describe_function


class PythonFunctionsSource:
    """The running form of a `python:` source. Holds no reference to the manifest."""

    kind = "python"

    def __init__(self, name: str, operations: list[Operation], files: list[Path],
                 offerings: Offerings | None = None, environment_owner: object | None = None) -> None:
        self.name = name
        self._environment_owner = environment_owner  # what its `env:` set in os.environ (manifest/python_env.py)
        self.fingerprint = ""
        self._operations = operations
        self._files = files
        self.offerings = offerings  # resources and prompts from `resources:` / `prompts:` (offers.py)

    @property
    def operations(self) -> list[Operation]:
        return list(self._operations)

    def local_files(self) -> list[Path]:
        return list(self._files)

    async def aclose(self) -> None:
        """Its `env:` variables are released (another open source setting one keeps it; else the process's own
        value comes back); imported modules stay in sys.modules (Python cannot unload them)."""
        if self._environment_owner is not None:
            python_env.release(self._environment_owner)
            self._environment_owner = None


class FunctionInvoker:
    """Calls one function with a tool call's arguments and turns the outcome into an UpstreamResult."""

    def __init__(self, fn: Any, signature: FunctionSignature, source: str, debug: bool, concurrency: int) -> None:
        self.fn = fn
        self.lane = Lane(concurrency)  # this tool's own worker threads (lanes.py): no other tool waits for them
        self.signature = signature
        self.log = logging.getLogger(f"mcprt.source.{source}")
        self.source = source
        self.debug = debug

    async def __call__(self, arguments: dict[str, Any], context: CallContext) -> UpstreamResult:
        args, kwargs = bind_arguments(self.signature, context.tool, arguments, context)
        # a generator is bounded by the raw upstream limit, as an HTTP body is: `max_result_bytes` is for the
        # result after `prune:`/`output:` shaped it, which may keep a little of many items
        limit = context.max_response_bytes
        ticket = self.lane.ticket()
        try:
            with in_python_source(self.source):  # its logging on any logger is this source's (root's included)
                returned = await run_function(context.tool, self.fn, args, kwargs, timeout=context.timeout,
                                              max_bytes=limit, ticket=ticket)
        except DeadlinePassed:  # no answer in time, not a refusal; the message says whether it waited for a
            # thread of its lane, or never started: which limit passed is the outcome, as for every source kind
            if ticket.never_ran:  # its time passed in mcprt's own queue: mcprt's capacity (queue_timeout)
                raise QueueTimeout(ticket.message(context.tool, context.timeout)) from None
            # it started (late or not): its own time limit passed while it ran (timeout)
            raise CallTimeout(ticket.message(context.tool, context.timeout)) from None
        except UpstreamError as exc:  # the function says its own upstream failed: counted so
            if exception_message(exc) is None:  # the call's answer is its message: one that renders
                raise UpstreamError(exception_text(exc), unreachable=exc.unreachable) from None
            raise
        except BaseException as exc:  # the function's own failure is the tool's answer, whatever its class
            said = tool_error_text(exc)  # ToolCallError, FastMCP's or the SDK's `ToolError`: its message, as is
            if said is not None:
                said = visible_text(said)  # a lone surrogate in it shown escaped: UTF-8 cannot carry it
                return UpstreamResult(kind="text", body=said, raw_bytes=len(said.encode("utf-8")), is_error=True)
            if stops_the_call(exc):  # cancelled (its time limit, the client), not failed
                # cancelled while it waited in its lane: the function was never called (`CallContext.never_started`)
                context.never_started = ticket.never_ran
                raise
            self.log.debug("%s raised %s", context.tool, type(exc).__name__, exc_info=exc)
            text = visible_text(exception_text(exc))  # its type, even when its message cannot be rendered
            if self.debug:
                text += "\n" + "".join(traceback.format_exception(exc))
            return UpstreamResult(kind="text", body=text, raw_bytes=len(text.encode("utf-8")), is_error=True)
        # checked against the return type only while the tool promises that shape (README: "When it declares one")
        result = to_upstream(returned.value, self.signature.returns if context.output_declared else None,
                             tool=context.tool)
        if returned.note is not None:
            result.notes.append(returned.note)
        return result


async def open_python_source(ctx: SourceContext) -> PythonFunctionsSource:
    """Import the entries (in a worker thread: imports run user code) and describe every function."""
    config = ctx.config
    if not isinstance(config, PythonSource):
        raise McprtError(f"source '{ctx.name}' is not a python source")
    owner = object()  # this open's hold on the variables its `env:` sets (released when it closes or fails)
    try:
        return await anyio.to_thread.run_sync(_load, ctx, config, owner)
    except BaseException:
        # failed, or cancelled (another source's error fails the compile: `SourcePool.fail_fast`) — the thread ran
        # to its end and exported, but no source is returned to close: a rejected reload's secret stayed in
        # os.environ for good, seen by the serving tools and their child processes (review of fixfm2, #1)
        python_env.release(owner)
        raise


# base folder → `python_env.generation()` its modules were last imported at (under `importing`'s lock via forget)
_imported_at: dict[Path, int] = {}


def _load(ctx: SourceContext, config: PythonSource, owner: object) -> PythonFunctionsSource:
    entries = parse_entries(config.python)
    make_importable(ctx.base_dir)
    refuse_shadowing_files(ctx.base_dir, entries)
    python_env.export(owner, ctx.name, config.env)
    generation = python_env.generation()
    if _imported_at.get(ctx.base_dir, generation) != generation:
        # a variable changed since this folder's modules were imported (a rotated secret, a name dropped, a failed
        # reload's value taken back): modules that read one at import (`KEY = os.environ[...]`) run again
        forget_tree(ctx.base_dir)
    _imported_at[ctx.base_dir] = generation
    return _load_exported(ctx, config, entries, owner)


def _load_exported(ctx: SourceContext, config: PythonSource, entries: list[Entry],
                   owner: object) -> PythonFunctionsSource:
    operations: list[Operation] = []
    imports = ModuleImports(ctx.base_dir)
    problems: list[SourceProblem] = []  # each at its own key, or at its module's line (SourceConfigError)
    offered = _offered(config)
    for entry in entries:
        # before the import: what the module logs at import reaches mcprt's log too
        adopt_source_logger(entry.module, ctx.name)
        try:
            with in_python_source(ctx.name):
                functions = functions_of(entry, imports.module(entry))
        except AlreadyReported:
            continue
        except McprtError as exc:
            problems.append(source_problem(entry.where, exc))
            continue
        if entry.attr is None:  # a whole module: what the manifest serves as a resource or prompt, or FastMCP
            # marked as one, is not also a tool (the model would see a prompt's text maker as an action)
            for fn_name, fn in functions:
                advice = left_out_advice(fn, f"{entry.module}:{fn_name}")
                if advice is not None and (entry.module, fn_name) not in offered:  # said, not silently dropped
                    ctx.warnings.append(Diagnostic("", 0, 0, f"source '{ctx.name}': {advice}", "warning"))
            functions = [(n, f) for n, f in functions if (entry.module, n) not in offered and not_a_tool(f) is None]
        for fn_name, fn in functions:
            label = f"{entry.label()}: '{entry.module}:{fn_name}'" if entry.attr is None else entry.label()
            target = f"{entry.module}:{entry.attr or fn_name}"  # `shop:Inventory.restock` names `restock`
            try:
                operations.append(_operation(ctx, config, target, fn_name, fn, label))
            except McprtError as exc:
                problems.append((entry.where, str(exc) + _listing_hint(entry, imports.module(entry)), None))
    offerings = None
    try:
        offerings = load_offers(config.resources, config.prompts, imports, response_limit(config, ctx.defaults),
                                config.concurrency)
    except SourceConfigError as exc:
        problems += exc.problems
    if problems:
        raise SourceConfigError(problems)
    files = as_named(module_files(imports.modules), ctx.base_dir)
    files += [path for path in tree_files(ctx.base_dir) if path not in files]  # helpers: watched too
    return PythonFunctionsSource(ctx.name, operations, files, offerings, owner)


def _offered(config: PythonSource) -> set[tuple[str, str]]:
    """(module, function) of every function the source's `resources:` and `prompts:` name."""
    targets = [*config.resources.values(), *config.prompts]
    return {(module.strip(), attr.strip()) for module, _, attr in (t.partition(":") for t in targets)}


def _operation(ctx: SourceContext, config: PythonSource, target: str, fn_name: str, fn: Any,
               label: str) -> Operation:
    documented = fn.func if isinstance(fn, functools.partial) else fn  # a partial's own doc is partial's
    doc = parse_docstring(inspect.getdoc(documented))
    signature = describe_function(fn, label, doc)
    if signature.renamed:  # said where `validate` shows it: the served name is not what the code reads
        listed = ", ".join(f"parameter '{param}' as argument '{arg}'" for param, arg in signature.renamed)
        ctx.warnings.append(Diagnostic("", 0, 0, (
            f"source '{ctx.name}': {label}: serves {listed}: model APIs accept only A-Z a-z 0-9 _ . - in argument "
            "names (at most 64), and Claude's and Bedrock's refuse the whole tool list for one other name; the "
            "original name is said in the argument's description, and the function is called with its own keyword"),
            "warning"))
    # FastMCP's `@mcp.tool(name=…, description=…)`: the name and description it serves the tool under
    given = decorated(documented)  # and its title and annotations (readOnlyHint, destructiveHint, …)
    name = given.name or fn_name
    served = served_tool_name(name, target.partition(":")[0])
    if unspellable(name):  # said where `validate` shows it, as for OpenAPI operationIds
        kept = "its module's" if mostly_unspellable(name) else "what a tool name keeps of it"
        ctx.warnings.append(Diagnostic("", 0, 0, (
            f"source '{ctx.name}': {label}: served as '{served}': its name has letters a tool name cannot hold "
            f"(A-Z a-z 0-9 _ -), so the name is {kept} and a hash of the function's name (stable when other "
            "functions change); give it a readable `name:` under `tools:`"), "warning"))
    return Operation(
        key=name,
        name=served,
        description=given.description or _description(doc, ctx.defaults.descriptions)
        or f"Calls the Python function {fn_name}.",
        input_schema=signature.input_schema,
        invoke=FunctionInvoker(fn, signature, ctx.name, ctx.settings.debug, config.concurrency),
        # the function's own name stays an alias when a decorator renamed it: `tools: {get_stock: …}` written before
        # mcprt read `@mcp.tool(name="stock_level")` (the workaround for its name) still applies
        aliases=(target,) if name == fn_name else (target, fn_name),
        title=given.title or (given.annotations or {}).get("title"),
        annotations=given.annotations or {},
        output_schema=signature.output_schema,
        response_schema=signature.response_shape,  # checked shaping and outputSchema, as for OpenAPI responses
        response_schema_exact=True,  # a return annotation names every field: nothing is merely undocumented
        meta=OperationMeta(summary=doc.summary or "", words=(target.partition(":")[0],)),
        client_requests=signature.context_param is not None,  # its CallContext reaches the client (peer, progress)
    )


def _description(doc: Docstring, policy: DescriptionPolicy) -> str:
    """The tool description a docstring gives under `defaults.descriptions`: `full` — the whole
    docstring but its parameter sections (each parameter's text is in the input schema already);
    `brief` and `summary` — its first paragraph (PEP 257's summary), cut at a sentence within
    `max_chars`."""
    if policy.style == "full":
        return doc.text or doc.summary
    return fit(doc.summary, policy.max_chars)


def _listing_hint(entry: Entry, module: ModuleType) -> str:
    """For a function a whole-module entry took without being asked (no `__all__`): how to leave it out,
    since it may be a helper the author never meant as a tool."""
    if entry.attr is not None or hasattr(module, "__all__"):
        return ""
    return (f" (`{entry.module}` has no `__all__`, so each of its public functions is a tool: list the tools in "
            "`__all__`, or start a helper's name with `_`)")
