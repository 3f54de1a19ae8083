"""Monitoring as the definition says (oxy_monitoring), on site.yml's DigitalOcean side against the sandbox
without machines: planned on an empty account, converged, unchanged by a second run, an edited threshold
named by drift and put back by the next apply; the Slack webhook never in output, plan JSON or files
(with machines, the checks probe and the verification reads them: tests/playbooks/test_site_machines.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.fixtures.playbooks import ROOT, ansible_playbook
from tests.playbooks.test_plan import SKIP, actions, apply, changed, plan

DEFINITION = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
MONITORING = DEFINITION["oxy_monitoring"]
WEBHOOK = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())[
    "oxy_monitoring_slack_webhook"
]
CHECKS = sorted(
    ["api.oxy.so", "mail.oxy.so"] + [app["domain"] for app in DEFINITION["oxy_apps"]],
)
POLICIES = sorted(
    [f"droplets tagged oxy,api {a['metric']}" for a in MONITORING["droplet_alerts"]]
    + [
        f"{cluster} {a['metric']}"
        for cluster in ("db-oxy", "db-valkey-ams3-04785")
        for a in MONITORING["database_alerts"]
    ]
)
MONITORING_ROUTES = ("/v2/uptime/", "/v2/monitoring/", "/v2/apps/{app_id}/alerts")
TOLD = {"email": ["ops@oxy.so"], "slack": [{"channel": "#oxy-alerts", "url": WEBHOOK}]}


def assert_no_webhook(*texts: str) -> None:
    for text in texts:
        assert WEBHOOK not in text and "sandboxwebhooksecret" not in text, "the Slack webhook was shown"


def assert_monitoring_as_defined_beside(do, *others: dict) -> None:
    """The environment's monitoring as defined, beside ``others`` (checks that are not the environment's)."""
    kept = [c["id"] for c in do.uptime.list_checks()["checks"] if c["id"] in {o["id"] for o in others}]
    assert sorted(kept) == sorted(o["id"] for o in others)
    assert_monitoring_as_defined(do, skip={o["name"] for o in others})


def assert_monitoring_as_defined(do, skip: set[str] = frozenset()) -> None:
    checks = {c["name"]: c for c in do.uptime.list_checks()["checks"] if c["name"] not in skip}
    assert sorted(checks) == CHECKS
    api = checks["api.oxy.so"]
    assert (api["type"], api["target"], sorted(api["regions"])) == (
        "https",
        "https://api.oxy.so",
        ["eu_west", "us_east"],
    )
    assert (checks["mail.oxy.so"]["type"], checks["mail.oxy.so"]["target"]) == ("ping", "mail.oxy.so")
    assert checks["mention.earth"]["target"] == "https://mention.earth"
    alerts = {a["name"]: a for a in do.uptime.list_alerts(api["id"])["alerts"]}
    assert sorted(alerts) == ["api.oxy.so down", "api.oxy.so ssl_expiry"]
    assert (alerts["api.oxy.so ssl_expiry"]["type"], alerts["api.oxy.so ssl_expiry"]["threshold"]) == ("ssl_expiry", 14)
    assert alerts["api.oxy.so down"]["notifications"] == TOLD  # the webhook was delivered, as the secret it is
    ping = do.uptime.list_alerts(checks["mail.oxy.so"]["id"])["alerts"]
    assert [(a["type"], a["period"]) for a in ping] == [("down", "5m")]

    policies = {p["description"]: p for p in do.monitoring.list_alert_policy()["policies"]}
    assert sorted(policies) == POLICIES
    disk = policies["droplets tagged oxy,api disk_utilization_percent"]
    assert (disk["type"], disk["compare"], disk["value"], disk["window"]) == (
        "v1/insights/droplet/disk_utilization_percent",
        "GreaterThan",
        85,
        "5m",
    )
    assert sorted(disk["tags"]) == ["api", "oxy"] and disk["alerts"] == TOLD
    clusters = {c["name"]: c["id"] for c in do.databases.list_clusters()["databases"]}
    assert policies["db-oxy cpu_alerts"]["entities"] == [clusters["db-oxy"]]
    assert policies["db-valkey-ams3-04785 disk_utilization_alerts"]["entities"] == [clusters["db-valkey-ams3-04785"]]

    for app in do.apps.list()["apps"]:
        assert [a["rule"] for a in app["spec"]["alerts"]] == ["DEPLOYMENT_FAILED", "DOMAIN_FAILED"]
        told = do.apps.list_alerts(app["id"])["alerts"]
        assert sorted(a["spec"]["rule"] for a in told) == ["DEPLOYMENT_FAILED", "DOMAIN_FAILED"]
        for alert in told:
            assert alert["emails"] == ["ops@oxy.so"], app["spec"]["name"]
            assert alert["slack_webhooks"] == [{"channel": "#oxy-alerts", "url": WEBHOOK}], app["spec"]["name"]


@pytest.mark.slow
def test_monitoring_planned_converged_unchanged_drift_named_and_put_back(sandbox, do, tmp_path):
    # The plan of an empty account lists every check and policy, and never the webhook, also with -vvv.
    code, out, report = plan(sandbox, tmp_path, "-vvv")
    assert code == 2, out[-4000:]
    assert sandbox.summary()["writes"] == 0
    planned = actions(report)
    for name in CHECKS:
        assert planned[f"uptime check {name}"] == "create", sorted(planned)
    for description in POLICIES:
        assert planned[f"monitoring alert policy {description}"] == "create", sorted(planned)
    assert_no_webhook(out, json.dumps(report))
    # The verification in a plan does not wait for, nor fail on, what the plan would create.
    planned_verify = ansible_playbook(sandbox, "playbooks/verify.yml", "--check")
    assert planned_verify.rc == 0, planned_verify.out[-4000:]

    run = apply(sandbox, "-vvv")
    assert_no_webhook(run.out)
    assert_monitoring_as_defined(do)

    # A second run changes nothing; monitoring's reads in it: one list of checks and one of policies, each
    # check's alerts, each app's alerts; no cluster read (bench/site_noop.py prints them beside the rest).
    mark = sandbox.summary()["last_seq"]
    run = apply(sandbox)
    assert run.hosts["localhost"]["changed"] == 0, run.out
    assert sandbox.summary(since=mark)["writes"] == 0, sandbox.summary(since=mark)
    monitoring = [
        r
        for r in sandbox.summary(since=mark)["routes"]
        if r["method"] == "GET" and r["route"].startswith(MONITORING_ROUTES)
    ]
    assert sum(r["count"] for r in monitoring) <= 2 + len(CHECKS) + len(DEFINITION["oxy_apps"]), monitoring

    # A threshold edited out of band, and a recipient removed from an app's alert: drift names both.
    policies = {p["description"]: p for p in do.monitoring.list_alert_policy()["policies"]}
    disk = policies["droplets tagged oxy,api disk_utilization_percent"]
    body = {k: disk[k] for k in ("type", "description", "compare", "window", "entities", "tags", "alerts", "enabled")}
    do.monitoring.update_alert_policy(disk["uuid"], {**body, "value": 99})
    app = next(a for a in do.apps.list()["apps"] if a["spec"]["name"] == "mention-production")
    alert = next(a for a in do.apps.list_alerts(app["id"])["alerts"] if a["spec"]["rule"] == "DEPLOYMENT_FAILED")
    do.apps.assign_alert_destinations(app["id"], alert["id"], {"emails": ["ops@oxy.so"], "slack_webhooks": []})

    # A check of a name of the environment's domain that the definition does not name: an orphan (someone
    # else's check, of a host that is not the environment's, is not).
    probe = {"type": "https", "regions": ["us_east"], "enabled": True}
    orphan = do.uptime.create_check({**probe, "name": "old.oxy.so", "target": "https://old.oxy.so"})["check"]
    foreign = do.uptime.create_check({**probe, "name": "status.example", "target": "https://status.example"})["check"]

    drift = str(Path("playbooks/drift.yml"))
    code, out, report = plan(sandbox, tmp_path, "-vvv", playbook=drift)
    assert code == 1 and "The environment drifted from its definition" in out, out[-4000:]
    assert f"orphan uptime check old.oxy.so (id {orphan['id']}): watches old.oxy.so, not in the definition" in out
    assert [o["name"] for o in report["orphans"]] == ["old.oxy.so"], report["orphans"]
    drifted = changed(report)
    assert drifted == {
        "monitoring alert policy droplets tagged oxy,api disk_utilization_percent": ["value"],
        "app mention-production": ["alert_destinations.DEPLOYMENT_FAILED.slack_webhooks"],
    }, drifted
    assert "monitoring alert policy droplets tagged oxy,api disk_utilization_percent: value" in out
    assert_no_webhook(out, json.dumps(report))

    do.uptime.delete_check(orphan["id"])
    apply(sandbox)
    assert_monitoring_as_defined_beside(do, foreign)

    # The verification: without machines every target is down (the sandbox probes only machines), and it
    # says which; with the checks left out, a disabled policy is named.
    sandbox.configure(uptime_interval=0.5)
    mark = sandbox.summary()["last_seq"]
    verify = ansible_playbook(
        sandbox, "playbooks/verify.yml", "-e", json.dumps({"oxy_verify_uptime_wait": 10, "oxy_verify_uptime_skip": []})
    )
    assert verify.rc != 0
    assert "Monitoring sees the environment down:" in verify.out, verify.out[-4000:]
    assert "uptime check api.oxy.so (https://api.oxy.so) is DOWN in eu_west, us_east" in verify.out, verify.out[-4000:]
    # (The mail host's ping check answers or not as the sandbox's public network does at that address: without
    # machines it is no one's, so only the API's HTTPS check is certain to be down here.)
    assert sandbox.summary(since=mark)["writes"] == 0
    policy = next(p for p in do.monitoring.list_alert_policy()["policies"] if p["description"] == "db-oxy cpu_alerts")
    body = {k: policy[k] for k in ("type", "description", "compare", "value", "window", "entities", "tags", "alerts")}
    do.monitoring.update_alert_policy(policy["uuid"], {**body, "enabled": False})
    mark = sandbox.summary()["last_seq"]
    verify = ansible_playbook(sandbox, "playbooks/verify.yml", "-e", json.dumps({"oxy_verify_uptime_skip": CHECKS}))
    assert verify.rc != 0 and "alert policy db-oxy cpu_alerts is disabled" in verify.out, verify.out[-4000:]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert_no_webhook(verify.out)

    # Nothing the runs wrote holds the webhook (the plan's JSON, the run's files beside it).
    for path in [*(ROOT / ".plan").glob("**/*"), *tmp_path.glob("**/*")]:
        if path.is_file():
            assert_no_webhook(path.read_text(errors="replace"))


def test_a_slack_channel_without_its_webhook_is_refused_before_any_write(sandbox):
    run = ansible_playbook(sandbox, "site.yml", *SKIP, "-e", '{"oxy_monitoring_slack_webhook": ""}')
    assert run.rc != 0
    assert "oxy_monitoring_slack_webhook: oxy_monitoring.slack_channel #oxy-alerts has no incoming webhook" in run.out
    assert sandbox.summary()["writes"] == 0
