"""The oxy.infra.droplets inventory plugin against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fixtures.modules import COLLECTIONS

DROPLET = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "ams3"}


def plain(value):
    """ansible-core 2.19 shows untrusted (never templated) strings as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory(sandbox, tmp_path, config: str, *extra: str) -> dict:
    path = tmp_path / "droplets.yml"
    path.write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITALOCEAN_", "ANSIBLE_"))}
    env.update(
        sandbox.running.env(),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_INVENTORY_ENABLED="oxy.infra.droplets",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "cache"),
    )
    out = subprocess.run(
        [sys.executable, "-m", "ansible", "inventory", "-i", str(path), "--list", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return plain(json.loads(out.stdout))


def test_droplets_become_hosts_with_groups(sandbox, do, tmp_path):
    created = do.droplets.create({"names": [f"web-{i}" for i in range(1, 4)], **DROPLET, "tags": ["api", "oxy"]})
    do.droplets.create({"name": "worker", **DROPLET, "region": "fra1", "tags": ["batch"]})
    config = """
plugin: oxy.infra.droplets
tags: [api]
host_address: private
keyed_groups:
  - {key: do_tags, prefix: tag}
  - {key: do_region, prefix: region}
groups:
  small: do_size == 's-1vcpu-1gb'
compose:
  ansible_user: "'root'"
"""
    data = inventory(sandbox, tmp_path, config)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["web-1", "web-2", "web-3"]  # the untagged worker is filtered out
    web1 = hostvars["web-1"]
    first = do.droplets.get(created["droplets"][0]["id"])["droplet"]
    private = next(n["ip_address"] for n in first["networks"]["v4"] if n["type"] == "private")
    assert (web1["ansible_host"], web1["do_private_ipv4"], web1["ansible_user"]) == (private, private, "root")
    assert web1["do_id"] == first["id"] and web1["do_vpc_uuid"] == first["vpc_uuid"]
    assert sorted(data["tag_api"]["hosts"]) == ["web-1", "web-2", "web-3"]
    assert sorted(data["region_ams3"]["hosts"]) == ["web-1", "web-2", "web-3"]
    assert sorted(data["small"]["hosts"]) == ["web-1", "web-2", "web-3"]


def test_every_page_is_read_and_public_address_is_the_default(sandbox, do, tmp_path):
    for batch in range(3):
        do.droplets.create({"names": [f"d{batch}-{i}" for i in range(10)], **DROPLET})
    data = inventory(sandbox, tmp_path, "plugin: oxy.infra.droplets\n")
    hostvars = data["_meta"]["hostvars"]
    assert len(hostvars) == 30
    assert all(h["ansible_host"] == h["do_public_ipv4"] for h in hostvars.values())


def test_cache_serves_the_second_listing(sandbox, do, tmp_path):
    do.droplets.create({"name": "cached", **DROPLET})
    config = "plugin: oxy.infra.droplets\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
    first = inventory(sandbox, tmp_path, config)
    mark = sandbox.log()[-1]["seq"]
    do.droplets.create({"name": "later", **DROPLET})
    second = inventory(sandbox, tmp_path, config)
    assert sorted(first["_meta"]["hostvars"]) == sorted(second["_meta"]["hostvars"]) == ["cached"]
    assert [e for e in sandbox.log(since=mark) if e["route"] == "/v2/droplets" and e["method"] == "GET"] == []
    fresh = inventory(sandbox, tmp_path, config, "--flush-cache")
    assert sorted(fresh["_meta"]["hostvars"]) == ["cached", "later"]
