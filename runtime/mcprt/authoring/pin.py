"""`mcprt pin FILE`: the pinned copy `spec/<source>.<json|yaml>` of every URL spec of a manifest.

What catalog entries ship, and what `validate --offline`, `mcprt test` and the offline fallback
read when the URL cannot be fetched. The copy is the document's bytes as served (through the spec
cache, so an unreachable URL with a cached copy still pins; `--offline` pins from the cache alone). A
URL that cannot be had keeps the pinned copy already there, with a note saying it was not refreshed.
Documents that a spec `$ref`s by URL are not copied: pinning such a spec says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from ..manifest.loader import find_manifest, load_manifest
from ..manifest.model import OpenAPISource
from ..sources.openapi import fetch as fetching
from ..sources.openapi.loader import is_url
from ..sources.openapi.pinned import PINNED_SPEC_DIR, PINNED_SPEC_SUFFIXES, pin_suffix, pinned_spec
from ..testing.overrides import replay_environment


@dataclass
class Pinned:
    source: str
    url: str
    path: Path
    size: int
    changed: bool  # the copy is new or differs from the one that was there
    note: str | None = None


def pin_manifest(manifest: str | Path | None, cache_dir: Path | None, offline: bool = False) -> list[Pinned]:
    """Fetch and write the pinned copy of each URL spec (`offline`: from the spec cache only, never the
    network). A spec that cannot be had keeps the pinned copy it has, noted; SpecError when it has none."""
    path = find_manifest(manifest)
    loaded = load_manifest(path, env=replay_environment(path))
    pinned: list[Pinned] = []
    for name, source in loaded.manifest.sources.items():
        if not isinstance(source, OpenAPISource) or not is_url(source.openapi):
            continue
        folder = loaded.source_dirs.get(name, path.parent) / PINNED_SPEC_DIR
        try:
            fetched = _fetch(source.openapi, cache_dir, offline)
        except SpecError as exc:
            kept = pinned_spec(folder.parent, name)
            if kept is None:
                raise SpecError(source.openapi, "", f"{exc.message}, and no pinned copy "
                                f"{PINNED_SPEC_DIR}/{name}.* exists") from None
            pinned.append(Pinned(name, source.openapi, kept, kept.stat().st_size, False,
                                 f"kept, not refreshed: {exc.message}"))
            continue
        target = folder / f"{name}{pin_suffix(source.openapi, fetched.body)}"
        stale = [folder / f"{name}{s}" for s in PINNED_SPEC_SUFFIXES if (folder / f"{name}{s}") != target]
        changed = not target.is_file() or target.read_bytes() != fetched.body
        if changed:
            fetching.write_atomic(target, fetched.body, shared=True)  # checked in: the umask's mode
        for old in stale:
            old.unlink(missing_ok=True)  # one copy per source: the reader takes the first it finds
        note = fetched.warning
        if re.search(rb'"\$ref"\s*:\s*"https?://|\$ref:\s*["\']?https?://', fetched.body):
            note = ((note + "; ") if note else "") + "it references other documents by URL, which are not pinned"
        pinned.append(Pinned(name, source.openapi, target, len(fetched.body), changed, note))
    return pinned


def _fetch(url: str, cache_dir: Path | None, offline: bool) -> fetching.Fetched:
    if not offline:
        return fetching.fetch(url, cache_dir)
    cached = fetching.cached_copy(url, cache_dir)
    if cached is None:
        raise SpecError(url, "", "offline, and no cached copy of this URL exists")
    return cached

