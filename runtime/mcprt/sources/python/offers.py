"""Python functions as resources and prompts (`resources: {uri: module:function}`, `prompts: [...]`).

Shapes (MCP 2025-11-25 §server/resources, §server/prompts):
- a resource function takes the URI template's variables as arguments (none for a plain URI) and
  returns `str` (text/plain), `bytes` (a base64 blob: image/png, image/jpeg, image/gif, image/webp
  when the bytes are one, else application/octet-stream) or any value a tool may return, serialized
  the same way (`results.py`: models and dataclasses as application/json text, a `date` as text/plain);
  its listing carries that `mimeType` when the return annotation fixes it for every value ("The MIME
  type of this resource, if known": `-> str`/`-> date` text/plain, `-> Model`/`-> dict`/`-> list[X]`
  application/json), and none when only the value tells (`-> bytes` is sniffed, `-> Item | None`,
  `Any`, no annotation) — unlike FastMCP, which lists text/plain whatever the function returns;
- a prompt function's typed parameters are the prompt's arguments (all strings on the wire: read
  as JSON for a parameter that takes no string, then coerced by the signature; `prompt_args.py`);
  it returns `str` (one user message), or a list of `str` / `{"role", "content"}`
  (content: a string, a content block, or any value, sent as its JSON text); other items are sent as
  their text too, and a role other than `user`/`assistant` is the function's error.
An exception is answered as a JSON-RPC error `<ExceptionType>: <message>`; the server keeps serving.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import logging
from collections.abc import Mapping
from typing import Any

from ...errors import McprtError, SourceConfigError, SourceProblem, source_problem
from ...offerings.model import OfferError, Offerings, PromptOffer, ResourceOffer, TemplateOffer
from ...offerings.uris import UnsafeTemplateValue, template_values
from ...settings import env_limit
from ...contracts import CallContext, UpstreamResult
from ...observability.log import log_event
from .docstrings import parse_docstring
from .frameworks import Decorated, decorated
from .importing import AlreadyReported, Entry, ModuleImports, functions_of
from . import prompt_args
from .calling import DeadlinePassed, run_function
from .lanes import Lane
from .blocks import BadBlock, content_block
from .raised import exception_text, stops_the_call, tool_error_text
from .results import to_upstream
from .signature import FunctionSignature, bind_arguments, describe_function

INTERNAL_ERROR = -32603
DEFAULT_CALL_TIMEOUT = 30.0  # seconds a resource read or prompt get may take: MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT


def call_timeout() -> float:
    """Seconds one read of a Python resource, or one get of a Python prompt, may take (its function called and what
    it returns consumed): `MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT`, read at each call, else 30. A tool's `timeout`
    does not apply: a resource or prompt is no tool of the manifest."""
    return env_limit("MCPRT_PYTHON_RESOURCE_PROMPT_TIMEOUT", DEFAULT_CALL_TIMEOUT)


class _Function:
    def __init__(self, fn: Any, name: str, noun: str, label: str, max_bytes: int, concurrency: int) -> None:
        self.name = name
        self.noun = noun  # "resource" or "prompt": what a timeout's message calls it (`Ticket.message`)
        self.max_bytes = max_bytes  # a generator's items consumed for one read or prompt, at most (JSON bytes)
        # its own worker threads, as a sync tool's (lanes.py): a slow read never queues behind another
        # resource, prompt or tool (all share the process's `MAX_SYNC_THREADS`), and at most `concurrency`
        # of its reads run at once
        self.lane = Lane(concurrency)
        documented = fn.func if isinstance(fn, functools.partial) else fn
        self.fn = fn
        self.label = label
        self.doc = parse_docstring(inspect.getdoc(documented))
        self.signature: FunctionSignature = describe_function(fn, label, self.doc)

    async def __call__(self, arguments: Mapping[str, Any]) -> Any:
        timeout = call_timeout()
        context = CallContext(tool=self.label, timeout=timeout, max_response_bytes=0)
        ticket = self.lane.ticket()
        try:
            args, kwargs = bind_arguments(self.signature, self.label, dict(arguments), context)
            returned = await run_function(self.label, self.fn, args, kwargs, timeout=timeout,
                                          max_bytes=self.max_bytes, ticket=ticket)
        except DeadlinePassed:  # whether it waited in its lane, or never started (`Ticket.message`)
            raise OfferError(ticket.message(self.label, timeout, self.noun), INTERNAL_ERROR) from None
        except BaseException as exc:  # the function's own failure, whatever its class (`stops_the_call`)
            if stops_the_call(exc):
                raise
            said = tool_error_text(exc)  # ToolCallError, FastMCP's or the SDK's `ToolError`: its message as is
            if said is not None:
                raise OfferError(said) from None
            raise OfferError(exception_text(exc), INTERNAL_ERROR) from None
        if returned.note is not None:  # a resource or prompt result has no place for notes: the operator hears it
            log_event("python offer cut", logging.WARNING, function=self.label, note=returned.note)
        return returned.value


class PythonOffers:
    """The OfferProvider of a python source."""

    supports_subscribe = False
    supports_completion = False
    asks_client = False  # a Python function has no client to ask

    def __init__(self) -> None:
        self.resources: dict[str, _Function] = {}
        self.templates: dict[str, _Function] = {}
        self.prompts: dict[str, _Function] = {}

    async def read_resource(self, uri: str, *, peer: Any = None) -> dict[str, Any]:  # a function asks no client
        function = self.resources.get(uri)
        values: dict[str, str] = {}
        if function is None:
            for template, candidate in self.templates.items():
                try:
                    matched = template_values(template, uri)
                except UnsafeTemplateValue as exc:  # `..%2F..%2Fetc%2Fpasswd`: never handed to the function
                    raise OfferError(f"Invalid resource URI {uri}: {exc}", -32602) from None
                if matched is not None:
                    function, values = candidate, matched
                    break
        if function is None:
            raise OfferError(f"Resource not found: {uri}", -32002)
        value = await function(values)
        try:
            return {"contents": [_content(uri, value)]}
        except OfferError as exc:
            raise _reported(OfferError(f"{function.label}: {exc}", exc.code)) from None

    async def get_prompt(self, name: str, arguments: Mapping[str, str] | None, *, peer: Any = None) -> dict[str, Any]:
        function = self.prompts.get(name)
        if function is None:
            raise OfferError(f"unknown prompt '{name}'")
        value = await function(prompt_args.decode(function.signature.input_schema, arguments or {}))
        items = value if isinstance(value, list) else [value]
        messages = []
        for index, item in enumerate(items):
            try:
                messages.append(_message(item))
            except OfferError as exc:  # the client and the operator learn which prompt and which message
                raise _reported(OfferError(f"{function.label}, message {index}: {exc}", exc.code)) from None
            except BaseException as exc:  # noqa: BLE001 — the item's own code (a Mapping's `__getitem__`…) failed
                if stops_the_call(exc):
                    raise
                raise _reported(OfferError(f"{function.label}, message {index}: reading it failed: "
                                           f"{exception_text(exc)}", INTERNAL_ERROR)) from None
        result: dict[str, Any] = {"messages": messages}
        if function.doc.summary:
            result["description"] = function.doc.summary
        return result

    async def complete(self, ref: dict[str, Any], argument: dict[str, Any],
                       context: dict[str, Any] | None, *, peer: Any = None) -> dict[str, Any]:
        return {"completion": {"values": [], "hasMore": False}}

    async def subscribe(self, uri: str) -> None:
        raise OfferError("python resources do not support subscriptions")

    async def unsubscribe(self, uri: str) -> None:
        return None


def _reported(error: OfferError) -> OfferError:
    """`error` — a function's value that cannot be sent (a bad prompt message, a resource value JSON
    cannot carry) — logged once as a warning for the operator, who owns the function: the JSON-RPC
    error reaches only the requesting client. Its text names the function, message and type, never a
    value sent to it, so it holds no argument a client sent."""
    log_event("python offer not sent", logging.WARNING, error=str(error))
    return error


def load_offers(resources: Mapping[str, str], prompts: list[str], imports: ModuleImports,
                max_bytes: int, concurrency: int) -> Offerings | None:
    """Import the functions named by `resources`/`prompts`; raise SourceConfigError naming every bad entry
    at its own key. `max_bytes`: the JSON bytes of a generator's items consumed for one read or prompt
    (`max_response_bytes`), past which it is stopped and a WARNING says so. `concurrency`: the source's
    setting, each sync function's lane (`lanes.Lane`: at most that many of its reads or gets at once)."""
    if not resources and not prompts:
        return None
    provider = PythonOffers()
    resource_offers: list[ResourceOffer] = []
    template_offers: list[TemplateOffer] = []
    prompt_offers: list[PromptOffer] = []
    problems: list[SourceProblem] = []  # each at its own key, or at its module's line (SourceConfigError)
    for uri, target in resources.items():
        try:
            function = _function(target, "resource", f"resource '{uri}'", imports, max_bytes, concurrency)
        except AlreadyReported:
            continue
        except McprtError as exc:
            problems.append(source_problem(("resources", uri), exc))
            continue
        given = decorated(function.fn, "resource")  # FastMCP's @mcp.resource(name=, description=, title=)
        wire = {"name": given.name or function.name,
                "description": given.description or function.doc.summary or f"Resource {uri}."}
        if given.title:
            wire["title"] = given.title
        mime_type = _MIME_TYPES.get(function.signature.result_kind or "")
        if mime_type:
            wire["mimeType"] = mime_type
        if "{" in uri:
            provider.templates[uri] = function
            template_offers.append(TemplateOffer(uri, {"uriTemplate": uri, **wire}))
        else:
            provider.resources[uri] = function
            resource_offers.append(ResourceOffer(uri, {"uri": uri, **wire}))
    for index, target in enumerate(prompts):
        try:
            function = _function(target, "prompt", f"prompt '{target.partition(':')[2].strip() or target}'", imports,
                                 max_bytes, concurrency)
        except AlreadyReported:
            continue
        except McprtError as exc:
            problems.append(source_problem(("prompts", index), exc))
            continue
        given = decorated(function.fn, "prompt")  # FastMCP's @mcp.prompt(name=, description=, title=)
        name = given.name or function.name
        provider.prompts[name] = function
        prompt_offers.append(PromptOffer(name, _prompt_wire(name, function, given)))
    if problems:
        raise SourceConfigError(problems)
    return Offerings(provider, tuple(resource_offers), tuple(template_offers), tuple(prompt_offers))


def _function(target: str, noun: str, what: str, imports: ModuleImports, max_bytes: int, concurrency: int) -> _Function:
    module_name, sep, attr = target.strip().partition(":")
    if not sep or not attr:
        raise McprtError(f"{what}: '{target}' is not `package.module:function`")
    entry = Entry(target, module_name, attr, None)
    [(name, fn)] = functions_of(entry, imports.module(entry))
    return _Function(fn, name, noun, f"{what} ({target})", max_bytes, concurrency)


def _prompt_wire(name: str, function: _Function, given: Decorated) -> dict[str, Any]:
    schema = function.signature.input_schema
    required = set(schema.get("required", ()))
    arguments = []
    for argument, spec in (schema.get("properties") or {}).items():
        item: dict[str, Any] = {"name": argument, "required": argument in required}
        # the listing has no types: a parameter that takes no plain string says its form
        described, form = spec.get("description"), prompt_args.hint(spec, schema)
        if described or form:
            item["description"] = f"{described} ({form})" if described and form else described or form
        arguments.append(item)
    wire: dict[str, Any] = {"name": name, "description": given.description or function.doc.summary or f"Prompt {name}."}
    if given.title:
        wire["title"] = given.title
    if arguments:
        wire["arguments"] = arguments
    return wire


# a resource's listed mimeType by `FunctionSignature.result_kind`: what `_content` will send
_MIME_TYPES = {"text": "text/plain", "json": "application/json"}


def _content(uri: str, value: Any) -> dict[str, Any]:
    """A resource function's value as resource contents, serialized as a tool's result is
    (`results.to_upstream`: models and dataclasses as their JSON, a `date` as its text, PNG/JPEG/GIF/WebP
    bytes with their image type), not by `str()`."""
    serialized = _serialized(value)
    if serialized.kind == "text":
        return {"uri": uri, "mimeType": _MIME_TYPES["text"], "text": serialized.body}
    if serialized.kind == "binary":  # scrubbed where every resources/read result is (its blob too: scrub_base64)
        return {"uri": uri, "mimeType": serialized.media_type or "application/octet-stream",
                "blob": base64.b64encode(serialized.body).decode()}
    return {"uri": uri, "mimeType": _MIME_TYPES["json"], "text": json.dumps(serialized.body, ensure_ascii=False)}


def _message(item: Any) -> dict[str, Any]:
    """One prompt message: a `{"role", "content"}` mapping (content a string, a content block, or any
    value shown as its text), else a user message with the item's text. A role MCP does not know is
    the function's error, said as such (MCP 2025-11-25 §server/prompts: `user` or `assistant`); so is
    a content block MCP would not accept (`blocks.py`) and a value that cannot be text (OfferError;
    `get_prompt` adds which prompt and message)."""
    if isinstance(item, Mapping) and "role" in item and "content" in item:
        role, content = item["role"], item["content"]
        if role not in _ROLES:
            raise OfferError(f"its role is {role!r}; a prompt message's role is 'user' or 'assistant'",
                             INTERNAL_ERROR)
        if isinstance(content, Mapping) and isinstance(content.get("type"), str):  # a content block
            try:
                return {"role": role, "content": content_block(content)}
            except BadBlock as exc:
                raise OfferError(f"its content block breaks the MCP schema: {exc}", INTERNAL_ERROR) from None
        return {"role": role, "content": _text_block(content)}
    return {"role": "user", "content": _text_block(item)}


_ROLES = ("user", "assistant")


def _text_block(value: Any) -> dict[str, Any]:
    serialized = _serialized(value)
    if serialized.kind == "binary":
        raise OfferError("it is bytes; give a message text or an image content block", INTERNAL_ERROR)
    text = serialized.body if serialized.kind == "text" else json.dumps(serialized.body, ensure_ascii=False)
    return {"type": "text", "text": text}


def _serialized(value: Any) -> UpstreamResult:
    serialized = to_upstream(value)
    if serialized.is_error:  # a value pydantic cannot serialize: the message says which type
        raise OfferError(str(serialized.body), INTERNAL_ERROR)
    return serialized
