"""The `openapi:` source kind: operations compiled from an OpenAPI 3.x / Swagger 2.0 document."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ...contracts import Operation
from ...manifest.model import OpenAPISource, SourceBase
from ..base import RunningSource, SourceContext
from ..kind import SHARED_BUILD_ONLY, SourceKind


class OpenAPIKind(SourceKind):
    """Operations carry tags, method, path and deprecation, so every filter criterion applies.

    `include`/`exclude` are applied while compiling (a filtered-out operation is never compiled),
    so changing them reopens the source — from the compile cache, without a download.
    """

    key: ClassVar[str] = "openapi"
    model: ClassVar[type[SourceBase]] = OpenAPISource
    criteria: ClassVar[frozenset[str]] = frozenset({"tags", "operations", "paths", "methods", "deprecated"})
    build_only: ClassVar[frozenset[str]] = SHARED_BUILD_ONLY
    schema_enforced: ClassVar[bool] = False  # Asana's array `opt_fields` takes "a,b" as is; Vercel types `limit` a string

    async def open(self, ctx: SourceContext) -> RunningSource:
        from .binding import open_openapi_source

        return await open_openapi_source(ctx)

    def config_files(self, config: SourceBase, base_dir: Path) -> list[Path]:
        assert isinstance(config, OpenAPISource)
        return [] if "://" in config.openapi else [base_dir / config.openapi]

    def request_of(self, written: Mapping[str, Any], operation: Operation) -> dict[str, Any]:
        """The operation's request (`RequestPlan.describe` of the plan its invoker sends by, built when asked:
        only `mcprt diff` asks), and the document's `servers` where `base_url` does not replace them."""
        plan = getattr(operation.invoke, "plan", None)  # bound when the source opened (`binding`)
        if plan is None:
            return {}
        request = plan.describe()
        if not written.get("base_url"):
            request["servers"] = list(getattr(operation.invoke, "servers", ()))
        return request

    def for_replay(
        self, config: SourceBase, name: str, folder: Path, origin: str | None, settings: Any
    ) -> SourceBase:
        from .pinned import pinned_spec
        from .replay import for_replay

        assert isinstance(config, OpenAPISource)
        return for_replay(config, folder, origin, pinned_spec(folder, name), settings)


KIND = OpenAPIKind()
