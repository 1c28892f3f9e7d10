"""Where a `$ref` may lead: the documents an API description may pull in.

An API description is data, often someone else's (a vendor's URL, a pull request's file); what its `$ref`s
load ends up in tool descriptions and schemas a client reads. So:
- a `$ref` in a document fetched from a URL may only name documents on that same origin (scheme, host,
  port): a split description published together keeps working, while `file:///home/…/.kube/config` or
  another host (an internal service, `http://169.254.169.254/…`) is refused;
- a `$ref` in a local document may name files inside the manifest's folder tree, the folder tree of
  the description the manifest (or `mcprt init`) names (the author chose it: `openapi: ../api/openapi.yaml`
  may pull in `../api/params.yaml`), or a folder of `MCPRT_INCLUDE_PATHS` (the confinement of `include:`,
  `manifest.limits.include_allowed`), symlinks resolved first; and documents at http(s) URLs, fetched
  under the fetcher's address guard (fetch.py);
- nothing else (`ftp:`, `data:`, …).
OpenAPI leaves this to tools (OAI/OpenAPI-Specification#4037 asks for a safe default); peers that
confine `$ref`s do the same: local files to a folder, remote ones to an allowed set (scalar/scalar#10079,
christianhelle/refitter#1173, APIDevTools/swagger-parser#222 for the read they prevent).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcprt.errors import ToolCallError
from mcprt.manifest.limits import include_allowed
from mcprt.outbound.redirects import origin_of, origin_text

_WEB = ("http", "https")


def refused(target: str, referrer: str, roots: Sequence[Path] | None) -> str | None:
    """Why the document at absolute URI `target` may not be loaded for a `$ref` in the document at
    `referrer` (an absolute file:/http(s): URI), or None when it may. `roots`: the manifest's folder
    first, then the folder of the description it names (None: a document held in memory, whose file
    `$ref`s are not confined)."""
    scheme, from_scheme = urlparse(target).scheme.lower(), urlparse(referrer).scheme.lower()
    if from_scheme in _WEB:
        try:
            if scheme in _WEB and origin_of(target) == origin_of(referrer):
                return None
        except ToolCallError:
            return "not a valid URL"
        return ("a document fetched from a URL may only reference documents on its own origin "
                f"({origin_text(origin_of(referrer))})")
    if scheme in _WEB:
        return None
    if scheme != "file":
        return f"only files and http(s) URLs can be referenced, not {scheme or 'this'}: URIs"
    name = unquote(urlparse(target).path)
    if "\x00" in name:  # before any path call: the OS takes no NUL in a file name (Path.resolve raises)
        return "a file name cannot hold a NUL byte (%00)"
    if roots is None:
        return None
    path = Path(name).resolve()
    if include_allowed(path, roots[0], roots[1:]):
        return None
    return (f"{path} is outside the manifest's folder {roots[0].resolve()}"
            + "".join(f" and the description's folder {root.resolve()}" for root in roots[1:] if root != roots[0])
            + " (add its folder to MCPRT_INCLUDE_PATHS)")
