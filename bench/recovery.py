"""Recovery time of a whole-region failover (playbooks/failover.yml), machines included, against the sandbox.

    .venv/bin/python bench/recovery.py [--snapshot-age 0]

Needs what scripts/sandbox-up needs (a Docker engine, the images of tests/images/build exported as
OXY_IMAGE_*, OXY_SANDBOX_DROPLET_IMAGE and OXY_SANDBOX_VALKEY_IMAGE): `eval "$(tests/images/build)"`
first. Starts its own sandbox with DigitalOcean-like delays (droplet 20 s, database 30 s, app 15 s), converges
the environment in AMS3 (site.yml whole), writes a file on the droplet, takes its snapshot and db-oxy's backup,
then takes AMS3 away (the sandbox's ``regions_down``) and prints:

- the recovery time: from "AMS3 gone" to the failover's verification passing in FRA1 (its whole run, confirmed),
  against the longest single step (the slowest resource's provisioning: the restored cluster's) as a ratio;
- where that time went, play by play (bench/callback_plugins/play_times.py);
- what would be lost: the snapshot's age when AMS3 went (everything written on the droplet since) and the
  database's point in time (its latest backup; everything written to db-oxy since), and that the file written
  before the snapshot is on the new droplet.

--snapshot-age waits that many seconds between the snapshot and the outage, to show the loss growing with it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oxy_sandbox import process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._worktree import machine_sandbox, require_machine_images
from tests.fixtures.playbooks import ansible_playbook

ROOT = Path(__file__).resolve().parents[1]
DELAYS = {"droplet_delay": 20, "database_delay": 30, "app_delay": 15, "action_delay": 1, "firewall_delay": 1}
LONGEST = max(DELAYS["droplet_delay"], DELAYS["database_delay"], DELAYS["app_delay"])
FAILOVER = ("-e", "oxy_failover_region=fra1", "-e", "oxy_failover_confirm=ams3")


def played(running: process.Running, key: Path, playbook: str, *extra: str) -> tuple[float, list[dict]]:
    """The wall time of ``playbook``, and each play's seconds (bench/callback_plugins)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as times:
        env = {
            "OXY_SSH_KEY_FILE": str(key),
            "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "bench/callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "oxy.infra.plan,play_times",
            "OXY_BENCH_TIMES": times.name,
        }
        started = time.monotonic()
        run = ansible_playbook(running, playbook, *extra, env=env)
        wall = time.monotonic() - started
        if run.rc != 0:
            sys.exit(f"{playbook} failed:\n{run.out[-6000:]}")
        return wall, json.loads(Path(times.name).read_text() or "[]")


def api(running: process.Running, method: str, path: str, body: dict | None = None) -> dict:
    """A DigitalOcean API call to the sandbox, as JSON; exits on an error."""
    status, answer = running.api(method, path, body)
    if status >= 400:
        sys.exit(f"{method} {path}: {status} {answer}")
    return answer


def droplet(running: process.Running, name: str) -> dict:
    (found,) = [d for d in api(running, "GET", f"/v2/droplets?name={name}")["droplets"] if d["name"] == name]
    return found


def public_ip(found: dict) -> str:
    return next(n["ip_address"] for n in found["networks"]["v4"] if n["type"] == "public")


def on(key: Path, address: str, command: str) -> str:
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20"]
    ssh = ["ssh", "-i", str(key), *options, f"root@{address}", command]
    return subprocess.run(ssh, capture_output=True, text=True, check=True, timeout=60).stdout


def age(iso: str, at: float) -> float:
    return at - datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot-age", type=float, default=0.0, help="seconds between the snapshot and the outage")
    args = parser.parse_args()
    require_machine_images()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        state = tmp / "state"
        running = machine_sandbox(stack, state)
        key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        running.control("PUT", "config", {**DELAYS, "uptime_interval": 5})

        played(running, key, "site.yml")
        old = droplet(running, "oxy-api-backend")
        on(key, public_ip(old), "echo written-before-the-snapshot > /root/kept && sync")
        snap = api(running, "POST", f"/v2/droplets/{old['id']}/actions", {"type": "snapshot", "name": "nightly"})
        while api(running, "GET", f"/v2/actions/{snap['action']['id']}")["action"]["status"] != "completed":
            time.sleep(0.5)
        db = next(c for c in api(running, "GET", "/v2/databases")["databases"] if c["name"] == "db-oxy")
        backup_at = running.control("POST", f"databases/{db['id']}/backup")["created_at"]
        snapshot = next(
            i
            for i in api(running, "GET", "/v2/images?private=true")["images"]
            if i["id"] in droplet(running, old["name"])["snapshot_ids"]
        )
        time.sleep(args.snapshot_age)

        gone = time.time()
        running.control("PUT", "faults", {"regions_down": ["ams3"]})
        wall, plays = played(running, key, "playbooks/failover.yml", *FAILOVER)
        new = droplet(running, "oxy-api-backend-fra1")
        kept = on(key, public_ip(new), "cat /root/kept").strip()

        print("Failover AMS3 -> FRA1 (sandbox delays: droplet 20 s, database 30 s, app 15 s), machines included")
        print(f"  recovery time, AMS3 gone -> verification passing in FRA1: {wall:6.1f}s")
        print(f"  against the longest single step (a cluster's provisioning, {LONGEST}s): {wall / LONGEST:.2f}x")
        print("    by play:")
        for play in plays:
            waited = f", {play['waits']:.1f}s of it waiting for DigitalOcean" if play["waits"] >= 0.05 else ""
            print(f"      {play['seconds']:6.1f}s  {play['name']} ({play['hosts']}){waited}")
        print("  what would be lost:")
        print(
            f"    the droplet's disk as at its snapshot {snapshot['name']} ({snapshot['created_at']}), "
            f"{age(snapshot['created_at'], gone):.0f}s old when AMS3 went: everything written since"
        )
        print(
            f"    db-oxy as at its latest backup ({backup_at}), {age(backup_at, gone):.0f}s old when AMS3 went: "
            "everything written since (a daily backup: up to a day in production); Valkey's contents (no backups)"
        )
        print(f"  the file written before the snapshot, on the new droplet: {kept!r}")


if __name__ == "__main__":
    main()
