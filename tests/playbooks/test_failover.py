"""playbooks/failover.yml (issue 22): the whole environment in another region while its region is down.

AMS3 converged (the DigitalOcean side and the droplet's machine: a lighter set-up than site.yml whole), a file
written on the droplet, a snapshot and db-oxy's backup taken, then AMS3 taken down (the sandbox's
``regions_down``: 503 for its resources, its machines paused). The failover is refused without its confirmation
(no write), planned (no write), then run: the file is on the new droplet in FRA1, db-oxy's databases and users
are on the restored cluster and every app holds its user's password there, api.oxy.so's A record points at the
new droplet, which serves it (site.yml's verification, whole), Valkey URLs point at the new cluster; a second run
changes nothing, nothing is deleted, and site.yml with the definition's changes the run printed is clean.

Needs a Docker engine, the droplet image and the stack's images, like the other machine tests (skipped with
the reason otherwise).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.credentials import APPS, app_secrets, clusters, env_file, parse
from tests.fixtures.playbooks import ansible_playbook
from tests.playbooks.test_plan import SKIP
from tests.playbooks.test_restore import flat, mark, writes

TO = ("-e", "oxy_failover_region=fra1")
CONFIRM = ("-e", "oxy_failover_confirm=ams3")
NEW = {"droplet": "oxy-api-backend-fra1", "mongodb": "db-oxy-fra1", "valkey": "db-valkey-fra1-04785"}


def public_ip(do, name: str) -> str:
    (droplet,) = [d for d in do.droplets.list()["droplets"] if d["name"] == name]
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public")


def on(key: Path, address: str, command: str) -> str:
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20"]
    ssh = ["ssh", "-i", str(key), *options, f"root@{address}", command]
    return subprocess.run(ssh, capture_output=True, text=True, check=True, timeout=60).stdout


def wait_completed(do, action_id: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while do.actions.get(action_id)["action"]["status"] != "completed":
        assert time.monotonic() < deadline, f"action {action_id} did not complete"
        time.sleep(0.5)


@pytest.fixture
def environment(sandbox, tmp_path):
    """The sandbox with machines, the stack's images in its registry, and the operators' key pair."""
    sandbox.with_the_stack()
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.mark.slow
def test_failover_to_fra1_while_ams3_is_down(sandbox, do, environment, tmp_path):
    key = environment
    env = {"OXY_SSH_KEY_FILE": str(key)}
    converged = ansible_playbook(sandbox, "site.yml", *SKIP, env=env)
    assert converged.rc == 0, converged.out[-3000:]
    old_ip = public_ip(do, "oxy-api-backend")
    on(key, old_ip, "echo before-the-failover > /root/kept && sync")
    (old,) = [d for d in do.droplets.list()["droplets"] if d["name"] == "oxy-api-backend"]
    snap = do.droplet_actions.post(old["id"], {"type": "snapshot", "name": "oxy-api-backend-nightly"})["action"]
    wait_completed(do, snap["id"])
    (image,) = do.droplets.list_snapshots(old["id"])["snapshots"]
    backup_at = sandbox.control("POST", f"databases/{clusters(do)['db-oxy']['id']}/backup")["created_at"]
    before = {c["name"]: c["id"] for c in do.databases.list_clusters()["databases"]}
    sandbox.faults(regions_down=["ams3"])

    # Without the confirmation: refused before any write, saying how to confirm.
    since = mark(sandbox)
    refused = ansible_playbook(sandbox, "playbooks/failover.yml", *TO, env=env)
    assert refused.rc != 0
    assert "oxy_failover_confirm is not set: nothing was changed" in flat(refused.out), refused.out[-3000:]
    assert "-e oxy_failover_confirm=ams3" in flat(refused.out)
    assert writes(sandbox, since) == []

    # The plan: what the failover makes in FRA1, what cannot be read in AMS3; nothing written.
    since = mark(sandbox)
    planned = ansible_playbook(sandbox, "playbooks/failover.yml", *SKIP, *TO, "--check", "--diff", env=env)
    assert planned.rc == 0, planned.out[-5000:]
    out = flat(planned.out)
    assert "ams3 is unavailable: its API answers 503" in out and "Not readable: db-oxy" in out
    assert "Plan: fail over from ams3 to fra1: VPC default-fra1, droplet oxy-api-backend-fra1" in out
    for created in ("VPC default-fra1", f"Droplet {NEW['droplet']}", f"database cluster {NEW['mongodb']}"):
        assert f"+ create {created}" in out, created
    assert writes(sandbox, since) == []

    # The failover, whole (site.yml's plays with the stack and the verification, in FRA1).
    # Monitoring probes every 5 s (not once a minute): the verification's wait for api.oxy.so is short.
    sandbox.configure(uptime_interval=5)
    since = mark(sandbox)
    run = ansible_playbook(sandbox, "playbooks/failover.yml", *TO, *CONFIRM, env=env)
    if run.rc != 0:  # what monitoring saw, and what runs on the new droplet
        probes = [(c["name"], c["status"], c["last_probe"]) for c in sandbox.control("GET", "monitoring")["checks"]]
        with contextlib.suppress(Exception):
            probes.append(on(key, public_ip(do, NEW["droplet"]), "docker ps -a; ss -ltnp"))
        failed = [block for block in run.out.split("\nTASK [") if "fatal: [" in block or "failed: [" in block]
        (tmp_path / "failover.out").write_text(run.out)
        pytest.fail("\n".join(block[:3000] for block in failed) + f"\n{probes}")
    log = sandbox.log(since=since)
    assert [r["path"] for r in log if r["method"] == "DELETE"] == []  # nothing of AMS3 (nor else) deleted

    # The droplet: from the snapshot (transferred to FRA1), the file written before it is there.
    new_ip = public_ip(do, NEW["droplet"])
    (new,) = [d for d in do.droplets.list()["droplets"] if d["name"] == NEW["droplet"]]
    assert (new["region"]["slug"], new["image"]["id"]) == ("fra1", image["id"])
    assert "fra1" in do.images.get(str(new["image"]["id"]))["image"]["regions"]
    assert on(key, new_ip, "cat /root/kept").strip() == "before-the-failover"
    # db-oxy restored in FRA1 from its latest backup: every app's database and user, each app holding its password.
    found = clusters(do)
    restored = found[NEW["mongodb"]]
    assert restored["region"] == "fra1"
    assert {db for _u, db, _v in APPS.values()} <= set(restored["db_names"])
    valkey = found[NEW["valkey"]]
    assert valkey["region"] == "fra1"
    for app, settings in app_secrets(do).items():
        user, database, private = APPS[app]
        uri = parse(settings["MONGODB_URI"])
        block = restored["private_connection" if private else "connection"]
        assert (uri["host"], uri["user"], uri["path"]) == (block["host"], user, database), app
        assert uri["password"] == do.databases.get_user(restored["id"], user)["user"]["password"], app
        valkey_block = valkey["private_connection" if private else "connection"]
        assert parse(settings["VALKEY_URL"])["host"] == valkey_block["host"], app
    droplet_env = env_file(on(key, new_ip, "cat /opt/oxy/api/api.env"))
    assert parse(droplet_env["VALKEY_URL"])["host"] == valkey["private_connection"]["host"]
    assert parse(droplet_env["MONGODB_URI"])["host"] == restored["private_connection"]["host"]
    # The apps in AMS moved to FRA (the VPC ones into default-fra1); allo-app stays in NYC.
    regions = {a["spec"]["name"]: a["spec"]["region"] for a in do.apps.list()["apps"]}
    assert regions == {**{a: "fra" for a in APPS if a != "allo-app"}, "allo-app": "nyc"}
    # api.oxy.so and mail.oxy.so point at the new droplet; site.yml's verification passed against it.
    records = {r["name"]: r["data"] for r in do.domains.list_records("oxy.so")["domain_records"] if r["type"] == "A"}
    assert records["api"] == records["mail"] == new_ip != old_ip
    up = re.search(r"Up: ([a-z., ]+)", run.out)
    assert up and "api.oxy.so" in up.group(1), run.out[-3000:]
    # Nothing of AMS3 deleted: the old droplet and clusters are there, orphans of the plan.
    assert {c["name"]: c["id"] for c in do.databases.list_clusters()["databases"] if c["name"] in before} == before
    assert old["id"] in {d["id"] for d in do.droplets.list()["droplets"]}
    text = flat(run.out)
    assert f"! orphan droplet oxy-api-backend (id {old['id']})" in text
    image = str(image["id"])
    changes = {
        "oxy_region": "fra1",
        "oxy_vpc.name": "default-fra1",
        "oxy_droplet.name": NEW["droplet"],
        "oxy_droplet.image": f'"{image}"',
        "oxy_mongodb.name": NEW["mongodb"],
        "oxy_valkey.name": NEW["valkey"],
    }
    for path, value in changes.items():
        assert f"{path}: {value}" in text, path
    assert backup_at  # the backup restored: taken after the apps' users existed

    # Run again: nothing changes, nothing is written.
    since = mark(sandbox)
    # (Without the verification, read-only, to spare the budget: the droplet's stack is in both.)
    again = ansible_playbook(sandbox, "playbooks/failover.yml", "--skip-tags", "verify", *TO, *CONFIRM, env=env)
    assert again.rc == 0, again.out[-4000:]
    assert again.hosts["localhost"]["changed"] == 0, again.out[-4000:]
    assert writes(sandbox, since) == []

    # site.yml with the definition's changes the run printed: clean (AMS3 still down).
    definition = yaml_changes(sandbox, tmp_path, image)
    since = mark(sandbox)
    site = ansible_playbook(sandbox, "site.yml", "--skip-tags", "verify", "-e", f"@{definition}", env=env)
    assert site.rc == 0, site.out[-4000:]
    assert site.hosts["localhost"]["changed"] == 0, site.out[-4000:]
    assert writes(sandbox, since) == []
    sandbox.configure(uptime_interval=60)


def yaml_changes(sandbox, tmp_path: Path, image: str) -> Path:
    """The definition (oxy.yml) with the changes failover.yml printed, as extra variables."""
    import yaml

    from tests.fixtures.playbooks import ROOT

    oxy = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
    oxy["oxy_region"] = "fra1"
    oxy["oxy_vpc"] = {**oxy["oxy_vpc"], "name": "default-fra1"}
    oxy["oxy_vpc"]["description"] = re.sub("AMS3", "FRA1", oxy["oxy_vpc"]["description"])
    oxy["oxy_droplet"] = {**oxy["oxy_droplet"], "name": NEW["droplet"], "image": image}
    oxy["oxy_mongodb"] = {**oxy["oxy_mongodb"], "name": NEW["mongodb"]}
    oxy["oxy_valkey"] = {**oxy["oxy_valkey"], "name": NEW["valkey"]}
    oxy["oxy_apps"] = [{**a, "region": "fra"} if a["region"] == "ams" else a for a in oxy["oxy_apps"]]
    changed = {k: oxy[k] for k in ("oxy_region", "oxy_vpc", "oxy_droplet", "oxy_mongodb", "oxy_valkey", "oxy_apps")}
    path = tmp_path / "failover-definition.json"
    path.write_text(json.dumps(changed))
    return path
