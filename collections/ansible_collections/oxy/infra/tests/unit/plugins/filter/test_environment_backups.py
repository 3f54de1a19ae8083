"""environment_problems on oxy_droplet.backups: DigitalOcean's backup policy, each problem naming its field."""

from __future__ import annotations

import pytest
from ansible_collections.oxy.infra.plugins.filter.environment import backup_problems, environment_problems

WEEKLY = {"enabled": True, "plan": "weekly", "weekday": "SUN", "hour": 0}


def problems(**backups):
    return backup_problems({"oxy_droplet": {"name": "oxy-api-backend", "backups": backups}})


@pytest.mark.parametrize(
    "backups",
    [
        WEEKLY,
        {"enabled": True, "plan": "daily", "hour": 20},
        {"enabled": True, "plan": "daily"},
        {"enabled": True, "plan": "weekly", "weekday": "FRI", "hour": "4"},
        {"enabled": False},
    ],
)
def test_policies_digitalocean_takes_pass(backups):
    assert problems(**backups) == []


def test_backups_left_out_are_not_managed_and_pass():
    assert backup_problems({"oxy_droplet": {"name": "oxy-api-backend"}}) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"plan": "monthly"}, "oxy_droplet.backups.plan: 'monthly' is not a backup plan; allowed: daily, weekly"),
        ({"plan": None}, "oxy_droplet.backups.plan: None is not a backup plan"),
        ({"weekday": "sunday"}, "oxy_droplet.backups.weekday: 'sunday' is not a weekday; allowed: SUN, MON"),
        ({"weekday": None}, "oxy_droplet.backups.weekday: a weekly plan needs its day"),
        ({"plan": "daily"}, "oxy_droplet.backups.weekday: SUN is set, but a daily plan has no weekday"),
        ({"hour": 3}, "oxy_droplet.backups.hour: 3 is not the start of a backup window; allowed (UTC): 0, 4, 8,"),
        ({"hour": 24}, "oxy_droplet.backups.hour: 24 is not the start"),
        ({"hour": True}, "oxy_droplet.backups.hour: True is not the start"),
        ({"enabled": "yes please"}, "oxy_droplet.backups.enabled: 'yes please' is not true or false"),
        ({"enabled": False}, "oxy_droplet.backups: plan, weekday, hour set while enabled is false"),
    ],
)
def test_bad_policies_are_named_by_their_field(changes, expected):
    found = problems(**{**WEEKLY, **changes})
    assert len(found) == 1 and found[0].startswith(expected), found


def test_backups_must_be_a_mapping():
    assert backup_problems({"oxy_droplet": {"backups": True}}) == [
        "oxy_droplet.backups: True is not a mapping; allowed: enabled, plan, weekday, hour"
    ]


def test_the_whole_filter_reports_them():
    found = environment_problems({"oxy_droplet": {"name": "oxy-api-backend", "backups": dict(WEEKLY, hour=5)}})
    assert [p for p in found if p.startswith("oxy_droplet.backups")] == [
        "oxy_droplet.backups.hour: 5 is not the start of a backup window; allowed (UTC): 0, 4, 8, 12, 16, 20"
    ]
