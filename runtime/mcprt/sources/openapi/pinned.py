"""Where a source's API description comes from when its `openapi:` is a URL: network, cache or pin.

A *pinned copy* is `spec/<source>.json` (or `.yaml`/`.yml`) beside the manifest: the catalog ships
one per URL source, `mcprt test` replays against it, and it keeps a server working without network.

- online (the default): fetch (revalidating the cached copy); when that fails, use the cached copy,
  else the pinned copy; with neither, a SpecError that says how to work offline. With a pinned copy
  the fetch gets `MCPRT_PINNED_FETCH_TIMEOUT` (5 s) to connect and receive the response headers, and for each
  pause in the body; a body that keeps flowing gets `MCPRT_SPEC_FETCH_TIMEOUT` (60 s) in all;
- offline (`--offline`, `MCPRT_OFFLINE=1`): never touch the network — the pinned copy, else the
  cached copy, else a SpecError naming the file to pin.

A fallback is a warning naming the URL that was not fetched, why (the fetch's error, or offline)
and the file used instead (the pinned copy, or the cache file and when it was saved). The pinned
copy read offline is no fallback, so no warning: it is what `--offline` asks for, and a note says
so (which file, saved when), as the served tools come from that file and not the live URL.

`open_description(...)` → (LoadedDocument, warnings, notes, the local files it read: watched for
reload). The warnings and notes are this start's, not the compile's: a compile-cache hit does not
replay them.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcprt.errors import SpecError
from mcprt.settings import env_limit
from mcprt.wording import clause

from .fetch import saved_on
from .loader import LoadedDocument, is_url, load_document

# s the fetch of a URL may take to connect and send its headers, or pause in its body, when a pinned copy is
# there to fall back to (`fetch.fetch`'s `within`; not the whole body: a slow, healthy download of a large
# spec must still refresh the cache): an agent host waits for
# `initialize` while mcprt starts, and a URL that accepts the connection and never answers (a firewall, a
# stripped HTTPS_PROXY) held a trial's start for 31 s with the pinned copy beside the manifest
PINNED_FETCH_TIMEOUT = 5.0  # MCPRT_PINNED_FETCH_TIMEOUT's default


def pinned_fetch_timeout() -> float:
    """Seconds a description URL has to answer (connect, send its response headers) and the longest pause
    in its body while a pinned copy can stand in (`MCPRT_PINNED_FETCH_TIMEOUT`, default 5): an operator
    whose network answers in milliseconds, or whose spec host is known to be slow, sets what waiting costs."""
    return env_limit("MCPRT_PINNED_FETCH_TIMEOUT", PINNED_FETCH_TIMEOUT)
PINNED_SPEC_DIR = "spec"
PINNED_SPEC_SUFFIXES = (".json", ".yaml", ".yml")


def pinned_spec(manifest_dir: Path, source: str) -> Path | None:
    """The local copy of a source's API description (`spec/<source>.*`), if the folder has one."""
    for suffix in PINNED_SPEC_SUFFIXES:
        candidate = manifest_dir / PINNED_SPEC_DIR / f"{source}{suffix}"
        if candidate.is_file():
            return candidate.resolve()
    return None


def pin_suffix(url: str, body: bytes | None = None) -> str | None:
    """The extension `mcprt pin` gives the pinned copy of `url`: the URL path's own (`.json`, `.yaml`,
    `.yml`), else what `body` looks like (`.json` for `{`/`[`, else `.yaml`); None when neither tells
    (no telling suffix and no body yet)."""
    from urllib.parse import urlparse

    suffix = Path(urlparse(url).path).suffix.lower()
    if suffix in PINNED_SPEC_SUFFIXES:
        return suffix
    if body is None:
        return None
    return ".json" if body.lstrip()[:1] in (b"{", b"[") else ".yaml"


def _pin_hint(source: str, url: str) -> str:
    """Which files are read as the pinned copy (any of `PINNED_SPEC_SUFFIXES`, whatever the URL's extension:
    the catalog's DigitalOcean entry pins a `.yaml` URL as `.json`) and the one `mcprt pin` writes. The
    diagnostic carrying it starts with the manifest's `file:line:col`, so "this manifest" names it."""
    looked = f"{PINNED_SPEC_DIR}/{source}" + ", ".join(PINNED_SPEC_SUFFIXES[:-1]) + f" or {PINNED_SPEC_SUFFIXES[-1]}"
    suffix = pin_suffix(url)
    writes = (f"{PINNED_SPEC_DIR}/{source}{suffix}" if suffix is not None
              else f"{PINNED_SPEC_DIR}/{source}.json or .yaml, as the description is written")
    return (f"{looked} beside the manifest; `mcprt pin` on this manifest writes {writes} while the URL is "
            "reachable")


def _pinned_named(pinned: Path) -> str:
    """`the pinned copy spec/notes.json beside the manifest (saved 2026-11-30 09:13 UTC)`."""
    return f"the pinned copy {PINNED_SPEC_DIR}/{pinned.name} beside the manifest{saved_on(pinned)}"


def open_description(source: str, location: str, base_dir: Path, cache_dir: Path | None, *,
                     offline: bool) -> tuple[LoadedDocument, list[str], list[str], list[Path]]:
    if not is_url(location):
        document = load_document(location, base_dir, cache_dir)
        # named as the manifest names it, symlinks not followed (a ConfigMap's key, not its `..<time>` folder)
        return document, [], [], [Path(os.path.abspath(base_dir / location))]
    pinned = pinned_spec(base_dir, source)
    notes: list[str] = []
    if offline:
        if pinned is not None:
            told = f"{location} not fetched: offline (--offline or MCPRT_OFFLINE); serving {_pinned_named(pinned)}"
            return load_document(str(pinned), base_dir, cache_dir), [], [told], [pinned]
        try:
            return load_document(location, base_dir, cache_dir, network=False, notes=notes), notes, [], []
        except SpecError:
            raise SpecError(location, "", f"offline, and neither a pinned copy ({_pin_hint(source, location)}) "
                                          "nor a cached copy of this URL exists") from None
    try:
        return (load_document(location, base_dir, cache_dir, notes=notes,
                              within=pinned_fetch_timeout() if pinned is not None else None), notes, [], [])
    except SpecError as exc:
        if pinned is None:
            raise SpecError(exc.document, exc.pointer, f"{clause(exc.message)}; to work without network, pin it "
                                                       f"({_pin_hint(source, location)}; the pinned copy is used "
                                                       "when the fetch fails, and always with --offline)") from None
        warning = f"{location}: {clause(exc.message)}; using {_pinned_named(pinned)}"
        return load_document(str(pinned), base_dir, cache_dir), [warning], [], [pinned]
