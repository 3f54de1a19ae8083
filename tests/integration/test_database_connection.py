"""oxy.infra.database_connection, and what it feeds: database_user without its password in the result, and
oxy.infra.app delivering SECRET variables to an app whose spec it keeps."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from oxy_sandbox.backends.apps import decrypt

MONGO = {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
VALKEY = {"name": "cache", "engine": "valkey", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
USER = dict(
    cluster="db-oxy", name="mention", mongo_user_settings={"databases": ["mention-production"], "role": "readWrite"}
)


def test_mongodb_strings_for_the_vpc_and_for_outside(run_module, do, sandbox):
    mongo = do.databases.create_cluster(MONGO)["database"]
    quiet = run_module("database_user", return_password=False, **USER)
    assert quiet["changed"] is True and "password" not in quiet and not quiet.get("warnings")
    password = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    assert password not in quiet["_stdout"]

    private = run_module("database_connection", cluster="db-oxy", user="mention", database="mention-production")
    assert private["changed"] is False and private.writes == []
    # The password as the cluster lists its users: one read, the cluster, not one more per user.
    assert private.calls == [("GET", "/v2/databases")]
    parts = urlsplit(private["uri"])
    assert (parts.scheme, unquote(parts.username), unquote(parts.password)) == ("mongodb+srv", "mention", password)
    assert parts.hostname == mongo["private_connection"]["host"] == private["host"]
    assert parts.path == "/mention-production" and private["database"] == "mention-production"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "tls": "true",
        "authSource": "admin",
        "replicaSet": "db-oxy",
    }
    public = run_module("database_connection", cluster="db-oxy", user="mention", database="x", network="public")
    assert urlsplit(public["uri"]).hostname == mongo["connection"]["host"] and public["network"] == "public"

    admin = run_module("database_connection", cluster="db-oxy")
    assert admin["user"] == "doadmin" and admin["database"] == "admin"

    # A password reset by anyone is what the next read gives.
    do.databases.reset_auth(mongo["id"], "mention", {})
    fresh = do.databases.get_user(mongo["id"], "mention")["user"]["password"]
    again = run_module("database_connection", cluster="db-oxy", user="mention", database="mention-production")
    assert unquote(urlsplit(again["uri"]).password) == fresh != password


def test_valkey_url(run_module, do):
    valkey = do.databases.create_cluster(VALKEY)["database"]
    got = run_module("database_connection", cluster="cache")
    parts = urlsplit(got["uri"])
    assert (parts.scheme, parts.username, parts.path) == ("rediss", "default", "")
    assert unquote(parts.password) == valkey["connection"]["password"]
    assert (parts.hostname, parts.port) == (valkey["private_connection"]["host"], 25061)
    refused = run_module("database_connection", expect_fail=True, cluster="cache", database="x")
    assert "valkey clusters have no databases" in refused["msg"]


def test_refusals_say_why_and_never_show_a_secret(run_module, do, sandbox):
    mongo = do.databases.create_cluster(MONGO)["database"]
    run_module("database_user", return_password=False, **USER)
    password = do.databases.get_user(mongo["id"], "mention")["user"]["password"]

    missing = run_module("database_connection", expect_fail=True, cluster="db-oxy", user="nobody")
    assert "cluster 'db-oxy' has no user 'nobody'" in missing["msg"]
    planned = run_module("database_connection", check=True, cluster="db-oxy", user="nobody")
    assert planned.get("skipped") is True and "does not exist yet" in planned["msg"]
    no_cluster = run_module("database_connection", expect_fail=True, cluster="db-other")
    assert "no database cluster named 'db-other'" in no_cluster["msg"]

    scoped = sandbox.mint("database:read")
    blind = run_module(
        "database_connection", env={"DIGITALOCEAN_TOKEN": scoped}, expect_fail=True, cluster="db-oxy", user="mention"
    )
    assert "lacks the database:view_credentials scope" in blind["msg"]
    assert password not in blind["_stdout"]


def test_valkey_has_one_user_whose_password_can_be_rotated(run_module, do):
    valkey = do.databases.create_cluster(VALKEY)["database"]
    before = valkey["connection"]["password"]
    for refused in (dict(name="app"), dict(name="default", state="absent")):
        out = run_module("database_user", expect_fail=True, cluster="cache", **refused)
        assert "its only user is 'default'" in out["msg"] and out.writes == []
    same = run_module("database_user", cluster="cache", name="default", return_password=False)
    assert (same["changed"], same.writes, same["user"]["role"]) == (False, [], "primary")
    rotated = run_module("database_user", cluster="cache", name="default", rotate_password=True)
    assert rotated.writes == [("POST", "/v2/databases/{uuid}/users/{username}/reset_auth")]
    after = do.databases.get_cluster(valkey["id"])["database"]["connection"]["password"]
    assert rotated["password"] == after != before


def test_app_without_spec_keeps_it_and_takes_only_its_secrets(run_module, do):
    spec = {
        "services": [{"name": "web", "image": {"registry_type": "DOCR", "repository": "oxy", "tag": "1.0.0"}}],
        "envs": [{"key": "NODE_ENV", "value": "production", "scope": "RUN_TIME"}],
    }
    missing = run_module(
        "app", expect_fail=True, name="oxy-api", secret_envs={"MONGODB_URI": "mongodb+srv://oxy:pw0@h/oxy-prod"}
    )
    assert "does not exist; creating it needs its spec" in missing["msg"] and missing.writes == []

    app = run_module("app", name="oxy-api", region="ams", spec=spec)["app"]
    secrets = {"MONGODB_URI": "mongodb+srv://oxy:pw1@h/oxy-prod", "VALKEY_URL": "rediss://default:pw2@h:25061"}
    delivered = run_module("app", name="oxy-api", secret_envs=secrets)
    assert delivered["changed"] is True and delivered.writes == [("PUT", "/v2/apps/{app_id}")]
    assert "pw1" not in delivered["_stdout"] and "pw2" not in delivered["_stdout"]
    stored = do.apps.get(app["id"])["app"]["spec"]
    envs = {e["key"]: e for e in stored["envs"]}
    assert envs["NODE_ENV"]["value"] == "production" and stored["services"][0]["image"]["tag"] == "1.0.0"
    assert {k: decrypt(envs[k]["value"]) for k in secrets} == secrets
    assert all(envs[k]["type"] == "SECRET" and envs[k]["scope"] == "RUN_TIME" for k in secrets)

    again = run_module("app", name="oxy-api", secret_envs=secrets)
    assert (again["changed"], again.writes) == (False, [])
    waited = run_module("app", name="oxy-api")  # no spec and no secrets: only waits
    assert (waited["changed"], waited.writes) == (False, [])
    assert len(do.apps.list_deployments(app["id"])["deployments"]) == 2
