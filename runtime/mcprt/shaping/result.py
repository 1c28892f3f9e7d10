"""From what upstream sent to what the model sees: one `UpstreamResult` → one `ToolResult`.

These rules are user-visible behaviour (the README's "Results" section describes them):

JSON (`kind="json"`)
  1. The tool's `prune` (JMESPath) runs on the parsed body, then `defaults.prune` (auto-prune).
     If a non-empty JSON object holds none of the members it reads (by name, a null counts as
     found) and its value is vacant, or it fails on one, the body is not the shape it was written
     for (an error sent with a 2xx status, `{"ok": false, "error": …}`): the body's members the
     documented response does not declare (all of them for an undocumented response; only its error
     carriers, `prune_miss.error_carriers`, when the body is the documented shape with the prune's
     optional fields omitted) are sent
     (auto-pruned, size-limited, no `output` template, text only beside `{}` when an outputSchema
     is declared) with a note; see `prune_miss.py` for the rule and the legitimate empties it keeps. Otherwise, if the expression matches nothing, or fails on
     an unexpected shape, the result is `null` and a note says so.
  2. With an `output` template: it renders with `result` (the pruned value), `status`,
     `raw_bytes` and `tool`, giving one text block (trailing whitespace removed) and no
     structuredContent. A rendering that is empty says so instead (`empty_rendering`: "No results
     (empty list)."), never an empty text block.
     Without one: one text block of compact JSON, and, when the pruned value is a JSON object,
     the same value as `structuredContent` (MCP requires structuredContent to be an object, so
     arrays and scalars are sent as text only; they are never wrapped in a made-up key).
     A tool that declares an `outputSchema` (`Shaping.structured`) must send structuredContent
     with every success (MCP: "servers MUST provide structured results that conform"): when the
     value is not an object (nothing matched, a non-JSON body) it is `{}`, which the schema
     (no `required`) accepts, and arrays shortened for size carry no marker item.
  3. Size limit (`max_result_bytes`, on that text): a larger value is shortened by structure
     (as many array items kept as fit with their long texts shortened, the rest dropped from the end
     and replaced by one `"… N more items omitted"`
     string, long strings cut at a word with a marker, see `limits.py`) and serialized again;
     JSON text is never cut mid-way. A rendered template over the limit is re-rendered from a
     structurally shortened value whose arrays carry no marker item (a template iterating over
     objects would trip on a string; the note counts what was dropped); only if that cannot get
     under the limit is the rendered text itself shortened at a line boundary. A rendering stopped at
     the template output cap (`MCPRT_TEMPLATE_MAX_OUTPUT`) is over the limit too, and is shortened the
     same way; only a template over the cap on every shortened value is a template failure.
Errors (`is_error`, e.g. HTTP status ≥ 400)
  `isError: true` and one text block `HTTP 404 Not Found: <body>`. The body is auto-pruned but
  never passed through the tool's `prune` (that targets the success shape, and would usually
  erase the error's `message`/`errors`), and shortened by structure to about 2 KB. An HTML error
  page is reduced to its text. No template is applied.
Text (`kind="text"`)
  One text block (`output` renders with `result` = the text), shortened at a line or word
  boundary with a marker when over the limit.
Binary (`kind="binary"`)
  PNG, JPEG, GIF and WebP become an MCP image block; anything else an embedded resource
  (`mcprt://result/<tool>`, base64 `blob`). The limit applies to the base64 text; over it, or
  when the body was cut, a short text says what was not shown.
Proxied MCP content (`kind="content"`)
  Blocks pass through. With a `prune` or auto-prune, structuredContent is pruned, and text
  blocks holding JSON are parsed, pruned and re-serialized compactly; structuredContent that
  stops being an object is dropped (the text blocks carry it). `output` renders with `result` =
  the pruned structuredContent, else the JSON (or text) of the text blocks, replacing them with
  one text block. The limit bounds the whole result object as sent, a structuredContent a text
  block repeats counted once (`wire.limited_size`: every field of every block, `_meta`, the notes), as
  `result_limit` says: texts shortened as above, a
  structuredContent no text block repeats shortened by structure, a block whose fixed part (URI, data)
  does not fit left out with a note; error results pass through within the same limit. `raw_bytes` is the upstream's result measured as `sent_bytes` is.
Notes
  Anything omitted or odd (shortened, prune matched nothing, the upstream body was cut at the
  response limit) is said in one trailing text block of `Note: …` lines, so the JSON block stays
  valid JSON. Notes count against `max_result_bytes` (the limit is what the model receives): the
  value is shortened until it and the notes fit together. A shortened page (a cursor-like field at
  the top, or an operation with a page-size parameter) gets a note that the omitted items are not
  on the next page (`pagination.py`).
structuredContent and outputSchema
  A structuredContent that breaks the outputSchema mcprt derived from the API description (the upstream
  broke its own description: `"abc"` for an integer id) is sent as `{}` beside the whole result as text,
  with a note and a log line (`structured_check.py`): a client would refuse the whole result.
  structuredContent never carries a marker (no marker item in a list, no `"…"` key in an object),
  and a node the outputSchema refuses shortened (`enum`, `pattern`, `format`, `minItems`,
  `required` …) is restored as sent (`conform.py`): it always conforms (MCP: "MUST conform").
Template failures
  A failing `output` template gives an isError result naming the tool, the template line and the
  problem, and saying it is a server configuration problem (no traceback).
`raw_bytes` is the upstream's answer measured as sent bytes are (`shaping.sent.raw_size`); `sent_bytes`
is what the model reads (`shaping.sent`: the content blocks' payload, structuredContent unless a text
block repeats it), the "after" of the token figures.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from mcprt.contracts import ToolResult, UpstreamResult
from mcprt.identity.principal import ANONYMOUS, Principal
from mcprt.scrubbing import SECRETS

from .autoprune import AutoPruner
from .conform import CannotConform, conform  # cheap: jsonschema is loaded on first use
from .limits import by_place, compact_json, json_size, parse_json_container, shorten_text, shorten_to_fit, utf8_length
from .notes import notes_block, notes_size
from .pagination import shortened_page_note
from .prune_miss import Members, missed, shown as miss_shown
from .result_limit import fit_result
from .sent import mirrored_block, raw_size, sent_size
from .structured_check import log_mismatch
from ..expressions.absent_fields import AbsentFields
from ..expressions.budget import max_output
from ..expressions.prune import Pruner, PruneRuntimeError
from ..expressions.prune_budget import PruneBudgetExceeded
from ..expressions.template_errors import TemplateRenderError
from ..schema.structured_check import StructuredCheck
from ..wording import byte_count, readable

_log = logging.getLogger("mcprt.shaping")

if TYPE_CHECKING:
    from .exposed_uris import Exposer
    from ..expressions.templates import CompiledTemplate

ERROR_BODY_BYTES = 2_000
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_ENCODE = compact_json  # every value shaped here is a JSON value (parsed, pruned, shortened)
_MAX_RERENDERS = 4
_TYPICAL_DETAIL = "$.items: 1234 of 12345 items omitted"
_MAX_REFITS = 3  # shortening again by what the notes took: their size barely depends on the numbers in them


@dataclass(frozen=True)
class Shaping:
    """Everything needed to shape one tool's results, compiled once when the manifest loads."""

    pruner: Pruner | None = None
    autoprune: AutoPruner | None = None
    output: CompiledTemplate | None = None
    max_result_bytes: int = 100_000
    tool: str = "tool"
    structured: bool = False  # the tool declares an outputSchema: every success carries an object
    output_schema: dict[str, Any] | None = None  # that outputSchema: a shortened structuredContent must conform
    page_size: str | None = None  # the operation's page-size parameter (`limit`), named when a page is shortened
    cursor_parameters: frozenset[str] | None = None  # the tool's parameters, normalized (`pagination`); None: unknown
    documented: AbsentFields | None = None  # result fields the `output` template renders empty when absent (`absence`)
    template_origin: str | None = None  # where the output template is written ("mcp.yaml:52"), for errors
    structured_check: StructuredCheck | None = None  # the derived outputSchema's check, before sending (`structured_check`)
    principal: Principal | None = None  # set per call by `shape_result`, for `output:` templates
    # the top-level members the operation's success response documents: what a prune miss may show (`prune_miss`)
    members: Members | None = None


class _TemplateFailed(Exception):
    def __init__(self, error: TemplateRenderError) -> None:
        self.error = error


def shape_result(upstream: UpstreamResult, shaping: Shaping, principal: Principal | None = None,
                 expose: Exposer | None = None) -> ToolResult:
    """Apply the shaping rules above; never raises for data-dependent problems. `principal` (who
    calls; anonymous when None) is what `output:` templates see as `principal`. `expose`: rewrites the
    content blocks and structuredContent to the URIs a client reads through mcprt (exposed_uris.py), run
    after pruning and templates and before the result size limit, which then counts what it adds."""
    if principal is not None and shaping.output is not None:
        shaping = dataclasses.replace(shaping, principal=principal)
    notes: list[str] = list(upstream.notes)
    meta = upstream.result_meta
    if upstream.truncated:
        notes.append(
            f"the upstream response was larger than the response size limit and was cut after "
            f"{byte_count(upstream.raw_bytes)}; this result is incomplete"
        )
    try:
        if upstream.kind == "content":
            content, structured, meta = _shape_content(upstream, shaping, notes, expose)
            is_error = upstream.is_error
        elif upstream.is_error:
            content, structured, is_error = [_text_block(_error_text(upstream, shaping))], None, True
        elif upstream.kind == "json":
            content, structured = _shape_json(upstream, shaping, notes, expose)
            is_error = False
        elif upstream.kind == "text":
            _note_prune_skipped(upstream, shaping, notes)
            content, structured = _shape_text(upstream, shaping, notes), {} if shaping.structured else None
            is_error = False
        elif upstream.kind == "binary":
            _note_prune_skipped(upstream, shaping, notes)
            content, structured = _shape_binary(upstream, shaping, notes), {} if shaping.structured else None
            is_error = False
        else:
            content, structured = [_text_block(f"Tool '{shaping.tool}' returned an unknown result kind.")], None
            is_error = True
    except _TemplateFailed as failed:
        content, structured, is_error = [_text_block(_template_failure(shaping, failed.error))], None, True
        notes = []
    except CannotConform as failed:
        content, structured, is_error, notes = [_text_block(f"Tool '{shaping.tool}': {failed}.")], None, True, []
    except RecursionError:
        message = f"Tool '{shaping.tool}' returned a result nested too deeply to process."
        content, structured, is_error, notes = [_text_block(message)], None, True, []
    except PruneBudgetExceeded as exceeded:
        content, structured, is_error, notes = [_text_block(_prune_over_budget(shaping, exceeded))], None, True, []
    block = notes_block(notes)  # one line per distinct note: a mirrored pair's two parts may say the same
    if block is not None:
        content = [*content, block]
    if SECRETS and shaping.pruner is not None and shaping.pruner.writes_text:
        content, structured = _scrubbed(content, structured)
    elif SECRETS and shaping.output is not None:  # a rendered text, or its error: text blocks only
        content, _ = _scrubbed(content, None)
    return ToolResult(
        content=content,
        structured_content=structured,
        is_error=is_error,
        raw_bytes=raw_size(upstream),  # measured as sent is: an unshaped result shows 0 % saved
        relayed=upstream.raw_measured,  # another call's result: its figures are counted there
        sent_bytes=sent_size(content, structured),
        meta=meta,
    )


# --- kinds ----------------------------------------------------------------------------------------


def template_failure(upstream: UpstreamResult, shaping: Shaping) -> TemplateRenderError | None:
    """The error `shaping`'s `output` template raises on this successful JSON or text result (the same
    steps `shape_result` runs), else None. `mcprt validate` reports it at the template's own line, which
    the tool error a model gets (`shape_result`) names only in words."""
    if shaping.output is None or upstream.is_error or upstream.kind not in ("json", "text"):
        return None
    try:
        (_shape_json if upstream.kind == "json" else _shape_text)(upstream, shaping, [])
    except _TemplateFailed as failed:
        return failed.error
    except RecursionError:
        return None
    return None


def _shape_json(upstream: UpstreamResult, shaping: Shaping, notes: list[str],
                expose: Exposer | None = None) -> tuple[list[dict], dict | None]:
    """Content and structuredContent (an object result: the text block is its JSON)."""
    value, unpruned = _prune(upstream.body, shaping, notes)
    if shaping.output is not None and not unpruned:  # the template reads the pruned shape, which this is not
        text = _render_fitting(value, upstream, shaping, notes)
        return [_text_block(text)], None
    if expose is not None and isinstance(value, dict) and not unpruned:  # text and structuredContent alike
        value = expose([], value)[1]
    # The advertised outputSchema, whatever its origin (declared by mcprt, or the function's or upstream
    # tool's own passed through): structuredContent must conform to it, so no marker goes into the data.
    schema = shaping.output_schema if not (unpruned and shaping.structured) else None
    whole, notes_before = value, list(notes)
    value, text = _json_fitting(value, shaping.max_result_bytes, notes,
                                structured=shaping.structured or schema is not None,
                                schema=schema, page_note=_page_note(value, shaping))
    if isinstance(value, dict) and not (unpruned and shaping.structured):
        problem = shaping.structured_check.problem(value) if shaping.structured_check is not None else None
        if problem is not None:  # the upstream broke its own description: a client would refuse the result
            log_mismatch(shaping.tool, problem)
            note = (f"structuredContent is empty because the upstream's answer does not match the response "
                    f"schema its API description documents ({problem}); the text is the whole result")
            if utf8_length(text) + notes_size([*notes, note]) > shaping.max_result_bytes:
                # The limit counts this note too: fit the text again with it (the text alone goes now).
                notes[:] = [*notes_before, note]
                value, text = _json_fitting(whole, shaping.max_result_bytes, notes,
                                            page_note=_page_note(whole, shaping))
            else:
                notes.append(note)
            return [_text_block(text)], {}
        return [_text_block(text)], value
    # A declared outputSchema describes the pruned shape: an unpruned body goes as text only, beside `{}`.
    return [_text_block(text)], {} if shaping.structured else None


def _note_prune_skipped(upstream: UpstreamResult, shaping: Shaping, notes: list[str]) -> None:
    """A tool's prune met an answer that is no JSON: said, not silently skipped (trial of untidy REST APIs,
    fault 5: an NDJSON answer kept as text, its `prune: "[].a"` did nothing and nothing said so)."""
    if shaping.pruner is not None:
        kind = upstream.media_type or "no Content-Type"
        notes.append(f"the prune {prune_excerpt(shaping.pruner.expression)} was not applied: the upstream answered "
                     f"{kind}, which is not JSON, so the whole answer is shown")


def _shape_text(upstream: UpstreamResult, shaping: Shaping, notes: list[str]) -> list[dict]:
    text = _as_text(upstream.body)
    if shaping.output is not None:
        text = _render_fitting(text, upstream, shaping, notes)
    elif not text and upstream.status:
        # An empty text block reads as "nothing happened" to a model (a DELETE's 204 is the usual case):
        # say what the upstream answered, as an error's empty body is said.
        text = _empty_body(upstream.status)
    note = f"text shortened to fit {byte_count(shaping.max_result_bytes)}"
    if utf8_length(text) + notes_size(notes) > shaping.max_result_bytes:
        text = shorten_text(text, max(shaping.max_result_bytes - notes_size([*notes, note]), 0))
        notes.append(note)
    return [_text_block(text)]


def _shape_binary(upstream: UpstreamResult, shaping: Shaping, notes: list[str]) -> list[dict]:
    data = bytes(upstream.body or b"")
    media_type = _media_type(upstream.media_type) or "application/octet-stream"
    encoded_size = (len(data) + 2) // 3 * 4
    if upstream.truncated or encoded_size > shaping.max_result_bytes:
        reason = (
            "it was cut at the response size limit"
            if upstream.truncated
            else f"larger than the result limit of {byte_count(shaping.max_result_bytes)} once base64-encoded"
        )
        return [_text_block(f"binary body of {byte_count(len(data))} ({media_type}) not shown: {reason}")]
    encoded = base64.b64encode(data).decode("ascii")
    if media_type in IMAGE_TYPES:
        return [{"type": "image", "data": encoded, "mimeType": media_type}]
    return [
        {
            "type": "resource",
            "resource": {"uri": f"mcprt://result/{shaping.tool}", "mimeType": media_type, "blob": encoded},
        }
    ]


def _shape_content(upstream: UpstreamResult, shaping: Shaping, notes: list[str],
                   expose: Exposer | None = None) -> tuple[list[dict], dict | None, dict | None]:
    """Content, structuredContent and the result's `_meta` of a proxied result, within the limit."""
    blocks = list(upstream.content or [])
    structured: Any = upstream.structured
    if upstream.is_error:
        if expose is not None:
            blocks, structured = expose(blocks, structured)
        return fit_result(blocks, structured, shaping.max_result_bytes, notes, upstream.result_meta)
    transforms = shaping.pruner is not None or shaping.autoprune is not None
    mirror = mirrored_block(blocks, structured)
    wrapped = mirror is not None and mirror.wrapped
    any_unpruned = False
    if transforms and structured is not None and not wrapped:
        structured, any_unpruned = _prune(structured, shaping, notes)
    parsed: list[Any] = []  # per text block: its pruned JSON value, or _NOT_JSON
    for index, block in enumerate(blocks):
        if block.get("type") != "text" or not isinstance(block.get("text"), str):
            continue
        value = _parse_json(block["text"]) if transforms or shaping.output is not None else _NOT_JSON
        if value is not _NOT_JSON and transforms:
            value, unpruned = _prune(value, shaping, notes)
            any_unpruned = any_unpruned or unpruned
            blocks[index] = {**block, "text": _ENCODE(value)}
        parsed.append(value)
    if wrapped and transforms:
        # The wrapper only repeated the text; after pruning, the pruned object is the structured form.
        first = parsed[0] if parsed else None
        structured = first if isinstance(first, dict) else None
    if any_unpruned and shaping.structured:
        structured = {}  # the declared outputSchema describes the pruned shape; the text blocks carry the body
    if shaping.output is not None and not any_unpruned:
        blocks, structured = _render_content(blocks, parsed, structured, upstream, shaping, notes)
    structured = structured if isinstance(structured, dict) else None
    if expose is not None:  # before the limit, which counts the prefixes it adds
        blocks, structured = expose(blocks, structured)
    # The limit bounds the whole result: every block (a template's text included) and structuredContent.
    return fit_result(blocks, structured, shaping.max_result_bytes, notes,
                      upstream.result_meta, shaping.output_schema if not any_unpruned else None)


# --- errors ---------------------------------------------------------------------------------------

_SHOWN_EXPRESSION = 120  # characters of a prune named in an error: enough to find it in the manifest


def _prune_over_budget(shaping: Shaping, exceeded: PruneBudgetExceeded) -> str:
    """The tool error of a prune stopped by its budget (`prune_budget`): the tool, the prune, why."""
    expression = shaping.pruner.expression if shaping.pruner is not None else "?"
    if len(expression) > _SHOWN_EXPRESSION:
        expression = expression[:_SHOWN_EXPRESSION] + f"… ({len(expression)} characters)"
    return (f"Tool '{shaping.tool}': its prune expression {expression!r} {exceeded}; this is a server "
            "configuration problem (the manifest's `prune` for this tool), not something a different call can fix.")



def _error_text(upstream: UpstreamResult, shaping: Shaping) -> str:
    prefix = f"HTTP {upstream.status}{_reason(upstream.status)}" if upstream.status else ""
    attempts = upstream.meta.get("attempts")
    if prefix and isinstance(attempts, int) and attempts > 1:  # retried: the upstream was asked that many times
        prefix += f" (the last of {attempts} attempts)"
    if upstream.truncated:
        # Say what happened first: the body's start (possibly binary noise) is secondary.
        prefix = (f"{prefix}: " if prefix else "") + (
            "the response was larger than this tool's max_response_bytes and was cut, so it is incomplete; "
            "ask for less (filters, fields, pagination). It began with")
    body = upstream.body
    if upstream.kind == "json":
        value = shaping.autoprune.apply(body) if shaping.autoprune is not None else body
        value, _ = shorten_to_fit(value, ERROR_BODY_BYTES)
        detail = _ENCODE(value)
    elif upstream.kind == "binary":
        media_type = _media_type(upstream.media_type) or "application/octet-stream"
        detail = f"binary body of {byte_count(len(body or b''))} ({media_type}) not shown"
    else:
        # here, not at the top: only an HTTP upstream's error body needs it, and `validate` of a manifest
        # without one must not load the outbound package (tests/cli/test_cli_imports.py)
        from mcprt.outbound.decoding import html_to_text, looks_like_html

        text = _as_text(body)
        if looks_like_html(text, upstream.media_type):
            text = html_to_text(text)
        shown = readable(text, ERROR_BODY_BYTES)
        detail = shorten_text(text.strip(), ERROR_BODY_BYTES) if shown == text[:ERROR_BODY_BYTES] else shown
    if not prefix:
        return detail or f"Tool '{shaping.tool}' failed without a message."
    return f"{prefix}: {detail}" if detail else f"{prefix} (empty body)"


def _reason(status: int) -> str:
    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""


def _template_failure(shaping: Shaping, error: TemplateRenderError) -> str:
    where = f" at line {error.line}" if error.line else ""
    origin = f" ({shaping.template_origin})" if shaping.template_origin else ""
    return (
        f"Tool '{shaping.tool}' could not format its result: its output template{origin} failed{where}: "
        f"{error.message.rstrip('.')}. "  # jinja2's own messages may end with a period already
        f"This is a problem in the server's configuration, not in the arguments."
    )


def _scrubbed(content: list[dict[str, Any]], structured: dict[str, Any] | None,
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """`content`'s texts and `structured` without configured secrets. The upstream's answer was scrubbed before
    shaping (`toolset.scrub`), and a prune that writes no text of its own (`Pruner.writes_text`, decided when the
    manifest loads) only rearranges it: its result is not scrubbed again (review of shapefix, problem 9: every
    result of every pruned tool was scrubbed whole a second time, its JSON text and structuredContent both, 2.6 ms
    per 100 KB). A template's text and an error's are scrubbed (text blocks only); a template and a prune
    write text of their own: a constant, a `${SECRET}` the
    manifest interpolated into it, a secret assembled from parts (`'zz9Plain' ~ 'SecretValue'`), a template
    error quoting its constant key, a note quoting the prune (shaping trial, fault 2: descriptions and logs said
    `[redacted]` while the result said the secret)."""
    texts = [block for block in content if block.get("type") == "text"]
    scrubbed = SECRETS.scrub_value([[block["text"] for block in texts], structured])
    replaced = dict(zip(map(id, texts), scrubbed[0], strict=True))
    content = [{**block, "text": replaced[id(block)]} if id(block) in replaced else block for block in content]
    return content, scrubbed[1]


# --- pruning, rendering, limits ---------------------------------------------------------------------


# The most characters of a prune expression a note to the model quotes: the expression is the manifest author's,
# and a suggested prune of GitHub's repository is 4,266 of the 4,470 bytes such a result took (big-API trial,
# fault 6); the operator's log has it whole (`_log_prune_miss`).
PRUNE_EXCERPT = 60


def prune_excerpt(expression: str) -> str:
    """`expression` on one line, quoted, cut to `PRUNE_EXCERPT` characters with `…` when longer."""
    line = " ".join(expression.split())
    return repr(line) if len(line) <= PRUNE_EXCERPT else repr(line[:PRUNE_EXCERPT - 1] + "…")


def _prune(value: Any, shaping: Shaping, notes: list[str]) -> tuple[Any, bool]:
    """The value after the tool's prune and the auto-prune, and whether the prune missed the body and
    the body's foreign members are given instead (`prune_miss`; the auto-prune still applies). The notes name the
    tool and quote at most `PRUNE_EXCERPT` characters of its expression; a miss is logged for the operator."""
    unpruned = False
    if shaping.pruner is not None:
        before = value
        said = f"tool '{shaping.tool}': its prune {prune_excerpt(shaping.pruner.expression)}"
        try:
            value = shaping.pruner.apply(value)
        except PruneRuntimeError as exc:
            _log_prune_miss(shaping.tool, shaping.pruner.expression, f"failed: {exc.message}")
            reads = shaping.pruner.reads
            shown = miss_shown(before, shaping.members, reads) if missed(before, None, reads) else None
            if shown is not None:  # it failed on an object it was not written for: show that object
                notes.append(f"{said} failed on this response ({exc.message}); the response is shown "
                             f"{_shown_as(before, shown)}")
                value, unpruned = shown, True
            else:
                notes.append(f"{said} failed on this result ({exc.message}); the result is shown as null")
                value = None
        else:
            reads = shaping.pruner.reads
            shown = miss_shown(before, shaping.members, reads) if missed(before, value, reads) else None
            if shown is not None:
                _log_prune_miss(shaping.tool, shaping.pruner.expression, "found none of its fields")
                notes.append(f"{said} found none of its fields in this response, which is shown "
                             f"{_shown_as(before, shown)}")
                value, unpruned = shown, True
            elif value is None and before is not None:
                notes.append(f"{said} matched nothing in this result")
    if shaping.autoprune is not None:
        value = shaping.autoprune.apply(value)
    return value, unpruned


def _shown_as(body: dict[str, Any], shown: dict[str, Any]) -> str:
    if len(shown) == len(body):
        return "unpruned"
    listed = ", ".join(f"`{name}`" for name in shown)
    return f"as its member{'s' if len(shown) > 1 else ''} {listed} only (the rest is what the prune was written for)"


_logged_misses: set[tuple[str, str]] = set()
_MAX_LOGGED = 4096  # (tool, expression) pairs said once each; past it the set starts again


def _log_prune_miss(tool: str, expression: str, what: str) -> None:
    """Once per tool and expression (per process): the operator's sign that an upstream answers in another shape
    than the prune was written for (an error body, a proxy page, a changed API), with the whole expression."""
    if (tool, expression) in _logged_misses:
        return
    if len(_logged_misses) >= _MAX_LOGGED:
        _logged_misses.clear()
    _logged_misses.add((tool, expression))
    _log.warning("tool %s: its prune %s in a response (said once per tool; `mcprt show %s` shows the prune and "
                 "its line): %s", tool, what, tool, " ".join(expression.split()))


def _json_fitting(
    value: Any, max_bytes: int, notes: list[str], *, structured: bool = False, schema: dict[str, Any] | None = None,
    page_note: str | None = None,
) -> tuple[Any, str]:
    """`value` and its JSON text, shortened so that the text and every note (those already in `notes`
    and the ones this adds) fit `max_bytes` together: the limit is what the model receives.

    `structured`: the value may become structuredContent, so no marker goes into the data (a marker
    string among typed items or map values breaks the outputSchema; the notes say what was dropped),
    and with `schema` (the outputSchema) every node it refuses shortened is restored (`conform`).
    `page_note`: added when items were dropped (`_page_note`).
    """
    text = _ENCODE(value)
    taken = notes_size(notes)
    if len(text) + taken <= max_bytes // 4 or utf8_length(text) + taken <= max_bytes:
        return value, text
    # room for the usual notes up front (one place shortened), so one shortening pass is the rule
    page_notes = [page_note] if page_note else []
    budget = max_bytes - notes_size([*notes, _shortened_note(max_bytes, [_TYPICAL_DETAIL]), *page_notes])
    for _ in range(_MAX_REFITS):
        fitted, details = shorten_to_fit(value, max(budget, 0), item_markers=not structured, key_markers=not structured)
        kept: list[str] = []
        omitted = details.items_omitted  # a page that lost items, not only text (pagination.py)
        if schema is not None and details:
            fitted, kept = conform(fitted, value, schema, restore_cap=max_bytes)
            kept = by_place(kept)  # the items a list keeps shortened may each have a part the schema refuses so
            details = [*(d for d in details if not _superseded(d, kept)), *kept]
        added = [_shortened_note(max_bytes, details), *(page_notes if omitted else [])]
        text = _ENCODE(fitted)
        over = utf8_length(text) + notes_size([*notes, *kept, *added]) - max_bytes
        # What the schema refuses shortened stays whole whatever the budget: shrinking the rest
        # again for it would only drop more of what could be shown.
        if over <= 0 or budget <= 0 or kept:
            break
        # From what this pass gave, not from its budget: a cut lands on a word or item boundary, often
        # below the budget, and the budget less `over` can give the same text again (1 byte over, 3 passes).
        budget = min(budget, utf8_length(text)) - over
    notes.extend(added)
    return fitted, text


def _page_note(value: Any, shaping: Shaping) -> str | None:
    """The shortened-page note for `value` (`pagination`), to add when shortening drops items of it."""
    return shortened_page_note(value, shaping.page_size, shaping.cursor_parameters)


def _superseded(detail: str, kept: list[str]) -> bool:
    """A shortening detail (`$.a: …`) that a `conform` note on the same node, or on a node kept whole or
    omitted above it, makes wrong. Both kinds of note start with the node's path."""
    path = _steps(detail.split(": ", 1)[0])
    for note in kept:
        node = _steps(note.split(": ", 1)[0])
        # a node kept whole or left out has no shortened part below it to tell of (review of shapefix, problem 5:
        # `$.items[0].text: text shortened` beside `$.items: omitted` took 59 of a 300-byte limit)
        at = len(node) <= len(path) and all(a == b or ("[*]" in (a, b) and a[0] == b[0] == "[") for a, b in zip(path, node))
        if at and (len(node) == len(path) or "kept whole" in note or ": omitted" in note):
            return True
    return False


_STEP = re.compile(r"\.[^.\[]+|\[(?:\"(?:[^\"\\]|\\.)*\"|[^\]]*)\]")


def _steps(path: str) -> list[str]:
    """A note's JSON path (`$.items[3].body`, `$.items[*].body` for a detail on every item: `limits._grouped`) as
    its steps after `$`: `[".items", "[3]", ".body"]`."""
    return _STEP.findall(path[1:])


def _shortened_note(max_bytes: int, details: list[str]) -> str:
    listed = "; ".join(details) if details else "shortened"
    return f"result shortened to fit {byte_count(max_bytes)}: {listed}"


def _render(shaping: Shaping, result: Any, upstream: UpstreamResult) -> str:
    assert shaping.output is not None
    try:
        text = shaping.output.render(
            absent_ok=shaping.documented,
            result=result, status=upstream.status, raw_bytes=upstream.raw_bytes, tool=shaping.tool,
            principal=(shaping.principal or ANONYMOUS).as_template_context(),
        )
    except TemplateRenderError as exc:
        raise _TemplateFailed(exc) from None
    text = text.rstrip()  # a loop's last newline is a token nobody needs
    # only a text body that is empty is an empty body (a JSON `""` is a value)
    return text if text.strip() else empty_rendering(result, upstream.status if upstream.kind == "text" else None)


_EMPTY_WORDS = {list: "empty list", tuple: "empty list", dict: "empty object", str: "empty text", type(None): "null"}


def _empty_body(status: int) -> str:
    """An empty successful body in words, `HTTP 204 No Content (empty body)`: what the upstream answered."""
    return f"HTTP {status}{_reason(status)} (empty body)"


def empty_rendering(value: Any, status: int | None = None) -> str:
    """What the model reads instead of an empty text block: a template that renders nothing (a loop over
    `[]`, an `{% if %}` on data that `drop_empty` emptied) read as "nothing happened", and some model APIs
    refuse empty text blocks. An empty text with an HTTP `status` is the empty body, worded as without a
    template (`_empty_body`: a DELETE's 204 is no "No results"); another empty value is said in words
    ("No results (empty list)."). A non-empty value the template rendered nothing from is not shown: the
    template left it out on purpose (it may hold a token), so only that it rendered nothing is said."""
    if value == "" and status:
        return _empty_body(status)
    if not value and type(value) in _EMPTY_WORDS:
        return f"No results ({_EMPTY_WORDS[type(value)]})."
    return "No text for this result: its output template rendered nothing from the data."


def _render_fitting(value: Any, upstream: UpstreamResult, shaping: Shaping, notes: list[str]) -> str:
    """The rendered text of `value` within the result limit (see `_render_fitting_with`)."""
    return _render_fitting_with(value, upstream, shaping, notes, sent_beside=False)[0]


def _render_fitting_with(
    value: Any, upstream: UpstreamResult, shaping: Shaping, notes: list[str], *, sent_beside: bool
) -> tuple[str, Any]:
    """(text, the value it was rendered from). Render; if over the limit, re-render from a smaller
    value, scaling by how far over it is. `sent_beside`: the value goes out too (as structuredContent),
    so the text and the value's compact JSON share the limit, and both omit the same items (one note).

    A render stopped at the template output cap (`MCPRT_TEMPLATE_MAX_OUTPUT`) is over the limit by
    at least the cap, so it is shortened the same way: a large enough value makes any template pass
    the cap, and the README promises a shortened result, not an error. Only a template that passes
    the cap on every smaller value too (one that explodes whatever it gets) is a failure. Cost: one
    render of the full value and at most `_MAX_RERENDERS` of shortened ones, each stopped at the cap."""
    limit = shaping.max_result_bytes

    def beside(used: Any) -> int:  # bytes the value itself takes of the limit
        return json_size(used) if sent_beside else 0

    room = limit - notes_size(notes)  # the notes are part of what the model receives
    text, size, failure = _render_measured(shaping, value, upstream)
    rendered_from = value
    size += beside(value)
    if text is not None and size <= room:
        return text, value
    budget = json_size(value)
    page_note = _page_note(value, shaping)
    for _ in range(_MAX_RERENDERS):
        budget = int(budget * room / max(size, 1) * 0.95)
        if budget < 64:
            break
        smaller, shortened = shorten_to_fit(value, budget, item_markers=False)
        if not shortened:  # nothing left to drop: rendering it again gives the same text
            break
        attempt, size, failure = _render_measured(shaping, smaller, upstream)
        size += beside(smaller)
        if attempt is None:
            continue
        text, rendered_from = attempt, smaller
        added = [_shortened_note(limit, shortened), *([page_note] if page_note and shortened.items_omitted else [])]
        room = limit - notes_size([*notes, *added])
        if size <= room:
            notes.extend(added)
            return text, smaller
    if text is None:
        assert failure is not None
        raise failure
    notes.append(f"rendered text shortened to fit {byte_count(limit)}")
    return shorten_text(text, max(limit - notes_size(notes) - beside(rendered_from), 0)), rendered_from


def _render_measured(
    shaping: Shaping, value: Any, upstream: UpstreamResult
) -> tuple[str | None, int, _TemplateFailed | None]:
    """(text, its UTF-8 size, None), or, when the render stopped at the template output cap,
    (None, the cap: a lower bound of the size, the failure to raise if no smaller value renders)."""
    try:
        text = _render(shaping, value, upstream)
    except _TemplateFailed as failed:
        if not failed.error.too_large:
            raise
        return None, max_output(), failed
    return text, utf8_length(text), None


def _render_content(
    blocks: list[dict], parsed: list[Any], structured: Any, upstream: UpstreamResult, shaping: Shaping, notes: list[str]
) -> tuple[list[dict], Any]:
    """The blocks with their text replaced by the template's, and the structuredContent to send beside
    it: rendered from structuredContent, the two share the limit and are shortened together."""
    if structured is not None:
        result = structured
    elif len(parsed) == 1 and parsed[0] is not _NOT_JSON:
        result = parsed[0]
    else:
        result = "\n".join(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
    beside = isinstance(structured, dict)
    text, used = _render_fitting_with(result, upstream, shaping, notes, sent_beside=beside)
    if beside:
        structured = used
    rendered = _text_block(text)
    out: list[dict] = []
    for block in blocks:
        if block.get("type") == "text":
            if rendered is not None:
                out.append(rendered)
                rendered = None
            continue
        out.append(block)
    if rendered is not None:
        out.insert(0, rendered)
    return out, structured


# --- small helpers --------------------------------------------------------------------------------

_NOT_JSON = object()


def _parse_json(text: str) -> Any:
    value = parse_json_container(text)
    return _NOT_JSON if value is None else value  # a pruned value may be None: the sentinel tells them apart


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _as_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body).decode("utf-8", errors="replace")
    return body if isinstance(body, str) else str(body)


def _media_type(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower() or None

