"""Cloud firewalls through pydo."""

from __future__ import annotations

import pytest

from tests.contract.test_vpcs_droplets import DROPLET

OUT_ALL = {"protocol": "tcp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}
SSH = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.7/32"]}}
WEB = {"protocol": "tcp", "ports": "443", "sources": {"addresses": ["0.0.0.0/0", "::/0"]}}


def test_firewall_create_echoes_rules_exactly(do):
    do.tags.create({"name": "api"})
    droplet = do.droplets.create({"name": "fw-target", **DROPLET})["droplet"]
    fw = do.firewalls.create(
        {
            "name": "oxy-api-backend",
            "inbound_rules": [SSH, WEB],
            "outbound_rules": [OUT_ALL],
            "droplet_ids": [droplet["id"]],
            "tags": ["api"],
        }
    )["firewall"]
    assert fw["status"] == "waiting"
    assert fw["pending_changes"] == [{"droplet_id": droplet["id"], "removing": False, "status": "waiting"}]
    assert fw["tags"] == ["api"]
    assert fw["outbound_rules"][0]["destinations"] == {"addresses": ["0.0.0.0/0", "::/0"]}
    assert fw["inbound_rules"] == [SSH, WEB]
    settled = do.firewalls.get(fw["id"])["firewall"]
    assert (settled["status"], settled["pending_changes"]) == ("succeeded", [])
    assert do.droplets.list_firewalls(droplet["id"])["firewalls"][0]["id"] == fw["id"]


def test_firewall_put_replaces_everything(do):
    fw = do.firewalls.create({"name": "fw", "inbound_rules": [SSH], "outbound_rules": [OUT_ALL]})["firewall"]
    updated = do.firewalls.update(fw["id"], {"name": "fw2", "inbound_rules": [WEB]})["firewall"]
    assert (updated["name"], updated["inbound_rules"], updated["outbound_rules"]) == ("fw2", [WEB], [])
    assert updated["droplet_ids"] == [] and updated["tags"] == []


def test_firewall_add_and_remove_droplets_tags_rules(do):
    do.tags.create({"name": "web"})
    a = do.droplets.create({"name": "a", **DROPLET})["droplet"]["id"]
    fw = do.firewalls.create({"name": "fw", "inbound_rules": [SSH], "outbound_rules": [OUT_ALL]})["firewall"]
    do.firewalls.assign_droplets(fw["id"], {"droplet_ids": [a]})
    do.firewalls.add_tags(fw["id"], {"tags": ["web"]})
    do.firewalls.add_rules(fw["id"], {"inbound_rules": [WEB]})
    got = do.firewalls.get(fw["id"])["firewall"]
    assert (got["droplet_ids"], got["tags"], got["inbound_rules"]) == ([a], ["web"], [SSH, WEB])
    do.firewalls.delete_droplets(fw["id"], {"droplet_ids": [a]})
    do.firewalls.delete_tags(fw["id"], {"tags": ["web"]})
    do.firewalls.delete_rules(fw["id"], {"inbound_rules": [SSH], "outbound_rules": [OUT_ALL]})
    got = do.firewalls.get(fw["id"])["firewall"]
    assert (got["droplet_ids"], got["tags"], got["inbound_rules"], got["outbound_rules"]) == ([], [], [WEB], [])


def test_firewall_follows_deleted_droplets(do):
    a = do.droplets.create({"name": "a", **DROPLET})["droplet"]["id"]
    fw = do.firewalls.create({"name": "fw", "inbound_rules": [SSH], "droplet_ids": [a]})["firewall"]
    do.droplets.destroy(a)
    assert do.firewalls.get(fw["id"])["firewall"]["droplet_ids"] == []


def test_firewall_delete(do):
    fw = do.firewalls.create({"name": "fw", "inbound_rules": [SSH]})["firewall"]
    do.firewalls.delete(fw["id"])
    assert do.firewalls.get(fw["id"])["id"] == "not_found"
    assert do.firewalls.list()["firewalls"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "fw"}, "at least one inbound or outbound rule"),
        ({"name": "fw", "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {}}]}, "inbound_rules.0"),
        ({"name": "fw", "inbound_rules": [{**SSH, "ports": "70000"}]}, "inbound_rules.0.ports"),
        ({"name": "fw", "inbound_rules": [{**SSH, "ports": "90-80"}]}, "inbound_rules.0.ports"),
        ({"name": "fw", "inbound_rules": [{**SSH, "protocol": "sctp"}]}, "inbound_rules.0.protocol"),
        ({"name": "fw", "inbound_rules": [{**SSH, "sources": {"addresses": ["300.1.1.1"]}}]}, "addresses"),
        ({"name": "-fw", "inbound_rules": [SSH]}, "name"),
        ({"name": "fw", "inbound_rules": [SSH], "tags": ["missing"]}, "tags"),
        ({"name": "fw", "inbound_rules": [SSH], "droplet_ids": [1]}, "droplet_ids"),
    ],
)
def test_firewall_bad_input_gets_400_naming_the_field(do, body, fragment):
    answer = do.firewalls.create(body)  # pydo returns declared 400 bodies instead of raising
    assert answer["id"] == "bad_request"
    assert fragment in answer["message"]
    assert do.firewalls.list()["firewalls"] == []
