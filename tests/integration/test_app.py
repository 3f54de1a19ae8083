"""oxy.infra.app against the sandbox."""

from __future__ import annotations

SPEC = {
    "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "mention", "tag": "1.0.0"}}],
    "envs": [{"key": "NODE_ENV", "value": "production"}],
}
SECRET = "mongodb+srv://mention:Sup3rS3cret@db-oxy.example/admin"


def test_app_full_cycle(run_module, do, sandbox):
    vpc = run_module("vpc", name="default-ams3", region="ams3")["vpc"]
    args = dict(
        name="mention-production", region="ams", vpc="default-ams3", spec=SPEC, secret_envs={"MONGODB_URI": SECRET}
    )
    plan = run_module("app", check=True, **args)
    assert plan["changed"] is True and plan.writes == []
    assert SECRET not in plan["_stdout"]

    created = run_module("app", **args)
    assert created.writes == [("POST", "/v2/apps")]
    assert created["deployment"]["phase"] == "ACTIVE"
    assert created["app"]["vpc"]["id"] == vpc["id"]
    assert SECRET not in created["_stdout"]
    envs = {e["key"]: e for e in do.apps.get(created["app"]["id"])["app"]["spec"]["envs"]}
    assert envs["MONGODB_URI"]["value"].startswith("EV[")
    assert envs["OXY_INFRA_SECRETS_DIGEST"]["value"].startswith("v1$")

    again = run_module("app", **args)
    assert (again["changed"], again.writes) == (False, [])  # server defaults and EV[...] values are not drift
    assert len(do.apps.list_deployments(created["app"]["id"])["deployments"]) == 1

    rotated = run_module("app", **{**args, "secret_envs": {"MONGODB_URI": SECRET + "2"}})
    assert rotated["changed"] is True and rotated.writes == [("PUT", "/v2/apps/{app_id}")]
    assert "(secret)" in str(rotated["diff"]["after"])
    assert run_module("app", **{**args, "secret_envs": {"MONGODB_URI": SECRET + "2"}})["changed"] is False

    new_tag = {**SPEC, "services": [{**SPEC["services"][0], "image": {**SPEC["services"][0]["image"], "tag": "1.1.0"}}]}
    updated = run_module("app", **{**args, "spec": new_tag, "secret_envs": {"MONGODB_URI": SECRET + "2"}})
    assert updated["changed"] is True
    assert updated["app"]["spec"]["services"][0]["image"]["tag"] == "1.1.0"

    app = do.apps.get(created["app"]["id"])["app"]
    app["spec"]["envs"].append({"key": "DEBUG", "value": "1"})
    do.apps.update(app["id"], {"spec": app["spec"]})
    drift = run_module("app", check=True, **{**args, "spec": new_tag, "secret_envs": {"MONGODB_URI": SECRET + "2"}})
    assert drift["changed"] is True and drift.writes == []

    gone = run_module("app", name="mention-production", state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/apps/{app_id}")]
    assert run_module("app", name="mention-production", state="absent", allow_delete=True)["changed"] is False


def test_failed_deployment_fails_the_task_with_the_step(run_module, sandbox):
    sandbox.configure(deploy_failures={"alia-production": "npm ERR! missing script: start"})
    failed = run_module("app", name="alia-production", region="ams", spec=SPEC, expect_fail=True)
    assert "ERROR" in failed["msg"] and "npm ERR! missing script: start" in failed["msg"]


def test_an_app_whose_newest_deployment_failed_is_redeployed_by_the_next_run(run_module, sandbox):
    """New secrets in the spec but a failed deployment: the app runs the old ones until a run redeploys it."""
    args = dict(name="alia-production", region="ams", spec=SPEC, secret_envs={"MONGODB_URI": SECRET})
    run_module("app", **args)
    sandbox.configure(deploy_failures={"alia-production": "npm ERR! missing script: start"})
    failed = run_module("app", **dict(args, secret_envs={"MONGODB_URI": SECRET + "2"}), expect_fail=True)
    assert "ERROR" in failed["msg"]
    sandbox.configure(deploy_failures={})
    waited = run_module("app", name="alia-production", expect_fail=True)  # name alone only waits: it fails again
    assert "ERROR" in waited["msg"] and waited.writes == []
    plan = run_module("app", check=True, **dict(args, secret_envs={"MONGODB_URI": SECRET + "2"}))
    assert plan["changed"] is True and plan.writes == []
    assert (plan["diff"]["before"]["deployment"], plan["diff"]["after"]["deployment"]) == (
        "newest did not go live",
        "redeployed",
    )
    again = run_module("app", **dict(args, secret_envs={"MONGODB_URI": SECRET + "2"}))
    assert again["changed"] is True and again.writes == [("POST", "/v2/apps/{app_id}/deployments")]
    assert again["deployment"]["phase"] == "ACTIVE"
    settled = run_module("app", **dict(args, secret_envs={"MONGODB_URI": SECRET + "2"}))
    assert settled["changed"] is False and settled.writes == []


def test_app_bad_input_fails_before_writes(run_module, do):
    run_module("vpc", name="default-ams3", region="ams3")
    inline = {"envs": [{"key": "TOKEN", "value": "plain", "type": "SECRET"}]}
    failed = run_module("app", name="allo-app", region="nyc", spec=inline, expect_fail=True)
    assert "secret_envs" in failed["msg"] and failed.writes == []
    in_other_region = run_module("app", name="allo-app", region="nyc", vpc="default-ams3", spec=SPEC, expect_fail=True)
    assert "cannot join" in in_other_region["msg"] and in_other_region.writes == []
    bad_key = run_module(
        "app", name="allo-app", region="nyc", spec=SPEC, secret_envs={"1X": "s3cr3t-value"}, expect_fail=True
    )
    assert "secret_envs" in bad_key["msg"] and bad_key.writes == []
    no_spec = run_module("app", name="allo-app", region="nyc", expect_fail=True)
    assert "creating it needs its spec" in no_spec["msg"] and no_spec.writes == []


def test_an_app_moves_to_another_region_with_a_vpc_there_also_while_its_region_is_down(run_module, do, sandbox):
    run_module("vpc", name="default-ams3", region="ams3")
    fra = run_module("vpc", name="default-fra1", region="fra1")["vpc"]
    args = dict(name="mention-production", spec=SPEC, secret_envs={"MONGODB_URI": SECRET})
    created = run_module("app", region="ams", vpc="default-ams3", **args)
    sandbox.faults(regions_down=["ams3"])  # the failover's case: the region the app leaves is down

    plan = run_module("app", check=True, region="fra", vpc="default-fra1", **args)
    assert plan["changed"] is True and plan.writes == []
    assert plan["diff"]["after"]["spec"]["region"] == "fra" and plan["diff"]["before"]["spec"]["region"] == "ams"
    # Moved without a VPC of the new region: refused before any write.
    stuck = run_module("app", region="fra", vpc="default-ams3", **args, expect_fail=True)
    assert "cannot join" in stuck["msg"] and stuck.writes == []

    moved = run_module("app", region="fra", vpc="default-fra1", **args)
    assert moved.writes == [("PUT", "/v2/apps/{app_id}")]
    app = do.apps.get(created["app"]["id"])["app"]
    assert (app["spec"]["region"], app["vpc"]["id"]) == ("fra", fra["id"])
    again = run_module("app", region="fra", vpc="default-fra1", **args)
    assert (again["changed"], again.writes) == (False, [])
    sandbox.control("DELETE", "faults")
