"""Error types shared by every room of the pipeline.

A manifest problem is a list of `Diagnostic`s (file:line:col: message) so that all of them are
reported at once; a call problem is a `ToolCallError` the model can read and act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# A note tells the operator where something came from (a pinned copy served offline, problems only in operations
# `include` leaves out): shown beside warnings, never one (`validate --strict` fails on warnings, not notes).
Severity = Literal["error", "warning", "note"]

# One wording, wherever a call that may change something ended without an answer that says whether it
# did (a drain or stop cut it, or an upstream timed out or closed the connection after the request went
# out): a model told only "timed out" repeats the call, and a non-idempotent one (POST) is done twice.
# JSON-RPC 2.0 §5.1's "Server error" (-32000 to -32099 are implementation-defined): the one code mcprt answers a
# request it refuses for a condition of its own — capacity, a restarting source, the deployment — not a bad
# request. MCP and JSON-RPC have no retry code: a transient refusal says so by `data.retryAfter` (seconds), a
# permanent one has none.
SERVER_ERROR = -32000

MAY_HAVE_ACTED = "The upstream may or may not have acted on it"
CHECK_FIRST = "if the call changes something, check first whether it took effect"


def closest(word: str, choices: list[str]) -> str | None:
    """The one of `choices` a typo of `word` most likely meant (difflib ratio ≥ 0.6), else None."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, else an empty string; a choice that is `word` in another
    Unicode normalization form (`größe` decomposed, NFD, beside composed, NFC) is named as such, since the two look
    identical (`unicode_forms`)."""
    from .unicode_forms import alike_in, in_another_form

    alike = alike_in(word, choices)
    if alike is not None:
        return f" (did you mean '{alike}'? {in_another_form(word, alike)})"
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One finding about a manifest (or a file it references), pointing at a place in a file."""

    file: str
    line: int  # 1-based
    col: int  # 1-based
    message: str
    severity: Severity = "error"
    # What kind of finding, for a caller that acts on one kind (LSP's `Diagnostic.code`); "" for most.
    # A field, not a subclass or an exception type: diagnostics are merged and re-raised between stages
    # (loader, pool, pipeline), and a field travels with each. E.g. `envvars.UNSET_VARIABLE`.
    code: str = ""
    # How many findings this line stands for: a summary line ("… and 29 more warnings of this kind") stands
    # for the 29 it does not print, so a count of findings (`validate --strict`'s "N warnings treated as
    # errors", "N errors") is the sum of these, not the number of lines (a trial read "6 warnings" for 34).
    stands_for: int = 1

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class McprtError(Exception):
    """Base of every error mcprt raises on purpose (as opposed to a bug)."""


@dataclass
class ManifestError(McprtError):
    """A manifest (or something it names) is invalid; carries every diagnostic found.

    `partial`: when only some parts failed validation, the manifest without them (a
    `LoadedManifest`), so later stages — opening sources, checking tool overrides — can still run
    and report their problems in the same pass."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    partial: Any = None

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(d) for d in sorted(self.diagnostics))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass
class ManifestNotFound(ManifestError):
    """There is no manifest where one was looked for. `message` names the path and how to create one
    (what the CLI prints, as there is no line to point at); `diagnostics` holds the same finding at
    `file:1:1` for callers that collect diagnostics (hot reload)."""

    message: str = ""

    def __str__(self) -> str:
        return self.message


# Where in a file the manifest names (not the manifest itself) a problem is: (absolute path, line, col), 1-based.
FilePlace = tuple[str, int, int]


class PlacedError(McprtError):
    """An error whose cause is at a place in a file the manifest names, not in the manifest: a module's syntax
    error, the line of the user's code that raised while the module was imported. `place`: `FilePlace`."""

    def __init__(self, message: str, place: FilePlace) -> None:
        self.place = place
        super().__init__(message)


# One problem of a source's configuration: (path below the source, message, the `FilePlace` of its cause when that
# is in another file than the manifest — a `PlacedError`'s — else None).
SourceProblem = tuple[tuple[str | int, ...], str, FilePlace | None]


class SourceConfigError(McprtError):
    """Problems with parts of one source's configuration, each reported at its own key.

    `problems`: `SourceProblem`s, e.g. `(("resources", "notes://{id}"), "…", None)` or `(("prompts", 1), "…",
    None)`; the source pool turns each into a `file:line:col` diagnostic there — or, when it carries a place (a
    module's raising line), there instead of at the manifest key naming the module. Given as (path, message)
    pairs, a problem has no place.
    """

    def __init__(self, problems: Sequence[tuple[tuple[str | int, ...], str] | SourceProblem]) -> None:
        self.problems: list[SourceProblem] = [
            (problem[0], problem[1], problem[2] if len(problem) > 2 else None)  # type: ignore[misc]
            for problem in problems]
        super().__init__("; ".join(message for _, message, _ in self.problems))


def source_problem(path: tuple[str | int, ...], exc: McprtError) -> SourceProblem:
    """`exc` as a problem at `path` below the source, with its place when it is a `PlacedError`."""
    return path, str(exc), exc.place if isinstance(exc, PlacedError) else None


class SpecError(McprtError):
    """An API description (OpenAPI/Swagger) cannot be used; names the document and JSON pointer."""

    def __init__(self, document: str, pointer: str, message: str) -> None:
        self.document = document
        self.pointer = pointer
        self.message = message
        super().__init__(f"{document}#{pointer}: {message}" if pointer else f"{document}: {message}")


class ToolCallError(McprtError):
    """A call that cannot proceed; its message is returned to the model as an isError result.

    Messages must be actionable for a model and must never contain secrets.
    `reason`: what the operator reads on the call's log line (`reason=…`) when the refusal is theirs to
    act on (a manifest setting), not the model's; never an argument's value.
    """

    reason: str | None = None


class SourceUnavailable(ToolCallError):
    """The call's source is restarting (a proxied server reconnecting) and took no call: transient. The
    client gets the result's `_meta` `{"mcprt/retryAfter": seconds}`, as a rate limit's refusal has it; a
    resource or prompt request in the same case is JSON-RPC -32000 with `data.retryAfter`
    (offerings.model.OfferUnavailable), as a refused session."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def meta(self) -> dict[str, object]:
        return {"mcprt/retryAfter": self.retry_after}


class UpstreamError(ToolCallError):
    """The upstream gave no usable answer (timeout, connection failure, undecodable body): counted
    as outcome `upstream_error` (the call's own timeout passing: `CallTimeout`, outcome `timeout`), where a
    plain ToolCallError (bad arguments) is `rejected`.

    `unreachable`: the upstream could not be reached at all (connection refused or reset, DNS,
    connect time-out), which says the source is down; otherwise the call failed on its own (its
    time-out, an oversized answer, a token fetch) and says nothing of the source's health.

    `upstream_status`: the HTTP status the upstream last answered before the call failed (a 503 it
    answered twice before the call's deadline passed during the third attempt), None when no answer came;
    `attempts`: the requests sent (retries included), None where the transport does not count them.
    An upstream that answered 5xx is shedding load, not silent: its status reaches the audit record, and
    the source's health counts it as a 5xx answer (`observability.source_health`)."""

    def __init__(self, message: str, *, unreachable: bool = False, upstream_status: int | None = None,
                 attempts: int | None = None) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.upstream_status = upstream_status
        self.attempts = attempts


class QueueTimeout(ToolCallError):
    """A call whose time limit passed while it waited in mcprt's own concurrency queue (a sync Python
    function's lane, the source's `concurrency`), so it never started: outcome `queue_timeout`, not
    `upstream_error` — the limit is mcprt's capacity, not a dependency's failure, and the call did nothing."""


class CallTimeout(UpstreamError):
    """A call whose own time limit (the tool's `timeout`) passed after it started: the HTTP upstream, the
    proxied server or the Python function did not answer in time (a Python call that first waited in its lane
    too: the limit passed while it ran). Outcome `timeout` (OpenTelemetry's `error.type` for it), one rule for
    OpenAPI, Python and proxied sources, where `QueueTimeout` is the limit passing before the call started.
    An UpstreamError still: the statuses answered before it and the attempts are kept (`upstream_status`)."""


class StateUnavailable(ToolCallError):
    """The shared state backend (`server.state` / `MCPRT_STATE_URL`: Redis) did not answer in time: a call
    that needed it gets this as a tool error; an HTTP endpoint that needed it answers 503 with this message
    (`policy.http`, `server.http`). Calls and endpoints that need no shared state are not affected.
    Raised by `mcprt.state.redis_client`; defined here so every layer can tell an outage from a fault."""


class StateRefused(McprtError):
    """The shared state (Redis) answered but refused mcprt's credentials or permissions (a wrong or missing
    password, an ACL user without a needed command): permanent, unlike not answering yet, so `mcprt up` does not
    wait `MCPRT_STATE_WAIT` for it but exits 2 at once (`server.state_wait`). Raised by
    `mcprt.state.redis_client.connect`; the message names MCPRT_STATE_URL with its password masked."""


class UnknownTool(ToolCallError):
    """A call naming a tool its caller cannot call because no tool has that name (discovery's
    `call_tool` naming no operation): outcome `rejected`, as bad arguments are, with the log-line
    `status` `unknown_tool`, as a direct `tools/call` of an unknown name writes."""

    status = "unknown_tool"


class UpstreamRefused(ToolCallError):
    """A proxied MCP server answered the call with a JSON-RPC error (`code`) instead of a result: a
    direct call answers the model this tool error; a task reads `failed` with the error (SEP-2663)."""

    def __init__(self, message: str, code: int, upstream_message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.upstream_message = upstream_message
        self.data = data  # the error's `data` as the upstream sent it (None: none); scrubbed where it is relayed


class PolicyDenied(ToolCallError):
    """A policy refused the call (deny rule, rate limit, pause, approval): outcome `denied`.

    `meta` (optional) is machine-readable detail for the client, sent as the result's `_meta`
    (e.g. `{"mcprt/retryAfter": 12}` for a rate limit, `{"mcprt/approval": {"id", "status"}}`).
    `action`: the decision as the audit log and `mcprt_policy_decisions_total` name it — `deny`,
    `rate_limited`, `paused` (an operator's pause: the kill switch), `hidden`, `approval_pending`.
    """

    def __init__(self, message: str, meta: dict[str, object] | None = None, action: str = "deny") -> None:
        super().__init__(message)
        self.meta = meta or {}
        self.action = action

    @property
    def status(self) -> str:
        """The call's log-line `status`: `denied` for a `deny`, else the action itself, so a rate-limited
        or paused call is told apart from a policy's refusal there too, as in the audit log."""
        return "denied" if self.action == "deny" else self.action
