"""The reversible URI prefix that keeps resources of several sources apart.

A source's `prefix` becomes a URI scheme prefix joined with `+` (RFC 3986 §3.1 allows `+` in a
scheme): prefix `fs_` turns `file:///a.txt` into `fs+file:///a.txt` and back. Characters a scheme
cannot hold (`_`) become `-`; trailing separators are dropped. URI templates get the same prefix.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from .. import path_segments


SCHEME_RULE = ("a scheme keeps letters, digits, `+`, `.` and `-`: every other character becomes `-`, `-`, `.` and `+` "
               "are stripped from both ends, and one not starting with a letter gets an `x` in front")


def scheme_prefix(prefix: str | None) -> str:
    """`fs_` → `fs` (empty when the source has no prefix): the rule is SCHEME_RULE (RFC 3986 §3.1's scheme
    characters, starting with a letter)."""
    if not prefix:
        return ""
    cleaned = re.sub(r"[^A-Za-z0-9+.-]", "-", prefix).strip("-.+")
    if cleaned and not cleaned[0].isalpha():
        cleaned = "x" + cleaned
    return cleaned


def add_prefix(uri: str, scheme: str) -> str:
    return f"{scheme}+{uri}" if scheme else uri


def strip_prefix(uri: str, scheme: str) -> str | None:
    """The upstream URI, or None when `uri` does not carry this prefix."""
    if not scheme:
        return uri
    head = f"{scheme}+"
    return uri[len(head):] if uri.startswith(head) else None


@lru_cache(maxsize=1024)  # a turned-off template is matched on every read of an unlisted URI
def template_pattern(uri_template: str) -> re.Pattern[str]:
    """A regex matching the URIs an RFC 6570 template expands to (simple `{var}` and `{+var}` forms)."""
    parts: list[str] = []
    position = 0
    for match in re.finditer(r"\{([^}]*)\}", uri_template):
        parts.append(re.escape(uri_template[position:match.start()]))
        expression = match.group(1)
        if expression.startswith(("+", "#")):
            parts.append(".+")
        elif expression.startswith(("?", "&")):
            parts.append(r"(?:[?&].*)?")
        elif expression.startswith("/"):  # `{/var}` one segment after its `/`; `{/var*}` several
            parts.append(r"/[^?#]+" if expression.endswith("*") else r"/[^/?#]+")
        else:
            parts.append("[^/?#]+")
        position = match.end()
    parts.append(re.escape(uri_template[position:]))
    return re.compile("".join(parts) + r"\Z")


class UnsafeTemplateValue(ValueError):
    """A URI matches a template, but a variable's value would step out of its place
    (`mcprt.path_segments`); the message names the variable and the rule, never the value."""


# An RFC 6570 expression: an optional operator, then one variable name (a `*` explode or `:N` prefix allowed)
_EXPRESSION = re.compile(r"\{([+#./;?&]?)([A-Za-z0-9_.%]+)(\*|:[0-9]+)?\}")


# Where a lenient match stops reading: a query or fragment expression, or a literal `?`/`#` of the template
_QUERY_OR_FRAGMENT = re.compile(r"\{[?&#]|(?<!\{)[?#]")


def template_values(uri_template: str, uri: str, *, lenient: bool = False) -> dict[str, str] | None:
    """The variable values of `uri` under `uri_template`, percent-decoded once, or None if it does not match.

    The inverse of RFC 6570 expansion, for the forms a resource template uses: `{var}` (simple, §3.2.2: one
    segment, no `/`), `{+var}` and `{#var}` (reserved, §3.2.3: may hold `/`), `{/var}` `{.var}` `{;var}`
    (one segment after their prefix), `{/var*}` (segments, each one checked as a segment; the value is
    `a/b/c`), `{?var}` `{&var}` (query: matched, not read). Raises
    UnsafeTemplateValue when a value breaks the rule of its form (`mcprt.path_segments`): a segment holds no
    `/` or `\\` and is not `.`/`..`, a reserved value is a relative path with no `.`/`..` segment, neither holds
    NUL — in any form a reader may decode it to (`%2F`, `%252F`, `%2E%2E`, `／`), since the value is decoded
    before it is handed on (found by a pentest trial: `docs://..%2F..%2Fetc%2Fpasswd` read /etc/passwd
    through a `docs://{path}` function joining the value to its folder).

    `lenient`: as a server with its own (looser) matcher may read `uri` (review of hostfix: a proxied
    `notes://{name}` passed `notes://..%2F..%2Fetc%2Fpasswd?x` and `notes://a/../../etc/passwd` on, since
    they did not fully match mcprt's pattern, while FastMCP 1.x reads `{name}` as `[^/]+`): the URI's and
    the template's query and fragment are left out, each variable matches up to them (a raw `/` included),
    and a one-segment value holding raw `/` is checked one piece at a time as `{/var*}` is."""
    if lenient:
        uri = re.split(r"[?#]", uri, maxsplit=1)[0]
        cut = _QUERY_OR_FRAGMENT.search(uri_template)
        uri_template = uri_template if cut is None else uri_template[:cut.start()]
    names: list[tuple[str, str]] = []  # (name, operator; `/*` for an exploded path-segment list)
    parts: list[str] = []
    position = 0
    for match in _EXPRESSION.finditer(uri_template):
        operator, name = match.group(1), match.group(2)
        if operator == "/" and match.group(3) == "*":  # `{/var*}` (§3.2.6 exploded): `/a/b/c`, one segment each
            operator = "/*"
        parts.append(re.escape(uri_template[position:match.start()]))
        if operator in ("?", "&"):
            parts.append(r"(?:[?&].*)?")
        else:
            prefix = re.escape(operator[0]) if operator[:1] in ("/", ".", ";", "#") else ""
            body = r"[^?#]+" if lenient or operator in ("+", "#", "/*") else r"[^/?#]+"
            parts.append(f"{prefix}({body})")
            names.append((name, operator))
        position = match.end()
    parts.append(re.escape(uri_template[position:]))
    found = re.fullmatch("".join(parts), uri)
    if found is None:
        return None
    values: dict[str, str] = {}
    for (name, operator), value in zip(names, found.groups(), strict=True):
        if operator == ";":
            value = value.partition("=")[2] if value.startswith(f"{name}=") else value
        decoded = unquote(value)
        if operator == "/*" or (lenient and operator not in ("+", "#")):  # each segment on its own, as sent (a `%2F` inside one is no separator of the list)
            problem = next(filter(None, map(path_segments.segment_problem, map(unquote, value.split("/")))), None)
        else:
            problem = (path_segments.path_problem if operator in ("+", "#") else path_segments.segment_problem)(decoded)
        if problem is not None:
            raise UnsafeTemplateValue(f"the value of `{name}` in the URI template {uri_template} {problem}")
        values[name] = decoded
    return values


def unlisted_uri_problem(uri: str) -> str | None:
    """Why a URI that matches no listed template must not be passed on (None: it may): its authority or a
    segment of its path breaks the segment rule (`path_segments.segment_problem`: `..`, `%2F`, `%5C`, NUL, in
    any form a reader may decode it to). Empty segments (`file:///a`, `a//b`) are no step anywhere."""
    parts = urlsplit(uri)
    for segment in [parts.netloc, *parts.path.split("/")]:
        problem = path_segments.segment_problem(segment) if segment else None
        if problem is not None:
            return f"a segment of its path {problem}"
    return None
