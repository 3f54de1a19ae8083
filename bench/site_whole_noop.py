"""A no-change run of the whole site.yml, the droplet's machine included: this tree, its baseline and a floor.

    .venv/bin/python bench/site_whole_noop.py [--runs 3] [--baseline ad291cb]

Needs what scripts/sandbox-up needs (a Docker engine, the images of tests/images/build exported as
OXY_IMAGE_*, OXY_SANDBOX_DROPLET_IMAGE and OXY_SANDBOX_VALKEY_IMAGE): `eval "$(tests/images/build)"`
first. Starts two sandboxes of its own with machines (no DigitalOcean delays), the stack's images
pushed to each, converges the whole site.yml once in each (not measured): this tree's in
one, the baseline's in the other, so that neither undoes what the other states differently. Then it alternates
no-change runs of three variants:

- this tree, on its sandbox and droplet;
- the baseline: the same site.yml at --baseline (a git worktree; by default the commit issue 24
  measured, 34-36 s), on its own;
- the floor: the same plays on the same hosts as this tree's (the controller and the droplet,
  reached over SSH as site.yml reaches it), each with one ``ansible.builtin.ping`` and nothing else:
  what any run of those plays costs.

Every run gets its own SSH control directory, so none rides on a connection another left open.
DigitalOcean's burst limit is off while timing, so that no variant waits for another's requests.
Prints, per variant, the median wall time, its runs, the API requests and writes and each host's
`changed`; then the target of issue 24 (wall / baseline <= 0.35) and wall / floor; then the slowest
tasks of this tree's last run (bench/callback_plugins/task_times.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pydo
import yaml
from oxy_sandbox import process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._worktree import machine_sandbox, require_machine_images, worktree
from tests.fixtures.playbooks import ansible_playbook

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "ad291cb"  # the commit issue 24 measured: a no-change site.yml in 34-36 s
BOUND = 0.35
SETTINGS = {
    "machines": True,
    "droplet_delay": 0,
    "action_delay": 0,
    "firewall_delay": 0,
    "database_delay": 0,
    "app_delay": 0,
}


def plays_of(playbook: Path) -> list[dict]:
    """The plays site.yml runs, in order, its imports followed: each one's name and hosts."""
    plays = []
    for entry in yaml.safe_load(playbook.read_text()):
        imported = entry.get("ansible.builtin.import_playbook") or entry.get("import_playbook")
        if imported:
            plays += plays_of(playbook.parent / imported)
        else:
            plays.append({"name": entry["name"], "hosts": entry["hosts"]})
    return plays


def floor_playbook(tmp: Path, address: str, droplet: str) -> Path:
    """site.yml's plays on the same hosts, one ping each; the droplet joins as site.yml adds it."""
    plays = []
    joined = False
    for play in plays_of(ROOT / "site.yml"):
        tasks: list[dict] = [{"name": "Ping", "ansible.builtin.ping": None}]
        if not joined and play["hosts"] == "digitalocean":
            tasks.append(
                {
                    "name": "The droplet joins the run's inventory",
                    "ansible.builtin.add_host": {
                        "name": droplet,
                        "groups": ["api_backend"],
                        "ansible_host": address,
                        "ansible_user": "root",
                        "ansible_ssh_private_key_file": "{{ oxy_ssh_private_key_file | default(omit, true) }}",
                        "ansible_ssh_common_args": "{{ oxy_ssh_common_args | default(omit, true) }}",
                    },
                    "changed_when": False,
                }
            )
            joined = True
        plays.append({"name": f"floor: {play['name']}", "hosts": play["hosts"], "gather_facts": False, "tasks": tasks})
    path = tmp / "floor.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def droplet_address(running: process.Running, name: str) -> str:
    env = running.env()
    client = pydo.Client(env["DIGITALOCEAN_TOKEN"], endpoint=running.url, connection_verify=running.ca)
    droplet = client.droplets.list(name=name)["droplets"][0]
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public")


def run(running: process.Running, key: Path, tmp: Path, tree: Path, playbook: str = "site.yml") -> dict:
    """One playbook run in ``tree``: wall time, API requests and writes, each host's recap, task times."""
    control = Path(tempfile.mkdtemp(dir=tmp, prefix="run"))
    times = control / "task_times.json"
    env = {
        "ANSIBLE_CONFIG": str(tree / "ansible.cfg"),
        "OXY_SSH_KEY_FILE": str(key),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "bench/callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "oxy.infra.plan,task_times",
        "OXY_BENCH_TASK_TIMES": str(times),
    }
    mark = running.control("GET", "requests/summary")["last_seq"]
    started = time.monotonic()
    result = ansible_playbook(running, playbook, env=env, cwd=tree)
    wall = time.monotonic() - started
    if result.rc != 0:
        sys.exit(f"{playbook} failed in {tree}:\n{result.out[-6000:]}")
    summary = running.control("GET", f"requests/summary?since={mark}")
    # The SSH masters this run left behind (ControlPersist) end now: the next run opens its own.
    for socket in control.glob("*"):
        if socket == times:
            continue
        subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "x"], capture_output=True, check=False)
    return {
        "wall": wall,
        "requests": summary["total"],
        "writes": summary["writes"],
        "hosts": result.hosts,
        "tasks": json.loads(times.read_text()) if times.exists() else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="no-change runs per variant (>= 1)")
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--slowest", type=int, default=15, help="how many of this tree's slowest tasks to print")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    require_machine_images()
    droplet = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())["oxy_droplet"]["name"]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        baseline = stack.enter_context(worktree(args.baseline, tmp / "baseline"))
        key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        # Each tree converges its own sandbox and droplet: two trees that state the droplet's stack a
        # little differently would otherwise change it back and forth, and no run would be a no-change run.
        mine, theirs = (
            machine_sandbox(stack, tmp / "state", SETTINGS),
            machine_sandbox(stack, tmp / "baseline-state", SETTINGS),
        )
        first = run(mine, key, tmp, ROOT)
        run(theirs, key, tmp, baseline)
        for running in (mine, theirs):
            running.control("PUT", "config", {"burst_limit": 0})
        floor = floor_playbook(tmp, droplet_address(mine, droplet), droplet)
        variants = {
            f"baseline ({args.baseline})": (theirs, baseline, "site.yml"),
            "floor (a ping per play)": (mine, ROOT, str(floor)),
            "this tree": (mine, ROOT, "site.yml"),
        }
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for index in range(args.runs):
            # Each round in the other order than the one before, so that no variant always goes first.
            for name, (running, tree, playbook) in list(variants.items())[:: 1 if index % 2 == 0 else -1]:
                runs[name].append(run(running, key, tmp, tree, playbook))

    median = {name: statistics.median(r["wall"] for r in results) for name, results in runs.items()}
    print(f"whole site.yml, no change, droplet included; first converge {first['wall']:.1f}s, not counted")
    print(f"{args.runs} runs of each variant, alternating")
    print(f"  {'variant':28s} {'median':>7s} {'runs':>20s} {'requests':>8s} {'writes':>6s}  changed per host")
    unchanged = True
    for name, results in runs.items():
        walls = " ".join(f"{r['wall']:.1f}" for r in results)
        changed = {
            host: max(r["hosts"].get(host, {}).get("changed", 0) for r in results) for host in results[0]["hosts"]
        }
        unchanged &= name.startswith("floor") or all(n == 0 for n in changed.values())
        hosts = ", ".join(f"{host} changed={n}" for host, n in sorted(changed.items()))
        requests = max(r["requests"] for r in results)
        writes = max(r["writes"] for r in results)
        print(f"  {name:28s} {median[name]:6.1f}s {walls:>20s} {requests:8d} {writes:6d}  {hosts}")
    base, flo, this = median.values()
    writes = max(r["writes"] for r in runs["this tree"])
    print("targets (issue 24):")
    for label, value, bound in (
        (f"wall / baseline ({args.baseline})", this / base, BOUND),
        ("changed on every host", 0 if unchanged else 1, 0),
        ("writes", writes, 0),
    ):
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"  {label:28s} {shown:>6s}  (bound {bound})  {'met' if value <= bound else 'NOT MET'}")
    print(f"  {'wall / floor':28s} {this / flo:6.2f}  (the overhead above one ping per play, {this - flo:.1f}s)")
    print(f"this tree's slowest tasks, its last run (of {len(runs['this tree'][-1]['tasks'])}):")
    tasks = sorted(runs["this tree"][-1]["tasks"], key=lambda t: -t["seconds"])[: args.slowest]
    for task in tasks:
        print(f"  {task['seconds']:5.2f}s  {task['name']}  [{','.join(task['hosts']) or 'skipped'}]  ({task['play']})")


if __name__ == "__main__":
    main()
