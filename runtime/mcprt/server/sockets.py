"""The listening socket, bound by mcprt itself (standard library only: `mcprt up` binds it before
compiling the manifest, so a busy port is the first and only thing reported)."""

from __future__ import annotations

import errno
import socket

from ..errors import McprtError


def listen(host: str, port: int, *, moved_by: str = "--port", host_set_by: str = "--host") -> socket.socket:
    """A non-blocking socket listening on `host:port` (port 0: a free one; read it back with
    `getsockname()`). Raises McprtError with a message a user can act on: the port is in use, needs
    privileges, or the host is unknown or not an address of this machine. `moved_by` / `host_set_by`:
    the settings that choose this listener's port and host, as the message names them (the MCP
    port's `--port`, or stdio's metrics listener's `--metrics-port` / `server.observability.listen`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise McprtError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(512)
    except OSError as exc:
        sock.close()
        raise McprtError(_bind_failure(host, port, exc, moved_by, host_set_by)) from None
    sock.setblocking(False)
    return sock


def _bind_failure(host: str, port: int, exc: OSError, moved_by: str, host_set_by: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is in use (another server listens there): stop it, or serve on another "
                f"port with {moved_by} (0 picks a free one)")
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges this process lacks: use a port above 1023 with {moved_by}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: {host} is not an address of this machine ({host_set_by})"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
