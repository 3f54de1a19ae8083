"""oxy.infra.droplet converges backups and their policy on an existing Droplet (in the controller, as plays run it).

Every step counts the sandbox's requests: a plan and a second run write nothing, bad input is refused before
any request that writes, and the policy costs one read, only when one is asked for.
"""

from __future__ import annotations

import time

import pytest

BASE = dict(name="oxy-api-backend", region="ams3", size="s-1vcpu-1gb", image="ubuntu-24-04-x64", tags=["oxy"])
WEEKLY = dict(plan="weekly", weekday="SUN", hour=4)
ACTIONS = ("POST", "/v2/droplets/{droplet_id}/actions")
POLICY_READ = ("GET", "/v2/droplets/{droplet_id}/backups/policy")


def policy_of(do, droplet_id):
    return do.droplets.get_backup_policy(droplet_id)["policy"]


@pytest.fixture
def droplet(in_controller, do, sandbox):
    sandbox.configure(action_delay=0.2)
    created = in_controller("droplet", **BASE)
    assert "backups" not in created["droplet"]["features"]
    return created["droplet"]


def test_backups_enabled_replanned_and_disabled_in_place(in_controller, do, droplet):
    plan = in_controller("droplet", check=True, backups=True, backup_policy=WEEKLY, **BASE)
    assert (plan["changed"], plan.writes) == (True, [])
    assert plan["diff"]["before"]["backups"] is False and plan["diff"]["before"]["backup_policy"] is None
    assert plan["diff"]["after"]["backups"] is True and plan["diff"]["after"]["backup_policy"] == WEEKLY
    assert policy_of(do, droplet["id"])["backup_enabled"] is False

    enabled = in_controller("droplet", backups=True, backup_policy=WEEKLY, **BASE)
    assert enabled["changed"] is True and enabled.writes == [ACTIONS]
    assert enabled["droplet"]["id"] == droplet["id"] and "backups" in enabled["droplet"]["features"]
    record = policy_of(do, droplet["id"])
    assert record["backup_enabled"] is True
    assert {k: record["backup_policy"][k] for k in WEEKLY} == WEEKLY
    assert enabled["backup_policy"]["retention_period_days"] == 28

    again = in_controller("droplet", backups=True, backup_policy=WEEKLY, **BASE)
    assert (again["changed"], again.writes) == (False, [])
    assert again.calls.count(POLICY_READ) == 1  # the policy is one read
    assert again["diff"]["before"] == again["diff"]["after"]
    # Without a policy asked for, it is not read at all.
    assert POLICY_READ not in in_controller("droplet", backups=True, **BASE).calls

    nightly = dict(plan="daily", hour=20)
    replan = in_controller("droplet", check=True, backups=True, backup_policy=nightly, **BASE)
    assert (replan["changed"], replan.writes) == (True, [])
    assert replan["diff"]["before"]["backup_policy"] == WEEKLY
    assert replan["diff"]["after"]["backup_policy"] == nightly  # a daily plan has no weekday

    changed = in_controller("droplet", backups=True, backup_policy=nightly, **BASE)
    assert changed["changed"] is True and changed.writes == [ACTIONS]
    record = policy_of(do, droplet["id"])["backup_policy"]
    assert (record["plan"], record["hour"], "weekday" in record) == ("daily", 20, False)
    assert in_controller("droplet", backups=True, backup_policy=nightly, **BASE).writes == []

    off_plan = in_controller("droplet", check=True, backups=False, **BASE)
    assert (off_plan["changed"], off_plan.writes) == (True, [])
    disabled = in_controller("droplet", backups=False, **BASE)
    assert disabled["changed"] is True and disabled.writes == [ACTIONS]
    assert "backups" not in disabled["droplet"]["features"]
    assert policy_of(do, droplet["id"])["backup_enabled"] is False
    assert in_controller("droplet", backups=False, **BASE).writes == []

    actions = sorted(do.droplet_actions.list(droplet["id"])["actions"], key=lambda a: a["id"])
    kinds = [a["type"] for a in actions]
    assert [k for k in kinds if "backup" in k] == ["enable_backups", "change_backup_policy", "disable_backups"]


def test_created_with_backups_and_policy(in_controller, do, sandbox):
    sandbox.configure(action_delay=0.2)
    created = in_controller("droplet", backups=True, backup_policy=WEEKLY, **BASE)
    assert created["changed"] is True and created.writes == [("POST", "/v2/droplets")]
    assert {k: created["backup_policy"][k] for k in WEEKLY} == WEEKLY
    again = in_controller("droplet", backups=True, backup_policy=WEEKLY, **BASE)
    assert (again["changed"], again.writes) == (False, [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(backup_policy=WEEKLY), "backup_policy: a backup policy needs backups=true"),
        (dict(backups=False, backup_policy=WEEKLY), "backup_policy: a backup policy needs backups=true"),
        (dict(backups=True, backup_policy=dict(plan="daily", weekday="MON")), "backup_policy.weekday: only a weekly"),
        (dict(backups=True, backup_policy=dict(plan="weekly", hour=3)), "hour"),
        (dict(backups=True, backup_policy=dict(plan="monthly")), "plan"),
        (dict(backups=True, backup_policy=dict(plan="weekly", weekday="sunday")), "weekday"),
        (dict(backups=True, backup_policy=dict(hour=4)), "plan"),
    ],
)
def test_bad_backup_input_is_refused_before_any_write(in_controller, do, sandbox, droplet, args, message):
    mark = sandbox.log()[-1]["seq"]
    failed = in_controller("droplet", expect_fail=True, **BASE, **args)
    assert message in failed["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert "backups" not in do.droplets.get(droplet["id"])["droplet"]["features"]


def test_a_droplet_from_the_latest_image_of_another_in_another_region_while_its_region_is_down(
    in_controller, do, sandbox, droplet
):
    """The failover's droplet: the source's latest snapshot or backup, found through lists, transferred first."""
    first = do.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": "first"})["action"]
    while do.actions.get(first["id"])["action"]["status"] != "completed":
        time.sleep(0.05)
    latest = do.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": "latest"})["action"]
    while do.actions.get(latest["id"])["action"]["status"] != "completed":
        time.sleep(0.05)
    [image] = [s for s in do.droplets.list_snapshots(droplet["id"])["snapshots"] if s["name"] == "latest"]
    in_controller("vpc", name="default-fra1", region="fra1")
    sandbox.faults(regions_down=["ams3"])
    args = dict(name="oxy-api-backend-fra1", region="fra1", size="s-1vcpu-1gb", vpc="default-fra1", tags=["oxy"])

    plan = in_controller("droplet", check=True, image_of="oxy-api-backend", **args)
    assert (plan["changed"], plan.writes) == (True, [])
    assert plan["image_from"]["id"] == image["id"] and plan["diff"]["after"]["image"] == str(image["id"])
    assert "transferred to fra1 first" in plan["plan_note"]
    missing = in_controller("droplet", image_of="no-such-droplet", expect_fail=True, **args)
    assert "no Droplet named 'no-such-droplet'" in missing["msg"] and missing.writes == []

    made = in_controller("droplet", image_of="oxy-api-backend", retries=0, **args)
    assert made.writes == [("POST", "/v2/images/{image_id}/actions"), ("POST", "/v2/droplets")], made.writes
    created = do.droplets.get(made["droplet"]["id"])["droplet"]
    assert (created["region"]["slug"], created["image"]["id"]) == ("fra1", image["id"])
    assert "fra1" in do.images.get(str(image["id"]))["image"]["regions"]
    again = in_controller("droplet", image_of="oxy-api-backend", **args)
    assert (again["changed"], again.writes) == (False, [])
    # The definition after the failover names the image by its id: the same Droplet, clean.
    named = in_controller("droplet", image=str(image["id"]), **args)
    assert (named["changed"], named.writes) == (False, [])
    sandbox.control("DELETE", "faults")
