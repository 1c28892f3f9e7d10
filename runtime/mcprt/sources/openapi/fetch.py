"""Fetching a document over HTTP with a revalidating on-disk cache.

The cache (keyed by URL) keeps the body and its ETag/Last-Modified, so an unchanged document costs a
304, and a restart without network still works from the last copy (with a warning saying so).
httpx is imported only here and only when a URL is actually fetched.

A source's `tls:` applies to its description as to its API (`SOURCE_TLS`, set while the source's
description is loaded, $refs to other URLs included) when the URL has the API's origin: a private API
serves its description from its own host (Kubernetes' `/openapi/v3`, a service's `/openapi.json`), behind
the same private CA or mTLS. Another host (a vendor's description on a public host) gets the default
trust: a `ca_file` replaces the default store, and the client certificate is the API's, not a third party's.

Every fetch (an API description, a document a `$ref` names) is bounded and guarded:
- time: the whole fetch, redirects, headers and body included, must end within `MCPRT_SPEC_FETCH_TIMEOUT`
  seconds (default 60; a watchdog closes the client then), so a server dripping a byte a second cannot
  hold `validate` or `up` forever; when a pinned copy can stand in, the final response's headers must come
  within `within` seconds (5, `pinned.PINNED_FETCH_TIMEOUT`) and the body may pause that long at most;
- addresses: no document is read from a link-local or cloud metadata address (169.254.0.0/16, fe80::/10,
  fd00:ec2::254, …: `outbound.redirects.address_range`), checked on the resolved addresses before
  connecting and on the address the connection reached once the response starts (httpx resolves the
  name again and has sent the GET by then: a rebinding name is caught there, not before); redirects are followed by hand, at most
  `MAX_REDIRECTS`, http(s) only, and a redirect to another origin is held to the ranges an API call's
  redirect may reach (public, or the range the first origin answered from: the same rule, one place).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mcprt.cancellation import check_abandoned
from mcprt.errors import SpecError, ToolCallError
from mcprt.manifest.limits import DEFAULT_MAX_SPEC_BYTES, max_spec_bytes
from mcprt.outbound.redirects import (
    LINK_LOCAL,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    address_range,
    origin_of,
    peer_address,
    redirect_ranges,
    resolve_location,
)
from mcprt.settings import env_limit

if TYPE_CHECKING:
    import httpx

MAX_DOCUMENT_BYTES = DEFAULT_MAX_SPEC_BYTES  # the default; MCPRT_MAX_SPEC_BYTES changes it
FETCH_TIMEOUT = 30.0  # one read or connect: a stalled server fails sooner than the whole fetch's deadline
SPEC_FETCH_TIMEOUT_SECONDS = 60.0  # MCPRT_SPEC_FETCH_TIMEOUT: the whole fetch, redirects and body included


def spec_fetch_timeout() -> float:
    """Seconds one description fetch may take in all (`MCPRT_SPEC_FETCH_TIMEOUT`, default 60)."""
    return env_limit("MCPRT_SPEC_FETCH_TIMEOUT", SPEC_FETCH_TIMEOUT_SECONDS)


class _Refused(Exception):
    """A hop the guard refuses (its message says why); reported like any other failed fetch."""

# The TLS context of the source whose description is being loaded (`sources.tls_setting`) and the
# (scheme, host, port) it is for; None: httpx's default trust (certifi, or SSL_CERT_FILE / SSL_CERT_DIR).
SourceTls = tuple[ssl.SSLContext, tuple[str, str, int | None]]
SOURCE_TLS: ContextVar[SourceTls | None] = ContextVar("SOURCE_TLS", default=None)


@contextmanager
def source_tls(context: ssl.SSLContext | None, api_url: str | None = None) -> Iterator[None]:
    """Fetches in this block (this thread or task) of a URL with `api_url`'s origin (scheme, host, port)
    check certificates, and show a client certificate, as `context` says; other URLs, and all with
    `context` None, get the default trust."""
    token = SOURCE_TLS.set((context, origin_of(api_url)) if context is not None and api_url else None)
    try:
        yield
    finally:
        SOURCE_TLS.reset(token)


@dataclass(slots=True)
class Fetched:
    """A fetched description's bytes; `warning` when a stale cached copy stood in."""

    body: bytes
    warning: str | None = None
    from_cache: bool = False


def _paths(cache_dir: Path, url: str) -> tuple[Path, Path]:
    digest = hashlib.sha256(url.encode()).hexdigest()
    folder = cache_dir / "http"
    return folder / f"{digest}.body", folder / f"{digest}.meta.json"


def write_atomic(path: Path, data: bytes, *, shared: bool = False) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file. The temporary file is
    created 0600 (`mkstemp`), right for the private cache; `shared`: a file a user checks in or another
    user reads (a pinned spec), given the mode `open()` would give it, 0666 less the umask (0644 under
    0022) — a trial found `mcprt pin`'s copy 0600 beside 0644 cases, unreadable to another user."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        if shared:
            os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_unwritable_said = threading.Lock()  # taken (never released) by the one warning `write_cached` gives a process


def write_cached(cache_dir: Path, path: Path, data: bytes) -> bool:
    """`write_atomic` of a cache entry under `cache_dir` (`MCPRT_CACHE_DIR`, default `~/.cache/mcprt`); False when
    it cannot be written. A cache that cannot be written only costs time, but silently it cost every start a
    cold compile with no hint why (a Kubernetes trial: a read-only root, `HOME=/nonexistent`, three `mkdir` EACCES
    in strace and nothing in the log): the first failure of the process is one warning naming the folder and the
    OS error, and how to give it a writable place."""
    try:
        write_atomic(path, data)
        return True
    except OSError as exc:
        if _unwritable_said.acquire(blocking=False):
            from ...observability.log import log_event

            log_event(f"the cache folder {cache_dir} cannot be written, so nothing compiled is kept and every start "
                      "compiles from scratch: set MCPRT_CACHE_DIR to a writable folder (in Kubernetes, mount an "
                      "emptyDir volume there)", logging.WARNING, folder=str(cache_dir),
                      error=f"{exc.strerror or type(exc).__name__}: {exc.filename or path}")
        return False


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (`/proc/self/status`, 4.7+): setting
    and restoring it (the only portable way) would race any thread creating a file meanwhile."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def cached_copy_named(cache_dir: Path | None, url: str) -> str:
    """How a warning names the cached copy of `url` it falls back to: its file and when it was saved
    (the body file's time: a 304 revalidation leaves it as it was), e.g. `the cached copy
    ~/.cache/mcprt/http/3f….body (saved 2026-11-30 09:13 UTC)`."""
    if cache_dir is None:
        return "the cached copy"
    body_path, _ = _paths(cache_dir, url)
    return f"the cached copy {body_path}{saved_on(body_path)}"


def saved_on(path: Path) -> str:
    """` (saved 2026-11-30 09:13 UTC)`: when the file was last written (its mtime, UTC), or "" when it cannot
    be read: an operator told which copy of a description is served is told how old it is."""
    try:
        return time.strftime(" (saved %Y-%m-%d %H:%M UTC)", time.gmtime(path.stat().st_mtime))
    except OSError:
        return ""


def _read_cache(cache_dir: Path | None, url: str) -> tuple[bytes | None, dict[str, str]]:
    if cache_dir is None:
        return None, {}
    body_path, meta_path = _paths(cache_dir, url)
    try:
        meta = json.loads(meta_path.read_text())
        body = body_path.read_bytes()
    except (OSError, ValueError):
        return None, {}
    if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(body).hexdigest():
        return None, {}
    return body, meta


def _write_cache(cache_dir: Path | None, url: str, body: bytes, etag: str | None, modified: str | None) -> None:
    if cache_dir is None:
        return
    body_path, meta_path = _paths(cache_dir, url)
    meta = {"url": url, "etag": etag, "last_modified": modified, "sha256": hashlib.sha256(body).hexdigest()}
    if write_cached(cache_dir, body_path, body):  # one that cannot be written is only slower next time
        write_cached(cache_dir, meta_path, json.dumps(meta).encode())


def cached_reader(cache_dir: Path | None, url: str, body: bytes) -> Callable[[], bytes] | None:
    """A way to read `body` again from the cache (None when it is not there to read)."""
    if cache_dir is None:
        return None
    body_path, _ = _paths(cache_dir, url)
    digest = hashlib.sha256(body).hexdigest()

    def reread() -> bytes:
        again = body_path.read_bytes()
        if hashlib.sha256(again).hexdigest() != digest:
            raise SpecError(url, "", "the cached document changed while it was being compiled")
        return again

    try:
        if body_path.stat().st_size != len(body):
            return None
    except OSError:
        return None
    return reread


def cached_copy(url: str, cache_dir: Path | None) -> Fetched | None:
    """The last fetched copy of `url` from the cache, without touching the network (None if none)."""
    cached, _ = _read_cache(cache_dir, url)
    return Fetched(cached, from_cache=True) if cached is not None else None


def _check_range(url: str, address: str, allowed: frozenset[str] | None) -> None:
    """_Refused when `address` (what `url`'s host resolved to or reached) is link-local/metadata, or,
    for a redirect to another origin, outside `allowed`."""
    found = address_range(address)
    if found == LINK_LOCAL or (allowed is not None and found not in allowed):
        host = urlsplit(url).hostname or ""
        shown = host if host == address else f"{host} ({address})"
        why = ("a description is never fetched from one: cloud metadata lives there" if found == LINK_LOCAL
               else "a redirect may not lead into a network the first server is not in")
        raise _Refused(f"{shown} is a {found} address; not fetched ({why})")


def _check_before(url: str, allowed: frozenset[str] | None) -> None:
    """Check the addresses `url`'s host resolves to before connecting (literal IPs included)."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return  # the fetch itself reports the name that does not resolve
    for info in infos:
        _check_range(url, str(info[4][0]), allowed)


class _Fired(threading.Event):
    """Set when a `_watchdog` fired; `stop()` disarms it (the part of the fetch it bounds is over)."""

    def __init__(self, timer: threading.Timer) -> None:
        super().__init__()
        self._timer = timer

    def stop(self) -> None:
        self._timer.cancel()


@contextmanager
def _watchdog(client: httpx.Client, limit: float) -> Iterator[_Fired]:
    """Close `client`'s connections `limit` seconds from now, wherever the fetch is: the per-read
    timeout and the checks between chunks cannot end a server dripping one header byte at a time (each
    read succeeds, and httpx reads all headers before returning); a closed socket ends the read. The
    event yielded is set when it fired (the read's error is then the deadline's)."""

    def close() -> None:
        fired.set()
        client.close()

    timer = threading.Timer(limit, close)
    fired = _Fired(timer)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _deadline_passed(limit: float) -> str:
    return f"not complete after {limit:g} s, the limit MCPRT_SPEC_FETCH_TIMEOUT sets"


def _not_answering(within: float) -> str:
    return (f"no answer within {within:g} s (connecting, the response headers, or a pause in the body), "
            "the limit while a pinned copy can stand in")


def _left(deadline: float, limit: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Refused(_deadline_passed(limit))
    return left


def fetch(url: str, cache_dir: Path | None, *, timeout: float = FETCH_TIMEOUT, within: float | None = None) -> Fetched:
    """GET `url`, revalidating a cached copy; fall back to the copy when the network fails.

    Bounded by `MCPRT_SPEC_FETCH_TIMEOUT` seconds in all and guarded (module docstring); a refusal,
    the deadline, an HTTP status ≥ 400 or a network error is a failed fetch: the cached copy with a
    warning, else SpecError `cannot fetch the document (<why>) and no cached copy exists`. `within`
    (seconds; when a pinned copy waits): the bound for reaching the final response's headers (connects
    and redirects included) and for each pause between reads of the body — a URL that never answers gives
    way quickly, while a slow but flowing download still gets `MCPRT_SPEC_FETCH_TIMEOUT` in all (capping
    the whole body at 5 s meant an 888 KB spec sent in 8 s was never cached, so every start used the pin)."""
    import httpx

    cached, meta = _read_cache(cache_dir, url)
    headers = {"Accept": "application/json, application/yaml;q=0.9, */*;q=0.5"}
    if cached is not None:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    limit = spec_fetch_timeout()
    timeout = min(timeout, limit, within if within is not None else limit)  # each connect and read
    deadline = time.monotonic() + limit
    try:
        trust = SOURCE_TLS.get()
        verify = trust[0] if trust is not None and origin_of(url) == trust[1] else True
        with httpx.Client(follow_redirects=False, verify=verify) as client, _watchdog(client, limit) as fired, \
                _watchdog(client, within if within is not None else limit) as unanswered:
            target, allowed, first_range = url, None, None
            for _ in range(MAX_REDIRECTS + 1):
                _check_before(target, allowed)
                wait = min(timeout, _left(deadline, limit))
                with client.stream("GET", target, headers=headers, timeout=wait) as response:
                    peer = peer_address(response)
                    if peer is not None:
                        _check_range(target, peer, allowed)
                        if allowed is None and first_range is None:
                            first_range = address_range(peer)
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        target = resolve_location(target, location)
                        allowed = None if origin_of(target) == origin_of(url) else redirect_ranges(first_range)
                        continue
                    unanswered.stop()  # the final response's headers are in: the body gets the whole deadline
                    if response.status_code == 304 and cached is not None:
                        return Fetched(cached, from_cache=True)
                    if response.status_code >= 400:
                        problem = f"HTTP {response.status_code}"
                        break
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        check_abandoned()  # a slow download for a superseded reload ends here, uncached
                        _left(deadline, limit)
                        size += len(chunk)
                        if size > max_spec_bytes():
                            raise SpecError(url, "", f"document is larger than {max_spec_bytes():,} bytes "
                                            "(raise the limit with MCPRT_MAX_SPEC_BYTES)")
                        chunks.append(chunk)
                    body = b"".join(chunks)
                    _write_cache(
                        cache_dir, url, body, response.headers.get("etag"), response.headers.get("last-modified")
                    )
                    return Fetched(body)
            else:
                problem = f"more than {MAX_REDIRECTS} redirects"
    except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: httpx's "client has been closed"
        if not (fired.is_set() or unanswered.is_set()) and isinstance(exc, RuntimeError):
            raise
        problem = (_deadline_passed(limit) if fired.is_set()
                   else f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if within is not None and not fired.is_set() and (unanswered.is_set()
                                                           or isinstance(exc, httpx.TimeoutException)):
            problem = _not_answering(within)  # the short bound did it (its watchdog or a read timeout): say which
    except (_Refused, ToolCallError) as exc:
        problem = str(exc)
    if cached is not None:
        return Fetched(cached, warning=f"could not fetch {url} ({problem}); using {cached_copy_named(cache_dir, url)}",
                       from_cache=True)
    raise SpecError(url, "", f"cannot fetch the document ({problem}) and no cached copy exists")
