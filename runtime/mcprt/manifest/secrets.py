"""Where a manifest holds secrets, which values they are, and the rule that none may be empty.

The loader uses this to (1) warn about secrets written literally, (2) refuse an empty secret — an
empty `${MCPRT_TOKEN}` silently turning inbound auth off, or an empty key sent upstream, is a
weakening nobody asked for — and (3) register every configured secret value with the process-wide
scrubber (`mcprt.scrubbing.SECRETS`) so it is kept out of results, errors, logs and recordings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..errors import Diagnostic
from ..scrubbing import SECRETS, TOKEN_CHARS, is_credential_name, is_literal_credential, looks_like_token, secret_part
from ..scrubbing.scrubber import MIN_SECRET_CHARS
from .checks import at_offset
from .envvars import REPLAY_PLACEHOLDER, references_in, variable_names_at, variables_at, written_text_at
from .model import Manifest, OutboundAuth, auth_entries
from .positions import Path as NodePath
from .positions import PositionIndex


def secret_paths(manifest: Manifest) -> list[NodePath]:
    """Where the manifest holds secrets: inbound tokens and every source's credentials."""
    paths: list[NodePath] = []
    if manifest.server.auth is not None:
        paths += [("server", "auth", "bearer_tokens", i) for i in range(len(manifest.server.auth.bearer_tokens))]
        paths += [("server", "auth", "tokens", name) for name in manifest.server.auth.tokens]
        if manifest.server.auth.oauth is not None and manifest.server.auth.oauth.introspection is not None:
            paths.append(("server", "auth", "oauth", "introspection", "client_secret"))
    if manifest.policy is not None and manifest.policy.approvals.webhook is not None:
        paths.append(("policy", "approvals", "webhook"))
    for name, source in manifest.sources.items():
        for at, auth in auth_entries(getattr(source, "auth", None)):
            paths += _entry_secret_paths(("sources", name, "auth", *at), auth)
    return paths


def _entry_secret_paths(base: NodePath, auth: OutboundAuth) -> list[NodePath]:
    """Where one `auth` entry (`base`) holds secrets."""
    paths: list[NodePath] = []
    if auth.bearer is not None:
        paths.append((*base, "bearer"))
    if auth.basic is not None:
        paths.append((*base, "basic", "password"))
    if auth.api_key is not None:
        paths.append((*base, "api_key", "value"))
    if auth.oauth2 is not None:
        paths.append((*base, "oauth2", "client_secret"))
    if auth.token_exchange is not None:
        paths.append((*base, "token_exchange", "client_secret"))
    return paths


def _value_at(manifest: Manifest, path: NodePath) -> str:
    node: object = manifest
    for part in path:
        node = node[part] if isinstance(node, (list, dict)) else getattr(node, str(part))  # type: ignore[index]
    return node.get_secret_value() if hasattr(node, "get_secret_value") else str(node)  # type: ignore[union-attr]


def configured_secrets(manifest: Manifest, written: Any) -> list[str]:
    """Every secret value the manifest configures: credentials, inbound tokens, and the values of
    `headers:` / `env:` entries that carry one, written literally or through `${VAR}` alike (the value sent
    is what an upstream can echo): an entry whose name says so (`X-Api-Key`, `GITHUB_TOKEN`), whose value
    names a variable that says so (`X-Partner: ${PARTNER_TOKEN}`; `written` is the data before substitution),
    or whose value reads as a token (`X-Custom: "Bearer ${PARTNER}"`), by the rule `validate` warns by and
    `diff` hides by (`scrubbing.is_literal_credential`, which leaves out paths, host names, versions, UUIDs, media
    types and command-line options whose value is no token: `DATA_DIR=${DATA_DIR}` holding `/srv/data2024/reports`
    stays in results). A variable's name counts only for a value of a token's length (`TOKEN_CHARS`); what is
    registered is the token after a scheme word or an option's value (`scrubbing.secret_part`). Review of mendpd,
    problem 1: judging only literal values by their looks let `${PARTNER_TOKEN}` under `X-Partner` reach
    the model when an upstream echoed its request headers."""
    values = [_value_at(manifest, path) for path in secret_paths(manifest)]
    for name, source in manifest.sources.items():
        for _, auth in auth_entries(getattr(source, "auth", None)):
            if auth.basic is not None:
                values.append(f"{auth.basic.username}:{auth.basic.password.get_secret_value()}")
        for field in ("headers", "env"):
            for key, value in (getattr(source, field, None) or {}).items():
                named = any(map(is_credential_name, variable_names_at(written, ("sources", name, field, key))))
                # by a variable's name only when the value is as long as a token: `SESSION_TIMEOUT`=3600 is a
                # setting, and "3600" was redacted from every result (review of mendrev3, problem 1)
                if (named and len(value.strip()) >= TOKEN_CHARS) or is_literal_credential(key, value):
                    values.append(secret_part(value))
    return [v for v in values if v]


def empty_secrets(manifest: Manifest, env_paths: set[NodePath], index: PositionIndex,
                  from_files: Mapping[NodePath, str] | None = None) -> list[Diagnostic]:
    """An error at each secret whose value is empty (most often an exported but empty variable, or an empty
    mounted Secret file). `from_files`: path → the `VAR_FILE` its value was read through (`envvars.interpolate`),
    so the message sends the operator to the file, not to a variable that is not set."""
    found = []
    for path in secret_paths(manifest):
        if _value_at(manifest, path).strip():
            continue
        where = index.locate(path)
        through = (from_files or {}).get(path)
        origin = (f"the file {through} names is empty" if through is not None else
                  "its environment variable is set but empty" if path in env_paths else "it is empty")
        found.append(Diagnostic(where.file, where.line, where.col,
                                f"a secret must not be empty ({origin}); set it, or remove this entry"))
    return found


def _inbound_label(path: NodePath) -> str:
    """How a message names an inbound credential: `tokens.acme`, `bearer_tokens[1]` (never its value)."""
    return f"bearer_tokens[{path[3]}]" if path[2] == "bearer_tokens" else f"tokens.{path[3]}"


def shared_inbound_tokens(manifest: Manifest, index: PositionIndex, unset: Collection[NodePath] = ()) -> list[Diagnostic]:
    """An error at each inbound credential (`server.auth.bearer_tokens` item, `server.auth.tokens` entry) whose
    resolved value an earlier one already has, naming both entries and never the value.

    The HTTP transport maps a presented token to one principal (`server.http`): two entries with one value
    make every caller presenting it the later entry's principal — its policy, rate-limit buckets, audit
    attribution and sessions — and the other's intended caller has no working token (a tenant-gateway trial:
    `globex: "${ACME_TOKEN}"`, a copy-paste slip, let acme act as globex). Values are compared by their
    SHA-256 digests, so no value is kept, compared byte by byte in a data-dependent loop, or shown. `unset`: the
    paths whose `${VAR}` was unset where the transport never uses it (`server.auth` over stdio): no value to
    compare, whatever stands there instead; nor is `envvars.REPLAY_PLACEHOLDER` (`validate --offline`, replays)."""
    auth = manifest.server.auth
    if auth is None:
        return []
    paths = [p for p in secret_paths(manifest) if p[:3] in (("server", "auth", "bearer_tokens"),
                                                            ("server", "auth", "tokens"))]
    first: dict[bytes, NodePath] = {}
    found = []
    for path in paths:
        value = _value_at(manifest, path)
        # no token: unset over stdio, or the placeholder `--offline` and replays put for an unset variable
        if path in unset or not value.strip() or value == REPLAY_PLACEHOLDER:
            continue  # an empty one is refused by `empty_secrets`
        digest = hashlib.sha256(value.encode("utf-8")).digest()
        earlier = first.setdefault(digest, path)
        if earlier is path:
            continue
        where = index.locate(path, "key" if path[2] == "tokens" else "value")
        this, other = _inbound_label(path), _inbound_label(earlier)
        remedy = "give each entry its own token"
        if path[2] == "tokens":  # a named token is looked up after the unnamed ones: the later name wins
            why = (f"a call presenting it would be principal '{path[3]}', and the caller of '{earlier[3]}' could "
                   "not authenticate" if earlier[2] == "tokens" else
                   f"a call presenting it would be principal '{path[3]}', never 'bearer'")
            # releases before 0.3.0 served such a manifest (the upgrade trial's `ci-bot`/`ci-legacy` alias crash-looped
            # the first new pod): the other way out keeps what they did — every call presenting the value was the later
            # name. The history is the upgrade note's; the error names no release (one that outlives the next would
            # call an old one the previous: review of upfix, problem 3).
            remedy += (f", or, if every caller presenting it is '{path[3]}', remove server.auth.{other}")
        else:
            why = "the same token listed twice; another caller's token was probably meant"
        found.append(Diagnostic(where.file, where.line, where.col, (
            f"server.auth.{this} has the same value as server.auth.{other}: a token must identify one caller "
            f"({why}); {remedy}")))
    return found


def literal_secrets(manifest: Manifest, env_paths: set[NodePath], index: PositionIndex) -> list[Diagnostic]:
    """Warn about secrets written into the manifest itself: manifests are reviewed and committed. Besides the
    credential settings (`secret_paths`), a `headers:` or `env:` entry written literally that holds a credential
    (`scrubbing.is_literal_credential`: its name says so, `X-Partner-Token`, or its value reads as a token) is
    warned about at its value, never quoting it (found by a gitops trial: a literal token in `headers:` drew
    no warning). `mcprt diff` hides the same values by the same rule."""
    found = []
    for path in secret_paths(manifest):
        if path not in env_paths:
            where = index.locate(path)
            found.append(Diagnostic(where.file, where.line, where.col, "a secret is written literally in the "
                                    "manifest; use ${VAR} (from the environment or .env) instead", "warning"))
    for name, source in manifest.sources.items():
        for field, what in (("headers", "header"), ("env", "environment variable")):
            for key, value in (getattr(source, field, None) or {}).items():
                path = ("sources", name, field, key)
                if path in env_paths or not is_literal_credential(key, value):
                    continue
                where = index.locate(path)
                found.append(Diagnostic(where.file, where.line, where.col, f"{what} `{key}` holds a credential "
                                        "written literally in the manifest; use ${VAR} (from the environment or "
                                        ".env) instead", "warning"))
    return found


def short_secrets(manifest: Manifest, index: PositionIndex, written: Any) -> list[Diagnostic]:
    """Warn at each secret shorter than the scrubber's minimum (`MIN_SECRET_CHARS`): it is sent, but cannot be
    told from ordinary text, so it is never scrubbed from results, errors, logs or recorded cases. The warning
    names the variable it came from (via `written`, the data before substitution), never the value."""
    found = []
    places = [(path, _value_at(manifest, path)) for path in secret_paths(manifest)]
    for name, source in manifest.sources.items():
        for field in ("headers", "env"):
            places += [(("sources", name, field, key), value)
                       for key, value in (getattr(source, field, None) or {}).items() if is_credential_name(key)]
    for path, value in places:
        if 0 < len(value.strip()) < MIN_SECRET_CHARS:
            where = index.locate(path)
            found.append(Diagnostic(
                where.file, where.line, where.col,
                f"this secret{variables_at(written, path)} is shorter than {MIN_SECRET_CHARS} characters: it is sent, "
                "but too short to be told from ordinary text, so it cannot be scrubbed from results, errors, logs "
                "or recorded cases; use a longer one", "warning"))
    return found


# A tool's settings whose text reaches a client as written (substituted at load): (path under the tool, what it is,
# what it goes into). A `fixed` argument's value is sent upstream, and shown only where a description template
# renders it (`_fixed_in_description`).
_SHOWN = ((("output",), "output template", "every result of the tool, which the model reads"),
          (("prune",), "prune", "every result of the tool (a literal of the expression), which the model reads"),
          (("description",), "description template", "the tool's description, which every client lists"),
          (("title",), "title", "the tool's title, which every client lists"))
_SHOWN_PER_ARGUMENT = ((("description",), "argument description", "the tool's input schema, which every client lists"),
                       (("default",), "argument default", "the tool's input schema, which every client lists"))
# A proxied resource's or prompt's override (`ItemOverride`), under `sources.<name>.resources|prompts.<key>`.
_SHOWN_PER_ITEM = ((("title",), "title", "the {kind} listing every client is sent"),
                   (("description",), "description", "the {kind} listing every client is sent"))
_INSTRUCTIONS = (("server", "instructions"), "server instructions", "the instructions every client is sent at initialize")


def secret_variables(manifest: Manifest, written: Any) -> dict[str, str]:
    """The variables that hold a secret, each with where it is one: those a credential setting reads
    (`secret_paths`, `sources.github.auth.bearer`), and those of a `headers:` or `env:` entry that holds a
    credential (by `configured_secrets`' rule: its name, its variable's name, or its value reading as a token).
    `written`: the data before substitution."""
    found: dict[str, str] = {}
    for path in secret_paths(manifest):
        for name in variable_names_at(written, path):
            found.setdefault(name, ".".join(map(str, path)))
    for source_name, source in manifest.sources.items():
        for field in ("headers", "env"):
            for key, value in (getattr(source, field, None) or {}).items():
                path = ("sources", source_name, field, key)
                names = variable_names_at(written, path)
                if any(map(is_credential_name, [key, *names])) or is_literal_credential(key, value):
                    for name in names:
                        found.setdefault(name, ".".join(map(str, path)))
    return found


def _shown_places(manifest: Manifest) -> list[tuple[NodePath, str, str]]:
    """Every setting whose text, as substituted, a client is shown: (path, what it is, what it goes into)."""
    places: list[tuple[NodePath, str, str]] = [_INSTRUCTIONS]
    for source_name, source in manifest.sources.items():
        for key, override in (getattr(source, "tools", None) or {}).items():
            tool: NodePath = ("sources", source_name, "tools", key)
            places += [((*tool, *at), what, into) for at, what, into in _SHOWN]
            places += [((*tool, "args", argument, *at), what, into)
                       for argument in (getattr(override, "args", None) or {}) for at, what, into in _SHOWN_PER_ARGUMENT]
        for kind in ("resources", "prompts"):
            items = getattr(source, kind, None)
            for key in items if isinstance(items, dict) else ():
                places += [(("sources", source_name, kind, key, *at), f"{kind[:-1]} {what}", into.format(kind=kind))
                           for at, what, into in _SHOWN_PER_ITEM]
    return places


def templated_secrets(manifest: Manifest, index: PositionIndex, written: Any,
                      environment: Callable[[NodePath], Mapping[str, str]] | None = None) -> list[Diagnostic]:
    """A diagnostic at each `${VAR}` holding a secret in a setting a client is shown (`_shown_places`: the server's
    instructions; a tool's `output` and `description` templates, its `prune`'s literals, its title, an argument's
    description or default; a proxied resource's or prompt's title and description), at the reference's own line
    and column: substituted when the manifest loads, it would be rendered into what the model reads. Also at a
    description template's use of a `fixed` argument whose value holds one (the template's context has it).

    An error for a variable a credential setting reads (`secret_variables`): that sends a credential to every
    client (README: secrets never appear in results), and it cannot work either way — mcprt redacts every
    configured secret from results, descriptions and instructions. A warning, as a literal secret is, for a
    variable only its name calls a credential (`is_credential_name`: `${GITHUB_TOKEN}`) whose value reads as a
    token (`looks_like_token`): that name test is the header-redaction heuristic and is broad (`MAX_TOKENS`,
    `TOKEN_URL`, `SESSION_TTL`; review of shapeleft, problem 2: those failed validate), and such a value is not
    registered as a secret, so it would be shown as it is. `environment(path)`: the variables the setting at
    `path` is substituted from (None: no values known, so no name-only warnings). `written`: the data before
    substitution."""
    secrets = secret_variables(manifest, written)
    found = []

    def judged(name: str, path: NodePath) -> tuple[str, str] | None:
        """(severity, why) for a reference to `name` in the setting at `path`, or None when it holds no secret."""
        where = secrets.get(name)
        if where is not None:
            return "error", f"it gives {where}; mcprt would send it as [redacted]"
        if not is_credential_name(name) or environment is None:
            return None
        value = environment(path).get(name)
        if value is None or not looks_like_token(value):
            return None
        return "warning", "its name says it holds a credential, and its value reads as one; it is not one of the " \
            "manifest's credentials, so it would be shown as it is"

    for path, what, into in _shown_places(manifest):
        text = written_text_at(written, path)
        for name, offset in references_in(text) if text is not None else ():
            verdict = judged(name, path)
            if verdict is not None:
                severity, why = verdict
                found.append(at_offset(index, path, text, offset, (  # type: ignore[arg-type]
                    f"{what}: ${{{name}}} is a secret ({why}); substituted here, it would be rendered into {into}. "
                    "Leave it out: a client must not be shown a credential"), severity))
    found += _fixed_in_description(manifest, index, written, judged)
    return found


def _fixed_in_description(manifest: Manifest, index: PositionIndex, written: Any,
                          judged: Callable[[str, NodePath], tuple[str, str] | None]) -> list[Diagnostic]:
    """A diagnostic at a description template's use of a `fixed` argument whose value, as written, references a
    secret (review of shapeleft, problem 3: `{{ key }}` with `key: {fixed: "${SHOP_KEY}"}` passed validate)."""
    found = []
    for source_name, source in manifest.sources.items():
        for key, override in (getattr(source, "tools", None) or {}).items():
            tool: NodePath = ("sources", source_name, "tools", key)
            template = written_text_at(written, (*tool, "description"))
            if template is None:
                continue
            for argument in getattr(override, "args", None) or {}:
                fixed = (*tool, "args", argument, "fixed")
                verdicts = [(name, judged(name, fixed)) for name in variable_names_at(written, fixed)]
                secret = next(((name, v) for name, v in verdicts if v is not None), None)
                if secret is None:
                    continue
                from ..expressions.templates import variable_offset  # Jinja2: only for such a manifest
                offset = variable_offset(template, argument)
                if offset is None:
                    continue
                (name, (severity, why)) = secret
                found.append(at_offset(index, (*tool, "description"), template, offset, (
                    f"description template: `{argument}` is a fixed argument holding the secret ${{{name}}} ({why}); "
                    "rendered here, it would be put into the tool's description, which every client lists. Leave it "
                    "out: a client must not be shown a credential"), severity))
    return found


def register_secrets(manifest: Manifest, written: Any) -> None:
    """Hand every configured secret to the process-wide scrubber (`written`: `configured_secrets`)."""
    SECRETS.add(*configured_secrets(manifest, written))
