"""The role oxy.infra.app_credentials on its own, for one app: users, its settings delivered, rotation, refusals."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from tests.fixtures.credentials import app_secrets
from tests.fixtures.playbooks import ansible_playbook

SPEC = {
    "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "mention", "tag": "1.0.0"}}],
    "envs": [{"key": "DB_NAME", "value": "mention-production", "scope": "RUN_TIME"}],
}
TARGET = {"name": "mention-production", "user": "mention", "database": "mention-production"}


def play(tmp_path, **role_vars) -> str:
    vars_ = {"app_credentials_mongodb_cluster": "db-oxy", "app_credentials_valkey_cluster": "cache", **role_vars}
    path = tmp_path / "credentials.yml"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "Credentials of one app",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": [{"role": "oxy.infra.app_credentials", "vars": vars_}],
                }
            ]
        )
    )
    return str(path)


def test_one_app_gets_its_own_user_and_settings_then_nothing_changes(sandbox, do, tmp_path):
    mongo = do.databases.create_cluster(
        {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
    )["database"]
    do.databases.create_cluster(
        {"name": "cache", "engine": "valkey", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
    )
    app = do.apps.create({"spec": {"name": "mention-production", "region": "ams", **SPEC}})["app"]

    rc, out, stats = ansible_playbook(sandbox, play(tmp_path, app_credentials_targets=[TARGET]), "-vvv")
    assert rc == 0, out
    users = {u["name"]: u for u in do.databases.list_users(mongo["id"])["users"]}
    assert users["mention"]["settings"]["mongo_user_settings"] == {
        "databases": ["mention-production"],
        "role": "readWrite",
    }
    secrets = app_secrets(do)["mention-production"]
    assert unquote(urlsplit(secrets["MONGODB_URI"]).password) == users["mention"]["password"]
    assert urlsplit(secrets["MONGODB_URI"]).path == "/mention-production"
    assert urlsplit(secrets["VALKEY_URL"]).scheme == "rediss"
    spec = do.apps.get(app["id"])["app"]["spec"]
    assert spec["services"][0]["image"]["tag"] == "1.0.0"  # the rest of the spec is kept
    leaked = [s for s in sandbox.control("GET", "secrets")["secrets"] if s in out]
    assert not leaked and secrets["MONGODB_URI"] not in out

    mark = sandbox.log()[-1]["seq"]
    rc, out, stats = ansible_playbook(sandbox, play(tmp_path, app_credentials_targets=[TARGET]))
    assert rc == 0 and stats["changed"] == 0, out
    assert sandbox.summary(since=mark)["writes"] == 0

    # Rotating the app's user: a new password, delivered; the app redeploys once.
    deployments = len(do.apps.list_deployments(app["id"])["deployments"])
    rotate = play(tmp_path, app_credentials_targets=[TARGET], app_credentials_rotate=["mention-production"])
    rc, out, stats = ansible_playbook(sandbox, rotate)
    assert rc == 0, out
    new = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    assert new != users["mention"]["password"]
    assert unquote(urlsplit(app_secrets(do)["mention-production"]["MONGODB_URI"]).password) == new
    assert len(do.apps.list_deployments(app["id"])["deployments"]) == deployments + 1


def test_refusals_come_before_any_write(sandbox, tmp_path):
    shared = [TARGET, {"name": "alia-production", "user": "alia", "database": "mention-production"}]
    cases = [
        (dict(app_credentials_targets=shared), "each database one user"),
        (dict(app_credentials_targets=[TARGET, TARGET]), "each consumer needs its own name"),
        (dict(app_credentials_targets=[TARGET], app_credentials_rotate=["mentoin"]), "(unknown: mentoin)"),
        (dict(app_credentials_targets=[{**TARGET, "network": "vpc"}]), "network"),
    ]
    for role_vars, message in cases:
        rc, out, _ = ansible_playbook(sandbox, play(tmp_path, **role_vars))
        assert rc != 0 and message in out, out
    assert sandbox.summary()["writes"] == 0
