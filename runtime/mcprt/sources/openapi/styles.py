"""Parameter serialization: OpenAPI `style`/`explode` for path, query, header and cookie values.

Every value is percent-encoded here, including path values with nothing reserved left unencoded:
`a/b` or `http://x` stay inside their one path segment, so no argument can change the host or add
path segments; values that would make a `.` or `..` segment are refused by the plan (plan.py).

deepObject: nested objects as `name[a][b]=v`, arrays as indexed `name[a][0]=v` (what qs, PHP and
Stripe-style APIs read).

No argument may add a query parameter or change another's value, whatever its style: `allowReserved`
leaves unencoded only the RFC 3986 reserved characters that delimit nothing in a query (OpenAPI 3.1.1
§4.8.12.4 Parameter Object: "characters with a special meaning in the query" — `&`, `=`, `+`, `#`, and
`;`, which some parsers still split on — are percent-encoded), and inside a delimited value (form's `,`)
the delimiter of its items is encoded too, so an item cannot become two (trial of untidy REST APIs, fault 2:
`raw: "x&enc=tenant-666"` was sent as two parameters, ahead of a `fixed` `enc`, and `"C++ & more"` was
read as `C   `). A label-style value's `.` is encoded (`%2E`): it separates a label's items. Object keys that
become parameter names (form, exploded) are refused where they name another parameter (`plan.py`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from mcprt.errors import ToolCallError

# RFC 3986 reserved characters a query value may carry as they are: `:/?@[]!$'()*,` (not `&`, `=`, `+`, `#`, `;`)
_RESERVED_SAFE = ":/?[]@!$'()*,"
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
# A cookie's name: an RFC 6265 §4.1.1 token (RFC 9110 tchar), never `=`, which would end the name there
_COOKIE_NAME_SAFE = "!#$&'*+-.^_`|~"
_DELIMITERS = {"spaceDelimited": "%20", "pipeDelimited": "|"}


def atom(value: Any) -> str:
    """One scalar as text: JSON spelling for booleans/null/numbers, JSON for nested structures."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def enc(value: Any, allow_reserved: bool = False, delimiter: str = "") -> str:
    """`value` percent-encoded for a URL; `allow_reserved`: the reserved characters that delimit nothing in a
    query kept (`_RESERVED_SAFE`), but never `delimiter`, which separates the items this value is one of."""
    return quote(atom(value), safe=_RESERVED_SAFE.replace(delimiter, "") if allow_reserved else "")


def _pairs(value: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items() if v is not None]


# --- path --------------------------------------------------------------------------------------------


def path_value(name: str, value: Any, style: str, explode: bool, delimiter: str | None = None) -> str:
    """An encoded path piece for `simple`, `label` or `matrix` style. An empty array or object is
    undefined (RFC 6570 §2.3): nothing, not a lone `.` or `;name` (a lone `.` is a dot segment).
    `delimiter`: a Swagger 2.0 `collectionFormat` (ssv, tsv, pipes) between a simple array's items, encoded."""
    if (isinstance(value, list) and not value) or (isinstance(value, dict) and not _pairs(value)):
        return ""
    if style == "label":  # `.` separates a label's items: a value's own is encoded (`quote` keeps it)
        sep = "." if explode else ","
        return "." + _label_joined(value, sep, explode)
    if style == "matrix":
        n = enc(name)
        if isinstance(value, list):
            if explode:
                return "".join(f";{n}={enc(v)}" for v in value)
            return f";{n}=" + ",".join(enc(v) for v in value)
        if isinstance(value, dict):
            if explode:
                return "".join(f";{enc(k)}={enc(v)}" for k, v in _pairs(value))
            return f";{n}=" + ",".join(f"{enc(k)},{enc(v)}" for k, v in _pairs(value))
        text = enc(value)
        return f";{n}={text}" if text else f";{n}"
    if delimiter is not None and isinstance(value, list):
        return quote(delimiter, safe="").join(enc(v) for v in value)
    return _joined(value, ",", explode, kv_sep="=" if explode else ",")


def _label_joined(value: Any, sep: str, explode: bool) -> str:
    def e(v: Any) -> str:
        return enc(v).replace(".", "%2E")

    kv_sep = "=" if explode else ","
    if isinstance(value, list):
        return sep.join(e(v) for v in value)
    if isinstance(value, dict):
        return sep.join(f"{e(k)}{kv_sep}{e(v)}" for k, v in _pairs(value))
    return e(value)


def _joined(value: Any, sep: str, explode: bool, kv_sep: str) -> str:
    if isinstance(value, list):
        return sep.join(enc(v) for v in value)
    if isinstance(value, dict):
        return sep.join(f"{enc(k)}{kv_sep}{enc(v)}" for k, v in _pairs(value))
    return enc(value)


# --- query -------------------------------------------------------------------------------------------


def query_pieces(
    name: str, value: Any, style: str, explode: bool, allow_reserved: bool = False, delimiter: str | None = None
) -> list[str]:
    """Encoded `k=v` pieces of a query parameter (joined with `&` by the caller)."""
    n = enc(name)

    def e(v: Any) -> str:
        return enc(v, allow_reserved)

    if style == "deepObject":
        return deep_object(name, value, allow_reserved)
    if isinstance(value, list):
        if explode and delimiter is None:
            return [f"{n}={e(v)}" for v in value]
        sep = quote(delimiter, safe="") if delimiter is not None else _DELIMITERS.get(style, ",")
        return [f"{n}=" + sep.join(enc(v, allow_reserved, sep) for v in value)]
    if isinstance(value, dict):
        if explode and style == "form":
            return [f"{enc(k)}={e(v)}" for k, v in _pairs(value)]
        sep = _DELIMITERS.get(style, ",")
        return [f"{n}=" + sep.join(f"{enc(k, allow_reserved, sep)}{sep}{enc(v, allow_reserved, sep)}"
                                   for k, v in _pairs(value))]
    return [f"{n}={e(value)}"]


def array_delimiter(style: str, explode: bool, delimiter: str | None = None) -> str | None:
    """The character between an array's items in one decoded query value (`query_pieces` joins with
    it; `answer_headers` splits a next link's value by it), or None when each item is its own `k=v`."""
    if explode and delimiter is None:
        return None
    return delimiter if delimiter is not None else _DELIMITERS.get(style, ",").replace("%20", " ")


def deep_object(name: str, value: Any, allow_reserved: bool = False) -> list[str]:
    """`name[key]=value` pieces, nesting objects and indexing arrays."""
    pieces: list[str] = []

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, sub in _pairs(v):
                walk(f"{prefix}[{enc(k)}]", sub)
        elif isinstance(v, list):
            for i, sub in enumerate(v):
                walk(f"{prefix}[{i}]", sub)
        elif v is not None:
            pieces.append(f"{prefix}={enc(v, allow_reserved)}")

    walk(enc(name), value)
    return pieces


# --- header and cookie -----------------------------------------------------------------------------


def header_value(arg: str, value: Any, explode: bool, delimiter: str | None = None) -> str:
    """A header value in `simple` style; control characters are refused (no header injection). `delimiter`:
    a Swagger 2.0 `collectionFormat` (ssv ` `, tsv tab, pipes `|`) between an array's items instead of `,`."""
    if isinstance(value, list):
        text = (delimiter if delimiter is not None else ",").join(atom(v) for v in value)
    elif isinstance(value, dict):
        kv = "=" if explode else ","
        text = ",".join(f"{k}{kv}{atom(v)}" for k, v in _pairs(value))
    else:
        text = atom(value)
    if any(c in text for c in "\r\n\0"):
        raise ToolCallError(f"Argument `{arg}` must not contain line breaks (it is sent as an HTTP header).")
    bad = next((c for c in text if not (" " <= c <= "~" or c == "\t")), None)
    if bad is not None:  # RFC 9110 §5.5: visible ASCII, space and tab (obs-text is not sent)
        raise ToolCallError(f"Argument `{arg}` is sent as an HTTP header, which carries only ASCII text: "
                            f"{bad!r} (U+{ord(bad):04X}) cannot be sent; transliterate or remove it.")
    return text


def cookie_pairs(name: str, value: Any, explode: bool) -> list[tuple[str, str]]:
    """(name, value) cookies in `form` style, values percent-encoded where cookies forbid them."""

    def c(v: Any) -> str:
        return quote(atom(v), safe=_COOKIE_SAFE)

    if isinstance(value, list):
        if explode:
            return [(name, c(v)) for v in value]
        return [(name, ",".join(c(v) for v in value))]
    if isinstance(value, dict):
        if explode:
            return [(quote(k, safe=_COOKIE_NAME_SAFE), c(v)) for k, v in _pairs(value)]
        return [(name, ",".join(f"{c(k)},{c(v)}" for k, v in _pairs(value)))]
    return [(name, c(value))]
