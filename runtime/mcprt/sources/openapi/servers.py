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

from ...errors import SpecError
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
