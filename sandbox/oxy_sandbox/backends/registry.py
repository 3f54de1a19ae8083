"""The DigitalOcean Container Registry stand-in: a real registry (Debian's ``docker-registry``).

It serves HTTPS with a certificate from the sandbox's CA for ``registry.digitalocean.com`` on an
address of the sandbox's public network; the sandbox's droplets resolve that name to it, as real
droplets resolve DOCR. Pushes and pulls need the credentials that
``GET /v2/registry/docker-credentials`` hands out (htpasswd, bcrypt).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import bcrypt

from .. import tls

log = logging.getLogger("oxy_sandbox.registry")

HOSTNAME = "registry.digitalocean.com"
BINARY = "docker-registry"
USER = "oxy-sandbox"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: the kernel ends the registry when the sandbox ends, however it ends."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Registry:
    """One registry process per sandbox, bound to ``address``:443, data and credentials in ``root``."""

    def __init__(self, root: Path, tls_dir: Path, address: str):
        self.root = root
        self.tls_dir = tls_dir
        self.address = address
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which(BINARY) is not None

    @property
    def credentials(self) -> tuple[str, str]:
        path = self.root / "credentials.json"
        if not path.exists():
            path.write_text(json.dumps({"username": USER, "password": secrets.token_urlsafe(24)}))
            path.chmod(0o600)
        data = json.loads(path.read_text())
        return data["username"], data["password"]

    def docker_config(self) -> dict:
        """A Docker ``config.json`` as DigitalOcean's docker-credentials answers it."""
        user, password = self.credentials
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"auths": {HOSTNAME: {"auth": auth}}}

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        user, password = self.credentials
        htpasswd = self.root / "htpasswd"
        htpasswd.write_text(f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8)).decode()}\n")
        # The address may differ from the last start (another sandbox took it): one certificate per address.
        cert, key = tls.issue(self.tls_dir, f"registry-{self.address}", (HOSTNAME, self.address))
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": f"{self.address}:443", "tls": {"certificate": str(cert), "key": str(key)}},
            "auth": {"htpasswd": {"realm": "oxy-sandbox-registry", "path": str(htpasswd)}},
        }
        (self.root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self._trust_on_this_machine()
        self.stop()  # one left behind by a sandbox that was killed
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


def _is_registry(pid: int) -> bool:
    try:
        return BINARY in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
