"""The running sources of a manifest, reused across reloads when their configuration is unchanged.

`sync()` opens what is new or changed, keeps what is identical (no re-download, no subprocess
restart, same HTTP pool) and closes what is gone — after the new tool set is installed, so calls in
flight on the old set finish first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic, ManifestError, McprtError, SpecError
from ..manifest.loader import LoadedManifest
from ..manifest.model import source_kind
from ..observability.log import logger
from ..settings import Settings
from ..toolset.operation import Operation
from .base import RunningSource, SourceContext
from .registry import fingerprint, opener_for


@dataclass
class SyncResult:
    operations: dict[str, list[Operation]]
    diagnostics: list[Diagnostic]
    opened: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    retired: list[RunningSource] = field(default_factory=list)  # close these once the new set is live
    previous: dict[str, RunningSource] = field(default_factory=dict)  # the pool before this sync (for rollback)
    fresh: list[RunningSource] = field(default_factory=list)  # opened by this sync
    offerings: dict[str, Any] = field(default_factory=dict)  # source → its Offerings (resources, prompts)


class SourcePool:
    def __init__(self, settings: Settings, on_tools_changed: Callable[[str], None] | None = None,
                 on_event: Callable[[str, str, Any], None] | None = None) -> None:
        self.settings = settings
        self.on_tools_changed = on_tools_changed
        self.on_event = on_event
        self.running: dict[str, RunningSource] = {}

    async def sync(self, loaded: LoadedManifest) -> SyncResult:
        """Bring the pool in line with `loaded`; failed sources give diagnostics, the rest still open."""
        manifest = loaded.manifest
        wanted: dict[str, str] = {
            name: fingerprint(cfg, loaded.source_dirs.get(name, loaded.base_dir), manifest.defaults)
            for name, cfg in manifest.sources.items()
        }
        result = SyncResult({}, [])
        to_open = [n for n, fp in wanted.items() if n not in self.running or self.running[n].fingerprint != fp]
        opened = await asyncio.gather(*(self._open(loaded, n, wanted[n]) for n in to_open), return_exceptions=False)
        fresh: dict[str, RunningSource] = {}
        for name, (source, diagnostics) in zip(to_open, opened, strict=True):
            result.diagnostics += diagnostics
            if source is not None:
                fresh[name] = source
        if any(d.severity == "error" for d in result.diagnostics):
            for source in fresh.values():  # all or nothing: the old set keeps serving
                await _close_quietly(source)
            return result
        next_running: dict[str, RunningSource] = {}
        for name in wanted:
            if name in fresh:
                next_running[name] = fresh[name]
                result.opened.append(name)
                if name in self.running:
                    result.retired.append(self.running[name])
            else:
                next_running[name] = self.running[name]
                result.reused.append(name)
        result.retired += [s for n, s in self.running.items() if n not in wanted]
        result.previous, result.fresh = dict(self.running), list(fresh.values())
        self.running = next_running
        result.operations = {name: list(source.operations) for name, source in next_running.items()}
        result.offerings = {name: getattr(source, "offerings", None) for name, source in next_running.items()}
        return result

    async def rollback(self, result: SyncResult) -> None:
        """Undo a sync whose tool set could not be built: the previous sources serve on, new ones close."""
        if not result.fresh and not result.previous:
            return
        self.running = result.previous
        result.retired = []
        fresh, result.fresh = result.fresh, []
        await asyncio.gather(*(_close_quietly(s) for s in fresh))

    async def _open(
        self, loaded: LoadedManifest, name: str, fp: str
    ) -> tuple[RunningSource | None, list[Diagnostic]]:
        config = loaded.manifest.sources[name]
        kind = source_kind(config) or "openapi"
        context = SourceContext(
            name=name,
            config=config,
            base_dir=loaded.source_dirs.get(name, loaded.base_dir),
            settings=self.settings,
            defaults=loaded.manifest.defaults,
            on_tools_changed=self.on_tools_changed,
            on_event=self.on_event,
        )
        try:
            source = await opener_for(kind)(context)
        except ManifestError as exc:
            return None, exc.diagnostics
        except SpecError as exc:
            return None, [loaded.diagnostic(("sources", name, kind), str(exc))]
        except McprtError as exc:
            return None, [loaded.diagnostic(("sources", name, kind), f"source '{name}': {exc}")]
        except (ImportError, KeyError, AttributeError) as exc:
            return None, [loaded.diagnostic(("sources", name, kind), f"source '{name}': {kind} sources cannot be "
                                                                    f"opened: {exc}")]
        source.fingerprint = fp
        # Sources may report findings without a place; they belong at the line that names the source.
        placed = [
            d if d.file else loaded.diagnostic(("sources", name, kind), d.message, severity=d.severity)
            for d in context.warnings
        ]
        return source, placed

    async def aclose(self) -> None:
        await asyncio.gather(*(_close_quietly(s) for s in self.running.values()))
        self.running = {}


async def close_retired(retired: list[RunningSource]) -> None:
    await asyncio.gather(*(_close_quietly(s) for s in retired))


async def _close_quietly(source: RunningSource) -> None:
    try:
        await source.aclose()
    except Exception as exc:  # closing must never take the server down
        logger.warning("closing source %s failed: %s", getattr(source, "name", "?"), exc)
