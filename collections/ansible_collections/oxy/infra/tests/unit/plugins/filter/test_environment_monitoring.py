"""environment_problems on oxy_monitoring: who is told and about what, each problem naming its field."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.oxy.infra.plugins.filter.environment import environment_problems, monitoring_problems

MONITORING = {
    "emails": ["ops@oxy.so"],
    "slack_channel": "#oxy-alerts",
    "uptime": {
        "regions": ["eu_west", "us_east"],
        "https_alerts": [{"type": "down", "period": "2m"}, {"type": "ssl_expiry", "threshold": 14}],
        "ping_alerts": [{"type": "down", "period": "5m"}],
    },
    "droplet_alerts": [
        {"metric": "cpu", "compare": "GreaterThan", "value": 90, "window": "10m"},
        {"metric": "disk_utilization_percent", "compare": "GreaterThan", "value": 85, "window": "5m"},
        {"metric": "load_1", "compare": "GreaterThan", "value": 4, "window": "10m"},
    ],
    "database_alerts": [{"metric": "cpu_alerts", "compare": "GreaterThan", "value": 90, "window": "10m"}],
    "app_alerts": ["DEPLOYMENT_FAILED", "DOMAIN_FAILED"],
}
HOOK = "https://********"


def problems(webhook=HOOK, **changes):
    monitoring = copy.deepcopy(MONITORING)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = monitoring
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return monitoring_problems({"oxy_monitoring": monitoring, "oxy_monitoring_slack_webhook": webhook})


def test_the_stock_monitoring_passes_and_environment_problems_asks_it():
    assert problems() == []
    assert monitoring_problems({}) == []
    # environment_problems asks it: the same definition without its webhook is refused there.
    assert any(
        p.startswith("oxy_monitoring_slack_webhook:") for p in environment_problems({"oxy_monitoring": MONITORING})
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"droplet_alerts__1__window": "7m"}, "oxy_monitoring.droplet_alerts[1].window: '7m' is not a window"),
        ({"droplet_alerts__0__metric": "cpu_alerts"}, "oxy_monitoring.droplet_alerts[0].metric: 'cpu_alerts' is not"),
        ({"database_alerts__0__metric": "cpu"}, "oxy_monitoring.database_alerts[0].metric: 'cpu' is not a metric"),
        ({"droplet_alerts__2__metric": "cpu"}, "oxy_monitoring.droplet_alerts[2].metric: cpu is also"),
        ({"droplet_alerts__0__compare": ">"}, "oxy_monitoring.droplet_alerts[0].compare: '>' is not a comparison"),
        ({"droplet_alerts__1__value": 101}, "oxy_monitoring.droplet_alerts[1].value: 101 is outside"),
        ({"droplet_alerts__2__value": -1}, "oxy_monitoring.droplet_alerts[2].value: -1 is outside"),
        ({"droplet_alerts__2__value": "high"}, "oxy_monitoring.droplet_alerts[2].value: 'high' is outside"),
        ({"uptime__regions__0": "ams3"}, "oxy_monitoring.uptime.regions[0]: 'ams3' is not a region"),
        ({"uptime__regions": []}, "oxy_monitoring.uptime.regions: is empty"),
        ({"uptime__https_alerts__0__type": "up"}, "oxy_monitoring.uptime.https_alerts[0].type: 'up' is not"),
        ({"uptime__https_alerts__1__type": "down"}, "oxy_monitoring.uptime.https_alerts[1].type: down is also"),
        ({"uptime__https_alerts__1__threshold": None}, "https_alerts[1].threshold: a ssl_expiry alert needs"),
        ({"uptime__https_alerts__0__threshold": 3}, "https_alerts[0].threshold: a down alert has no threshold"),
        ({"uptime__https_alerts__0__period": "4m"}, "https_alerts[0].period: '4m' is not a period"),
        ({"uptime__ping_alerts__0__type": "ssl_expiry"}, "ping_alerts[0].type: 'ssl_expiry' is not an alert"),
        ({"app_alerts__1": "DEPLOYMENT_FAILED"}, "oxy_monitoring.app_alerts[1]: DEPLOYMENT_FAILED is also"),
        ({"app_alerts__0": "CPU_UTILIZATION"}, "oxy_monitoring.app_alerts[0]: 'CPU_UTILIZATION' is not"),
        ({"emails__0": "ops"}, "oxy_monitoring.emails[0]: 'ops' is not an email address"),
        ({"slack_channel": "#Oxy Alerts"}, "oxy_monitoring.slack_channel: '#Oxy Alerts' is not a Slack channel"),
        ({"emails": [], "slack_channel": None}, "oxy_monitoring.emails: is empty and there is no slack_channel"),
    ],
)
def test_each_problem_names_its_field(changes, expected):
    found = problems(**changes)
    assert any(expected in p for p in found), found


def test_a_slack_channel_needs_its_webhook_which_is_never_quoted():
    assert problems(webhook="")[0].startswith("oxy_monitoring_slack_webhook: oxy_monitoring.slack_channel #oxy-alerts")
    secret = "http://hooks.slack.com/services/T0/B0/the-secret-part"
    found = problems(webhook=secret)
    assert found == [
        "oxy_monitoring_slack_webhook: the webhook of #oxy-alerts is not an https:// URL (the value is not shown)"
    ]
    assert problems(webhook="", slack_channel=None) == []  # emails alone are enough
