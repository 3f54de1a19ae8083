"""Managed databases (MongoDB, Valkey) through pydo."""

from __future__ import annotations

import base64
import time

import pytest

from tests.contract.test_vpcs_droplets import DROPLET, error_of

MONGO = {
    "name": "db-oxy",
    "engine": "mongodb",
    "version": "8.0",
    "num_nodes": 1,
    "size": "db-s-1vcpu-1gb",
    "region": "ams3",
}
VALKEY = {
    "name": "db-valkey-ams3-04785",
    "engine": "valkey",
    "version": "8",
    "num_nodes": 1,
    "size": "db-s-1vcpu-1gb",
    "region": "ams3",
}


def test_options_list_mongodb_8_and_valkey_8(do):
    options = do.databases.list_options()
    assert "8.0" in options["options"]["mongodb"]["versions"]
    assert options["options"]["valkey"]["versions"] == ["8"]
    assert sorted(layout["num_nodes"] for layout in options["options"]["mongodb"]["layouts"]) == [1, 3]
    defaults = [v["version"] for v in options["version_availability"]["mongodb"] if v["default"]]
    assert defaults == ["8.0"]


def test_mongodb_cluster_lifecycle_and_connection(do):
    vpc = do.vpcs.create({"name": "default-ams3", "region": "ams3"})["vpc"]
    db = do.databases.create_cluster({**MONGO, "private_network_uuid": vpc["id"], "tags": ["oxy"]})["database"]
    assert db["status"] == "creating"
    conn, private = db["connection"], db["private_connection"]
    assert conn["uri"].startswith("mongodb+srv://doadmin:")
    assert conn["uri"].endswith(f"/admin?tls=true&authSource=admin&replicaSet={MONGO['name']}")
    assert (conn["database"], conn["user"], conn["port"], conn["ssl"]) == ("admin", "doadmin", 27017, True)
    assert private["host"] == "private-" + conn["host"]
    assert db["private_network_uuid"] == vpc["id"]
    assert db["db_names"] == ["admin"]
    assert [u["name"] for u in db["users"]] == ["doadmin"]
    assert do.databases.get_cluster(db["id"])["database"]["status"] == "online"
    assert [d["name"] for d in do.databases.list_clusters(tag_name="oxy")["databases"]] == ["db-oxy"]
    assert do.databases.list_clusters(tag_name="nope")["databases"] == []
    do.databases.destroy_cluster(db["id"])
    assert do.databases.get_cluster(db["id"])["id"] == "not_found"


def test_valkey_cluster_connection_and_engine_settings(do):
    db = do.databases.create_cluster(VALKEY)["database"]
    conn = db["connection"]
    assert conn["uri"].startswith("rediss://default:") and conn["uri"].endswith(":25061")
    assert (conn["user"], conn["port"]) == ("default", 25061)
    assert do.databases.get_eviction_policy(db["id"])["eviction_policy"] == "noeviction"
    do.databases.update_eviction_policy(db["id"], {"eviction_policy": "allkeys_lru"})
    assert do.databases.get_eviction_policy(db["id"])["eviction_policy"] == "allkeys_lru"
    do.databases.patch_config(db["id"], {"config": {"valkey_timeout": 120, "valkey_notify_keyspace_events": "Ex"}})
    config = do.databases.get_config(db["id"])["config"]
    assert (config["valkey_timeout"], config["valkey_notify_keyspace_events"]) == (120, "Ex")
    assert config["valkey_maxmemory_policy"] == "allkeys_lru"
    status, err = error_of(lambda: do.databases.patch_config(db["id"], {"config": {"no_such_key": 1}}))
    assert status == 422 and "config.no_such_key" in err["message"]


def test_valkey_has_one_user_default_whose_password_is_the_clusters(sandbox, do):
    db = do.databases.create_cluster(VALKEY)["database"]
    password = db["connection"]["password"]
    assert db["users"] == [{"name": "default", "role": "primary", "password": password}]
    assert db["db_names"] is None
    assert do.databases.list_users(db["id"])["users"] == db["users"]
    assert do.databases.get_user(db["id"], "default")["user"] == db["users"][0]
    assert do.databases.get_user(db["id"], "app")["id"] == "not_found"
    assert password in sandbox.control("GET", "secrets")["secrets"]

    # A password reset of default rotates the cluster's password, as DigitalOcean's control panel does.
    rotated = do.databases.reset_auth(db["id"], "default", {})["user"]
    assert rotated["name"] == "default" and rotated["password"] not in ("", password)
    got = do.databases.get_cluster(db["id"])["database"]
    for conn in (got["connection"], got["private_connection"]):
        assert conn["password"] == rotated["password"]
        assert conn["uri"] == f"rediss://default:{rotated['password']}@{conn['host']}:25061"
    assert got["users"] == [{"name": "default", "role": "primary", "password": rotated["password"]}]
    assert rotated["password"] in sandbox.control("GET", "secrets")["secrets"]

    # Without database:view_credentials the user shows, its password does not.
    reader = sandbox.client(token=sandbox.mint("database:read", "database:create"))
    assert reader.databases.list_users(db["id"])["users"] == [{"name": "default", "role": "primary"}]
    assert reader.databases.get_user(db["id"], "default")["user"] == {"name": "default", "role": "primary"}
    assert reader.databases.get_cluster(db["id"])["database"]["users"] == [{"name": "default", "role": "primary"}]
    assert "password" not in reader.databases.reset_auth(db["id"], "default", {})["user"]


def test_other_users_and_dbs_are_refused_for_valkey(do):
    db = do.databases.create_cluster(VALKEY)["database"]
    for call in (
        lambda: do.databases.add_user(db["id"], {"name": "app"}),
        lambda: do.databases.delete_user(db["id"], "default"),
        lambda: do.databases.list(db["id"]),
        lambda: do.databases.add(db["id"], {"name": "x"}),
    ):
        status, err = error_of(call)
        assert status == 422 and err["message"] == "users and databases are not supported for valkey clusters"
    changed = do.databases.update_user(db["id"], "default", {"settings": {}})  # a declared 422: pydo returns it
    assert changed["message"] == "users and databases are not supported for valkey clusters"
    assert do.databases.reset_auth(db["id"], "app", {})["id"] == "not_found"
    assert [u["name"] for u in do.databases.list_users(db["id"])["users"]] == ["default"]


def test_database_lifecycle_takes_time_when_delayed(sandbox, do):
    sandbox.configure(database_delay=1.0)
    db = do.databases.create_cluster(MONGO)["database"]
    assert do.databases.get_cluster(db["id"])["database"]["status"] == "creating"
    time.sleep(1.1)
    assert do.databases.get_cluster(db["id"])["database"]["status"] == "online"
    do.databases.update_cluster_size(db["id"], {"size": "db-s-2vcpu-4gb", "num_nodes": 3})
    assert do.databases.get_cluster(db["id"])["database"]["status"] == "resizing"
    time.sleep(1.1)
    resized = do.databases.get_cluster(db["id"])["database"]
    assert (resized["status"], resized["size"], resized["num_nodes"]) == ("online", "db-s-2vcpu-4gb", 3)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "5.0"}, "version"),
        ({"engine": "cassandra"}, "engine"),
        ({"size": "db-s-99"}, "size"),
        ({"num_nodes": 2}, "num_nodes"),
        ({"region": "mars1"}, "region"),
        ({"name": "Bad_Name"}, "name"),
    ],
)
def test_cluster_bad_input_names_the_field(do, change, field):
    status, err = error_of(lambda: do.databases.create_cluster({**MONGO, **change}))
    assert status == 422
    assert field in err["message"]
    assert do.databases.list_clusters()["databases"] == []


def test_cluster_in_a_vpc_of_another_region_is_refused(do):
    nyc = do.vpcs.create({"name": "default-nyc3", "region": "nyc3"})["vpc"]
    status, err = error_of(lambda: do.databases.create_cluster({**MONGO, "private_network_uuid": nyc["id"]}))
    assert status == 422 and "private_network_uuid" in err["message"]


def test_trusted_sources_are_replaced_whole(do):
    droplet = do.droplets.create({"name": "oxy-api-backend", **DROPLET})["droplet"]
    app = do.apps.create({"spec": {"name": "mention-production", "region": "ams"}})["app"]
    db = do.databases.create_cluster(MONGO)["database"]
    rules = [
        {"type": "droplet", "value": str(droplet["id"])},
        {"type": "app", "value": app["id"]},
        {"type": "ip_addr", "value": "203.0.113.0/24"},
        {"type": "tag", "value": "backend"},
        {"type": "k8s", "value": "ff2a6c52-5a44-4b63-b99c-0e98e7a63d61"},
    ]
    do.databases.update_firewall_rules(db["id"], {"rules": rules})
    got = do.databases.list_firewall_rules(db["id"])["rules"]
    assert [(r["type"], r["value"]) for r in got] == [(r["type"], r["value"]) for r in rules]
    assert all(r["cluster_uuid"] == db["id"] and r["uuid"] and r["created_at"] for r in got)
    do.databases.update_firewall_rules(db["id"], {"rules": rules[:1]})
    kept = do.databases.list_firewall_rules(db["id"])["rules"]
    assert [r["uuid"] for r in kept] == [got[0]["uuid"]]  # an unchanged rule keeps its identity
    assert do.databases.get_cluster(db["id"])["database"]["rules"] == kept


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "droplet", "value": "424242"},
        {"type": "droplet", "value": "not-a-number"},
        {"type": "ip_addr", "value": "2001:db8::/64"},
        {"type": "planet", "value": "mars"},
    ],
)
def test_trusted_source_bad_input(do, rule):
    db = do.databases.create_cluster(MONGO)["database"]
    status, err = error_of(lambda: do.databases.update_firewall_rules(db["id"], {"rules": [rule]}))
    assert status == 422 and "rules" in err["message"]
    assert do.databases.list_firewall_rules(db["id"])["rules"] == []


def test_mongo_users_with_settings_and_password_rotation(do):
    db = do.databases.create_cluster(MONGO)["database"]
    settings = {"mongo_user_settings": {"databases": ["mention-prod"], "role": "readWrite"}}
    user = do.databases.add_user(db["id"], {"name": "mention", "settings": settings})["user"]
    assert user["password"] and user["role"] == "normal"
    assert user["settings"] == settings
    fetched = do.databases.get_user(db["id"], "mention")["user"]
    assert fetched["password"] == user["password"]  # a full-access token has database:view_credentials
    listed = {u["name"]: u for u in do.databases.list_users(db["id"])["users"]}
    assert set(listed) == {"doadmin", "mention"} and listed["mention"]["password"] == user["password"]
    new = {"mongo_user_settings": {"databases": ["mention-prod", "mention-dev"], "role": "readOnly"}}
    assert do.databases.update_user(db["id"], "mention", {"settings": new})["user"]["settings"] == new
    rotated = do.databases.reset_auth(db["id"], "mention", {})["user"]
    assert rotated["password"] and rotated["password"] != user["password"]
    status, err = error_of(lambda: do.databases.add_user(db["id"], {"name": "mention"}))
    assert status == 422 and "already exists" in err["message"]
    bad = {"mongo_user_settings": {"databases": ["x"], "role": "root"}}
    status, err = error_of(lambda: do.databases.add_user(db["id"], {"name": "evil", "settings": bad}))
    assert status == 422 and "settings.mongo_user_settings.role" in err["message"]
    do.databases.delete_user(db["id"], "mention")
    assert do.databases.get_user(db["id"], "mention")["id"] == "not_found"  # a declared 404: pydo returns it


def test_logical_databases(do):
    db = do.databases.create_cluster(MONGO)["database"]
    do.databases.add(db["id"], {"name": "oxy-prod"})
    assert do.databases.get(db["id"], "oxy-prod")["db"] == {"name": "oxy-prod"}
    assert [d["name"] for d in do.databases.list(db["id"])["dbs"]] == ["admin", "oxy-prod"]
    assert do.databases.get_cluster(db["id"])["database"]["db_names"] == ["admin", "oxy-prod"]
    do.databases.delete(db["id"], "oxy-prod")
    assert [d["name"] for d in do.databases.list(db["id"])["dbs"]] == ["admin"]


def test_ca_certificate(do):
    db = do.databases.create_cluster(MONGO)["database"]
    pem = base64.b64decode(do.databases.get_ca(db["id"])["ca"]["certificate"])
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
