"""App Platform around the lifecycle clients drive (pydo's own integration tests do these calls):
proposals, the instance sizes and regions catalog, alerts, deployment logs, cancel and rollbacks."""

from __future__ import annotations

import pytest
import requests

from tests.contract.test_apps import SPEC
from tests.contract.test_vpcs_droplets import error_of

WITH_ALERTS = {
    **SPEC,
    "alerts": [{"rule": "DEPLOYMENT_LIVE"}],
    "services": [
        {**SPEC["services"][0], "alerts": [{"rule": "CPU_UTILIZATION", "operator": "GREATER_THAN", "value": 80.0}]}
    ],
}


def test_propose_validates_like_create_and_creates_nothing(do):
    proposed = do.apps.validate_app_spec({"spec": SPEC})
    assert proposed["app_name_available"] is True and proposed["app_is_static"] is False
    assert proposed["spec"]["services"][0]["instance_size_slug"] == "apps-s-1vcpu-0.5gb"  # defaults filled in
    assert proposed["spec"]["services"][0]["envs"][1]["value"].startswith("EV[1:")
    assert proposed["app_cost"] == 5 and proposed["existing_static_apps"] == "0"
    assert do.apps.list()["apps"] == []

    bigger = {**SPEC, "services": [{**SPEC["services"][0], "instance_size_slug": "apps-d-1vcpu-1gb"}]}
    bigger["services"][0]["instance_count"] = 2
    assert do.apps.validate_app_spec({"spec": bigger})["app_cost"] == 68

    app = do.apps.create({"spec": SPEC})["app"]
    taken = do.apps.validate_app_spec({"spec": SPEC})
    assert taken["app_name_available"] is False and taken["app_name_suggestion"] == "mention-production-2"
    # As an update of the app itself, the name is its own.
    assert do.apps.validate_app_spec({"spec": SPEC, "app_id": app["id"]})["app_name_available"] is True


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "Bad_Name"}, "spec.name"),
        ({"name": "ok", "services": [{"name": "web", "instance_size_slug": "huge"}]}, "instance_size_slug"),
        (
            {
                "name": "ok",
                "services": [{"name": "web", "instance_size_slug": "apps-s-1vcpu-0.5gb", "instance_count": 2}],
            },
            "spec.services.0.instance_count",
        ),
        ({"name": "ok", "alerts": [{"rule": "SOMETIMES"}]}, "spec.alerts.0.rule"),
    ],
)
def test_propose_refuses_what_create_refuses(do, spec, field):
    for call in (do.apps.validate_app_spec, do.apps.create):
        status, err = error_of(lambda call=call: call({"spec": spec}))
        assert status == 422 and field in err["message"], err


def test_instance_sizes_and_regions(do):
    sizes = do.apps.list_instance_sizes()["instance_sizes"]
    assert {"apps-s-1vcpu-0.5gb", "apps-d-1vcpu-1gb", "basic-xxs", "professional-xs"} <= {s["slug"] for s in sizes}
    size = do.apps.get_instance_size("apps-s-1vcpu-0.5gb")["instance_size"]
    assert (
        size["usd_per_month"] == "5.00" and size["memory_bytes"] == str(512 * 1024**2) and size["cpu_type"] == "SHARED"
    )
    assert do.apps.get_instance_size("basic-xxs")["instance_size"]["slug"] == "basic-xxs"
    assert do.apps.get_instance_size("nope")["id"] == "not_found"
    regions = {r["slug"]: r for r in do.apps.list_regions()["regions"]}
    assert len(regions) >= 5 and regions["ams"]["data_centers"] == ["ams3"] and regions["nyc"]["default"] is True
    app = do.apps.create({"spec": SPEC})["app"]
    assert app["region"] == regions["ams"]


def test_live_url_live_domain_and_default_ingress(sandbox, do):
    sandbox.configure(app_delay=30)
    app = do.apps.create({"spec": SPEC})["app"]
    assert app["default_ingress"].startswith("https://mention-production-")
    assert app["default_ingress"].endswith(".ondigitalocean.app")
    assert "live_url" not in do.apps.get(app["id"])["app"]  # nothing is live before the first deployment is
    sandbox.configure(app_delay=0)
    do.apps.create_deployment(app["id"], {})
    live = do.apps.get(app["id"])["app"]
    assert live["live_url"] == live["default_ingress"] == f"https://{live['live_domain']}"


def test_alerts_come_from_the_spec_and_keep_their_destinations(do):
    app = do.apps.create({"spec": WITH_ALERTS})["app"]
    alerts = do.apps.list_alerts(app["id"])["alerts"]
    assert [(a.get("component_name"), a["spec"]["rule"]) for a in alerts] == [
        (None, "DEPLOYMENT_LIVE"),
        ("web", "CPU_UTILIZATION"),
    ]
    assert all(a["phase"] == "ACTIVE" and a["emails"] == [] for a in alerts)
    live = alerts[0]["id"]
    hook = {"url": "https://hooks.slack.com/services/T0/B0/X", "channel": "ops"}
    got = do.apps.assign_alert_destinations(app["id"], live, {"emails": ["ops@oxy.so"], "slack_webhooks": [hook]})
    assert got["alert"]["emails"] == ["ops@oxy.so"] and got["alert"]["slack_webhooks"] == [hook]
    # Destinations survive an update that keeps the alert; an alert the spec drops goes.
    do.apps.update(app["id"], {"spec": {**app["spec"], "services": [{**app["spec"]["services"][0], "alerts": []}]}})
    [kept] = do.apps.list_alerts(app["id"])["alerts"]
    assert kept["id"] == live and kept["emails"] == ["ops@oxy.so"]

    status, err = error_of(lambda: do.apps.assign_alert_destinations(app["id"], live, {"emails": ["x@example.com"]}))
    assert status == 422 and "x@example.com" in err["message"]
    assert do.apps.assign_alert_destinations(app["id"], "nope", {"emails": []})["id"] == "not_found"


def test_cancel_only_while_in_progress(sandbox, do):
    sandbox.configure(app_delay=60)
    app = do.apps.create({"spec": SPEC})["app"]
    [dep] = do.apps.list_deployments(app["id"])["deployments"]
    canceled = do.apps.cancel_deployment(app["id"], dep["id"])["deployment"]
    assert canceled["id"] == dep["id"] and canceled["phase"] == "CANCELED"
    assert do.apps.get_deployment(app["id"], dep["id"])["deployment"]["phase"] == "CANCELED"
    assert "in_progress_deployment" not in do.apps.get(app["id"])["app"]
    status, err = error_of(lambda: do.apps.cancel_deployment(app["id"], dep["id"]))
    assert status == 422 and "CANCELED" in err["message"]
    sandbox.configure(app_delay=0)
    done = do.apps.create_deployment(app["id"], {})["deployment"]
    status, err = error_of(lambda: do.apps.cancel_deployment(app["id"], done["id"]))
    assert status == 422 and "ACTIVE" in err["message"]
    assert do.apps.cancel_deployment(app["id"], "nope")["id"] == "not_found"


def _fetch(sandbox, url: str) -> str:
    resp = requests.get(url, verify=sandbox.ca, timeout=30)  # a signed URL on DigitalOcean: no token
    assert resp.status_code == 200, resp.text
    return resp.text


def test_logs_of_the_phases_a_deployment_went_through(sandbox, do):
    app = do.apps.create({"spec": SPEC})["app"]
    [dep] = do.apps.list_deployments(app["id"])["deployments"]
    build = do.apps.get_logs_aggregate(app["id"], dep["id"], type="BUILD")
    assert build["historic_urls"] and "live_url" not in build
    text = _fetch(sandbox, build["historic_urls"][0])
    assert "fetching registry.digitalocean.com/mention:1.0.0" in text and "build complete" in text
    deploy = do.apps.get_logs(app["id"], dep["id"], "web", type="DEPLOY")
    assert "deploying 1 instance(s) of apps-s-1vcpu-0.5gb" in _fetch(sandbox, deploy["historic_urls"][0])
    run = do.apps.get_logs(app["id"], dep["id"], "web", type="RUN")
    assert run["historic_urls"] == [] and "listening on :8080" in _fetch(sandbox, run["live_url"])
    assert do.apps.get_logs(app["id"], dep["id"], "nope", type="BUILD")["id"] == "not_found"


def test_logs_follow_the_phase(sandbox, do):
    sandbox.configure(app_delay=60)
    app = do.apps.create({"spec": SPEC})["app"]
    [dep] = do.apps.list_deployments(app["id"])["deployments"]
    # PENDING_BUILD: nothing has been built, so there is nothing to read yet.
    assert do.apps.get_logs_aggregate(app["id"], dep["id"], type="BUILD")["id"] == "not_found"
    assert do.apps.get_logs_aggregate(app["id"], dep["id"], type="RUN")["id"] == "not_found"

    sandbox.configure(app_delay=0, deploy_failures={"mention-production": "npm ERR! missing script: start"})
    failed = do.apps.create_deployment(app["id"], {})["deployment"]
    logs = do.apps.get_logs_aggregate(app["id"], failed["id"], type="BUILD")
    assert "npm ERR! missing script: start" in _fetch(sandbox, logs["historic_urls"][0])
    assert do.apps.get_logs_aggregate(app["id"], failed["id"], type="DEPLOY")["id"] == "not_found"


def test_rollback_validate_pin_commit_and_revert(do):
    app = do.apps.create({"spec": SPEC})["app"]
    [first] = do.apps.list_deployments(app["id"])["deployments"]
    spec2 = {**app["spec"], "services": [{**app["spec"]["services"][0], "instance_count": 1, "http_port": 9090}]}
    do.apps.update(app["id"], {"spec": spec2})
    active = do.apps.get(app["id"])["app"]["active_deployment"]

    invalid = do.apps.validate_rollback(app["id"], {"deployment_id": active["id"]})
    assert invalid["valid"] is False and invalid["error"]["code"] == "incompatible_phase"
    check = do.apps.validate_rollback(app["id"], {"deployment_id": first["id"]})
    assert check["valid"] is True
    assert [w["code"] for w in check["warnings"]] == ["image_source_missing_digest"]
    assert check["warnings"][0]["components"] == ["web"]

    rolled = do.apps.create_rollback(app["id"], {"deployment_id": first["id"]})["deployment"]
    assert rolled["cloned_from"] == first["id"]
    now = do.apps.get(app["id"])["app"]
    assert now["pinned_deployment"]["id"] == rolled["id"] and now["spec"]["services"][0]["http_port"] == 8080
    # Pinned: no deployment, update or second rollback until the rollback is committed or reverted.
    status, err = error_of(lambda: do.apps.create_deployment(app["id"], {}))
    assert status == 422 and "pinned" in err["message"]
    pinned = do.apps.validate_rollback(app["id"], {"deployment_id": first["id"]})
    assert pinned["error"]["code"] == "app_pinned"

    reverted = do.apps.revert_rollback(app["id"])["deployment"]
    after = do.apps.get(app["id"])["app"]
    assert "pinned_deployment" not in after and after["spec"]["services"][0]["http_port"] == 9090
    assert after["active_deployment"]["id"] == reverted["id"]

    do.apps.create_rollback(app["id"], {"deployment_id": first["id"]})
    assert do.apps.commit_rollback(app["id"]) is None
    committed = do.apps.get(app["id"])["app"]
    assert "pinned_deployment" not in committed and committed["spec"]["services"][0]["http_port"] == 8080
    status, err = error_of(lambda: do.apps.commit_rollback(app["id"]))
    assert status == 422 and "no rollback" in err["message"]
    skip = do.apps.create_rollback(app["id"], {"deployment_id": active["id"], "skip_pin": True})["deployment"]
    assert "pinned_deployment" not in do.apps.get(app["id"])["app"] and skip["cloned_from"] == active["id"]


def test_a_failed_deployment_is_no_rollback_target(sandbox, do):
    app = do.apps.create({"spec": SPEC})["app"]
    sandbox.configure(deploy_failures={"mention-production": "boom"})
    failed = do.apps.create_deployment(app["id"], {})["deployment"]
    check = do.apps.validate_rollback(app["id"], {"deployment_id": failed["id"]})
    assert check["valid"] is False and check["error"]["code"] == "incompatible_result"
    status, err = error_of(lambda: do.apps.create_rollback(app["id"], {"deployment_id": failed["id"]}))
    assert status == 422 and "incompatible_result" in err["message"]
    assert do.apps.validate_rollback(app["id"], {"deployment_id": "nope"})["id"] == "not_found"
