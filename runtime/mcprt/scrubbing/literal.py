"""Which value written into a manifest is a literal credential: one rule for `mcprt validate` (its
warning, `manifest.secrets.literal_secrets`) and for everything `mcprt diff` shows (a value it hides).

A value is one when the name it is written under says so (`is_credential_name`: `X-Partner-Token`,
`GITHUB_TOKEN`, `?access_token=`), or when it reads as a token whatever its name: 16 or more token
characters, letters and digits mixed, after an optional scheme word (`Bearer sk-live-SECRET123456`,
`ghp_abcdef1234567890XYZ`; not `2024-01-01`, `on`, a media type even with digits
(`application/vnd.github.v3+json`), a file path (`/srv/data2024/reports`, `./build/v2`) or a command-line
option (`--max-old-space-size=4096`): settings a child process or upstream is given, which an upstream
echoes back in ordinary results (review of prunedepth, problem 1). A `${VAR}`
reference is never one: it names where the value comes from. One rule, because two drifted: a review of
`mcprt diff` found `X-Custom: "Bearer sk-live-…"` warned about by `validate` (by its value) and printed in
full by `diff` (which hid values by name only).
"""

from __future__ import annotations

import re

from .names import is_credential_name

# One run of token characters (RFC 6750 §2.1 `b64token`, `_` included), after an optional scheme word
_TOKEN = re.compile(r"(?:[A-Za-z]+ )?([A-Za-z0-9._~+/=-]{16,})")
# A media type (RFC 6838 §4.2: a registered top-level type, `/`, a restricted name), which may hold digits
# (`application/vnd.github.v3+json`): a header value, never a token
_MEDIA_TYPE = re.compile(r"(?:application|audio|example|font|haptics|image|message|model|multipart|text|video)"
                         r"/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}", re.IGNORECASE)
# A file path, absolute or relative (`/srv/data2024/reports`, `~/cache`, `../v2/out`): segments of word
# characters, dots and hyphens only, so a base64 token (its `+`, `=`) is not read as one
_PATH = re.compile(r"(?:~|\.{1,2})?(?:/[\w.-]+)+/?")
# A long command-line option (`--max-old-space-size=4096`, GNU getopt_long's `--name=value`)
_OPTION = re.compile(r"--[A-Za-z][\w-]*(?:=\S*)?")


def looks_like_token(value: str) -> bool:
    """Whether `value` reads as a credential by itself (module docstring: the rule)."""
    stripped = value.strip()
    match = _TOKEN.fullmatch(stripped)
    if match is None or any(rule.fullmatch(stripped) for rule in (_MEDIA_TYPE, _PATH, _OPTION)):
        return False
    token = match.group(1)
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def is_literal_credential(name: str, value: str) -> bool:
    """Whether `value`, written under `name` (a header, variable, argument or query parameter name; "" when
    it has none), is a credential written literally: a name that says so, or a value that reads as a token.
    Where the value holds `${VAR}` references, the caller decides whether text of its own remains."""
    if not value.strip():
        return False
    return (bool(name) and is_credential_name(name)) or looks_like_token(value)
