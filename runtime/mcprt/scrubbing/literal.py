"""Which value written into a manifest is a literal credential: one rule for `mcprt validate` (its
warning, `manifest.secrets.literal_secrets`) and for everything `mcprt diff` shows (a value it hides).

A value is one when the name it is written under says so (`is_credential_name`: `X-Partner-Token`,
`GITHUB_TOKEN`, `?access_token=`), or when it reads as a token whatever its name: 16 or more token
characters, letters and digits mixed, after an optional scheme word (`Bearer sk-live-SECRET123456`,
`ghp_abcdef1234567890XYZ`; not `2024-01-01`, `on`, a media type even with digits
(`application/vnd.github.v3+json`), a file path (`/srv/data2024/reports`, `data2024/reports/q1`) or host
name (`api-v2.eu-west-1.example.com`) none of whose parts reads as random, a version (`v2024.10.01-beta1`,
`1.2.3-rc.1+build.20240101`), a UUID, or a command-line option whose value is none (`--max-old-space-size=4096`):
settings a child process or upstream is given, which an upstream echoes back in ordinary results (review of
prunedepth, problem 1; review of mendrev3, problem 1). A `${VAR}`
reference is never one: it names where the value comes from. One rule, because two drifted: a review of
`mcprt diff` found `X-Custom: "Bearer sk-live-…"` warned about by `validate` (by its value) and printed in
full by `diff` (which hid values by name only).
"""

from __future__ import annotations

import re

from .names import is_credential_name

TOKEN_CHARS = 16  # the shortest run of token characters read as a token (by looks, or under a credential's name)
# One run of token characters (RFC 6750 §2.1 `b64token`, `_` included), after an optional scheme word
_TOKEN = re.compile(r"(?:([A-Za-z]+) )?([A-Za-z0-9._~+/=-]{%d,})" % TOKEN_CHARS)
# Scheme words that say the rest is a credential (RFC 6750 `Bearer`, RFC 7617 `Basic`, GitHub's `token`)
_SCHEMES = frozenset({"bearer", "basic", "token"})
# A media type (RFC 6838 §4.2: a registered top-level type, `/`, a restricted name), which may hold digits
# (`application/vnd.github.v3+json`): a header value, never a token
_MEDIA_TYPE = re.compile(r"(?:application|audio|example|font|haptics|image|message|model|multipart|text|video)"
                         r"/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}", re.IGNORECASE)
# A file path, absolute or relative (`/srv/data2024/reports`, `~/cache`, `../v2/out`, `data2024/reports/q1`,
# `ghcr.io/acme/api-server-v2`): segments of word characters, dots and hyphens only, so a base64 token (its `+`,
# `=`) is not read as one
_PATH = re.compile(r"(?:(?:~|\.{1,2})?/[\w.-]+(?:/[\w.-]+)*|[\w.-]+(?:/[\w.-]+)+)/?")
# A host name (RFC 1123 §2.1 labels) ending in a letters-only top-level label: `s3.eu-west-1.amazonaws.com`
_HOSTNAME = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# A version: SemVer 2.0 (`1.2.3-rc.1+build.20240101`) or a calendar version (`v2024.10.01-beta1`)
_VERSION = re.compile(r"[vV]?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.+-]*)?")
# A UUID (RFC 9562 §4: 8-4-4-4-12 hex digits)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A long command-line option (GNU getopt_long's `--name=value`): its value is judged, not its prefix
_OPTION = re.compile(r"--([A-Za-z][\w-]*)(?:=(.*))?", re.DOTALL)
_PARTS = re.compile(r"[/.]")


def looks_like_token(value: str) -> bool:
    """Whether `value` reads as a credential by itself (module docstring: the rule). A path or host name is one
    when a part of it reads as random (`/9j4AAQSkZJRgABAQ1x2y3z`): its shape alone never clears it (review of
    mendrev3, problem 2); `--name=value` is one when its value is, or its name says so and the value is as long
    as a token (`--api-key=sk9…`)."""
    stripped = value.strip()
    option = _OPTION.fullmatch(stripped)
    if option is not None:
        name, given = option.group(1), (option.group(2) or "").strip()
        return bool(given) and (looks_like_token(given) or (is_credential_name(name) and len(given) >= TOKEN_CHARS))
    match = _TOKEN.fullmatch(stripped)
    if match is None:
        return False
    scheme, token = match.group(1), match.group(2)
    if scheme is not None and scheme.lower() in _SCHEMES:
        return True  # `Bearer …`: the scheme word says what follows is a credential
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    if _MEDIA_TYPE.fullmatch(stripped) or _VERSION.fullmatch(token) or _UUID.fullmatch(token):
        return False
    if _PATH.fullmatch(token) or _HOSTNAME.fullmatch(token):
        return any(_random(part) for part in _PARTS.split(token))
    return True


def _random(part: str) -> bool:
    """Whether one segment of a path or label of a host name reads as random rather than a word: a token's length
    with letters and digits, or letters switching from lower to upper case three times or more
    (`wJalrXUtnFEMI`; a name in camel case switches once or twice)."""
    if len(part) >= TOKEN_CHARS and any(c.isdigit() for c in part) and any(c.isalpha() for c in part):
        return True
    return sum(1 for a, b in zip(part, part[1:]) if a.islower() and b.isupper()) >= 3


def secret_part(value: str) -> str:
    """What of a credential `value` to register with the scrubber: the token after a scheme word (`Bearer x` →
    `x`), an option's value (`--api-key=x` → `x`), else the whole value: the part an upstream echoes alone."""
    stripped = value.strip()
    option = _OPTION.fullmatch(stripped)
    if option is not None and option.group(2):
        return option.group(2).strip()
    scheme, _, rest = stripped.partition(" ")
    return rest.strip() if rest.strip() and scheme.lower() in _SCHEMES else value


def is_literal_credential(name: str, value: str) -> bool:
    """Whether `value`, written under `name` (a header, variable, argument or query parameter name; "" when
    it has none), is a credential written literally: a name that says so, or a value that reads as a token.
    Where the value holds `${VAR}` references, the caller decides whether text of its own remains."""
    if not value.strip():
        return False
    return (bool(name) and is_credential_name(name)) or looks_like_token(value)
