"""The sandbox's stand-in for a public CA: made once, keys 0600, a chain Caddy can sign 90-day certificates with."""

from __future__ import annotations

import datetime as dt
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from oxy_sandbox.tls import ensure_public_ca

FILES = ("root.crt", "root.key", "intermediate.crt", "intermediate.key")


def _cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_made_once_with_private_keys_and_a_chain(tmp_path):
    folder = ensure_public_ca(tmp_path)
    assert folder == tmp_path / "public-ca" and sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in FILES:
        mode = stat.S_IMODE((folder / name).stat().st_mode)
        assert mode == (0o600 if name.endswith(".key") else 0o644), (name, oct(mode))
    root, intermediate = _cert(folder / "root.crt"), _cert(folder / "intermediate.crt")
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    intermediate.verify_directly_issued_by(root)
    # A leaf of 90 days ends well before the intermediate does.
    assert intermediate.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)
    before = {name: (folder / name).read_bytes() for name in FILES}
    assert {name: (ensure_public_ca(tmp_path) / name).read_bytes() for name in FILES} == before


def test_an_intermediate_near_its_end_is_made_anew_under_the_same_root(tmp_path):
    folder = ensure_public_ca(tmp_path)
    root, root_key = (
        _cert(folder / "root.crt"),
        serialization.load_pem_private_key((folder / "root.key").read_bytes(), password=None),
    )
    old = _cert(folder / "intermediate.crt")
    now = dt.datetime.now(dt.UTC)
    ending = (  # the same intermediate, 100 days from its end: fewer than a leaf needs, with a margin
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(root.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=265))
        .not_valid_after(now + dt.timedelta(days=100))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    (folder / "intermediate.crt").write_bytes(ending.public_bytes(serialization.Encoding.PEM))
    ensure_public_ca(tmp_path)
    renewed = _cert(folder / "intermediate.crt")
    assert renewed.not_valid_after_utc - now > dt.timedelta(days=300)
    assert (folder / "root.crt").read_bytes() == root.public_bytes(serialization.Encoding.PEM)
    renewed.verify_directly_issued_by(root)
    assert stat.S_IMODE((folder / "intermediate.key").stat().st_mode) == 0o600
