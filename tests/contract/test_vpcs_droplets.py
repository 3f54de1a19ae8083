"""VPCs, droplets and droplet actions through pydo."""

from __future__ import annotations

import ipaddress
import time

import pytest
from azure.core.exceptions import HttpResponseError

DROPLET = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "ams3"}


def error_of(call):
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value.status_code, err.value.response.json()


def test_vpc_lifecycle(do):
    first = do.vpcs.create({"name": "default-ams3", "region": "ams3", "description": "main"})["vpc"]
    assert first["default"] is True
    assert first["urn"] == f"do:vpc:{first['id']}"
    assert ipaddress.ip_network(first["ip_range"]).prefixlen == 20
    second = do.vpcs.create({"name": "other-ams3", "region": "ams3", "ip_range": "10.200.0.0/24"})["vpc"]
    assert second["default"] is False
    assert do.vpcs.get(second["id"])["vpc"] == second
    patched = do.vpcs.patch(second["id"], {"name": "renamed"})["vpc"]
    assert (patched["name"], patched["description"]) == ("renamed", "")
    updated = do.vpcs.update(second["id"], {"name": "renamed", "description": "spare"})["vpc"]
    assert updated["description"] == "spare"
    assert {v["name"] for v in do.vpcs.list()["vpcs"]} == {"default-ams3", "renamed"}
    do.vpcs.delete(second["id"])
    again = do.vpcs.delete(second["id"])
    assert again["id"] == "not_found"


def test_vpc_default_cannot_be_deleted_and_members_block_delete(do):
    default = do.vpcs.create({"name": "default-ams3", "region": "ams3"})["vpc"]
    status, body = error_of(lambda: do.vpcs.delete(default["id"]))
    assert (status, body["id"]) == (403, "forbidden")
    spare = do.vpcs.create({"name": "spare", "region": "ams3"})["vpc"]
    do.droplets.create({"name": "member", **DROPLET, "vpc_uuid": spare["id"]})
    members = do.vpcs.list_members(spare["id"])["members"]
    assert [m["name"] for m in members] == ["member"]
    status, _ = error_of(lambda: do.vpcs.delete(spare["id"]))
    assert status == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name!", "region": "ams3"}, "name"),
        ({"name": "ok", "region": "mars1"}, "region"),
        ({"name": "ok", "region": "ams3", "ip_range": "8.8.8.0/24"}, "ip_range"),
        ({"name": "ok", "region": "ams3", "ip_range": "10.0.0.0/8"}, "ip_range"),
    ],
)
def test_vpc_bad_input_names_the_field(do, body, field):
    status, err = error_of(lambda: do.vpcs.create(body))
    assert status == 422
    assert err["id"] == "unprocessable_entity"
    assert err["message"].startswith(field)


def test_droplet_create_becomes_active_with_networks(do):
    vpc = do.vpcs.create({"name": "default-ams3", "region": "ams3"})["vpc"]
    created = do.droplets.create({"name": "oxy-api-backend", **DROPLET, "tags": ["api"], "monitoring": True})
    droplet = created["droplet"]
    assert created["links"]["actions"][0]["rel"] == "create"
    assert droplet["status"] == "new"
    assert droplet["networks"] == {"v4": [], "v6": []}
    assert droplet["vpc_uuid"] == vpc["id"]
    action = do.actions.get(created["links"]["actions"][0]["id"])["action"]
    assert (action["status"], action["type"], action["resource_id"]) == ("completed", "create", droplet["id"])
    active = do.droplets.get(droplet["id"])["droplet"]
    assert active["status"] == "active"
    by_type = {n["type"]: n["ip_address"] for n in active["networks"]["v4"]}
    assert ipaddress.ip_address(by_type["private"]) in ipaddress.ip_network(vpc["ip_range"])
    assert ipaddress.ip_address(by_type["public"])
    assert active["size"]["slug"] == active["size_slug"] == "s-1vcpu-1gb"
    assert active["region"]["slug"] == "ams3"
    assert active["image"]["slug"] == "ubuntu-24-04-x64"
    assert "monitoring" in active["features"]
    assert do.tags.get("api")["tag"]["resources"]["droplets"]["count"] == 1


def test_droplet_lifecycle_takes_time_when_delayed(sandbox, do):
    sandbox.configure(droplet_delay=1.5)
    droplet = do.droplets.create({"name": "slow", **DROPLET})["droplet"]
    assert do.droplets.get(droplet["id"])["droplet"]["status"] == "new"
    assert do.droplets.get(droplet["id"])["droplet"]["networks"]["v4"] == []
    time.sleep(1.6)
    active = do.droplets.get(droplet["id"])["droplet"]
    assert active["status"] == "active"
    assert len(active["networks"]["v4"]) == 2


def test_droplet_default_vpc_is_created_for_the_region(do):
    droplet = do.droplets.create({"name": "lonely", **DROPLET, "region": "fra1"})["droplet"]
    vpc = do.vpcs.get(droplet["vpc_uuid"])["vpc"]
    assert (vpc["name"], vpc["region"], vpc["default"]) == ("default-fra1", "fra1", True)


def test_droplet_multi_create_and_filters(do):
    created = do.droplets.create({"names": ["web-1", "web-2", "web-3"], **DROPLET, "tags": ["web"]})
    assert len(created["droplets"]) == len(created["links"]["actions"]) == 3
    do.droplets.create({"name": "Solo", **DROPLET})
    assert [d["name"] for d in do.droplets.list(tag_name="web")["droplets"]] == ["web-1", "web-2", "web-3"]
    assert [d["name"] for d in do.droplets.list(name="solo")["droplets"]] == ["Solo"]
    page = do.droplets.list(per_page=2, page=2)
    assert page["meta"]["total"] == 4 and len(page["droplets"]) == 2
    status, err = error_of(lambda: do.droplets.list(tag_name="web", name="web-1"))
    assert status == 422 and "tag_name" in err["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"size": "s-99vcpu"}, "size"),
        ({"image": "windows-95"}, "image"),
        ({"region": "mars1"}, "region"),
        ({"name": "no spaces allowed"}, "name"),
        ({"ssh_keys": [424242]}, "ssh_keys"),
    ],
)
def test_droplet_bad_input_names_the_field(do, change, field):
    status, err = error_of(lambda: do.droplets.create({"name": "bad", **DROPLET, **change}))
    assert status == 422
    assert field in err["message"]
    assert do.droplets.list()["droplets"] == []


def test_droplet_in_a_vpc_of_another_region_is_refused(do):
    nyc = do.vpcs.create({"name": "default-nyc3", "region": "nyc3"})["vpc"]
    status, err = error_of(lambda: do.droplets.create({"name": "x", **DROPLET, "vpc_uuid": nyc["id"]}))
    assert status == 422
    assert "vpc_uuid" in err["message"] and "nyc3" in err["message"]


def test_droplet_actions(do):
    droplet = do.droplets.create({"name": "acted", **DROPLET})["droplet"]
    did = droplet["id"]
    status, err = error_of(lambda: do.droplet_actions.post(did, {"type": "resize", "size": "s-2vcpu-4gb"}))
    assert status == 422 and "power it off" in err["message"]
    off = do.droplet_actions.post(did, {"type": "power_off"})["action"]
    assert off["type"] == "power_off"
    assert do.droplets.get(did)["droplet"]["status"] == "off"
    do.droplet_actions.post(did, {"type": "resize", "size": "s-2vcpu-4gb", "disk": True})
    resized = do.droplets.get(did)["droplet"]
    assert (resized["size_slug"], resized["memory"], resized["vcpus"], resized["disk"]) == ("s-2vcpu-4gb", 4096, 2, 80)
    do.droplet_actions.post(did, {"type": "power_on"})
    do.droplet_actions.post(did, {"type": "rename", "name": "renamed"})
    do.droplet_actions.post(did, {"type": "snapshot", "name": "snap"})
    final = do.droplets.get(did)["droplet"]
    assert (final["status"], final["name"], len(final["snapshot_ids"])) == ("active", "renamed", 1)
    kinds = [a["type"] for a in do.droplet_actions.list(did)["actions"]]
    assert kinds == ["snapshot", "rename", "power_on", "resize", "power_off", "create"]
    assert do.droplet_actions.get(did, off["id"])["action"]["status"] == "completed"


def test_droplet_action_on_a_new_droplet_is_refused(sandbox, do):
    sandbox.configure(droplet_delay=30)
    did = do.droplets.create({"name": "busy", **DROPLET})["droplet"]["id"]
    status, err = error_of(lambda: do.droplet_actions.post(did, {"type": "power_off"}))
    assert status == 422 and "pending event" in err["message"]


def test_droplet_actions_by_tag(do):
    do.droplets.create({"names": ["a", "b"], **DROPLET, "tags": ["batch"]})
    actions = do.droplet_actions.post_by_tag({"type": "power_off"}, tag_name="batch")["actions"]
    assert len(actions) == 2
    assert {d["status"] for d in do.droplets.list(tag_name="batch")["droplets"]} == {"off"}


def test_droplet_delete_leaves_vpc_members_and_projects(do):
    droplet = do.droplets.create({"name": "temp", **DROPLET})["droplet"]
    vpc_id = droplet["vpc_uuid"]
    assert len(do.vpcs.list_members(vpc_id)["members"]) == 1
    do.droplets.destroy(droplet["id"])
    assert do.vpcs.list_members(vpc_id)["members"] == []
    assert do.droplets.get(droplet["id"])["id"] == "not_found"
    urns = [r["urn"] for r in do.projects.list_resources_default()["resources"]]
    assert f"do:droplet:{droplet['id']}" not in urns


def test_droplet_delete_by_tag_and_dangerous(do):
    do.droplets.create({"names": ["x1", "x2"], **DROPLET, "tags": ["doomed"]})
    keep = do.droplets.create({"name": "keep", **DROPLET})["droplet"]
    do.droplets.destroy_by_tag(tag_name="doomed")
    assert [d["name"] for d in do.droplets.list()["droplets"]] == ["keep"]
    do.droplets.destroy_with_associated_resources_dangerous(keep["id"], x_dangerous=True)
    assert do.droplets.list()["droplets"] == []
