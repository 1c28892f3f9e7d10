"""The seam between shared code and one kind of source: a `SourceKind` per kind, found from its model.

A kind (OpenAPI document, Python functions, MCP server over stdio or HTTP) is one package under
`mcprt/sources/` with a `kind.py` defining its `SourceKind`, plus one entry in
`mcprt.manifest.model.SOURCE_MODELS` (its manifest model, which names the `SourceKind` by
`kind_runtime`). Shared code — the pool, the tool-set builder, reload — asks the kind, never tests
which kind a source is.

Lifecycle of a source of a kind, as the pool drives it:

    kind = kind_of(config)                              # the SourceKind of a manifest entry
    fp = kind.fingerprint(config, base_dir, defaults)   # same fp ⇒ the running source is kept as is
    source = await kind.open(SourceContext(...))        # fetch/compile/import/connect; may raise
    ... source.operations serve calls; source.local_files() is watched by hot reload ...
    await source.aclose()                               # after the tool set using it is unused

Errors from `open`: `ManifestError` (diagnostics already placed), `SpecError` (a bad API document)
or `McprtError` (anything else the user can fix); the pool turns each into a diagnostic at the
source's manifest line. Any other exception is a bug in the kind and is reported the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from ..contracts import Operation
from ..file_identity import FileDigests
from ..manifest.model import OperationFilter, SourceBase
from .base import RunningSource, SourceContext

_CONFIG_DIGESTS = FileDigests()  # the config files' content digests, kept while their stat is unchanged
# Keys every kind leaves to the tool-set builder: changing them never reopens a source.
SHARED_BUILD_ONLY = frozenset({"tools", "prefix", "expose", "timeout"})
# Filter criteria (fields of `OperationFilter`) every kind can honour: globs over operation names.
SHARED_CRITERIA = frozenset({"operations"})


def response_limit(config: SourceBase, defaults: Any) -> int:
    """Largest upstream body (or a generator's yield, in JSON bytes) read for one call: the source's
    `max_response_bytes` where its kind has one (OpenAPI, Python), else `defaults.max_response_bytes`.
    The one place either is read."""
    return int(getattr(config, "max_response_bytes", None) or defaults.max_response_bytes)


class SourceKind:
    """One kind of source. Subclass per kind and override what differs; one instance per kind.

    Attributes (class level):
      key:        the manifest key selecting the kind (`openapi`); equals `model.kind_key`
      model:      its manifest model (a `SourceBase` subclass registered in `SOURCE_MODELS`)
      criteria:   `include`/`exclude` criteria its operations carry metadata for; any other
                  criterion in a manifest is an error at its line (it could only match nothing or
                  everything)
      build_only: config keys applied by the builder; changing only these keeps the running source
                  (same subprocess, same HTTP pool). `include`/`exclude` belong here for kinds whose
                  source does not filter while opening.
      open_runs_to_end: its open is local work that cannot be interrupted (a `python:` import runs the user's
                  code in a worker thread: cancelling the open leaves the thread running), so when another
                  source's error fails a start (`SourcePool.fail_fast`) the pool waits for it — no longer than a
                  start that succeeds would — and reports its errors too, not a note that it was not opened: a
                  second broken module is said in the same run, not one rollout later
      schema_enforced: the upstream itself refuses arguments outside the tool's input schema (a
                  function's signature, an MCP server's `inputSchema`), so a `fixed`/`default` value
                  the schema refuses is a manifest error; False where the wire decides instead
                  (OpenAPI descriptions often type a parameter other than the API accepts it)
    """

    key: ClassVar[str] = ""
    model: ClassVar[type[SourceBase]] = SourceBase
    criteria: ClassVar[frozenset[str]] = SHARED_CRITERIA
    build_only: ClassVar[frozenset[str]] = SHARED_BUILD_ONLY | {"include", "exclude"}
    schema_enforced: ClassVar[bool] = True
    open_runs_to_end: ClassVar[bool] = False

    async def open(self, ctx: SourceContext) -> RunningSource:
        """Open a source of this kind for `ctx.config` (see the module docstring for errors)."""
        raise NotImplementedError

    def config_files(self, config: SourceBase, base_dir: Path) -> list[Path]:
        """Local files the configuration names that change the source's behaviour (before opening).

        Their content (sha256) is part of the fingerprint. Files discovered only while
        opening (imported modules, `$ref`'d documents) come from `RunningSource.local_files()`.
        """
        return []

    def max_response_bytes(self, config: SourceBase, defaults: Any) -> int:
        """Largest upstream body read for one call, in bytes (`response_limit`)."""
        return response_limit(config, defaults)

    def fingerprint(self, config: SourceBase, base_dir: Path, defaults: Any) -> str:
        """Identity of a source's behaviour: 32 hex digits over its config minus build-only keys
        (secrets included, hashed), its folder, the defaults it reads, and its config files' stat."""
        body = {k: _plain(v) for k, v in config.__dict__.items() if k not in self.build_only}
        body["__kind"] = self.key
        body["__dir"] = str(base_dir.resolve())
        body["__defaults"] = _plain({"retries": defaults.retries, "descriptions": defaults.descriptions})
        # by content (hashed again only when the file's stat changed): a Kubernetes ConfigMap update
        # re-creates every file of the volume, and a stat-based fingerprint reopened every source reading one
        files = {str(path): _CONFIG_DIGESTS(path) for path in self.config_files(config, base_dir)}
        if files:
            body["__files"] = files
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        return digest[:32]

    def for_replay(
        self, config: SourceBase, name: str, folder: Path, origin: str | None, settings: Any
    ) -> SourceBase:
        """The configuration a replay compiles (`mcprt test`/`diff`, `validate --offline`).

        `name`: the source's manifest key, `folder`: where its manifest is (a kind with local copies
        of what it fetches — OpenAPI's pinned `spec/<name>.*` — reads them from there); `origin`: the
        replay upstream's `scheme://host:port` that requests must go to (None: only local copies apply).
        Default: unchanged (the kind makes no outbound HTTP requests a replay could serve).
        """
        return config

    def request_of(self, written: Mapping[str, Any], operation: Operation) -> dict[str, Any]:
        """What a call of `operation` sends upstream, as far as the operation decides it (JSON-able, for
        `mcprt diff`), given its source's entry as written in the manifest (`written`, before `${VAR}`
        substitution). Default: nothing — a kind without a request of its own to describe."""
        return {}

    def unsupported_criteria(self, flt: OperationFilter | None) -> list[str]:
        """Criteria set in `flt` that this kind's operations carry no metadata for."""
        if flt is None:
            return []
        return [name for name in type(flt).model_fields if getattr(flt, name) is not None
                and name not in self.criteria]


def kind_of(config: SourceBase) -> SourceKind:
    """The `SourceKind` of a manifest source entry (imports the kind's `kind.py` on first use).

    Raises LookupError for a model that registers no kind (a programming error, not a user's).
    """
    return kind_named(type(config).kind_runtime)


_KINDS: dict[str, SourceKind] = {}


def kind_named(runtime: str) -> SourceKind:
    kind = _KINDS.get(runtime)
    if kind is None:
        module_name, _, attr = runtime.partition(":")
        if not module_name or not attr:
            raise LookupError(f"no source kind registered as {runtime!r}")
        kind = getattr(importlib.import_module(module_name), attr)
        _KINDS[runtime] = kind
    return kind


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {k: _plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
