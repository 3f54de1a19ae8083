"""Start and stop a sandbox in a child process; used by tests, benchmarks and scripts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Running:
    url: str
    ca: str | None
    pid: int
    state_dir: Path

    def _request(self, method: str, url: str, body: dict | None, headers: dict) -> tuple[int, dict]:
        context = ssl.create_default_context(cafile=self.ca) if self.ca else None
        # A reset removes machines and their disks, which can take a while on a busy machine.
        timeout = 600 if url.endswith("/_sandbox/reset") else 60
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers = {**headers, "Content-Type": "application/json"}
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=context, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else {}

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        """A call to the sandbox's own API (``/_sandbox/<path>``)."""
        status, answer = self._request(method, f"{self.url}/_sandbox/{path}", body, {})
        if status >= 400:
            raise RuntimeError(f"sandbox {method} /_sandbox/{path}: {status} {answer}")
        return answer

    def api(self, method: str, path: str, body: dict | None = None, token: str = "sandbox-token") -> tuple[int, dict]:
        """A DigitalOcean API call: (status, body)."""
        return self._request(method, f"{self.url}{path}", body, {"Authorization": f"Bearer {token}"})

    def env(self, token: str = "sandbox-token") -> dict[str, str]:
        """The variables that point oxy.infra modules (and pydo scripts) at this sandbox."""
        env = {"DIGITALOCEAN_API_URL": self.url, "DIGITALOCEAN_TOKEN": token}
        if self.ca:
            env["DIGITALOCEAN_CA_BUNDLE"] = self.ca
        public_ca = self.state_dir / "tls" / "public-ca"
        if (public_ca / "root.crt").exists():
            # The sandbox's stand-in for a public CA: the sandbox inventory hands it to the droplet's Caddy.
            env["OXY_SANDBOX_PUBLIC_CA"] = str(public_ca)
        return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def start(
    state_dir: Path,
    *,
    reset: bool = False,
    port: int = 0,
    timeout: float = 30,
    extra: list[str] | None = None,
    log: Path | None = None,
) -> Running:
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / "endpoint.json"
    ready.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "oxy_sandbox",
        "serve",
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--ready-file",
        str(ready),
        *(["--reset"] if reset else []),
        *(extra or []),
    ]
    log = log or state_dir / "sandbox.log"
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            info = json.loads(ready.read_text())
            return Running(info["url"], info["ca"], proc.pid, state_dir)
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited with {proc.returncode}; see {log}")
        time.sleep(0.05)
    proc.kill()
    raise TimeoutError(f"sandbox did not start within {timeout}s; see {log}")


def find(state_dir: Path) -> Running | None:
    """The sandbox already serving from ``state_dir``, if any."""
    ready = Path(state_dir).resolve() / "endpoint.json"
    if not ready.exists():
        return None
    info = json.loads(ready.read_text())
    if not _alive(info["pid"]):
        return None
    return Running(info["url"], info["ca"], info["pid"], Path(state_dir).resolve())


def stop(running: Running, timeout: float = 10) -> None:
    try:
        os.kill(running.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(running.pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(running.pid, os.WNOHANG)
        time.sleep(0.05)
    if _alive(running.pid):
        os.kill(running.pid, signal.SIGKILL)
    (running.state_dir / "endpoint.json").unlink(missing_ok=True)
