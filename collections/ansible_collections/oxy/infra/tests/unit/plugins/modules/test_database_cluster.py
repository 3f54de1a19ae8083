"""oxy.infra.database_cluster in process against a scripted API: a confirmed upgrade together with a resize."""

from __future__ import annotations

import functools

import pytest
from ansible_collections.oxy.infra.plugins.modules import database_cluster as cluster_module

CLUSTER = {
    "id": "c-1",
    "name": "db-oxy",
    "engine": "mongodb",
    "version": "7.0",
    "size": "db-s-1vcpu-2gb",
    "num_nodes": 3,
    "region": "ams3",
    "status": "online",
    "private_network_uuid": "v-1",
    "tags": [],
}
OPTIONS = {
    "options": {
        "mongodb": {
            "versions": ["8.0", "7.0"],
            "regions": ["ams3"],
            "layouts": [{"num_nodes": 3, "sizes": ["db-s-1vcpu-2gb", "db-s-2vcpu-4gb"]}],
        }
    }
}


@pytest.fixture
def run(run_main):
    return functools.partial(run_main, cluster_module, wait=False)


def test_the_upgrade_goes_before_a_resize(api_server, run):
    """A resize leaves the cluster resizing and DigitalOcean upgrades online clusters only: upgrade first."""
    api_server.reply(200, {"databases": [CLUSTER]})
    api_server.reply(200, OPTIONS)
    api_server.reply(204, None)
    api_server.reply(202, None)
    resizing = dict(CLUSTER, version="8.0", size="db-s-2vcpu-4gb", status="resizing")
    api_server.reply(200, {"database": resizing}, times=2)  # read after the writes, and the (no-)wait's look
    code, out = run(
        name="db-oxy", engine="mongodb", version="8.0", size="db-s-2vcpu-4gb",
        confirm_major_upgrade="db-oxy",
    )  # fmt: skip
    assert code == 0 and out["changed"] is True, out
    assert (out["plan_action"], out["plan_note"]) == (
        "upgrade",
        "major upgrade of MongoDB 7.0 -> 8.0, irreversible; confirmed",
    )
    writes = [(method, path, body) for method, path, body, _headers in api_server.requests if method != "GET"]
    assert writes == [
        ("PUT", "/v2/databases/c-1/upgrade", {"version": "8.0"}),
        ("PUT", "/v2/databases/c-1/resize", {"size": "db-s-2vcpu-4gb", "num_nodes": 3}),
    ]


@pytest.mark.parametrize(
    ("running", "wanted", "older"),
    [("7.0", "6.0", True), ("8.0", "7.0", True), ("10.0", "9.0", True), ("9.0", "10.0", False)],
)
def test_versions_compare_as_numbers(running, wanted, older):
    assert (cluster_module._version(wanted) < cluster_module._version(running)) is older


RESTORE = dict(
    name="db-oxy-restore-20261201093000",
    engine="mongodb",
    version="8.0",
    size="db-s-1vcpu-2gb",
    num_nodes=3,
    region="ams3",
)
BACKUPS = {
    "backups": [
        {"created_at": "2026-11-30T02:00:00Z", "size_gigabytes": 0.05},
        {"created_at": "2026-12-01T02:00:00Z", "size_gigabytes": 0.05},
    ]
}


def writes_of(api_server):
    return [(method, path, body) for method, path, body, _headers in api_server.requests if method != "GET"]


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("2026-12-01T09:30:00Z", "2026-12-01T09:30:00Z"),
        ("2026-12-01T10:30:00+01:00", "2026-12-01T09:30:00Z"),  # any zone, sent as UTC
        ("2026-12-01T09:30:00", "2026-12-01T09:30:00Z"),  # no zone: UTC
        (None, "2026-12-01T02:00:00Z"),  # the latest backup
    ],
)
def test_a_restore_creates_the_cluster_from_the_backup_asked(api_server, run, asked, sent):
    api_server.reply(200, {"databases": [CLUSTER]})
    api_server.reply(200, OPTIONS)
    api_server.reply(200, BACKUPS)
    forking = dict(CLUSTER, id="c-2", name=RESTORE["name"], version="8.0", status="forking")
    api_server.reply(201, {"database": forking})
    api_server.reply(200, {"database": forking})  # the (no-)wait's look
    restore = dict(database_name="db-oxy", backup_created_at=asked)
    code, out = run(backup_restore=restore, **RESTORE)
    assert code == 0 and out["changed"] is True, out
    assert out["restored_from"] == {"database_name": "db-oxy", "backup_created_at": sent}
    assert out["diff"]["after"]["backup_restore"] == out["restored_from"]
    ((method, path, body),) = writes_of(api_server)
    assert (method, path) == ("POST", "/v2/databases")
    assert body == dict(RESTORE, backup_restore={"database_name": "db-oxy", "backup_created_at": sent})
    assert ("GET", "/v2/databases/c-1/backups") in [(m, p) for m, p, _b, _h in api_server.requests]


@pytest.mark.parametrize(
    ("restore", "refusal"),
    [
        (
            {"database_name": "db-oxy", "backup_created_at": "2026-11-23T00:00:00Z"},
            "backup_restore.backup_created_at: 2026-11-23T00:00:00Z is before the oldest backup of 'db-oxy' still "
            "kept (2026-11-30T02:00:00Z; DigitalOcean keeps them seven days)",
        ),
        (
            {"database_name": "db-oxy", "backup_created_at": "2999-01-01T00:00:00Z"},
            "backup_restore.backup_created_at: 2999-01-01T00:00:00Z is in the future",
        ),
        (
            {"database_name": "db-oxy", "backup_created_at": "yesterday"},
            "backup_restore.backup_created_at: 'yesterday' is not an ISO 8601 date-time",
        ),
        (
            {"database_name": "db-gone"},
            "backup_restore.database_name: no database cluster named 'db-gone' to restore cluster "
            "'db-oxy-restore-20261201093000' from",
        ),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_restore_is_refused_before_any_write(api_server, run, restore, refusal, check_mode):
    api_server.reply(200, {"databases": [CLUSTER]})
    api_server.reply(200, OPTIONS)
    api_server.reply(200, BACKUPS)
    code, out = run(backup_restore=restore, _ansible_check_mode=check_mode, **RESTORE)
    assert code == 1 and refusal in out["msg"], out
    assert writes_of(api_server) == []


def test_a_cluster_of_that_name_is_adopted_never_restored_again(api_server, run):
    """A run killed after the create: the next one finds the cluster by name and creates nothing."""
    restored = dict(CLUSTER, id="c-2", name=RESTORE["name"], version="8.0", status="forking")
    api_server.reply(200, {"databases": [CLUSTER, restored]})
    api_server.reply(200, OPTIONS)
    api_server.reply(200, {"database": dict(restored, status="online")}, times=2)
    restore = dict(database_name="db-oxy", backup_created_at="2026-12-01T09:30:00Z")
    code, out = run(backup_restore=restore, **RESTORE)
    assert code == 0 and out["changed"] is False, out
    assert "restored_from" not in out and out["diff"]["before"] == out["diff"]["after"]
    assert writes_of(api_server) == []
    assert not [p for _m, p, _b, _h in api_server.requests if p.endswith("/backups")]
