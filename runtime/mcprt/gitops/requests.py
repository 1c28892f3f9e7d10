"""What a tool sends upstream, and who may call it, compared for `mcprt diff`: the changes a reviewer must
see although the model sees the same tool.

Three parts:
- its source's settings (`source setting changed`, once per source, naming the tools it reaches — a
  setting of a source of 260 operations is one line, not 260): every key of the source's entry that decides where
  calls go or what they carry — `base_url`, `server_variables`, `headers`, `auth`, `credential_origins`,
  `credential_parameters`, `path_slashes`, `tls`, `url`, `command`/`args`/`env`/`cwd`, `python`, … — all
  but the keys whose effect the tool comparison shows in its own words (`_SHOWN_ELSEWHERE`);
- the request each tool's operation makes, under the tool (`request changed`: method, path template, an argument's wire place,
  the body's media type, the document's servers where `base_url` does not replace them;
  `SourceKind.request_of`), and the arguments the manifest sends for it (`fixed` values, the `default`
  of a hidden argument): the model asks for the same thing and the upstream receives another;
- the policy decision on each tool for each caller the manifest knows (`policy decision changed`), which can change
  with the tool alone (a method turned into POST loses `readOnlyHint`, and a rule on it now applies).

Every value is the manifest's as written, before `${VAR}` substitution (`LoadedManifest.written`): both
sides are read the same way, whichever `.env` each has, and a reference is shown by its name, never its
value. A credential written literally is never shown: under `auth` its secret leaves, anywhere else (`headers`,
`env`, `args`, the arguments sent, a `url`) a value `scrubbing.is_literal_credential` calls one — by the name
it is written under or by reading as a token — the rule `mcprt validate` warns by; a URL's `user:password@`
and a credential query parameter's value (`?access_token=`) are masked (`scrubbing.mask_url_credentials`).

Breaking (the choice the README explains): all of it but `_HARMLESS` (retries and start-up limits). A
host, a header, a credential's place or the request itself changes what the upstream receives — mcprt
cannot judge whether it answers the same, and a changed origin or header can hand the source's
credentials to a new host — so `--fail-on breaking` stops for a reviewer, as it does for a loosened policy.
A changed policy decision refuses a call that worked, or lets through one that was refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..identity.principal import Principal
from ..manifest.loader import LoadedManifest
from ..policy.principals import caller_named, entry_literal
from ..scrubbing import is_literal_credential, mask_url_credentials
from ..sources.kind import kind_of
from ..toolset.tool import Tool
from ..wording import json_excerpt, noun

# source keys whose effect is compared per tool in its own words (`compare._tool_changes`, `effective.py`):
# names, tool sets, overrides, exposure, limits, descriptions — and the description's content (its
# location alone sends nothing; the operations and servers it gives are compared)
_SHOWN_ELSEWHERE = frozenset({"tools", "prefix", "include", "exclude", "expose", "timeout", "output_schema",
                              "task_support", "descriptions", "max_response_bytes", "openapi", "resources",
                              "prompts"})
# settings that change how often or how long, never what is sent or to whom
_HARMLESS = frozenset({"retries", "startup_timeout", "concurrency"})
# under `auth`, leaves that hold the credential itself (the rest — a header's name, a token URL — are shown)
_CREDENTIAL_LEAVES = frozenset({"bearer", "password", "value", "client_secret"})
_REFERENCE = re.compile(r"\$\{[^}]*\}")
_SCHEME_WORD = re.compile(r"[A-Za-z]{0,10}")  # what may stand beside a reference: `Bearer ${TOKEN}`


def source_changes(old_loaded: LoadedManifest, new_loaded: LoadedManifest,
                   reaches: Mapping[str, Sequence[str]]) -> list[tuple[str, str, bool]]:
    """(kind, detail, breaking) for each setting that differs of a source both sides have (module docstring),
    stated once per source with the tools it reaches (`reaches`: source name → tool names; a review found
    one `base_url` change printed under each of 260 tools, 1,042 lines and a PR comment over GitHub's limit)."""
    written_old, written_new = old_loaded.written.get("sources"), new_loaded.written.get("sources")
    names = set(written_old) & set(written_new) if isinstance(written_old, dict) and isinstance(written_new, dict) \
        else set()
    changes = []
    for source in sorted(names):
        was, now = _written_source(old_loaded, source), _written_source(new_loaded, source)
        tools = reaches.get(source, ())
        reach = f" — reaches {len(tools)} {noun(len(tools), 'tool')}" + (f": {_listed(tools)}" if tools else "")
        for path, before, after in differences({k: v for k, v in was.items() if k not in _SHOWN_ELSEWHERE},
                                               {k: v for k, v in now.items() if k not in _SHOWN_ELSEWHERE}):
            key = path[0]
            detail = f"`{_dotted(path)}`: {_shown(path, before)} → {_shown(path, after)}"
            if _shown(path, before) == _shown(path, after):  # only what is not shown differs
                detail = f"`{_dotted(path)}` changed (its value is not shown)"
            why = "" if key in _HARMLESS else " (needs review: where calls go or what they carry)"
            changes.append(("source setting changed", f"source {source}: {detail}{why}{reach}", key not in _HARMLESS))
    return changes


_MAX_LISTED = 10  # tool names in one line: the count says the rest


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(f"`{name}`" for name in names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def request_changes(old: Tool, new: Tool, old_loaded: LoadedManifest, new_loaded: LoadedManifest) -> list[tuple[str, str, bool]]:
    """(kind, detail, breaking) for each difference in the request the tool's operation makes and in the
    argument values the manifest sends for it (module docstring)."""
    was = _request(old, old_loaded)
    now = _request(new, new_loaded)
    if "servers" in was or "servers" in now:
        # a description's servers, where `base_url` does not replace them (`OpenAPIKind.request_of`): when it
        # does on one side, the `base_url` source setting tells the change, once (a review found a second
        # `servers → (none)` line under every tool when `base_url` was added)
        if not ("servers" in was and "servers" in now):
            was.pop("servers", None)
            now.pop("servers", None)
    changes = []
    for path, before, after in differences(was, now):
        detail = f"`{_dotted(path)}`: {_shown(path, before)} → {_shown(path, after)}"
        if path[0] == "arguments sent":
            detail += " (a call sends this whatever the model asks)"
        changes.append(("request changed", detail + " (the upstream receives another request)", True))
    return changes


def policy_changes(old: Tool, new: Tool, old_gate: Any, new_gate: Any, principals: Iterable[str]) -> list[tuple[str, str, bool]]:
    """(kind, detail, breaking) for each caller whose decision on this tool differs (before any argument
    is known: a rule with `when` is named as deciding by the arguments). Only the outcome is compared —
    the action, and which actions the arguments can choose — never which rule gives it or its wording:
    a reworded `reason`, rules reordered, or a policy added whose default allows what was allowed decide
    the same (a review found each reported as a breaking "policy decision changed"); the rule that decides
    is shown in the detail."""
    changes = []
    for name in principals or [None]:
        principal = caller_named(name) if name is not None else None
        (was, before), (now, after) = _decision(old_gate, old, principal), _decision(new_gate, new, principal)
        if was != now:
            who = f"for {name}" if name is not None else "for every caller"
            changes.append(("policy decision changed", f"{who}: {before} → {after}", True))
    return changes


def known_principals(*loaded: LoadedManifest, more: Iterable[str] = ()) -> list[str]:
    """The callers a policy can tell apart by name, both sides together: `more`, `server.auth.tokens` names
    and the names rules list (globs aside)."""
    names: dict[str, None] = dict.fromkeys(more)
    for side in loaded:
        auth = side.manifest.server.auth
        if auth is not None:
            names.update(dict.fromkeys(auth.tokens))
        policy = side.manifest.policy
        for rule in policy.rules if policy is not None else ():
            named = (entry_literal(p) for p in rule.match.principals or ())
            names.update(dict.fromkeys(name for name in named if name is not None))
    return sorted(names)


def _decision(gate: Any, tool: Tool, principal: Principal | None) -> tuple[tuple[str, ...], str]:
    """(outcome, shown): the outcome is the actions of the `when` rules in order (`when:<action>`; those at the
    end that decide as what follows them are left out), then the action decided without arguments; no policy allows, as a
    default `allow` does. `shown` names the rules that decide (`deny (rules[0]: no deletes)`)."""
    if gate is None:
        return ("allow",), "allow (no policy)"
    conditional: list[tuple[str, str]] = []
    for rule in gate.candidates(tool, principal):
        said = f"{rule.action} ({rule.label}{': ' + rule.reason if rule.reason else ''})"
        if rule.match.when is None:
            final, shown = rule.action, said
            break
        conditional.append((rule.action, f"by its arguments {said}"))
    else:
        final, shown = gate.policy.default, f"{gate.policy.default} (default)"
    actions = [action for action, _ in conditional]
    while actions and actions[-1] == final:  # a `when` rule that decides as what follows it changes nothing
        actions.pop()
    outcome = tuple(f"when:{action}" for action in actions) + (final,)
    return outcome, "; ".join([*(words for _, words in conditional), shown])


def _written_source(loaded: LoadedManifest, name: str) -> dict[str, Any]:
    sources = loaded.written.get("sources")
    entry = sources.get(name) if isinstance(sources, dict) else None
    return entry if isinstance(entry, dict) else {}


def _request(tool: Tool, loaded: LoadedManifest) -> dict[str, Any]:
    written = _written_source(loaded, tool.source)
    config = loaded.manifest.sources.get(tool.source)
    request: dict[str, Any] = kind_of(config).request_of(written, tool.operation) if config is not None else {}
    tools = written.get("tools")
    override = tools.get(tool.override_key) if isinstance(tools, dict) and tool.override_key else None
    args = override.get("args") if isinstance(override, dict) else None
    sent = {}
    for name, arg in (args or {}).items() if isinstance(args, dict) else ():
        if not isinstance(arg, dict):
            continue
        if arg.get("fixed") is not None:
            sent[name] = arg["fixed"]
        elif arg.get("hidden") and "default" in arg:
            sent[name] = arg["default"]
    if sent:
        request["arguments sent"] = sent
    return request


def differences(before: Any, after: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(path, before, after) for each leaf that differs; a mapping on one side only is its keys."""
    mappings = [isinstance(side, Mapping) for side in (before, after)]
    if any(mappings) and all(m or side is None for m, side in zip(mappings, (before, after))):
        old, new = before or {}, after or {}
        found: list[tuple[tuple[str, ...], Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                found += differences(old.get(key), new.get(key), (*path, str(key)))
        return found
    return [] if before == after else [(path, before, after)]


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


_HIDDEN = "(a literal value, not shown)"
# settings whose entries are named values: the name says whether the value is a credential
_NAMED = frozenset({"headers", "env", "arguments sent", "server_variables"})


def _shown(path: tuple[str, ...], value: Any) -> str:
    """A written value as a reviewer may see it: `(none)` when absent, each literal credential in it hidden
    (`_hide`), every URL's credentials masked."""
    if value is None:
        return "(none)"
    hidden = _hide(path, value)
    return hidden if hidden == _HIDDEN else mask_url_credentials(json_excerpt(hidden))


def _hide(path: tuple[str, ...], value: Any) -> Any:
    """`value` with each string that is a literal credential at its place replaced by `_HIDDEN`: under `auth` a
    secret leaf (not a header's name, a token URL); anywhere, a string `is_literal_credential` calls one, by
    the name of its entry in a named setting (`headers.X-Partner-Token`) or by its value alone."""
    if isinstance(value, Mapping):
        return {key: _hide((*path, str(key)), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide(path, item) for item in value]
    if not isinstance(value, str) or not _literal(value):
        return value
    if path and path[0] == "auth" and path[-1] in _CREDENTIAL_LEAVES:
        return _HIDDEN
    name = path[1] if len(path) > 1 and path[0] in _NAMED else ""
    return _HIDDEN if is_literal_credential(name, _REFERENCE.sub("", value)) else value


def _literal(value: Any) -> bool:
    """Whether a value holds text of its own beyond `${VAR}` references and a scheme word (`Bearer`)."""
    if isinstance(value, Mapping):
        return any(_literal(v) for v in value.values())
    if isinstance(value, list):
        return any(_literal(v) for v in value)
    rest = _REFERENCE.sub("", str(value)).strip()
    return bool(rest) and not (_REFERENCE.search(str(value)) and _SCHEME_WORD.fullmatch(rest))
