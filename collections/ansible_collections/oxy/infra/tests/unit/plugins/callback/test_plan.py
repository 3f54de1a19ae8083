"""The oxy.infra.plan callback's reading of module results: create, update with fields, delete, merged per resource."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.callback.plan import (
    CREATE,
    DELETE,
    NO_CHANGE,
    REPLACE,
    UPDATE,
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
