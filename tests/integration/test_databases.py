"""oxy.infra.database_cluster and oxy.infra.database_firewall against the sandbox."""

from __future__ import annotations

MONGO = dict(
    name="db-oxy",
    engine="mongodb",
    version="8.0",
    size="db-s-1vcpu-1gb",
    num_nodes=1,
    region="ams3",
    vpc="default-ams3",
    tags=["oxy"],
)


def test_cluster_full_cycle(run_module, do, sandbox):
    vpc = run_module("vpc", name="default-ams3", region="ams3")["vpc"]
    sandbox.configure(database_delay=1.0)
    plan = run_module("database_cluster", check=True, **MONGO)
    assert plan["changed"] is True and plan.writes == []
    created = run_module("database_cluster", **MONGO)
    assert created.writes == [("POST", "/v2/databases")]
    db = created["database"]
    assert (db["status"], db["private_network_uuid"]) == ("online", vpc["id"])
    assert db["connection"]["password"] == "********"
    assert ":********@" in db["connection"]["uri"]
    real_password = do.databases.get_cluster(db["id"])["database"]["connection"]["password"]
    assert real_password not in created["_stdout"]

    again = run_module("database_cluster", **MONGO)
    assert (again["changed"], again.writes) == (False, [])

    sandbox.configure(database_delay=0.5)
    resized = run_module(
        "database_cluster", **{**MONGO, "size": "db-s-2vcpu-4gb", "num_nodes": 3, "tags": ["oxy", "prod"]}
    )
    assert resized["changed"] is True
    assert ("PUT", "/v2/databases/{uuid}/resize") in resized.writes
    assert (resized["database"]["size"], resized["database"]["status"]) == ("db-s-2vcpu-4gb", "online")
    assert sorted(do.databases.get_cluster(db["id"])["database"]["tags"]) == ["oxy", "prod"]

    drift = run_module("database_cluster", check=True, **MONGO)
    assert drift["changed"] is True and drift["diff"]["before"]["num_nodes"] == 3 and drift.writes == []

    gone = run_module("database_cluster", name="db-oxy", engine="mongodb", state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/databases/{uuid}")]
    assert (
        run_module("database_cluster", name="db-oxy", engine="mongodb", state="absent", allow_delete=True)["changed"]
        is False
    )


def test_cluster_bad_input_fails_before_writes(run_module):
    cases = [
        ({**MONGO, "version": "5.0"}, "version"),
        ({**MONGO, "num_nodes": 2}, "num_nodes"),
        ({**MONGO, "size": "db-s-99"}, "size"),
        ({**MONGO, "vpc": None, "region": "mars1"}, "region"),
        ({"name": "db-x", "engine": "valkey"}, "required to create"),
    ]
    for args, fragment in cases:
        failed = run_module("database_cluster", expect_fail=True, **args)
        assert fragment in failed["msg"], failed["msg"]
        assert failed.writes == []


def test_wait_false_then_wait(run_module, sandbox):
    sandbox.configure(database_delay=1.0)
    valkey = dict(
        name="db-valkey-ams3-04785", engine="valkey", version="8", size="db-s-1vcpu-1gb", num_nodes=1, region="ams3"
    )
    started = run_module("database_cluster", wait=False, **valkey)
    assert started["database"]["status"] == "creating"
    done = run_module("database_cluster", **valkey)
    assert (done["changed"], done["database"]["status"]) == (False, "online")


def test_trusted_sources(run_module, do):
    droplet = do.droplets.create(
        {"name": "oxy-api-backend", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
    )["droplet"]
    apps = [do.apps.create({"spec": {"name": n, "region": "ams"}})["app"] for n in ("oxy-api", "alia-production")]
    db = do.databases.create_cluster(
        {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
    )["database"]
    args = dict(cluster="db-oxy", droplets=["oxy-api-backend"], apps=["oxy-api", "alia-production"])
    plan = run_module("database_firewall", check=True, **args)
    assert plan["changed"] is True and plan.writes == []
    applied = run_module("database_firewall", **args)
    assert applied.writes == [("PUT", "/v2/databases/{uuid}/firewall")]
    got = {(r["type"], r["value"]) for r in do.databases.list_firewall_rules(db["id"])["rules"]}
    assert got == {("droplet", str(droplet["id"])), ("app", apps[0]["id"]), ("app", apps[1]["id"])}
    again = run_module("database_firewall", **{**args, "apps": ["alia-production", "oxy-api"]})
    assert (again["changed"], again.writes) == (False, [])
    by_id = run_module(
        "database_firewall",
        cluster="db-oxy",
        droplets=["oxy-api-backend"],
        rules=[{"type": "app", "value": a["id"]} for a in apps],
    )
    assert by_id["changed"] is False
    do.databases.update_firewall_rules(db["id"], {"rules": [{"type": "ip_addr", "value": "0.0.0.0/0"}]})
    drift = run_module("database_firewall", check=True, **args)
    assert drift["changed"] is True and drift.writes == []
    assert drift["diff"]["before"]["rules"] == ["ip_addr:0.0.0.0/0"]
    assert len(drift["diff"]["after"]["rules"]) == 3
    assert run_module("database_firewall", **args)["changed"] is True
    fewer = run_module("database_firewall", cluster="db-oxy", droplets=["oxy-api-backend"])
    assert fewer["changed"] is True
    assert fewer["diff"]["after"]["rules"] == [f"droplet:{droplet['id']}"]
    ghost = run_module("database_firewall", cluster="db-oxy", apps=["ghost"], expect_fail=True)
    assert "no app named 'ghost'" in ghost["msg"] and ghost.writes == []
    v6 = run_module("database_firewall", cluster="db-oxy", ip_addresses=["2001:db8::/64"], expect_fail=True)
    assert "IPv4" in v6["msg"] and v6.writes == []


def test_a_cluster_restored_in_another_region_while_the_source_region_is_down(run_module, do, sandbox):
    """The failover's restore: the source's backups cannot be listed (503), so its latest one is restored."""
    run_module("vpc", name="default-ams3", region="ams3")
    run_module("vpc", name="default-fra1", region="fra1")
    source = run_module("database_cluster", **MONGO)["database"]
    do.databases.add(source["id"], {"name": "oxy-prod"})
    do.databases.add_user(source["id"], {"name": "oxy"})
    sandbox.control("POST", f"databases/{source['id']}/backup")
    sandbox.faults(regions_down=["ams3"])
    args = dict(
        MONGO, name="db-oxy-fra1", region="fra1", vpc="default-fra1", backup_restore={"database_name": "db-oxy"}
    )

    plan = run_module("database_cluster", check=True, retries=0, **args)
    assert plan["changed"] is True and plan.writes == []
    assert "db-oxy's backups cannot be read" in plan["plan_note"]
    assert plan["restored_from"] == {"database_name": "db-oxy"}
    created = run_module("database_cluster", retries=0, **args)
    assert created.writes == [("POST", "/v2/databases")]
    restored = do.databases.get_cluster(created["database"]["id"])["database"]
    assert restored["region"] == "fra1" and "oxy-prod" in restored["db_names"]
    assert "oxy" in {u["name"] for u in restored["users"]}
    # A time asked for cannot be checked against backups that cannot be read: refused, nothing written.
    timed = dict(
        args,
        name="db-oxy-fra1-2",
        backup_restore={"database_name": "db-oxy", "backup_created_at": "2026-12-01T09:30:00Z"},
    )
    refused = run_module("database_cluster", retries=0, expect_fail=True, **timed)
    assert refused.writes == [] and "ams3" in refused["msg"]
    again = run_module("database_cluster", retries=0, **args)
    assert (again["changed"], again.writes) == (False, [])
    sandbox.control("DELETE", "faults")
