"""oxy.infra.app's alert_destinations against the sandbox: who every alert of an app tells."""

from __future__ import annotations

SPEC = {
    "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "mention", "tag": "1.0.0"}}],
    "alerts": [{"rule": "DEPLOYMENT_FAILED"}, {"rule": "DOMAIN_FAILED"}],
}
WEBHOOK = "https://hooks.slack.com/services/T0TEST/B0TEST/appalertwebhooksecret"
TOLD = {"emails": ["ops@oxy.so"], "slack_webhooks": [{"channel": "#oxy-alerts", "url": WEBHOOK}]}
ARGS = dict(name="mention-production", region="ams", spec=SPEC, alert_destinations=TOLD)
ASSIGN = ("POST", "/v2/apps/{app_id}/alerts/{alert_id}/destinations")


def test_alert_destinations_planned_assigned_idempotent_and_put_back(run_module, do):
    plan = run_module("app", check=True, **ARGS)
    assert plan["changed"] is True and plan.writes == []
    assert plan["diff"]["after"]["alert_destinations"] == {
        rule: {"emails": ["ops@oxy.so"], "slack_webhooks": [{"channel": "#oxy-alerts", "url": "******** (changed)"}]}
        for rule in ("DEPLOYMENT_FAILED", "DOMAIN_FAILED")
    }
    assert WEBHOOK not in plan["_stdout"]

    created = run_module("app", **ARGS)
    assert created.writes == [("POST", "/v2/apps"), ASSIGN, ASSIGN]
    assert WEBHOOK not in created["_stdout"]
    assert sorted(a["spec"]["rule"] for a in created["alerts"]) == ["DEPLOYMENT_FAILED", "DOMAIN_FAILED"]
    app_id = created["app"]["id"]
    for alert in do.apps.list_alerts(app_id)["alerts"]:
        assert (alert["emails"], alert["slack_webhooks"]) == (TOLD["emails"], TOLD["slack_webhooks"])

    again = run_module("app", **ARGS)
    assert (again["changed"], again.writes) == (False, [])

    # A recipient removed in the console is drift: planned, then put back on that alert only.
    alert = next(a for a in do.apps.list_alerts(app_id)["alerts"] if a["spec"]["rule"] == "DOMAIN_FAILED")
    do.apps.assign_alert_destinations(app_id, alert["id"], {"emails": [], "slack_webhooks": []})
    drift = run_module("app", check=True, **ARGS)
    assert drift["changed"] is True and drift.writes == []
    assert drift["diff"]["before"]["alert_destinations"]["DOMAIN_FAILED"] == {"emails": [], "slack_webhooks": []}
    assert drift["diff"]["after"]["alert_destinations"]["DOMAIN_FAILED"]["slack_webhooks"] == [
        {"channel": "#oxy-alerts", "url": "******** (changed)"}
    ]
    assert drift["diff"]["after"]["alert_destinations"]["DEPLOYMENT_FAILED"]["slack_webhooks"] == [
        {"channel": "#oxy-alerts", "url": "********"}
    ]
    fixed = run_module("app", **ARGS)
    assert fixed["changed"] is True and fixed.writes == [ASSIGN]
    assert WEBHOOK not in fixed["_stdout"]
    assert run_module("app", **ARGS).writes == []

    # Without alert_destinations they are not managed: nothing is read or assigned.
    left = run_module("app", name="mention-production", region="ams", spec=SPEC)
    assert (left["changed"], left.writes) == (False, []) and "alerts" not in left


def test_a_component_alert_is_told_too_and_a_stranger_is_refused_by_the_api(run_module, do):
    spec = dict(
        SPEC,
        services=[
            dict(
                SPEC["services"][0],
                alerts=[{"rule": "CPU_UTILIZATION", "value": 90, "operator": "GREATER_THAN", "window": "FIVE_MINUTES"}],
            )
        ],
    )
    created = run_module("app", **dict(ARGS, spec=spec))
    assert sorted(a for a in created["diff"]["after"]["alert_destinations"]) == [
        "DEPLOYMENT_FAILED",
        "DOMAIN_FAILED",
        "web/CPU_UTILIZATION",
    ]
    refused = run_module(
        "app", **dict(ARGS, spec=spec, alert_destinations={"emails": ["someone@example.com"]}), expect_fail=True
    )
    assert "someone@example.com is not a member of the team" in refused["msg"]
