"""oxy.infra.vpc against the sandbox: plan, apply, no-op, update, drift, delete."""

from __future__ import annotations


def test_vpc_full_cycle(run_module, do):
    args = dict(name="default-ams3", region="ams3", description="Oxy production network")
    plan = run_module("vpc", check=True, **args)
    assert plan["changed"] is True
    assert plan["diff"]["before"] == {}
    assert plan["diff"]["after"]["name"] == "default-ams3"
    assert plan.writes == []
    assert do.vpcs.list()["vpcs"] == []

    created = run_module("vpc", **args)
    assert created["changed"] is True
    assert created.writes == [("POST", "/v2/vpcs")]
    vpc = created["vpc"]
    assert (vpc["name"], vpc["region"], vpc["description"], vpc["default"]) == (
        "default-ams3",
        "ams3",
        "Oxy production network",
        True,
    )

    again = run_module("vpc", **args)
    assert again["changed"] is False
    assert again.writes == []
    assert again["diff"]["before"] == again["diff"]["after"]

    updated = run_module("vpc", **{**args, "description": "changed"})
    assert updated["changed"] is True
    assert updated.writes == [("PATCH", "/v2/vpcs/{vpc_id}")]
    assert updated["diff"]["before"]["description"] == "Oxy production network"
    assert updated["diff"]["after"]["description"] == "changed"
    assert do.vpcs.get(vpc["id"])["vpc"]["description"] == "changed"

    do.vpcs.patch(vpc["id"], {"description": "edited by hand"})
    drift = run_module("vpc", check=True, **{**args, "description": "changed"})
    assert drift["changed"] is True
    assert drift["diff"]["before"]["description"] == "edited by hand"
    assert drift.writes == []

    spare = run_module("vpc", name="spare", region="ams3")["vpc"]
    gone = run_module("vpc", name="spare", state="absent", allow_delete=True)
    assert gone["changed"] is True and gone.writes == [("DELETE", "/v2/vpcs/{vpc_id}")]
    assert gone["diff"]["after"] == {}
    assert do.vpcs.get(spare["id"])["id"] == "not_found"
    assert run_module("vpc", name="spare", state="absent", allow_delete=True)["changed"] is False


def test_vpc_bad_input_fails_before_any_write(run_module):
    cases = [
        (dict(name="x", region="ams3", ip_range="8.8.8.0/24"), "ip_range"),
        (dict(name="x", region="ams3", ip_range="10.0.0.0/8"), "ip_range"),
        (dict(name="x"), "region is required"),
    ]
    for args, fragment in cases:
        failed = run_module("vpc", expect_fail=True, **args)
        assert fragment in failed["msg"]
        assert failed.writes == []


def test_vpc_cannot_move_region_or_range(run_module):
    run_module("vpc", name="net", region="ams3", ip_range="10.20.0.0/20")
    moved = run_module("vpc", name="net", region="fra1", expect_fail=True)
    assert "cannot move" in moved["msg"] and moved.writes == []
    ranged = run_module("vpc", name="net", ip_range="10.30.0.0/20", expect_fail=True)
    assert "fixed at creation" in ranged["msg"]


def test_vpc_api_error_surfaces_with_status(run_module, sandbox):
    sandbox.faults(rate=1.0, statuses=[500], methods=["GET"], path_regex="^/v2/vpcs")
    failed = run_module("vpc", name="x", region="ams3", retries=1, expect_fail=True)
    assert failed["status"] == 500
    assert "vpcs.list failed (HTTP 500)" in failed["msg"]


def test_vpc_create_is_not_replayed_after_an_ambiguous_failure(run_module, sandbox, do):
    sandbox.faults(statuses=[500], count=1, phase="after", methods=["POST"])
    created = run_module("vpc", name="once", region="ams3")
    assert created["changed"] is True
    assert [v["name"] for v in do.vpcs.list()["vpcs"]] == ["once"]
    assert created.writes == [("POST", "/v2/vpcs")]


def test_token_comes_from_the_environment_and_never_shows(run_module, sandbox):
    result = run_module(
        "vpc", name="secretive", region="ams3", env={"DIGITALOCEAN_TOKEN": None, "DO_API_TOKEN": "dop_v1_supersecret"}
    )
    assert "dop_v1_supersecret" not in result["_stdout"]
    missing = run_module("vpc", name="x", region="ams3", expect_fail=True, env={"DIGITALOCEAN_TOKEN": None})
    assert "token" in missing["msg"] and missing.writes == [] and missing.calls == []
    empty = run_module("vpc", name="x", region="ams3", expect_fail=True, env={"DIGITALOCEAN_TOKEN": ""})
    assert "token" in empty["msg"] and empty.calls == []
