"""A self-signed certificate made in the test (the `cryptography` package, installed with joserfc), for
real local HTTPS servers: the certificate file doubles as the only CA a client trusts."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Sequence
from pathlib import Path


def self_signed(folder: Path, *, names: Sequence[str] = (), addresses: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write `cert.pem` and `key.pem` into `folder`: a certificate valid for an hour, for the DNS `names`
    and IP `addresses` (its subject alternative names) and nothing else; return (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, [*names, *addresses][0])])
    alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternatives += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server context presenting `cert`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def mutual_tls(folder: Path, client_certificate: int) -> tuple[ssl.SSLContext, Path, Path, Path]:
    """A server on 127.0.0.1 with a self-signed certificate (`folder/server/cert.pem`, the only CA that
    trusts it) asking for the client certificate in `folder/client` (`cert.pem`, `key.pem`, CN
    `mcprt-client`) with `client_certificate` (`ssl.CERT_OPTIONAL` or `ssl.CERT_REQUIRED`).
    (server context, server certificate, client certificate, client key)."""
    (folder / "server").mkdir()
    (folder / "client").mkdir()
    cert, key = self_signed(folder / "server", addresses=["127.0.0.1"])
    client_cert, client_key = self_signed(folder / "client", names=["mcprt-client"])
    context = server_context(cert, key)
    context.verify_mode = ssl.VerifyMode(client_certificate)
    context.load_verify_locations(client_cert)
    return context, cert, client_cert, client_key
