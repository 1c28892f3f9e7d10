"""Rule matching: a manifest `match:` compiled into checks that cost a few dict lookups per call.

A match has three parts, checked in the order they get more expensive: the tool (name globs,
source, annotations, HTTP method — fixed for a tool, so computed once per tool and cached), the
principal (name globs — a client acting for itself, where the match grants, only by `client:` entries and `*`:
`principals.py` —, OAuth client globs, scopes, claims — cached per principal), and `when` (JMESPath
over the call's arguments, evaluated per call).

`clients` matches the OAuth client a caller acts through (`Principal.client_id`: the token's
`client_id`, else `azp`), each entry literal but for `*` (`manifest.policy.client_regex`). A caller
without one — a static token, `bearer`, `stdio`, `anonymous` — is
no client, so it matches no `clients` entry, `*` included: a rule naming clients is about calls made
through OAuth clients. That fails closed where it matters: an `allow` listing the known clients never
lets a call with no client through (it falls to the later rules and the default).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..identity.principal import STDIO, Principal
from ..manifest.policy import Match, Policy, client_regex
from .principals import PrincipalPatterns, compiled
from .when import WhenError, compile_when

if TYPE_CHECKING:
    from ..toolset.tool import Tool

# MCP spec, schema `ToolAnnotations`: the values a client must assume for hints a tool does not set.
ANNOTATION_DEFAULTS = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False,
                       "openWorldHint": True}


def glob_regex(patterns: list[str]) -> re.Pattern[str] | None:
    """One compiled regex for a list of shell globs (`*`, `?`, `[..]`), case-sensitive; None for []."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def clients_regex(patterns: list[str]) -> re.Pattern[str] | None:
    """One compiled regex for a `clients` list, each entry read by `manifest.policy.client_regex` (literal
    but for `*`: a client id may hold `[ ] ?`); None for []."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{client_regex(p)})" for p in patterns), re.DOTALL)


def effective_annotations(tool: Tool) -> dict[str, bool]:
    """A tool's annotations with the MCP defaults filled in; `destructiveHint` and `idempotentHint`
    are meaningful only for tools that are not read-only (MCP spec), so a read-only tool is neither."""
    values = {**ANNOTATION_DEFAULTS, **{k: v for k, v in tool.annotations.items() if isinstance(v, bool)}}
    if values["readOnlyHint"]:
        values["destructiveHint"] = False
    return values


def repeat_is_safe(tool: Tool) -> bool:
    """Whether calling `tool` again after an interrupted call is harmless by its own annotations: read-only,
    or idempotent (MCP schema `ToolAnnotations`: `readOnlyHint`, `idempotentHint`; unset hints take the
    spec's defaults, so a tool that says nothing is not)."""
    values = effective_annotations(tool)
    return values["readOnlyHint"] or values["idempotentHint"]


def http_method(tool: Tool) -> str | None:
    """The HTTP method of a tool whose operation is an HTTP call (None for Python and proxied MCP tools)."""
    return tool.operation.meta.method.upper() or None


def principal_key(principal: Principal | None) -> Any:
    """A hashable key for caching per-principal results: everything `fits_principal` reads (the client
    id too: one user's calls through two OAuth clients are decided apart; claims when hashable)."""
    p = principal or STDIO
    try:
        claims = tuple(sorted((k, v) for k, v in p.claims.items())) if p.claims else ()
        hash(claims)
    except TypeError:
        return None  # unhashable claims: do not cache
    return (p.kind, p.subject, p.by_client, p.client_id, p.scopes, claims)


@dataclass(slots=True)
class CompiledMatch:
    tools: re.Pattern[str] | None
    sources: frozenset[str]
    principals: PrincipalPatterns | None  # plain entries by name, `client:` ones by client id (`principals.py`)
    clients: re.Pattern[str] | None
    scopes: frozenset[str]
    claims: Mapping[str, Any]
    annotations: Mapping[str, bool]
    methods: frozenset[str]
    when: Any  # a predicate over the arguments (when.py), or None
    when_text: str | None
    catch_all: bool  # matches every call (no key set)
    # whether matching grants (an `allow` rule): then plain `principals` entries other than `*` leave out a client
    # acting for itself; a `deny`/`approve`/`hide` rule or a rate limit matches its namesakes too (fail closed)
    grants: bool = True

    @classmethod
    def build(cls, match: Match, grants: bool = True) -> CompiledMatch:
        """`match` compiled; `grants`: whether a match grants (an `allow` rule's), as `principals.PrincipalPatterns`
        reads it."""
        when = compile_when(match.when) if match.when is not None else None
        static_all = not (match.tools and match.tools != ["*"]) and not (
            match.sources or match.principals or match.clients or match.scopes or match.claims or match.annotations or match.methods)
        return cls(
            tools=glob_regex(match.tools),
            sources=frozenset(match.sources),
            principals=compiled(match.principals) if match.principals else None,
            clients=clients_regex(match.clients),
            scopes=frozenset(match.scopes),
            claims=dict(match.claims),
            annotations=dict(match.annotations),
            methods=frozenset(match.methods),
            when=when,
            when_text=match.when,
            catch_all=static_all and when is None,
            grants=grants,
        )

    def fits_tool(self, tool: Tool) -> bool:
        if self.tools is not None and self.tools.fullmatch(tool.name) is None:
            return False
        if self.sources and tool.source not in self.sources:
            return False
        if self.methods and http_method(tool) not in self.methods:
            return False
        if self.annotations:
            values = effective_annotations(tool)
            if any(values.get(name) != wanted for name, wanted in self.annotations.items()):
                return False
        return True

    def fits_name(self, principal: Principal | None) -> bool:
        """Whether the caller's names fit `principals` and `clients` (its subject, `by_client`, client id): the part
        of `fits_principal` an approval request's record can answer (it keeps no scopes or claims)."""
        p = principal or STDIO
        if self.principals is not None and not self.principals.fits(p, self.grants):
            return False  # a client acting for itself: `client:` entries and `*`, namesakes where it restricts
        if self.clients is not None and (p.client_id is None or self.clients.fullmatch(p.client_id) is None):
            return False  # no client is none of these clients (the module docstring)
        return True

    @property
    def reads_token(self) -> bool:
        """Whether matching reads the access token's scopes or claims (`scopes`, `claims`)."""
        return bool(self.scopes or self.claims)

    def fits_principal(self, principal: Principal | None) -> bool:
        p = principal or STDIO
        if not self.fits_name(p):
            return False
        if self.scopes and not (self.scopes & p.scopes):
            return False
        for name, wanted in self.claims.items():
            have = p.claims.get(name)
            if not (have == wanted or (isinstance(have, (list, tuple)) and wanted in have)):
                return False
        return True

    @property
    def principal_free(self) -> bool:
        return self.principals is None and self.clients is None and not self.scopes and not self.claims

    def fits_arguments(self, arguments: Mapping[str, Any]) -> bool:
        """Whether `when` holds (a rate limit's match). One that cannot be evaluated on these arguments
        (`when.WhenError`: a function given the wrong type, nested too deeply) fits: the limit applies,
        failing closed, so a caller cannot step around a limit by sending an argument of another type."""
        try:
            return self.when is None or self.when(arguments)
        except WhenError:
            return True


@dataclass(frozen=True, slots=True)
class Governed:
    """One rule's or rate limit's `match`, compiled once, with the served tools its tool part fits
    (what `mcprt validate`'s checks read: `checks.py`, `never.py`)."""

    group: str  # "rules" | "rate_limits"
    index: int
    match: Match
    compiled: CompiledMatch
    fitting: tuple[Tool, ...]

    @property
    def label(self) -> str:
        """How a diagnostic's text names this entry: `policy.rules.2` (`said_path`)."""
        return said_path(self.group, self.index)


def said_path(group: str, index: int) -> str:
    """`policy.rules.2` / `policy.rate_limits.0`: how every policy diagnostic's text names a rule or rate limit,
    the dotted path form manifest errors use (`file:line:col: policy.rules.2.match.tools.0: …`). Not the
    decision label (`rules[2]` or the rule's `name`, `gate.CompiledRule.label`): audit records, metrics and
    rate-limit buckets are stored under that one, so it stays as it was."""
    return f"policy.{group}.{index}"


def governed(policy: Policy, tools: list[Tool]) -> list[Governed]:
    """Every rule, then every rate limit, of `policy` against `tools`: each match is compiled once and
    tried once per tool (compiling it per tool cost seconds on a 1,223-tool API during a reload)."""
    entries = [("rules", i, r.match, r.action == "allow") for i, r in enumerate(policy.rules)]
    entries += [("rate_limits", i, l.match, False) for i, l in enumerate(policy.rate_limits)]
    found = []
    for group, index, match, grants in entries:
        compiled = CompiledMatch.build(match, grants)
        found.append(Governed(group, index, match, compiled, tuple(t for t in tools if compiled.fits_tool(t))))
    return found
