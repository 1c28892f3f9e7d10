"""The compiled policy of one tool set: decisions, listing filter and enforcement (`CallGate`).

Order of checks on a call: pause (kill switch) → rules (first match wins, else `default`) → rate
limits (every matching limit takes a token) → human approval (for `approve`). Each outcome is
published as a `DecisionEvent`; a refusal raises `PolicyDenied` (call outcome `denied`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import PolicyDenied
from ..identity.principal import RESERVED_SUBJECTS, STDIO, Principal, challenge_scopes
from ..manifest.policy import InForce, Policy, RuleApprovals
from ..observability.events import BUS, DecisionEvent
from ..scrubbing import REDACTED
from .limits import BUCKET, legacy_heads, limit_identities
from .principals import namesakes
from .rules import CompiledMatch, principal_key
from .when import WhenError
from ..wording import noun

if TYPE_CHECKING:
    from ..contracts import CallContext
    from ..toolset.gate import GiveBack
    from ..toolset.tool import Tool
    from .service import PolicyService
    from .state import ApprovalRequest


@dataclass(slots=True)
class CompiledRule:
    label: str  # `rules[N]` or the rule's name: the `rule` of decisions
    match: CompiledMatch
    action: str
    reason: str | None
    approvals: RuleApprovals | None = None
    scopes: tuple[str, ...] = ()  # `match.scopes` in the manifest's order (the compiled match keeps a set)


@dataclass(slots=True)
class CompiledLimit:
    label: str
    match: CompiledMatch
    per: str
    count: int
    seconds: float
    identity: str = ""  # what its buckets are keyed by across reloads (`limit_identities`)
    legacy: tuple[str, ...] = ()  # key heads earlier versions kept its buckets under (`legacy_heads`)
    # the bucket scope of a call, (principal, tool name) → str: `SCOPES[per]`, picked here once, so a call
    # builds only its own limit's scope (a dict of all five built per call: 930 ns a limit, this 140 ns; timeit)
    scope: Callable[[Principal, str], str] = field(init=False)

    def __post_init__(self) -> None:
        self.scope = SCOPES[self.per]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def describe(self) -> str:
        period = {1.0: "second", 60.0: "minute", 3600.0: "hour", 86400.0: "day"}.get(self.seconds)
        every = f"per {period}" if period else f"per {self.seconds:g} s"
        scope = {"principal": " for each caller", "global": " for everyone together", "tool": " for this tool",
                 "principal_tool": " for each caller of this tool", "client": " for each OAuth client"}[self.per]
        return f"{self.count} {noun(self.count, 'call')} {every}{scope}"


def client_scope(principal: Principal) -> str:
    """The bucket scope of `per: client`: the OAuth client's id; a principal without one (a static
    token, stdio, anonymous) is its own client, kept apart from every client id by its prefix (a
    static token named like an OAuth client must not share that client's bucket)."""
    return f"client\x1f{principal.client_id}" if principal.client_id else f"principal\x1f{principal.owner}"


SCOPES: dict[str, Callable[[Principal, str], str]] = {
    "principal": lambda principal, tool: principal.owner,
    "global": lambda principal, tool: "",
    "tool": lambda principal, tool: tool,
    "principal_tool": lambda principal, tool: f"{principal.owner}\x1f{tool}",
    "client": lambda principal, tool: client_scope(principal),
}
"""A rate limit's bucket scope per `per`, from the caller and the tool name (`CompiledLimit.scope`)."""


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # allow | deny | approve | hide
    rule: str  # the rule's label, or `default`
    reason: str | None = None
    approvals: RuleApprovals | None = None  # an `approve` rule's overrides of `policy.approvals`
    # for the operator only (the audit record's and the log's reason, never the caller's answer): the `allow` rules
    # whose plain entries name a client acting for itself that they no longer list (`PolicyGate.decide`)
    note: str | None = None

    @property
    def recorded(self) -> str | None:
        """The reason the audit record carries: `reason`, then the operator's `note` in parentheses."""
        return self.reason if not self.note else f"{self.reason or 'not allowed'} ({self.note})"


def _noting(decision: Decision, skipped: list[str]) -> Decision:
    """`decision` with the `allow` rules skipped on the way (`PolicyGate.decide`) after its reason; one that
    allows needs no note."""
    if not skipped or decision.action == "allow":
        return decision
    note = f"({'; '.join(skipped)})"
    reason = f"{decision.reason or 'not allowed'} {note}"
    return Decision(decision.action, decision.rule, reason, decision.approvals)


@dataclass(frozen=True, slots=True)
class StepUp:
    """A call refused only for a missing scope (`PolicyGate.step_up`): the scope to ask for, every
    scope that would do, and the refusal itself."""

    scope: str
    alternatives: tuple[str, ...]
    decision: Decision
    approval: bool = False  # with the scope an `approve` rule takes the call: a human then decides it

    def needed(self, principal: Principal) -> list[str]:
        """The `scope=` of the challenge: the scopes the token holds plus the one it lacks (MCP
        authorization 2025-11-25, "Scope Challenge Handling": include the scopes already granted, so a
        client stepping up does not lose them)."""
        return challenge_scopes(principal.scopes, [self.scope])  # the one rule, shared with the guard's 403

    def explained(self) -> str:
        """Why, for a tool error or a challenge's description: the scope(s) that would admit the call."""
        then = " (with it, the call waits for a human's approval)" if self.approval else ""
        if len(self.alternatives) == 1:
            return f"it needs the OAuth scope {self.scope}, which this access token lacks{then}"
        return f"it needs one of the OAuth scopes {', '.join(self.alternatives)}, which this access token lacks{then}"


class RateLimited(PolicyDenied):
    """A rate limit refused the call; `retry_after` says in how many seconds a token is back."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, {"mcprt/retryAfter": max(1, round(retry_after + 0.499))}, action="rate_limited")
        self.retry_after = retry_after


class PolicyGate:
    """A manifest's `policy:` compiled against one tool set (rebuilt on every reload); the
    `PolicyService` it points to (state, approvals) outlives reloads."""

    def __init__(self, policy: Policy, service: PolicyService, tools: Mapping[str, Tool],
                 static_callers: frozenset[str] = frozenset()) -> None:
        self.policy = policy
        # `server.auth.tokens`' names: a caller so named is that static token, which holds no scopes or claims (an
        # OAuth token naming one is refused: `identity.principal.subject_clash`) — what `stored_quorum` relies on
        self.static_callers = static_callers
        self.service = service
        self.tools = tools
        # an `allow` rule grants; the others and the limits restrict (`principals` module: how a client acting for
        # itself is matched by plain entries differs)
        self.rules = [CompiledRule(r.name or f"rules[{i}]", CompiledMatch.build(r.match, r.action == "allow"),
                                   r.action, r.reason, r.approvals, tuple(r.match.scopes))
                      for i, r in enumerate(policy.rules)]
        self.limits = [CompiledLimit(l.name or f"rate_limits[{i}]", CompiledMatch.build(l.match, grants=False), l.per,
                                     l.limit[0], l.limit[1], identity, legacy)
                       for i, (l, identity, legacy) in enumerate(zip(policy.rate_limits, limit_identities(policy),
                                                                     legacy_heads(policy)))]
        self.approvals = policy.approvals
        self._rules_by_tool: dict[str, tuple[CompiledRule, ...]] = {}
        self._limits_by_tool: dict[str, tuple[CompiledLimit, ...]] = {}
        self._step_up_by_tool: dict[str, tuple[str, ...]] = {}
        self._hidden: dict[Any, frozenset[str]] = {}
        self._candidates: dict[tuple[str, Any], tuple[CompiledRule, ...]] = {}
        self._has_hide = any(r.action == "hide" for r in self.rules)
        self._steps_up = any(r.scopes for r in self.rules if r.action in ("allow", "approve"))

    @property
    def hides_any(self) -> bool:
        """Whether a `hide` rule may hide some tool from some principal (`CallGate.hides_any`)."""
        return self._has_hide

    # --- pure decisions (also used by `mcprt test` and the benchmark) ---------------------------

    def rules_for(self, tool: Tool) -> tuple[CompiledRule, ...]:
        """The rules whose tool part matches `tool`, in order (computed once per tool)."""
        found = self._rules_by_tool.get(tool.name)
        if found is None:
            found = self._rules_by_tool[tool.name] = tuple(r for r in self.rules if r.match.fits_tool(tool))
        return found

    def candidates(self, tool: Tool, principal: Principal | None) -> tuple[CompiledRule, ...]:
        """The rules matching (tool, principal), in order — all that is left per call is `when`.
        Cached per tool and principal (bounded), so a call walks only the rules that can apply."""
        key = (tool.name, principal_key(principal))
        found = self._candidates.get(key)
        if found is None:
            found = tuple(r for r in self.rules_for(tool) if r.match.fits_principal(principal))
            if key[1] is not None:
                if len(self._candidates) >= 8192:
                    self._candidates.clear()
                self._candidates[key] = found
        return found

    def decide(self, tool: Tool, principal: Principal | None, arguments: Mapping[str, Any]) -> Decision:
        """The decision (`_decide`); one that does not allow an OAuth client acting for itself carries, as its
        `note` (the operator's: the audit record, never the caller's answer, which would tell an external client
        the rules' names and entries), the `allow` rules whose plain `principals` entries match its id — they
        grant users and static tokens only — so an operator upgrading reads why and what to write (`client:<id>`)."""
        decision = self._decide(tool, principal, arguments)
        if decision.action == "allow" or principal is None or not principal.by_client:
            return decision
        notes = [f"{rule.label} lists {', '.join(repr(p) for p in found)} under `principals`, which allows users "
                 f"and static tokens only: `{principal.label}` lists this OAuth client acting for itself"
                 for rule in self.rules_for(tool) if rule.action == "allow" and rule.match.principals is not None
                 for found in [namesakes(principal, rule.match.principals.plain)] if found]
        if not notes:
            return decision
        return Decision(decision.action, decision.rule, decision.reason, decision.approvals, "; ".join(notes))

    def _decide(self, tool: Tool, principal: Principal | None, arguments: Mapping[str, Any]) -> Decision:
        """The first matching rule's action, else the default (no state: no pauses, limits, approvals).
        A rule whose `when` cannot be evaluated on these arguments (`when.WhenError`) fails closed: a `deny`
        or `approve` rule matches (its reason says why), an `allow` rule does not, and the decision that
        follows says so in its reason (`rules[0] could not be evaluated: …`): a refusal the caller and the
        audit log could not tell from an ordinary one hid a rule broken for some inputs (review of mendrev3,
        problem 4)."""
        skipped: list[str] = []  # allow rules whose `when` failed, with why
        for rule in self.candidates(tool, principal):
            try:
                matched = rule.match.when is None or rule.match.when(arguments)
            except WhenError as exc:
                if rule.action == "allow":
                    skipped.append(f"{rule.label} could not be evaluated on these arguments: {exc}")
                    continue
                why = f"its condition (`when`) cannot be evaluated on these arguments: {exc}"
                return _noting(Decision(rule.action, rule.label, f"{rule.reason}; {why}" if rule.reason else why,
                                        rule.approvals), skipped)
            if matched:
                return _noting(Decision(rule.action, rule.label, rule.reason, rule.approvals), skipped)
        return _noting(Decision(self.policy.default, "default", self.policy.default_reason), skipped)

    @property
    def scopes(self) -> list[str]:
        """The scopes a client may be challenged for (`step_up`): those `allow` rules' `match.scopes`
        name, in the order the rules name them. The Protected Resource Metadata advertises them beyond
        `server.auth.oauth.scopes` (`scopes_supported`, RFC 9728 §2) so a client can discover them. A
        scope only a `deny`, `hide` or `approve` rule names is left out: no call is ever stepped up to it,
        and a client with no required scope to ask for (the SDK then asks for all of `scopes_supported`)
        must not be led to request it at sign-in — an `approve` rule's scope neither: a call refused for lacking it is
        challenged for it (`step_up`), but a client asking for it up front would have calls it could make at once
        (`echo` allowed to all, sent to a human with `mcp:admin`) wait for a human."""
        return list(dict.fromkeys(s for rule in self.rules if rule.action == "allow" for s in rule.scopes))

    @property
    def steps_up(self) -> bool:
        """Whether some call may be stepped up (`step_up`): an `allow` or `approve` rule names a scope. The HTTP scope
        challenge reads no request body without it."""
        return self._steps_up

    def step_up_scopes(self, tool: Tool) -> tuple[str, ...]:
        """The scopes `allow` and `approve` rules matching `tool` name (computed once per tool): empty means no call
        of `tool` can ever be stepped up, so `step_up` and the HTTP scope challenge skip it at no cost."""
        found = self._step_up_by_tool.get(tool.name)
        if found is None:
            found = self._step_up_by_tool[tool.name] = tuple(dict.fromkeys(
                s for rule in self.rules_for(tool) if rule.action in ("allow", "approve") for s in rule.scopes))
        return found

    def step_up(self, tool: Tool, principal: Principal | None, arguments: Mapping[str, Any]) -> StepUp | None:
        """What the calling OAuth principal lacks when this call is refused ONLY for a missing scope: a
        rule's `deny` (or the default's) decides the call, and holding one scope more some `allow` or `approve` rule
        names would make the decision `allow` — or `approve`: then a human may let it run (`StepUp.approval`), where
        without the scope nobody can (a test of an `approve` rule naming a scope: `whoami` denied but for `mcp:admin`
        holders, with an approval, refused a token without it saying nothing of the scope). None otherwise: another
        kind of caller (a static token gets no scopes), a tool no such rule names a scope for, a call allowed,
        hidden, or sent for approval, or one no scope would admit.

        `StepUp.scope` is the first such scope in rule order (the least a client must ask for);
        `alternatives` every scope that would do. MCP authorization 2025-11-25, "Scope Challenge
        Handling": the HTTP transport answers such a call with 403 `insufficient_scope` (`server.step_up`)."""
        if principal is None or principal.kind != "oauth":
            return None
        offered = [s for s in self.step_up_scopes(tool) if s not in principal.scopes]
        if not offered:
            return None
        decision = self.decide(tool, principal, arguments)
        if decision.action != "deny":
            return None
        held = {s: self.decide(tool, replace(principal, scopes=principal.scopes | {s}), arguments).action
                for s in offered}
        enough = [s for s in offered if held[s] in ("allow", "approve")]
        return StepUp(enough[0], tuple(enough), decision, held[enough[0]] == "approve") if enough else None

    def refused_for_scope(self, tool: Tool, step: StepUp, context: CallContext) -> None:
        """A call answered with the HTTP scope challenge (`server.step_up`): audited and counted as the
        `deny` it is, under the rule that refused it (`CallGate.refused_for_scope`)."""
        self.publish("deny", tool, context, rule=step.decision.rule, reason=f"insufficient scope: {step.explained()}")

    def hidden(self, principal: Principal | None) -> frozenset[str]:
        """Tools not listed for `principal`: those whose first rule matching (tool, principal) — rules
        with `when` aside, there are no arguments at listing time — is `hide`."""
        if not self._has_hide:
            return frozenset()
        key = principal_key(principal)
        cached = self._hidden.get(key) if key is not None else None
        if cached is not None:
            return cached
        names = []
        for tool in self.tools.values():
            for rule in self.rules_for(tool):
                if rule.match.when is None and rule.match.fits_principal(principal):
                    if rule.action == "hide":
                        names.append(tool.name)
                    break
        result = frozenset(names)
        if key is not None and len(self._hidden) < 1024:
            self._hidden[key] = result
        return result

    def limits_for(self, tool: Tool) -> tuple[CompiledLimit, ...]:
        found = self._limits_by_tool.get(tool.name)
        if found is None:
            found = self._limits_by_tool[tool.name] = tuple(l for l in self.limits if l.match.fits_tool(tool))
        return found

    # --- enforcement ------------------------------------------------------------------------------

    async def admit(self, tool: Tool, arguments: Mapping[str, Any], completed: Mapping[str, Any],
                    context: CallContext) -> GiveBack | None:
        principal = context.principal or STDIO
        state = self.service.state
        paused = await state.pause_check((f"tool:{tool.name}", f"source:{tool.source}", "all"))
        if paused is not None:
            # The reason is operator-written text meant for callers (`mcprt pause --reason`, capped at
            # 500 characters by the policy endpoint): the model can act on "upstream maintenance until 14:00";
            # the audit record of the refused call carries it too, as every other refusal's does.
            reason = await state.pause_reason(paused)
            self.publish("paused", tool, context, rule=f"pause:{paused}", reason=reason)
            what = "all tools are" if paused == "all" else (
                f"tool {tool.name} is" if paused.startswith("tool:") else f"the tools of source {tool.source} are")
            because = f" (reason: {reason})" if reason else ""
            raise PolicyDenied(f"{what} paused by an operator{because}; this call was not made. Try again later "
                               "or ask an operator to resume it.", action="paused")
        decision = self.decide(tool, principal, completed)
        if decision.action == "deny":
            self.publish("deny", tool, context, rule=decision.rule, reason=decision.recorded)
            lacking = self.step_up(tool, principal, completed)
            # Where no HTTP status can be sent (stdio, a task's run, discovery's `call_tool`, a batch) the
            # step-up is said in words a model or its app can act on: which scope, and how to get it.
            extra = (f"; {lacking.explained()}: sign in again asking the authorization server for scope "
                     f"\"{' '.join(lacking.needed(principal))}\"") if lacking is not None else ""
            raise PolicyDenied(f"{tool.name} was refused by policy: {decision.reason or 'not allowed'}{extra}")
        if decision.action == "hide":  # reached only when a caller bypassed listing (e.g. an old name)
            self.publish("hidden", tool, context, rule=decision.rule, reason=decision.note)
            raise PolicyDenied(f"unknown tool '{tool.name}'", action="hidden")
        await self._take_tokens(tool, principal, completed, context)
        if decision.action == "approve":
            from .approvals import require_approval

            return await require_approval(self, tool, arguments, completed, context, decision)
        self.publish("allow", tool, context, rule=decision.rule)
        return None

    def refusal_now(self, tool: Tool, principal: Principal | None, completed: Mapping[str, Any]) -> Decision | None:
        """When a reload replaced this policy while a call waited for approval: the serving policy's
        refusal of the call (`deny`, `hide`, or the tool no longer served), else None. An approval given
        under the old policy must not carry a call the policy in force now refuses."""
        decision = self.decision_now(tool, principal, completed)
        return decision if decision is not None and decision.action in ("deny", "hide") else None

    def decision_now(self, tool: Tool, principal: Principal | None, completed: Mapping[str, Any]) -> Decision | None:
        """The serving policy's decision of the call when a reload replaced this policy (a `deny` when it
        no longer serves the tool); None when this policy is still in force or none is (every call allowed)."""
        current = self.service.serving  # the served set's, never one only compiled (a failed reload's)
        if current is None or current is self:
            return None
        now_tool = current.tools.get(tool.name)
        if now_tool is None:
            return Decision("deny", "reload", f"tool {tool.name} is no longer served")
        return current.decide(now_tool, principal, completed)

    def quorum_for(self, tool: Tool, principal: Principal | None, completed: Mapping[str, Any]) -> InForce | None:
        """The approval quorum (`required`, `approvers`: `Approvals.in_force`) this policy's decision of the call
        gives (`decide`: the caller, `tool` as this policy serves it, the completed arguments), or None when the
        decision is not `approve`. The one selector of a request's quorum in force: a waiting or repeated call asks it
        with its own caller and arguments (`approvals._in_force`), a vote with the caller and arguments the request
        recorded (`stored_quorum`). Never chosen by a rule's label: an unnamed rule's is its position (`rules[N]`),
        which a reload that inserts a rule above gives another rule, and a rule found by label need not match the
        caller at all (review of upfix, problems 1 and 2)."""
        decision = self.decide(tool, principal, completed)
        return self.approvals.in_force(decision.approvals) if decision.action == "approve" else None

    def stored_quorum(self, request: ApprovalRequest) -> InForce | None:
        """`quorum_for` the call `request` records — its caller (`principal`, `by_client`, `client_id`) and its
        arguments (defaults and fixed values of the tool as served now filled in, as `invoke.check_arguments` does)
        — or None when this policy does not serve its tool, its decision is not `approve`, or the decision cannot be
        rebuilt from the record (`_rebuilds`): then the approvers the request stored decide it. README "Approvals":
        a reload that changes the quorum counts a request as the rule in force counts it; who may vote follows it."""
        tool = self.tools.get(request.tool)
        if tool is None:
            return None
        # A static token, `bearer`, stdio or anonymous holds no scopes or claims, so the record is the whole caller;
        # an OAuth caller's token held scopes and claims the record does not keep.
        tokenless = not request.by_client and request.client_id is None and (
            request.principal in RESERVED_SUBJECTS or request.principal in self.static_callers)
        caller = Principal(request.principal, "token" if tokenless else "oauth", client_id=request.client_id,
                           by_client=request.by_client)  # (no rule reads `kind`)
        # a redacted value (a secret-looking name's, a configured secret) is not the value a rule's `when` saw
        whole = REDACTED not in json.dumps(request.arguments, default=str)
        completed = {**tool.args.defaults, **request.arguments, **tool.args.fixed} if whole else None
        if not self._rebuilds(tool, caller, tokenless, completed):
            return None
        return self.quorum_for(tool, caller, completed or {})

    def _rebuilds(self, tool: Tool, caller: Principal, tokenless: bool, completed: Mapping[str, Any] | None) -> bool:
        """Whether `decide` gives the call a request records (`caller`; `tokenless`: it held no token scopes or
        claims; `completed` None when its arguments were redacted) the decision it gave the call itself: no rule it
        may reach, up to the first that surely matches, reads what the record lacks — an OAuth token's scopes or
        claims, or (redacted arguments) a `when` condition."""
        for rule in self.rules_for(tool):
            if not rule.match.fits_name(caller):
                continue  # its names leave this caller out, whatever its token held
            if rule.match.reads_token and not tokenless or rule.match.when is not None and completed is None:
                return False
            if rule.match.when is None and rule.match.fits_principal(caller):
                return True  # the first rule that matches: the ones below are never reached
        return True

    def allowed_now(self, tool: Tool, principal: Principal | None, completed: Mapping[str, Any]) -> bool:
        """When a reload replaced this policy while a call waited for approval: True when the policy in
        force now allows the call outright (its rule is `allow`, or the served set has no policy), so the
        call runs without the approval; a refusal is judged when the approval arrives (`refusal_now`)."""
        if self.service.serving is self:
            return False
        decision = self.decision_now(tool, principal, completed)
        return decision is None or decision.action == "allow"

    async def _take_tokens(self, tool: Tool, principal: Principal, completed: Mapping[str, Any],
                           context: CallContext) -> None:
        for limit in self.limits_for(tool):
            if not (limit.match.fits_principal(principal) and limit.match.fits_arguments(completed)):
                continue
            scope = limit.scope(principal, tool.name)
            key = f"{BUCKET}{limit.identity}\x1f{scope}"
            state = self.service.state
            # the heads are the policy's (`legacy_heads`, once per compile); their per-caller keys are built
            # only for a store that can hold an earlier version's buckets (the in-process one paid for keys it
            # never reads: timeit ~2 µs a call on a loaded machine, where bench/policy.py's `admit` is 6-15 µs)
            legacy = tuple(f"{head}\x1f{scope}" for head in limit.legacy) if state.outlives_upgrades else ()
            allowed, retry_after = await state.bucket_take(key, limit.rate, limit.count, legacy)
            if not allowed:
                wait = max(1, round(retry_after + 0.499))
                self.publish("rate_limited", tool, context, rule=limit.label, reason=f"retry after {wait} s")
                raise RateLimited(
                    f"rate limit reached for {tool.name}: {limit.describe()}. Retry after {wait} s "
                    f"(Retry-After: {wait}).", retry_after)

    def refused_hidden(self, tool: Tool, principal: Principal | None, session_id: str | None,
                       call_id: str | None = None) -> None:
        # Calls by name of a hidden tool never reach `admit` (the caller must not learn, through an
        # argument error, that it exists): the call path reports them here instead, so probing a
        # hidden tool shows in the audit log like any other refusal.
        if BUS.active:
            rule = next((r.label for r in self.candidates(tool, principal) if r.match.when is None), None)
            BUS.publish(DecisionEvent(time=time.time(), action="hidden", tool=tool.name, source=tool.source,
                                      principal=principal, rule=rule, session_id=session_id, call_id=call_id))

    def publish(self, action: str, tool: Tool, context: CallContext, *, rule: str | None = None,
                reason: str | None = None, approval_id: str | None = None,
                approvers: tuple[str, ...] | None = None) -> None:
        if BUS.active:
            BUS.publish(DecisionEvent(time=time.time(), action=action, tool=tool.name, source=tool.source,
                                      principal=context.principal, rule=rule, reason=reason,
                                      session_id=context.session_id, approval_id=approval_id,
                                      call_id=context.call_id, approvers=approvers))
