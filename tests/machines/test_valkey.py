"""Sandbox Valkey clusters backed by real servers (redis-server, TLS only), reached from this machine
at their public address and from droplets by their host names.

They need a Docker engine, the droplet image and the valkey image (scripts/test builds them and exports
OXY_SANDBOX_DROPLET_IMAGE and OXY_SANDBOX_VALKEY_IMAGE); without them every test here is skipped with
that reason. The module shares one sandbox (its own, with short delays) and one cluster.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time

import pytest
import redis
from oxy_sandbox import process

VALKEY = {"engine": "valkey", "version": "8", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
DATABASE_DELAY = 0.5


def _start(state, reset: bool = True) -> process.Running:
    return process.start(
        state, reset=reset, extra=["--database-delay", str(DATABASE_DELAY), "--droplet-delay", "0"], timeout=60
    )


def _servers_or_skip(running: process.Running) -> dict:
    info = running.control("GET", "machines")
    if not info.get("enabled"):
        pytest.skip(f"this sandbox has no machines: {info.get('reason')}")
    if not info.get("valkey_image"):
        pytest.skip(f"this sandbox has no Valkey servers: {info.get('valkey_servers')}")
    return info


def _need_images() -> None:
    for name in ("OXY_SANDBOX_DROPLET_IMAGE", "OXY_SANDBOX_VALKEY_IMAGE"):
        if not os.environ.get(name):
            pytest.skip(f"no {name} (scripts/test builds the images and exports it)")


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    _need_images()
    running = _start(tmp_path_factory.mktemp("valkey-sandbox"))
    try:
        _servers_or_skip(running)
        yield running
    finally:
        running.control("POST", "reset")  # servers, machines and VPC networks go with it
        process.stop(running)


def api(running: process.Running, method: str, path: str, body: dict | None = None, status: int | None = None):
    code, answer = running.api(method, path, body)
    if status is not None:
        assert code == status, (method, path, code, answer)
    return answer


def wait_for(running: process.Running, path: str, key: str, status: str, timeout: float) -> dict:
    """The resource at ``path`` once its status is ``status``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api(running, "GET", path, status=200)[key]
        if found["status"] == status:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{path} still {found['status']} after {timeout}s")


def wait_online(running: process.Running, cluster_id: str, timeout: float = 90) -> dict:
    return wait_for(running, f"/v2/databases/{cluster_id}", "database", "online", timeout)


def create_cluster(running: process.Running, name: str, vpc_id: str) -> dict:
    body = {**VALKEY, "name": name, "private_network_uuid": vpc_id}
    return api(running, "POST", "/v2/databases", body, status=201)["database"]


def server(running: process.Running, cluster_id: str) -> dict:
    return running.control("GET", "machines")["databases"][cluster_id]


def connect(running: process.Running, cluster_id: str, password: str) -> redis.Redis:
    """A client from this machine to the cluster's public address, over TLS verified with the sandbox's CA."""
    srv = server(running, cluster_id)
    return redis.Redis(
        host=srv["public_ip"],
        port=srv["port"],
        username="default",
        password=password,
        ssl=True,
        ssl_ca_certs=running.ca,
        socket_timeout=5,
    )


def container(name: str) -> dict | None:
    proc = subprocess.run(["docker", "inspect", name], capture_output=True, text=True)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


@pytest.fixture(scope="module")
def vpc(running) -> dict:
    return api(running, "POST", "/v2/vpcs", {"name": "cache-ams3", "region": "ams3"}, status=201)["vpc"]


@pytest.fixture(scope="module")
def cluster(running, vpc) -> dict:
    created = create_cluster(running, "db-valkey-ams3", vpc["id"])
    assert created["status"] == "creating"
    started = time.monotonic()
    db = wait_online(running, created["id"])
    assert time.monotonic() - started >= DATABASE_DELAY * 0.8  # never before the configured delay
    return db


@pytest.mark.slow
def test_a_valkey_cluster_comes_online_with_a_live_server(running, cluster):
    srv = server(running, cluster["id"])
    assert srv["up"] is True and srv["port"] == 25061
    assert srv["host"] == cluster["connection"]["host"]
    assert srv["private_host"] == cluster["private_connection"]["host"]
    inspected = container(srv["container"])
    assert srv["container"] == f"oxy-{running.control('GET', 'machines')['instance']}-db-{cluster['id']}"
    assert inspected["State"]["Running"] and inspected["HostConfig"]["CapDrop"] == ["ALL"]
    assert not inspected["HostConfig"]["Privileged"] and not inspected["HostConfig"]["CapAdd"]

    password = cluster["connection"]["password"]
    assert cluster["users"] == [{"name": "default", "role": "primary", "password": password}]
    client = connect(running, cluster["id"], password)  # the certificate names the public address
    assert client.set("session:1", "alice", ex=60) is True
    assert client.get("session:1") == b"alice" and 0 < client.ttl("session:1") <= 60
    with pytest.raises(redis.AuthenticationError):
        connect(running, cluster["id"], password + "x").ping()
    # TLS only: no plaintext on the cluster's port nor on redis' usual one.
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=srv["public_ip"], port=srv["port"], password=password, socket_timeout=3).ping()
    with pytest.raises(OSError), socket.create_connection((srv["public_ip"], 6379), timeout=3):
        pass


@pytest.mark.slow
def test_reset_auth_rotates_the_live_password_at_once(running, cluster):
    old = api(running, "GET", f"/v2/databases/{cluster['id']}", status=200)["database"]["connection"]["password"]
    assert connect(running, cluster["id"], old).ping()
    new = api(running, "POST", f"/v2/databases/{cluster['id']}/users/default/reset_auth", {}, status=200)["user"]
    assert new["password"] != old
    with pytest.raises(redis.AuthenticationError):
        connect(running, cluster["id"], old).ping()
    assert connect(running, cluster["id"], new["password"]).ping()
    got = api(running, "GET", f"/v2/databases/{cluster['id']}", status=200)["database"]
    assert got["connection"]["password"] == new["password"]


@pytest.mark.slow
def test_the_eviction_policy_is_the_live_servers(running, cluster):
    password = api(running, "GET", f"/v2/databases/{cluster['id']}", status=200)["database"]["connection"]["password"]
    client = connect(running, cluster["id"], password)
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    api(running, "PUT", f"/v2/databases/{cluster['id']}/eviction_policy", {"eviction_policy": "allkeys_lru"}, 204)
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    body = {"config": {"valkey_maxmemory_policy": "volatile_ttl"}}
    api(running, "PATCH", f"/v2/databases/{cluster['id']}/config", body, status=200)
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-ttl"}
    policy = api(running, "GET", f"/v2/databases/{cluster['id']}/eviction_policy", status=200)
    assert policy == {"eviction_policy": "volatile_ttl"}


def wait_active(running: process.Running, droplet_id: int, timeout: float = 180) -> dict:
    return wait_for(running, f"/v2/droplets/{droplet_id}", "droplet", "active", timeout)


def resolves(droplet_container: str, name: str) -> str:
    command = ["docker", "exec", droplet_container, "getent", "hosts", name]
    proc = subprocess.run(command, capture_output=True, text=True)
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else ""


@pytest.mark.slow
def test_the_private_host_resolves_only_inside_the_clusters_vpc(running, vpc, cluster):
    other = api(running, "POST", "/v2/vpcs", {"name": "other-ams3", "region": "ams3"}, status=201)["vpc"]
    body = {"region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
    inside = api(running, "POST", "/v2/droplets", {**body, "name": "inside", "vpc_uuid": vpc["id"]}, 202)
    outside = api(running, "POST", "/v2/droplets", {**body, "name": "outside", "vpc_uuid": other["id"]}, 202)
    instance = running.control("GET", "machines")["instance"]
    names = []
    for created in (inside, outside):
        wait_active(running, created["droplet"]["id"])
        names.append(f"oxy-{instance}-droplet-{created['droplet']['id']}")
    srv = server(running, cluster["id"])
    assert resolves(names[0], srv["private_host"]) == srv["private_ip"]
    assert resolves(names[1], srv["private_host"]) == ""
    assert resolves(names[0], srv["host"]) == srv["public_ip"]  # the public host: from every droplet
    assert resolves(names[1], srv["host"]) == srv["public_ip"]


@pytest.mark.slow
def test_deleting_a_cluster_removes_its_server(running, vpc):
    db = wait_online(running, create_cluster(running, "db-valkey-gone", vpc["id"])["id"])
    name = server(running, db["id"])["container"]
    assert container(name)["State"]["Running"]
    api(running, "DELETE", f"/v2/databases/{db['id']}", status=204)
    deadline = time.monotonic() + 30
    while container(name) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert container(name) is None
    assert db["id"] not in running.control("GET", "machines")["databases"]


@pytest.mark.slow
def test_a_restarted_sandbox_finds_its_servers_again(tmp_path):
    _need_images()
    state = tmp_path / "state"
    first = _start(state)
    try:
        _servers_or_skip(first)
        vpc = api(first, "POST", "/v2/vpcs", {"name": "restart-ams3", "region": "ams3"}, status=201)["vpc"]
        kept = wait_online(first, create_cluster(first, "kept", vpc["id"])["id"])
        gone = wait_online(first, create_cluster(first, "gone", vpc["id"])["id"])
        servers = first.control("GET", "machines")["databases"]
        instance = first.control("GET", "machines")["instance"]
        process.stop(first)

        # Another sandbox starting meanwhile keeps this one's VPC network: its servers still use it.
        other = _start(tmp_path / "other")
        process.stop(other)
        network = subprocess.run(["docker", "network", "inspect", f"oxy-vpc-{vpc['id']}"], capture_output=True)
        assert network.returncode == 0

        # While the API is down, one server goes, and the store loses the other cluster (an orphan).
        subprocess.run(["docker", "rm", "-f", servers[kept["id"]]["container"]], check=True, capture_output=True)
        with sqlite3.connect(state / "state.db") as db:
            db.execute("DELETE FROM objects WHERE kind='databases' AND id=?", (gone["id"],))
        first = _start(state, reset=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            container(servers[gone["id"]]["container"]) or not server(first, kept["id"])["up"]
        ):
            time.sleep(0.3)
        assert container(servers[gone["id"]]["container"]) is None
        assert server(first, kept["id"])["up"], "the kept cluster's server was started again"
        assert servers[kept["id"]]["container"] == f"oxy-{instance}-db-{kept['id']}"
        client = connect(first, kept["id"], kept["connection"]["password"])
        assert client.ping()  # same addresses, same certificate, same password
    finally:
        first.control("POST", "reset")
        process.stop(first)
