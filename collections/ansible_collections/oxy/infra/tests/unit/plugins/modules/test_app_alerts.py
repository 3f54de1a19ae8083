"""The helpers of oxy.infra.app's alert_destinations: which alerts an app has, and how recipients compare and show."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.modules.app import (
    alert_key,
    alert_keys,
    canonical,
    destinations,
    masked_destinations,
)

HOOK = {"channel": "#oxy-alerts", "url": "https://hooks.slack.com/services/T0/B0/secret"}


def test_alert_keys_name_the_apps_and_each_components_rules():
    spec = {
        "alerts": [{"rule": "DEPLOYMENT_FAILED"}, {"rule": "DOMAIN_FAILED"}],
        "services": [{"name": "web", "alerts": [{"rule": "CPU_UTILIZATION", "value": 90}]}],
        "workers": [{"name": "queue"}],
    }
    assert alert_keys(spec) == ["DEPLOYMENT_FAILED", "DOMAIN_FAILED", "web/CPU_UTILIZATION"]
    assert alert_keys({}) == []
    assert alert_key({"spec": {"rule": "DOMAIN_FAILED"}}) == "DOMAIN_FAILED"
    assert alert_key({"component_name": "web", "spec": {"rule": "CPU_UTILIZATION"}}) == "web/CPU_UTILIZATION"


def test_destinations_compare_as_sets():
    one = destinations({"emails": ["b@oxy.so", "a@oxy.so", "a@oxy.so"], "slack_webhooks": [HOOK, dict(HOOK)]})
    other = destinations({"emails": ["a@oxy.so", "b@oxy.so"], "slack_webhooks": [HOOK]})
    assert one == other == {"emails": ["a@oxy.so", "b@oxy.so"], "slack_webhooks": [HOOK]}
    assert destinations({}) == {"emails": [], "slack_webhooks": []}
    assert destinations({"emails": ["a@oxy.so"]}) != other


def test_masked_destinations_never_show_a_url_and_tell_a_new_one():
    told = {"DEPLOYMENT_FAILED": destinations({"slack_webhooks": [HOOK]}), "DOMAIN_FAILED": destinations({})}
    masked = masked_destinations(told)
    assert HOOK["url"] not in str(masked)
    assert masked["DEPLOYMENT_FAILED"]["slack_webhooks"] == [{"channel": "#oxy-alerts", "url": "********"}]
    wanted = {key: destinations({"slack_webhooks": [HOOK]}) for key in told}
    known = {"DEPLOYMENT_FAILED": {HOOK["url"]}, "DOMAIN_FAILED": set()}
    shown = masked_destinations(wanted, known)
    assert shown["DEPLOYMENT_FAILED"]["slack_webhooks"][0]["url"] == "********"
    assert shown["DOMAIN_FAILED"]["slack_webhooks"][0]["url"] == "******** (changed)"


def test_spec_alerts_compare_whatever_their_order():
    assert canonical({"alerts": [{"rule": "DOMAIN_FAILED"}, {"rule": "DEPLOYMENT_FAILED"}]}) == canonical(
        {"alerts": [{"rule": "DEPLOYMENT_FAILED"}, {"rule": "DOMAIN_FAILED"}]}
    )
