"""site.yml's DigitalOcean side against the sandbox: plan, converge, converge again (faults and kills:
tests/reliability/test_faults_and_kills.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.fixtures.credentials import WITHOUT_VIEW_CREDENTIALS, assert_apps_have_their_credentials
from tests.fixtures.playbooks import Run, ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
SSH_CIDRS = ["198.51.100.1/32"]


def run_site(sandbox, *extra: str) -> Run:
    # The DigitalOcean side: these droplets have no machines (tests/playbooks/test_site_machines.py
    # runs site.yml whole), so the droplet's stack and the verification are skipped.
    return ansible_playbook(sandbox, "site.yml", "--skip-tags", "stack,verify", *extra)


def assert_seed_environment(do):
    """The sandbox holds exactly the seed's environment (INFRASTRUCTURE.md)."""
    vpcs = do.vpcs.list()["vpcs"]
    assert [v["name"] for v in vpcs] == ["default-ams3"]
    vpc = vpcs[0]
    droplets = do.droplets.list()["droplets"]
    assert [d["name"] for d in droplets] == ["oxy-api-backend"]
    droplet = droplets[0]
    assert (droplet["region"]["slug"], droplet["vpc_uuid"], droplet["status"]) == ("ams3", vpc["id"], "active")
    # Backups on, with the definition's policy (oxy_droplet.backups).
    definition = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
    backups = definition["oxy_droplet"]["backups"]
    assert "backups" in droplet["features"]
    policy = do.droplets.get_backup_policy(droplet["id"])["policy"]
    assert policy["backup_enabled"] is True
    assert {k: policy["backup_policy"].get(k) for k in ("plan", "weekday", "hour")} == {
        k: backups[k] for k in ("plan", "weekday", "hour")
    }

    firewalls = do.firewalls.list()["firewalls"]
    assert [f["name"] for f in firewalls] == ["oxy-api-backend"]
    inbound = {r["ports"]: r["sources"]["addresses"] for r in firewalls[0]["inbound_rules"]}
    assert sorted(inbound) == ["0", "22", "25", "443", "587", "80"]  # "0": ICMP, for the mail host's ping check
    assert sorted(inbound["22"]) == sorted(SSH_CIDRS)
    assert all(sorted(inbound[p]) == ["0.0.0.0/0", "::/0"] for p in ("80", "443", "25", "587"))
    assert firewalls[0]["droplet_ids"] == [droplet["id"]]

    clusters = {c["name"]: c for c in do.databases.list_clusters()["databases"]}
    assert sorted(clusters) == ["db-oxy", "db-valkey-ams3-04785"]
    assert (clusters["db-oxy"]["engine"], clusters["db-oxy"]["version"]) == ("mongodb", "8.0")
    assert (clusters["db-valkey-ams3-04785"]["engine"], clusters["db-valkey-ams3-04785"]["version"]) == ("valkey", "8")
    assert {c["private_network_uuid"] for c in clusters.values()} == {vpc["id"]}

    apps = {a["spec"]["name"]: a for a in do.apps.list()["apps"]}
    assert sorted(apps) == ["alia-production", "allo-app", "homiio-frontend-app", "mention-production", "oxy-api"]
    assert apps["allo-app"]["region"]["slug"] == "nyc" and "vpc" not in apps["allo-app"]
    assert all(a["vpc"]["id"] == vpc["id"] for n, a in apps.items() if n != "allo-app")

    trusted = {("droplet", str(droplet["id"]))} | {("app", a["id"]) for a in apps.values()}
    for cluster in clusters.values():
        rules = {(r["type"], r["value"]) for r in do.databases.list_firewall_rules(cluster["id"])["rules"]}
        assert rules == trusted, cluster["name"]

    mongo = clusters["db-oxy"]
    databases = {"oxy-prod", "mention-production", "homiio-production", "alia-production", "allo-production"}
    assert {d["name"] for d in do.databases.list(mongo["id"])["dbs"]} == databases | {"admin"}
    users = {u["name"]: u for u in do.databases.list_users(mongo["id"])["users"]}
    assert sorted(users) == ["alia", "allo", "doadmin", "homiio", "mention", "oxy"]
    assert users["mention"]["settings"]["mongo_user_settings"] == {
        "databases": ["mention-production"],
        "role": "readWrite",
    }
    assert users["oxy"]["settings"]["mongo_user_settings"]["databases"] == ["oxy-prod"]
    valkey = clusters["db-valkey-ams3-04785"]
    assert do.databases.get_eviction_policy(valkey["id"])["eviction_policy"] == "volatile_lru"
    db_name = {a["spec"]["name"]: {e["key"]: e["value"] for e in a["spec"]["envs"]}["DB_NAME"] for a in apps.values()}
    assert db_name["oxy-api"] == "oxy-prod" and db_name["allo-app"] == "allo-production"

    project = next(p for p in do.projects.list()["projects"] if p["name"] == "Oxy")
    urns = {r["urn"] for r in do.projects.list_resources(project["id"])["resources"]}
    assert urns == (
        {f"do:droplet:{droplet['id']}"}
        | {f"do:dbaas:{c['id']}" for c in clusters.values()}
        | {f"do:app:{a['id']}" for a in apps.values()}
        | {"do:domain:oxy.so"}
    )


@pytest.mark.slow
def test_site_plans_converges_and_then_changes_nothing(sandbox, do):
    assert os.readlink(ROOT / "inventory/sandbox/group_vars/all/oxy.yml").endswith("production/group_vars/all/oxy.yml")
    rc, out, stats = run_site(sandbox, "--check", "--diff")
    assert rc == 0, out
    assert stats["changed"] > 0
    assert sandbox.summary()["writes"] == 0, "check mode wrote to the API"

    rc, out, stats = run_site(sandbox)
    assert rc == 0, out
    # vpc, SSH key, droplet, registry, clusters, valkey settings, databases, users, apps, cloud firewall,
    # trusted sources, DNS zone, DNS records, project, uptime checks, alert policies
    assert stats["changed"] == 16, out
    assert_seed_environment(do)
    assert_apps_have_their_credentials(do)
    deployments = {
        a["spec"]["name"]: len(do.apps.list_deployments(a["id"])["deployments"]) for a in do.apps.list()["apps"]
    }
    assert set(deployments.values()) == {1}, f"each app deploys once, with its credentials: {deployments}"
    secrets = sandbox.control("GET", "secrets")["secrets"]
    assert len(secrets) == 7  # two admin passwords, five app users
    assert not [s for s in secrets if s in out], "a password reached the playbook's output"

    mark = sandbox.log()[-1]["seq"]
    rc, out, stats = run_site(sandbox)
    assert rc == 0, out
    assert stats["changed"] == 0, out
    summary = sandbox.summary(since=mark)
    assert summary["writes"] == 0, summary
    # The droplet's backup policy costs the second run one read (the droplet task's own state).
    policy_reads = [r["count"] for r in summary["routes"] if r["route"] == "/v2/droplets/{droplet_id}/backups/policy"]
    assert policy_reads == [1], summary


def test_site_refuses_ssh_open_to_the_world(sandbox):
    rc, out, _ = run_site(sandbox, "-e", '{"oxy_ssh_allowed_cidrs": ["0.0.0.0/0"]}')
    assert rc != 0
    assert "oxy_ssh_allowed_cidrs[0]: 0.0.0.0/0 covers all of the IPv4 address space" in out
    assert sandbox.summary()["writes"] == 0


def test_a_task_that_hides_secrets_still_shows_its_error(sandbox):
    """The connection strings are read in hidden tasks; a token that may not see passwords gets told why."""
    token = sandbox.mint(*WITHOUT_VIEW_CREDENTIALS)
    run = ansible_playbook(sandbox, "site.yml", "--skip-tags", "stack,verify", env={"DIGITALOCEAN_TOKEN": token})
    assert run.rc != 0
    assert "Stop when a connection setting could not be read" in run.out
    assert "the token lacks the database:view_credentials scope" in run.out, run.out[-3000:]
