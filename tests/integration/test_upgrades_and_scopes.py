"""Major version upgrades only when confirmed by name, and a token's scopes checked before any write (issue 20).

The sandbox upgrades a cluster as DigitalOcean does (PUT /v2/databases/{uuid}/upgrade: 204, upward only);
oxy.infra.database_cluster shows an upgrade in a plan and refuses it unconfirmed, a downgrade always;
oxy.infra.account_info tells, without writing, what the environment's clusters run and whether the token
sees their credentials; site.yml refuses on both before its first write.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.credentials import WITHOUT_VIEW_CREDENTIALS
from tests.fixtures.playbooks import Run, ansible_playbook

UPGRADE = ("PUT", "/v2/databases/{uuid}/upgrade")
MONGO_7 = dict(name="db-oxy", engine="mongodb", size="db-s-1vcpu-2gb", num_nodes=3, region="ams3")
VALKEY = dict(name="db-valkey-ams3-04785", engine="valkey", version="8", size="db-s-1vcpu-2gb", num_nodes=1)


def create_cluster(do, **fields):
    return do.databases.create_cluster({"region": "ams3", **fields})["database"]


def run_site(sandbox, *extra: str, env: dict | None = None) -> Run:
    """site.yml's DigitalOcean side, as tests/playbooks/test_site.py runs it; these stop in its first tasks."""
    return ansible_playbook(sandbox, "site.yml", "--skip-tags", "stack,verify", *extra, env=env)


def test_the_sandbox_upgrades_like_digitalocean(sandbox, do):
    db = create_cluster(do, **MONGO_7, version="7.0")
    assert (db["version"], db["semantic_version"]) == ("7.0", "7.0.0")

    resp = sandbox.api("PUT", f"/v2/databases/{db['id']}/upgrade", json={"version": "8.0"})
    assert (resp.status_code, resp.content) == (204, b"")
    upgraded = do.databases.get_cluster(db["id"])["database"]
    assert (upgraded["version"], upgraded["semantic_version"], upgraded["status"]) == ("8.0", "8.0.0", "online")

    down = sandbox.api("PUT", f"/v2/databases/{db['id']}/upgrade", json={"version": "7.0"})
    assert down.status_code == 422
    body = down.json()
    assert set(body) == {"id", "message", "request_id"} and body["id"] == "unprocessable_entity"
    assert "cannot downgrade" in body["message"] and "8.0" in body["message"]
    unknown = sandbox.api("PUT", f"/v2/databases/{db['id']}/upgrade", json={"version": "9.0"})
    assert unknown.status_code == 422 and "not an available mongodb version" in unknown.json()["message"]
    assert do.databases.get_cluster(db["id"])["database"]["version"] == "8.0"
    # The version it runs already: nothing to do, and a repeated PUT is harmless.
    assert sandbox.api("PUT", f"/v2/databases/{db['id']}/upgrade", json={"version": "8.0"}).status_code == 204

    sandbox.configure(database_delay=30)
    creating = create_cluster(do, **{**MONGO_7, "name": "db-new"}, version="7.0")
    busy = sandbox.api("PUT", f"/v2/databases/{creating['id']}/upgrade", json={"version": "8.0"})
    assert busy.status_code == 422 and "creating, not online" in busy.json()["message"]
    # pydo's own call answers 204 (None) the way DigitalOcean's does.
    assert do.databases.update_major_version(db["id"], {"version": "8.0"}) is None


def test_a_major_upgrade_is_planned_refused_unconfirmed_and_done_once_confirmed(run_module, do, sandbox):
    db = create_cluster(do, **MONGO_7, version="7.0")
    args = dict(MONGO_7, version="8.0")

    plan = run_module("database_cluster", check=True, **args)
    assert (plan["changed"], plan.writes) == (True, [])
    assert (plan["diff"]["before"]["version"], plan["diff"]["after"]["version"]) == ("7.0", "8.0")
    assert plan["plan_action"] == "upgrade"
    assert plan["plan_note"] == (
        "major upgrade of MongoDB 7.0 -> 8.0, irreversible; needs confirmation: confirm_major_upgrade=db-oxy"
    )

    mark = sandbox.log()[-1]["seq"]
    for confirmation in (None, "db-valkey-ams3-04785"):  # none, or another cluster's name
        refused = run_module("database_cluster", expect_fail=True, confirm_major_upgrade=confirmation, **args)
        assert refused["refused"] is True and refused.writes == []
        for named in ("'db-oxy'", "MongoDB 7.0", "to 8.0", "nothing was changed", "confirm_major_upgrade=db-oxy"):
            assert named in refused["msg"], refused["msg"]
    hint = """-e '{"oxy_confirm_upgrade": ["db-oxy"]}'"""
    refused = run_module("database_cluster", expect_fail=True, confirm_major_upgrade_hint=hint, **args)
    assert refused["msg"].endswith("confirm with " + hint)
    assert sandbox.summary(since=mark)["writes"] == 0
    assert do.databases.get_cluster(db["id"])["database"]["version"] == "7.0"

    confirmed_plan = run_module("database_cluster", check=True, confirm_major_upgrade="db-oxy", **args)
    assert confirmed_plan["plan_note"].endswith("irreversible; confirmed") and confirmed_plan.writes == []
    upgraded = run_module("database_cluster", confirm_major_upgrade="db-oxy", **args)
    assert upgraded["changed"] is True and upgraded.writes == [UPGRADE]
    assert (upgraded["plan_action"], upgraded["database"]["version"]) == ("upgrade", "8.0")
    assert do.databases.get_cluster(db["id"])["database"]["version"] == "8.0"

    again = run_module("database_cluster", confirm_major_upgrade="db-oxy", **args)
    assert (again["changed"], again.writes) == (False, [])
    assert "plan_action" not in again and "plan_note" not in again

    mark = sandbox.log()[-1]["seq"]
    for check in (True, False):
        older = dict(MONGO_7, version="7.0", confirm_major_upgrade="db-oxy")
        down = run_module("database_cluster", check=check, expect_fail=True, **older)
        assert down["refused"] is True and "downgrade" in down["msg"] and "'db-oxy'" in down["msg"], down["msg"]
    assert sandbox.summary(since=mark)["writes"] == 0


def test_account_info_tells_the_clusters_and_the_missing_scopes_without_writing(run_module, do, sandbox):
    create_cluster(do, **MONGO_7, version="8.0")
    create_cluster(do, **VALKEY)
    clusters = ["db-oxy", "db-valkey-ams3-04785", "db-missing"]

    full = run_module("account_info", clusters=clusters)
    assert [(c["name"], c["engine"], c["version"], c["credentials_visible"]) for c in full["database_clusters"]] == [
        ("db-oxy", "mongodb", "8.0", True),
        ("db-valkey-ams3-04785", "valkey", "8", True),
    ]
    assert ("GET", "/v2/databases") in full.calls and full.writes == []
    assert not [s for s in sandbox.control("GET", "secrets")["secrets"] if s in full["_stdout"]]

    blind = run_module(
        "account_info", clusters=clusters, env={"DIGITALOCEAN_TOKEN": sandbox.mint(*WITHOUT_VIEW_CREDENTIALS)}
    )
    assert [c["credentials_visible"] for c in blind["database_clusters"]] == [False, False]

    scopes = [s for s in WITHOUT_VIEW_CREDENTIALS if s not in ("regions:read", "database:read")]
    refused = run_module(
        "account_info", clusters=clusters, expect_fail=True, env={"DIGITALOCEAN_TOKEN": sandbox.mint(*scopes)}
    )
    assert refused["missing_scopes"] == ["database:read", "regions:read"]
    assert refused["msg"].startswith("the token lacks database:read, regions:read"), refused["msg"]
    assert "regions.list" in refused["msg"] and "databases.list_clusters" in refused["msg"]
    assert refused.writes == []


def existing_environment(do, mongodb_version):
    """The environment's two clusters exist (as a first run or the console left them)."""
    create_cluster(do, **MONGO_7, version=mongodb_version)
    create_cluster(do, **VALKEY)


@pytest.mark.slow
def test_site_refuses_a_token_that_cannot_read_credentials_before_any_write(sandbox, do):
    existing_environment(do, "8.0")
    mark = sandbox.log()[-1]["seq"]
    run = run_site(sandbox, env={"DIGITALOCEAN_TOKEN": sandbox.mint(*WITHOUT_VIEW_CREDENTIALS)})
    assert run.rc != 0
    lacks = "the token lacks database:view_credentials (needed to deliver each app's MONGODB_URI)"
    assert lacks in run.out, run.out[-3000:]
    assert "connections of db-oxy, db-valkey-ams3-04785 without a password" in run.out
    assert sandbox.summary(since=mark)["writes"] == 0


@pytest.mark.slow
def test_site_plans_an_upgrade_and_refuses_it_unconfirmed_and_a_downgrade_always(sandbox, do, tmp_path):
    existing_environment(do, "7.0")
    mark = sandbox.log()[-1]["seq"]
    plan_json = tmp_path / "plan.json"
    # The plan of the clusters (the credentials, which need every app, are left out to keep it short).
    plan = run_site(
        sandbox, "--check", "--diff", "--tags", "databases", "--skip-tags", "credentials",
        env={"OXY_PLAN_JSON": str(plan_json)},
    )  # fmt: skip
    assert plan.rc == 0, plan.out[-3000:]
    entry = next(r for r in json.loads(plan_json.read_text())["resources"] if r["name"] == "db-oxy")
    assert (entry["kind"], entry["action"]) == ("database cluster", "upgrade")
    assert entry["fields"] == [{"field": "version", "before": "7.0", "after": "8.0"}]
    confirm = """-e '{"oxy_confirm_upgrade": ["db-oxy"]}'"""
    assert entry["note"] == "major upgrade of MongoDB 7.0 -> 8.0, irreversible; needs confirmation: " + confirm
    assert sandbox.summary(since=mark)["writes"] == 0

    refused = run_site(sandbox, "-e", json.dumps({"oxy_confirm_upgrade": ["db-oxi"]}))
    assert refused.rc != 0
    expected = (
        'oxy_mongodb.version: "8.0" is a major upgrade of db-oxy from MongoDB 7.0',
        """confirm it by name: -e '{"oxy_confirm_upgrade": ["db-oxy"]}'""",
        "oxy_confirm_upgrade: db-oxi is not a cluster of the definition",
    )
    for text in expected:
        assert text in refused.out, refused.out[-3000:]

    older = dict(MONGO_7, version="6.0")
    del older["region"]
    down = run_site(sandbox, "--check", "-e", json.dumps({"oxy_mongodb": older, "oxy_confirm_upgrade": ["db-oxy"]}))
    assert down.rc != 0
    assert 'oxy_mongodb.version: "6.0" would downgrade db-oxy, which runs MongoDB 7.0' in down.out, down.out[-3000:]
    assert sandbox.summary(since=mark)["writes"] == 0
    assert {c["name"]: c["version"] for c in do.databases.list_clusters()["databases"]}["db-oxy"] == "7.0"
