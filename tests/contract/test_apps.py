"""App Platform apps and deployments through pydo."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError

from tests.contract.test_vpcs_droplets import error_of

SPEC = {
    "name": "mention-production",
    "region": "ams",
    "services": [
        {
            "name": "web",
            "image": {"registry_type": "DOCR", "repository": "mention", "tag": "1.0.0"},
            "envs": [
                {"key": "NODE_ENV", "value": "production"},
                {"key": "MONGODB_URI", "value": "mongodb+srv://u:p@h/admin", "type": "SECRET", "scope": "RUN_TIME"},
            ],
        }
    ],
}


def test_app_create_deploys_and_encrypts_secrets(do):
    app = do.apps.create({"spec": SPEC})["app"]
    envs = {e["key"]: e for e in app["spec"]["services"][0]["envs"]}
    assert envs["MONGODB_URI"]["value"].startswith("EV[1:")
    assert envs["NODE_ENV"] == {
        "key": "NODE_ENV",
        "value": "production",
        "scope": "RUN_AND_BUILD_TIME",
        "type": "GENERAL",
    }
    service = app["spec"]["services"][0]
    assert (service["instance_count"], service["http_port"]) == (1, 8080)  # server-side defaults
    assert app["region"]["slug"] == "ams"
    assert app["default_ingress"].startswith("https://mention-production-")
    got = do.apps.get(app["id"])["app"]
    assert got["active_deployment"]["phase"] == "ACTIVE"
    assert got["live_url"] == app["default_ingress"]
    assert do.apps.get("ignored", name="mention-production")["app"]["id"] == app["id"]


def test_app_update_makes_a_new_deployment_and_keeps_encrypted_values(do):
    app = do.apps.create({"spec": SPEC})["app"]
    stored = app["spec"]
    updated = do.apps.update(app["id"], {"spec": stored})["app"]
    assert updated["spec"] == stored  # an EV[...] value sent back is kept as is
    deployments = do.apps.list_deployments(app["id"])["deployments"]
    assert len(deployments) == 2
    assert [d["phase"] for d in deployments] == ["ACTIVE", "SUPERSEDED"]
    manual = do.apps.create_deployment(app["id"], {"force_build": True})["deployment"]
    assert do.apps.get_deployment(app["id"], manual["id"])["deployment"]["phase"] == "ACTIVE"


def test_deployment_phases_take_time_when_delayed(sandbox, do):
    sandbox.configure(app_delay=1.2)
    app = do.apps.create({"spec": SPEC})["app"]
    first = do.apps.get(app["id"])["app"]
    assert "active_deployment" not in first
    assert first["in_progress_deployment"]["phase"] in ("PENDING_BUILD", "BUILDING", "DEPLOYING")
    time.sleep(1.3)
    assert do.apps.get(app["id"])["app"]["active_deployment"]["phase"] == "ACTIVE"


def test_failing_deployment_reports_the_failing_step(sandbox, do):
    sandbox.configure(deploy_failures={"mention-production": "npm ERR! missing script: start"})
    app = do.apps.create({"spec": SPEC})["app"]
    dep = do.apps.list_deployments(app["id"])["deployments"][0]
    assert dep["phase"] == "ERROR"
    failed = [s for s in dep["progress"]["steps"] if s["status"] == "ERROR"]
    assert failed[0]["reason"]["message"] == "npm ERR! missing script: start"
    assert "active_deployment" not in do.apps.get(app["id"])["app"]


def test_app_in_nyc_cannot_join_an_ams3_vpc(do):
    vpc = do.vpcs.create({"name": "default-ams3", "region": "ams3"})["vpc"]
    joined = do.apps.create({"spec": {**SPEC, "vpc": {"id": vpc["id"]}}})["app"]
    assert joined["vpc"]["id"] == vpc["id"]
    assert [m["name"] for m in do.vpcs.list_members(vpc["id"])["members"]] == ["mention-production"]
    status, err = error_of(
        lambda: do.apps.create({"spec": {"name": "allo-app", "region": "nyc", "vpc": {"id": vpc["id"]}}})
    )
    assert status == 422 and "spec.vpc.id" in err["message"] and "ams3" in err["message"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "Bad_Name"}, "spec.name"),
        ({"name": "ok", "region": "moon"}, "spec.region"),
        ({"name": "ok", "envs": [{"key": "1BAD", "value": "x"}]}, "spec.envs.0.key"),
        ({"name": "ok", "envs": [{"key": "K", "type": "PLAIN"}]}, "spec.envs.0.type"),
    ],
)
def test_app_bad_spec_names_the_field(do, spec, field):
    status, err = error_of(lambda: do.apps.create({"spec": spec}))
    assert status == 422 and field in err["message"]
    assert do.apps.list()["apps"] == []


def test_app_names_are_unique_and_delete_answers_its_id(do):
    app = do.apps.create({"spec": SPEC})["app"]
    with pytest.raises(HttpResponseError) as dup:
        do.apps.create({"spec": SPEC})
    assert dup.value.status_code == 409
    assert do.apps.delete(app["id"]) == {"id": app["id"]}
    assert do.apps.get(app["id"])["id"] == "not_found"
    assert do.apps.list()["apps"] == []
