"""Loading API descriptions: from a file or URL, JSON or YAML, plus the documents they `$ref`.

Parsing is lazy: `LoadedDocument.data` parses on first use, so a compile-cache hit (keyed by the raw
bytes) never pays for parsing a 13 MB document. External documents named by relative `$ref`s are
loaded on demand and remembered with a digest, so a cached compile can check they did not change.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlparse

from mcprt.errors import SpecError
from mcprt.file_identity import identity as file_identity
from mcprt.file_identity import settled_identity
from mcprt.unicode_forms import look_alike_hint
from mcprt.manifest.limits import LimitExceeded, max_spec_bytes, open_regular, read_capped, spec_alias_allowance

from ...home_paths import HomeNotFound, expand_home
from . import fetch as fetching
from .reach import refused
from .jsonlean import SKIPPED_COMPONENTS, SKIPPED_TOP, latin1_text, loads_lean

if os.name == "nt":  # pragma: no cover - Windows drive letters and UNC paths
    from nturl2path import url2pathname
else:  # what urllib.request does on POSIX, without importing http.client and email with it
    from urllib.parse import unquote as url2pathname

_UNSET: Any = object()
# JSON Schema 2020-12 keywords that name a schema resource or a place in one (§8.2.1–§8.2.3). Their
# text is looked for before the parsed tree is scanned for them, so the many documents that use none
# (GitHub's 13 MB: ~4 ms for this search) never pay for a walk over every node.
_NAMING = re.compile(r"\$(?:id|anchor|dynamicAnchor)\b")
_NAMING_BYTES = re.compile(_NAMING.pattern.encode())
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)  # text the bytes search cannot see
_T = TypeVar("_T")


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


def _decode(raw: bytes, label: str, warnings: list[str]) -> str:
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(codec)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.append(f"{label}: not UTF-8; read as Latin-1")
        return raw.decode("latin-1")


class _TooManyValues(Exception):
    pass


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


def _plain(value: Any, budget: _Budget) -> Any:
    """YAML gives dates and non-string keys; the rest of the pipeline wants JSON values. Each container
    spends its length from `budget` (raises _TooManyValues when it runs out)."""
    if isinstance(value, (dict, list)):
        budget.left -= len(value)
        if budget.left < 0:
            raise _TooManyValues
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): _plain(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def parse(raw: bytes, label: str, warnings: list[str] | None = None) -> Any:
    """Parse JSON (tried first: fast) or YAML; SpecError with the line and column otherwise."""
    return parse_text(_decode(raw, label, warnings if warnings is not None else []), label)[0]


def parse_text(text: str, label: str, lean: bool = False) -> tuple[Any, bool]:
    """(parsed, trimmed): `lean` leaves out JSON sections no tool uses (see jsonlean)."""
    stripped = text.lstrip()
    if label.lower().endswith(".json") or stripped.startswith(("{", "[")):
        try:
            if lean:
                return loads_lean(text) or (json.loads(text), False)
            return json.loads(text), False
        except json.JSONDecodeError as exc:
            if label.lower().endswith(".json"):
                raise SpecError(label, "", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
            # YAML flow style also starts with `{`: let the YAML parser judge
        except RecursionError:
            raise SpecError(label, "", "the document is nested too deeply") from None
    return _parse_yaml(text, label), False


def _lean_latin1(text: str) -> tuple[Any, bool] | None:
    try:
        return loads_lean(text, latin1=True)
    except (UnicodeError, RecursionError):
        return None


def _parse_yaml(text: str, label: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from mcprt import safe_yaml

    allowance = spec_alias_allowance()
    try:
        return _plain(safe_yaml.load(text), _Budget(len(text) + allowance))
    except _TooManyValues:
        raise SpecError(label, "", f"the document expands to more than {len(text) + allowance:,} values "
                        f"(YAML aliases counted: one per character of the text, plus {allowance:,}; "
                        "raise it with MCPRT_SPEC_ALIAS_ALLOWANCE)") from None
    except safe_yaml.TooDeep as exc:
        raise SpecError(label, "", f"the document is nested too deeply{exc.detail}") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise SpecError(label, "", f"invalid YAML{where}: {problem}") from None
    except (YAMLError, ValueError, TypeError) as exc:
        raise SpecError(label, "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(label, "", "the document is nested too deeply") from None


@dataclass(slots=True)
class _External:
    label: str
    digest: str
    data: Any
    names_resources: bool = True


class LoadedDocument:
    """One API description as loaded: where from, its bytes, and (lazily) its parsed tree.

    To keep peak memory low on large documents, the raw bytes are let go while parsing when they
    can be read again (a local file, or a URL's cached copy); `raw_bytes` then re-reads them.
    """

    def __init__(
        self,
        location: str,
        uri: str,
        raw_bytes: bytes | None,
        cache_dir: Path | None = None,
        warnings: list[str] | None = None,
        reread: Callable[[], bytes] | None = None,
        digest: str | PendingDigest | None = None,
        ref_roots: tuple[Path, ...] | None = None,
    ) -> None:
        self.location = location  # as the user wrote it (URL or path)
        # Where local `$ref`s may lead (reach.py): the manifest's folder, then the description's own folder.
        self.ref_roots = ref_roots
        self.uri = uri  # absolute: file:///… or http(s)://…
        self.cache_dir = cache_dir
        self.warnings: list[str] = warnings if warnings is not None else []
        if raw_bytes is None and (reread is None or digest is None):
            raise ValueError("a document needs its bytes, or a way to read them and their digest")
        self._digest: str | PendingDigest = digest or hashlib.sha256(raw_bytes or b"").hexdigest()
        self._raw: bytes | None = raw_bytes
        self._reread = reread
        self._data: Any = _UNSET
        self._trimmed = False
        self._names_resources = True  # set when parsed: see `names_resources`
        self._externals: dict[str, _External] = {}
        self._known_externals: list[str] = []
        # A compile left its response shapes for later (`compiler.PendingShapes`): their `$ref`s may
        # still load external documents, so `local_files()` may grow until they are filled in.
        self.shapes_pending = False
        # (the folder the document was read from, that folder as the manifest names it) when a symlink
        # lies between: a Kubernetes ConfigMap's `notes-api.yaml -> ..data/notes-api.yaml`, `..data -> ..<time>`
        self.seen_through: tuple[Path, Path] | None = None

    def __repr__(self) -> str:
        return f"LoadedDocument({self.location!r})"

    @property
    def digest(self) -> str:
        """sha256 of the document's bytes (hex): the compile cache's key. It may still be computing
        in a thread (`digest_pending`); reading it waits for it."""
        if isinstance(self._digest, PendingDigest):
            self._digest = self._digest.result()
        return self._digest

    @property
    def digest_pending(self) -> bool:
        """The digest is being computed beside the caller (a file met for the first time: its
        bytes are already read, so parsing them meanwhile costs no second read)."""
        return isinstance(self._digest, PendingDigest)

    @property
    def raw_bytes(self) -> bytes:
        if self._raw is not None:
            return self._raw
        assert self._reread is not None
        return self._reread()

    @property
    def data(self) -> Any:
        if self._data is _UNSET:
            raw = self.raw_bytes
            searched = False
            if self.location.lower().endswith(".json") or raw.lstrip()[:1] == b"{":
                narrow = latin1_text(raw)
                if narrow is not None:
                    self._names_resources = _NAMING.search(narrow) is not None
                    searched = True
                    if self._reread is not None:
                        self._raw = None
                    del raw
                    parsed = _lean_latin1(narrow)
                    del narrow
                    if parsed is not None:
                        self._data, self._trimmed = parsed
                        return self._data
                    raw = self.raw_bytes
            text = _decode(raw, self.location, self.warnings)
            if not searched:  # (Latin-1 text that the lean parse left to the full one was searched above)
                self._names_resources = _NAMING.search(text) is not None
            if self._reread is not None:
                self._raw = None
            del raw
            self._data, self._trimmed = parse_text(text, self.location, lean=True)
        return self._data

    def untrim(self, pointer: str) -> bool:
        """Parse again in full when a `$ref` points into a section the lean parse left out."""
        tokens = pointer.split("/")
        skipped = (len(tokens) > 1 and tokens[1] in SKIPPED_TOP) or (
            len(tokens) > 2 and tokens[1] == "components" and tokens[2] in SKIPPED_COMPONENTS
        )
        if not (self._trimmed and skipped):
            return False
        self._data = parse_text(_decode(self.raw_bytes, self.location, []), self.location)[0]
        self._trimmed = False
        return True

    def untrim_for_names(self, uri: str) -> None:
        """Before the `$id`s and anchors of the document at `uri` are read: parse it in full when the
        lean parse left out its `webhooks` (or 3.0's `x-webhooks`), which hold schemas as `paths` do
        (OpenAPI 3.1 §4.8.1), so a schema named there is found. Only documents that name schemas get here
        (`names_resources`)."""
        if uri != self.uri or not self._trimmed or not any(f'"{key}"'.encode() in self.raw_bytes
                                                           for key in SKIPPED_TOP):
            return
        self._data = parse_text(_decode(self.raw_bytes, self.location, []), self.location)[0]
        self._trimmed = False

    def names_resources(self, uri: str) -> bool:
        """Whether the text of the document at `uri` (parsed first if need be) holds `$id`, `$anchor` or
        `$dynamicAnchor`: only then can a `$ref` name one of its schemas by URI or anchor."""
        self.document_at(uri)
        if uri == self.uri:
            return self._names_resources
        return self._externals[uri].names_resources

    def release(self) -> None:
        """Forget the parsed tree (and external documents) once compiled; keeps memory flat."""
        self._data = _UNSET
        for ext in self._externals.values():
            ext.data = _UNSET

    def label_for(self, uri: str) -> str:
        if uri == self.uri:
            return self.location
        ext = self._externals.get(uri)
        return ext.label if ext else uri

    def local_files(self) -> list[Path]:
        """Files this document is made of (itself if local, and local `$ref` targets): to watch for reload."""
        uris = [self.uri, *self._externals, *self._known_externals]
        files = []
        for uri in dict.fromkeys(uris):
            parsed = urlparse(uri)
            if parsed.scheme == "file":
                files.append(self._as_named(Path(url2pathname(parsed.path))))
        return files

    def _as_named(self, file: Path) -> Path:
        """`file` (resolved) through the folder as the manifest names it, when that reaches the same file: the
        ConfigMap's `notes-api.yaml`, whose content hot reload compares across updates, not the
        `..2026_12_02_…/notes-api.yaml` the kubelet deletes at the next one (a missing file: a changed source)."""
        if self.seen_through is None:
            return file
        read_from, named = self.seen_through
        try:
            candidate = named / file.relative_to(read_from)
        except ValueError:
            return file
        return candidate if os.path.realpath(candidate) == str(file) else file

    def remember_externals(self, uris: list[str]) -> None:
        """External documents a cached compile used (known without loading them)."""
        self._known_externals.extend(u for u in uris if u not in self._known_externals)

    def externals(self) -> dict[str, str]:
        """URI → sha256 of every external document loaded so far."""
        return {uri: ext.digest for uri, ext in self._externals.items()}

    def check_reach(self, uri: str, referrer: tuple[str, str] | None = None) -> None:
        """SpecError at the referring `$ref` (`referrer`: (document URI, pointer); default this document's
        root) when the document at `uri` may not be loaded from there (reach.py)."""
        source, where = referrer or (self.uri, "")
        why = refused(uri, source, self.ref_roots)
        if why is not None:
            raise SpecError(self.label_for(source), where, f"$ref to {uri} refused: {why}")

    def document_at(self, uri: str, referrer: tuple[str, str] | None = None) -> Any:
        """The parsed document at `uri` (this one, or an external one loaded on first use)."""
        if uri == self.uri:
            return self.data
        ext = self._externals.get(uri)
        if ext is None or ext.data is _UNSET:
            self.check_reach(uri, referrer)
            raw, label = read_external(uri, self.cache_dir, self.warnings, referrer, self.label_for)
            ext = _External(label, hashlib.sha256(raw).hexdigest(), parse(raw, label, self.warnings),
                            _NAMING_BYTES.search(raw) is not None or raw.startswith(_WIDE_BOMS))
            self._externals[uri] = ext
        return ext.data


def read_external(
    uri: str,
    cache_dir: Path | None,
    warnings: list[str],
    referrer: tuple[str, str] | None = None,
    label_for: Any = None,
) -> tuple[bytes, str]:
    """Bytes of an external document and how to name it; SpecError (at the referrer) if missing."""
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        try:
            fetched = fetching.fetch(uri, cache_dir)
        except SpecError as exc:
            if referrer is not None and label_for is not None:
                raise SpecError(label_for(referrer[0]), referrer[1], exc.message) from None
            raise
        if fetched.warning:
            warnings.append(fetched.warning)
        return fetched.body, uri
    if parsed.scheme == "file":
        path = Path(url2pathname(parsed.path))
        try:
            return read_capped(path, max_spec_bytes(), str(path), "MAX_SPEC_BYTES"), str(path)
        except (OSError, LimitExceeded) as exc:
            detail = str(exc) if isinstance(exc, LimitExceeded) else exc.strerror or exc
            hint = look_alike_hint(path) if isinstance(exc, FileNotFoundError) else ""
            message = f"cannot read referenced document {path}: {detail}{hint}"
            if referrer is not None and label_for is not None:
                raise SpecError(label_for(referrer[0]), referrer[1], message) from None
            raise SpecError(str(path), "", message) from None
    message = f"unsupported reference target {uri!r}"
    if referrer is not None and label_for is not None:
        raise SpecError(label_for(referrer[0]), referrer[1], message)
    raise SpecError(uri, "", message)


def load_document(location: str, base_dir: Path, cache_dir: Path | None, *, network: bool = True,
                  notes: list[str] | None = None, within: float | None = None) -> LoadedDocument:
    """Load an API description from a URL (cached, revalidated) or a path relative to `base_dir`.

    `network=False`: a URL is read from the cache only (SpecError when it has no copy).
    `notes`: where the warning about a cached copy standing in for the URL goes (it names the URL,
    why, and the cache file); by default the document's `warnings`. A caller that compiles through
    the compile cache takes it apart: a cache hit does not replay the document's warnings, and how
    the document was obtained differs from start to start. `within`: seconds the fetch may take to
    get its response headers, and pause in its body (a pinned copy waits: `pinned.PINNED_FETCH_TIMEOUT`)."""
    warnings: list[str] = []
    if is_url(location):
        if network:
            fetched = fetching.fetch(location, cache_dir, within=within)
        else:
            copy = fetching.cached_copy(location, cache_dir)
            if copy is None:
                raise SpecError(location, "", "offline, and no cached copy of this URL exists")
            fetched = dataclasses.replace(copy, warning=f"{location} not fetched: offline (--offline or "
                                          f"MCPRT_OFFLINE); using {fetching.cached_copy_named(cache_dir, location)}")
        if fetched.warning:
            (warnings if notes is None else notes).append(fetched.warning)
        reread = fetching.cached_reader(cache_dir, location, fetched.body)
        return LoadedDocument(location, location, fetched.body, cache_dir, warnings, reread, ref_roots=(base_dir,))
    if location.startswith("file:"):
        path = Path(url2pathname(urlparse(location).path))
    else:
        try:
            path = expand_home(location)
        except HomeNotFound as exc:
            raise SpecError(location, "", exc.reason) from None
        if not path.is_absolute():
            path = Path(base_dir) / path
    written = Path(os.path.abspath(path))
    path = path.resolve()
    recorded = _recorded_digest(path, cache_dir)
    raw: bytes | None = None
    digest: str | PendingDigest
    if recorded is not None:
        digest, identity = recorded
    elif cache_dir is not None and not os.path.exists(_digest_entry(cache_dir, path)):
        # (`os.path.exists`: False for any OSError — `Path.exists` raised PermissionError for a cache folder whose
        # parent the uid may not enter, and `mcprt tools` ended "cannot read the digest" instead of compiling)
        # First sight of this file in this cache, so no compile is cached for it: read it once and
        # hash those bytes in a thread while the caller parses them (sha256 releases the GIL).
        raw, identity = _file_bytes(path, location)
        digest = PendingDigest(raw, lambda found: _record_digest(path, cache_dir, found, identity))
    else:
        digest, identity = _file_digest(path, location)
        _record_digest(path, cache_dir, digest, identity)

    def reread() -> bytes:
        try:
            again = read_capped(path, max_spec_bytes(), str(path), "MAX_SPEC_BYTES")
            unchanged = file_identity(os.stat(path)) == identity  # after reading: a write meanwhile moved ctime
        except LimitExceeded as exc:
            raise SpecError(location, "", str(exc)) from None
        except OSError as exc:
            raise SpecError(location, "", f"cannot read {path}: {exc.strerror or exc}") from None
        # The bytes compiled must be the bytes digested (the compile cache stores the result under the
        # digest). A file whose identity is unchanged was not written since (ctime moves on every write
        # and cannot be set back), so hashing 13 MB again is only needed when it differs.
        if not unchanged and hashlib.sha256(again).hexdigest() != document.digest:
            raise SpecError(location, "", "the document changed while it was being compiled")
        return again

    # Otherwise the bytes are not held: a compile-cache hit needs only the digest, and a compile reads them once.
    document = LoadedDocument(location, path.as_uri(), raw, cache_dir, warnings, reread, digest,
                              ref_roots=(base_dir, path.parent))
    if written.parent != path.parent:
        document.seen_through = (path.parent, written.parent)
    if _recording is not None:
        _recording.add(path, digest, identity)
    return document


class ReadDigests:
    """sha256 (hex) of each local API description file as the compiles inside `digests_recorded()`
    read it, by resolved path: the bytes compiled are the bytes digested (see `reread`), so hot
    reload takes its baseline from here instead of hashing the file again (13 MB: ~0.015 s). With
    each, the file's settled identity as read (`mcprt.file_identity`; `()` when not settled), so a
    later look needs only a stat while the file is unwritten."""

    MIXED = "mixed"  # two loads of one path disagreed: matches no file's digest, so a reload follows

    def __init__(self) -> None:
        self._found: dict[Path, str | PendingDigest] = {}
        self._identities: dict[Path, tuple[int, ...]] = {}
        self._lock = threading.Lock()  # sources compile in threads

    def add(self, path: Path, digest: str | PendingDigest, identity: tuple[int, ...] = ()) -> None:
        with self._lock:
            known = self._found.get(path)
            if known is None or known is digest:
                self._found[path] = digest
                self._identities[path] = identity if self._identities.get(path, identity) == identity else ()
            elif _resolved(known) != _resolved(digest):
                self._found[path] = self.MIXED
                self._identities[path] = ()

    def identity(self, path: Path) -> tuple[int, ...]:
        """The settled identity `path` had when it was read, `()` when none can be trusted."""
        return self._identities.get(path, ())

    def __contains__(self, path: object) -> bool:
        return path in self._found

    def get(self, path: Path) -> str | None:
        """The digest read for `path` (waits for one still being computed), None if none was read."""
        known = self._found.get(path)
        return None if known is None else _resolved(known)


def _resolved(digest: str | PendingDigest) -> str:
    return digest if isinstance(digest, str) else digest.result()


_recording: ReadDigests | None = None


@contextlib.contextmanager
def digests_recorded(enabled: bool = True) -> Iterator[ReadDigests]:
    """Record the digest of each local description that compiles inside this block load (`mcprt up`
    with hot reload: the watcher's baseline is the content the running tool set was compiled from)."""
    global _recording
    found = ReadDigests()
    if not enabled:
        yield found
        return
    _recording = found
    try:
        yield found
    finally:
        _recording = None


def _digest_entry(cache_dir: Path, path: Path) -> Path:
    return Path(cache_dir) / "openapi" / f"digest-{hashlib.sha256(str(path).encode()).hexdigest()[:32]}.json"


def _recorded_digest(path: Path, cache_dir: Path | None) -> tuple[str, tuple[int, ...]] | None:
    """The digest recorded for this file when its identity is still the recorded one (the file was
    not written since; see `mcprt.file_identity`): a warm start does not hash 13 MB again (~0.012 s)."""
    if cache_dir is None:
        return None
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_spec_bytes():
            return None  # `_file_digest` says why
        recorded = json.loads(_digest_entry(cache_dir, path).read_bytes())
    except (OSError, ValueError):
        return None
    identity = file_identity(info)
    if not isinstance(recorded, dict) or recorded.get("identity") != list(identity) \
            or not isinstance(recorded.get("digest"), str):
        return None
    return recorded["digest"], identity


def _record_digest(path: Path, cache_dir: Path | None, digest: str, identity: tuple[int, ...]) -> None:
    """Remember the digest under the file's identity. Without an identity (written too recently to
    be recognized by it) the record only says the file was seen: the next start hashes it before
    it looks in the compile cache, which may have its compile, instead of parsing beside the hash."""
    if cache_dir is None:
        return
    entry = json.dumps({"identity": identity, "digest": digest}).encode()
    fetching.write_cached(cache_dir, _digest_entry(cache_dir, path), entry)  # one that cannot be written: warned


def _file_digest(path: Path, location: str) -> tuple[str, tuple[int, ...]]:
    """sha256 of a file, read in chunks (so a cache hit never holds the whole document), and the
    file's identity after reading (see `mcprt.file_identity`)."""

    def digest(handle: BinaryIO, limit: int) -> str:
        hashed = hashlib.sha256()
        while chunk := handle.read(1 << 20):
            hashed.update(chunk)
        return hashed.hexdigest()

    return _read_file(path, location, digest)


def _file_bytes(path: Path, location: str) -> tuple[bytes, tuple[int, ...]]:
    """A file's bytes and its identity after reading (see `mcprt.file_identity`)."""

    def whole(handle: BinaryIO, limit: int) -> bytes:
        raw = handle.read(limit + 1)
        if len(raw) > limit:  # it grew while being read
            raise SpecError(location, "", f"{path} is over the API description limit of {limit:,} bytes "
                            "(raise it with MCPRT_MAX_SPEC_BYTES)")
        return raw

    return _read_file(path, location, whole)


def _read_file(path: Path, location: str, consume: Callable[[BinaryIO, int], _T]) -> tuple[_T, tuple[int, ...]]:
    """`consume(handle, limit)` on the opened description file, and the file's settled identity;
    every failure a SpecError (not a regular file, over the size limit, unreadable)."""
    limit = max_spec_bytes()
    try:
        with open_regular(path, str(path)) as handle:  # /dev/zero or a FIFO would be read forever
            info = os.fstat(handle.fileno())
            if info.st_size > limit:
                raise SpecError(location, "", f"{path} is {info.st_size:,} bytes, over the API description "
                                f"limit of {limit:,} (raise it with MCPRT_MAX_SPEC_BYTES)")
            result = consume(handle, limit)
            after = os.fstat(handle.fileno())
    except IsADirectoryError:
        raise SpecError(location, "", f"{path} is a directory, not an API description") from None
    except LimitExceeded:
        raise SpecError(location, "", f"{path} is not a regular file") from None
    except FileNotFoundError as exc:  # a name saved decomposed (a Mac) and written composed looks the same
        raise SpecError(location, "", f"cannot read {path}: {exc.strerror or exc}{look_alike_hint(path)}") from None
    except OSError as exc:
        raise SpecError(location, "", f"cannot read {path}: {exc.strerror or exc}") from None
    return result, settled_identity(info, after)


class PendingDigest:
    """sha256 of `raw`, computed in a daemon thread from construction on; `result()` waits for it
    and then calls `done(digest)` once (in the caller's thread)."""

    def __init__(self, raw: bytes, done: Callable[[str], None]) -> None:
        self._done = done
        self._value: str | None = None
        self._thread = threading.Thread(target=self._run, args=(raw,), name="mcprt-digest", daemon=True)
        self._thread.start()

    def _run(self, raw: bytes) -> None:
        self._value = hashlib.sha256(raw).hexdigest()

    def result(self) -> str:
        self._thread.join()
        assert self._value is not None
        done, self._done = self._done, None
        if done is not None:
            done(self._value)
        return self._value


def document_from_bytes(raw: bytes, location: str = "<memory>", base_uri: str | None = None) -> LoadedDocument:
    """A document already in memory (tests, or a source handing bytes over)."""
    uri = base_uri or (Path.cwd() / "__memory__.json").as_uri()
    return LoadedDocument(location, uri, raw)
