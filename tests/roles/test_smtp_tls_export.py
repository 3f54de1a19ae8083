"""The mail certificate's export (api_stack's ``templates/smtp_tls_export.py.j2``), rendered by Ansible's own
templating and run against a stand-in ``docker`` that serves Caddy's files the way a renewal writes them.

Caddy writes a renewed certificate, then its key; the watch on the certificate starts the export at the first
write. The export reads a half-written renewal again until the pair is whole, and never hands postfix a key
with another certificate. tests/playbooks/test_site_machines.py proves the same on a droplet, with Caddy.
"""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
import sys
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROLE = Path(__file__).resolve().parents[2] / "collections/ansible_collections/oxy/infra/roles/api_stack"

# Serves /data/... of Caddy's container from $FAKE_CADDY_DATA. A file "<name>.later" takes the place of
# "<name>" at its $FAKE_LATER_AT-th read: the rest of a renewal, written while the export reads.
FAKE_DOCKER = """\
import json, os, sys
from pathlib import Path

data = Path(os.environ["FAKE_CADDY_DATA"])
with open(data / "calls", "a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:3] == ["exec", "oxy-caddy", "cat"]:
    served = data / Path(args[3]).name
    reads = data / (served.name + ".reads")
    count = int(reads.read_text()) + 1 if reads.exists() else 1
    reads.write_text(str(count))
    later = data / (served.name + ".later")
    if later.exists() and count >= int(os.environ.get("FAKE_LATER_AT", "1")):
        later.replace(served)
    if not served.exists():
        sys.exit(f"cat: {args[3]}: No such file or directory")
    sys.stdout.buffer.write(served.read_bytes())
elif args[:2] == ["container", "inspect"]:
    print(json.dumps([{"State": {"Running": True}}]))
elif args[:4] != ["exec", "oxy-smtp", "postfix", "reload"]:
    sys.exit(f"unexpected: {args}")
"""


def pair(name: str = "mail.oxy.so") -> tuple[bytes, bytes]:
    """A key and its self-signed certificate (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, cert.public_bytes(serialization.Encoding.PEM)


def render(root: Path) -> str:
    loader = DataLoader()
    variables: dict = {}
    for path in (ROLE / "defaults/main.yml", ROLE / "vars/main.yml"):
        variables.update(loader.load_from_file(str(path), trusted_as_template=True))
    variables.update({"ansible_managed": "Ansible managed", "api_stack_root": str(root)})
    templar = Templar(loader=loader, variables=variables)
    return templar.template(trust_as_template((ROLE / "templates/smtp_tls_export.py.j2").read_text()))


class Host:
    """The rendered export, a stand-in docker on PATH and Caddy's data as files."""

    def __init__(self, tmp_path: Path, script: str | None = None):
        self.data = tmp_path / "caddy"
        self.data.mkdir()
        (tmp_path / "smtp-tls").mkdir()
        self.chain = tmp_path / "smtp-tls/chain.pem"
        self.script = tmp_path / "export.py"
        self.script.write_text(script or render(tmp_path))
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        docker = bin_dir / "docker"
        docker.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
        docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
        self.env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_CADDY_DATA=str(self.data))

    def caddy_has(self, key: bytes | None, cert: bytes, later_key: bytes | None = None, later_at: int = 1) -> None:
        """Caddy's files now; ``later_key`` is the key a renewal writes after the certificate."""
        for name in ("mail.oxy.so.key", "mail.oxy.so.key.later", "mail.oxy.so.key.reads", "mail.oxy.so.crt.reads"):
            (self.data / name).unlink(missing_ok=True)
        if key is not None:
            (self.data / "mail.oxy.so.key").write_bytes(key)
        (self.data / "mail.oxy.so.crt").write_bytes(cert)
        if later_key is not None:
            (self.data / "mail.oxy.so.key.later").write_bytes(later_key)
        self.env["FAKE_LATER_AT"] = str(later_at)
        (self.data / "calls").unlink(missing_ok=True)

    def export(self) -> subprocess.CompletedProcess:
        script = [sys.executable, str(self.script)]
        return subprocess.run(script, env=self.env, capture_output=True, text=True, timeout=60)

    def reloads(self) -> int:
        calls = (self.data / "calls").read_text().splitlines()
        return calls.count("exec oxy-smtp postfix reload")

    def key_reads(self) -> int:
        return int((self.data / "mail.oxy.so.key.reads").read_text())


def test_a_whole_pair_is_exported_once_and_postfix_reloads_once(tmp_path):
    host = Host(tmp_path)
    key, cert = pair()
    host.caddy_has(key, cert)
    done = host.export()
    assert (done.returncode, done.stdout.strip()) == (0, "changed"), done.stderr
    assert host.chain.read_bytes() == key.strip() + b"\n" + cert.strip() + b"\n"
    assert stat.S_IMODE(host.chain.stat().st_mode) == 0o600
    assert host.reloads() == 1

    host.caddy_has(key, cert)
    again = host.export()
    assert (again.returncode, again.stdout.strip()) == (0, "unchanged"), again.stderr
    assert host.reloads() == 0


def test_a_renewal_half_written_is_read_again_until_its_key_belongs_to_its_certificate(tmp_path):
    host = Host(tmp_path)
    old_key, old_cert = pair()
    host.caddy_has(old_key, old_cert)
    assert host.export().returncode == 0

    new_key, new_cert = pair()
    host.caddy_has(old_key, new_cert, later_key=new_key, later_at=3)  # the key lands at the third read
    done = host.export()
    assert (done.returncode, done.stdout.strip()) == (0, "changed"), done.stderr
    assert host.key_reads() == 3
    assert host.chain.read_bytes() == new_key.strip() + b"\n" + new_cert.strip() + b"\n"
    assert host.reloads() == 1
    assert not [p for p in host.chain.parent.iterdir() if p.name != "chain.pem"], "a staged file was left behind"


def test_a_certificate_whose_key_is_not_written_yet_waits_for_it(tmp_path):
    host = Host(tmp_path)
    key, cert = pair()
    host.caddy_has(None, cert, later_key=key, later_at=2)  # the old files were removed; Caddy makes new ones
    done = host.export()
    assert (done.returncode, done.stdout.strip()) == (0, "changed"), done.stderr
    assert host.chain.read_bytes() == key.strip() + b"\n" + cert.strip() + b"\n"


def test_a_key_that_never_matches_is_refused_and_postfix_keeps_what_it_serves(tmp_path):
    rendered = render(tmp_path)
    assert "READS, PAUSE = 20, 0.5" in rendered
    host = Host(tmp_path, rendered.replace("READS, PAUSE = 20, 0.5", "READS, PAUSE = 3, 0.01"))
    key, cert = pair()
    host.caddy_has(key, cert)
    assert host.export().returncode == 0
    served = host.chain.read_bytes()

    other_key, _ = pair()
    _, new_cert = pair()
    host.caddy_has(other_key, new_cert)
    refused = host.export()
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"{host.chain}: not replaced: "), refused.stderr
    assert host.key_reads() == 3
    assert host.chain.read_bytes() == served
    assert host.reloads() == 0
    assert [p.name for p in host.chain.parent.iterdir()] == ["chain.pem"]
