"""Which certificate authorities an HTTPS upstream is checked against, and the client certificate it sees.

Precedence, highest first (each replaces the ones below it, as a CA bundle does in curl and requests):
  1. the source's `tls.ca_file` (a PEM bundle, relative to the manifest) — for one cluster's private CA;
  2. the standard `SSL_CERT_FILE` / `SSL_CERT_DIR` variables (OpenSSL's names, which httpx, curl and
     Python's `ssl` read), when either is set and not empty;
  3. certifi's bundle (Mozilla's roots), the store httpx used before aiohttp carried API calls.
A `tls.cert_file` (+ `key_file`) is presented to servers that ask for one (mutual TLS, RFC 8446 §4.4.2).
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache
from pathlib import Path

# Where the message about a failed verification sends the user (failures.py).
TRUST_HINT = ("to trust a private CA, give the source `tls: {ca_file: ca.pem}` or set SSL_CERT_FILE "
              "(or SSL_CERT_DIR) for the mcprt process")


def client_context(ca_file: Path | None = None, cert_file: Path | None = None,
                   key_file: Path | None = None) -> ssl.SSLContext:
    """A verifying client context trusting the CAs chosen as the module docstring says, presenting
    `cert_file`/`key_file` when given. Made once per distinct setting and environment (loading certifi's
    bundle costs ~20 ms). Raises OSError / ssl.SSLError for a file that is missing or not PEM."""
    env = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    return _context(ca_file, cert_file, key_file, env if ca_file is None else (None, None))


@lru_cache(maxsize=32)
def _context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None,
             env: tuple[str | None, str | None]) -> ssl.SSLContext:
    if ca_file is not None:
        context = ssl.create_default_context(cafile=str(ca_file))
    elif env != (None, None):
        context = ssl.create_default_context(cafile=env[0], capath=env[1])
    else:
        import certifi  # comes with httpx

        context = ssl.create_default_context(cafile=certifi.where())
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file is not None else None)
    return context
