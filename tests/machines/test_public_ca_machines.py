"""The sandbox's HTTPS uptime probe verifies Caddy as DigitalOcean's verifies Let's Encrypt's certificates.

The api_stack role's Caddyfile, rendered as the sandbox inventory has it (``tls_internal`` with the
sandbox's stand-in for a public CA handed over, ``OXY_SANDBOX_PUBLIC_CA``), runs in the stack's Caddy
image in front of a small upstream. Its certificate verifies against the CA the probe trusts and lives
90 days, so a 14-day ``ssl_expiry`` alert stays quiet; stopping Caddy fires ``down`` within a few probe
intervals, starting it resolves it.

Needs a Docker engine and the Caddy image (scripts/test builds it and exports OXY_IMAGE_CADDY).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import ssl
import time
import uuid
from pathlib import Path

import pytest

from tests.roles.test_caddyfile import render_caddyfile

INTERVAL = 0.5
NOTIFY = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy", "url": "https://hooks.slack.com/services/T/B/secret"}]}
STORAGE = "caddy/pki/authorities/local"  # inside Caddy's data folder, as the role puts it


def _wait(what, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(INTERVAL / 2)
    raise AssertionError(f"not within {timeout}s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def caddy(sandbox, tmp_path):
    """The stack's Caddy with the sandbox's Caddyfile and CA, published on a loopback port: (container, port)."""
    image = os.environ.get("OXY_IMAGE_CADDY")
    if not image:
        pytest.skip("the stack's Caddy image is not built (OXY_IMAGE_CADDY; scripts/test builds it)")
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - no engine: skip with the reason
        pytest.skip(f"no Docker engine: {exc}")
    public_ca = sandbox.running.env().get("OXY_SANDBOX_PUBLIC_CA")
    assert public_ca, "a sandbox started by `oxy-sandbox serve` has its stand-in for a public CA"
    conf, data = tmp_path / "conf", tmp_path / "data"
    (data / STORAGE).mkdir(parents=True)
    for name in ("root.crt", "root.key", "intermediate.crt", "intermediate.key"):
        shutil.copy(Path(public_ca) / name, data / STORAGE / name)
    conf.mkdir()
    (conf / "Caddyfile").write_text(
        render_caddyfile(
            api_stack_tls_internal=True,
            api_stack_tls_internal_ca_dir=public_ca,
            api_stack_smtp_enabled=False,
            # The API's place: a listener in Caddy's own container (the image's Python).
            _api_stack_api_prefix="",
            __api_stack_serving="127.0.0.1",
            api_stack_api_port=3000,
        )
    )
    port = _free_port()
    container = client.containers.run(
        image,
        [
            "sh",
            "-c",
            "python3 -m http.server 3000 --bind 127.0.0.1 --directory /etc/caddy >/dev/null 2>&1 & "
            "exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile",
        ],
        name=f"oxy-test-public-ca-{uuid.uuid4().hex[:8]}",
        detach=True,
        ports={"443/tcp": ("127.0.0.1", port)},
        volumes={str(conf): {"bind": "/etc/caddy", "mode": "ro"}, str(data): {"bind": "/data", "mode": "rw"}},
        labels={"oxy.test": "public-ca"},
    )
    try:
        _wait(lambda: _serves(port, Path(public_ca) / "root.crt"), 30)  # before any check exists
        yield container, port
    finally:
        container.remove(force=True)


def _serves(port: int, root: Path) -> bool:
    """Whether Caddy answers for api.oxy.so on ``port`` with a certificate of the public CA stand-in."""
    context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname="api.oxy.so"),
        ):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_an_https_check_verifies_caddy_and_tells_when_it_stops_and_starts(caddy, do, sandbox):
    container, port = caddy
    do.domains.create({"name": "oxy.so"})
    do.domains.create_record("oxy.so", {"type": "A", "name": "api", "data": "127.0.0.1", "ttl": 1800})
    sandbox.configure(uptime_interval=INTERVAL)
    try:
        check = do.uptime.create_check(
            {
                "name": "api.oxy.so",
                "type": "https",
                "target": f"https://api.oxy.so:{port}/",
                "regions": ["eu_west"],
                "enabled": True,
            }
        )["check"]
        down = do.uptime.create_alert(
            check["id"], {"name": "api down", "type": "down", "notifications": NOTIFY, "period": "2m"}
        )["alert"]
        expiry = do.uptime.create_alert(
            check["id"],
            {
                "name": "api certificate",
                "type": "ssl_expiry",
                "threshold": 14,
                "notifications": NOTIFY,
                "period": "2m",
            },
        )["alert"]

        def state() -> dict:
            return next(c for c in sandbox.control("GET", "monitoring")["checks"] if c["id"] == check["id"])

        def notes(alert: dict, status: str) -> list[dict]:
            found = sandbox.control("GET", "notifications")["notifications"]
            return [n for n in found if n.get("alert_id") == alert["id"] and n["status"] == status]

        _wait(lambda: state()["status"] == "UP", 30)
        probe = state()["last_probe"]
        assert probe["vantage"] == "loopback" and probe["reason"] == "HTTP 200"
        expires = dt.datetime.fromisoformat(probe["certificate_expires_at"].replace("Z", "+00:00"))
        left = expires - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=89) < left <= dt.timedelta(days=90), f"a 90-day certificate, not {left}"
        # More probes than the alert's period: a certificate that lives 90 days never fires at 14.
        seen = state()["last_probe"]["at"]
        _wait(lambda: state()["last_probe"]["at"] > seen, 10)
        time.sleep(3 * INTERVAL)
        assert state()["status"] == "UP"
        assert not notes(expiry, "firing") and not notes(down, "firing")

        container.stop(timeout=2)
        stopped = time.monotonic()
        _wait(lambda: notes(down, "firing"), 15)
        assert time.monotonic() - stopped < 15
        assert state()["status"] == "DOWN"
        fired = notes(down, "firing")
        assert {n["recipient"] for n in fired} == {"ops@oxy.so", "#oxy"}
        assert fired[0]["subject"] == "[FIRING] api.oxy.so is down"

        container.start()
        _wait(lambda: notes(down, "resolved"), 30)
        assert state()["status"] == "UP"
        assert not notes(expiry, "firing")
        everything = str(sandbox.control("GET", "notifications"))
        assert "secret" not in everything and "hooks.slack.com" not in everything
    finally:
        sandbox.configure(uptime_interval=60)
