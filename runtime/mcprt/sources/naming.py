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
    one, none at either end, at most 64 characters (`größe` → `gr_e`). A name with letters no ASCII spelling
    keeps (`unspellable`: `名前`, `住所_id`) also gets a short hash of itself (NFC), `arg` standing for an empty
    rest (`名前` → `arg_<7 hex>`, `住所_id` → `id_<7 hex>`): the two parameters of `def 登録(名前, 住所)` stay two
    arguments, and the name never depends on the other parameters. Not transliterated, as tool names are not
    (module docstring). The one rule for OpenAPI parameters and properties (`openapi/inputs.py`), Python
    parameters (`python/signature.py`) and proxied tools' arguments (`mcp/convert.py`)."""
    name = _UNDERSCORES.sub("_", _UNSAFE_ARGUMENT.sub("_", raw).strip("_"))
    if unspellable(raw):
        return with_hash(name or "arg", raw, 64)
    return name[:64] or "arg"


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


def _spellable(ch: str) -> bool:
    """Whether the letter or digit `ch` has an ASCII spelling (`transliterate`): ASCII, or Latin with marks."""
    if ch.isascii() or ch in _LATIN_SPELLED:
        return True
    base = unicodedata.normalize("NFKD", ch)
    return base[:1].isascii() or ch.casefold().isascii()


_LATIN_SPELLED = frozenset("æÆœŒøØłŁđĐðÐþÞıẞ")


def unspellable(raw: str) -> bool:
    """Whether `raw` has a letter or digit with no ASCII spelling (`名前`, `取得_v1`, `ユーザー_list`; not `größe`):
    making it safe drops that letter, so names alike but for such letters would be made alike."""
    return any(ch.isalnum() and not _spellable(ch) for ch in raw)


def with_hash(head: str, raw: str, limit: int = MAX_TOOL_NAME) -> str:
    """`head` fitted to `limit` with `_` and 7 hex of the SHA-1 of `raw` (NFC: a decomposed spelling gives the same
    name) appended: `v1` for `取得_v1` → `v1_<7 hex>`. Distinct `raw` give distinct names."""
    digest = hashlib.sha1(unicodedata.normalize("NFC", raw).encode("utf-8")).hexdigest()[:7]
    return f"{fit_tool_name(head, limit - len(digest) - 1)}_{digest}"


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
    return with_hash(sanitize_tool_name(" ".join(context)), raw)


def served_tool_name(raw: str, *context: str) -> str:
    """The default name a tool named `raw` by its source is served under: `raw` made safe (`sanitize_tool_name`)
    and fitted; when `raw` is `mostly_unspellable`, `derived_tool_name(raw, *context)`; else when it is
    `unspellable` (`取得_v1`), its safe part with a hash of `raw` (`v1_<7 hex>`), so `取得_v1` and `削除_v1` are
    never `v1` and `v1_2` numbered in document order, where an operation added first moved `v1` to it."""
    if mostly_unspellable(raw):
        return derived_tool_name(raw, *context)
    if unspellable(raw):
        return with_hash(sanitize_tool_name(raw), raw)
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
