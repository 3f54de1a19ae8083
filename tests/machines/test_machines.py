"""Sandbox droplets as machines: booted from the droplet image, reached over SSH, on real networks,
behind cloud firewalls enforced outside them, pulling from a real registry.

They need a Docker engine and the droplet image (scripts/test builds it and exports
OXY_SANDBOX_DROPLET_IMAGE); without them every test here is skipped with that reason.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import docker
import pytest
from oxy_sandbox import process
from oxy_sandbox.backends.machines import PUBLIC_NETWORK, Machines, PublicNetwork

# Listeners on the ports the Oxy droplet's firewall opens, started by user_data at first boot.
USER_DATA = """#!/bin/sh
echo "booted by user_data" > /root/user-data-ran
for port in 80 443 25 587; do
  nohup python3 -m http.server "$port" --bind 0.0.0.0 >/dev/null 2>&1 &
done
"""


@pytest.fixture
def machines(sandbox):
    info = sandbox.control("GET", "machines")
    if not info.get("enabled") and info.get("reason"):
        pytest.skip(f"this sandbox has no machines: {info['reason']}")
    sandbox.configure(machines=True)
    return sandbox.control("GET", "machines")


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def ssh(key: Path, address: str, command: str, timeout: int = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={timeout}",
            f"root@{address}",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )


def wait_active(do, droplet_id: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        droplet = do.droplets.get(droplet_id)["droplet"]
        if droplet["status"] == "active":
            return droplet
        time.sleep(0.5)
    raise AssertionError(f"droplet {droplet_id} still {droplet['status']} after {timeout}s")


def wait_action(do, action_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        action = do.actions.get(action_id)["action"]
        if action["status"] != "in-progress":
            return action
        time.sleep(0.3)
    raise AssertionError(f"action {action_id} still in progress after {timeout}s")


def address(droplet: dict, kind: str) -> str:
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == kind)


def reaches(source: str, target: str, port: int, timeout: float = 3.0) -> bool:
    """A TCP connection from this machine's ``source`` address to ``target``:``port``."""
    sock = socket.socket()
    sock.settimeout(timeout)
    try:
        sock.bind((source, 0))
        sock.connect((target, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def container(machines: dict, droplet_id: int) -> dict | None:
    name = f"oxy-{machines['instance']}-droplet-{droplet_id}"
    proc = subprocess.run(["docker", "inspect", name], capture_output=True, text=True)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def create(do, key_pair: Path, vpc_id: str, name: str = "machine-1", **extra) -> dict:
    fingerprint = do.ssh_keys.list()["ssh_keys"][0]["fingerprint"]
    body = {
        "name": name,
        "region": "ams3",
        "size": "s-1vcpu-1gb",
        "image": "ubuntu-24-04-x64",
        "ssh_keys": [fingerprint],
        "vpc_uuid": vpc_id,
        "user_data": USER_DATA,
        "tags": ["web"],
        **extra,
    }
    return do.droplets.create(body)["droplet"]


@pytest.fixture
def account(do, key_pair):
    do.ssh_keys.create({"name": "ops", "public_key": key_pair.with_suffix(".pub").read_text()})
    return do.vpcs.create({"name": "default-ams3", "region": "ams3", "ip_range": "10.150.0.0/20"})["vpc"]


@pytest.mark.slow
def test_a_droplet_is_a_machine_through_its_lifecycle(machines, do, key_pair, account):
    droplet = create(do, key_pair, account["id"])
    assert droplet["status"] == "new" and droplet["networks"] == {"v4": [], "v6": []}
    droplet = wait_active(do, droplet["id"])
    public, private = address(droplet, "public"), address(droplet, "private")
    assert ipaddress.ip_address(public) in ipaddress.ip_network(machines["public_network"])
    assert ipaddress.ip_address(private) in ipaddress.ip_network("10.150.0.0/20")

    # cloud-init's work: the account key for root, the hostname, user_data once; and real addresses.
    out = ssh(key_pair, public, "hostname; cat /root/user-data-ran; ip -4 -o addr show | awk '{print $4}'")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == "machine-1" and "booted by user_data" in out.stdout
    assert f"{public}/24" in lines and f"{private}/20" in lines
    assert ssh(key_pair, private, "true").returncode == 0  # the private address answers too (on its VPC)
    wrong = key_pair.parent / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    assert ssh(wrong, public, "true", timeout=5).returncode != 0  # only the account's key gets in

    off = do.droplet_actions.post(droplet["id"], {"type": "power_off"})["action"]
    assert wait_action(do, off["id"])["status"] == "completed"
    assert do.droplets.get(droplet["id"])["droplet"]["status"] == "off"
    assert container(machines, droplet["id"])["State"]["Running"] is False
    assert not reaches(machines["operator_address"], public, 22)

    resize = do.droplet_actions.post(droplet["id"], {"type": "resize", "size": "s-2vcpu-2gb"})["action"]
    assert wait_action(do, resize["id"])["status"] == "completed"
    assert container(machines, droplet["id"])["HostConfig"]["Memory"] == 2048 * 2**20
    on = do.droplet_actions.post(droplet["id"], {"type": "power_on"})["action"]
    assert wait_action(do, on["id"])["status"] == "completed"
    out = ssh(key_pair, public, "cat /root/user-data-ran; test -f /var/lib/cloud/instance/boot-finished")
    assert out.returncode == 0 and out.stdout.count("booted") == 1  # the disk survived, user_data ran once

    do.droplets.destroy(droplet["id"])
    deadline = time.monotonic() + 60
    while container(machines, droplet["id"]) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert container(machines, droplet["id"]) is None
    volumes = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True).stdout.split()
    assert f"oxy-{machines['instance']}-droplet-{droplet['id']}-disk" not in volumes


@pytest.mark.slow
def test_cloud_firewalls_are_enforced_outside_the_droplet(machines, do, key_pair, account):
    droplet = wait_active(do, create(do, key_pair, account["id"], name="fw-target")["id"])
    public = address(droplet, "public")
    operator, outside = machines["operator_address"], machines["outside_address"]
    deadline = time.monotonic() + 30
    while not reaches(outside, public, 80) and time.monotonic() < deadline:
        time.sleep(0.5)  # user_data's listeners start after SSH
    assert reaches(outside, public, 22) and reaches(outside, public, 80)  # no firewall: open

    anywhere = {"addresses": ["0.0.0.0/0", "::/0"]}
    do.firewalls.create(
        {
            "name": "oxy-api-backend",
            "tags": ["web"],
            "inbound_rules": [
                {"protocol": "tcp", "ports": "22", "sources": {"addresses": [f"{operator}/32"]}},
                *({"protocol": "tcp", "ports": p, "sources": anywhere} for p in ("80", "443", "25", "587")),
            ],
            "outbound_rules": [{"protocol": "tcp", "ports": "all", "destinations": anywhere}],
        }
    )
    assert reaches(operator, public, 22)
    assert not reaches(outside, public, 22)  # SSH from outside the allowed sources: dropped
    assert all(reaches(outside, public, p) for p in (80, 443, 25, 587))
    assert not reaches(outside, public, 8080)  # nothing else
    # root inside the droplet cannot lift the rules: they live outside its network namespace
    ssh(key_pair, public, "iptables -F 2>/dev/null; iptables -P INPUT ACCEPT 2>/dev/null; true")
    assert not reaches(outside, public, 22)

    fw = do.firewalls.list()["firewalls"][0]
    do.firewalls.delete(fw["id"])
    assert reaches(outside, public, 22)  # rules follow the API: deleting the firewall opens the droplet


@pytest.mark.slow
def test_the_registry_hands_out_credentials_that_work_from_a_droplet(machines, do, key_pair, account, sandbox):
    if not machines.get("registry"):
        pytest.skip("this sandbox runs no registry (Debian's docker-registry is not installed)")
    assert sandbox.api("GET", "/v2/registry").status_code == 404
    do.registry.create({"name": "oxy", "subscription_tier_slug": "basic", "region": "ams3"})
    config = do.registry.get_docker_credentials()
    auth = config["auths"]["registry.digitalocean.com"]["auth"]
    user, _, password = base64.b64decode(auth).decode().partition(":")
    droplet = wait_active(do, create(do, key_pair, account["id"], name="puller")["id"])
    # As a Docker client does: the registry's challenge names its token service (realm), which
    # trades the credentials for a token the registry then accepts.
    client = f"""
import base64, json, urllib.error, urllib.request
def get(url, auth=None):
    try:
        request = urllib.request.Request(url, headers={{"Authorization": auth or ""}})
        answer = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as refused:
        answer = refused
    return answer.status, answer.headers, answer.read()
v2 = "https://registry.digitalocean.com/v2/"
status, headers, _body = get(v2)
realm = headers["WWW-Authenticate"].split('realm="')[1].split('"')[0] + "?service=registry.digitalocean.com"
basic = lambda password: "Basic " + base64.b64encode(("{user}:" + password).encode()).decode()
wrong = get(realm, basic("wrong"))[0]
token = json.loads(get(realm, basic("{password}"))[2])["token"]
print(status, wrong, get(v2, "Bearer " + token)[0])
"""
    script = f"python3 -c \"import base64; exec(base64.b64decode('{base64.b64encode(client.encode()).decode()}'))\""
    out = ssh(key_pair, address(droplet, "public"), script)
    assert out.returncode == 0, out.stderr
    # TLS verified with the sandbox's CA (cloud-init put it in the trust store), the name resolved to
    # the registry, its token service reached, and only the handed-out credentials get in.
    assert out.stdout.split() == ["401", "401", "200"]  # no token, wrong password, the token


@pytest.mark.slow
def test_a_restarted_sandbox_finds_its_machines_again(tmp_path, key_pair):
    if not os.environ.get("OXY_SANDBOX_DROPLET_IMAGE"):
        pytest.skip("no droplet image (OXY_SANDBOX_DROPLET_IMAGE; scripts/test builds it)")
    running = process.start(tmp_path / "state", reset=True, extra=["--droplet-delay", "0", "--action-delay", "0"])
    try:
        machines = running.control("GET", "machines")
        if not machines.get("enabled"):
            pytest.skip(machines.get("reason"))
        status, key = running.api(
            "POST", "/v2/account/keys", {"name": "ops", "public_key": key_pair.with_suffix(".pub").read_text()}
        )
        assert status == 201
        body = {"name": "kept", "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
        kept = running.api("POST", "/v2/droplets", {**body, "ssh_keys": [key["ssh_key"]["id"]]})[1]["droplet"]
        gone = running.api("POST", "/v2/droplets", {**body, "name": "gone"})[1]["droplet"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = [running.api("GET", f"/v2/droplets/{d['id']}")[1]["droplet"]["status"] for d in (kept, gone)]
            if states == ["active", "active"]:
                break
            time.sleep(0.5)
        assert states == ["active", "active"], "both droplets boot (they share their VPC's new network)"
        process.stop(running)
        # While the API is down, one machine stops, and the store (the source of truth) loses the
        # other droplet: its machine is then an orphan.
        subprocess.run(["docker", "stop", f"oxy-{machines['instance']}-droplet-{kept['id']}"], check=True)
        with sqlite3.connect(tmp_path / "state" / "state.db") as db:
            db.execute("DELETE FROM objects WHERE kind='droplets' AND id=?", (str(gone["id"]),))
        running = process.start(tmp_path / "state", extra=["--droplet-delay", "0"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            container(machines, gone["id"]) or not container(machines, kept["id"])["State"]["Running"]
        ):
            time.sleep(0.5)
        assert container(machines, kept["id"])["State"]["Running"], "the active droplet's machine started again"
        assert container(machines, gone["id"]) is None
    finally:
        running.control("POST", "reset")
        process.stop(running)


@pytest.mark.slow
def test_names_give_one_machine_per_droplet(machines, do, key_pair, account):
    body = {"names": ["web-1", "web-2"], "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
    created = do.droplets.create({**body, "vpc_uuid": account["id"]})["droplets"]
    droplets = [wait_active(do, d["id"]) for d in created]
    inspected = [container(machines, d["id"]) for d in droplets]
    assert [c["Config"]["Hostname"] for c in inspected] == ["web-1", "web-2"]
    assert len({address(d, "public") for d in droplets}) == 2
    assert len({address(d, "private") for d in droplets}) == 2


def test_a_stopped_machine_keeps_its_public_address_from_another_sandbox(machines):
    """Docker frees a stopped container's address on the shared public network; a powered-off droplet (of this or
    another sandbox) keeps it all the same, so a new machine never takes it and the old one starts again."""
    client = docker.from_env(timeout=60)
    address = str(ipaddress.ip_address(machines["public_network"].split("/")[0]) + 199)
    endpoint = client.api.create_endpoint_config(ipv4_address=address)
    created = client.api.create_container(
        machines["image"],
        command=["true"],
        labels={"oxy.sandbox": "0f0f0f0f0f"},
        networking_config=client.api.create_networking_config({PUBLIC_NETWORK: endpoint}),
        host_config=client.api.create_host_config(network_mode=PUBLIC_NETWORK),
    )
    other = Machines(
        client, machines["image"], "e0e0e0e0e0", PublicNetwork(ipaddress.ip_network(machines["public_network"]))
    )
    try:
        assert client.containers.get(created["Id"]).status == "created"
        assert address in other.used_public_addresses()
    finally:
        other.close()
        client.api.remove_container(created["Id"], force=True)
    assert address not in other.used_public_addresses()
