"""API requests and wall time of a no-op site.yml run against the sandbox, DigitalOcean part.

    .venv/bin/python bench/site_noop.py [--runs 3]

Starts its own sandbox (droplets without machines), converges site.yml's DigitalOcean side once
(not measured; the droplet's stack and the verification are skipped: --skip-tags stack,verify),
then times --runs no-op runs and prints, for each, the wall time, the API requests by method and
the writes. bench/site_bringup.py measures the whole site.yml, machines included.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from oxy_sandbox import process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.playbooks import ansible_playbook

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"droplet_delay": 0, "action_delay": 0, "firewall_delay": 0, "database_delay": 0, "app_delay": 0}


def site(running: process.Running) -> float:
    started = time.monotonic()
    run = ansible_playbook(running, "site.yml", "--skip-tags", "stack,verify")
    if run.rc != 0:
        sys.exit(f"site.yml failed:\n{run.out[-6000:]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "id_ed25519"  # the operators' key pair the sandbox inventory reads
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        os.environ["OXY_SSH_KEY_FILE"] = str(key)
        running = process.start(Path(tmp) / "state", reset=True, extra=["--machines", "off"])
        control = f"{running.url}/_sandbox"
        try:
            requests.put(f"{control}/config", json=SETTINGS, verify=running.ca, timeout=10).raise_for_status()
            first = site(running)
            print(f"site.yml no-op benchmark (first converge, not counted: {first:.1f}s)")
            for run in range(1, args.runs + 1):
                mark = requests.get(f"{control}/requests/summary", verify=running.ca, timeout=10).json()["last_seq"]
                wall = site(running)
                log = requests.get(f"{control}/requests?since={mark}", verify=running.ca, timeout=30).json()["requests"]
                methods = collections.Counter(e["method"] for e in log)
                writes = sum(n for m, n in methods.items() if m not in ("GET", "HEAD"))
                api_ms = sum(e["ms"] for e in log)
                print(
                    f"run {run}: wall {wall:5.1f}s   API requests {len(log):4d} "
                    f"({', '.join(f'{m} {n}' for m, n in sorted(methods.items()))})   writes {writes}   "
                    f"server time {api_ms / 1000:.2f}s"
                )
        finally:
            process.stop(running)


if __name__ == "__main__":
    main()
