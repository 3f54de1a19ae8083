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
import time
from pathlib import Path

import pytest

from tests.fixtures.caddy import running_caddy
from tests.fixtures.polling import wait

INTERVAL = 0.5
NOTIFY = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy", "url": "https://hooks.slack.com/services/T/B/secret"}]}


def _wait(what, timeout: float):
    return wait(what, timeout, INTERVAL / 2)


@pytest.fixture
def caddy(sandbox, tmp_path):
    """The stack's Caddy with the sandbox's Caddyfile and CA, published on a loopback port: (container, port)."""
    public_ca = sandbox.running.env().get("OXY_SANDBOX_PUBLIC_CA")
    assert public_ca, "a sandbox started by `oxy-sandbox serve` has its stand-in for a public CA"
    # Serving a certificate of the public CA stand-in before any check exists.
    with running_caddy(tmp_path, Path(public_ca), public_ca, "public-ca") as running:
        yield running.container, running.port


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
