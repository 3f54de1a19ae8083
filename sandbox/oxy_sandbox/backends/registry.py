"""The DigitalOcean Container Registry stand-in: a real registry (Debian's ``docker-registry``).

It serves HTTPS with a certificate from the sandbox's CA for ``registry.digitalocean.com`` on an
address of the sandbox's public network; the sandbox's droplets resolve that name to it, as real
droplets resolve DOCR. Pushes and pulls need the credentials that
``GET /v2/registry/docker-credentials`` hands out, and they are held to what DigitalOcean promises
of them: read-only unless ``read_write`` was asked for, dead after ``expiry_seconds``.

As DOCR does, the registry uses Docker's token authentication: it answers a client without a token
with a challenge naming the token service (``realm``), which this module serves next to it
(``address``:5001, same certificate). The service checks the client's credentials (Basic), refuses
expired ones, and signs a short-lived token (RS256, its certificate in ``x5c``) that grants only the
actions the credentials allow: ``pull``, and ``push`` for read-write ones. The registry verifies the
token's signature against the service's certificate, its scope and its expiry.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import hmac
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .. import tls

log = logging.getLogger("oxy_sandbox.registry")

HOSTNAME = "registry.digitalocean.com"
BINARY = "docker-registry"
USER = "oxy-sandbox"
TOKEN_PORT = 5001
ISSUER = "oxy-sandbox-registry-auth"
# How long a signed token lives at most; the registry accepts one up to LEEWAY seconds past its
# ``exp`` (docker/distribution's clock-skew allowance), so ``exp`` is set that much earlier than
# the credentials' end: no token outlives the credentials it was given for.
TOKEN_SECONDS = 300
LEEWAY = 60
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: the kernel ends the registry when the sandbox ends, however it ends."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Registry:
    """One registry process per sandbox, bound to ``address``:443, data and credentials in ``root``."""

    def __init__(self, root: Path, tls_dir: Path, address: str, clock=time.time):
        self.root = root
        self.tls_dir = tls_dir
        self.address = address
        self.clock = clock
        self.proc: subprocess.Popen | None = None
        self.token_server: ThreadingHTTPServer | None = None
        self._issued_lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        return shutil.which(BINARY) is not None

    @property
    def credentials(self) -> tuple[str, str]:
        """The sandbox operator's own read-write credential (``oxy-sandbox push``); it never expires."""
        path = self.root / "credentials.json"
        if not path.exists():
            path.write_text(json.dumps({"username": USER, "password": secrets.token_urlsafe(24)}))
            path.chmod(0o600)
        data = json.loads(path.read_text())
        return data["username"], data["password"]

    # -- credentials handed out by the API -------------------------------------------------
    @property
    def _issued_path(self) -> Path:
        return self.root / "issued.json"

    def _issued(self) -> dict:
        """username -> {password, read_write, expires_at (epoch seconds or None)}; the file is root's, 0600."""
        try:
            return json.loads(self._issued_path.read_text())
        except (OSError, ValueError):
            return {}

    def issue(self, read_write: bool = False, expiry_seconds: int = 0) -> dict:
        """New credentials, as DigitalOcean's docker-credentials hands them out: a Docker ``config.json``.

        Like DOCR's, the secret is both the user name and the password. Read-only unless
        ``read_write``; they stop working ``expiry_seconds`` from now, or never when it is 0.
        """
        secret = secrets.token_hex(32)
        now = self.clock()
        record = {
            "password": secret,
            "read_write": bool(read_write),
            "expires_at": now + expiry_seconds if expiry_seconds else None,
        }
        with self._issued_lock:
            issued = {user: r for user, r in self._issued().items() if r["expires_at"] is None or r["expires_at"] > now}
            issued[secret] = record
            self.root.mkdir(parents=True, exist_ok=True)
            path = self._issued_path.with_suffix(".tmp")
            path.write_text(json.dumps(issued))
            path.chmod(0o600)
            path.replace(self._issued_path)
        auth = base64.b64encode(f"{secret}:{secret}".encode()).decode()
        return {"auths": {HOSTNAME: {"auth": auth}}}

    def authenticate(self, user: str, password: str) -> dict | None:
        """What the credentials may do (``read_write``, ``expires_at``), or None: unknown, wrong or expired."""
        operator_user, operator_password = self.credentials
        if _same(user, operator_user) and _same(password, operator_password):
            return {"read_write": True, "expires_at": None}
        with self._issued_lock:
            record = self._issued().get(user)
        if record is None:
            return None
        if not _same(password, record.get("password") or ""):
            return None
        if record["expires_at"] is not None and self.clock() >= record["expires_at"]:
            return None
        return record

    def secrets(self) -> list[str]:
        """Every password handed out (the operator's too), so tests can prove none of them reaches output."""
        with self._issued_lock:
            issued = [record["password"] for record in self._issued().values() if "password" in record]
        return [self.credentials[1], *issued]

    # -- the token service ------------------------------------------------------------------
    @property
    def realm(self) -> str:
        return f"https://{self.address}:{TOKEN_PORT}/token"

    def _signing_key(self) -> tuple[Path, rsa.RSAPrivateKey, bytes]:
        """The token service's key and self-signed certificate (the registry's ``rootcertbundle``), once."""
        cert_path, key_path = self.root / "token-signer.pem", self.root / "token-signer-key.pem"
        if cert_path.exists() and key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            return cert_path, key, cert.public_bytes(serialization.Encoding.DER)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pkcs8 = serialization.PrivateFormat.PKCS8
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
        key_path.chmod(0o600)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, key, cert.public_bytes(serialization.Encoding.DER)

    def token(self, grant: dict, scopes: list[str]) -> dict:
        """A signed token for ``scopes`` (``repository:oxy/api:pull,push``), cut to what ``grant`` allows."""
        _path, key, der = self._signing_key()
        allowed = {"pull", "push"} if grant["read_write"] else {"pull"}
        access = []
        for scope in scopes:
            kind, _sep, rest = scope.partition(":")
            name, _sep, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            granted = sorted(allowed & set(actions.split(",")))
            if granted:
                access.append({"type": "repository", "name": name, "actions": granted})
        now = int(self.clock())
        end = now + TOKEN_SECONDS
        if grant["expires_at"] is not None:
            end = min(end, int(grant["expires_at"]))
        claims = {
            "iss": ISSUER,
            "sub": "oxy",
            "aud": HOSTNAME,
            "exp": end - LEEWAY,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64url(signature)}"
        issued_at = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"token": token, "access_token": token, "expires_in": max(1, end - now), "issued_at": issued_at}

    def _serve_tokens(self, cert: Path, key: Path) -> None:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                if url.path != "/token":
                    return self._answer(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
                user, _sep, password = "", "", ""
                header = self.headers.get("Authorization") or ""
                if header.startswith("Basic "):
                    with contextlib.suppress(ValueError):
                        user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                grant = registry.authenticate(user, password) if user else None
                if grant is None:
                    message = "authentication required" if not user else "invalid or expired credentials"
                    return self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": message}]})
                return self._answer(200, registry.token(grant, parse_qs(url.query).get("scope", [])))

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="oxy-sandbox-registry"')
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = ThreadingHTTPServer((self.address, TOKEN_PORT), Handler)
        server.daemon_threads = True
        # The handshake happens in each request's thread, so a slow client holds up no other.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, name="registry-tokens", daemon=True).start()
        self.token_server = server

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "htpasswd").unlink(missing_ok=True)  # the basic-auth file of sandboxes before tokens
        self.credentials  # noqa: B018 (creates the operator's credential once)
        # The address may differ from the last start (another sandbox took it): one certificate per address.
        cert, key = tls.issue(self.tls_dir, f"registry-{self.address}", (HOSTNAME, self.address))
        signer, _key, _der = self._signing_key()
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": f"{self.address}:443", "tls": {"certificate": str(cert), "key": str(key)}},
            "auth": {
                "token": {"realm": self.realm, "service": HOSTNAME, "issuer": ISSUER, "rootcertbundle": str(signer)}
            },
        }
        (self.root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self._trust_on_this_machine()
        self.stop()  # one left behind by a sandbox that was killed
        self._serve_tokens(cert, key)
        with open(self.root / "registry.log", "ab") as out:
            self.proc = subprocess.Popen(
                [BINARY, "serve", str(self.root / "config.yml")],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        (self.root / "registry.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.address, 443), timeout=0.5):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the registry did not start on {self.address}:443; see {self.root / 'registry.log'}")

    def _trust_on_this_machine(self) -> None:
        """This machine's Docker engine pushes to the registry by address: it trusts the sandbox CA there."""
        certs = Path("/etc/docker/certs.d") / self.address
        with contextlib.suppress(OSError):
            certs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.tls_dir / "ca.pem", certs / "ca.crt")

    def stop(self) -> None:
        if self.token_server is not None:
            self.token_server.shutdown()
            self.token_server.server_close()
            self.token_server = None
        pid_file = self.root / "registry.pid"
        pid = self.proc.pid if self.proc else None
        if pid is None and pid_file.exists():
            with contextlib.suppress(ValueError):
                pid = int(pid_file.read_text())
        if pid and _is_registry(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)
        self.proc = None

    def push(self, docker_client, image: str, repository: str) -> str:
        """Push the local ``image`` as ``repository`` (``oxy/api:v1``); answers the DOCR name."""
        user, password = self.credentials
        target = f"{self.address}/{repository}"
        name, _, tag = target.rpartition(":")
        docker_client.images.get(image).tag(name, tag)
        try:
            for line in docker_client.images.push(
                name, tag, auth_config={"username": user, "password": password}, stream=True, decode=True
            ):
                if "error" in line:
                    raise RuntimeError(f"push of {image} as {repository} failed: {line['error']}")
        finally:
            with contextlib.suppress(Exception):
                docker_client.images.remove(target, noprune=True)
        return f"{HOSTNAME}/{repository}"


def _same(given: str, known: str) -> bool:
    return hmac.compare_digest(given.encode(), known.encode())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _is_registry(pid: int) -> bool:
    try:
        return BINARY in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
