"""Base URLs: the manifest's `base_url`, else the operation's, path's or document's first server.

Server variables take the manifest's `server_variables`, else their `default`. A server URL that
stays relative resolves against the document's URL; a variable with no value, or a relative URL
of a local file, leaves the tool without a base URL (with a warning saying what to set). A resolved
URL holding `user:password@` (written in the description, or filled in by a server variable) is a
SpecError naming the description, never quoting the URL.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlparse, urlsplit

from ...errors import SpecError, did_you_mean
from ...manifest.urls import refuse_userinfo
from .model import ServerSpec

_VAR = re.compile(r"{([^{}]+)}")


def resolve_server(
    server: ServerSpec, overrides: dict[str, str], doc_uri: str, label: str, warnings: list[str]
) -> str | None:
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in overrides:
            return overrides[name]
        spec: Any = server.variables.get(name)
        if isinstance(spec, dict) and spec.get("default") is not None:
            return str(spec["default"])
        missing.append(name)
        return match.group(0)

    url = _VAR.sub(value, server.url.strip())
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        warnings.append(
            f"{label}#{server.pointer}: server URL {server.url!r} needs a value for {names}; "
            "set `server_variables` (or `base_url`) in the manifest"
        )
        return None
    if not urlparse(url).scheme:
        base = server.uri if urlparse(server.uri).scheme in ("http", "https") else doc_uri
        if urlparse(base).scheme not in ("http", "https"):
            warnings.append(
                f"{label}#{server.pointer}: server URL {url!r} is relative to a local file; "
                "set `base_url` in the manifest"
            )
            return None
        url = urljoin(base, url)
    try:  # as the manifest's base_url is checked (manifest/urls.py): a password here would be sent and shown
        refuse_userinfo(urlsplit(url).netloc)
    except ValueError as exc:
        raise SpecError(label, server.pointer, f"server URL: {exc} (or set `base_url` in the manifest)") from None
    return url.rstrip("/")


def pick_base_url(
    candidates: list[ServerSpec] | None,
    overrides: dict[str, str],
    doc_uri: str,
    label: str,
    warnings: list[str],
) -> str | None:
    if not candidates:
        return None
    return resolve_server(candidates[0], overrides, doc_uri, label, warnings)


# What changes a URL's structure where a server variable is put: a query or fragment start (everything after it,
# the operation's path included, leaves the path), a backslash (read as `/` by WHATWG parsers), whitespace and
# control characters (no URL holds them)
_STRUCTURAL = re.compile(r"[?#\\\s\x00-\x1f\x7f]")


def structure_problem(value: str) -> str | None:
    """Why a server variable's value would change the structure of the URL it is put into, or None. Checked as
    `base_url` is (an error at its key, quoting no part of the value: it may come from a secret variable).
    Trial of untidy REST APIs, fault 8: `base: "echo/../../x?y=1#"` passed validate, and every call went to
    `/echo/../../x?y=1` — the operation's path cut off after the `#`."""
    found = _STRUCTURAL.search(value)
    if found is not None:
        char = found.group()
        shown = {"?": "a '?' (it would start the query)", "#": "a '#' (it would start a fragment)",
                 "\\": "a backslash (read as '/')"}.get(char, f"the character U+{ord(char):04X}")
        return (f"holds {shown}: a server variable is part of the server URL, and the operation's path is put after "
                "it, so it would be cut off or moved; set the value without it (or set `base_url`)")
    if any(segment in (".", "..") for segment in value.split("/")):
        return ("holds a '.' or '..' path segment, which servers read as a step up the path; set the value "
                "without it (or set `base_url`)")
    return None


def variable_problems(declaring: list[ServerSpec], used: list[ServerSpec],
                      overrides: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    """The manifest's `server_variables` checked against the description's Server Objects (OpenAPI 3.x
    §4.8.6: a variable with an `enum` takes only those values): (path below the source, message) for a
    name no server in `declaring` (every Server Object of the document: top level, path items,
    operations, selected or not, later entries of a list too) declares — a typo would be ignored in
    silence and the default used — and for a value outside the `enum` of a server in `used` (the servers
    the selected operations build their base URL from: that URL would be one the API does not serve).
    A name declared only by servers no selected operation uses is not an error: the manifest may be
    shared by a narrower `include`, and the value is simply not needed."""
    known = sorted({name for server in declaring for name in server.variables})
    allowed_by_used: dict[str, list[str]] = {}
    for server in used:
        for name, spec in server.variables.items():
            if isinstance(spec, dict) and isinstance(spec.get("enum"), list):
                allowed_by_used[name] = [*allowed_by_used.get(name, []), *(str(v) for v in spec["enum"])]
    problems: list[tuple[tuple[str, ...], str]] = []
    for name, value in overrides.items():
        where = ("server_variables", name)
        structural = structure_problem(value)
        if structural is not None:
            problems.append((where, f"server variable '{name}' {structural}"))
            continue
        if name not in known:
            hint = did_you_mean(name, known) or (
                f" (it has: {', '.join(known)})" if known else " (its servers have no variables)")
            problems.append((where, f"unknown server variable '{name}'{hint}: the description's servers "
                                    "declare no such variable, so it would be ignored"))
            continue
        allowed = allowed_by_used.get(name)
        if allowed is not None and value not in allowed:
            problems.append((where, f"server variable '{name}' is {value!r}, which the description's server does "
                                    f"not allow (allowed: {', '.join(dict.fromkeys(allowed))})"))
    return problems
