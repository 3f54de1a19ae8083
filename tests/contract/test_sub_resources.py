"""Database and droplet sub-resources other clients read: maintenance windows, backups, SQL modes,
online migrations; a droplet's snapshots, backups, kernels and neighbors."""

from __future__ import annotations

import pytest

from tests.contract.test_databases import MONGO, VALKEY
from tests.contract.test_vpcs_droplets import DROPLET, error_of

MYSQL = {**MONGO, "name": "db-mysql", "engine": "mysql", "version": "8"}
MONGO_ID = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"  # no such cluster


def _cluster(do, body: dict) -> dict:
    return do.databases.create_cluster(body)["database"]


def test_maintenance_window_is_set_and_shown(do):
    db = _cluster(do, MONGO)
    assert do.databases.update_maintenance_window(db["id"], {"day": "sunday", "hour": "14:00"}) is None
    window = do.databases.get_cluster(db["id"])["database"]["maintenance_window"]
    assert (window["day"], window["hour"]) == ("sunday", "14:00:00")
    status, err = error_of(lambda: do.databases.update_maintenance_window(db["id"], {"day": "someday", "hour": "1"}))
    assert status == 422 and "day" in err["message"]
    assert do.databases.update_maintenance_window(MONGO_ID, {"day": "sunday", "hour": "14:00"})["id"] == "not_found"


def test_backups_list_with_the_schedule(do):
    db = _cluster(do, MONGO)
    backups = do.databases.list_backups(db["id"])
    [first] = backups["backups"]  # the first daily backup is taken at creation
    assert first["created_at"] == db["created_at"] and first["size_gigabytes"] > 0
    schedule = backups["scheduled_backup_time"]
    assert schedule["backup_interval_hours"] == 24 and 0 <= schedule["backup_hour"] < 24
    valkey = _cluster(do, VALKEY)
    status, err = error_of(lambda: do.databases.list_backups(valkey["id"]))
    assert status == 422 and "Valkey" in err["message"]
    assert do.databases.list_backups(MONGO_ID)["id"] == "not_found"


def test_sql_mode_of_a_mysql_cluster(do):
    db = _cluster(do, MYSQL)
    assert "STRICT_ALL_TABLES" in do.databases.get_sql_mode(db["id"])["sql_mode"]
    assert do.databases.update_sql_mode(db["id"], {"sql_mode": "ANSI, traditional"}) is None
    assert do.databases.get_sql_mode(db["id"]) == {"sql_mode": "ANSI,TRADITIONAL"}
    assert do.databases.get_config(db["id"])["config"]["sql_mode"] == "ANSI,TRADITIONAL"
    status, err = error_of(lambda: do.databases.update_sql_mode(db["id"], {"sql_mode": "ANSI,LOOSE"}))
    assert status == 422 and "LOOSE" in err["message"]
    mongo = _cluster(do, MONGO)
    status, err = error_of(lambda: do.databases.get_sql_mode(mongo["id"]))
    assert status == 422 and "mysql" in err["message"]


def test_no_online_migration_is_running(do):
    db = _cluster(do, MONGO)
    assert do.databases.get_migration_status(db["id"]) == {}
    assert do.databases.get_migration_status(MONGO_ID)["id"] == "not_found"


@pytest.fixture
def droplet(do) -> dict:
    return do.droplets.create({**DROPLET, "name": "api-1"})["droplet"]


def test_droplet_snapshots_are_the_ones_its_actions_took(do, droplet):
    did = droplet["id"]
    assert do.droplets.list_snapshots(did) == {"snapshots": [], "links": {}, "meta": {"total": 0}}
    do.droplet_actions.post(did, {"type": "snapshot", "name": "before-upgrade"})
    do.droplet_actions.post(did, {"type": "snapshot"})
    snapshots = do.droplets.list_snapshots(did)["snapshots"]
    assert snapshots[0]["name"] == "before-upgrade"
    assert snapshots[1]["name"].startswith("api-1-")
    assert all(s["type"] == "snapshot" and s["regions"] == ["ams3"] for s in snapshots)
    assert [s["id"] for s in snapshots] == do.droplets.get(did)["droplet"]["snapshot_ids"]
    page = do.droplets.list_snapshots(did, per_page=1)
    assert page["meta"]["total"] == 2 and "next" in page["links"]["pages"]


def test_droplet_backups_kernels_and_neighbors(do, droplet):
    did = droplet["id"]
    do.droplet_actions.post(did, {"type": "enable_backups"})
    assert do.droplets.list_backups(did) == {"backups": [], "links": {}, "meta": {"total": 0}}
    assert do.droplets.list_kernels(did) == {"kernels": [], "links": {}, "meta": {"total": 0}}
    assert do.droplets.list_neighbors(did) == {"droplets": []}
    for call in (do.droplets.list_backups, do.droplets.list_kernels, do.droplets.list_neighbors):
        assert call(999)["id"] == "not_found"
