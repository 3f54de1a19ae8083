"""oxy.infra.droplet given an id: the Droplet with that id is this one, renamed in place when its name differs."""

from __future__ import annotations

BASE = dict(region="ams3", size="s-1vcpu-1gb", image="ubuntu-24-04-x64", vpc="default-ams3", tags=["oxy", "api"])


def test_a_droplet_given_its_id_is_renamed_in_place_and_never_doubled(run_module, do, sandbox):
    run_module("vpc", name="default-ams3", region="ams3")
    sandbox.configure(action_delay=0.3)
    droplet = run_module("droplet", name="oxy-api-backend", **BASE)["droplet"]
    ident = str(droplet["id"])

    planned = run_module("droplet", check=True, name="oxy-api-backend-2", id=ident, **BASE)
    assert planned["changed"] and planned.writes == []
    assert (planned["diff"]["before"]["name"], planned["diff"]["after"]["name"]) == (
        "oxy-api-backend",
        "oxy-api-backend-2",
    )
    assert (planned["plan_action"], planned["plan_from"]) == ("rename", "oxy-api-backend")

    # wait=false as site.yml starts it: the rename action is still waited on, so the next task finds the new name.
    renamed = run_module("droplet", name="oxy-api-backend-2", id=ident, wait=False, **BASE)
    assert renamed["changed"] and renamed.writes == [("POST", "/v2/droplets/{droplet_id}/actions")]
    assert renamed["droplet"]["name"] == "oxy-api-backend-2"
    assert [(d["id"], d["name"]) for d in do.droplets.list()["droplets"]] == [(droplet["id"], "oxy-api-backend-2")]
    found = run_module("droplet", name="oxy-api-backend-2")
    assert (found["changed"], found["droplet"]["id"], found.writes) == (False, droplet["id"], [])

    again = run_module("droplet", name="oxy-api-backend-2", id=ident, **BASE)
    assert (again["changed"], again.writes) == (False, [])
    assert "plan_action" not in again

    # Refused before any write: another Droplet already has the name; no Droplet has the id.
    other = run_module("droplet", name="other", **BASE)["droplet"]
    taken = run_module("droplet", expect_fail=True, name="other", id=ident, **BASE)
    assert f"Droplet id {other['id']} already has that name" in taken["msg"] and taken.writes == []
    missing = run_module("droplet", expect_fail=True, name="x", id="999999", **BASE)
    assert missing["msg"].startswith("id: no Droplet has id 999999") and missing.writes == []
