"""Policy parts that can never hold, whatever the call: `mcprt validate` warnings (see `checks.py`).

A rule with such a part silently decides nothing (a `deny` that never refuses), an approval that
needs more approvers than can exist is never granted; each is found here against what the manifest
can produce:

- a principal name or glob (in `match.principals`, `approvers`, `admins`) that no auth setting
  gives — static token names, `bearer`, `stdio`, `anonymous`; with `server.auth.oauth` any
  other name can come from the provider, so nothing is said then; a `client:` entry (an OAuth client
  acting for itself) without `server.auth.oauth`, whatever static token bears that id as its name;
- `clients`, `scopes` or `claims` without OAuth (static tokens carry none of them), and a claim OAuth
  does not keep on the principal (`server.auth.oauth.claims`);
- a `clients` entry that is a static token's name (or `bearer`, `stdio`, `anonymous`) and no glob: those
  callers have no OAuth client, so it matches only an OAuth client of that id — most likely `principals`
  was meant;
- `required` approvals beyond the principals that can approve;
- a `when` that reads an argument none of the rule's tools takes, or compares an argument with a
  literal its schema type can never equal or be ordered with (`<`, `>`: two numbers or two strings,
  as `when.py` evaluates them), or calls a function that fails whatever the call (unknown, the wrong
  number of arguments, or an argument whose schema type the function never takes).

Each finding is a `Finding`; the caller (`checks.py`) turns it into a located warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..manifest.model import InboundAuth
from ..manifest.policy import CLIENT_PRINCIPAL, Match, Policy, Rule, client_literal
from ..toolset.tool import Tool
from ..errors import did_you_mean
from .principals import covers
from .rules import Governed, said_path

# (path under `policy`, message, whether the part makes its rule or limit match no call at all), and a fourth
# item "error" for a part that fails every call (`_call_problems`: an unknown function), else a warning
Finding = tuple[Any, ...]
_ORDERING = frozenset({"gt", "gte", "lt", "lte"})
_SCHEMA_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
                 type(None): "null"}


def never_holding(policy: Policy, auth: InboundAuth | None, entries: list[Governed], *,
                  auth_known: bool = True) -> list[Finding]:
    """Every part of `policy` that can never hold given `auth` and its matches against the served
    tools (`rules.governed`). `auth_known=False`: `server.auth` is not the one written (left out of a manifest
    failing the schema there: `LoadedManifest.settled`), so nothing is judged against it — only `when`."""
    names, open_names = producible(auth)
    found: list[Finding] = []
    for entry in entries:
        match, label = entry.match, entry.label
        path = (entry.group, entry.index, "match")
        if match.when is not None:
            found += [((*path, "when"), f"{label}: `when` {problem}", False, severity)
                      for problem, severity in _when_problems(match.when, list(entry.fitting))]
        if not auth_known:
            continue
        if not open_names:
            for j, pattern in enumerate(match.principals):
                if not _any_fits(pattern, names):
                    found.append(((*path, "principals", j), f"{label}: principal '{pattern}' {_no_caller(pattern, names)}",
                                  True))
        found += _identity_claims(auth, match, label, path)
        found += _clients_named_as_principals(auth, match, label, path, names)
    if auth_known and not open_names:
        lists = [(("approvals", "approvers"), "approvals", policy.approvals.approvers), (("admins",), "admins", policy.admins)]
        lists += [(("rules", i, "approvals", "approvers"), f"{said_path('rules', i)}.approvals",
                   r.approvals.approvers)
                  for i, r in enumerate(policy.rules) if r.approvals is not None and r.approvals.approvers]
        for where, label, patterns in lists:
            for j, pattern in enumerate(patterns):
                if not _any_fits(pattern, names):
                    found.append(((*where, j), f"{label}: approver '{pattern}' {_no_caller(pattern, names)}"
                                  if label != "admins" else f"admins: '{pattern}' {_no_caller(pattern, names)}", False))
        if auth is not None and auth.tokens:  # without named tokens checks.py already says approvals cannot work
            found += _unreachable_quorums(policy, names)
    return found


def impossible_caller(policy: Policy, auth: InboundAuth | None, principal: str, scopes: Sequence[str],
                      claims: Iterable[str], client: str | None = None) -> list[str]:
    """Why a caller a `mcprt test` case names (`principal` with its token's `scopes`, claim names and OAuth
    `client`) is none this manifest can have, or carries scopes no rule reads: a name no auth setting gives (as
    for rules), a client, scopes or claims without OAuth, a claim `server.auth.oauth.claims` does not keep, a
    scope neither a rule's nor a rate limit's `scopes` nor `server.auth.oauth.scopes` names (a typo: it decides
    nothing)."""
    names, open_names = producible(auth)
    problems = []
    if not open_names and principal not in names:
        problems.append(f"principal '{principal}' {_no_caller(principal, names)}")
    oauth = auth.oauth if auth is not None else None
    if oauth is None:
        if scopes or claims or client is not None:
            problems.append("`client`, `scopes` and `claims` come only with OAuth access tokens, and server.auth "
                            "has no oauth")
        return problems
    known = {s for m in [*(r.match for r in policy.rules), *(l.match for l in policy.rate_limits)] for s in m.scopes}
    known |= set(oauth.scopes)
    problems += [f"scope '{s}' is in no rule's or rate limit's `scopes` (nor server.auth.oauth.scopes): it decides "
                 "nothing" + did_you_mean(s, sorted(known)) for s in scopes if s not in known]
    problems += [f"claim '{c}' is never on the principal: server.auth.oauth.claims does not keep it"
                 for c in claims if c not in oauth.kept_claims]
    return problems


def producible(auth: InboundAuth | None) -> tuple[frozenset[str], bool]:
    """The principal names the manifest's auth settings give, and whether OAuth can give any other."""
    if auth is None:
        return frozenset({"anonymous", "stdio"}), False
    names = set(auth.tokens) | {"stdio"} | ({"bearer"} if auth.bearer_tokens else set())
    return frozenset(names), auth.oauth is not None


def _any_fits(pattern: str, names: frozenset[str]) -> bool:
    """Whether `pattern` matches one of `names` (callers without OAuth: none is a client acting for itself, so a
    `client:` entry never does: `principals.covers`)."""
    return any(covers(pattern, name) for name in names)


def _no_caller(pattern: str, names: frozenset[str]) -> str:
    if pattern.startswith(CLIENT_PRINCIPAL):
        return ("is never a caller here: a `client:` entry names an OAuth client acting for itself (a "
                "client-credentials token), and server.auth has no oauth (it gives " + ", ".join(sorted(names))
                + "; a `client:` entry never matches a static token or user of that name)")
    return ("is never a caller here: server.auth gives " + ", ".join(sorted(names)) + " (no OAuth)"
            + did_you_mean(pattern, sorted(names)))


def _identity_claims(auth: InboundAuth | None, match: Match, label: str, path: tuple[Any, ...]) -> list[Finding]:
    oauth = auth.oauth if auth is not None else None
    found: list[Finding] = []
    if oauth is None:
        if match.clients:
            found.append(((*path, "clients"), f"{label}: `clients` never match: only OAuth access tokens carry a "
                          "client id, and server.auth has no oauth (a static token, stdio or anonymous caller has no "
                          "client)", True))
        if match.scopes:
            found.append(((*path, "scopes"), f"{label}: `scopes` never match: only OAuth access tokens carry scopes, "
                          "and server.auth has no oauth", True))
        if match.claims:
            found.append(((*path, "claims"), f"{label}: `claims` never match: only OAuth access tokens carry claims, "
                          "and server.auth has no oauth", True))
        return found
    kept = oauth.kept_claims
    for name in match.claims:
        if name not in kept:
            found.append(((*path, "claims", name), f"{label}: claim '{name}' is never on the principal: add it to "
                          "server.auth.oauth.claims (only the claims listed there are kept)", True))
    return found


def _clients_named_as_principals(auth: InboundAuth | None, match: Match, label: str, path: tuple[Any, ...],
                                 names: frozenset[str]) -> list[Finding]:
    """A `clients` entry, no glob, that is the name of a caller who has no OAuth client (a static token,
    `bearer`, `stdio`, `anonymous`): it would match only an OAuth client of that id, never that caller
    (`rules` module docstring) — most likely `principals` was meant. Without OAuth `_identity_claims`
    already says `clients` never match."""
    if auth is None or auth.oauth is None:
        return []
    return [((*path, "clients", j), f"{label}: client '{name}' is the name of a caller with no OAuth client "
             f"(a static token, bearer, stdio or anonymous): `clients` never matches that caller, only an OAuth "
             f"client whose id is '{name}'; to match the caller, list it under `principals`", False)
            for j, name in enumerate(match.clients) if client_literal(name) in names]


def _unreachable_quorums(policy: Policy, names: frozenset[str]) -> list[Finding]:
    """`required` beyond the principals that can approve, once per `required` setting (the shared
    `policy.approvals` one names every rule that uses it)."""
    settings = policy.approvals
    users: dict[tuple[Any, ...], list[str]] = {}  # where `required` is set → who needs that many approvals
    quorum: dict[tuple[Any, ...], tuple[int, list[str]]] = {}
    approving: list[tuple[int | None, Rule | None]] = [(None, None)] if policy.default == "approve" else []
    approving += [(i, r) for i, r in enumerate(policy.rules) if r.action == "approve"]
    for i, rule in approving:
        label = "policy.default" if i is None else said_path("rules", i)
        override = rule.approvals if rule is not None else None
        in_force = settings.in_force(override)
        patterns, required = in_force.approvers, in_force.required
        own = override is not None and (override.required is not None or override.approvers is not None)
        where = ("rules", i, "approvals") if own else ("approvals", "required")
        able = sorted(n for n in names if n not in ("stdio", "anonymous")
                      and (not patterns or _any_fits(n, frozenset(patterns))))
        if required > len(able):
            users.setdefault(where, []).append(label)
            quorum[where] = (required, able)
    found: list[Finding] = []
    for where, labels in users.items():
        required, able = quorum[where]
        found.append((where, f"{', '.join(labels)} need{'s' if len(labels) == 1 else ''} {required} approval{'s' if required > 1 else ''} but only "
                      f"{len(able)} principal{'' if len(able) == 1 else 's'} can approve ({', '.join(able) or 'none'}): "
                      "those calls can never be approved", False))
    return found


# --- `when` ---------------------------------------------------------------------------------------


def _when_problems(text: str, tools: list[Tool]) -> list[tuple[str, str]]:
    """(message, severity) of each problem of `text` against the rule's tools: "error" for a call that fails
    whatever the arguments (an unknown function, a wrong count: it would ship a rule that decides every call
    by failing; review of mendrev3, problem 5), "warning" for the rest."""
    import jmespath

    if not tools:
        return []  # the rule's tool part matches nothing: said elsewhere
    parsed = jmespath.compile(text).parsed
    problems: list[str] = []
    arguments: dict[str, list[dict[str, Any]]] = {}  # argument name → its schemas in the tools that take it
    omissible: set[str] = set()  # arguments a call can leave out (then null for `when`: no default fills them)
    for tool in tools:
        required = tool.input_schema.get("required") or []
        for name, schema in (tool.input_schema.get("properties") or {}).items():
            schema = schema if isinstance(schema, dict) else {}
            arguments.setdefault(name, []).append(schema)
            if name not in required and schema.get("default") is None:
                omissible.add(name)
    # a schema that lists no properties at all takes any argument
    open_ended = any("properties" not in tool.input_schema for tool in tools)
    names = ", ".join(t.name for t in tools[:3]) + (f" and {len(tools) - 3} more" if len(tools) > 3 else "")
    seen: set[str] = set()
    for field in _root_fields(parsed):
        if field in arguments or open_ended or field in seen:
            continue
        seen.add(field)
        problems.append(f"reads '{field}', which none of its tools ({names}) takes: it is null on every call"
                        + did_you_mean(field, sorted(arguments)))
    for field, op, literal in _root_comparisons(parsed):
        types = {t for schema in arguments.get(field, []) for t in _types(schema)}
        if not types or "any" in types:
            continue
        if literal is None and op == "eq" and field in omissible:
            continue  # `labels == \`null\``: holds when the call leaves the argument out
        unordered = sorted(kind for kind in types if kind != "null" and not _can_hold(kind, op, literal)) \
            if op in _ORDERING and literal is not None else []
        if unordered:
            # `when.py`: such a comparison fails the condition (a value of another type must not step around a
            # `deny`), so it decides those calls by failing: said even for one member of a union (`int | str`)
            shown = f"'{literal}'" if isinstance(literal, str) else f"`{json.dumps(literal)}`"
            kind = _SCHEMA_TYPES.get(type(literal), "value")
            every = len(unordered) == len(types - {"null"})
            hint = " (write a number in backticks: `1000`)" if isinstance(literal, str) and _numeric(literal) else ""
            which = " or ".join(f"{'an' if k[0] in 'aeiou' else 'a'} {k}" for k in unordered)
            problems.append(f"compares '{field}' ({' or '.join(sorted(types))}) with {shown} "
                            f"({'an' if kind[0] in 'aeiou' else 'a'} {kind}): {which} cannot be ordered with "
                            f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, so the condition fails on "
                            f"{'every call that gives it' if every else 'each call that gives it as ' + which}, "
                            f"and a `when` that fails applies a `deny` or `approve` rule to the call and never an "
                            f"`allow` rule{hint}")
            continue
        if not any(_can_hold(kind, op, literal) for kind in types):
            # as the manifest writes it: `null`, `true`, `1000` (JSON), not Python's None/True
            shown = f"'{literal}'" if isinstance(literal, str) else f"`{json.dumps(literal)}`"
            hint = " (write a number in backticks: `1000`)" if isinstance(literal, str) and _numeric(literal) else ""
            kind = _SCHEMA_TYPES.get(type(literal), "value")
            problems.append(f"compares '{field}' ({' or '.join(sorted(types))}) with {shown} "
                            f"({'an' if kind[0] in 'aeiou' else 'a'} {kind}): it never holds{hint}")
    failing = _call_problems(parsed, arguments)
    return [(p, "warning") for p in problems] + failing


# A function's error (a wrong type, an unknown name, a wrong count) fails the whole condition, `!` or not
# (`when.WhenError`), and the gate fails closed: a `deny` or `approve` rule applies, an `allow` rule does not.
_FAILS = ("it fails on every call that reaches it, and a `when` that fails applies a `deny` or `approve` rule "
          "to the call and never an `allow` rule")
# JSON Schema type → the JMESPath type a value of it has (JMESPath spec, "Data Types")
_JMESPATH_TYPES = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean",
                   "array": "array", "object": "object", "null": "null"}


def _call_problems(parsed: dict[str, Any], arguments: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Function calls in `when` that fail whatever the call: an unknown function, a wrong number of
    arguments (errors: certain whatever the tools), or an argument of the call passed where its schema type
    never fits (`length(amount)` on an integer; a warning: a tool's schema may say less than it takes),
    checked against jmespath's own signatures (JMESPath spec, "Built-in Functions")."""
    from jmespath.functions import Functions

    table = Functions().FUNCTION_TABLE
    problems = []
    for node in _root_calls(parsed):
        name, given = node["value"], node.get("children") or []
        spec = table.get(name)
        if spec is None:
            problems.append((f"calls {name}(), which JMESPath does not have: {_FAILS}" + did_you_mean(name, sorted(table)),
                             "error"))
            continue
        signature = spec["signature"]
        variadic = bool(signature) and bool(signature[-1].get("variadic"))
        if len(given) < len(signature) or (len(given) > len(signature) and not variadic):
            takes = f"{'at least ' if variadic else ''}{len(signature)}"
            problems.append((f"calls {name}() with {len(given)} argument(s); it takes {takes}: {_FAILS}", "error"))
            continue
        for position, child in enumerate(given):
            accepted = signature[min(position, len(signature) - 1)]["types"]
            if child["type"] == "field":
                shown, types = f"'{child['value']}'", {t for s in arguments.get(child["value"], []) for t in _types(s)}
            elif child["type"] == "literal":
                shown, types = f"`{json.dumps(child['value'])}`", {_SCHEMA_TYPES.get(type(child["value"]), "any")}
            else:
                continue
            if not accepted or "any" in accepted or not types or "any" in types \
                    or any(_fits(kind, accepted) for kind in types):
                continue
            problems.append((f"calls {name}() on {shown} ({' or '.join(sorted(types))}), which takes "
                             f"{' or '.join(accepted)}: {_FAILS}", "warning"))
    return problems


def _fits(kind: str, accepted: list[str]) -> bool:
    """Whether a value of JSON Schema type `kind` can be what a JMESPath function parameter accepts
    (an array may hold the items an `array-number` or `array-string` parameter wants)."""
    jmespath_type = _JMESPATH_TYPES.get(kind)
    if jmespath_type is None:
        return True
    return any(a == jmespath_type or (jmespath_type == "array" and a.startswith("array-")) for a in accepted)


def _root_calls(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The function calls whose arguments are read from the call's arguments (as `_root_fields`)."""
    kind, children = node["type"], node.get("children") or []
    if kind == "function_expression":
        yield node
    if kind in ("subexpression", "index_expression", "projection", "value_projection", "filter_projection",
                "flatten", "pipe"):
        if children:
            yield from _root_calls(children[0])
    elif kind in ("comparator", "and_expression", "or_expression", "not_expression", "function_expression",
                  "multi_select_list", "multi_select_hash", "key_val_pair"):
        for child in children:
            yield from _root_calls(child)


def _root_fields(node: dict[str, Any]) -> Iterator[str]:
    """Argument names the expression reads from the call's arguments (not from what a projection,
    filter or pipe produced)."""
    kind, children = node["type"], node.get("children") or []
    if kind == "field":
        yield node["value"]
    elif kind in ("subexpression", "index_expression", "projection", "value_projection", "filter_projection",
                  "flatten", "pipe"):
        if children:
            yield from _root_fields(children[0])  # the later parts read what the first produced
    elif kind in ("comparator", "and_expression", "or_expression", "not_expression", "function_expression",
                  "multi_select_list", "multi_select_hash", "key_val_pair"):
        for child in children:
            yield from _root_fields(child)


def _root_comparisons(node: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(argument, operator, literal) of each comparison of a top-level argument with a literal."""
    kind, children = node["type"], node.get("children") or []
    if kind == "comparator" and len(children) == 2:
        left, right = children
        flipped = {"gt": "lt", "lt": "gt", "gte": "lte", "lte": "gte"}
        if left["type"] == "field" and right["type"] == "literal":
            yield left["value"], node["value"], right["value"]
        elif right["type"] == "field" and left["type"] == "literal":
            yield right["value"], flipped.get(node["value"], node["value"]), left["value"]
    elif kind in ("and_expression", "or_expression", "not_expression"):
        for child in children:
            yield from _root_comparisons(child)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        return {t for v in variants if isinstance(v, dict) for t in (_types(v) or {"any"})}
    return {"any"}


def _can_hold(kind: str, op: str, literal: Any) -> bool:
    """Whether an argument of JSON Schema type `kind` can satisfy `argument op literal`."""
    literal_kind = _SCHEMA_TYPES.get(type(literal), "any")
    numeric = {"integer", "number"}
    if op in ("gt", "gte", "lt", "lte"):
        return (kind in numeric and literal_kind in numeric) or (kind == "string" and literal_kind == "string")
    if op == "ne":
        return True
    if kind in numeric and literal_kind in numeric:
        # an int literal of any size is integral (float() of a 400-digit one overflows)
        return kind == "number" or isinstance(literal, int) or float(literal).is_integer()
    return kind == literal_kind


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
