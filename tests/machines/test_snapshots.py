"""A droplet's snapshot is its machine's disk: a file written before the snapshot is on the droplet created
from it in another region (after the image's transfer there); a region's outage pauses its machines (and
its Valkey clusters' servers, where the sandbox has them); the image's copies go with it.

Needs a Docker engine and the droplet image, like the other machine tests (skipped without them).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.contract.test_databases import VALKEY
from tests.machines import test_machines
from tests.machines.test_machines import address, container, create, ssh, wait_action, wait_active

# The machine tests' fixtures: a sandbox with machines on, the operators' key, an account with a VPC.
machines, key_pair, account = test_machines.machines, test_machines.key_pair, test_machines.account


def _state(name: str) -> dict:
    proc = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)[0]["State"] if proc.returncode == 0 else {}


def _docker_has(kind: str, name: str) -> bool:
    return subprocess.run(["docker", kind, "inspect", name], capture_output=True, check=False).returncode == 0


@pytest.mark.slow
def test_a_droplet_from_a_snapshot_boots_its_disk_in_another_region(machines, sandbox, do, key_pair, account):
    source = create(do, key_pair, account["id"], name="api-1")
    valkey = cluster_id = None
    if machines.get("valkey_image"):  # this sandbox backs Valkey clusters with servers: AMS3's pauses too
        body = {**VALKEY, "private_network_uuid": account["id"]}
        cluster_id = do.databases.create_cluster(body)["database"]["id"]
        valkey = f"oxy-{machines['instance']}-db-{cluster_id}"
    source = wait_active(do, source["id"])
    written = ssh(key_pair, address(source, "public"), "echo before-the-snapshot > /root/kept && sync")
    assert written.returncode == 0, written.stderr

    snap = do.droplet_actions.post(source["id"], {"type": "snapshot", "name": "api-1-snap"})["action"]
    assert wait_action(do, snap["id"], timeout=180)["status"] == "completed"
    [image] = do.droplets.list_snapshots(source["id"])["snapshots"]
    # The droplet restored from its snapshot: a file removed since is back, on the same droplet and address.
    assert ssh(key_pair, address(source, "public"), "rm /root/kept").returncode == 0
    restore = do.droplet_actions.post(source["id"], {"type": "restore", "image": image["id"]})["action"]
    assert wait_action(do, restore["id"], timeout=180)["status"] == "completed"
    assert ssh(key_pair, address(source, "public"), "cat /root/kept").stdout.strip() == "before-the-snapshot"
    moved = do.image_actions.post(image["id"], {"type": "transfer", "region": "fra1"})["action"]
    assert wait_action(do, moved["id"])["status"] == "completed"

    vpc = do.vpcs.create({"name": "default-fra1", "region": "fra1", "ip_range": "10.151.0.0/20"})["vpc"]
    copy = create(do, key_pair, vpc["id"], name="api-1-fra1", region="fra1", image=image["id"])
    copy = wait_active(do, copy["id"])
    assert copy["region"]["slug"] == "fra1" and copy["image"]["id"] == image["id"]
    out = ssh(key_pair, address(copy, "public"), "cat /root/kept; hostname")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["before-the-snapshot", "api-1-fra1"]

    if valkey:  # an online cluster goes dark (its server started and answers: nothing queued behind its boot)
        deadline = time.monotonic() + 120
        while do.databases.get_cluster(cluster_id)["database"]["status"] != "online" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert do.databases.get_cluster(cluster_id)["database"]["status"] == "online"

    # AMS3 goes dark: its machine is paused (kept), FRA1's runs on; back when the fault is cleared.
    sandbox.faults(regions_down=["ams3"])
    deadline = time.monotonic() + 30
    while not container(machines, source["id"])["State"]["Paused"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert container(machines, source["id"])["State"]["Paused"]
    if valkey:
        while not _state(valkey).get("Paused") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _state(valkey)["Paused"], _state(valkey)
    assert (
        container(machines, copy["id"])["State"]["Running"] and not container(machines, copy["id"])["State"]["Paused"]
    )
    sandbox.control("DELETE", "faults")
    while container(machines, source["id"])["State"]["Paused"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert ssh(key_pair, address(source, "public"), "cat /root/kept").stdout.strip() == "before-the-snapshot"
    if valkey:
        while _state(valkey).get("Paused") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _state(valkey)["Running"] and not _state(valkey)["Paused"]

    # Deleting the image deletes its copies (the committed container and the disk volume).
    stem = f"oxy-{machines['instance']}-image-{image['id']}"
    assert _docker_has("image", stem) and _docker_has("volume", f"{stem}-disk")
    do.images.delete(image["id"])
    while (_docker_has("image", stem) or _docker_has("volume", f"{stem}-disk")) and time.monotonic() < deadline + 30:
        time.sleep(0.3)
    assert not _docker_has("image", stem) and not _docker_has("volume", f"{stem}-disk")
