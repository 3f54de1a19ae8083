"""oxy.infra.droplet takes a snapshot before a resize, and keeps only the newest of its own snapshots.

Every step counts the sandbox's requests: a plan writes nothing, a resize takes exactly one snapshot (also when
an earlier run was killed after taking or starting it), retention deletes only the module's own snapshots
beyond ``snapshot_keep`` and only under the delete guard, and a second run writes nothing.
"""

from __future__ import annotations

import calendar
import time

import pytest
from ansible_collections.oxy.infra.plugins.callback.plan import classify
from ansible_collections.oxy.infra.plugins.modules.droplet import resize_of_snapshot, snapshot_name

BASE = dict(name="oxy-api-backend", region="ams3", size="s-1vcpu-1gb", image="ubuntu-24-04-x64", tags=["oxy"])
BIGGER = "s-2vcpu-4gb"
ACTIONS = ("POST", "/v2/droplets/{droplet_id}/actions")
DELETE_SNAPSHOT = ("DELETE", "/v2/snapshots/{snapshot_id}")
PREFIX = "oxy-api-backend-before-resize-s-1vcpu-1gb-to-s-2vcpu-4gb-"


@pytest.fixture
def droplet(in_controller, sandbox):
    sandbox.configure(action_delay=0.2)
    return in_controller("droplet", **BASE)["droplet"]


def settle(do, action):
    while do.actions.get(action["id"])["action"]["status"] == "in-progress":
        time.sleep(0.05)
    return do.actions.get(action["id"])["action"]


def act(do, droplet, body):
    return settle(do, do.droplet_actions.post(droplet["id"], body)["action"])


def snapshots(do, droplet):
    return {s["name"]: s for s in do.droplets.list_snapshots(droplet["id"])["snapshots"]}


def actions_in_order(do, droplet):
    return sorted(do.droplet_actions.list(droplet["id"], per_page=200)["actions"], key=lambda a: a["id"])


def at(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%MZ"))


def test_the_snapshot_name_says_droplet_resize_and_time():
    name = snapshot_name("oxy-api-backend", "s-1vcpu-1gb", "s-2vcpu-4gb", now=at("20261203T2015Z"))
    assert name == PREFIX + "20261203T2015Z"
    assert resize_of_snapshot(name, ["oxy-api-backend"]) == ("s-1vcpu-1gb", "s-2vcpu-4gb")
    assert resize_of_snapshot(name, ["oxy-api"]) is None  # another Droplet's name is not a prefix of it
    assert resize_of_snapshot("oxy-api-backend-1764700000", ["oxy-api-backend"]) is None  # DigitalOcean's default
    assert resize_of_snapshot(PREFIX + "yesterday", ["oxy-api-backend"]) is None


def test_a_resize_takes_one_snapshot_first_then_resizes(in_controller, do, sandbox, droplet):
    args = dict(BASE, size=BIGGER, snapshot_before_resize=True)
    plan = in_controller("droplet", check=True, **args)
    assert (plan["changed"], plan.writes) == (True, [])
    name = plan["snapshot"]["name"]
    assert name.startswith(PREFIX) and plan["snapshot"]["reused"] is False
    assert f"snapshot {name} first" in plan["plan_note"]
    assert plan["diff"]["before"]["snapshots"] == {}
    assert plan["diff"]["after"]["snapshots"] == {name: f"(taken before the resize to {BIGGER})"}
    assert plan["diff"]["after"]["size"] == BIGGER and snapshots(do, droplet) == {}
    # The plan (the oxy.infra.plan callback) lists the snapshot among the Droplet's changed fields.
    action, fields = classify(plan)
    assert (action, [f[0] for f in fields]) == ("update", ["size", f"snapshots.{name}"])

    mark = sandbox.log()[-1]["seq"]
    resized = in_controller("droplet", **args)
    assert resized["changed"] is True and resized.writes == [ACTIONS] * 4
    assert sandbox.summary(since=mark)["writes"] == 4
    kinds = [a["type"] for a in actions_in_order(do, droplet)]
    assert kinds[-4:] == ["power_off", "snapshot", "resize", "power_on"], kinds
    snap, resize = actions_in_order(do, droplet)[-3:-1]
    assert snap["completed_at"] <= resize["started_at"]  # the resize waited for the snapshot
    [taken] = snapshots(do, droplet).values()
    assert taken["name"] == resized["snapshot"]["name"] and taken["name"].startswith(PREFIX)
    final = do.droplets.get(droplet["id"])["droplet"]
    assert (final["size_slug"], final["status"], final["snapshot_ids"]) == (BIGGER, "active", [taken["id"]])

    again = in_controller("droplet", **args)
    assert (again["changed"], again.writes) == (False, [])
    assert "snapshot" not in again and "plan_note" not in again

    # Without snapshot_before_resize a resize takes none.
    plain = in_controller("droplet", **BASE)
    assert plain.writes == [ACTIONS] * 3 and len(snapshots(do, droplet)) == 1


def test_a_rerun_after_a_kill_between_snapshot_and_resize_takes_no_second_one(in_controller, do, sandbox, droplet):
    """The killed run powered the Droplet off and took the snapshot with its name; the re-run uses it."""
    act(do, droplet, {"type": "power_off"})
    name = snapshot_name("oxy-api-backend", "s-1vcpu-1gb", BIGGER)
    act(do, droplet, {"type": "snapshot", "name": name})
    [taken] = snapshots(do, droplet).values()
    args = dict(BASE, size=BIGGER, snapshot_before_resize=True)

    plan = in_controller("droplet", check=True, **args)
    assert plan.writes == [] and plan["snapshot"] == dict(name=name, reused=True, id=taken["id"])
    assert f"snapshot {name} of an earlier run used, not taken again" in plan["plan_note"]

    resumed = in_controller("droplet", **args)
    assert resumed.writes == [ACTIONS] * 2  # resize, power on: no snapshot, no power off
    assert [a["type"] for a in actions_in_order(do, droplet)][-2:] == ["resize", "power_on"]
    assert list(snapshots(do, droplet)) == [name]
    assert do.droplets.get(droplet["id"])["droplet"]["size_slug"] == BIGGER

    # A Droplet that ran since gets a new snapshot: the old one is not this resize's.
    back = in_controller("droplet", **dict(args, size="s-1vcpu-1gb"))
    assert back.writes == [ACTIONS] * 4 and back["snapshot"]["reused"] is False
    assert sorted(snapshots(do, droplet)) == sorted([name, back["snapshot"]["name"]])


def test_a_rerun_waits_for_the_snapshot_a_killed_run_started(in_controller, do, sandbox, droplet):
    act(do, droplet, {"type": "power_off"})
    sandbox.configure(action_delay=1.5)
    name = snapshot_name("oxy-api-backend", "s-1vcpu-1gb", BIGGER)
    started = do.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": name})["action"]
    args = dict(BASE, size=BIGGER, snapshot_before_resize=True)

    plan = in_controller("droplet", check=True, **args)
    assert plan.writes == [] and plan["snapshot"]["reused"] is True
    assert f"snapshot action {started['id']} of an earlier run waited for" in plan["plan_note"]

    resumed = in_controller("droplet", **args)
    assert resumed.writes == [ACTIONS] * 2
    assert do.actions.get(started["id"])["action"]["status"] == "completed"
    assert resumed["snapshot"]["name"] == name and list(snapshots(do, droplet)) == [name]
    assert do.droplets.get(droplet["id"])["droplet"]["size_slug"] == BIGGER


def test_a_rerun_after_a_kill_between_resize_and_power_on_powers_it_on(in_controller, do, sandbox, droplet):
    """The killed run left the Droplet off at its new size: the re-run has nothing to resize and powers it on."""
    act(do, droplet, {"type": "power_off"})
    act(do, droplet, {"type": "resize", "size": BIGGER})
    args = dict(BASE, size=BIGGER, snapshot_before_resize=True)

    plan = in_controller("droplet", check=True, **args)
    assert plan.writes == [] and plan["changed"] is True
    assert (plan["diff"]["before"]["power"], plan["diff"]["after"]["power"]) == ("off", "on")
    assert plan["plan_note"] == "power on (found off)" and "snapshot" not in plan

    resumed = in_controller("droplet", **args)
    assert resumed.writes == [ACTIONS] and [a["type"] for a in actions_in_order(do, droplet)][-1] == "power_on"
    assert do.droplets.get(droplet["id"])["droplet"]["status"] == "active" and snapshots(do, droplet) == {}

    again = in_controller("droplet", **args)
    assert (again["changed"], again.writes) == (False, [])


def test_retention_deletes_only_the_oldest_own_snapshots_under_the_delete_guard(in_controller, do, sandbox, capfd):
    sandbox.configure(action_delay=0.05)
    droplet = in_controller("droplet", backups=True, **BASE)["droplet"]
    own = [snapshot_name("oxy-api-backend", "s-1vcpu-1gb", BIGGER, now=at(f"2026110{d}T0400Z")) for d in (1, 2, 3, 4)]
    for name in [*own[:2], "before-the-migration", *own[2:]]:  # another snapshot, by hand, among them
        act(do, droplet, {"type": "snapshot", "name": name})
        time.sleep(1.01)  # creation times a second apart: they order the snapshots
    taken = sandbox.control("POST", f"droplets/{droplet['id']}/backup")
    backup = taken["image"]
    settle(do, taken["action"])
    others = {"before-the-migration", backup["name"]}
    args = dict(BASE, backups=True, snapshot_keep=2)

    # Without allow_delete nothing is deleted: the two oldest are listed, with why, and warned about.
    capfd.readouterr()
    unconfirmed = in_controller("droplet", **args)
    assert (unconfirmed["changed"], unconfirmed.writes) == (False, [])
    assert [(s["name"], s["why"]) for s in unconfirmed["snapshots_over_keep"]] == [
        (own[1], "allow_delete is false"),
        (own[0], "allow_delete is false"),
    ]
    assert unconfirmed["snapshots_deleted"] == []
    warned = [line for line in capfd.readouterr().err.splitlines() if "beyond snapshot_keep=2 and kept" in line]
    assert len(warned) == 2 and own[0] in warned[1], warned
    kept = f"keep snapshot(s) {own[1]}, {own[0]} beyond snapshot_keep=2 (allow_delete is false)"
    assert kept in unconfirmed["plan_note"]

    plan = in_controller("droplet", check=True, allow_delete=True, **args)
    assert (plan["changed"], plan.writes) == (True, [])
    assert [s["name"] for s in plan["snapshots_deleted"]] == [own[1], own[0]]
    assert set(plan["diff"]["before"]["snapshots"]) == set(own)  # its own only: no other snapshot, no backup
    assert {k: v for k, v in plan["diff"]["after"]["snapshots"].items() if v is None} == {own[0]: None, own[1]: None}
    assert sorted(f[0] for f in classify(plan)[1]) == sorted(f"snapshots.{n}" for n in own[:2])
    assert len(do.droplets.list_snapshots(droplet["id"])["snapshots"]) == 5

    # protected_names keeps one; the other goes.
    mark = sandbox.log()[-1]["seq"]
    pruned = in_controller("droplet", allow_delete=True, protected_names=[own[0]], **args)
    assert pruned["changed"] is True and pruned.writes == [DELETE_SNAPSHOT]
    assert sandbox.summary(since=mark)["writes"] == 1
    assert [s["name"] for s in pruned["snapshots_deleted"]] == [own[1]]
    assert [(s["name"], s["why"]) for s in pruned["snapshots_over_keep"]] == [(own[0], "listed in protected_names")]
    assert set(snapshots(do, droplet)) == {own[0], own[2], own[3], "before-the-migration"}
    assert backup["name"] in {b["name"] for b in do.droplets.list_backups(droplet["id"])["backups"]}
    assert others <= set(snapshots(do, droplet)) | {backup["name"]}

    again = in_controller("droplet", allow_delete=True, protected_names=[own[0]], **args)
    assert (again["changed"], again.writes) == (False, [])

    # Unprotected, the oldest goes too; then nothing is left to delete.
    last = in_controller("droplet", allow_delete=True, **args)
    assert last.writes == [DELETE_SNAPSHOT] and set(snapshots(do, droplet)) == {own[2], own[3], "before-the-migration"}
    assert in_controller("droplet", allow_delete=True, **args).writes == []


def test_a_resize_counts_its_new_snapshot_among_those_kept(in_controller, do, sandbox, droplet):
    old = [snapshot_name("oxy-api-backend", "s-1vcpu-1gb", BIGGER, now=at(f"2026110{d}T0400Z")) for d in (1, 2)]
    for name in old:
        act(do, droplet, {"type": "snapshot", "name": name})
        time.sleep(1.01)
    args = dict(BASE, size=BIGGER, snapshot_before_resize=True, snapshot_keep=2, allow_delete=True)
    plan = in_controller("droplet", check=True, **args)
    assert plan.writes == [] and [s["name"] for s in plan["snapshots_deleted"]] == [old[0]]
    resized = in_controller("droplet", **args)
    assert resized.writes == [ACTIONS] * 4 + [DELETE_SNAPSHOT]  # the old one goes after the resize
    assert set(snapshots(do, droplet)) == {old[1], resized["snapshot"]["name"]}
    assert in_controller("droplet", **args).writes == []


def test_snapshot_keep_below_one_is_refused_before_any_write(in_controller, sandbox, droplet):
    mark = sandbox.log()[-1]["seq"]
    failed = in_controller("droplet", expect_fail=True, snapshot_keep=0, **dict(BASE, size=BIGGER))
    assert failed["msg"].startswith("snapshot_keep: 0 keeps no snapshot; it must be at least 1")
    assert sandbox.summary(since=mark)["writes"] == 0
