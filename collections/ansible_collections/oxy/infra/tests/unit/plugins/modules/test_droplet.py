"""oxy.infra.droplet in process against a scripted API: a resize whose action never completes."""

from __future__ import annotations

import functools

import pytest
from ansible_collections.oxy.infra.plugins.modules import droplet as droplet_module

DROPLET = {
    "id": 1,
    "name": "web",
    "status": "active",
    "size_slug": "s-1vcpu-1gb",
    "region": {"slug": "ams3"},
    "image": {"slug": "debian-12-x64", "id": 9},
    "vpc_uuid": "v-1",
    "tags": [],
    "features": [],
    "networks": {"v4": [{"type": "public", "ip_address": "203.0.113.5"}]},
}


@pytest.fixture
def run(run_main):
    return functools.partial(run_main, droplet_module)


def script_resize(api_server, action_status):
    api_server.reply(200, {"droplets": [DROPLET], "links": {}, "meta": {"total": 1}})  # also the wait's first look
    action = {"id": 77, "type": "power_off", "status": "in-progress", "resource_id": 1}
    api_server.reply(201, {"action": action})
    api_server.default = lambda method, path: (200, {"action": dict(action, status=action_status)}, {})


def test_action_timeout_is_a_normal_failure_with_the_action(api_server, run):
    script_resize(api_server, "in-progress")
    code, out = run(name="web", size="s-2vcpu-4gb", wait_timeout=1)
    assert code == 1 and out["failed"] is True
    assert out["msg"] == "timed out after 1s waiting for power_off action 77 of Droplet web"
    assert (out["action"]["id"], out["action"]["status"]) == (77, "in-progress")
    assert out["droplet"]["id"] == 1
    assert [r[0] for r in api_server.requests][:3] == ["GET", "POST", "GET"]
    assert ("POST", "/v2/droplets/1/actions") in [r[:2] for r in api_server.requests]
    assert len([r for r in api_server.requests if r[0] == "POST"]) == 1  # no resize after the power_off timed out


def test_errored_action_fails_with_its_status(api_server, run):
    script_resize(api_server, "errored")
    code, out = run(name="web", size="s-2vcpu-4gb", wait_timeout=60)
    assert code == 1
    assert out["msg"] == "power_off action 77 errored"
    assert (out["action"]["id"], out["action"]["status"]) == (77, "errored")


def test_state_absent_without_confirmation_reads_only(api_server, run):
    api_server.reply(200, {"droplets": [dict(DROPLET, tags=["oxy"])], "links": {}, "meta": {"total": 1}})
    code, out = run(name="web", state="absent")
    assert code == 1 and out["refused"] is True
    assert "refusing to delete Droplet 'web' (id 1; tags oxy)" in out["msg"]
    assert [r[0] for r in api_server.requests] == ["GET"]


def test_policy_state_keeps_the_managed_fields_and_a_weekday_only_for_weekly():
    weekly = dict(plan="weekly", weekday="SUN", hour=4, window_length_hours=4, retention_period_days=28)
    assert droplet_module.policy_state(weekly) == dict(plan="weekly", weekday="SUN", hour=4)
    assert droplet_module.policy_state(dict(weekly, plan="daily")) == dict(plan="daily", hour=4)
    assert droplet_module.policy_state(None) is None


def test_wanted_policy_lays_the_fields_set_over_the_current_one():
    current = dict(plan="weekly", weekday="SUN", hour=4)
    assert droplet_module.wanted_policy(current, dict(plan="weekly", weekday=None, hour=20)) == dict(
        plan="weekly", weekday="SUN", hour=20
    )
    assert droplet_module.wanted_policy(current, dict(plan="daily", weekday=None, hour=None)) == dict(
        plan="daily", hour=4
    )
    assert droplet_module.wanted_policy(None, dict(plan="daily", weekday=None, hour=0)) == dict(plan="daily", hour=0)


def test_policy_for_a_droplet_without_backups_is_refused_before_any_request(api_server, run):
    code, out = run(name="web", backup_policy=dict(plan="daily"))
    assert code == 1 and out["msg"].startswith("backup_policy: a backup policy needs backups=true")
    assert api_server.requests == []
