"""Shared fixtures of the module tests."""

from __future__ import annotations

import datetime
import ipaddress
import json

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A CA with a certificate for 127.0.0.1, and another CA that did not sign it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, key, issuer, issuer_key, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    def pem(cert):
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key, other_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _key in range(3))
    ca = certificate("oxy test CA", ca_key, "oxy test CA", ca_key, True)
    other = certificate("another CA", other_key, "another CA", other_key, True)
    leaf = certificate("127.0.0.1", leaf_key, "oxy test CA", ca_key, False)
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "ca.pem").write_bytes(pem(ca))
    (folder / "other-ca.pem").write_bytes(pem(other))
    (folder / "server.pem").write_bytes(pem(leaf) + key)
    return folder


@pytest.fixture
def run_main(api_server, capsys):
    """``run_main(module, **args)``: the module's main() in this process against the scripted API (``api_server``),
    with a test token, no retries and ``args``; its exit code and its JSON result."""

    def run(module, **args):
        args = dict(dict(token="dop_v1_test", api_url=api_server.url, retries=0), **args)
        with patch_module_args(args), pytest.raises(SystemExit) as exited:
            module.main()
        return exited.value.code, json.loads(capsys.readouterr().out)

    return run
