"""oxy.infra.database_user, database_db and database_config against the sandbox."""

from __future__ import annotations

import json

import pytest

MONGO = {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
VALKEY = {
    "name": "db-valkey-ams3-04785",
    "engine": "valkey",
    "num_nodes": 1,
    "size": "db-s-1vcpu-1gb",
    "region": "ams3",
}


def warnings(result) -> str:
    """The module's warnings as one text (ansible-core reports them as strings or as structured events)."""
    return json.dumps(result.get("warnings") or [])


@pytest.fixture
def mongo(do):
    return do.databases.create_cluster(MONGO)["database"]


def test_mongo_user_full_cycle(run_module, sandbox, do, mongo):
    settings = {"databases": ["mention-production"], "role": "readWrite"}
    args = dict(cluster="db-oxy", name="mention", mongo_user_settings=settings)
    plan = run_module("database_user", check=True, **args)
    assert plan["changed"] is True and plan.writes == [] and "password" not in plan

    created = run_module("database_user", **args)
    assert created.writes == [("POST", "/v2/databases/{uuid}/users")]
    assert created["password"] and "password" not in created["user"]
    assert created["user"]["settings"]["mongo_user_settings"] == settings

    again = run_module("database_user", **args)
    assert (again["changed"], again.writes) == (False, [])
    assert again["password"] == created["password"] and "password" not in again["user"]
    assert not again.get("warnings")

    wider = dict(databases=["mention-production", "mention-dev"], role="readOnly")
    updated = run_module("database_user", **{**args, "mongo_user_settings": wider})
    assert updated.writes == [("PUT", "/v2/databases/{uuid}/users/{username}")]
    assert updated["password"] == created["password"] and not updated.get("warnings")
    assert "password" not in json.dumps(updated["diff"])
    got = do.databases.get_user(mongo["id"], "mention")["user"]["settings"]["mongo_user_settings"]
    assert (sorted(got["databases"]), got["role"]) == (["mention-dev", "mention-production"], "readOnly")

    rotated = run_module("database_user", rotate_password=True, **{**args, "mongo_user_settings": wider})
    assert rotated["changed"] is True and rotated["password"] != created["password"]
    assert rotated.writes == [("POST", "/v2/databases/{uuid}/users/{username}/reset_auth")]
    assert rotated["password"] == do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    assert rotated["password"] in sandbox.control("GET", "secrets")["secrets"]

    do.databases.update_user(mongo["id"], "mention", {"settings": {"mongo_user_settings": settings}})
    drift = run_module("database_user", check=True, **{**args, "mongo_user_settings": wider})
    assert drift["changed"] is True and drift["diff"]["before"]["mongo_user_settings"]["role"] == "readWrite"

    gone = run_module("database_user", cluster="db-oxy", name="mention", state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/databases/{uuid}/users/{username}")]
    assert (
        run_module("database_user", cluster="db-oxy", name="mention", state="absent", allow_delete=True)["changed"]
        is False
    )


def test_token_without_view_credentials_gets_no_password_and_a_warning(run_module, sandbox, do, mongo):
    settings = {"databases": ["mention-production"], "role": "readWrite"}
    args = dict(cluster="db-oxy", name="mention", mongo_user_settings=settings)
    full = run_module("database_user", **args)["password"]
    scoped = sandbox.mint("database:read", "database:create", "database:update", "database:delete")
    env = {"DIGITALOCEAN_TOKEN": scoped}

    same = run_module("database_user", env=env, **args)
    assert (same["changed"], same.writes) == (False, []) and "password" not in same
    assert "password" not in same["user"] and full not in same["_stdout"]
    assert "lacks the database:view_credentials scope" in warnings(same)

    wider = dict(databases=["mention-production", "mention-dev"], role="readOnly")
    updated = run_module("database_user", env=env, **{**args, "mongo_user_settings": wider})
    assert updated.writes == [("PUT", "/v2/databases/{uuid}/users/{username}")] and "password" not in updated
    assert "database:view_credentials" in warnings(updated)

    rotated = run_module("database_user", env=env, rotate_password=True, **{**args, "mongo_user_settings": wider})
    assert rotated.writes == [("POST", "/v2/databases/{uuid}/users/{username}/reset_auth")]
    assert "password" not in rotated and "database:view_credentials" in warnings(rotated)
    assert full not in rotated["_stdout"]

    # The sandbox still knows every password it issued; a full-access token sees the current one.
    current = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    assert current != full and current in sandbox.control("GET", "secrets")["secrets"]
    again = run_module("database_user", **{**args, "mongo_user_settings": wider})
    assert again["changed"] is False and again["password"] == current and not again.get("warnings")

    readonly = sandbox.mint("database:read")
    refused = run_module(
        "database_user", env={"DIGITALOCEAN_TOKEN": readonly}, expect_fail=True, cluster="db-oxy", name="other"
    )
    assert "database:create" in refused["msg"]
    assert refused.writes == [("POST", f"/v2/databases/{mongo['id']}/users")]  # refused before routing


def test_user_refusals_happen_before_writes(run_module, do, mongo):
    do.databases.create_cluster(VALKEY)
    valkey = run_module("database_user", cluster="db-valkey-ams3-04785", name="app", expect_fail=True)
    assert "runs valkey" in valkey["msg"] and valkey.writes == []
    primary = run_module(
        "database_user", cluster="db-oxy", name="doadmin", state="absent", allow_delete=True, expect_fail=True
    )
    assert "primary user" in primary["msg"] and primary.writes == []
    ghost = run_module("database_user", cluster="nowhere", name="app", expect_fail=True)
    assert "no database cluster named 'nowhere'" in ghost["msg"]
    bad_role = run_module(
        "database_user",
        cluster="db-oxy",
        name="app",
        expect_fail=True,
        mongo_user_settings={"databases": ["x"], "role": "root"},
    )
    assert "role" in bad_role["msg"] and bad_role.calls == []


def test_logical_databases(run_module, do, mongo):
    plan = run_module("database_db", check=True, cluster="db-oxy", name="oxy-prod")
    assert plan["changed"] is True and plan.writes == []
    created = run_module("database_db", cluster="db-oxy", name="oxy-prod")
    assert created.writes == [("POST", "/v2/databases/{uuid}/dbs")]
    assert run_module("database_db", cluster="db-oxy", name="oxy-prod")["changed"] is False
    assert "oxy-prod" in do.databases.get_cluster(mongo["id"])["database"]["db_names"]
    gone = run_module("database_db", cluster="db-oxy", name="oxy-prod", state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/databases/{uuid}/dbs/{name}")]
    assert (
        run_module("database_db", cluster="db-oxy", name="oxy-prod", state="absent", allow_delete=True)["changed"]
        is False
    )
    do.databases.create_cluster(VALKEY)
    refused = run_module("database_db", cluster="db-valkey-ams3-04785", name="x", expect_fail=True)
    assert "runs valkey" in refused["msg"] and refused.writes == []


def test_valkey_config(run_module, do):
    valkey = do.databases.create_cluster(VALKEY)["database"]
    args = dict(
        cluster="db-valkey-ams3-04785",
        eviction_policy="volatile_lru",
        config={"valkey_notify_keyspace_events": "Ex", "valkey_timeout": 300},
    )
    plan = run_module("database_config", check=True, **args)
    assert plan["changed"] is True and plan.writes == []
    assert plan["diff"]["before"]["eviction_policy"] == "noeviction"
    applied = run_module("database_config", **args)
    assert applied.writes == [("PATCH", "/v2/databases/{uuid}/config"), ("PUT", "/v2/databases/{uuid}/eviction_policy")]
    assert applied["eviction_policy"] == "volatile_lru"
    assert applied["config"]["valkey_notify_keyspace_events"] == "Ex"
    again = run_module("database_config", **args)
    assert (again["changed"], again.writes) == (False, [])
    do.databases.patch_config(valkey["id"], {"config": {"valkey_timeout": 60}})
    drift = run_module("database_config", check=True, **args)
    assert drift["changed"] is True and drift["diff"]["before"]["valkey_timeout"] == 60
    unknown = run_module("database_config", cluster="db-valkey-ams3-04785", config={"maxmemory": 1}, expect_fail=True)
    assert "maxmemory" in unknown["msg"] and unknown.writes == []
    do.databases.create_cluster(MONGO)
    mongo = run_module("database_config", cluster="db-oxy", eviction_policy="allkeys_lru", expect_fail=True)
    assert "only Valkey and Redis" in mongo["msg"] and mongo.writes == []
