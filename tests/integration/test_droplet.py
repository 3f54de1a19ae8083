"""oxy.infra.droplet against the sandbox."""

from __future__ import annotations

BASE = dict(
    name="oxy-api-backend",
    region="ams3",
    size="s-1vcpu-1gb",
    image="ubuntu-24-04-x64",
    vpc="default-ams3",
    tags=["oxy", "api"],
)


def test_droplet_full_cycle(run_module, do, sandbox):
    run_module("vpc", name="default-ams3", region="ams3")
    sandbox.configure(droplet_delay=1.0, action_delay=0.3)
    plan = run_module("droplet", check=True, **BASE)
    assert plan["changed"] is True and plan.writes == []
    assert plan["diff"]["after"]["tags"] == ["api", "oxy"]

    created = run_module("droplet", **BASE)
    assert created["changed"] is True
    assert created.writes == [("POST", "/v2/droplets")]
    droplet = created["droplet"]
    assert droplet["status"] == "active"  # it waited for the droplet
    assert created["public_ipv4"] and created["private_ipv4"].startswith("10.")
    assert droplet["vpc_uuid"] == do.vpcs.list()["vpcs"][0]["id"]

    again = run_module("droplet", **BASE)
    assert (again["changed"], again.writes) == (False, [])

    retagged = run_module("droplet", **{**BASE, "tags": ["oxy", "backend"]})
    assert retagged["changed"] is True
    assert ("DELETE", "/v2/tags/{name}/resources") in retagged.writes
    assert sorted(do.droplets.get(droplet["id"])["droplet"]["tags"]) == ["backend", "oxy"]

    resized = run_module("droplet", **{**BASE, "tags": ["oxy", "backend"], "size": "s-2vcpu-4gb"})
    assert resized["changed"] is True
    kinds = [w for w in resized.writes if w[0] == "POST"]
    assert kinds == [("POST", "/v2/droplets/{droplet_id}/actions")] * 3
    final = do.droplets.get(droplet["id"])["droplet"]
    assert (final["size_slug"], final["status"]) == ("s-2vcpu-4gb", "active")

    do.droplet_actions.post(droplet["id"], {"type": "power_off"})
    do.tags.create({"name": "manual"})
    do.tags.assign_resources("manual", {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]})
    drift = run_module("droplet", check=True, **{**BASE, "tags": ["oxy", "backend"], "size": "s-2vcpu-4gb"})
    assert drift["changed"] is True and drift.writes == []
    assert drift["diff"]["before"]["tags"] == ["backend", "manual", "oxy"]

    gone = run_module("droplet", name="oxy-api-backend", state="absent", allow_delete=True)
    assert gone["changed"] is True and gone.writes == [("DELETE", "/v2/droplets/{droplet_id}")]
    assert run_module("droplet", name="oxy-api-backend", state="absent", allow_delete=True)["changed"] is False


def test_rerun_waits_for_a_droplet_still_being_created(run_module, do, sandbox):
    sandbox.configure(droplet_delay=1.5)
    started = run_module("droplet", wait=False, **{**BASE, "vpc": None})
    assert started["droplet"]["status"] == "new"
    finished = run_module("droplet", **{**BASE, "vpc": None})
    assert finished["changed"] is False
    assert finished["droplet"]["status"] == "active"


def test_duplicate_names_fail_naming_the_ids(run_module, do):
    ids = [
        d["id"]
        for d in do.droplets.create(
            {"names": ["twin", "twin"], "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
        )["droplets"]
    ]
    failed = run_module("droplet", name="twin", expect_fail=True)
    assert all(str(i) in failed["msg"] for i in ids) and failed.writes == []


def test_immutable_changes_and_bad_input_fail_before_writes(run_module, do):
    run_module("droplet", **{**BASE, "vpc": None})
    moved = run_module("droplet", expect_fail=True, **{**BASE, "vpc": None, "region": "fra1"})
    assert "region" in moved["msg"] and moved.writes == []
    missing = run_module("droplet", name="new-one", region="ams3", expect_fail=True)
    assert "size and image required" in missing["msg"] and missing.writes == []
    bad = run_module("droplet", name="new-one", region="ams3", size="s-99", image="debian-12-x64", expect_fail=True)
    assert "size" in bad["msg"] and bad["status"] == 422
    novpc = run_module("droplet", **{**BASE, "name": "other", "vpc": "nowhere"}, expect_fail=True)
    assert "no VPC named 'nowhere'" in novpc["msg"] and novpc.writes == []


def test_droplet_create_survives_an_ambiguous_failure(run_module, do, sandbox):
    sandbox.faults(statuses=[503], count=1, phase="after", methods=["POST"], path_regex="^/v2/droplets$")
    created = run_module("droplet", **{**BASE, "vpc": None})
    assert created["changed"] is True
    assert [d["name"] for d in do.droplets.list()["droplets"]] == ["oxy-api-backend"]
