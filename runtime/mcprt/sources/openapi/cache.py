"""The compile cache: a restart of an unchanged source skips parsing and compiling.

Key: sha256 of the document's bytes, its URI, the parts of the source config that change the
result (base_url, server_variables, include, exclude, description policy), a format number and
`mcprt.__version__`. Auth, headers and per-tool overrides are not in the key (applied later).
External documents' digests are stored in the entry and re-checked on load. Entries are written
atomically; an unreadable or stale entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcprt
from mcprt.errors import SpecError
from mcprt.manifest.model import DescriptionPolicy, OpenAPISource

from .fetch import write_atomic
from .loader import LoadedDocument, read_external

if TYPE_CHECKING:
    from .compiler import CompiledOpenAPI

FORMAT = 2  # 2: patterns checked as ECMA-262, nulls in bodies, uncompilable elements skipped


def cache_key(doc: LoadedDocument, config: OpenAPISource, policy: DescriptionPolicy) -> str:
    relevant = config.model_dump(mode="json", include={"base_url", "server_variables", "include", "exclude",
                                                            "credential_parameters"})
    blob = json.dumps(
        {
            "format": FORMAT,
            "mcprt": mcprt.__version__,
            "spec": doc.digest,
            "uri": doc.uri,
            "config": relevant,
            "descriptions": policy.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _entry(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "openapi" / f"{key}.pickle"


def load(cache_dir: Path, key: str, doc: LoadedDocument) -> CompiledOpenAPI | None:
    path = _entry(cache_dir, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry: Any = pickle.loads(data)
        externals: dict[str, str] = entry["externals"]
        compiled = entry["compiled"]
        from .compiler import CompiledOpenAPI

        if not isinstance(compiled, CompiledOpenAPI):
            return None
    except Exception:  # noqa: BLE001 - any unreadable entry is just a miss
        return None
    for uri, digest in externals.items():
        try:
            raw, _ = read_external(uri, doc.cache_dir, [])
        except SpecError:
            return None
        if hashlib.sha256(raw).hexdigest() != digest:
            return None
    doc.remember_externals(list(externals))
    compiled.from_cache = True
    return compiled


def store(cache_dir: Path, key: str, doc: LoadedDocument, compiled: CompiledOpenAPI) -> None:
    try:
        data = pickle.dumps({"externals": doc.externals(), "compiled": compiled}, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(_entry(cache_dir, key), data)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a cache that cannot be written only costs time
