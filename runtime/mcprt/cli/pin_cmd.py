"""`mcprt pin FILE`: write `spec/<source>.*` copies of the manifest's URL specs."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import EXIT_OK


def run_pin(manifest: Path | None, offline: bool = False) -> int:
    from ..authoring.pin import pin_manifest
    from ..settings import load_settings
    from .common import go_offline, quiet_logging

    go_offline(offline)
    settings = load_settings()
    quiet_logging(settings)  # e.g. the warning of a .env line that does not parse
    pinned = pin_manifest(manifest, settings.cache_dir, offline=settings.offline)
    if not pinned:
        print("no source reads its spec from a URL: nothing to pin", file=sys.stderr)
    for item in pinned:
        state = "written" if item.changed else "unchanged"
        note = f" ({item.note})" if item.note else ""
        print(f"{item.path}: {state}, {item.size:,} bytes from {item.url}{note}", file=sys.stderr)
    return EXIT_OK
