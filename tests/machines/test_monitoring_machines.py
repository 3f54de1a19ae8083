"""Uptime checks probe a droplet's machine from the outside; alert policies read its real usage: a droplet
whose disk is bounded (``droplet_disk_gib``) fills it, and its disk alert fires, then resolves once freed.

Needs a Docker engine and the droplet image, like the other machine tests (skipped without them).
"""

from __future__ import annotations

import pytest

from tests.fixtures.polling import wait
from tests.machines import test_machines
from tests.machines.test_machines import address, create, ssh, wait_active

# The machine tests' fixtures: a sandbox with machines on, the operators' key, an account with a VPC.
machines, key_pair, account = test_machines.machines, test_machines.key_pair, test_machines.account

INTERVAL = 0.5
NOTIFY = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy", "url": "https://hooks.slack.com/services/T/B/secret"}]}


def _wait(what, timeout: float = 60.0):
    return wait(what, timeout, INTERVAL)


@pytest.mark.slow
def test_a_machine_is_probed_from_outside_and_its_disk_alert_fires_and_resolves(
    machines, do, key_pair, account, sandbox
):
    sandbox.configure(uptime_interval=INTERVAL, droplet_disk_gib=1)
    try:
        droplet = wait_active(do, create(do, key_pair, account["id"], monitoring=True)["id"])
        public = address(droplet, "public")
        check = do.uptime.create_check(
            {"name": "web", "type": "http", "target": f"http://{public}/", "regions": ["eu_west"], "enabled": True}
        )["check"]
        do.uptime.create_alert(
            check["id"], {"name": "web down", "type": "down", "notifications": NOTIFY, "period": "2m"}
        )
        policy = {
            "type": "v1/insights/droplet/disk_utilization_percent",
            "description": "disk",
            "compare": "GreaterThan",
            "value": 80,
            "window": "5m",
            "entities": [str(droplet["id"])],
            "tags": [],
            "alerts": NOTIFY,
            "enabled": True,
        }
        disk = do.monitoring.create_alert_policy(policy)["policy"]

        def state() -> dict:
            return next(c for c in sandbox.control("GET", "monitoring")["checks"] if c["id"] == check["id"])

        def samples() -> dict:
            seen = next(p for p in sandbox.control("GET", "monitoring")["policies"] if p["uuid"] == disk["uuid"])
            return seen.get("last_samples") or {}

        _wait(lambda: state()["status"] == "UP")  # user_data's listener on port 80 is up
        assert state()["last_probe"]["vantage"] == f"outside ({machines['outside_address']})"
        notes = lambda: sandbox.control("GET", "notifications")["notifications"]  # noqa: E731
        alerts = lambda status: [  # noqa: E731
            n for n in notes() if n.get("policy_uuid") == disk["uuid"] and n["status"] == status
        ]

        # The droplet's disk is a 1 GiB filesystem of its own, nearly empty: sampled, below the threshold.
        size = ssh(key_pair, public, "df -P --block-size=1M /var/lib/docker | tail -1")
        assert size.returncode == 0, size.stderr
        assert 900 < int(size.stdout.split()[1]) <= 1024, size.stdout
        assert _wait(lambda: samples().get(str(droplet["id"])) is not None)
        assert samples()[str(droplet["id"])] < 80 and not alerts("firing")
        # Filled past the threshold from inside the droplet: the alert fires; the file removed: it resolves.
        filled = ssh(key_pair, public, "fallocate -l 900M /var/lib/docker/filler && sync")
        assert filled.returncode == 0, filled.stderr
        fired = _wait(lambda: alerts("firing"))
        assert fired[0]["droplet_id"] == droplet["id"]
        assert "disk_utilization_percent above 80" in fired[0]["subject"]
        assert samples()[str(droplet["id"])] > 80
        freed = ssh(key_pair, public, "rm /var/lib/docker/filler && sync")
        assert freed.returncode == 0, freed.stderr
        _wait(lambda: alerts("resolved"))
        assert samples()[str(droplet["id"])] < 80

        assert ssh(key_pair, public, "pkill -f 'http.server 80'").returncode in (0, 1)
        _wait(lambda: state()["status"] == "DOWN")
        down = _wait(lambda: [n for n in notes() if n.get("check_id") == check["id"] and n["status"] == "firing"])
        assert {n["recipient"] for n in down} == {"ops@oxy.so", "#oxy"}
        assert "secret" not in str(notes())
    finally:
        sandbox.configure(uptime_interval=60, droplet_disk_gib=None)
