"""oxy.infra.project against the sandbox."""

from __future__ import annotations


def test_project_full_cycle(run_module, do):
    droplet = do.droplets.create(
        {"name": "oxy-api-backend", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"}
    )["droplet"]
    db = do.databases.create_cluster(
        {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
    )["database"]
    app = do.apps.create({"spec": {"name": "allo-app", "region": "nyc"}})["app"]
    args = dict(
        name="oxy",
        purpose="Service or API",
        environment="Production",
        droplets=["oxy-api-backend"],
        databases=["db-oxy"],
        apps=["allo-app"],
    )
    plan = run_module("project", check=True, **args)
    assert plan["changed"] is True and plan.writes == []

    created = run_module("project", **args)
    assert created.writes == [("POST", "/v2/projects"), ("POST", "/v2/projects/{project_id}/resources")]
    urns = {r["urn"] for r in do.projects.list_resources(created["project"]["id"])["resources"]}
    assert urns == {f"do:droplet:{droplet['id']}", f"do:dbaas:{db['id']}", f"do:app:{app['id']}"}
    assert do.projects.list_resources_default()["resources"] == []

    again = run_module("project", **args)
    assert (again["changed"], again.writes) == (False, [])

    described = run_module("project", **{**args, "description": "Oxy production"})
    assert described.writes == [("PATCH", "/v2/projects/{project_id}")]

    do.projects.assign_resources_default({"resources": [f"do:droplet:{droplet['id']}"]})
    drift = run_module("project", check=True, **{**args, "description": "Oxy production"})
    assert drift["changed"] is True and drift.writes == []
    back = run_module("project", **{**args, "description": "Oxy production"})
    assert back["assigned"] == [f"do:droplet:{droplet['id']}"]

    held = run_module("project", name="oxy", state="absent", allow_delete=True, expect_fail=True)
    assert "still holds 3 resources" in held["msg"] and held.writes == []
    empty = run_module("project", name="empty", purpose="scratch")
    assert empty["changed"] is True
    assert run_module("project", name="empty", state="absent", allow_delete=True).writes == [
        ("DELETE", "/v2/projects/{project_id}")
    ]
    assert run_module("project", name="empty", state="absent", allow_delete=True)["changed"] is False


def test_project_unknown_resources_fail_before_writes(run_module):
    failed = run_module("project", name="oxy", purpose="x", droplets=["ghost"], expect_fail=True)
    assert "no droplet named 'ghost'" in failed["msg"] and failed.writes == []
    bad = run_module("project", name="oxy", purpose="x", resources=["droplet:1"], expect_fail=True)
    assert "URN" in bad["msg"] and bad.writes == []
