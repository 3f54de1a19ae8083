"""App Platform's alerts fire: DEPLOYMENT_FAILED when a deployment ends in ERROR, DOMAIN_FAILED when a
deployment cannot configure a domain (the sandbox faults ``deploy_failures`` and ``domain_failures``).

What would be emailed or posted is read at ``/_sandbox/notifications``, as for uptime checks and alert
policies: recipient, subject and text, never a Slack webhook's URL.
"""

from __future__ import annotations

import time

import pytest

from tests.contract.test_apps import SPEC

HOOK = {"url": "https://hooks.slack.com/services/T000/B000/app-alert-secret", "channel": "#oxy-deploys"}
ALERTING = {
    **SPEC,
    "domains": [{"domain": "mention.oxy.so", "type": "PRIMARY", "zone": "oxy.so"}],
    "alerts": [{"rule": "DEPLOYMENT_FAILED"}, {"rule": "DOMAIN_FAILED"}],
}


@pytest.fixture(autouse=True)
def _no_faults_left(sandbox):
    yield
    sandbox.configure(deploy_failures={}, domain_failures={})


def _notes(sandbox, since: int = 0) -> list[dict]:
    return sandbox.control("GET", f"notifications?since={since}")["notifications"]


def _with_destinations(do, spec: dict) -> dict:
    """A new app of ``spec`` whose alerts go to the account's email and a Slack channel."""
    app = do.apps.create({"spec": spec})["app"]
    for alert in do.apps.list_alerts(app["id"])["alerts"]:
        do.apps.assign_alert_destinations(app["id"], alert["id"], {"emails": ["ops@oxy.so"], "slack_webhooks": [HOOK]})
    return app


def test_a_failed_deployment_fires_deployment_failed_to_its_destinations_once(sandbox, do):
    app = _with_destinations(do, ALERTING)
    assert do.apps.get(app["id"])["app"]["active_deployment"]["phase"] == "ACTIVE"
    assert _notes(sandbox) == []  # a deployment that went live tells no one
    mark = sandbox.summary()["last_seq"]

    sandbox.configure(deploy_failures={"mention-production": "npm ERR! missing script: start"})
    dep = do.apps.create_deployment(app["id"], {"force_build": False})["deployment"]
    assert do.apps.get_deployment(app["id"], dep["id"])["deployment"]["phase"] == "ERROR"
    notes = _notes(sandbox)
    assert [(n["channel"], n["recipient"]) for n in notes] == [("email", "ops@oxy.so"), ("slack", "#oxy-deploys")]
    for note in notes:
        assert note["rule"] == "DEPLOYMENT_FAILED" and note["status"] == "firing" and note["source"] == "app"
        assert (note["app_id"], note["deployment_id"]) == (app["id"], dep["id"])
        assert note["subject"] == "[FIRING] Deployment failed for app mention-production"
        assert "npm ERR! missing script: start" in note["text"]
    assert "hooks.slack.com" not in str(notes) and "app-alert-secret" not in str(notes)
    # Read again, and by the background rounds: still one notification per destination.
    do.apps.get(app["id"])
    sandbox.configure(uptime_interval=0.1)
    try:
        time.sleep(0.5)
    finally:
        sandbox.configure(uptime_interval=60)
    assert len(_notes(sandbox)) == 2
    assert sandbox.summary(since=mark)["writes"] == 1  # the deployment only: firing writes nothing in the API


def test_an_app_without_destinations_tells_no_one(sandbox, do):
    sandbox.configure(deploy_failures={"mention-production": "boom"})
    app = do.apps.create({"spec": ALERTING})["app"]
    assert do.apps.list_deployments(app["id"])["deployments"][0]["phase"] == "ERROR"
    assert all(a["emails"] == [] and a["slack_webhooks"] == [] for a in do.apps.list_alerts(app["id"])["alerts"])
    assert _notes(sandbox) == []


def test_an_app_without_the_alert_tells_no_one(sandbox, do):
    app = _with_destinations(do, {**ALERTING, "alerts": [{"rule": "DEPLOYMENT_LIVE"}]})
    sandbox.configure(deploy_failures={"mention-production": "boom"})
    do.apps.create_deployment(app["id"], {"force_build": False})
    assert _notes(sandbox) == []


def test_a_domain_that_cannot_be_configured_fires_domain_failed(sandbox, do):
    app = _with_destinations(do, ALERTING)
    [domain] = do.apps.get(app["id"])["app"]["domains"]
    assert (domain["spec"]["domain"], domain["phase"]) == ("mention.oxy.so", "ACTIVE")

    sandbox.configure(domain_failures={"mention.oxy.so": "the CNAME of mention.oxy.so points elsewhere"})
    dep = do.apps.create_deployment(app["id"], {"force_build": False})["deployment"]
    [domain] = do.apps.get(app["id"])["app"]["domains"]
    assert domain["phase"] == "ERROR"
    assert domain["progress"]["steps"][0]["reason"]["message"] == "the CNAME of mention.oxy.so points elsewhere"
    notes = _notes(sandbox)
    assert [(n["rule"], n["recipient"], n["domain"]) for n in notes] == [
        ("DOMAIN_FAILED", "ops@oxy.so", "mention.oxy.so"),
        ("DOMAIN_FAILED", "#oxy-deploys", "mention.oxy.so"),
    ]
    assert notes[0]["deployment_id"] == dep["id"]
    assert notes[0]["subject"] == "[FIRING] Domain mention.oxy.so failed for app mention-production"
    assert "hooks.slack.com" not in str(notes)

    # The fault cleared, the next deployment configures it: ACTIVE again, and nothing more is sent.
    sandbox.configure(domain_failures={})
    do.apps.create_deployment(app["id"], {"force_build": False})
    assert do.apps.get(app["id"])["app"]["domains"][0]["phase"] == "ACTIVE"
    assert len(_notes(sandbox)) == 2


def test_a_failed_deployment_configures_no_domain_and_fires_only_deployment_failed(sandbox, do):
    app = _with_destinations(do, ALERTING)
    sandbox.configure(deploy_failures={"mention-production": "boom"}, domain_failures={"mention.oxy.so": "no"})
    do.apps.create_deployment(app["id"], {"force_build": False})
    assert {n["rule"] for n in _notes(sandbox)} == {"DEPLOYMENT_FAILED"}
    # The domain stays as the last deployment that went live left it.
    assert do.apps.get(app["id"])["app"]["domains"][0]["phase"] == "ACTIVE"


def test_the_monitoring_rounds_send_it_without_anyone_looking(sandbox, do):
    sandbox.configure(app_delay=0.6)
    app = _with_destinations(do, ALERTING)
    time.sleep(0.7)  # the first deployment went live
    sandbox.configure(deploy_failures={"mention-production": "boom"})
    do.apps.create_deployment(app["id"], {"force_build": False})  # in progress: ERROR after its build starts
    sandbox.configure(uptime_interval=0.1)
    try:
        time.sleep(1.5)
        read_at = time.time()
    finally:
        sandbox.configure(uptime_interval=60)
    notes = _notes(sandbox)
    assert [n["rule"] for n in notes] == ["DEPLOYMENT_FAILED", "DEPLOYMENT_FAILED"]
    assert all(n["at"] < read_at - 0.5 for n in notes), "sent by a round, before anyone read the app or them"
