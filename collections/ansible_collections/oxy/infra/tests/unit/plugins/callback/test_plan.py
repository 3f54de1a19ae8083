"""The oxy.infra.plan callback's reading of module results: create, update with fields, delete, merged per resource;
rename, upgrade and replace as a result names them; orphans on their own lines."""

from __future__ import annotations

import json

import pytest
from ansible_collections.oxy.infra.plugins.callback import plan as plan_callback
from ansible_collections.oxy.infra.plugins.callback.plan import (
    CREATE,
    DELETE,
    NO_CHANGE,
    RENAME,
    REPLACE,
    UPDATE,
    UPGRADE,
    classify,
    field_changes,
    merge,
)


def result(changed, before, after, **extra):
    return dict(changed=changed, diff=dict(before=before, after=after), **extra)


def test_create_update_delete_and_no_change():
    assert classify(result(True, {}, {"name": "db-oxy", "size": "s"})) == (CREATE, [])
    assert classify(result(True, {"name": "db-oxy"}, {})) == (DELETE, [])
    assert classify(result(False, {"name": "x"}, {"name": "x"})) == (NO_CHANGE, [])
    action, fields = classify(result(True, {"name": "x", "size": "s-1"}, {"name": "x", "size": "s-2"}))
    assert (action, fields) == (UPDATE, [("size", "s-1", "s-2")])


def test_changed_without_a_diff_is_an_update_without_fields():
    assert classify(dict(changed=True)) == (UPDATE, [])


def test_fields_are_named_by_their_path_in_nested_specs():
    before = {"spec": {"services": [{"image": {"tag": "1"}}], "envs": [{"key": "A", "value": "1"}]}}
    after = {"spec": {"services": [{"image": {"tag": "2"}}], "envs": [{"key": "A", "value": "1"}, {"key": "B"}]}}
    assert field_changes(before, after) == [
        ("spec.envs", [{"key": "A", "value": "1"}], [{"key": "A", "value": "1"}, {"key": "B"}]),
        ("spec.services[0].image.tag", "1", "2"),
    ]


def test_empty_and_absent_are_the_same():
    assert field_changes({"tags": None, "x": 1}, {"tags": [], "x": 1}) == []


def test_what_the_definition_does_not_name_is_no_difference():
    before = {"spec": {"services": [{"name": "web", "instance_count": 1, "http_port": 8080}]}}
    after = {"spec": {"services": [{"name": "web"}]}}
    assert field_changes(before, after) == []


def test_one_resource_touched_by_several_tasks():
    assert merge(CREATE, NO_CHANGE) == CREATE and merge(NO_CHANGE, UPDATE) == UPDATE
    assert merge(UPDATE, CREATE) == CREATE and merge(DELETE, CREATE) == REPLACE


def test_a_result_names_its_action_rename_upgrade_or_replace():
    renamed = result(True, {"name": "a", "size": "s"}, {"name": "b", "size": "s"}, plan_action="rename")
    assert classify(renamed) == (RENAME, [("name", "a", "b")])
    upgraded = result(True, {"version": "7"}, {"version": "8"}, plan_action="upgrade", plan_note="irreversible")
    assert classify(upgraded) == (UPGRADE, [("version", "7", "8")])
    assert classify(dict(changed=True, plan_action="replace")) == (REPLACE, [])
    assert classify(result(True, {}, {"name": "x"}, plan_action="unknown")) == (CREATE, [])  # only the known ones


def test_a_named_action_outranks_the_plain_ones_it_merges_with():
    assert merge(RENAME, NO_CHANGE) == RENAME and merge(UPDATE, RENAME) == RENAME
    assert merge(UPGRADE, NO_CHANGE) == UPGRADE and merge(CREATE, REPLACE) == REPLACE


class _Host:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class _Result:
    def __init__(self, res, host="localhost"):
        self._result = res
        self._host = _Host(host)


@pytest.fixture
def callback(tmp_path, monkeypatch):
    cb = plan_callback.CallbackModule()
    cb.check_mode = True
    options = {"json_path": str(tmp_path / "plan.json"), "show_unchanged": False}
    monkeypatch.setattr(cb, "get_option", options.get)
    shown = []
    monkeypatch.setattr(cb._display, "display", lambda text, *a, **k: shown.append(text))
    cb.shown = shown
    cb.report_path = tmp_path / "plan.json"
    return cb


def test_rename_replace_and_orphans_are_printed_counted_and_pending(callback):
    orphan = dict(kind="droplet", name="oxy-api-backend", id="123", why="owned by project Oxy, not in the definition")
    callback.v2_runner_on_ok(
        _Result(
            dict(
                changed=False,
                orphans=[orphan],
                plan_resources=[
                    dict(
                        kind="database cluster",
                        name="db-oxy-2",
                        plan_action="replace",
                        plan_from="db-oxy",
                        plan_note="new empty cluster; db-oxy keeps the data",
                    )
                ],
            )
        )
    )
    # The cluster's own task plans a create of the new name: still one entry, a replacement.
    callback.v2_runner_on_ok(
        _Result(dict(result(True, {}, {"name": "db-oxy-2"}), resource={"kind": "database cluster", "name": "db-oxy-2"}))
    )
    callback.v2_runner_on_ok(
        _Result(
            dict(
                result(True, {"name": "old", "size": "s"}, {"name": "new", "size": "s"}),
                resource={"kind": "Droplet", "name": "new"},
                plan_action="rename",
                plan_from="old",
                plan_note="in place: id 7 keeps its addresses, disk and firewalls",
            )
        )
    )
    callback.v2_runner_on_ok(
        _Result(
            dict(
                result(True, {"version": "7"}, {"version": "8"}),
                resource={"kind": "database cluster", "name": "db-x"},
                plan_action="upgrade",
                plan_note="a major version upgrade cannot be undone",
            )
        )
    )
    callback.v2_playbook_on_stats(None)
    text = callback.shown[-1]
    assert (
        "  -/+ replace   database cluster db-oxy -> db-oxy-2\n        (new empty cluster; db-oxy keeps the data)"
        in text
    )
    assert "  >   rename    Droplet old -> new\n        (in place: id 7 keeps" in text
    assert '        name: "old" -> "new"' in text
    assert "  ^   upgrade   database cluster db-x\n        (a major version upgrade cannot be undone)" in text
    assert '        version: "7" -> "8"' in text
    assert "  ! orphan droplet oxy-api-backend (id 123): owned by project Oxy, not in the definition" in text
    assert (
        "Plan: 0 to create, 0 to update, 0 to delete, 1 to replace, 1 to rename, 1 to upgrade, 1 orphan, 0 unchanged"
        in text
    )
    report = json.loads(callback.report_path.read_text())
    assert report["changes_pending"] and report["final"]
    assert report["totals"] == dict(create=0, update=0, delete=0, replace=1, rename=1, upgrade=1, orphan=1, unchanged=0)
    assert report["orphans"] == [dict(orphan, host="localhost")]
    (cluster,) = [r for r in report["resources"] if r["name"] == "db-oxy-2"]
    assert cluster["note"] == "new empty cluster; db-oxy keeps the data" and cluster["from"] == "db-oxy"


def test_orphans_alone_are_changes_pending(callback):
    orphan = dict(kind="app", name="old-app", id="a9", why="owned by project Oxy, not in the definition")
    callback.v2_runner_on_ok(_Result(dict(changed=False, orphans=[orphan])))
    callback.v2_runner_on_ok(
        _Result(dict(result(False, {"name": "x"}, {"name": "x"}), resource={"kind": "VPC", "name": "x"}))
    )
    callback.v2_playbook_on_stats(None)
    assert "Plan: 0 to create, 0 to update, 0 to delete, 1 orphan, 1 unchanged" in callback.shown[-1]
    report = json.loads(callback.report_path.read_text())
    assert report["changes_pending"] and report["totals"]["orphan"] == 1 and report["totals"]["unchanged"] == 1


def test_a_clean_plan_has_no_orphans_and_nothing_pending(callback):
    callback.v2_runner_on_ok(_Result(dict(changed=False, orphans=[], plan_resources=[])))
    callback.v2_runner_on_ok(
        _Result(dict(result(False, {"name": "x"}, {"name": "x"}), resource={"kind": "VPC", "name": "x"}))
    )
    callback.v2_playbook_on_stats(None)
    assert "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged" in callback.shown[-1]
    report = json.loads(callback.report_path.read_text())
    assert not report["changes_pending"] and report["orphans"] == [] and report["totals"]["orphan"] == 0
