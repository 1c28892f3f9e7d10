"""Tool names that every client accepts: `[A-Za-z0-9_-]`, at most 64 characters, stable.

Several popular clients reject names over 64 characters or with dots and slashes (MCP SEP-986 allows
ASCII letters, digits, `_`, `-`, `.`, `/`; model APIs narrow it, e.g. Claude's `^[a-zA-Z0-9_-]{1,128}$`),
and a source prefix makes names longer, so every name passes through here. Shortening keeps a
readable head and appends a short hash of the full name, so it is deterministic and distinct names
stay distinct.

Served names are never transliterated (`größe` is served as `gr_e`, as it always was): a served name is
what clients and manifests call, and spelling `größe` as `grosse` would rename tools and could hand a
name to another operation (`grosse`). `transliterate` is only for the readable `name:` that `mcprt init`
writes into a new manifest (`authoring/names.py`), where it checks every other name first.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

MAX_TOOL_NAME = 64
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Latin letters that neither NFKD nor casefolding spell in ASCII
_LATIN_EXTRA = str.maketrans({"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
                              "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i", "ẞ": "SS"})


# Argument (input schema property) names every model API accepts: Anthropic's and Bedrock's tool lists refuse a
# property key outside this pattern with a 400 for the whole request, so one bad tool breaks every tool.
SAFE_ARGUMENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UNSAFE_ARGUMENT = re.compile(r"[^A-Za-z0-9_.-]+")
_UNDERSCORES = re.compile(r"_{2,}")


@lru_cache(maxsize=4096)  # the same few hundred names recur across a description's operations
def arg_name(raw: str) -> str:
    """An argument name made safe (`SAFE_ARGUMENT`): characters outside `[A-Za-z0-9_.-]` become `_`, runs of `_`
    one, none at either end, at most 64 characters, `arg` when nothing is left (`größe` → `gr_e`, `日本` → `arg`).
    Not transliterated, as tool names are not (module docstring). The one rule for OpenAPI parameters and
    properties (`openapi/inputs.py`) and Python parameters (`python/signature.py`)."""
    name = _UNSAFE_ARGUMENT.sub("_", raw).strip("_")
    return _UNDERSCORES.sub("_", name)[:64] or "arg"


def served_argument(raw: str) -> str:
    """The name an argument whose own name is `raw` is served under: `raw` itself when every model API accepts it
    (`SAFE_ARGUMENT`: `_private` stays), else `arg_name(raw)` (`名前` → `arg`, `größe` → `gr_e`)."""
    return raw if SAFE_ARGUMENT.fullmatch(raw) else arg_name(raw)


def transliterate(raw: str) -> str:
    """`raw` in ASCII: Latin letters spelled without their marks (Unicode NFKD, combining marks dropped:
    `récupérerÉlément` → `recupererElement`; `ß` → `ss` by casefolding; `æ`, `ø`, `ł`… by a table), any other
    letter or digit as `u<hex code point>` between underscores (`日本` → `_u65e5__u672c_`: stable, and distinct
    names stay distinct), anything else as it is (callers replace what they do not accept)."""
    if raw.isascii():
        return raw
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", raw.translate(_LATIN_EXTRA)):
        if ch.isascii():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif ch.casefold().isascii():
            out.append(ch.casefold())
        elif ch.isalnum():
            out.append(f"_u{ord(ch):04x}_")
        else:
            out.append(ch)
    return "".join(out)


def has_latin_letter(raw: str) -> bool:
    """Whether `raw` has a letter `transliterate` spells in ASCII (`日本` has none; `日本_id` has)."""
    return bool(re.search(r"[A-Za-z]", re.sub(r"_u[0-9a-f]{4,6}_", "", transliterate(raw))))


def sanitize_tool_name(raw: str, *, snake: bool = False) -> str:
    """Replace characters clients refuse with `_` (optionally camelCase → snake_case); `tool` when nothing
    is left. Not transliterated: served names stay as they are (module docstring)."""
    text = _CAMEL.sub("_", raw).lower() if snake else raw
    text = _INVALID.sub("_", text).strip("_")
    return re.sub(r"_{2,}", "_", text) or "tool"


def mostly_unspellable(raw: str) -> bool:
    """Whether most of `raw`'s letters and digits are outside ASCII (`ユーザー取得`, `getユーザー`, `取得_v2`): what a
    tool name keeps of it (`sanitize_tool_name`) says little, and such names made alike (`tool`, `get`) would
    be numbered in document order. `größe` (3 of 5 kept) is not."""
    kept = lost = 0
    for ch in raw:
        if ch.isalnum():
            if ch.isascii():
                kept += 1
            else:
                lost += 1
    return lost > kept


def derived_tool_name(raw: str, *context: str) -> str:
    """The tool name of an operation whose own name `raw` (an operationId, a function's or an upstream tool's name) is
    `mostly_unspellable`: the ASCII words of `context` — what identifies the operation: an OpenAPI operation's
    method and path, a Python function's module — and a short hash of `raw` (NFC, so a decomposed spelling gives the
    same name): `作成` on `post /items3` → `post_items3_614f2ea`, `ユーザー取得` on `get /ユーザー/{名前}` →
    `get_92f0c53`, a function `挨拶` of `tools_jp` → `tools_jp_<hash>`, with no context `tool_<hash>`. Stable: never
    the operation's place in the document or module (an operation added before it renames nothing), and distinct
    names give distinct names. MCP 2025-11-25 "Tool names": 1-128 characters of A-Z a-z 0-9 _ - . (this rule keeps
    to `[A-Za-z0-9_-]`, at most `MAX_TOOL_NAME`)."""
    digest = hashlib.sha1(unicodedata.normalize("NFC", raw).encode("utf-8")).hexdigest()[:7]
    head = fit_tool_name(sanitize_tool_name(" ".join(context)), MAX_TOOL_NAME - len(digest) - 1)
    return f"{head}_{digest}"


def served_tool_name(raw: str, *context: str) -> str:
    """The default name a tool named `raw` by its source is served under: `raw` made safe (`sanitize_tool_name`)
    and fitted, or, when `raw` is `mostly_unspellable`, `derived_tool_name(raw, *context)`."""
    if mostly_unspellable(raw):
        return derived_tool_name(raw, *context)
    return fit_tool_name(sanitize_tool_name(raw))


def fit_tool_name(name: str, limit: int = MAX_TOOL_NAME) -> str:
    """Return `name` if short enough, else a deterministic `head_<hash>` of exactly `limit` chars."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:7]
    head = name[: limit - len(digest) - 1].rstrip("_-")
    return f"{head}_{digest}"


def dedupe_names(names: list[str], limit: int = MAX_TOOL_NAME, taken: Iterable[str] = ()) -> list[str]:
    """Make names unique deterministically: later duplicates, and names in `taken`, get `_2`, `_3`… (fitted
    to `limit`)."""
    seen: set[str] = set(taken)
    result: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            suffix = f"_{n}"
            candidate = fit_tool_name(name, limit - len(suffix)) + suffix
        seen.add(candidate)
        result.append(candidate)
    return result
