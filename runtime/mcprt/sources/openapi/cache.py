"""The compile cache: a restart of an unchanged source skips parsing and compiling.

Key: sha256 of the document's bytes, its URI, the parts of the source config that change the
result (base_url, server_variables, include, exclude, description policy), a format number and
`mcprt.__version__`. Auth, headers and per-tool overrides are not in the key (applied later).
External documents' digests are stored in the entry and re-checked on load. Entries are written
atomically; an unreadable or stale entry is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import operator
import pickle
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcprt
from mcprt.errors import SpecError
from mcprt.manifest.limits import include_paths
from mcprt.manifest.model import DescriptionPolicy, OpenAPISource

from .fetch import write_cached
from .loader import LoadedDocument, read_external

if TYPE_CHECKING:
    from .compiler import CompiledOpenAPI, PendingShapes

FORMAT = 13  # 2: patterns checked as ECMA-262, nulls in bodies, uncompilable elements skipped;
#            5: and operations carry their response shapes (`response_schema`, `default_response_schema`)
#            6: recursive references keep their declared type; nullable anyOf admits null
#            7: a response schema's `$ref` that does not resolve is a warning; operations carry
#               their documented success media types (`answer_types`)
#            8: `answer_types` per success status code; Swagger 2.0 inherits the document's `produces`
#            9: an argument whose wire name is not ASCII says it in its description (`inputs.with_wire_name`)
#           10: warnings of operations `include`/`exclude` leave out are a count in `notes`
#           11: `config_problems` know a server variable declared by any Server Object (an entry
#               of 10 may hold a false "unknown server variable" that stops the source opening).
#               New fields (`CompiledOperation.public`, `PropertyEncoding.styled`) need no bump:
#               `layout` (below) makes an entry of another field layout a miss.
#           12: a Swagger 2.0 path or header array's `collectionFormat` ssv/tsv/pipes is its `delimiter`
#               (an entry of 11 sends such a header comma-separated)
#           13: names with letters no ASCII spelling keeps carry a hash of themselves (`naming.arg_name`,
#               `served_tool_name`: `v1_ebc16cb`, not `v1`/`v1_2`; `arg_d54d12f`, not `arg`), and CJK summaries
#               ending in an ASCII word get no `.`: an entry of 12 served the old names (seen in a check)


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
            # where local `$ref`s may lead (reach.py): a `$ref` refused under other roots was left out
            "ref_roots": [str(root) for root in [*(doc.ref_roots or ()), *include_paths()]],
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class _Pickler(pickle.Pickler):
    """Leaves out the invokers a running source binds to its operations (local functions holding
    its HTTP pool): a deferred write pickles operations that are already bound. Loaded as None;
    the source binds them again when it starts.

    `reducer_override` rather than `persistent_id`: the pickler skips it for plain dicts, lists,
    strings and numbers (most of a compiled description), so GitHub's entry pickles in half the
    time (~0.024 vs ~0.048 s of CPU). mcprt's plain dataclasses (`_positional`) are stored as
    their constructor's arguments in order rather than as a state dict per object (GitHub's
    entry: dump ~0.030 → ~0.021 s, load ~0.021 → ~0.014 s); `layout` records their field names,
    which `load` checks, so an entry written by a different layout is a miss."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.layout: dict[str, tuple[str, ...]] = {}
        self._seen: set[type] = set()

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        positional = _positional(cls)
        if positional is not None:
            names, values = positional
            if cls not in self._seen:
                self._seen.add(cls)
                self.layout[f"{cls.__module__}:{cls.__qualname__}"] = names
            return cls, values(obj)
        if isinstance(obj, types.FunctionType) and "<locals>" in obj.__qualname__:
            return _unbound, ()
        return NotImplemented


_POSITIONAL: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None] = {}


def _positional(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None:
    """(field names, a getter of an object's field values in that order) for an mcprt dataclass
    that `cls(*values)` rebuilds exactly: its `__init__` takes exactly its fields, positionally and
    in order, and nothing runs after (no `__post_init__`) nor pickles it otherwise. Else None."""
    try:
        return _POSITIONAL[cls]
    except KeyError:
        pass
    found = None
    fields = getattr(cls, "__dataclass_fields__", None)
    init = getattr(cls.__init__, "__code__", None)
    if fields and init is not None and cls.__module__.startswith("mcprt.") and not hasattr(cls, "__post_init__") \
            and cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__:
        names = tuple(f.name for f in dataclasses.fields(cls))
        if names and init.co_kwonlyargcount == 0 and init.co_argcount == len(names) + 1 \
                and init.co_varnames[1 : len(names) + 1] == names:
            getter = operator.attrgetter(*names)
            found = (names, getter if len(names) > 1 else (lambda obj: (getter(obj),)))
    _POSITIONAL[cls] = found
    return found


def _same_layout(layout: dict[str, tuple[str, ...]]) -> bool:
    """Whether each class an entry stored positionally still has those fields in that order."""
    for name, names in layout.items():
        module, _, qualname = name.partition(":")
        cls: Any = sys.modules.get(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        positional = _positional(cls) if isinstance(cls, type) else None
        if positional is None or positional[0] != tuple(names):
            return False
    return True


def _unbound() -> None:
    """What a left-out invoker unpickles as."""
    return None


class _Unpickler(pickle.Unpickler):
    # Entries written before `reducer_override` marked invokers with a persistent id.
    def persistent_load(self, pid: Any) -> None:
        if pid != "unbound":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return None


def _entry(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "openapi" / f"{key}.pickle"


def load(cache_dir: Path, key: str, doc: LoadedDocument) -> CompiledOpenAPI | None:
    path = _entry(cache_dir, key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        entry: Any = _Unpickler(io.BytesIO(data)).load()
        externals: dict[str, str] = entry["externals"]
        compiled = entry["compiled"]
        from .compiler import CompiledOpenAPI

        if not isinstance(compiled, CompiledOpenAPI) or not _same_layout(entry.get("layout", {})):
            return None
    except Exception:  # noqa: BLE001 - any unreadable entry is just a miss
        return None
    for uri, digest in externals.items():
        try:
            doc.check_reach(uri)  # an entry compiled before `$ref`s were confined may name a refused one
            raw, _ = read_external(uri, doc.cache_dir, [])
        except SpecError:
            return None
        if hashlib.sha256(raw).hexdigest() != digest:
            return None
    doc.remember_externals(list(externals))
    compiled.from_cache = True
    return compiled


class DeferredWrites:
    """Compile-cache writes held back by `writes_deferred()`; `flush()` does them (once)."""

    def __init__(self) -> None:
        self._writes: list[Callable[[], None]] = []
        self._lock = threading.Lock()  # stores come from the sources' compile threads

    def add(self, write: Callable[[], None]) -> None:
        with self._lock:
            self._writes.append(write)

    def flush(self) -> None:
        with self._lock:
            writes, self._writes = self._writes, []
        for write in writes:
            write()


_deferred: DeferredWrites | None = None


@contextlib.contextmanager
def writes_deferred(enabled: bool = True) -> Iterator[DeferredWrites]:
    """Compiles inside this block queue their cache writes instead of doing them: `mcprt up` over
    stdio writes the cache after it answered the client's first tools/list (pickling GitHub's
    compiled operations costs ~0.05 s of CPU). The caller must `flush()` the returned writes."""
    global _deferred
    pending = DeferredWrites()
    if not enabled:
        yield pending
        return
    _deferred = pending
    try:
        yield pending
    finally:
        _deferred = None


def deferring() -> bool:
    """Whether compiles now run inside `writes_deferred()` (their writes wait for `flush()`)."""
    return _deferred is not None


def write_soon(write: Callable[[], None]) -> None:
    """Run `write` (a cache-folder write beside the compile cache's) now, or queue it with the compile cache's
    writes inside `writes_deferred()` (after `mcprt up` over stdio answered its first tools/list)."""
    if _deferred is not None:
        _deferred.add(write)
    else:
        write()


def store(cache_dir: Path, key: str, doc: LoadedDocument, compiled: CompiledOpenAPI,
          pending: PendingShapes | None = None) -> None:
    """Write the cache entry now, or queue it inside `writes_deferred()`; `pending` response
    shapes are filled in first (their `$ref`s may load external documents: the entry's externals
    are read after them)."""
    if _deferred is not None:
        if pending is None:
            externals = doc.externals()
            _deferred.add(lambda: _write(cache_dir, key, externals, compiled))
        else:
            def write() -> None:
                pending.fill()
                _write(cache_dir, key, doc.externals(), compiled)

            _deferred.add(write)
        return
    if pending is not None:
        pending.fill()
    _write(cache_dir, key, doc.externals(), compiled)


def _write(cache_dir: Path, key: str, externals: dict[str, str], compiled: CompiledOpenAPI) -> None:
    try:
        buffer = io.BytesIO()
        pickler = _Pickler(buffer)
        # "layout" last: it is filled while "compiled" is pickled, and pickled after it.
        pickler.dump({"externals": externals, "compiled": compiled, "layout": pickler.layout})
        data = buffer.getvalue()
        write_cached(cache_dir, _entry(cache_dir, key), data)  # one that cannot be written only costs time (warned)
    except (pickle.PicklingError, TypeError, AttributeError):
        pass  # a cache that cannot be written only costs time
