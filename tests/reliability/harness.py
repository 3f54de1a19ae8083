"""site.yml under faults and kills, and the duplicate count: shared by the reliability tests (a sample of
seeds and kill points, in CI) and bench/reliability.py (the full count, with its figures).

Runs the DigitalOcean side of site.yml (`--skip-tags stack,verify`): faults and kills are about the API.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from tests.fixtures.credentials import stale_credentials
from tests.fixtures.playbooks import ROOT, ansible_env, ansible_playbook

SKIP = ("--skip-tags", "stack,verify")
FAULTS = {"rate": 0.2, "statuses": [429, 500, 503], "phase": "any", "latency_ms": 20}
# Kill points: the run is killed right after the sandbox has answered this many writes.
KILL_POINTS = (1, 2, 3, 5, 8, 11, 14, 18, 22, 26, 30, 31)  # a cold run makes 32 writes


def run_site(sandbox, *extra: str, timeout: int = 900) -> tuple[int, str]:
    run = ansible_playbook(sandbox, "site.yml", *SKIP, *extra, timeout=timeout)
    return run.rc, run.out


def changed_count(out: str) -> int | None:
    for line in out.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    return None


def duplicates(do) -> dict[str, list[str]]:
    """Every name that more than one resource of a kind carries (what a replayed create leaves behind)."""
    names: dict[str, list[str]] = {
        "vpcs": [v["name"] for v in do.vpcs.list(per_page=200)["vpcs"]],
        "droplets": [d["name"] for d in do.droplets.list(per_page=200)["droplets"]],
        "firewalls": [f["name"] for f in do.firewalls.list(per_page=200)["firewalls"]],
        "apps": [a["spec"]["name"] for a in do.apps.list(per_page=200)["apps"]],
        "projects": [p["name"] for p in do.projects.list(per_page=200)["projects"]],
        "ssh_keys": [k["name"] for k in do.ssh_keys.list(per_page=200)["ssh_keys"]],
        "domains": [d["name"] for d in do.domains.list(per_page=200)["domains"]],
    }
    clusters = do.databases.list_clusters()["databases"]
    names["clusters"] = [c["name"] for c in clusters]
    for cluster in clusters:
        if cluster["engine"] == "mongodb" and cluster["status"] == "online":
            names[f"{cluster['name']} users"] = [u["name"] for u in do.databases.list_users(cluster["id"])["users"]]
            names[f"{cluster['name']} databases"] = [d["name"] for d in do.databases.list(cluster["id"])["dbs"]]
    if any(d == "oxy.so" for d in names["domains"]):
        records = do.domains.list_records("oxy.so", per_page=200)["domain_records"]
        names["oxy.so records"] = [f"{r['type']} {r['name']}" for r in records if r["type"] not in ("NS", "SOA")]
    found = {}
    for kind, values in names.items():
        repeated = sorted(n for n, c in collections.Counter(values).items() if c > 1)
        if repeated:
            found[kind] = repeated
    return found


@dataclass
class Outcome:
    """One fault or kill run: what it took and what it left."""

    label: str
    requests: int = 0
    faults: int = 0
    converged: bool = False
    second_run_changed: int | None = None
    second_run_writes: int | None = None
    duplicates: dict = field(default_factory=dict)
    # Apps whose delivered MONGODB_URI/VALKEY_URL is not their users' current password: a password lost.
    stale_credentials: list = field(default_factory=list)
    output: str = ""

    @property
    def ok(self) -> bool:
        settled = self.second_run_changed == 0 and self.second_run_writes == 0
        return self.converged and not self.duplicates and not self.stale_credentials and settled


def _settle(sandbox, do, outcome: Outcome) -> Outcome:
    """A clean run after the disturbed one must change nothing and write nothing."""
    mark = sandbox.log()[-1]["seq"]
    rc, out = run_site(sandbox)
    outcome.second_run_changed = changed_count(out) if rc == 0 else None
    outcome.second_run_writes = sandbox.summary(since=mark)["writes"]
    outcome.duplicates = duplicates(do)
    outcome.stale_credentials = stale_credentials(do) if rc == 0 else []
    if rc != 0:
        outcome.output += "\n--- clean run after it ---\n" + out
    return outcome


def fault_run(sandbox, do, seed: int) -> Outcome:
    """site.yml from an empty account with 20% of requests answered 429/500/503 (before or after applying)."""
    sandbox.faults(**FAULTS, seed=seed)
    try:
        rc, out = run_site(sandbox)
    finally:
        log = sandbox.log()
        sandbox.control("DELETE", "faults")
    outcome = Outcome(
        label=f"seed {seed}",
        requests=len(log),
        faults=sum(1 for e in log if e["fault"]),
        converged=rc == 0,
        output=out,
    )
    return _settle(sandbox, do, outcome)


def kill_run(sandbox, do, after_writes: int, timeout: float = 300) -> Outcome:
    """site.yml from an empty account, SIGKILLed (its whole process group) after ``after_writes`` writes,
    then run again in full."""
    proc = subprocess.Popen(
        ["ansible-playbook", "-i", "inventory/sandbox", "site.yml", *SKIP],
        cwd=ROOT,
        env=ansible_env(sandbox),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if sandbox.summary()["writes"] >= after_writes:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    requests = len(sandbox.log())
    rc, out = run_site(sandbox)
    outcome = Outcome(
        label=f"killed after {after_writes} writes" + ("" if killed else " (the run ended first)"),
        requests=requests,
        converged=rc == 0,
        output=out,
    )
    return _settle(sandbox, do, outcome)
