"""Token scopes: full-access tokens, minted scoped tokens, 403s and database credentials."""

from __future__ import annotations

import time

import pytest

from tests.contract.test_databases import MONGO
from tests.contract.test_vpcs_droplets import error_of

VIEW = "database:view_credentials"
DATABASE_CRUD = ("database:read", "database:create", "database:update", "database:delete")


@pytest.fixture
def cluster(do):
    db = do.databases.create_cluster(MONGO)["database"]
    do.databases.add_user(db["id"], {"name": "mention"})
    return db


def _conn_has_password(conn: dict) -> bool:
    return "password" in conn and f":{conn['password']}@" in conn["uri"]


def test_control_endpoint_mints_tokens_with_exactly_their_scopes(sandbox):
    minted = sandbox.control("POST", "tokens", {"scopes": ["database:read", "droplet:read", "database:read"]})
    assert minted["token"].startswith("dop_v1_") and len(minted["token"]) > 20
    assert minted["scopes"] == ["database:read", "droplet:read"]
    other = sandbox.control("POST", "tokens", {"scopes": []})
    assert other["token"] != minted["token"] and other["scopes"] == []
    assert sandbox.api("GET", "/v2/databases", token=minted["token"]).status_code == 200
    assert sandbox.api("GET", "/v2/droplets", token=minted["token"]).status_code == 200
    assert sandbox.api("GET", "/v2/vpcs", token=minted["token"]).status_code == 403
    assert sandbox.api("GET", "/v2/account", token=other["token"]).status_code == 403
    # Any token not minted has every scope.
    assert sandbox.api("GET", "/v2/account", token="not-minted").status_code == 200


def test_control_endpoint_refuses_malformed_scopes(sandbox):
    resp = sandbox.api("POST", "/_sandbox/tokens", token=None, json={"scopes": ["database"]})
    assert resp.status_code == 422 and "database" in resp.json()["message"]
    sandbox.seen.remove(resp)  # a control answer, not DigitalOcean's API
    resp = sandbox.api("POST", "/_sandbox/tokens", token=None, json={"scope": ["database:read"]})
    assert resp.status_code == 422
    sandbox.seen.remove(resp)


def test_reset_forgets_minted_tokens(sandbox):
    token = sandbox.mint("database:read")
    assert sandbox.api("GET", "/v2/vpcs", token=token).status_code == 403
    sandbox.reset()
    assert sandbox.api("GET", "/v2/vpcs", token=token).status_code == 200  # no longer minted: full access


def test_full_access_token_sees_every_password(sandbox, do, cluster):
    secrets = sandbox.control("GET", "secrets")["secrets"]
    user = do.databases.get_user(cluster["id"], "mention")["user"]
    assert user["password"] in secrets
    listed = {u["name"]: u for u in do.databases.list_users(cluster["id"])["users"]}
    assert listed["mention"]["password"] == user["password"]
    assert listed["doadmin"]["password"] in secrets
    got = do.databases.get_cluster(cluster["id"])["database"]
    listed_clusters = do.databases.list_clusters()["databases"]
    for db in (cluster, got, listed_clusters[0]):
        assert _conn_has_password(db["connection"]) and _conn_has_password(db["private_connection"])
        assert db["connection"]["password"] in secrets
    assert {u["name"]: u.get("password") for u in got["users"]}["mention"] == user["password"]


def test_token_without_view_credentials_sees_no_password(sandbox, cluster):
    do = sandbox.client(token=sandbox.mint(*DATABASE_CRUD))
    start = len(sandbox.seen)
    user = do.databases.get_user(cluster["id"], "mention")["user"]
    assert user["name"] == "mention" and "password" not in user
    assert all("password" not in u for u in do.databases.list_users(cluster["id"])["users"])
    got = do.databases.get_cluster(cluster["id"])["database"]
    listed = do.databases.list_clusters()["databases"][0]
    created = do.databases.create_cluster({**MONGO, "name": "db-other"})["database"]
    for db in (got, listed, created):
        for conn in (db["connection"], db["private_connection"]):
            assert "password" not in conn and conn["user"] == "doadmin"
            assert conn["uri"].startswith(f"mongodb+srv://doadmin@{conn['host']}/admin?")
        assert all("password" not in u for u in db["users"])
    # Users created or reset with such a token: the API shows no password either.
    added = do.databases.add_user(cluster["id"], {"name": "other"})["user"]
    reset = do.databases.reset_auth(cluster["id"], "mention", {})["user"]
    assert "password" not in added and "password" not in reset
    secrets = sandbox.control("GET", "secrets")["secrets"]
    served = " ".join(r.text for r in sandbox.seen[start:])
    assert len(secrets) == 4 and not [s for s in secrets if s in served]  # 2 admins, mention, other
    # The sandbox still lists every password it issued, those the scoped token could not see included.
    full = sandbox.client()
    for name in ("mention", "other"):
        assert full.databases.get_user(cluster["id"], name)["user"]["password"] in secrets


def test_view_credentials_alone_is_not_read_access(sandbox, cluster):
    token = sandbox.mint(VIEW)
    resp = sandbox.api("GET", f"/v2/databases/{cluster['id']}/users/mention", token=token)
    assert resp.status_code == 403
    assert resp.json()["message"] == "You are missing the required permission database:read."
    both = sandbox.api("GET", f"/v2/databases/{cluster['id']}/users/mention", token=sandbox.mint(VIEW, "database:read"))
    assert both.status_code == 200 and both.json()["user"]["password"]


def test_read_only_token_gets_403_on_writes(sandbox, cluster):
    token = sandbox.mint("database:read", "droplet:read", "vpc:read", "account:read", "tag:read")
    do = sandbox.client(token=token)
    assert do.databases.get_cluster(cluster["id"])["database"]["name"] == MONGO["name"]
    assert do.account.get()["account"]["status"] == "active"
    before = len(sandbox.log())
    status, err = error_of(lambda: do.databases.add_user(cluster["id"], {"name": "intruder"}))
    assert status == 403
    assert err["id"] == "forbidden"
    assert err["message"] == "You are missing the required permission database:create."
    assert err["request_id"]
    for method, path, scope in (
        ("PUT", f"/v2/databases/{cluster['id']}/users/mention", "database:update"),
        ("DELETE", f"/v2/databases/{cluster['id']}", "database:delete"),
        ("POST", "/v2/vpcs", "vpc:create"),
        ("POST", "/v2/account/keys", "ssh_key:create"),
        ("GET", "/v2/account/keys", "ssh_key:read"),
        ("GET", "/v2/regions", "regions:read"),
        ("DELETE", "/v2/tags/x", "tag:delete"),
    ):
        resp = sandbox.api(method, path, token=token, json={})
        assert resp.status_code == 403, (method, path)
        assert resp.json()["message"] == f"You are missing the required permission {scope}."
        assert int(resp.headers["ratelimit-limit"]) > 0
        assert int(resp.headers["ratelimit-remaining"]) >= 0
        assert int(resp.headers["ratelimit-reset"]) > time.time()
    # Nothing changed, and every refusal is logged with its status.
    full = sandbox.client()
    assert [u["name"] for u in full.databases.list_users(cluster["id"])["users"]] == ["doadmin", "mention"]
    assert full.databases.get_cluster(cluster["id"])["database"]["status"] == "online"
    assert [e["status"] for e in sandbox.log()[before:] if e["method"] != "GET"] == [403] * 6
