"""Recipients of uptime alerts and alert policies: compared as sets, validated naming the option, URLs masked."""

from __future__ import annotations

import pytest
from ansible_collections.oxy.infra.plugins.module_utils import _monitoring as recipients

HOOK = "https://hooks.slack.com/services/T0/B0/secret-part"


def test_recipients_compare_as_sets():
    one = {"email": ["b@oxy.so", "a@oxy.so", "a@oxy.so"], "slack": [{"channel": "#x", "url": HOOK}] * 2}
    other = {"email": ["a@oxy.so", "b@oxy.so"], "slack": [{"channel": "#x", "url": HOOK}]}
    assert recipients.canonical(one) == recipients.canonical(other)
    assert recipients.canonical(None) == {"email": [], "slack": []}


@pytest.mark.parametrize(
    "value, message",
    [
        ({"email": []}, "alerts: at least one email or slack recipient is required"),
        ({"email": ["ops@oxy.so", "nobody"]}, "alerts.email[1]: 'nobody' is not an email address"),
        ({"slack": [{"channel": " ", "url": HOOK}]}, "alerts.slack[0].channel: a Slack channel is required"),
        ({"slack": [{"channel": "#x", "url": "http://secret-part"}]}, "alerts.slack[0].url: an https://"),
    ],
)
def test_bad_recipients_are_refused_naming_the_option_never_the_url(value, message):
    with pytest.raises(recipients.InvalidMonitoring) as refused:
        recipients.validate(value, "alerts")
    assert message in str(refused.value)
    assert "secret-part" not in str(refused.value)


def test_urls_are_masked_and_a_new_one_is_told_apart():
    value = {"email": ["ops@oxy.so"], "slack": [{"channel": "#x", "url": HOOK}, {"channel": "#y", "url": HOOK + "2"}]}
    assert recipients.masked(value)["slack"] == [
        {"channel": "#x", "url": "********"},
        {"channel": "#y", "url": "********"},
    ]
    against = recipients.masked(value, known={HOOK})
    assert [s["url"] for s in against["slack"]] == ["********", "******** (changed)"]
    assert value["slack"][0]["url"] == HOOK  # the value itself is left as it was
