"""oxy.infra.app given an id: the app with that id is this one, renamed in place by its spec update when its
name differs; refused before any write when no app has the id or another app already has the name. And
oxy.infra.owned_resources finding the renamed app (tests/playbooks/test_identity.py: the same in site.yml)."""

from __future__ import annotations

SPEC = {
    "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "alia", "tag": "1.0.0"}}],
    "envs": [{"key": "NODE_ENV", "value": "production"}, {"key": "DB_NAME", "value": "alia-production"}],
}
SECRET = "mongodb+srv://alia:Sup3rS3cret@db-oxy.example/admin"


def test_an_app_given_its_id_is_renamed_in_place_and_never_doubled(run_module, do, sandbox):
    args = dict(region="ams", spec=SPEC, secret_envs={"MONGODB_URI": SECRET})
    app = run_module("app", name="alia-production", **args)["app"]
    deployments = len(do.apps.list_deployments(app["id"])["deployments"])

    planned = run_module("app", check=True, name="alia-prod", id=app["id"], **args)
    assert planned["changed"] and planned.writes == []
    before, after = planned["diff"]["before"]["spec"], planned["diff"]["after"]["spec"]
    assert (before["name"], after["name"]) == ("alia-production", "alia-prod")
    assert (planned["plan_action"], planned["plan_from"]) == ("rename", "alia-production")
    assert SECRET not in planned["_stdout"]

    renamed = run_module("app", name="alia-prod", id=app["id"], **args)
    assert renamed["changed"] and renamed.writes == [("PUT", "/v2/apps/{app_id}")]
    assert SECRET not in renamed["_stdout"]
    apps = do.apps.list()["apps"]
    assert [(a["id"], a["spec"]["name"]) for a in apps] == [(app["id"], "alia-prod")]
    assert apps[0]["default_ingress"] == app["default_ingress"]
    assert len(do.apps.list_deployments(app["id"])["deployments"]) == deployments + 1
    envs = {e["key"]: e["value"] for e in apps[0]["spec"]["envs"]}
    assert envs["DB_NAME"] == "alia-production"

    # Found by its new name, or by its id: nothing more to do, the secrets unchanged.
    again = run_module("app", name="alia-prod", id=app["id"], **args)
    assert (again["changed"], again.writes) == (False, [])
    assert "plan_action" not in again
    found = run_module("app", name="alia-prod", **args)
    assert (found["changed"], found["app"]["id"], found.writes) == (False, app["id"], [])

    # Refused before any write: another app already has the name; no app has the id.
    other = run_module("app", name="other", region="ams", spec=SPEC)["app"]
    taken = run_module("app", expect_fail=True, check=True, name="other", id=app["id"], **args)
    assert f"app id {other['id']} already has that name" in taken["msg"] and taken.writes == []
    taken = run_module("app", expect_fail=True, name="other", id=app["id"], **args)
    assert taken["msg"].startswith("name: cannot rename app alia-prod") and taken.writes == []
    missing = run_module("app", expect_fail=True, name="x", id="00000000-0000-0000-0000-000000000000", **args)
    assert missing["msg"].startswith("id: no app has id 00000000-") and missing.writes == []
    assert sorted(a["spec"]["name"] for a in do.apps.list()["apps"]) == ["alia-prod", "other"]


DEFINITION = dict(project="Oxy", droplet=dict(name="api", tags=["oxy", "api"]), firewalls=[])


def test_owned_resources_finds_a_renamed_app_and_refuses_what_it_cannot_tell(run_module, do, sandbox):
    do.projects.create({"name": "Oxy", "purpose": "Service or API", "environment": "Production"})
    old = run_module("app", name="alia-production", region="ams", spec=SPEC, project="Oxy")["app"]
    kept = run_module("app", name="oxy-api", region="ams", spec=SPEC, project="Oxy")["app"]
    run_module("app", name="not-ours", region="ams", spec=SPEC)  # in no project: never taken for the renamed one
    dbs = {"oxy-api": "oxy-prod", "alia-prod": "alia-production"}
    definition = dict(DEFINITION, apps=["oxy-api", "alia-prod"], app_databases=dbs)

    early = run_module("owned_resources", check=True, orphans=False, **definition)
    assert early.writes == [] and ("GET", "/v2/apps") in early.calls
    assert early["app_renames"] == {"alia-prod": {"id": old["id"], "old": "alia-production"}}
    late = run_module("owned_resources", **definition)
    assert late["orphans"] == [] and late["app_renames"] == early["app_renames"]

    # The renamed app would change database (oxy_apps[1].database left out): refused, naming the way to keep it.
    moved = run_module(
        "owned_resources", expect_fail=True, check=True, **dict(definition, app_databases={"alia-prod": "alia-prod"})
    )
    assert moved.writes == []
    assert moved["msg"].startswith(
        f"oxy_apps[1].name: renaming app 'alia-production' (id {old['id']}) to 'alia-prod' would move it from its "
        "MongoDB database 'alia-production' to 'alia-prod', a new empty one."
    )
    assert "set oxy_apps[1].database: alia-production" in moved["msg"]

    # Two apps missing and two unnamed: ambiguous, refused naming them all and how to resolve it.
    other = run_module("app", name="mention-production", region="ams", spec=SPEC, project="Oxy")["app"]
    two = dict(DEFINITION, apps=["oxy-api", "alia-prod", "mention-prod"])
    ambiguous = run_module("owned_resources", expect_fail=True, check=True, **two)
    assert ambiguous.writes == []
    msg = ambiguous["msg"]
    assert msg.startswith("oxy_apps[1].name, oxy_apps[2].name: apps 'alia-prod', 'mention-prod' are not in the account")
    assert f"alia-production (id {old['id']}), mention-production (id {other['id']})" in msg
    assert "Rename each app to its new name in the console" in msg and "remove the old ones from project Oxy" in msg
    # A teardown matches no renames: the unnamed apps are orphans.
    teardown = run_module("owned_resources", match_renames=False, **two)
    assert sorted(o["name"] for o in teardown["orphans"] if o["kind"] == "app") == [
        "alia-production",
        "mention-production",
    ]
    assert kept["id"] not in [o["id"] for o in teardown["orphans"]]
