"""oxy.infra.owned_resources against the sandbox: what the project and the droplet's tags own, held against a
definition; reads only, and a replacement refused unless confirmed (in site.yml: tests/playbooks/test_identity.py)."""

from __future__ import annotations

DEFINITION = dict(
    project="Oxy",
    droplet=dict(name="api-2", tags=["oxy", "api"]),
    clusters=[dict(name="db-2", engine="valkey", path="oxy_valkey.name")],
    apps=[],
    domains=[],
    firewalls=["fw"],
)


def test_owned_resources_reads_only_and_refuses_an_unconfirmed_replacement(run_module, do, sandbox):
    droplet = do.droplets.create(
        {"name": "api", "region": "ams3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "tags": ["oxy", "api"]}
    )["droplet"]
    rule = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["198.51.100.1/32"]}}
    old_fw = do.firewalls.create({"name": "other-fw", "droplet_ids": [droplet["id"]], "inbound_rules": [rule]})
    cluster = do.databases.create_cluster(
        {"name": "db-1", "engine": "valkey", "version": "8", "size": "db-s-1vcpu-2gb", "num_nodes": 1, "region": "ams3"}
    )["database"]
    project = do.projects.create({"name": "Oxy", "purpose": "Service or API", "environment": "Production"})["project"]
    do.projects.assign_resources(project["id"], {"resources": [f"do:dbaas:{cluster['id']}"]})

    # Before any write, as site.yml starts: renames and replacements only, without the apps.
    early = run_module("owned_resources", check=True, orphans=False, **DEFINITION)
    assert early.writes == [] and not early["changed"]
    assert ("GET", "/v2/apps") not in early.calls
    assert early["droplet_rename"] == {"id": str(droplet["id"]), "old": "api", "new": "api-2"}
    # The one firewall attached to the environment's droplet, when none has the definition's name, is it renamed.
    assert early["firewall_rename"] == {"id": old_fw["firewall"]["id"], "old": "other-fw", "new": "fw"}
    assert early["plan_resources"] == [
        dict(
            kind="database cluster",
            name="db-2",
            plan_action="replace",
            plan_from="db-1",
            plan_note="new empty cluster; db-1 keeps the data",
        )
    ]
    assert early["orphans"] == []

    refused = run_module("owned_resources", expect_fail=True, **DEFINITION)
    assert refused.writes == [] and refused["refused"]
    assert refused["msg"].startswith("oxy_valkey.name: database cluster 'db-2' is not in the account")
    confirmed = run_module("owned_resources", confirm_replace=["db-1"], **DEFINITION)
    assert confirmed.writes == [] and confirmed["replacements"][0]["replaces"] == ["db-1"]
    assert confirmed["orphans"] == [] and confirmed["firewall_rename"]["old"] == "other-fw"

    # Two firewalls attached under other names: which one was renamed is ambiguous, refused naming both.
    spare = do.firewalls.create({"name": "spare-fw", "droplet_ids": [droplet["id"]], "inbound_rules": [rule]})
    ambiguous = run_module("owned_resources", expect_fail=True, check=True, orphans=False, **DEFINITION)
    assert ambiguous.writes == []
    assert ambiguous["msg"].startswith("oxy_droplet_firewall.name: no cloud firewall is named 'fw' and 2 others")
    assert f"other-fw (id {old_fw['firewall']['id']})" in ambiguous["msg"]
    assert f"spare-fw (id {spare['firewall']['id']})" in ambiguous["msg"]
    do.firewalls.delete(spare["firewall"]["id"])

    # Once a firewall has the definition's name, no rename: another one on the owned droplet is an orphan.
    do.firewalls.create({"name": "fw", "droplet_ids": [droplet["id"]], "inbound_rules": [rule]})
    confirmed = run_module("owned_resources", confirm_replace=["db-1"], **DEFINITION)
    assert confirmed["firewall_rename"] == {}
    assert [(o["kind"], o["name"]) for o in confirmed["orphans"]] == [("cloud firewall", "other-fw")]
    assert "attached to the environment's Droplet api" in confirmed["orphans"][0]["why"]

    # Every name of the definition in the account: nothing can be a rename or a replacement, so the step before
    # any write does not read the project (a no-change run's pre-flight); listing the orphans does.
    named = dict(
        DEFINITION, droplet=dict(DEFINITION["droplet"], name="api"), clusters=[dict(name="db-1", engine="valkey")]
    )
    early = run_module("owned_resources", check=True, orphans=False, **named)
    assert early.writes == [] and ("GET", "/v2/projects") not in early.calls, early.calls
    assert early["droplet_rename"] == {} and early["firewall_rename"] == {} and early["replacements"] == []
    late = run_module("owned_resources", check=True, **named)
    assert ("GET", "/v2/projects") in late.calls
    assert [(o["kind"], o["name"]) for o in late["orphans"]] == [("cloud firewall", "other-fw")]

    # A teardown matches no renames: the droplet and the cluster are orphans too.
    teardown = run_module("owned_resources", match_renames=False, **DEFINITION)
    assert sorted((o["kind"], o["name"]) for o in teardown["orphans"]) == [
        ("cloud firewall", "other-fw"),
        ("database cluster", "db-1"),
        ("droplet", "api"),
    ]


def test_monitoring_orphans_are_found_through_what_they_watch(run_module, do, sandbox):
    cluster = do.databases.create_cluster(
        {"name": "db-1", "engine": "valkey", "version": "8", "size": "db-s-1vcpu-2gb", "num_nodes": 1, "region": "ams3"}
    )["database"]
    do.domains.create({"name": "oxy.so"})
    project = do.projects.create({"name": "Oxy", "purpose": "Service or API", "environment": "Production"})["project"]
    do.projects.assign_resources(project["id"], {"resources": [f"do:dbaas:{cluster['id']}", "do:domain:oxy.so"]})
    check = {"type": "https", "regions": ["us_east"], "enabled": True}
    for name in ("api.oxy.so", "old.oxy.so", "status.example"):
        do.uptime.create_check(dict(check, name=name, target=f"https://{name}"))
    policy = {"type": "v1/dbaas/alerts/cpu_alerts", "compare": "GreaterThan", "value": 80, "window": "5m", "tags": []}
    policy.update(alerts={"email": ["ops@oxy.so"], "slack": []}, enabled=True)
    for description in ("db-1 cpu_alerts", "db-0 cpu_alerts"):
        do.monitoring.create_alert_policy(dict(policy, description=description, entities=[cluster["id"]]))
    definition = dict(DEFINITION, droplet=dict(name="api", tags=["oxy", "api"]), clusters=[])
    definition.update(clusters=[dict(name="db-1", engine="valkey")], domains=["oxy.so"])

    # Without the definition's monitoring, monitoring is not read.
    plain = run_module("owned_resources", check=True, **definition)
    assert ("GET", "/v2/uptime/checks") not in plain.calls and plain["orphans"] == []
    # The check of a host the definition dropped and the policy of a cluster it replaced are orphans; the check of
    # someone else's host is not the environment's.
    monitoring = {"uptime_checks": ["api.oxy.so"], "alert_policies": ["db-1 cpu_alerts"]}
    found = run_module("owned_resources", check=True, monitoring=monitoring, **definition)
    assert found.writes == []
    assert [(o["kind"], o["name"], o["why"]) for o in found["orphans"]] == [
        ("uptime check", "old.oxy.so", "watches old.oxy.so, not in the definition"),
        ("alert policy", "db-0 cpu_alerts", "watches db-1, not in the definition"),
    ]
