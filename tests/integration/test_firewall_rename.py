"""oxy.infra.firewall given an id: the firewall with that id is this one, renamed in place (in the same one
``PUT`` as its rules) when its name differs; refused before any write when no firewall has the id or another
already has the name."""

from __future__ import annotations

RULES = dict(
    inbound_rules=[{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.7/32"]}}],
    outbound_rules=[{"protocol": "tcp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}],
)


def test_a_firewall_given_its_id_is_renamed_in_place_and_never_doubled(run_module, do, sandbox):
    droplet = do.droplets.create(
        {"name": "oxy-api-backend", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
    )["droplet"]
    args = dict(droplets=["oxy-api-backend"], **RULES)
    firewall = run_module("firewall", name="oxy-api-backend", **args)["firewall"]

    planned = run_module("firewall", check=True, name="oxy-perimeter", id=firewall["id"], **args)
    assert planned["changed"] and planned.writes == []
    before, after = planned["diff"]["before"], planned["diff"]["after"]
    assert (before["name"], after["name"]) == ("oxy-api-backend", "oxy-perimeter")
    assert {k: v for k, v in before.items() if k != "name"} == {k: v for k, v in after.items() if k != "name"}
    assert (planned["plan_action"], planned["plan_from"]) == ("rename", "oxy-api-backend")

    renamed = run_module("firewall", name="oxy-perimeter", id=firewall["id"], **args)
    assert renamed["changed"] and renamed.writes == [("PUT", "/v2/firewalls/{firewall_id}")]
    (put,) = [e for e in sandbox.log() if e["method"] == "PUT"]
    assert put["path"] == f"/v2/firewalls/{firewall['id']}"
    listed = do.firewalls.list()["firewalls"]
    assert [(f["id"], f["name"], f["droplet_ids"]) for f in listed] == [
        (firewall["id"], "oxy-perimeter", [droplet["id"]])
    ]
    assert listed[0]["inbound_rules"] == firewall["inbound_rules"]

    # Found by its new name, or by its id: nothing more to do.
    again = run_module("firewall", name="oxy-perimeter", id=firewall["id"], **args)
    assert (again["changed"], again.writes) == (False, [])
    assert "plan_action" not in again
    found = run_module("firewall", name="oxy-perimeter", **args)
    assert (found["changed"], found["firewall"]["id"], found.writes) == (False, firewall["id"], [])

    # Refused before any write: another firewall already has the name; no firewall has the id.
    other = run_module("firewall", name="other", **args)["firewall"]
    taken = run_module("firewall", expect_fail=True, check=True, name="other", id=firewall["id"], **args)
    assert f"cloud firewall id {other['id']} already has that name" in taken["msg"] and taken.writes == []
    taken = run_module("firewall", expect_fail=True, name="other", id=firewall["id"], **args)
    assert taken["msg"].startswith("name: cannot rename cloud firewall oxy-perimeter") and taken.writes == []
    missing = run_module("firewall", expect_fail=True, name="x", id="00000000-0000-0000-0000-000000000000", **args)
    assert missing["msg"].startswith("id: no cloud firewall has id 00000000-") and missing.writes == []
    assert sorted(f["name"] for f in do.firewalls.list()["firewalls"]) == ["other", "oxy-perimeter"]
