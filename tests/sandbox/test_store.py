"""The store's one mutation API: reads are frozen, changes go through editing/patch/create/delete."""

from __future__ import annotations

import copy
import json

import pytest
from oxy_sandbox.store import Missing, Store, thaw


@pytest.fixture
def store(tmp_path):
    clock = [1000.0]
    s = Store(tmp_path / "state.db", clock=lambda: clock[0])
    s.test_clock = clock
    return s


def test_read_objects_refuse_changes(store):
    store.create("droplets", 1, {"id": 1, "tags": ["a"], "networks": {"v4": []}})
    droplet = store.get("droplets", 1)
    with pytest.raises(TypeError):
        droplet["name"] = "x"
    with pytest.raises(TypeError):
        droplet["tags"].append("b")
    with pytest.raises(TypeError):
        droplet["networks"]["v4"] += [{}]
    with pytest.raises(TypeError):
        store.all("droplets")[0].update(name="x")
    assert store.get("droplets", 1) == {"id": 1, "tags": ["a"], "networks": {"v4": []}}


def test_frozen_objects_compare_copy_and_serialise_as_plain_ones(store):
    obj = store.create("firewalls", "f", {"id": "f", "rules": [{"ports": "22"}]})
    assert obj["rules"] == [{"ports": "22"}] and {"ports": "22"} in obj["rules"]
    mutable = copy.deepcopy(obj)
    mutable["rules"].append({})  # a deep copy is a plain, mutable one
    assert type(thaw(obj)) is dict
    assert json.loads(json.dumps(obj)) == {"id": "f", "rules": [{"ports": "22"}]}


def test_editing_saves_on_exit_and_survives_a_restart(store, tmp_path):
    store.create("vpcs", "v", {"id": "v", "_next_host": 2})
    with store.editing("vpcs", "v") as vpc:
        vpc["_next_host"] += 1
    assert store.get("vpcs", "v")["_next_host"] == 3
    assert Store(tmp_path / "state.db").get("vpcs", "v")["_next_host"] == 3


def test_an_error_in_an_editing_block_changes_nothing(store):
    store.create("projects", "p", {"id": "p", "_resources": {}})
    with pytest.raises(ValueError), store.editing("projects", "p") as project:
        project["_resources"]["do:droplet:1"] = "now"
        raise ValueError("refused")
    assert store.get("projects", "p")["_resources"] == {}


def test_editing_a_missing_object_says_so(store):
    with pytest.raises(Missing), store.editing("droplets", 404):
        pass


def test_create_refuses_an_existing_id(store):
    store.create("tags", "a", {"name": "a"})
    with pytest.raises(KeyError):
        store.create("tags", "a", {"name": "a"})


def test_patch_and_delete(store):
    store.create("ssh_keys", 1, {"id": 1, "name": "old"})
    assert store.patch("ssh_keys", 1, name="new")["name"] == "new"
    assert store.delete("ssh_keys", 1)["name"] == "new"
    assert store.get("ssh_keys", 1) is None


def test_lifecycles_apply_on_read_and_on_tick(store):
    db = {"id": "d", "status": "creating"}
    store.schedule(db, 5, {"status": "online"})
    store.create("databases", "d", db)
    assert store.get("databases", "d")["status"] == "creating"
    store.test_clock[0] += 5
    store.tick()
    assert store._data["databases"]["d"]["status"] == "online"
    assert "_pending" not in store.get("databases", "d")


def test_schedule_on_a_read_object_is_refused(store):
    store.create("actions", 1, {"id": 1, "status": "in-progress"})
    with pytest.raises(TypeError):
        store.schedule(store.get("actions", 1), 0, {"status": "completed"})
    with store.editing("actions", 1) as action:
        store.schedule(action, 0, {"status": "completed"})
    assert store.get("actions", 1)["status"] == "completed"
