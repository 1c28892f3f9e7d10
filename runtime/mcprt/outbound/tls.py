"""Which certificate authorities an HTTPS upstream is checked against, and the client certificate it sees.

Precedence, highest first (each replaces the ones below it, as a CA bundle does in curl and requests):
  1. the source's `tls.ca_file` (a PEM bundle, relative to the manifest) — for one cluster's private CA;
  2. the standard `SSL_CERT_FILE` / `SSL_CERT_DIR` variables (OpenSSL's names, which httpx, curl and
     Python's `ssl` read), when either is set and not empty;
  3. certifi's bundle (Mozilla's roots), the store httpx used before aiohttp carried API calls.
A `tls.cert_file` (+ `key_file`) is presented to servers that ask for one (mutual TLS, RFC 8446 §4.4.2).

A context is made only for an HTTPS upstream (at the source's open, or at the first https hop of an
http source): a wrong `SSL_CERT_FILE` must not break plain-http calls. What the environment names and
cannot be loaded is a `TrustStoreError` naming the variable, never blamed on the source's own files.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache
from pathlib import Path

from ..errors import ToolCallError

# Where the message about a failed verification sends the user (failures.py).
TRUST_HINT = ("to trust a private CA, give the source `tls: {ca_file: ca.pem}` or set SSL_CERT_FILE "
              "(or SSL_CERT_DIR) for the mcprt process")


class TrustStoreError(ToolCallError):
    """`SSL_CERT_FILE` / `SSL_CERT_DIR` name no loadable CA bundle; the message names the variable and
    its value (a path, not a secret) and says what to do. A ToolCallError: a call that needs the store
    returns it to the model, as any call that cannot proceed."""


def client_context(ca_file: Path | None = None, cert_file: Path | None = None,
                   key_file: Path | None = None) -> ssl.SSLContext:
    """A verifying client context trusting the CAs chosen as the module docstring says, presenting
    `cert_file`/`key_file` when given. Made once per distinct setting and environment (loading certifi's
    bundle costs ~20 ms). Raises TrustStoreError when the environment's store cannot be loaded, OSError /
    ssl.SSLError for one of the given files that is missing or not PEM."""
    env = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    if ca_file is None and env != (None, None):
        try:
            _context(None, None, None, env, _versions(*env))
        except (OSError, ssl.SSLError) as exc:
            named = " and ".join(f"{name}={value}" for name, value in zip(("SSL_CERT_FILE", "SSL_CERT_DIR"), env)
                                 if value)
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
            raise TrustStoreError(f"the CA bundle the environment names cannot be loaded ({named}: {why}); "
                                  "point the variable at a PEM file (directory for SSL_CERT_DIR) or unset it "
                                  "for the default public roots") from None
    return _context(ca_file, cert_file, key_file, env if ca_file is None else (None, None),
                    _versions(ca_file, cert_file, key_file, *(env if ca_file is None else ())))


def _versions(*paths: Path | str | None) -> tuple[tuple[int, int], ...]:
    """(mtime ns, size) of each file, part of the cache key: a rotated CA or certificate (a cluster's
    `ca.crt` renewed) is read again when the source reopens (its tls files are watched: binding.py)."""
    found = []
    for path in paths:
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None  # loading it reports what is wrong
        found.append((stat.st_mtime_ns, stat.st_size) if stat else (0, 0))
    return tuple(found)


@lru_cache(maxsize=32)
def _context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None,
             env: tuple[str | None, str | None], versions: tuple[tuple[int, int], ...]) -> ssl.SSLContext:
    del versions  # only a part of the cache key
    if ca_file is not None:
        context = ssl.create_default_context(cafile=str(ca_file))
    elif env != (None, None):
        context = ssl.create_default_context(cafile=env[0], capath=env[1])
    else:
        import certifi  # comes with httpx

        context = ssl.create_default_context(cafile=certifi.where())
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file is not None else None,
                                password=_refuse_passphrase)
    return context


def _refuse_passphrase() -> bytes:
    """Called by OpenSSL for an encrypted key: without it OpenSSL asks on the terminal, which hangs a
    server (no one to answer) or takes a passphrase out of band; mcprt reads unencrypted keys only."""
    raise ssl.SSLError("the private key is encrypted; give an unencrypted one "
                       "(`openssl pkey -in key.pem -out key-plain.pem`, kept readable by mcprt only)")
