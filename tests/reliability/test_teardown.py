"""playbooks/teardown.yml against the sandbox: confirmed, guarded, only the environment's resources, idempotent.

The environment is brought up by playbooks/digitalocean.yml (the DigitalOcean part of site.yml, without
the plays that configure machines) where a test needs the real thing; where only its shape matters, the
same resources are created straight through pydo from the environment definition
(inventory/production/group_vars/all/oxy.yml), which is much faster.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.fixtures.playbooks import Run, ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
ENV = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
NAME = ENV["oxy_project"]["name"]
CLUSTERS = [ENV["oxy_mongodb"], ENV["oxy_valkey"]]
APPS = [a["name"] for a in ENV["oxy_apps"]]
ANYWHERE = ["0.0.0.0/0", "::/0"]


def run_playbook(sandbox, playbook: str, *extra: str) -> Run:
    return ansible_playbook(sandbox, playbook, *extra, timeout=600)


def teardown(sandbox, *extra: str) -> tuple[int, str, dict]:
    return run_playbook(sandbox, "playbooks/teardown.yml", *extra)


def confirmed(*extra: str) -> tuple[str, ...]:
    return ("-e", json.dumps({"oxy_teardown_confirm": NAME}), *extra)


def create_environment(do) -> dict:
    """The environment's resources, made straight through pydo from its definition."""
    vpc = do.vpcs.create({"name": ENV["oxy_vpc"]["name"], "region": ENV["oxy_region"]})["vpc"]
    spec = ENV["oxy_droplet"]
    for tag in spec["tags"]:
        do.tags.create({"name": tag})
    droplet = do.droplets.create(
        {
            "name": spec["name"],
            "size": spec["size"],
            "image": spec["image"],
            "region": ENV["oxy_region"],
            "vpc_uuid": vpc["id"],
            "tags": spec["tags"],
        }
    )["droplet"]
    do.firewalls.create(
        {
            "name": ENV["oxy_droplet_firewall"]["name"],
            "inbound_rules": [{"protocol": "tcp", "ports": "443", "sources": {"addresses": ANYWHERE}}],
            "outbound_rules": [{"protocol": "tcp", "ports": "all", "destinations": {"addresses": ANYWHERE}}],
            "droplet_ids": [droplet["id"]],
        }
    )
    urns = [f"do:droplet:{droplet['id']}"]
    for cluster in CLUSTERS:
        body = {k: cluster[k] for k in ("name", "engine", "version", "size", "num_nodes")}
        made = do.databases.create_cluster(dict(body, region=ENV["oxy_region"], private_network_uuid=vpc["id"]))
        urns.append(f"do:dbaas:{made['database']['id']}")
    for app in ENV["oxy_apps"]:
        urns.append(f"do:app:{create_app(do, app['name'], app['region'], vpc['id'] if app['in_vpc'] else None)['id']}")
    project = ENV["oxy_project"]
    made = do.projects.create({k: project[k] for k in ("name", "purpose", "environment", "description")})["project"]
    do.projects.assign_resources(made["id"], {"resources": urns})
    return dict(vpc=vpc, droplet=droplet, project=made)


def create_app(do, name: str, region: str, vpc_id: str | None = None) -> dict:
    spec = {
        "name": name,
        "region": region,
        "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": name, "tag": "1.0.0"}}],
    }
    body = {"spec": spec}
    if vpc_id:
        body["spec"]["vpc"] = {"id": vpc_id}
    return do.apps.create(body)["app"]


def bring_up(sandbox, do) -> dict:
    """The environment as site.yml's DigitalOcean plays make it; straight through pydo when they cannot run here."""
    rc, out, _stats = run_playbook(sandbox, "playbooks/digitalocean.yml")
    if rc != 0:
        print(
            "playbooks/digitalocean.yml did not converge here; creating the environment through pydo:\n" + out[-2000:]
        )
        sandbox.reset()
        return create_environment(do)
    vpc = next(v for v in do.vpcs.list()["vpcs"] if v["name"] == ENV["oxy_vpc"]["name"])
    droplet = next(d for d in do.droplets.list()["droplets"] if d["name"] == ENV["oxy_droplet"]["name"])
    project = next(p for p in do.projects.list()["projects"] if p["name"] == NAME)
    return dict(vpc=vpc, droplet=droplet, project=project)


def inventory(do) -> dict:
    """Names of everything in the account, by kind."""
    return dict(
        vpcs=sorted(v["name"] for v in do.vpcs.list()["vpcs"]),
        droplets=sorted(d["name"] for d in do.droplets.list()["droplets"]),
        firewalls=sorted(f["name"] for f in do.firewalls.list()["firewalls"]),
        clusters=sorted(c["name"] for c in do.databases.list_clusters()["databases"]),
        apps=sorted(a["spec"]["name"] for a in do.apps.list()["apps"]),
        projects=sorted(p["name"] for p in do.projects.list()["projects"]),
        checks=sorted(c["name"] for c in do.uptime.list_checks()["checks"]),
        policies=sorted(p["description"] for p in do.monitoring.list_alert_policy()["policies"]),
    )


def mark(sandbox) -> int:
    log = sandbox.log()
    return log[-1]["seq"] if log else 0


def test_refuses_before_any_write_without_the_environments_name(sandbox, do):
    create_environment(do)
    before = inventory(do)
    since = mark(sandbox)
    cases = [
        ((), "oxy_teardown_confirm is not set"),
        (("-e", "oxy_teardown_confirm=oxy"), 'oxy_teardown_confirm "oxy" is not this environment'),
        (("-e", "oxy_teardown_confirm=Production"), "is not this environment"),
        (("--check",), "oxy_teardown_confirm is not set"),
    ]
    for extra, says in cases:
        rc, out, stats = teardown(sandbox, *extra)
        assert rc != 0 and stats["failed"] == 1, out
        assert says in out and f"oxy_teardown_confirm={NAME}" in out, out
    assert sandbox.summary(since=since)["writes"] == 0
    assert inventory(do) == before


def test_protected_resources_refuse_the_whole_teardown_before_any_write(sandbox, do):
    env = create_environment(do)
    do.tags.create({"name": "protected"})
    ref = [{"resource_id": str(env["droplet"]["id"]), "resource_type": "droplet"}]
    do.tags.assign_resources("protected", {"resources": ref})
    before = inventory(do)
    since = mark(sandbox)
    rc, out, _stats = teardown(sandbox, *confirmed())
    assert rc != 0 and f"Tagged protected: {ENV['oxy_droplet']['name']}" in out, out

    assert sandbox.summary(since=since)["writes"] == 0

    do.tags.unassign_resources("protected", {"resources": ref})
    since = mark(sandbox)
    by_name = confirmed("-e", json.dumps({"oxy_protected_names": [CLUSTERS[0]["name"]]}))
    rc, out, _stats = teardown(sandbox, *by_name)
    assert rc != 0 and f"Listed in oxy_protected_names: {CLUSTERS[0]['name']}" in out, out
    # Deleted late in the run (after the apps, clusters and droplet), a protected DNS host or SSH key
    # still stops it before the first delete.
    for name in ("api.oxy.so", "oxy-ops"):
        rc, out, _stats = teardown(sandbox, *confirmed("-e", json.dumps({"oxy_protected_names": [name]})))
        assert rc != 0 and f"Listed in oxy_protected_names: {name}" in out, out
    assert sandbox.summary(since=since)["writes"] == 0
    assert inventory(do) == before


def test_removes_only_the_environment_and_then_changes_nothing(sandbox, do):
    env = bring_up(sandbox, do)
    # Someone else's resources in the same account, some of them in the environment's VPC and project.
    foreign = do.droplets.create(
        {"name": "someone-else", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
    )["droplet"]
    do.firewalls.create(
        {
            "name": "someone-else",
            "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["192.0.2.1/32"]}}],
            "droplet_ids": [foreign["id"]],
        }
    )
    do.databases.create_cluster(
        {
            "name": "db-someone-else",
            "engine": "valkey",
            "version": "8",
            "size": "db-s-1vcpu-1gb",
            "num_nodes": 1,
            "region": "ams3",
            "private_network_uuid": env["vpc"]["id"],
        }
    )
    other_app = create_app(do, "someone-else-app", "ams", env["vpc"]["id"])
    check = {"name": "status.example", "type": "https", "target": "https://status.example", "regions": ["us_east"]}
    do.uptime.create_check(dict(check, enabled=True))
    do.monitoring.create_alert_policy(
        {
            "type": "v1/insights/droplet/cpu",
            "description": "someone-else cpu",
            "compare": "GreaterThan",
            "value": 80,
            "window": "5m",
            "entities": [str(foreign["id"])],
            "tags": [],
            "alerts": {"email": ["ops@example.com"]},
            "enabled": True,
        }
    )
    do.projects.assign_resources(env["project"]["id"], {"resources": [f"do:app:{other_app['id']}"]})

    since = mark(sandbox)
    rc, out, stats = teardown(sandbox, *confirmed("--check", "--diff"))
    assert rc == 0, out
    assert stats["changed"] > 0
    assert sandbox.summary(since=since)["writes"] == 0, "the plan wrote to the API"

    rc, out, stats = teardown(sandbox, *confirmed())
    assert rc == 0, out
    # apps, uptime checks, alert policies, firewall, clusters, droplet, its DNS records, the SSH key (the VPC
    # is the region's default, the project holds a foreign app and the zone, which stays)
    assert stats["changed"] == 8, out
    left = inventory(do)
    assert NAME in left.pop("projects")
    assert left == dict(
        vpcs=[ENV["oxy_vpc"]["name"]],
        droplets=["someone-else"],
        firewalls=["someone-else"],
        clusters=["db-someone-else"],
        apps=["someone-else-app"],
        checks=["status.example"],
        policies=["someone-else cpu"],
    )
    said = " ".join(out.split())
    assert f"VPC {ENV['oxy_vpc']['name']} is left in place: it is the default VPC of ams3" in said, out
    assert f"Project {NAME} is left in place" in said and f"do:app:{other_app['id']}" in said, out
    deletes = {e["route"] for e in sandbox.log(since=since) if e["method"] == "DELETE"}
    assert deletes == {
        "/v2/apps/{app_id}",
        "/v2/uptime/checks/{check_id}",
        "/v2/monitoring/alerts/{alert_uuid}",
        "/v2/firewalls/{firewall_id}",
        "/v2/databases/{uuid}",
        "/v2/droplets/{droplet_id}",
        "/v2/domains/{name}/records/{record_id}",
        "/v2/account/keys/{ident}",
    }, deletes
    assert "The DNS zone oxy.so is left in place" in said, out

    since = mark(sandbox)
    rc, out, stats = teardown(sandbox, *confirmed())
    assert rc == 0 and stats["changed"] == 0, out
    assert sandbox.summary(since=since)["writes"] == 0


def inventory_projects(do) -> list[str]:
    return [p["name"] for p in do.projects.list()["projects"]]


def test_a_vpc_that_is_not_the_default_goes_last_once_it_is_empty(sandbox, do):
    do.vpcs.create({"name": "first-ams3", "region": "ams3"})  # the region's default from now on
    env = create_environment(do)
    assert env["vpc"]["default"] is False
    guest = do.droplets.create(
        {
            "name": "guest",
            "size": "s-1vcpu-1gb",
            "image": "debian-12-x64",
            "region": "ams3",
            "vpc_uuid": env["vpc"]["id"],
        }
    )["droplet"]

    rc, out, _stats = teardown(sandbox, *confirmed())
    assert rc == 0, out
    assert "it still holds resources outside this environment (droplet guest)" in " ".join(out.split()), out
    assert inventory(do)["vpcs"] == ["default-ams3", "first-ams3"]
    assert NAME not in inventory_projects(do)

    do.droplets.destroy(guest["id"])
    since = mark(sandbox)
    rc, out, stats = teardown(sandbox, *confirmed())
    assert rc == 0 and stats["changed"] == 1, out
    assert [(e["method"], e["route"]) for e in sandbox.log(since=since) if e["method"] != "GET"] == [
        ("DELETE", "/v2/vpcs/{vpc_id}")
    ]
    assert inventory(do)["vpcs"] == ["first-ams3"]
