"""What `mcprt init` writes about credentials: an `auth` line per security scheme, and the parameters
that carry a credential though the document declares them as ordinary parameters.

- **Schemes** (OpenAPI Security Scheme Object, OAS 3.1 §4.8.27): HTTP `bearer` → `auth: {bearer: …}`;
  HTTP `basic` → `basic`; `apiKey` → `api_key` with its `in` and `name` (an `Authorization` header
  key is a bearer token: Kubernetes' `BearerToken`); OAuth2 with a `clientCredentials` flow →
  `oauth2` with its `tokenUrl` and the `scopes` the operations' requirements ask for; other OAuth2 flows and OpenID Connect need a person to sign in, so
  the hint is a `bearer` token obtained that way; mutual TLS gets none; a request-signing scheme (AWS
  Signature Version 4) gets a line saying mcprt does not support it, never a wrong `auth` hint. Values are `${VAR}`s: secrets come from the
  environment. Equal hints are written once; all are comments, the author keeps one.
- **Requirements naming several schemes** (OAS 3.1 §4.8.30, all needed at once) → one `auth: [{…}, {…}]`
  list of those entries (`requirement_hints`), first among the hints: it is what such operations need.
- **Credential parameters**: a query, header or cookie parameter named like a credential
  (`access_token`, `api_key`, …) or described as one ("Authentication token", "API key") would be
  an argument the model must fill with a secret (Slack declares `token` on every method). `init`
  lists them under `credential_parameters`, which keeps them from the model; `auth` sends the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..manifest.model import Placement
from .signals import norm

if TYPE_CHECKING:
    from ..sources.openapi.compiler import CompiledOperation
    from ..sources.openapi.security import SecurityScheme

# Names that say "credential" on their own; a bare `token` must be described as one (GitHub's package
# `restore` takes a `token` query parameter described as "package token": an argument, not the API's key).
_NAMES = frozenset({"accesstoken", "authtoken", "apitoken", "apikey", "xapikey", "bearertoken"})
_SAID = re.compile(r"\b(?:authentication|authorization|auth|access|api|bearer)[ -](?:token|key)\b", re.IGNORECASE)


def auth_hints(schemes: dict[str, SecurityScheme],
               scopes: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, list[str]]]:
    """One `auth: {…}` flow-style mapping per distinct way to send the schemes' credentials, in order,
    each with the descriptions of the schemes it serves (`SecurityScheme.describe`). `scopes`: what the
    operations' security requirements ask of each scheme (`CompiledOpenAPI.scopes`); an oauth2 hint
    requests them, since a token without them is refused."""
    hints: dict[str, list[str]] = {}
    for scheme in schemes.values():
        if scheme.signing:  # no `auth` form signs a request: a bearer hint would be wrong (`unsupported`)
            continue
        if scheme.type in ("apiKey", "http", "oauth2", "openIdConnect"):  # mutual TLS has no `auth` form
            hints.setdefault(_auth_for(scheme, (scopes or {}).get(scheme.name, ())), []).append(scheme.describe())
    return list(hints.items())


def requirement_hints(schemes: dict[str, SecurityScheme], requirements: Iterable[tuple[str, ...]],
                      scopes: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, list[str]]]:
    """One `auth: [{…}, {…}]` flow-style list per distinct security requirement naming several schemes (OpenAPI
    3.1 §4.8.30: all of them at once, Datadog's `DD-API-KEY` + `DD-APPLICATION-KEY`), each with the descriptions of
    its schemes. Each entry's `${VAR}` is named after its scheme's key (`${DD_API_KEY}`; `_variables`), so two
    keys do not read one variable. Left out: a requirement naming a scheme no `auth` entry can send (mutual TLS, request
    signing, an undefined name), or two that would set the same header or parameter (HTTP basic and a bearer
    token both in `Authorization`): no manifest sends it."""
    hints: dict[str, list[str]] = {}
    for names in requirements:
        chosen = [schemes.get(n) for n in dict.fromkeys(names)]
        if len(chosen) < 2 or any(s is None or s.signing or s.type not in ("apiKey", "http", "oauth2", "openIdConnect")
                                  for s in chosen):
            continue
        sending = [s for s in chosen if s is not None]
        places = [_placement(s).key for s in sending]
        if len(set(places)) < len(places):
            continue
        entries = [_auth_for(s, (scopes or {}).get(s.name, ()), variable=v)
                   for s, v in zip(sending, _variables(sending), strict=True)]
        hint = "auth: [" + ", ".join(e.removeprefix("auth: ") for e in entries) + "]"
        hints.setdefault(hint, [" + ".join(s.describe() for s in chosen if s is not None) + ", all at once"])
    return list(hints.items())


def _is_api_key(scheme: SecurityScheme) -> bool:
    """Whether `_auth_for` writes an `api_key` entry for `scheme` (an `Authorization` header key is a bearer token)."""
    return scheme.type == "apiKey" and bool(scheme.param_name) and not (
        scheme.location == "header" and (scheme.param_name or "").lower() == "authorization")


def _placement(scheme: SecurityScheme) -> Placement:
    """Where the entry `_auth_for` writes for `scheme` puts its value (`OutboundAuth.credential`'s terms)."""
    if _is_api_key(scheme):
        return Placement(scheme.location or "header", scheme.param_name or "")
    return Placement("header", "Authorization")


def _variable(scheme: SecurityScheme, fallback: str) -> str:
    """An environment variable name for `scheme`'s key: its parameter's (`DD-API-KEY` → `DD_API_KEY`)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", scheme.param_name or scheme.name).strip("_").upper()
    return name if name and not name[0].isdigit() else fallback


def _variables(schemes: list[SecurityScheme]) -> list[str | None]:
    """Each API key scheme's `${VAR}` (`_variable`), None for the others (their entries name their own), no two
    alike: names that collide get their location (`key` in a header and in the query → `KEY_HEADER`,
    `KEY_QUERY`), then, should they still, their position (`Key` and `key`, both query: `KEY_QUERY_1`, `_2`)."""
    names: list[str | None] = [_variable(s, "API_KEY") if _is_api_key(s) else None for s in schemes]
    for suffix in (lambda i: f"_{(schemes[i].location or 'header').upper()}", lambda i: f"_{i + 1}"):
        counts = {n: names.count(n) for n in names if n is not None}
        names = [n + suffix(i) if n is not None and counts[n] > 1 else n for i, n in enumerate(names)]
    return names


def unsupported(schemes: dict[str, SecurityScheme]) -> list[str]:
    """The descriptions of the schemes mcprt cannot send (request signing: AWS Signature Version 4)."""
    return [scheme.describe() for scheme in schemes.values() if scheme.signing]


def _auth_for(scheme: SecurityScheme, scopes: tuple[str, ...] = (), *, variable: str | None = None) -> str:
    """`variable`: an API key's `${VAR}` (`_variables`: named after its scheme) rather than `API_KEY`."""
    if scheme.type == "http" and scheme.scheme == "basic":
        return 'auth: {basic: {username: "${API_USERNAME}", password: "${API_PASSWORD}"}}'
    if _is_api_key(scheme):
        return (f"auth: {{api_key: {{in: {scheme.location or 'header'}, name: {_flow(scheme.param_name or '')}, "
                f'value: "${{{variable or "API_KEY"}}}"}}}}')
    if scheme.type == "oauth2" and scheme.token_url:
        wanted = f", scopes: [{', '.join(_flow(s) for s in scopes)}]" if scopes else ""
        return (f"auth: {{oauth2: {{token_url: {_flow(scheme.token_url)}, client_id: \"${{CLIENT_ID}}\", "
                f'client_secret: "${{CLIENT_SECRET}}"{wanted}}}}}')
    return 'auth: {bearer: "${API_TOKEN}"}'


def credential_parameters(operations: Iterable[CompiledOperation]) -> list[str]:
    """Names (as written) of query, header and cookie parameters that carry a credential, in first-use order."""
    found: dict[str, None] = {}
    for op in operations:
        properties = op.operation.input_schema.get("properties") or {}
        for param in op.plan.params:
            if param.location not in ("query", "header", "cookie"):
                continue
            described = (properties.get(param.arg) or {}).get("description")
            if norm(param.name) in _NAMES or (isinstance(described, str) and _SAID.search(described)):
                found.setdefault(param.name)
    return list(found)


def _flow(text: str) -> str:
    """A YAML flow scalar: plain where that reads back as the same string, else double-quoted."""
    import json

    from ..manifest.yaml_reader import plain_reads_as_string

    # (`true`, `null`, `123` match the pattern but read back as a bool, null or int)
    plain = re.fullmatch(r"[A-Za-z0-9_./-]+", text) and plain_reads_as_string(text)
    return text if plain else json.dumps(text)
