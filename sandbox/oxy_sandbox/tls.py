"""A private CA and a server certificate for localhost, so clients can use https and verify it."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "oxy.infra sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The sandbox's CA (``ca.pem``, ``ca-key.pem``), created once."""
    ca_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if ca_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return x509.load_pem_x509_certificate(ca_path.read_bytes()), key
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("oxy.infra sandbox CA"))
        .issuer_name(_name("oxy.infra sandbox CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(_pem_key(ca_key))
    key_path.chmod(0o600)
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca, ca_key


def issue(directory: Path, stem: str, hosts: tuple[str, ...]) -> tuple[Path, Path]:
    """``<stem>.pem`` (with the CA appended) and ``<stem>-key.pem`` for ``hosts``, signed by the CA, once."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    ca, ca_key = _ca(directory)
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(_pem_key(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_certs(
    directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
) -> tuple[Path, Path, Path]:
    """Create (once) ``ca.pem``, ``server.pem`` and ``server-key.pem`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    if ca_path.exists() and not (directory / "ca-key.pem").exists():
        # A state dir from before the CA key was kept: start a new CA with new certificates.
        for stale in directory.glob("*.pem"):
            stale.unlink()
    cert_path, key_path = issue(directory, "server", hosts)
    return ca_path, cert_path, key_path


# The stand-in for a public CA: a root that lives long, an intermediate of a year (Caddy makes its own intermediate
# live 7 days by default, and a leaf must end before its intermediate).
PUBLIC_CA_DIR = "public-ca"
_PUBLIC_ROOT_DAYS = 3650
_PUBLIC_INTERMEDIATE_DAYS = 365
_PUBLIC_INTERMEDIATE_RENEW_DAYS = 120  # made anew once fewer days remain: still longer than a 90-day leaf


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(_pem_key(key))


def ensure_public_ca(directory: Path) -> Path:
    """The sandbox's stand-in for a public CA (as Let's Encrypt's roots are to DigitalOcean's probes), made once
    in ``directory/public-ca``: ``root.crt``/``root.key`` and ``intermediate.crt``/``intermediate.key`` (keys
    0600), in the names and form Caddy's local CA keeps them. The sandbox's uptime probes trust the root; a
    droplet's Caddy is handed the four files (sandbox inventory) and signs its sites' certificates with them.
    The intermediate is made anew when fewer than 120 days remain. Returns the folder."""
    folder = directory / PUBLIC_CA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    root_path, root_key_path = folder / "root.crt", folder / "root.key"
    if root_path.exists() and root_key_path.exists():
        root = x509.load_pem_x509_certificate(root_path.read_bytes())
        root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), password=None)
    else:
        root_key = ec.generate_private_key(ec.SECP256R1())
        name = _name("oxy.infra sandbox public CA (a stand-in for a public CA)")
        root = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=_PUBLIC_ROOT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        _write_key(root_key_path, root_key)
        root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        (folder / "intermediate.crt").unlink(missing_ok=True)  # a new root: a new intermediate under it
    inter_path, inter_key_path = folder / "intermediate.crt", folder / "intermediate.key"
    if inter_path.exists() and inter_key_path.exists():
        current = x509.load_pem_x509_certificate(inter_path.read_bytes())
        if current.not_valid_after_utc - now > dt.timedelta(days=_PUBLIC_INTERMEDIATE_RENEW_DAYS):
            return folder
    key = ec.generate_private_key(ec.SECP256R1())
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(_name("oxy.infra sandbox public CA - intermediate"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=_PUBLIC_INTERMEDIATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    _write_key(inter_key_path, key)
    inter_path.write_bytes(intermediate.public_bytes(serialization.Encoding.PEM))
    return folder
