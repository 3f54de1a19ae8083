"""Cold bring-up and no-change run of the whole site.yml, machines included, against the sandbox.

    .venv/bin/python bench/site_bringup.py [--noop-runs 2]

Needs what scripts/sandbox-up needs (a Docker engine, the images of tests/images/build exported as
OXY_IMAGE_*, OXY_SANDBOX_DROPLET_IMAGE and OXY_SANDBOX_VALKEY_IMAGE): `eval "$(tests/images/build)"`
first. Starts its own sandbox with DigitalOcean-like delays (droplet 20 s, database 30 s, app 15 s), pushes the stack's
images, then prints in one run: the cold bring-up wall time of site.yml (every resource, the
droplet's Docker stack over SSH, the verification) against the slowest single resource's
provisioning delay, as a ratio; the same for the DigitalOcean part alone; and the no-change wall
time of the whole site.yml.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oxy_sandbox import process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.playbooks import ansible_playbook

ROOT = Path(__file__).resolve().parents[1]
DELAYS = {"droplet_delay": 20, "database_delay": 30, "app_delay": 15, "action_delay": 1, "firewall_delay": 1}
IMAGES = {
    "OXY_IMAGE_CADDY": "caddy:2.8",
    "OXY_IMAGE_API_RELEASE_1": "api:2026.11.1",
    "OXY_IMAGE_API_RELEASE_2": "api:2026.11.2",
    "OXY_IMAGE_SMTP": "smtp:2026.11.1",
}


def site(running: process.Running, key: Path, *extra: str) -> tuple[float, str]:
    started = time.monotonic()
    run = ansible_playbook(running, "site.yml", *extra, env={"OXY_SSH_KEY_FILE": str(key)})
    wall = time.monotonic() - started
    if run.rc != 0:
        sys.exit(f"site.yml failed:\n{run.out[-6000:]}")
    return wall, run.out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noop-runs", type=int, default=2)
    args = parser.parse_args()
    missing = [
        name for name in (*IMAGES, "OXY_SANDBOX_DROPLET_IMAGE", "OXY_SANDBOX_VALKEY_IMAGE") if not os.environ.get(name)
    ]
    if missing:
        sys.exit(
            f'missing {", ".join(missing)}: run `eval "$(tests/images/build)"` and export '
            "OXY_SANDBOX_DROPLET_IMAGE=$OXY_IMAGE_DROPLET OXY_SANDBOX_VALKEY_IMAGE=$OXY_IMAGE_VALKEY first"
        )
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        running = process.start(state, reset=True)
        try:
            if not running.control("GET", "machines").get("enabled"):
                sys.exit(f"the sandbox has no machines: {running.control('GET', 'machines').get('reason')}")
            pushes = [f"{os.environ[name]}={repository}" for name, repository in IMAGES.items()]
            cli = str(Path(sys.executable).parent / "oxy-sandbox")
            subprocess.run([cli, "push", "--state-dir", str(state), *pushes], check=True, capture_output=True)
            key = Path(tmp) / "id_ed25519"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
            slowest = max(DELAYS["droplet_delay"], DELAYS["database_delay"], DELAYS["app_delay"])

            running.control("PUT", "config", DELAYS)
            cold_do, _ = site(running, key, "--skip-tags", "stack,verify")
            running.control("POST", "reset")
            running.control("PUT", "config", DELAYS)
            cold, _ = site(running, key)
            # Every app's first deployment carries its own database user's credentials (issue 8), so it
            # starts once the MongoDB cluster is online: the longest chain is a database then an app.
            chain = DELAYS["database_delay"] + DELAYS["app_delay"]
            print("site.yml bring-up (sandbox delays: droplet 20 s, database 30 s, app 15 s)")
            for label, wall in (("DigitalOcean part, cold", cold_do), ("whole site.yml, cold", cold)):
                print(
                    f"  {label:24s} {wall:6.1f}s = {wall / slowest:.2f}x the slowest resource ({slowest}s), "
                    f"{wall / chain:.2f}x the longest dependency chain (database then app deployment, {chain}s)"
                )
            for label, ratio in (("slowest resource", cold_do / slowest), ("dependency chain", cold_do / chain)):
                verdict = "met" if ratio <= 1.15 else "NOT MET"
                print(f"  target: DigitalOcean part cold / {label} {ratio:.2f} (bound 1.15) {verdict}")
            for run in range(1, args.noop_runs + 1):
                mark = running.control("GET", "requests/summary")["last_seq"]
                wall, _ = site(running, key)
                summary = running.control("GET", f"requests/summary?since={mark}")
                print(
                    f"  whole site.yml, no change (run {run}): {wall:5.1f}s, "
                    f"{summary['total']} API requests, {summary['writes']} writes"
                )
        finally:
            running.control("POST", "reset")
            process.stop(running)


if __name__ == "__main__":
    main()
