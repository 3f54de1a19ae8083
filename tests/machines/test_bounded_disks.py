"""Bounded droplet disks (the setting ``droplet_disk_gib``): a droplet's ``/var/lib/docker`` is an ext4
filesystem of that size in a sparse image file under the sandbox's state dir, loop-mounted by the sandbox.
A snapshot keeps its files (sparse ones sparse) and a restore brings them back on a disk of the same size;
a destroyed droplet and a reset leave no loop device, mount or image file behind; a restarted sandbox mounts
the disks of its machines again; a killed sandbox's disks are freed by the next one.

Needs a Docker engine and the droplet image, like the other machine tests (skipped without them); the
last test needs root's ``mount -o loop`` only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import time
from pathlib import Path

import docker
import pytest
import requests
from oxy_sandbox import process
from oxy_sandbox.backends import liveness
from oxy_sandbox.backends.machines import Machines, PublicNetwork

from tests.machines import test_machines
from tests.machines.test_machines import address, container, create, ssh, wait_action, wait_active

# The machine tests' fixtures: a sandbox with machines on, the operators' key, an account with a VPC.
machines, key_pair, account = test_machines.machines, test_machines.key_pair, test_machines.account


def _loops(under: Path) -> list[str]:
    """Loop devices whose backing file is under ``under`` (``losetup -a``)."""
    out = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if str(under) in line]


def _mounted(under: Path) -> list[str]:
    """Mounts on a point under ``under`` (``/proc/mounts``)."""
    return [line for line in Path("/proc/mounts").read_text().splitlines() if f" {under}/" in line]


def _disk(key_pair: Path, droplet: dict) -> tuple[int, int]:
    """The droplet's own view of its disk: (size, used) of ``/var/lib/docker`` in MiB."""
    out = ssh(key_pair, address(droplet, "public"), "df -P --block-size=1M /var/lib/docker | tail -1")
    assert out.returncode == 0, out.stderr
    fields = out.stdout.split()
    return int(fields[1]), int(fields[2])


@pytest.mark.slow
def test_a_bounded_disk_is_restored_from_its_snapshot_and_a_reset_frees_it(machines, sandbox, do, key_pair, account):
    disks = sandbox.running.state_dir / "disks"
    sandbox.configure(droplet_disk_gib=1)
    try:
        source = wait_active(do, create(do, key_pair, account["id"], name="api-1")["id"])
        public = address(source, "public")
        size, _ = _disk(key_pair, source)
        assert 900 < size <= 1024
        image = disks / f"oxy-{machines['instance']}-droplet-{source['id']}-disk.img"
        assert image.exists() and len(_loops(disks)) == 1 and len(_mounted(disks)) == 1
        # A file on the disk, a sparse one of 600 MiB (copied whole, it would take 600 MiB of the restored
        # disk), and one on the machine's own layer.
        written = ssh(
            key_pair,
            public,
            "echo on-the-disk > /var/lib/docker/kept && truncate -s 600M /var/lib/docker/sparse"
            " && echo on-the-root > /root/kept && sync",
        )
        assert written.returncode == 0, written.stderr

        snap = do.droplet_actions.post(source["id"], {"type": "snapshot", "name": "api-1-snap"})["action"]
        assert wait_action(do, snap["id"], timeout=180)["status"] == "completed"
        [snapshot] = do.droplets.list_snapshots(source["id"])["snapshots"]
        gone = ssh(key_pair, public, "rm /var/lib/docker/kept /var/lib/docker/sparse /root/kept")
        assert gone.returncode == 0, gone.stderr
        restore = do.droplet_actions.post(source["id"], {"type": "restore", "image": snapshot["id"]})["action"]
        assert wait_action(do, restore["id"], timeout=180)["status"] == "completed"
        back = ssh(key_pair, public, "cat /var/lib/docker/kept /root/kept; stat -c %s /var/lib/docker/sparse; hostname")
        assert back.returncode == 0, back.stderr
        assert back.stdout.split() == ["on-the-disk", "on-the-root", str(600 * 2**20), "api-1"]
        size, used = _disk(key_pair, source)
        assert 900 < size <= 1024 and used < 100, "a bounded disk again, the sparse file still sparse"
        assert len(_loops(disks)) == 1 and len(_mounted(disks)) == 1, "the old disk was freed"

        # A second droplet; destroying it frees its disk, the first one's stays.
        other = wait_active(do, create(do, key_pair, account["id"], name="api-2")["id"])
        assert len(_loops(disks)) == 2 and len(_mounted(disks)) == 2
        do.droplets.destroy(other["id"])
        deadline = time.monotonic() + 60
        while (len(_loops(disks)), len(_mounted(disks))) != (1, 1) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(_loops(disks)) == 1 and len(_mounted(disks)) == 1 and image.exists()
    finally:
        sandbox.configure(droplet_disk_gib=None)
        sandbox.reset()
    assert _loops(disks) == [] and _mounted(disks) == []
    assert not list(disks.glob("*.img")) if disks.exists() else True


@pytest.mark.slow
def test_a_restarted_sandbox_mounts_its_machines_disks_again(tmp_path, key_pair):
    if not os.environ.get("OXY_SANDBOX_DROPLET_IMAGE"):
        pytest.skip("no droplet image (OXY_SANDBOX_DROPLET_IMAGE; scripts/test builds it)")
    state = tmp_path / "state"
    disks = state / "disks"
    running = process.start(state, reset=True, extra=["--droplet-delay", "0", "--action-delay", "0"])
    try:
        machines = running.control("GET", "machines")
        if not machines.get("enabled"):
            pytest.skip(machines.get("reason"))
        running.control("PUT", "config", {"droplet_disk_gib": 0.5})
        status, key = running.api(
            "POST", "/v2/account/keys", {"name": "ops", "public_key": key_pair.with_suffix(".pub").read_text()}
        )
        assert status == 201
        body = {"name": "kept", "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
        kept = running.api("POST", "/v2/droplets", {**body, "ssh_keys": [key["ssh_key"]["id"]]})[1]["droplet"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            kept = running.api("GET", f"/v2/droplets/{kept['id']}")[1]["droplet"]
            if kept["status"] == "active":
                break
            time.sleep(0.5)
        assert kept["status"] == "active"
        written = ssh(key_pair, address(kept, "public"), "echo before-the-restart > /var/lib/docker/kept && sync")
        assert written.returncode == 0, written.stderr
        process.stop(running)
        assert len(_mounted(disks)) == 1, "a stopped sandbox's machines keep their disks"
        # While the API is down, the machine stops and its disk is unmounted (as after a reboot of this machine).
        name = f"oxy-{machines['instance']}-droplet-{kept['id']}"
        subprocess.run(["docker", "stop", name], check=True, capture_output=True)
        subprocess.run(["umount", str(disks / f"{name}-disk")], check=True)
        assert _loops(disks) == [] and _mounted(disks) == []
        running = process.start(state, extra=["--droplet-delay", "0"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not container(machines, kept["id"])["State"]["Running"]:
            time.sleep(0.5)
        assert container(machines, kept["id"])["State"]["Running"], "the active droplet's machine started again"
        command = "cat /var/lib/docker/kept; df -P --block-size=1M /var/lib/docker"
        out = ssh(key_pair, address(kept, "public"), command)
        while out.returncode != 0 and time.monotonic() < deadline + 60:  # sshd may still be starting
            time.sleep(1)
            out = ssh(key_pair, address(kept, "public"), command)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0] == "before-the-restart" and 400 < int(lines[-1].split()[1]) <= 512
    finally:
        running.control("POST", "reset")
        process.stop(running)
    assert _loops(disks) == [] and _mounted(disks) == [] and not list(disks.glob("*.img"))


def test_the_disks_of_a_sandbox_with_no_machine_left_are_freed(tmp_path):
    """What a killed sandbox leaves once its machines went (a loop-mounted disk, its image file, the volume bound to
    it) is freed by the next one's prune; a sandbox that still has machines, or still runs, keeps its disks."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine: {exc}")
    name = "oxy-0123456789-droplet-7-disk"
    image, mount = tmp_path / f"{name}.img", tmp_path / name
    with open(image, "wb") as sparse:
        sparse.truncate(64 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    mount.mkdir()
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"no loop mounts here: {mounted.stderr.strip()}")
    bind = {"type": "none", "o": "bind", "device": str(mount)}
    client.volumes.create(name, driver="local", driver_opts=bind, labels={"oxy.sandbox": "0123456789"})
    machines = Machines(client, "unused", "fedcba9876", PublicNetwork(ipaddress.ip_network("198.51.100.0/24")))
    try:
        assert len(_loops(tmp_path)) == 1 and len(_mounted(tmp_path)) == 1
        assert machines.prune_disks(keep={"0123456789"}) == []
        assert len(_mounted(tmp_path)) == 1 and image.exists()
        alive = liveness.hold("0123456789")  # its sandbox runs, before its first machine: kept, whatever keep says
        try:
            assert machines.prune_disks(keep={"fedcba9876"}) == []
            assert len(_mounted(tmp_path)) == 1 and image.exists()
        finally:
            liveness.release(alive)
        assert machines.prune_disks(keep={"fedcba9876"}) == [str(mount)]
        assert _loops(tmp_path) == [] and _mounted(tmp_path) == []
        assert not image.exists() and not mount.exists()
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(name)
    finally:
        machines.close()
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)
        with contextlib.suppress(docker.errors.DockerException):
            client.volumes.get(name).remove(force=True)


def test_the_disk_size_setting_is_checked(sandbox):
    assert sandbox.control("GET", "config")["droplet_disk_gib"] is None, "unbounded unless set"
    url = f"{sandbox.url}/_sandbox/config"
    refused = requests.put(url, json={"droplet_disk_gib": 0}, verify=sandbox.ca, timeout=30)
    assert refused.status_code == 422 and "droplet_disk_gib" in refused.text
    try:
        assert sandbox.configure(droplet_disk_gib=1.5)["droplet_disk_gib"] == 1.5
    finally:
        assert sandbox.configure(droplet_disk_gib=None)["droplet_disk_gib"] is None
