"""A source's `tls:` (`manifest.model.UpstreamTls`) as the client TLS context its HTTPS requests use.

One setting, one reading for every HTTP-speaking source kind: an OpenAPI source's API requests and
description download, a `url:` source's connection to its MCP server. Paths are relative to the
manifest; trust and client certificate as `outbound.tls` says (the source's `ca_file` replaces the
default store; `cert_file`/`key_file` are shown to a server that asks, RFC 8446 §4.4.2).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from ..errors import SourceConfigError


def tls_files(config: Any, base_dir: Path) -> list[Path]:
    """The files the source's `tls:` names (none without it): watched like the source's other files, so
    a rotated CA or client certificate reopens the source, which reads them again."""
    tls = getattr(config, "tls", None)
    if tls is None:
        return []
    return [base_dir / name for name in (tls.ca_file, tls.cert_file, tls.key_file) if name]


def tls_context(config: Any, base_dir: Path, https: bool, url_key: tuple[str, ...]) -> ssl.SSLContext | None:
    """The source's `tls:` as a client context, made at open so that a missing or unreadable file is an
    error of the source, at load, rather than of its first call. Without `tls:`, None (the default trust,
    made at the first https hop), after checking that the environment's store loads when `https` (the
    source calls an https URL): a wrong SSL_CERT_FILE is then a load error naming it (at `url_key`, the
    manifest key of that URL), while an http-only source never reads it.

    Raises SourceConfigError: a named file missing (at `tls.<key>`), not PEM or a key not matching its
    certificate (at `tls`), the environment's store unloadable."""
    from ..outbound.tls import TrustStoreError, client_context

    tls = getattr(config, "tls", None)
    if tls is None:
        if https:
            try:
                client_context()
            except TrustStoreError as exc:
                raise SourceConfigError([(url_key, str(exc))]) from None
        return None
    paths = {key: base_dir / value for key, value in
             (("ca_file", tls.ca_file), ("cert_file", tls.cert_file), ("key_file", tls.key_file)) if value}
    missing = [(("tls", key), f"no such file: {path}") for key, path in paths.items() if not path.is_file()]
    if missing:
        raise SourceConfigError(missing)
    try:
        return client_context(**paths)
    except TrustStoreError as exc:  # the environment's store, with only `cert_file`: not these files' fault
        raise SourceConfigError([(("tls",), str(exc))]) from None
    except (OSError, ssl.SSLError) as exc:  # not PEM, a key not matching its certificate
        raise SourceConfigError([(("tls",), f"cannot load {', '.join(map(str, paths.values()))}: "
                                            f"{getattr(exc, 'reason', None) or exc}")]) from None
