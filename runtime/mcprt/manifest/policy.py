"""The manifest's `policy:` block: who may call what, what needs a human, how often.

Only the shapes live here (validated at load, with `file:line:col` errors); matching and
enforcement are in `mcprt.policy`. A rule's `when` is compiled here so a JMESPath typo is an error
at its line, not a surprise at the first call.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, WithJsonSchema, model_validator

from .model import StrictModel, empty_list
from .units import Duration
from .written import as_written, integer_expected, quoted

Action = Literal["allow", "deny", "approve", "hide"]
HTTP_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE", "POST", "PUT", "PATCH", "DELETE")
PRINCIPAL_PATTERN = r"^[A-Za-z0-9_.@*?:-]{1,128}$"
CLIENT_ID_LIMIT = 255  # characters of a `clients` entry: a client id is VSCHAR (RFC 6749 Appendix A.1) of any length
# The prefix of a principal entry (`principals`, `approvers`, `admins`) naming an OAuth client acting for itself
# (`Principal.by_client`, RFC 6749 §4.4): `client:ci-bot`, `client:*`. Its own namespace: the authorization
# server, not the operator, assigns client ids, so one equal to a user's or an admin's name must not pass for them.
CLIENT_PRINCIPAL = "client:"


def _client_pattern(value: str) -> str:
    """A `clients` entry: an OAuth client id or a glob of them. RFC 6749 §2.2 / Appendix A.1 make a
    client id any run of VSCHAR (printable ASCII, space included); an empty one, one with another
    character (a tab, a non-ASCII letter) or with spaces at its ends can match no id an authorization
    server issues as written, so it is refused here with what is wrong rather than never matching."""
    if not value:
        raise ValueError("a client id cannot be empty")
    if len(value) > CLIENT_ID_LIMIT:
        raise ValueError(f"a client id here is at most {CLIENT_ID_LIMIT} characters, this one {len(value)}")
    bad = next((c for c in value if not " " <= c <= "~"), None)
    if bad is not None:
        raise ValueError(f"{value!r} holds {bad!r}: a client id is printable ASCII (RFC 6749 Appendix A.1, VSCHAR)")
    if value != value.strip():
        raise ValueError(f"{value!r} starts or ends with a space: write the client id as the token carries it")
    client_regex(value)  # a `\` that escapes nothing is refused here, with where
    return value


def client_regex(pattern: str) -> str:
    """The one rule for what a `clients` entry means, as a regex to `fullmatch` a client id: the entry is
    literal (`partner[eu]` is the client id `partner[eu]`: `[ ] ?` are VSCHAR, RFC 6749 Appendix A.1, and
    an authorization server may issue them), except `*`, any run of characters (`web-*`). `\\*` is a
    literal `*`, `\\\\` a literal backslash; a backslash before anything else is refused (ValueError), so
    no entry is read two ways. Shell-glob `?`/`[..]` were the rule before: an entry holding them matched
    other clients and never the one it named, so a `deny` failed open."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1:i + 2]
            if escaped not in ("*", "\\"):
                raise ValueError(f"{pattern!r}: a backslash in a client id escapes only '*' or '\\' (write "
                                 f"'\\\\' for a backslash the id holds)")
            out.append(re.escape(escaped))
            i += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        i += 1
    return "".join(out)


def client_literal(pattern: str) -> str | None:
    """The client id a `clients` entry names when it has no wildcard (`\\*` and `\\\\` unescaped), else None."""
    if re.search(r"(?<!\\)(?:\\\\)*\*", pattern):
        return None
    return re.sub(r"\\(.)", r"\1", pattern)


ClientPattern = Annotated[str, AfterValidator(_client_pattern),
                          WithJsonSchema({"type": "string", "minLength": 1, "maxLength": CLIENT_ID_LIMIT,
                                          "pattern": "^[!-~]([ -~]*[!-~])?$"})]

def _principal_entry(value: str) -> str:
    """A `principals`/`approvers`/`admins` entry: `client:` and an OAuth client id or glob of them, read as a
    `clients` entry is (`_client_pattern`: literal but for `*`), or else a principal name or shell glob
    (`PRINCIPAL_PATTERN`). Errors say which of the two the entry was read as."""
    if value.startswith(CLIENT_PRINCIPAL):
        try:
            return CLIENT_PRINCIPAL + _client_pattern(value[len(CLIENT_PRINCIPAL):])
        except ValueError as exc:
            raise ValueError(f"{value!r}: a `client:` entry names an OAuth client acting for itself: {exc}") from None
    if not re.fullmatch(PRINCIPAL_PATTERN, value):
        raise ValueError(f"{value!r} is not a principal name or glob: 1 to 128 of A-Z a-z 0-9 _ . @ : - and the "
                         "wildcards * ? (write `client:ID` for an OAuth client acting for itself)")
    return value


PrincipalEntry = Annotated[str, AfterValidator(_principal_entry), WithJsonSchema({"anyOf": [
    {"type": "string", "pattern": "^(?!client:)" + PRINCIPAL_PATTERN[1:]},  # a `client:` entry is the other kind
    {"type": "string", "pattern": "^client:[!-~]([ -~]*[!-~])?$",
     "maxLength": len(CLIENT_PRINCIPAL) + CLIENT_ID_LIMIT}]})]
# What every principal list's description says of the two namespaces (the README's "Policies" says the same;
# `policy.principals` is the rule).
PRINCIPAL_ENTRIES = ("A plain entry (a name or shell glob: `alice`, `ops-*`) names users and static tokens; "
                     "`client:<id or glob>` (`client:ci-bot`, `client:*`) names an OAuth client acting for itself "
                     "(a client-credentials token: no `sub`, or its client id as `sub`) and no user or static token, "
                     "whatever its name; a bare `*` names every caller. Where a match grants (`allow` rules, "
                     "`approvers`, `admins`) a plain entry other than `*` never matches a client acting for itself; "
                     "in `deny`, `approve` and `hide` rules and rate limits it also matches a client whose id it "
                     "matches.")


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+\s*)?(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$", re.IGNORECASE)
_RATE_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
               "d": 86400, "day": 86400}


def parse_rate(value: Any) -> tuple[int, float]:
    """`60/min` → (60, 60.0): at most `count` calls per `seconds` (a token bucket of that size,
    refilled evenly). Also `5/s`, `1000/day`, `10/5m`."""
    if isinstance(value, (list, tuple)) and len(value) == 2:  # (count, seconds): the parsed form, read back
        count, every = value
        shown = "[" + ", ".join(map(as_written, value)) + "]"
        # the count is a number of calls: an integer, as everywhere (`written.integer_expected`); `[3.7, 60]`
        # was truncated to 3 calls without a word
        if isinstance(count, float):
            raise ValueError(f"invalid rate count: {integer_expected(count)}")
        if type(count) is not int or isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
            raise ValueError(f"invalid rate {shown}: write COUNT/UNIT, e.g. '60/min', '5/s', '10/5m'")
    else:
        match = _RATE.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"invalid rate {quoted(value)}: write COUNT/UNIT, e.g. '60/min', '5/s', '1000/day', '10/5m'")
        count = int(match.group(1))
        every = (int(match.group(2)) if match.group(2) else 1) * _RATE_UNITS[match.group(3).lower()]
        shown = repr(value)
    if count < 1:  # both forms: `[0, 60]` passed the list form's old branch
        raise ValueError(f"invalid rate {shown}: the count must be at least 1")
    # the bucket works in floats (tokens, refill per second): a count or period beyond a float's range
    # (a 400-digit number) is refused here rather than failing later as an internal OverflowError
    if abs(count) > sys.float_info.max or abs(every) > sys.float_info.max:
        raise ValueError(f"invalid rate {str(value)[:40]!r}…: the count or period is too large")
    return int(count), float(every)


Rate = Annotated[
    tuple[int, float],
    BeforeValidator(parse_rate),
    WithJsonSchema({"type": "string", "pattern": _RATE.pattern,
                    "examples": ["60/min", "5/s", "1000/day"]}),
    Field(description="Calls per period: `60/min`, `5/s`, `10/5m`, `1000/day`."),
]


def _compile_when(text: str | None) -> str | None:
    if text is None:
        return None
    import jmespath
    from jmespath import exceptions

    from ..expressions.prune_depth import MAX_DEPTH, nesting_depth, too_deep

    try:
        parsed = jmespath.compile(text)
    except exceptions.JMESPathError as exc:
        where = getattr(exc, "lex_position", None)
        detail = str(getattr(exc, "msg", "") or exc).splitlines()[0]
        raise ValueError(f"invalid JMESPath in when: {detail}" + (f" (column {where + 1})" if where is not None else "")) from None
    except RecursionError:  # jmespath's parser recurses: thousands of nested brackets or filters
        raise ValueError(too_deep(None)) from None
    depth = nesting_depth(parsed.parsed)
    if depth > MAX_DEPTH:  # it parses, but evaluating it would pass Python's recursion limit on every call
        raise ValueError(too_deep(depth))
    return text


class Match(StrictModel):
    """What a rule applies to. Every key given must match (AND); a list matches any of its items
    (OR); an empty `match` matches every call."""

    tools: list[str] = Field(default_factory=empty_list,
                             description="Exposed tool names or globs (`delete*`, `github_*`).")
    sources: list[str] = Field(default_factory=empty_list, description="Source keys (names under `sources:`).")
    principals: list[PrincipalEntry] = Field(
        default_factory=empty_list,
        description="Principal names or globs: a static token's name (`server.auth.tokens`), an OAuth `sub`, "
        "`bearer` (the unnamed `bearer_tokens`), `stdio`, `anonymous`; `client:<id>` for an OAuth client acting for "
        "itself. " + PRINCIPAL_ENTRIES,
    )
    clients: list[ClientPattern] = Field(
        default_factory=empty_list,
        description="OAuth client ids or globs (RFC 6749 §2.2): the access token's `client_id` claim, else `azp` "
        "(RFC 9068 §2.2) — the agent application the caller acts through. A caller without a client (a static "
        "token, `bearer`, `stdio`, `anonymous`) matches no entry, not even `*`: an `allow` naming clients never "
        "lets it through, and a `deny` naming clients never refuses it (match those by `principals`).",
    )
    scopes: list[str] = Field(default_factory=empty_list,
                              description="OAuth scopes; the caller must hold at least one (RFC 6749 §3.3).")
    claims: dict[str, Any] = Field(default_factory=dict,
                                   description="Token claims that must equal these values (a list claim must contain it).")
    annotations: dict[str, bool] = Field(
        default_factory=dict,
        description="MCP tool annotations (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`); "
        "an annotation a tool does not set has the MCP spec's default (readOnly false, destructive true, "
        "idempotent false, openWorld true).",
    )
    methods: list[Literal[HTTP_METHODS]] = Field(  # type: ignore[valid-type]
        default_factory=empty_list, description="HTTP methods of OpenAPI tools (`POST`, `DELETE`, …); other tools never match.",
    )
    when: Annotated[str | None, AfterValidator(_compile_when)] = Field(
        None, description="JMESPath over the call's arguments; the rule matches when it is truthy, "
        "e.g. ``amount > `1000` ``.",
    )

    @model_validator(mode="before")
    @classmethod
    def _upper_methods(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("methods"), list):
            data = {**data, "methods": [m.upper() if isinstance(m, str) else m for m in data["methods"]]}
        return data


def _wait_seconds(value: Any) -> Any:
    if value in (0, "0", "0s"):
        return 0.0
    from .units import parse_duration

    return parse_duration(value)


Wait = Annotated[float, BeforeValidator(_wait_seconds),
                 WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
                                 "examples": ["60s", "2m", 0]})]


# How many calls one approval lets run: `once` — one execution, the next identical call asks again; `valid_for` —
# every identical call until `valid_for` ends; `auto` — `once` for a tool that is neither read-only nor idempotent
# (MCP `ToolAnnotations`: `readOnlyHint`, `idempotentHint`, with the spec's defaults), `valid_for` for one that is.
ApprovalUses = Literal["auto", "once", "valid_for"]


class RuleApprovals(StrictModel):
    """Per-rule overrides of `policy.approvals` for an `approve` rule."""

    wait: Wait | None = Field(None, description="How long the call waits for a decision.")
    approvers: list[PrincipalEntry] | None = Field(
        None, description="Principals who may decide calls this rule matched. " + PRINCIPAL_ENTRIES)
    required: int | None = Field(None, ge=1, le=10, description="Distinct approvals needed.")
    uses: ApprovalUses | None = Field(None, description="How many calls one approval lets run (see `policy.approvals`).")


class Rule(StrictModel):
    """One policy rule: the first rule whose `match` fits a call decides it."""

    match: Match = Field(default_factory=Match, description="What the rule applies to (empty: everything).")
    action: Action = Field(description="`allow`; `deny` (the model gets `reason`); `approve` (a human decides); "
                           "`hide` (not listed for the matching principals, and unknown if called).")
    reason: str | None = Field(None, max_length=500, description="Shown to the model when the call is refused.")
    name: str | None = Field(None, max_length=80,
                             description="A label for audit records and metrics (default `rules[N]`).")
    approvals: RuleApprovals | None = Field(None, description="For `approve`: overrides of `policy.approvals`.")

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.action == "hide" and self.match.when is not None:
            raise ValueError("a `hide` rule cannot use `when`: listing happens before there are arguments")
        if self.approvals is not None and self.action != "approve":
            raise ValueError("`approvals` applies only to a rule with `action: approve`")
        return self


class Approvals(StrictModel):
    """Human approval of calls matched by an `approve` rule."""

    wait: Wait = Field(60.0, ge=0, description="How long a call waits for a decision (0: return at once); "
                       "then the model is told it is pending and may repeat the call.")
    valid_for: Duration = Field(600.0, description="How long a decision applies to identical calls (same principal, "
                                "tool and arguments; an approval runs one of them when `uses` says `once`); also how "
                                "long a request stays open.")
    approvers: list[PrincipalEntry] = Field(
        default_factory=empty_list, description="Principals who may decide (default: any authenticated principal "
        "other than the caller). " + PRINCIPAL_ENTRIES,
    )
    required: int = Field(1, ge=1, le=10, description="Distinct approvals needed; one denial refuses.")
    webhook: SecretStr | None = Field(None, description="URL notified of each new request with a Slack-compatible "
                                      "JSON body. Write it as `${VAR}`: webhook URLs are secrets.")
    uses: ApprovalUses = Field("auto", description="How many calls one approval lets run: `once` (one execution; an "
                               "identical call after it asks again), `valid_for` (every identical call until `valid_for` "
                               "ends), or `auto`: `once` for a tool that is neither read-only nor idempotent (MCP "
                               "annotations `readOnlyHint`, `idempotentHint`), `valid_for` for one that is.")

    def in_force(self, own: RuleApprovals | None) -> InForce:
        """The settings an `approve` rule's calls get: each of the rule's own `approvals` values, else
        this (shared) one's. The one place this fallback is made (calls, `mcprt diff`, `validate`)."""
        def pick(name: str) -> Any:
            value = getattr(own, name) if own is not None else None
            return value if value is not None else getattr(self, name)

        return InForce(wait=pick("wait"), required=pick("required"), approvers=tuple(pick("approvers")),
                       uses=pick("uses"))


@dataclass(frozen=True, slots=True)
class InForce:
    """The approval settings in force for one rule's calls (`Approvals.in_force`)."""

    wait: float  # seconds a call waits for a decision (0: not at all)
    required: int  # distinct approvals needed
    approvers: tuple[str, ...]  # principal patterns who may decide; empty: anyone authenticated but the caller
    uses: ApprovalUses = "auto"  # how many calls one approval lets run (`ApprovalUses`)


class RateLimit(StrictModel):
    """A token bucket over the calls `match` selects."""

    match: Match = Field(default_factory=Match, description="Which calls count (empty: all).")
    per: Literal["principal", "global", "tool", "principal_tool", "client"] = Field(
        "principal", description="One bucket per principal, one shared by everyone, per tool, per principal "
        "and tool, or per OAuth client (`client`: the token's `client_id`/`azp`, RFC 9068 §2.2, so every user of "
        "one agent application shares it; a principal with no client — a static token, stdio — has its own).",
    )
    limit: Rate
    name: str | None = Field(None, max_length=80, description="Label for audit and metrics (default `rate_limits[N]`).")


class Policy(StrictModel):
    """Who may call what: ordered rules (first match wins), approvals, rate limits."""

    default: Literal["allow", "deny", "approve"] = Field(
        "allow", description="The action when no rule matches.")
    default_reason: str | None = Field(None, max_length=500, description="Shown to the model when `default: deny` refuses.")
    rules: list[Rule] = Field(default_factory=empty_list, description="Checked in order; the first match decides.")
    approvals: Approvals = Field(default_factory=Approvals, description="How `approve` decisions are made.")
    rate_limits: list[RateLimit] = Field(default_factory=empty_list, description="Every matching limit applies.")
    admins: list[PrincipalEntry] = Field(
        default_factory=empty_list, description="Principals who may pause/resume and list approvals over HTTP, "
        "and who see every caller's calls and the approvals on the status page (others see their own calls and "
        "those calls' pending approvals) "
        "(default: the approvers if set, else any authenticated principal). " + PRINCIPAL_ENTRIES,
    )

    def approving(self) -> list[tuple[str] | tuple[str, int]]:
        """The paths under `policy` of what asks a human (`("rules", i)` per approve rule, `("default",)`
        for `default: approve`), in manifest order; empty when nothing does."""
        found: list[tuple[str] | tuple[str, int]] = [("rules", i) for i, r in enumerate(self.rules)
                                                    if r.action == "approve"]
        return [*found, ("default",)] if self.default == "approve" else found

    def deciders(self) -> tuple[str, ...] | None:
        """The principal patterns who may decide some approval request under this policy: the approvers
        in force for each `approve` rule (and `default: approve`), or `approvals.approvers` when nothing
        asks a human. None when one of those lists is empty (anyone authenticated but the caller decides)."""
        rules = [self.rules[path[1]].approvals if path[0] == "rules" else None  # type: ignore[misc]
                 for path in self.approving()] or [None]
        patterns: list[str] = []
        for own in rules:
            approvers = self.approvals.in_force(own).approvers
            if not approvers:
                return None
            patterns += approvers
        return tuple(dict.fromkeys(patterns))
