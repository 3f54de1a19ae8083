"""Identity (issue 20): a renamed droplet is renamed in place, a renamed database cluster is a replacement
shown by the plan and refused without a confirmation naming it, and what the environment owns but the
definition no longer names is an orphan: listed by the plan, failed on by drift, removed by teardown when
asked. site.yml's DigitalOcean side against the sandbox (droplets without machines; the machine-level
check of a renamed droplet behind its firewall is tests/machines/test_renamed_droplet.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.fixtures.playbooks import ROOT, ansible_playbook
from tests.playbooks.test_plan import SKIP, actions, apply, plan

DEFINITION = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
ACCOUNT = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())
# The alert policies of db-oxy (oxy_monitoring.database_alerts), which a replaced db-oxy keeps.
OLD_POLICIES = [f"db-oxy {a['metric']}" for a in DEFINITION["oxy_monitoring"]["database_alerts"]]


def renamed(variable: str, name: str) -> str:
    """Extra vars: the definition's ``variable`` (a dict with a name) under another name, as an edited oxy.yml."""
    return json.dumps({variable: dict(DEFINITION[variable], name=name)})


def renamed_app(old: str, new: str) -> dict:
    """Extra vars: the app ``old`` of oxy_apps under the name ``new`` (its image tag under that name too)."""
    apps = [dict(a, name=new) if a["name"] == old else a for a in DEFINITION["oxy_apps"]]
    tags = {new if k == old else k: v for k, v in ACCOUNT["oxy_app_image_tags"].items()}
    return {"oxy_apps": apps, "oxy_app_image_tags": tags}


def mark(sandbox) -> int:
    return sandbox.log()[-1]["seq"]


def writes(sandbox, since: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.log(since=since) if r["method"] != "GET"]


@pytest.mark.slow
def test_renames_replacements_and_orphans(sandbox, do, tmp_path):
    apply(sandbox)
    droplet = do.droplets.list()["droplets"][0]
    firewall = do.firewalls.list()["firewalls"][0]
    assert firewall["droplet_ids"] == [droplet["id"]]
    apps = {a["spec"]["name"]: a for a in do.apps.list()["apps"]}

    # A renamed database cluster: the plan shows a replacement and what it loses, and writes nothing.
    new_cluster = renamed("oxy_mongodb", "db-oxy-2")
    since = mark(sandbox)
    code, out, report = plan(sandbox, tmp_path, "-e", new_cluster)
    assert code == 2, out
    assert (
        "-/+ replace   database cluster db-oxy -> db-oxy-2\n        (new empty cluster; db-oxy keeps the data)" in out
    )
    (entry,) = [r for r in report["resources"] if r["name"] == "db-oxy-2" and r["kind"] == "database cluster"]
    assert entry["action"] == "replace" and entry["note"] == "new empty cluster; db-oxy keeps the data"
    # The old cluster's alert policies stay with it (the new cluster gets its own): orphans from then on.
    assert report["totals"]["replace"] == 1
    assert {(o["kind"], o["name"]) for o in report["orphans"]} == {("alert policy", n) for n in OLD_POLICIES}
    assert writes(sandbox, since) == []

    # Applied without the confirmation: refused before any write, naming the definition's path.
    since = mark(sandbox)
    refused = ansible_playbook(sandbox, "site.yml", *SKIP, "-e", new_cluster)
    assert refused.rc != 0
    assert "oxy_mongodb.name: database cluster 'db-oxy-2' is not in the account" in refused.out, refused.out[-3000:]
    assert '"oxy_confirm_replace": ["db-oxy"]' in refused.out
    assert writes(sandbox, since) == []

    # A renamed droplet, its cloud firewall and an app: planned as renames (an update of the name), applied in place.
    new_droplet = json.dumps(
        {
            **json.loads(renamed("oxy_droplet", "oxy-api-backend-2")),
            **json.loads(renamed("oxy_droplet_firewall", "oxy-perimeter")),
            **renamed_app("alia-production", "alia-prod"),
        }
    )
    since = mark(sandbox)
    code, out, report = plan(sandbox, tmp_path, "-e", new_droplet)
    assert code == 2, out
    assert "rename    Droplet oxy-api-backend -> oxy-api-backend-2" in out, out[-4000:]
    assert "rename    cloud firewall oxy-api-backend -> oxy-perimeter" in out, out[-4000:]
    assert "rename    app alia-production -> alia-prod" in out, out[-4000:]
    (entry,) = [r for r in report["resources"] if r["kind"] == "Droplet"]
    assert (entry["name"], entry["action"]) == ("oxy-api-backend-2", "rename")
    assert {"field": "name", "before": "oxy-api-backend", "after": "oxy-api-backend-2"} in entry["fields"]
    (entry,) = [r for r in report["resources"] if r["kind"] == "cloud firewall"]
    assert (entry["name"], entry["action"]) == ("oxy-perimeter", "rename")
    assert [f["field"] for f in entry["fields"]] == ["name"]
    # Nothing else changes: the trusted sources and the project hold the same droplet and app ids.
    assert {k: a for k, a in actions(report).items() if a != "no change"} == {
        "Droplet oxy-api-backend-2": "rename",
        "cloud firewall oxy-perimeter": "rename",
        "app alia-prod": "rename",
    }
    assert report["orphans"] == []
    assert writes(sandbox, since) == []

    run = apply(sandbox, "-e", new_droplet)
    droplets = do.droplets.list()["droplets"]
    assert [(d["id"], d["name"]) for d in droplets] == [(droplet["id"], "oxy-api-backend-2")]
    assert droplets[0]["networks"] == droplet["networks"]
    assert [(f["id"], f["name"]) for f in do.firewalls.list()["firewalls"]] == [(firewall["id"], "oxy-perimeter")]
    assert do.firewalls.get(firewall["id"])["firewall"]["droplet_ids"] == [droplet["id"]]
    now = {a["spec"]["name"]: a["id"] for a in do.apps.list()["apps"]}
    assert now == {("alia-prod" if n == "alia-production" else n): a["id"] for n, a in apps.items()}
    assert "Droplet oxy-api-backend -> oxy-api-backend-2" in run.out
    # Applied, a second run has nothing to do.
    code, out, report = plan(sandbox, tmp_path, "-e", new_droplet)
    assert code == 0, out[-4000:]
    assert report["orphans"] == []

    # Confirmed, the cluster's replacement proceeds; the old cluster keeps running, now an orphan.
    confirmed = json.dumps({**json.loads(new_cluster), **json.loads(new_droplet), "oxy_confirm_replace": ["db-oxy"]})
    apply(sandbox, "-e", confirmed)
    clusters = {c["name"]: c for c in do.databases.list_clusters()["databases"]}
    assert {"db-oxy", "db-oxy-2"} <= set(clusters)
    # Something else the environment owns: droplets added to the project in the console, one of them protected.
    body = {"region": "ams3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}
    stray = do.droplets.create({**body, "name": "stray-1"})["droplet"]
    kept = do.droplets.create({**body, "name": "stray-2", "tags": ["protected"]})["droplet"]
    project = next(p for p in do.projects.list()["projects"] if p["name"] == DEFINITION["oxy_project"]["name"])
    urns = [f"do:droplet:{stray['id']}", f"do:droplet:{kept['id']}"]
    do.projects.assign_resources(project["id"], {"resources": urns})

    both = json.dumps({**json.loads(new_cluster), **json.loads(new_droplet)})
    code, out, report = plan(sandbox, tmp_path, "-e", both, playbook="playbooks/drift.yml")
    assert code == 1 and "The environment drifted from its definition" in out, out[-4000:]
    orphans = {(o["kind"], o["name"], o["id"]) for o in report["orphans"] if o["kind"] != "alert policy"}
    assert orphans == {
        ("database cluster", "db-oxy", clusters["db-oxy"]["id"]),
        ("droplet", "stray-1", str(stray["id"])),
        ("droplet", "stray-2", str(kept["id"])),
    }
    policies = {o["name"] for o in report["orphans"] if o["kind"] == "alert policy"}
    assert policies == set(OLD_POLICIES)
    assert "watches db-oxy, not in the definition" in out
    # The plan's lines, then drift's refusal naming each.
    assert f"  ! orphan droplet stray-1 (id {stray['id']}): owned by project Oxy, not in the definition" in out
    assert f"- orphan droplet stray-1 (id {stray['id']}): owned by project Oxy, not in the definition" in out
    assert f"- orphan database cluster db-oxy (id {clusters['db-oxy']['id']}): owned by project Oxy" in out
    assert report["totals"]["orphan"] == 3 + len(OLD_POLICIES) and report["changes_pending"]
    assert [r for r in report["resources"] if r["action"] != "no change"] == [], report["resources"]

    # With the orphan switch, teardown removes them too (droplets by id), except the protected one.
    down = ansible_playbook(
        sandbox,
        "playbooks/teardown.yml",
        "-e",
        both,
        "-e",
        "oxy_teardown_confirm=Oxy",
        "-e",
        "oxy_teardown_orphans=true",
    )
    assert down.rc == 0, down.out[-4000:]
    assert [d["name"] for d in do.droplets.list()["droplets"]] == ["stray-2"]
    assert not do.databases.list_clusters().get("databases")
    assert not do.monitoring.list_alert_policy().get("policies")  # the environment's and the old cluster's
    assert "Left in place, owned by the environment but not in its definition: droplet stray-2." in down.out
